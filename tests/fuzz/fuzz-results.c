/* RESULT bodies as the host reads them (tp__wire_next_res): intake walks a
 * body once to check it, deliver.c walks it again to hand the results
 * out.  Byte 0 says whether the records are timed; the rest is the body.
 * Every record must lie inside the body, the walk must cover it exactly
 * or stop with -1, and the second walk must see what the first saw. */
#include <string.h>

#include "fuzz.h"
#include "common/wire.h"

/* Walk body once: the number of records, or -1 if it is malformed. */
static long walk(const char *body, size_t blen, int timed)
{
    size_t pos = 0, was = 0;
    struct tp__wire_res r;
    long k = 0;
    int m;
    while ((m = tp__wire_next_res(body, blen, &pos, &r, timed)) == 1) {
        FUZZ_CHECK(fuzz_within(body, blen, r.rec, r.len));
        FUZZ_CHECK(pos == (size_t)(r.rec - body) + r.len);
        FUZZ_CHECK(pos >= was + tp__wire_res_hdr(timed));
        FUZZ_CHECK(timed || (r.usec == 0 && r.start_ns == 0));
        was = pos;
        k++;
    }
    FUZZ_CHECK(m == -1 || (m == 0 && pos == blen));
    FUZZ_CHECK(pos == was); /* a malformed record moves nothing */
    return m < 0 ? -1 : k;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    int timed = data[0] & 1;
    size_t blen = size - 1;
    /* a buffer of the body's own size, at an odd address half the time:
     * reading past it, or an unaligned field read, is caught */
    size_t off = data[0] >> 1 & 1;
    char *buf = malloc(off + blen);
    FUZZ_CHECK(buf);
    char *body = buf + off;
    memcpy(body, data + 1, blen);
    long k = walk(body, blen, timed);
    if (k >= 0) {
        /* deliver.c's walk, record by record, against the first */
        size_t p1 = 0, p2 = 0;
        struct tp__wire_res a, b;
        for (long i = 0; i < k; i++) {
            FUZZ_CHECK(tp__wire_next_res(body, blen, &p1, &a, timed) == 1);
            FUZZ_CHECK(tp__wire_next_res(body, blen, &p2, &b, timed) == 1);
            FUZZ_CHECK(a.rec == b.rec && a.len == b.len &&
                       a.status == b.status && a.usec == b.usec &&
                       a.start_ns == b.start_ns);
        }
        FUZZ_CHECK(tp__wire_next_res(body, blen, &p1, &a, timed) == 0);
    }
    /* the other record form over the same bytes must be as safe */
    walk(body, blen, !timed);
    free(buf);
    return 0;
}
