/*
 * The command line every bench binary in tests/bench shares: `--help` (or -h) prints the
 * bench's usage on stdout and exits 0, `--version` prints "NAME (Atoll) VERSION" as the
 * host tools do and exits 0, and an option the bench does not take prints the usage on
 * stderr and exits 2.  A bench parses its own options and hands every other argument that
 * starts with '-' to bench_cli_option.
 */
#ifndef TESTS_BENCH_BENCH_CLI_H
#define TESTS_BENCH_BENCH_CLI_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Prints "NAME: WHAT" (unless WHAT is NULL) and the usage on stderr, and exits 2. */
static inline __attribute__((noreturn)) void bench_cli_usage_error(const char *name,
                                                                    const char *usage,
                                                                    const char *what)
{
    if (what)
        fprintf(stderr, "%s: %s\n", name, what);
    fputs(usage, stderr);
    exit(2);
}

/* False when ARG is not an option (it does not start with '-', or is "-" alone).  An
 * option does not return: --help, -h and --version are answered (exit 0), any other
 * option is a usage error (exit 2). */
static inline bool bench_cli_option(const char *name, const char *usage, const char *arg)
{
    if (arg[0] != '-' || !arg[1])
        return false;
    if (!strcmp(arg, "--help") || !strcmp(arg, "-h")) {
        fputs(usage, stdout);
        exit(0);
    }
    if (!strcmp(arg, "--version")) {
        printf("%s (Atoll) %s\n", name, ATOLL_VERSION);
        exit(0);
    }
    fprintf(stderr, "%s: unknown option '%s'\n", name, arg);
    bench_cli_usage_error(name, usage, NULL);
}

#endif
