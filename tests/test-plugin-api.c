/* The inline helpers plugin authors use: parsing and appending results;
 * and the header itself, as ISO C and for compilers without GNU C. */
#include <check.h>

#include "ck-main.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <taskpool/plugin.h>

/* A host stand-in: a growable buffer behind the context, with a limit. */
struct fake {
    tp_ctx pub;
    char *buf;
    size_t cap, limit;
    char err[256];
    int failed;
};

static int fake_reserve(tp_ctx *c, size_t n)
{
    struct fake *f = (struct fake *)c;
    size_t used = (size_t)(c->cur - f->buf);
    if (used + n > f->limit)
        return -1;
    size_t cap = f->cap;
    while (cap < used + n)
        cap *= 2;
    char *b = realloc(f->buf, cap);
    if (!b)
        return -1;
    f->buf = b;
    f->cap = cap;
    c->cur = b + used;
    c->end = b + cap;
    return 0;
}

static void fake_vfail(tp_ctx *c, const char *fmt, va_list ap)
{
    struct fake *f = (struct fake *)c;
    vsnprintf(f->err, sizeof f->err, fmt, ap);
    f->failed = 1;
}

static const struct tp_host_api fake_api = {sizeof(struct tp_host_api),
                                            fake_reserve, fake_vfail};

static void fake_init(struct fake *f, size_t cap, size_t limit)
{
    memset(f, 0, sizeof *f);
    f->buf = malloc(cap);
    ck_assert_ptr_nonnull(f->buf);
    f->cap = cap;
    f->limit = limit;
    f->pub = (tp_ctx){&fake_api, f->buf, f->buf + cap};
}

static size_t fake_len(struct fake *f) { return (size_t)(f->pub.cur - f->buf); }

static int64_t i64(const char *s, int want)
{
    int64_t v = 12345;
    ck_assert_int_eq(tp_parse_i64(s, strlen(s), &v), want);
    return v;
}

START_TEST(parse_i64)
{
    ck_assert_int_eq(i64("0", 0), 0);
    ck_assert_int_eq(i64("-17", 0), -17);
    ck_assert_int_eq(i64("+17", 0), 17);
    ck_assert(i64("9223372036854775807", 0) == INT64_MAX);
    ck_assert(i64("-9223372036854775808", 0) == INT64_MIN);
    i64("9223372036854775808", ERANGE);
    i64("-9223372036854775809", ERANGE);
    i64("99999999999999999999999", ERANGE);
    i64("99999999999999999999999x", EINVAL);
    /* untouched on failure */
    ck_assert_int_eq(i64("", EINVAL), 12345);
    i64("-", EINVAL);
    i64(" 1", EINVAL);
    i64("1 ", EINVAL);
    i64("12abc", EINVAL);
    i64("0x10", EINVAL);
    int64_t v;
    ck_assert_int_eq(tp_parse_i64("1\0002", 3, &v), EINVAL);
    ck_assert_int_eq(tp_parse_i64("123", 2, &v), 0);
    ck_assert_int_eq(v, 12);
}
END_TEST

START_TEST(parse_double)
{
    double v = 0;
    ck_assert_int_eq(tp_parse_double("2.5", 3, &v), 0);
    ck_assert(v == 2.5);
    ck_assert_int_eq(tp_parse_double("-1e3", 4, &v), 0);
    ck_assert(v == -1000.0);
    ck_assert_int_eq(tp_parse_double("1e999", 5, &v), ERANGE);
    ck_assert_int_eq(tp_parse_double("nan", 3, &v), EINVAL);
    ck_assert_int_eq(tp_parse_double("inf", 3, &v), EINVAL);
    ck_assert_int_eq(tp_parse_double("2.5x", 4, &v), EINVAL);
    ck_assert_int_eq(tp_parse_double(" 2", 2, &v), EINVAL);
    ck_assert_int_eq(tp_parse_double("", 0, &v), EINVAL);
    ck_assert_int_eq(tp_parse_double("2\0", 2, &v), EINVAL);
}
END_TEST

START_TEST(append_and_grow)
{
    struct fake f;
    fake_init(&f, 4, 1 << 20);
    ck_assert_int_eq(tp_put_i64(&f.pub, INT64_MIN), TP_OK);
    ck_assert_int_eq(tp_puts(&f.pub, " "), TP_OK);
    ck_assert_int_eq(tp_put_i64(&f.pub, 0), TP_OK);
    ck_assert_int_eq(tp_printf(&f.pub, " %s=%d", "a-long-enough-key", 42),
                     TP_OK);
    const char *want = "-9223372036854775808 0 a-long-enough-key=42";
    ck_assert_uint_eq(fake_len(&f), strlen(want));
    ck_assert_int_eq(memcmp(f.buf, want, strlen(want)), 0);
    free(f.buf);
}
END_TEST

