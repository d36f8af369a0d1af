/* libFuzzer: arbitrary sections into every device's restore through the bus (platform
 * devices, ACPI PM, PCI host, virtio-pci, virtio-blk), then the devices exercised through
 * their ports, MMIO and timers.  Whatever a restore accepted must save again and be
 * accepted again by a fresh partition: a restore may refuse, never take state it cannot
 * give back.  Input: records of kind (index into the bus's kinds), instance, version,
 * length (2 bytes), payload. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hv/state/state_desc.h"
#include "hv/vdev/acpi_pm.h"
#include "hv/vdev/pci_host.h"
#include "hv/vdev/platform_devices.h"
#include "hv/vdev/vblk_ram.h"
#include "hv/vdev/virtio_blk_state.h"
#include "tests/unit/test_vdev_fake.h"

#define RAM_BYTES (64u << 10)
#define DISK_BYTES (64u << 10)
#define SLOT 3
#define STREAM_CAP (64u << 10)

struct world {
    struct fake_platform f;
    uint8_t ram[RAM_BYTES];
    uint8_t disk_data[DISK_BYTES];
    struct vblk_ram disk;
    struct vdev_bus bus;
    struct platform_devices pd;
    struct acpi_pm pm;
    struct pci_host host;
    struct virtio_blk blk;
};

static bool ram_read(void *ctx, uint64_t gpa, void *buf, size_t len)
{
    struct world *w = ctx;
    if (gpa > RAM_BYTES || len > RAM_BYTES - gpa)
        return false;
    memcpy(buf, w->ram + gpa, len);
    return true;
}

static bool ram_write(void *ctx, uint64_t gpa, const void *buf, size_t len)
{
    struct world *w = ctx;
    if (gpa > RAM_BYTES || len > RAM_BYTES - gpa)
        return false;
    memcpy(w->ram + gpa, buf, len);
    return true;
}

static void world_init(struct world *w)
{
    memset(w, 0, sizeof(*w));
    fake_platform_init(&w->f);      /* f is first: its ctx is the world */
    w->f.plat.vcpu_count = 2;
    w->f.plat.ram_bytes = RAM_BYTES;
    w->f.plat.gpa_read = ram_read;
    w->f.plat.gpa_write = ram_write;
    w->f.now_ns = 1000000;
    vdev_bus_init(&w->bus);
    vblk_ram_init(&w->disk, w->disk_data, DISK_BYTES, 512);
    const struct vdev_platform *fabric;
    if (!platform_devices_init(&w->pd, &w->bus, &w->f.plat))
        abort();
    fabric = platform_devices_platform(&w->pd);
    acpi_pm_init(&w->pm, fabric, ACPI_PM_BASE);
    if (!acpi_pm_register(&w->pm, &w->bus) || !pci_host_init(&w->host, &w->bus, fabric) ||
        !virtio_blk_init(&w->blk, &w->host, SLOT, fabric, &vblk_ram_backend, &w->disk) ||
        !virtio_blk_register_state(&w->blk, &w->bus, SLOT))
        abort();
    virtio_blk_set_poll_timer(&w->blk, PLATFORM_TIMER_COUNT);
}

