/*
 * The setup header of a Linux bzImage (Documentation/arch/x86/boot.rst), read from an
 * untrusted file: every field Atoll uses is bound-checked against the file and against the
 * others, and an image Atoll cannot enter through the 64-bit boot protocol is refused with
 * one line saying which field and why.  Portable.
 */
#ifndef ATOLL_HV_CORE_LOADER_BZIMAGE_H
#define ATOLL_HV_CORE_LOADER_BZIMAGE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Setup header offsets (the same in the file and in the zero page). */
#define BZ_SETUP_SECTS      0x1f1
#define BZ_SYSSIZE          0x1f4
#define BZ_BOOT_FLAG        0x1fe
#define BZ_JUMP             0x200
#define BZ_HEADER           0x202
#define BZ_VERSION          0x206
#define BZ_TYPE_OF_LOADER   0x210
#define BZ_LOADFLAGS        0x211
#define BZ_CODE32_START     0x214
#define BZ_RAMDISK_IMAGE    0x218
#define BZ_RAMDISK_SIZE     0x21c
#define BZ_HEAP_END_PTR     0x224
#define BZ_EXT_LOADER_VER   0x226
#define BZ_EXT_LOADER_TYPE  0x227
#define BZ_CMD_LINE_PTR     0x228
#define BZ_INITRD_ADDR_MAX  0x22c
#define BZ_KERNEL_ALIGNMENT 0x230
#define BZ_RELOCATABLE      0x234
#define BZ_MIN_ALIGNMENT    0x235
#define BZ_XLOADFLAGS       0x236
#define BZ_CMDLINE_SIZE     0x238
#define BZ_HARDWARE_SUBARCH 0x23c
#define BZ_SUBARCH_DATA     0x240
#define BZ_PAYLOAD_OFFSET   0x248
#define BZ_PAYLOAD_LENGTH   0x24c
#define BZ_SETUP_DATA       0x250
#define BZ_PREF_ADDRESS     0x258
#define BZ_INIT_SIZE        0x260
#define BZ_HANDOVER_OFFSET  0x264
#define BZ_KERNEL_INFO      0x268
#define BZ_HEADER_MAX_END   0x290     /* edd_mbr_sig_buffer follows in the zero page */

/* loadflags */
#define BZ_LOADED_HIGH   0x01
#define BZ_KASLR_FLAG    0x02
#define BZ_QUIET_FLAG    0x20
#define BZ_KEEP_SEGMENTS 0x40
#define BZ_CAN_USE_HEAP  0x80
/* xloadflags */
#define BZ_XLF_KERNEL_64              0x01
#define BZ_XLF_CAN_BE_LOADED_ABOVE_4G 0x02

/* The oldest protocol Atoll boots: 2.12 (Linux 3.8) added xloadflags, the only way a
 * kernel says it has the 64-bit entry point at +0x200. */
#define BZ_PROTOCOL_MIN  0x020c
#define BZ_PROTOCOL_KINFO 0x020f      /* 2.15: kernel_info */
#define BZ_KINFO_MAGIC   0x506f544cu  /* "LToP" */

struct bzimage {
    uint16_t version;
    uint64_t setup_len;         /* boot sector + setup: where the protected-mode code starts */
    uint64_t kernel_len;        /* protected-mode code, syssize * 16 bytes */
    unsigned header_end;        /* 0x202 + the jump's offset */
    uint16_t xloadflags;
    bool relocatable;
    uint32_t kernel_alignment;  /* relocatable: a power of two, 4 KiB to 1 GiB */
    uint64_t pref_address;
    uint32_t init_size;
    uint32_t initrd_addr_max;   /* the initrd's last byte may lie here, no higher */
    uint32_t cmdline_size;      /* characters, without the NUL */
    uint32_t setup_type_max;    /* kernel_info (2.15+), else 0 */
};

/* Reads and checks the header of a bzImage of len bytes.  0, or -1 with "NAME: reason". */
int bzimage_parse(const uint8_t *img, size_t len, const char *name, struct bzimage *bz,
                  char *err, size_t err_size);

#endif
