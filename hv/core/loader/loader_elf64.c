/* ELF64 images (our own test guests): segments at their physical addresses (low memory
 * too, outside what the loaders reserve), the partition's ACPI tables, entered in 64-bit
 * mode on an identity map of the low 4 GiB. */
#include <string.h>
#include "hv/core/loader/loader_common.h"

struct elf64_ehdr {
    uint8_t ident[16];
    uint16_t type, machine;
    uint32_t version;
    uint64_t entry, phoff, shoff;
    uint32_t flags;
    uint16_t ehsize, phentsize, phnum, shentsize, shnum, shstrndx;
};

struct elf64_phdr {
    uint32_t type, flags;
    uint64_t offset, vaddr, paddr, filesz, memsz, align;
};

static void read_phdr(const uint8_t *entry, struct loader_segment *seg)
{
    struct elf64_phdr ph;
    memcpy(&ph, entry, sizeof(ph));
    *seg = (struct loader_segment){ .type = ph.type, .offset = ph.offset, .paddr = ph.paddr,
                                    .filesz = ph.filesz, .memsz = ph.memsz };
}

int load_elf64(const struct guest_image_target *t, const struct loader_input *in,
               struct vcpu_start *st, char *err, size_t err_size)
{
    struct elf64_ehdr eh;
    if (in->image_len < sizeof(eh))
        return loader_fail(err, err_size, "%s: too small for an ELF file", in->image_name);
    memcpy(&eh, in->image, sizeof(eh));
    if (memcmp(eh.ident, "\x7f" "ELF", 4) || eh.ident[4] != 2 || eh.machine != 62)
        return loader_fail(err, err_size, "%s: not an ELF64 x86-64 image", in->image_name);
    if (eh.phentsize < sizeof(struct elf64_phdr) || eh.phnum == 0 || eh.phnum > 64)
        return loader_fail(err, err_size, "%s: bad program header table", in->image_name);
    if (loader_place_segments(t, in, eh.phoff, eh.phnum, eh.phentsize, sizeof(struct elf64_phdr),
                              read_phdr, err, err_size))
        return -1;
    *st = (struct vcpu_start){ .mode = START_LONG_64, .rip = eh.entry, .rsp = LOADER_STACK_TOP };
    if (!loader_write_gdt(t, st) || !loader_write_identity_map(t, &st->cr3))
        return loader_fail(err, err_size, "%s: cannot write the start-up page tables", in->image_name);
    if (!loader_write_acpi(t, LOADER_ACPI_TABLES))
        return loader_fail(err, err_size, "%s: cannot write the ACPI tables (%u vCPUs)",
                           in->image_name, t->vcpus);
    return 0;
}
