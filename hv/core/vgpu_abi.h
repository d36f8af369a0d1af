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
/* Client surfaces are mapped (writable: the engine draws into them) by the service in
 * [8 GiB, 12 GiB). */
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
    uint32_t ring;              /* channel handle of its command ring; 0: not connected */
    uint32_t reserved;
    char name[32];
};

/*
 * The command ring (docs/vgpu.md, "Transport"): a channel grant from the client to the
 * video-service partition (HC_CHANNEL_GRANT, then HC_VGPU_CONNECT with its handle).  Page
 * 0 is struct vgpu_ring; pages 1.. are the data area, a byte ring of records, each 8-byte
 * aligned and never wrapping (a VGPU_REC_PAD record fills the end of the area when the
 * next one does not fit).  The client writes records and then head; the service reads
 * them, then tail.  The client rings the doorbell (HC_CHANNEL_NOTIFY) after a head
 * change, the service after fence_done or error changes.  A client that is done sets
 * closed and waits for finished before it ends.
 */
#define VGPU_RING_MAGIC    0x52555047u      /* "GPUR" */
#define VGPU_RING_VERSION  1u

struct vgpu_ring {
    uint32_t magic, version;
    uint32_t data_bytes;        /* the data area: (pages - 1) * 4096 */
    volatile uint32_t closed;   /* client: nothing more will come */
    volatile uint64_t head;     /* client: bytes written into the data area, ever */
    volatile uint64_t tail;     /* service: bytes consumed, ever */
    volatile uint64_t fence_done;   /* service: the last fence value completed */
    volatile uint32_t errors;   /* service: commands refused so far */
    volatile uint32_t error;    /* service: the last refusal's code (guest/vsp/vsp_err.h) */
    volatile uint32_t error_offset;     /* its command's offset in its buffer */
    volatile uint32_t finished; /* service: closed, and every record handled: the
                                   client may end (its ring goes with it) */
    char error_text[96];        /* service: the last refusal in words, NUL-terminated */
};

enum vgpu_record_kind {
    VGPU_REC_PAD = 0,           /* skip to the end of the data area */
    VGPU_REC_COMMANDS = 1,      /* a command buffer (guest/vsp/vgpu_cmd.h), bytes % 4 == 0 */
    VGPU_REC_SURFACE = 2,       /* struct vgpu_rec_surface: a shared surface to map */
};

struct vgpu_record {
    uint32_t kind;              /* enum vgpu_record_kind */
    uint32_t bytes;             /* of the payload that follows */
};

struct vgpu_rec_surface {
    uint32_t handle;            /* HC_VGPU_SURFACE_SHARE's */
    uint32_t pages;
    uint64_t gpa;               /* in the client's RAM */
};

#endif
