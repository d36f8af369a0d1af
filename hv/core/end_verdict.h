/*
 * The test verdict of one partition: did it end the way its manifest's `expect` says?
 * `ATOLL RESULT: PASS` needs every partition to; a partition that ended otherwise is named
 * with what happened ("partition timer: expected exit 1, got exit 3").  Portable.
 */
#ifndef ATOLL_HV_CORE_END_VERDICT_H
#define ATOLL_HV_CORE_END_VERDICT_H
#include <stdbool.h>
#include <stddef.h>

/* Same values as enum partition_end. */
enum end_kind { END_KIND_NONE, END_KIND_EXIT, END_KIND_KILLED, END_KIND_STOPPED };

struct end_record {
    enum end_kind kind;
    int status;             /* with END_KIND_EXIT */
    const char *reason;     /* with KILLED and STOPPED; may be NULL */
};

/* True when got matches want (a want of EXIT compares the status too); otherwise false
 * with "NAME: expected WANT, got GOT" in why. */
bool end_verdict(const char *name, const struct end_record *want, const struct end_record *got,
                 char *why, size_t why_size);

#endif
