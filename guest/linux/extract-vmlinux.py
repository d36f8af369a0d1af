#!/usr/bin/env python3
"""Extracts the uncompressed vmlinux (ELF) from an x86 bzImage whose payload is XZ.

usage: extract-vmlinux.py BZIMAGE OUT

The setup header says where the payload is: it starts at (setup_sects + 1) * 512 +
payload_offset and is payload_length bytes long (boot protocol 2.08+).  The result is
checked to be an x86-64 ELF file carrying the PVH entry note, then compacted: each
segment's trailing zeros (.bss, .brk: about 23 MB of the 66) move from the file into
memsz - filesz, segments are packed at 4 KiB offsets and the section headers dropped, so
GRUB under Bochs loads a 35 MB module instead of 66 MB.
"""
import lzma
import struct
import sys


def fail(msg):
    sys.exit(f"extract-vmlinux: {msg}")


def payload(image):
    if len(image) < 0x270 or image[0x202:0x206] != b"HdrS":
        fail("not a bzImage (no HdrS signature)")
    version = struct.unpack_from("<H", image, 0x206)[0]
    if version < 0x208:
        fail(f"boot protocol {version >> 8}.{version & 0xff} has no payload fields")
    setup_sects = image[0x1f1] or 4
    offset, length = struct.unpack_from("<II", image, 0x248)
    start = (setup_sects + 1) * 512 + offset
    if start + length > len(image):
        fail("payload runs past the end of the file")
    return image[start:start + length]


def has_pvh_note(elf):
    # Good enough as a check: the note's name "Xen" and type 18 (XEN_ELFNOTE_PHYS32_ENTRY).
    needle = struct.pack("<III", 4, 8, 18) + b"Xen\0"
    return needle in elf


def compact(elf):
    phoff, = struct.unpack_from("<Q", elf, 32)
    phentsize, phnum = struct.unpack_from("<HH", elf, 54)
    head = bytearray(elf[:64] + elf[phoff:phoff + phentsize * phnum])
    struct.pack_into("<Q", head, 32, 64)                # program headers right after
    struct.pack_into("<QIHHHHHH", head, 40, 0, 0, 64, phentsize, phnum, 0, 0, 0)
    body = bytearray()
    for i in range(phnum):
        ph = 64 + i * phentsize
        ptype, = struct.unpack_from("<I", head, ph)
        offset, = struct.unpack_from("<Q", head, ph + 8)
        filesz, = struct.unpack_from("<Q", head, ph + 32)
        data = elf[offset:offset + filesz]
        if ptype == 1:                                  # PT_LOAD: zeros come from memsz
            data = data.rstrip(b"\0")
        pad = -(len(head) + len(body)) % 4096
        body += b"\0" * pad
        struct.pack_into("<Q", head, ph + 8, len(head) + len(body))
        struct.pack_into("<Q", head, ph + 32, len(data))
        body += data
    return bytes(head + body)


def main():
    if len(sys.argv) != 3:
        fail("usage: extract-vmlinux.py BZIMAGE OUT")
    with open(sys.argv[1], "rb") as f:
        data = payload(f.read())
    if not data.startswith(b"\xfd7zXZ\0"):
        fail("the payload is not XZ (only XZ kernels are handled)")
    elf = lzma.LZMADecompressor(format=lzma.FORMAT_XZ).decompress(data)
    if elf[:4] != b"\x7fELF" or elf[4] != 2 or struct.unpack_from("<H", elf, 18)[0] != 62:
        fail("the payload did not decompress to an x86-64 ELF file")
    if not has_pvh_note(elf):
        fail("the kernel has no PVH entry note (CONFIG_PVH)")
    with open(sys.argv[2], "wb") as f:
        f.write(compact(elf))


main()
