/* TEXT answers as the host takes them (intake.c take_text): the FAILS
 * entries of a batch are read with tp__wire_get_fail against the TEXT frame
 * that follows, then deliver.c hands out the text between two failures as
 * one span.  Input: the TEXT frame's count (u32) and text length (u16),
 * the FAILS frame's count (u8: 7 bits, the 8th says the entries are a
 * remote worker's), then the FAILS body.  Whatever the worker
 * sent, every span handed out must lie inside the text. */
#include <string.h>

#include "fuzz.h"
#include "common/wire.h"

#define HEAD 7

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < HEAD)
        return 0;
    uint32_t count = tp__get32(data);
    size_t tlen = (size_t)data[4] | (size_t)data[5] << 8;
    uint32_t nfails = data[6] & 0x7fu;
    int remote = data[6] >> 7;
    size_t blen = size - HEAD;
    char *body = malloc(blen ? blen : 1);
    char *text = malloc(tlen ? tlen : 1);
    char *sink = malloc(tlen ? tlen : 1);
    FUZZ_CHECK(body && text && sink);
    memcpy(body, data + HEAD, blen);
    memset(text, 't', tlen);
    size_t pos = 0, tpos = 0;
    struct tp__wire_fail f, prev;
    for (uint32_t i = 0; i < nfails; i++) {
        size_t was = pos;
        if (tp__wire_get_fail(body, blen, &pos, i ? &prev : NULL, count, tlen,
                             remote, &f) != 0) {
            FUZZ_CHECK(pos == was);
            break;
        }
        FUZZ_CHECK(pos == was + TP_WIRE_FAIL_REC +
                              (remote ? TP_WIRE_FAIL_REMOTE : 0) + f.len);
        FUZZ_CHECK(f.status >= 1 && f.status <= 4 && f.attempts >= 1);
        FUZZ_CHECK(fuzz_within(body, blen, f.msg, f.len));
        FUZZ_CHECK(f.index < count);
        FUZZ_CHECK(!i || (f.index > prev.index && f.text_off >= prev.text_off));
        /* deliver.c: the text before this failure, then its message */
        FUZZ_CHECK(f.text_off >= tpos && f.text_off <= tlen);
        memcpy(sink, text + tpos, f.text_off - tpos);
        tpos = f.text_off;
        if (f.len)
            memcpy(sink, f.msg, f.len < tlen ? f.len : tlen);
        prev = f;
    }
    free(sink);
    free(text);
    free(body);
    return 0;
}
