/* atoll check: the checks an operator runs on a Linux host before booting Atoll. */
#ifndef ATOLL_TOOLS_CHECK_CHECK_H
#define ATOLL_TOOLS_CHECK_CHECK_H

/* Exit statuses of `atoll check`. */
enum { CHECK_OK = 0, CHECK_FAILED = 1, CHECK_USAGE = 2 };

/* atoll check MANIFEST [-d DIR]... [--free MiB]: every error as FILE:LINE: KEY: what. */
int check_manifest(int argc, char **argv);
/* atoll check hardware [--root DIR]: VT-x and its features, IOMMU, Secure Boot, a verdict. */
int check_hardware(int argc, char **argv);

#endif
