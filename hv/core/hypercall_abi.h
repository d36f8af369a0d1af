/*
 * The guest-facing hypercall ABI.  Shared verbatim by the hypervisor and guest/lib.
 *
 *   VMCALL with RAX = number, arguments in RDI, RSI, RDX, R10; result in RAX.
 *   A result >= 0 is success; a negative result is -HC_E*.  Unknown numbers return
 *   -HC_ENOSYS and never fault.  Guest addresses are guest-physical.  Only CPL 0 calls:
 *   a VMCALL from CPL 1-3 returns -HC_EPERM and does nothing.
 */
#ifndef ATOLL_HV_CORE_HYPERCALL_ABI_H
#define ATOLL_HV_CORE_HYPERCALL_ABI_H

#define HC_VERSION         0x0000  /* () -> ABI version (1) */
#define HC_CONSOLE_WRITE   0x0001  /* (gpa, len) -> bytes written; len <= 4096 */
#define HC_PARTITION_INFO  0x0002  /* () -> (vcpu count << 32) | partition id */
#define HC_VCPU_ID         0x0003  /* () -> this vCPU's index in its partition */
#define HC_EXIT            0x0004  /* (status) -> does not return; ends the partition */
#define HC_TIME_NS         0x0005  /* () -> nanoseconds since the partition started */
/* Channels (hv/core/channel.h): the owner grants pages of its RAM to one peer and names
 * the vector its doorbell raises on its own vCPU 0; the peer maps them in the channel
 * window [4 GiB, 8 GiB) and names its own vector; either side rings the other. */
#define HC_CHANNEL_GRANT   0x0010  /* (gpa, pages, peer partition id, vector) -> handle;
                                      -HC_ENOSPC when this partition's share is used up */
#define HC_CHANNEL_MAP     0x0011  /* (handle, gpa, vector) -> 0; all its pages in the
                                      window, clear of the caller's other mappings */
#define HC_CHANNEL_NOTIFY  0x0012  /* (handle) -> 0; raises the other side's vector */
#define HC_CHANNEL_REVOKE  0x0013  /* (handle) -> 0; the owner takes the pages back */
/* The display and the virtual GPU's transport (hv/core/vgpu_abi.h, docs/vgpu.md). */
#define HC_DISPLAY_INFO         0x0020  /* (gpa) -> 0; struct vgpu_display there; only the
                                           video-service partition, others -HC_EPERM */
#define HC_VGPU_SERVICE         0x0021  /* () -> (weight << 32) | video-service partition id;
                                           only vGPU clients */
#define HC_VGPU_CLIENTS         0x0022  /* (gpa, max) -> clients; struct vgpu_client_info[]
                                           there; only the video-service partition */
#define HC_VGPU_SURFACE_SHARE   0x0023  /* (gpa, pages) -> surface handle; a client's RAM */
#define HC_VGPU_SURFACE_UNSHARE 0x0024  /* (handle) -> 0; unmapped from the service */
#define HC_VGPU_SURFACE_MAP     0x0025  /* (client id, handle, gpa) -> 0; into the
                                           service's surface window */
#define HC_VGPU_DAMAGE          0x0026  /* (client id, handle, gpa) -> pages written since
                                           the last call; a bitmap of them there */
#define HC_VGPU_CONNECT         0x0027  /* (channel handle) -> 0; the client's command ring,
                                           granted to the video-service partition */
#define HC_DISPLAY_FRAME        0x0028  /* (1 begin, 2 end) -> 0; the service composes between
                                           the two; begin: -HC_EBUSY while a capture reads */

#define HC_ABI_VERSION 1

#define HC_EPERM   1   /* not allowed for this partition (or above CPL 0) */
#define HC_ENOENT  2   /* no such object */
#define HC_EFAULT  14  /* a guest address or length is outside the partition's memory */
#define HC_EBUSY   16  /* not now: try again (HC_DISPLAY_FRAME while a capture reads) */
#define HC_EINVAL  22  /* bad argument */
#define HC_ENOSPC  28  /* a bounded table is full (e.g. this partition's share of grants) */
#define HC_ENOSYS  38  /* unknown hypercall number */

/* CPUID leaf 0x40000000 returns max leaf in EAX and "AtollAtollHv" in EBX, ECX, EDX. */
#define HV_CPUID_BASE      0x40000000u
#define HV_CPUID_SIGNATURE "AtollAtollHv"

#endif
