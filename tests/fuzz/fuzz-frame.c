/* Frame headers as the host reads them from a worker (tp__wire_get_hdr):
 * 24 bytes, then the size of the message buffer.  A header accepted must
 * be one the host can act on: a known type, a body within the limit, a
 * count its body can hold; one refused has a message, whatever the
 * buffer's size. */
#include <string.h>

#include "fuzz.h"
#include "common/wire.h"

/* the least bytes a record of this frame takes (wire.h), 0 if none */
static uint64_t least(const struct tp__frame *f)
{
    switch (f->type) {
    case TP_FRAME_REQUEST:
        return f->flags & TP_REQ_DELIM ? 1 : TP_WIRE_REQ_REC;
    case TP_FRAME_RESULT:
        return TP_WIRE_RES_MIN;
    case TP_FRAME_FAILS:
        return TP_WIRE_FAIL_REC;
    default:
        return 0;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < TP_WIRE_HDR)
        return 0;
    /* the header in a buffer of its own size: reading past it is caught */
    unsigned char *raw = malloc(TP_WIRE_HDR);
    size_t errlen = size > TP_WIRE_HDR ? 1 + data[TP_WIRE_HDR] % 128 : 128;
    char *err = malloc(errlen);
    FUZZ_CHECK(raw && err);
    memcpy(raw, data, TP_WIRE_HDR);
    memset(err, 'x', errlen);
    struct tp__frame f;
    if (tp__wire_get_hdr(raw, &f, err, errlen) == 0) {
        FUZZ_CHECK(tp__get32(raw) == TP_WIRE_MAGIC);
        FUZZ_CHECK(f.type >= TP_FRAME_REQUEST && f.type <= TP_FRAME_ALIVE);
        FUZZ_CHECK(f.len <= TP_WIRE_MAX_BODY);
        /* READY's count is a number of workers, LIMIT's a time limit;
         * neither has a body */
        FUZZ_CHECK(f.type != TP_FRAME_READY || f.len == 0);
        FUZZ_CHECK(f.type != TP_FRAME_LIMIT || f.len == 0);
        FUZZ_CHECK(f.type != TP_FRAME_ALIVE || f.len == 0);
        FUZZ_CHECK(f.type != TP_FRAME_FATAL || f.count <= TP_FATAL_STOPPED);
        FUZZ_CHECK((uint64_t)f.count * least(&f) <= f.len);
        /* and it says what was sent */
        unsigned char again[TP_WIRE_HDR];
        tp__wire_put_hdr(again, f.type, f.count, f.flags, f.len);
        FUZZ_CHECK(memcmp(again, raw, TP_WIRE_HDR) == 0);
    } else {
        FUZZ_CHECK(memchr(err, '\0', errlen) != NULL);
        FUZZ_CHECK(errlen == 1 || err[0] != '\0');
    }
    free(err);
    free(raw);
    return 0;
}