static void exercise(struct world *w)
{
    static const uint16_t ports[] = {
        0x3f8, 0x3f9, 0x3fa, 0x3fd, 0x3fe, 0x20, 0x21, 0xa0, 0xa1, 0x4d0, 0x4d1, 0x40,
        0x41, 0x42, 0x61, 0x71, 0x511, 0x92, 0xcf9, ACPI_PM_BASE, ACPI_PM_BASE + 2,
        ACPI_PM_BASE + 4, ACPI_PM_BASE + 8, 0xcf8, 0xcfc,
    };
    uint32_t v;
    uint64_t m;
    for (unsigned i = 0; i < sizeof(ports) / sizeof(ports[0]); i++)
        vdev_bus_io(&w->bus, ports[i], 1, false, &v);
    for (unsigned vcpu = 0; vcpu < 2; vcpu++) {
        for (unsigned off = 0x20; off < 0x400; off += 0x10)
            platform_devices_mmio(&w->pd, vcpu, 0xfee00000ull + off, 4, false, &m);
        struct platform_intr in;
        if (platform_devices_pending(&w->pd, vcpu, &in))
            platform_devices_ack(&w->pd, vcpu, &in);
        platform_devices_take_nmi(&w->pd, vcpu);
        platform_devices_mmio(&w->pd, vcpu, 0xfee000b0ull, 4, true, &(uint64_t){ 0 });
    }
    for (unsigned reg = 0; reg < 0x40; reg++) {
        m = reg;
        vdev_bus_mmio(&w->bus, 0xfec00000ull, 4, true, &m);
        vdev_bus_mmio(&w->bus, 0xfec00010ull, 4, false, &m);
    }
    for (unsigned off = 0; off < 0x160; off += 8)
        vdev_bus_mmio(&w->bus, 0xfed00000ull + off, 8, false, &m);
    for (unsigned off = 0; off < 256; off += 4)
        (void)pci_host_cfg_read(&w->host, SLOT, 0, off, 4);
    uint64_t bar;
    if (pci_function_bar_addr(w->blk.vp.fn, VIRTIO_PCI_REGS_BAR, &bar)) {
        for (unsigned off = 0; off < VIRTIO_PCI_COMMON_LEN; off += 4)
            vdev_bus_mmio(&w->bus, bar + off, 4, false, &m);
        m = 0;
        vdev_bus_mmio(&w->bus, bar + VIRTIO_PCI_NOTIFY_OFF, 4, true, &m);
        vdev_bus_mmio(&w->bus, bar + VIRTIO_PCI_ISR_OFF, 1, false, &m);
    }
    virtio_blk_poll(&w->blk);
    for (unsigned i = 0; i < 4; i++) {
        w->f.now_ns += 1ull << (10 + 8 * i);
        platform_devices_tick(&w->pd);
    }
}

static struct world a, b;
static uint8_t stream[STREAM_CAP];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    world_init(&a);
    struct state_kind kinds[STATE_MAX_KINDS];
    unsigned nk = vdev_bus_state_kinds(&a.bus, kinds, STATE_MAX_KINDS);
    bool taken = false;
    while (size >= 5) {
        struct state_section s = {
            .id = kinds[data[0] % nk].id, .instance = data[1], .version = data[2],
        };
        size_t len = (size_t)(data[3] | data[4] << 8);
        data += 5;
        size -= 5;
        if (len > size)
            len = size;
        /* The payload in a buffer of its own size: reads past it are caught. */
        uint8_t *payload = malloc(len ? len : 1);
        memcpy(payload, data, len);
        s.payload = payload;
        s.len = (uint32_t)len;
        data += len;
        size -= len;
        char err[STATE_ERR_LEN];
        int rc = vdev_bus_restore_section(&a.bus, &s, err, sizeof(err));
        if (rc == 1 || (rc == -1 && (!err[0] || strchr(err, '\n'))))
            abort();                /* every id is known; a refusal is one line */
        taken |= rc == 0;
        free(payload);
    }
    exercise(&a);
    if (!taken)
        return 0;
    struct state_writer w;
    state_writer_init(&w, stream, sizeof(stream));
    if (!vdev_bus_save_state(&a.bus, &w))
        return virtio_blk_inflight(&a.blk) ? 0 : (abort(), 0);
    size_t len = state_writer_finish(&w);
    world_init(&b);
    b.f.now_ns = a.f.now_ns;
    struct state_reader r;
    if (!len || state_reader_open(&r, stream, len, kinds, nk))
        abort();
    vdev_bus_reset_state(&b.bus);
    struct state_section s;
    while (state_reader_next(&r, &s) == 1) {
        char err[STATE_ERR_LEN];
        if (vdev_bus_restore_section(&b.bus, &s, err, sizeof(err)))
            abort();                /* saved from accepted state, yet refused */
    }
    exercise(&b);
    return 0;
}
