/* A probe's answer as the host reads it (tp__probe_parse): what a process
 * running plugin code wrote back, "OK\0name\0version\0(task\0summary\0)*".
 * Accepted, every string must be a NUL-terminated string inside the
 * answer and the task table NULL-terminated, as --list and --dry-run use
 * them. */
#include <string.h>

#include "fuzz.h"
#include "worker/probe.h"

static void check_str(const char *b, size_t len, const char *s)
{
    FUZZ_CHECK(s && fuzz_within(b, len, s, 1));
    FUZZ_CHECK(memchr(s, '\0', len - (size_t)(s - b)) != NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *b = malloc(size ? size : 1);
    FUZZ_CHECK(b);
    memcpy(b, data, size);
    struct tp__probe out;
    memset(&out, 0, sizeof out);
    if (tp__probe_parse(&out, b, size) == 0) {
        FUZZ_CHECK(size >= 3 && memcmp(b, "OK", 3) == 0);
        check_str(b, size, out.desc.name);
        check_str(b, size, out.desc.version);
        FUZZ_CHECK(out.desc.tasks == out.tasks);
        size_t i = 0, nuls = 0;
        for (; out.tasks[i].name; i++) {
            check_str(b, size, out.tasks[i].name);
            check_str(b, size, out.tasks[i].summary);
        }
        for (size_t j = 0; j < size; j++)
            nuls += b[j] == '\0';
        FUZZ_CHECK(nuls == 3 + 2 * i); /* every task is in the table */
    }
    free(out.tasks);
    free(b);
    return 0;
}
