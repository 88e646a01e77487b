/* text: small string kernels.  Bytes are treated as UTF-8 where it
 * matters (reverse keeps multi-byte characters whole); case mapping is
 * ASCII-only, as in the C locale. */
#include <taskpool/plugin.h>

/* The input with ASCII letters lo..hi shifted by delta. */
static int shift_case(tp_ctx *ctx, const char *in, size_t len, char lo,
                      char hi, int delta)
{
    if (tp_append(ctx, in, len) != TP_OK)
        return TP_FAIL;
    for (char *p = ctx->cur - len; p < ctx->cur; p++)
        if (*p >= lo && *p <= hi)
            *p = (char)(*p + delta);
    return TP_OK;
}

static int task_upper(tp_ctx *ctx, const char *in, size_t len)
{
    return shift_case(ctx, in, len, 'a', 'z', 'A' - 'a');
}

static int task_lower(tp_ctx *ctx, const char *in, size_t len)
{
    return shift_case(ctx, in, len, 'A', 'Z', 'a' - 'A');
}

/* Length of the UTF-8 sequence starting at s (1 for anything invalid). */
static size_t seq_len(const unsigned char *s, size_t n)
{
    size_t k = s[0] >= 0xf0 ? 4 : s[0] >= 0xe0 ? 3 : s[0] >= 0xc0 ? 2 : 1;
    if (k > n)
        return 1;
    for (size_t i = 1; i < k; i++)
        if ((s[i] & 0xc0) != 0x80)
            return 1;
    return k;
}

static int task_reverse(tp_ctx *ctx, const char *in, size_t len)
{
    if (tp_append(ctx, in, len) != TP_OK) /* reserve len bytes */
        return TP_FAIL;
    char *out = ctx->cur;
    const unsigned char *u = (const unsigned char *)in;
    for (size_t i = 0; i < len;) {
        size_t k = seq_len(u + i, len - i);
        out -= k;
        memcpy(out, in + i, k);
        i += k;
    }
    return TP_OK;
}

static int task_length(tp_ctx *ctx, const char *in, size_t len)
{
    (void)in;
    return tp_put_i64(ctx, (int64_t)len);
}

static int is_space(char c)
{
    return c == ' ' || (c >= '\t' && c <= '\r');
}

static int task_words(tp_ctx *ctx, const char *in, size_t len)
{
    int64_t words = 0;
    for (size_t i = 0; i < len; i++)
        words += !is_space(in[i]) && (i == 0 || is_space(in[i - 1]));
    return tp_put_i64(ctx, words);
}

static const struct tp_task text_tasks[] = {
    {"upper", "ASCII letters to upper case", task_upper},
    {"lower", "ASCII letters to lower case", task_lower},
    {"reverse", "the characters in reverse order (UTF-8 aware)", task_reverse},
    {"length", "the length in bytes", task_length},
    {"words", "the number of blank-separated words", task_words},
    {NULL, NULL, NULL},
};

TASKPOOL_PLUGIN("text", TP_PACKAGE_VERSION, text_tasks, NULL, NULL)
