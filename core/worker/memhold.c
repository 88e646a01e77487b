/* Memory a sandboxed task could fill past --mem-limit through what the
 * plugin's init left it: a file on a memory file system (tmpfs, where a
 * memfd and /dev/shm live, hugetlbfs, ramfs) open for writing, or a
 * shared mapping of memory (even read-only: see memory_map).  RLIMIT_DATA counts neither (their pages are
 * the file system's, not the worker's), and the sandbox lets tasks use the
 * descriptors and mappings they already have, so such a worker is refused
 * before its first task.  What the sandbox itself takes away (memfd_create,
 * ftruncate, shared anonymous mmap, opening files for writing) cannot make
 * more of them. */
#include "worker/memhold.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#define TMPFS_MAGIC 0x01021994
#define HUGETLBFS_MAGIC 0x958458f6
#define RAMFS_MAGIC 0x858458f6

static int memory_fs(long type)
{
    return type == TMPFS_MAGIC || type == (long)HUGETLBFS_MAGIC ||
           type == (long)RAMFS_MAGIC;
}

/* Descriptor n, writable, on a memory file system?  Its path in *path. */
static int memory_fd(int n, char *path, size_t len)
{
    int fl = fcntl(n, F_GETFL);
    struct stat st;
    struct statfs fs;
    if (fl < 0 || (fl & O_ACCMODE) == O_RDONLY || fstat(n, &st) != 0 ||
        !S_ISREG(st.st_mode) || fstatfs(n, &fs) != 0 || !memory_fs(fs.f_type))
        return 0;
    char link[64];
    snprintf(link, sizeof link, "/proc/self/fd/%d", n);
    ssize_t k = readlink(link, path, len - 1);
    path[k > 0 ? k : 0] = '\0';
    return 1;
}

static int check_fds(int keep, char *err, size_t errlen)
{
    DIR *d = opendir("/proc/self/fd");
    if (!d) {
        snprintf(err, errlen, "cannot sandbox: /proc/self/fd: %s",
                 strerror(errno));
        return -1;
    }
    int r = 0;
    char path[512];
    for (struct dirent *e; r == 0 && (e = readdir(d));) {
        int n = atoi(e->d_name);
        if (n < 3 || n == keep || n == dirfd(d) || !memory_fd(n, path,
                                                             sizeof path))
            continue;
        snprintf(err, errlen, "cannot hold --mem-limit in the sandbox: the "
                 "plugin's init left descriptor %d open for writing on %s, "
                 "a file in memory that the limit does not count (close it "
                 "in init)", n, path);
        r = -1;
    }
    closedir(d);
    return r;
}

/* A shared mapping (other than the worker's own page) of memory: shared
 * anonymous memory, SysV shared memory, a memfd or a file on a memory file
 * system, deleted or not.  Read-only ones too: mprotect (which the sandbox
 * allows, for private memory) can make one writable where it was mapped
 * from a descriptor open for writing, which the maps do not tell. */
static int memory_map(char *path)
{
    struct statfs fs;
    if (!*path || !strncmp(path, "/dev/zero", 9) ||
        !strncmp(path, "/memfd:", 7) || !strncmp(path, "/SYSV", 5))
        return 1;
    size_t n = strlen(path);
    const char *gone = " (deleted)";
    if (n > strlen(gone) && !strcmp(path + n - strlen(gone), gone)) {
        char *slash = strrchr(path, '/'); /* its directory then says */
        if (slash)
            *slash = '\0';
        int r = statfs(slash && slash > path ? path : "/", &fs) == 0 &&
                memory_fs(fs.f_type);
        if (slash)
            *slash = '/';
        return r;
    }
    return statfs(path, &fs) == 0 && memory_fs(fs.f_type);
}

static int check_maps(const void *own, char *err, size_t errlen)
{
    FILE *f = fopen("/proc/self/maps", "re");
    if (!f) {
        snprintf(err, errlen, "cannot sandbox: /proc/self/maps: %s",
                 strerror(errno));
        return -1;
    }
    char line[4352], perms[8], path[4096];
    uintptr_t from, to;
    int r = 0;
    while (r == 0 && fgets(line, sizeof line, f)) {
        path[0] = '\0';
        if (sscanf(line, "%" SCNxPTR "-%" SCNxPTR " %7s %*s %*s %*s %4095[^\n]",
                   &from, &to, perms, path) < 3 ||
            perms[3] != 's' || from == (uintptr_t)own ||
            !memory_map(path))
            continue;
        snprintf(err, errlen, "cannot hold --mem-limit in the sandbox: the "
                 "plugin's init left a shared mapping of %" PRIuPTR
                 " KiB (%s), memory that the limit does not count (unmap it "
                 "in init)", (to - from) >> 10, *path ? path : "anonymous");
        r = -1;
    }
    fclose(f);
    return r;
}

int tp__memhold_check(int keep_fd, const void *own_page, char *err,
                      size_t errlen)
{
    if (check_fds(keep_fd, err, errlen) != 0)
        return -1;
    return check_maps(own_page, err, errlen);
}
