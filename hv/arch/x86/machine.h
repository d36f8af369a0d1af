/* Ending the whole machine: the test-mode result line and the emulator exits. */
#ifndef ATOLL_HV_ARCH_X86_MACHINE_H
#define ATOLL_HV_ARCH_X86_MACHINE_H
#include <stdbool.h>

/* With test exit on, machine_finish()/machine_fatal() end the emulator after the line
 * `ATOLL RESULT: PASS` / `ATOLL RESULT: FAIL <reason>`; otherwise the CPU halts. */
void machine_set_test_exit(bool on);
bool machine_test_exit(void);
__attribute__((noreturn)) void machine_finish(bool pass, const char *reason);
__attribute__((noreturn)) void machine_fatal(const char *reason);

#endif
