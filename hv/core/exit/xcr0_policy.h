/*
 * What a guest may put in XCR0, and how big its XSAVE state is.
 *
 * The hypervisor offers a guest the user state components it sizes, switches between
 * vCPUs and has tested: x87, SSE, AVX, MPX, AVX-512 and PKRU, where the CPU has them.  AMX
 * (TILECFG, TILEDATA: 8 KiB of tiles, and XFD to virtualise) and every later component are
 * withheld; CPUID (cpuid_policy.c, leaves 7, 0xD, 0x1D, 0x1E) shows a guest only what is
 * offered.
 *
 * xsetbv_check() is the SDM's XSETBV, rule by rule, with the offered set standing in for
 * the CPU's supported set; a value it accepts is one the CPU accepts too.  The XSAVE area
 * is sized from CPUID leaf 0xD for the offered components (standard format).
 *
 * Portable: the CPU is reached only through a cpuid_source.  The VT-x backend calls these
 * on XSETBV exits and when it sizes a vCPU's XSAVE area.
 */
#ifndef ATOLL_HV_CORE_XCR0_POLICY_H
#define ATOLL_HV_CORE_XCR0_POLICY_H
#include <stdbool.h>
#include <stdint.h>
#include "hv/core/exit/cpuid_policy.h"

#define XCR0_X87        (1ull << 0)
#define XCR0_SSE        (1ull << 1)
#define XCR0_AVX        (1ull << 2)
#define XCR0_BNDREGS    (1ull << 3)
#define XCR0_BNDCSR     (1ull << 4)
#define XCR0_MPX        (XCR0_BNDREGS | XCR0_BNDCSR)
#define XCR0_OPMASK     (1ull << 5)
#define XCR0_ZMM_HI256  (1ull << 6)
#define XCR0_HI16_ZMM   (1ull << 7)
#define XCR0_AVX512     (XCR0_OPMASK | XCR0_ZMM_HI256 | XCR0_HI16_ZMM)
#define XCR0_PKRU       (1ull << 9)
#define XCR0_TILECFG    (1ull << 17)
#define XCR0_TILEDATA   (1ull << 18)
#define XCR0_AMX        (XCR0_TILECFG | XCR0_TILEDATA)
#define XCR0_APX        (1ull << 19)

/* Every component the hypervisor may offer. */
#define XCR0_HV_COMPONENTS (XCR0_X87 | XCR0_SSE | XCR0_AVX | XCR0_MPX | XCR0_AVX512 | XCR0_PKRU)

/* The XSAVE legacy region (512 bytes) and header (64): the smallest standard-format area. */
#define XSAVE_LEGACY_AND_HEADER 576u

/* The components a guest may enable, from what the CPU reports in CPUID.(EAX=0DH,ECX=0)
 * EDX:EAX; itself a valid XCR0 (a group the CPU reports only in part is left out). */
uint64_t xcr0_offered(uint64_t cpu_supported);
/* CPUID.(EAX=0DH,ECX=0) EDX:EAX of this source; 0 without XSAVE. */
uint64_t xcr0_cpu_supported(cpuid_source host);

/* The SDM's rules on the value alone: x87 set, AVX needs SSE, AVX-512 all or none and only
 * with AVX, MPX both or neither, AMX both or neither, nothing outside `allowed`. */
bool xcr0_value_valid(uint64_t value, uint64_t allowed);

enum xsetbv_fault { XSETBV_OK, XSETBV_GP, XSETBV_UD };

/* What XSETBV does with ECX = xcr and EDX:EAX = value at this CPL: #UD without
 * CR4.OSXSAVE; #GP at CPL > 0 (virtual-8086 mode is CPL 3), for an XCR other than 0 (XCR1,
 * XINUSE, is read-only: XGETBV only) and for a value xcr0_value_valid refuses. */
enum xsetbv_fault xsetbv_check(uint32_t xcr, uint64_t value, unsigned cpl, bool osxsave,
                               uint64_t offered);

/* Bytes of a standard-format XSAVE area holding these components (CPUID.(EAX=0DH,ECX=i)
 * gives each one's size and offset), a multiple of 64. */
uint32_t xsave_area_size(uint64_t components, cpuid_source host);

#endif