START_TEST(append_over_limit)
{
    struct fake f;
    fake_init(&f, 8, 16);
    ck_assert_int_eq(tp_append(&f.pub, "0123456789", 10), TP_OK);
    ck_assert_int_eq(tp_append(&f.pub, "0123456789", 10), TP_FAIL);
    ck_assert_int_eq(tp_printf(&f.pub, "%s", "0123456789"), TP_FAIL);
    ck_assert_uint_eq(fake_len(&f), 10);
    free(f.buf);
}
END_TEST

START_TEST(fail_message)
{
    struct fake f;
    fake_init(&f, 8, 16);
    ck_assert_int_eq(tp_fail(&f.pub, "bad input %d", 7), TP_FAIL);
    ck_assert(f.failed);
    ck_assert_str_eq(f.err, "bad input 7");
    free(f.buf);
}
END_TEST

static const char *env(const char *name)
{
    const char *v = getenv(name);
    ck_assert_msg(v != NULL, "%s is not set (run through make check)", name);
    return v;
}

/* Compile src against the header with $CC (as make check exports it) and
 * flags; the compiler's exit status. */
static int compile(const char *src, const char *flags)
{
    char path[] = "/tmp/tp-header-XXXXXX.c", cmd[4096];
    int fd = mkstemps(path, 2);
    ck_assert_int_ge(fd, 0);
    FILE *f = fdopen(fd, "w");
    ck_assert_ptr_nonnull(f);
    fputs(src, f);
    ck_assert_int_eq(fclose(f), 0);
    snprintf(cmd, sizeof cmd, "%s %s -I'%s' -fsyntax-only '%s'", env("CC"),
             flags, env("TP_INCLUDE"), path);
    int rc = system(cmd);
    unlink(path);
    return rc;
}

#define PLUGIN_SRC                                                            \
    "#include <taskpool/plugin.h>\n"                                          \
    "static int t(tp_ctx *ctx, const char *in, size_t len)\n"                 \
    "{\n"                                                                     \
    "    int64_t v;\n"                                                        \
    "    if (tp_parse_i64(in, len, &v) != 0)\n"                               \
    "        return tp_fail(ctx, \"not an integer: %d\", (int)len);\n"        \
    "    return tp_printf(ctx, \"%lld\", (long long)v);\n"                    \
    "}\n"                                                                     \
    "static const struct tp_task tasks[] = {{\"t\", \"t\", t},\n"             \
    "                                       {NULL, NULL, NULL}};\n"          \
    "TASKPOOL_PLUGIN(\"p\", \"1\", tasks, NULL, NULL)\n"

START_TEST(header_is_portable)
{
    /* ISO C, pedantically: a plugin builds warning-free as C99 and C11 */
    ck_assert_int_eq(compile(PLUGIN_SRC, "-std=c99 -Wall -Wextra -Wpedantic "
                             "-Werror"), 0);
    ck_assert_int_eq(compile(PLUGIN_SRC, "-std=c11 -Wall -Wextra -Wpedantic "
                             "-Werror"), 0);
    /* a compiler without GNU C: the header must not use __attribute__
     * (the system headers are read first, as GNU C, and then the name is
     * poisoned: any use of it is an error) */
    ck_assert_int_eq(compile("#include <errno.h>\n#include <stdarg.h>\n"
                             "#include <stddef.h>\n#include <stdint.h>\n"
                             "#include <stdio.h>\n#include <stdlib.h>\n"
                             "#include <string.h>\n#undef __GNUC__\n"
                             "#pragma GCC poison __attribute__\n"
                             PLUGIN_SRC, "-std=c99 -Wall -Werror"), 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("plugin-api");
    TCase *tc = tcase_create("helpers");
    tcase_add_test(tc, parse_i64);
    tcase_add_test(tc, parse_double);
    tcase_add_test(tc, append_and_grow);
    tcase_add_test(tc, append_over_limit);
    tcase_add_test(tc, fail_message);
    suite_add_tcase(s, tc);
    tc = tcase_create("header");
    tcase_add_test(tc, header_is_portable);
    suite_add_tcase(s, tc);
    return ck_main(s);
}
