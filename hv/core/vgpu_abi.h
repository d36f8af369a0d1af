/*
 * The virtual GPU's guest contract beside hv/core/hypercall_abi.h: where the display and
 * client surfaces appear in the video service partition's guest-physical space, and the
 * records the hypercalls write.  Shared verbatim by the hypervisor and guest/lib; the
 * whole contract is docs/vgpu.md.
 */
#ifndef ATOLL_HV_CORE_VGPU_ABI_H
#define ATOLL_HV_CORE_VGPU_ABI_H
#include <stdint.h>

/* The framebuffer, in the video-service partition only, at this guest-physical address. */
#define VGPU_DISPLAY_GPA         0x300000000ull        /* 12 GiB */
/* Client surfaces are mapped (read-only) by the service in [8 GiB, 12 GiB). */
#define VGPU_SURFACE_WINDOW      0x200000000ull
#define VGPU_SURFACE_WINDOW_END  0x300000000ull
#define VGPU_PAGE_SIZE           4096ull
#define VGPU_SURFACE_MAX_PAGES   2048u                 /* 8 MiB: 1920x1080 at 32 bpp */
#define VGPU_SURFACES_PER_CLIENT 32u
#define VGPU_MAX_CLIENTS         16u

enum vgpu_pixel_format {
    VGPU_FORMAT_RGBX = 1,       /* bytes R, G, B, X (boot/bootinfo.h BOOT_FB_RGBX) */
    VGPU_FORMAT_BGRX = 2,       /* bytes B, G, R, X: 0x00RRGGBB as a little-endian word */
};

struct vgpu_display {           /* HC_DISPLAY_INFO */
    uint64_t gpa;               /* VGPU_DISPLAY_GPA */
    uint64_t bytes;             /* mapped: pitch * height rounded up to whole pages */
    uint32_t width, height;     /* pixels */
    uint32_t pitch;             /* bytes per line */
    uint32_t format;            /* enum vgpu_pixel_format */
};

struct vgpu_client_info {       /* HC_VGPU_CLIENTS, one per client, in manifest order */
    uint32_t id;                /* partition id: for HC_VGPU_SURFACE_MAP, HC_CHANNEL_MAP */
    uint32_t weight;            /* manifest vgpu-weight */
    char name[32];
};

#endif
