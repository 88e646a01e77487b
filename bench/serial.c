/* The floor the benchmark compares taskpool with: one process, no IPC,
 * read a line, do the same work as the kernel, write a line.
 *   serial double|primes|spin|length <input >output */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <taskpool/plugin.h>

#include "../plugins/bench/kernels.h"

static void put_i64(int64_t v)
{
    char buf[24], *p = buf + sizeof buf;
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    *--p = '\n';
    do {
        *--p = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        *--p = '-';
    fwrite_unlocked(p, 1, (size_t)(buf + sizeof buf - p), stdout);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: serial double|primes|spin|length\n");
        return 2;
    }
    const char *task = argv[1];
    int which = !strcmp(task, "double")   ? 0
                : !strcmp(task, "primes") ? 1
                : !strcmp(task, "spin")   ? 2
                : !strcmp(task, "length") ? 3
                                          : -1;
    if (which < 0) {
        fprintf(stderr, "serial: unknown task %s\n", task);
        return 2;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    while ((n = getline(&line, &cap, stdin)) > 0) {
        size_t len = (size_t)n - (line[n - 1] == '\n');
        int64_t v = 0;
        if (which != 3 && tp_parse_i64(line, len, &v) != 0) {
            fprintf(stderr, "serial: bad input\n");
            return 1;
        }
        put_i64(which == 0   ? 2 * v
                : which == 1 ? count_primes(v)
                : which == 2 ? spin(v)
                             : (int64_t)len);
    }
    free(line);
    return fflush(stdout) == 0 && !ferror(stdin) ? 0 : 1;
}
