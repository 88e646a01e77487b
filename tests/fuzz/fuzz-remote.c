/* A remote worker's RESULT bodies (taskpool --mpi) as the host takes them
 * (intake.c take_remote through tp__wire_take_remote): checked, then
 * rewritten in place as a local worker's body, which deliver.c walks with
 * tp__wire_next_res.  Byte 0: timed (bit 0); bytes 1-2: the declared
 * count; the rest is the body.  A body that is accepted must come out as
 * exactly count well-formed local records covering the new length. */
#include <string.h>

#include "fuzz.h"
#include "common/wire.h"

static int seen(void *arg, uint32_t k, const struct tp__wire_remote *r)
{
    uint32_t *n = arg;
    FUZZ_CHECK(k == *n);
    FUZZ_CHECK(r->status <= 4 && r->attempts >= 1);
    (*n)++;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 3)
        return 0;
    int timed = data[0] & 1;
    uint32_t count = (uint32_t)data[1] | (uint32_t)data[2] << 8;
    size_t blen = size - 3;
    char *body = malloc(blen ? blen : 1);
    FUZZ_CHECK(body);
    memcpy(body, data + 3, blen);
    uint32_t n = 0;
    long long len = tp__wire_take_remote(body, blen, timed, count, seen, &n);
    FUZZ_CHECK(len >= -1);
    if (len >= 0) {
        FUZZ_CHECK((size_t)len <= blen && n == count);
        FUZZ_CHECK((size_t)len == blen - (size_t)count * TP_WIRE_RES_REMOTE);
        size_t pos = 0;
        struct tp__wire_res r;
        uint32_t k = 0;
        int m;
        while ((m = tp__wire_next_res(body, (size_t)len, &pos, &r, timed)) == 1) {
            FUZZ_CHECK(fuzz_within(body, (size_t)len, r.rec, r.len));
            k++;
        }
        FUZZ_CHECK(m == 0 && pos == (size_t)len && k == count);
    }
    free(body);
    return 0;
}
