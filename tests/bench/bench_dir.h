/*
 * A bench's working folder, made and removed in the process, never through a shell: the
 * folder is a path a person typed (spaces, quotes and `;` are just characters in it).
 * bench_dir_remove is `rm -rf` that refuses a path naming the root, "." or ".." (or
 * nothing), does not follow symbolic links (it removes the link) and stays on the folder's
 * filesystem; bench_dir_make is `mkdir -p`.
 */
#ifndef TESTS_BENCH_BENCH_DIR_H
#define TESTS_BENCH_BENCH_DIR_H

#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/bench/bench_cli.h"

/* False for "", the root ("/", "//", or any path that resolves to it) and a path whose
 * last component is "." or "..". */
static inline bool bench_dir_removable(const char *path)
{
    size_t n = strlen(path);
    while (n && path[n - 1] == '/')
        n--;
    if (!n)
        return false;
    size_t start = n;
    while (start && path[start - 1] != '/')
        start--;
    size_t last = n - start;
    if ((last == 1 && path[start] == '.') || (last == 2 && !memcmp(path + start, "..", 2)))
        return false;
    char real[PATH_MAX];
    return !realpath(path, real) || strcmp(real, "/") != 0;
}

static inline int bench_dir_remove_one(const char *path, const struct stat *st, int type,
                                       struct FTW *ftw)
{
    int rc = type == FTW_DP || type == FTW_DNR ? rmdir(path) : unlink(path);
    return rc ? errno : 0;
}

/* A bench's WORKDIR argument (NULL: none given), which the bench removes first: a usage
 * error (bench_cli_usage_error) when it is missing or bench_dir_removable refuses it. */
static inline const char *bench_dir_workdir(const char *name, const char *usage, const char *dir)
{
    if (!dir)
        bench_cli_usage_error(name, usage, NULL);
    if (!bench_dir_removable(dir))
        bench_cli_usage_error(name, usage, "WORKDIR is removed first: not the root, . or ..");
    return dir;
}

/* 0 when PATH is gone (or was never there); -1 with errno when it is refused (EINVAL) or
 * something under it could not be removed. */
static inline int bench_dir_remove(const char *path)
{
    if (!bench_dir_removable(path)) {
        errno = EINVAL;
        return -1;
    }
    struct stat st;
    if (lstat(path, &st))
        return errno == ENOENT ? 0 : -1;
    int rc = nftw(path, bench_dir_remove_one, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
    if (rc > 0)
        errno = rc;
    return rc ? -1 : 0;
}

/* 0 when PATH is a folder (made with its parents where missing); -1 with errno. */
static inline int bench_dir_make(const char *path)
{
    char p[PATH_MAX];
    size_t n = strlen(path);
    if (!n || n >= sizeof(p)) {
        errno = n ? ENAMETOOLONG : ENOENT;
        return -1;
    }
    memcpy(p, path, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (p[i] != '/' && p[i])
            continue;
        char c = p[i];
        p[i] = 0;
        if (mkdir(p, 0777) && errno != EEXIST)
            return -1;
        p[i] = c;
    }
    struct stat st;
    if (stat(path, &st))
        return -1;
    if (!S_ISDIR(st.st_mode)) {
        errno = ENOTDIR;
        return -1;
    }
    return 0;
}

#endif
