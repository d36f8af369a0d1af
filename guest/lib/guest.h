/* Everything a test guest uses.  A test defines DEFINE_TEST("name") and test_main(). */
#ifndef ATOLL_GUEST_GUEST_H
#define ATOLL_GUEST_GUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "guest/lib/bootinfo.h"
#include "guest/lib/console.h"
#include "guest/lib/exceptions.h"
#include "guest/lib/fwcfg.h"
#include "guest/lib/hypercall.h"
#include "guest/lib/lapic.h"
#include "guest/lib/serial.h"
#include "guest/lib/layout.h"
#include "guest/lib/rand.h"
#include "guest/lib/report.h"
#include "guest/lib/safe.h"
#include "guest/lib/smp.h"
#include "guest/lib/tsc.h"
#include "guest/lib/x86.h"

void pic_mask_all(void);

#endif
