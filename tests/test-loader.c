/* The loader: ABI stamp checks on descriptors, and every way opening a
 * plugin can fail, against the build tree's plugins. */
#include <check.h>

#include "ck-main.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "worker/loader.h"

static int run_echo(tp_ctx *ctx, const char *in, size_t len)
{
    return tp_append(ctx, in, len);
}

static const struct tp_task good_tasks[] = {{"echo", "echo", run_echo},
                                            {NULL, NULL, NULL}};

static struct tp_plugin good(void)
{
    return (struct tp_plugin){TASKPOOL_ABI_MAGIC, TASKPOOL_ABI_MAJOR,
                              TASKPOOL_ABI_MINOR, sizeof(struct tp_plugin),
                              "t", "1", good_tasks, NULL, NULL, 0};
}

static const char *check_msg(const struct tp_plugin *d)
{
    static char err[512];
    err[0] = 0;
    if (tp__loader_check(d, "x.so", err, sizeof err) == 0)
        return "ok";
    return err;
}

START_TEST(stamp_checks)
{
    struct tp_plugin d = good();
    ck_assert_str_eq(check_msg(&d), "ok");
    ck_assert_str_eq(check_msg(NULL), "x.so: not a taskpool plugin "
                     "(taskpool_plugin() returned NULL)");
    d.magic = 1;
    ck_assert_str_eq(check_msg(&d), "x.so: not a taskpool plugin (ABI magic "
                     "0x00000001, expected 0x4c504b54)");
    char want[256];
    d = good();
    d.abi_major = 0;
    snprintf(want, sizeof want, "x.so: ABI mismatch: plugin was built for "
             "taskpool ABI 0.%d, this taskpool has ABI 1.%d; rebuild the "
             "plugin against this taskpool", TASKPOOL_ABI_MINOR,
             TASKPOOL_ABI_MINOR);
    ck_assert_str_eq(check_msg(&d), want);
    d = good();
    d.abi_minor = TASKPOOL_ABI_MINOR + 1;
    snprintf(want, sizeof want, "x.so: ABI mismatch: plugin was built for "
             "taskpool ABI 1.%d, this taskpool has ABI 1.%d; rebuild the "
             "plugin against this taskpool", TASKPOOL_ABI_MINOR + 1,
             TASKPOOL_ABI_MINOR);
    ck_assert_str_eq(check_msg(&d), want);
    d = good();
    d.size = 8;
    snprintf(want, sizeof want, "x.so: malformed descriptor: size 8, "
             "expected %zu for ABI 1.%d", sizeof(struct tp_plugin),
             TASKPOOL_ABI_MINOR);
    ck_assert_str_eq(check_msg(&d), want);
    d = good();
    d.tasks = NULL;
    ck_assert_str_eq(check_msg(&d), "x.so: malformed descriptor: name, "
                     "version or task table is NULL");
}
END_TEST

/* struct tp_plugin as ABI 1.0 laid it out (written out, not taken from
 * plugin.h, so that it stays 1.0 when the header gains a minor). */
struct desc_1_0 {
    uint32_t magic;
    uint16_t abi_major;
    uint16_t abi_minor;
    uint32_t size;
    const char *name;
    const char *version;
    const struct tp_task *tasks;
    int (*init)(tp_ctx *ctx, const char *arg);
    void (*fini)(void);
};

/* A descriptor of exactly n bytes, as a plugin of some minor has it (a
 * read past its end is a heap overflow for the sanitizers), beginning
 * with a 1.0 descriptor of that minor and size. */
static struct tp_plugin *built_as(uint16_t minor, size_t n)
{
    struct desc_1_0 d = {TASKPOOL_ABI_MAGIC, 1, minor, (uint32_t)n,
                         "old", "1", good_tasks, NULL, NULL};
    ck_assert_uint_ge(n, sizeof d);
    char *p = calloc(1, n);
    ck_assert_ptr_nonnull(p);
    memcpy(p, &d, sizeof d);
    return (struct tp_plugin *)(void *)p;
}

START_TEST(minor_sizes)
{
    char want[256];
    struct tp_plugin *d;
    if (sizeof(void *) == 8 && _Alignof(void *) == 8) /* LP64 */
        ck_assert_uint_eq(sizeof(struct desc_1_0), 56);
    /* a plugin built as 1.0, with 1.0's size, loads in this host (1.0 or
     * any later 1.x) */
    d = built_as(0, sizeof(struct desc_1_0));
    ck_assert_str_eq(check_msg(d), "ok");
    free(d);
    /* 1.0 with any other size is malformed: 1.0 had no more fields */
    const size_t other[] = {sizeof(struct desc_1_0) + 8,
                            sizeof(struct desc_1_0) + 1, 4096};
    for (size_t i = 0; i < sizeof other / sizeof other[0]; i++) {
        d = built_as(0, other[i]);
        snprintf(want, sizeof want, "x.so: malformed descriptor: size %zu, "
                 "expected %zu for ABI 1.0", other[i],
                 sizeof(struct desc_1_0));
        ck_assert_str_eq(check_msg(d), want);
        free(d);
    }
    struct tp_plugin s = good();
    s.abi_minor = 0;
    s.size = (uint32_t)sizeof(struct desc_1_0) - 8; /* shorter: no fini */
    snprintf(want, sizeof want, "x.so: malformed descriptor: size %zu, "
             "expected %zu for ABI 1.0", sizeof(struct desc_1_0) - 8,
             sizeof(struct desc_1_0));
    ck_assert_str_eq(check_msg(&s), want);
    /* this host's own minor with its size is accepted */
    s = good();
    ck_assert_str_eq(check_msg(&s), "ok");
    /* a newer minor is refused as before, whatever its size: with the
     * fields it appended, or with this host's size */
    for (unsigned k = 1; k <= 2; k++) {
        d = built_as((uint16_t)(TASKPOOL_ABI_MINOR + k),
                     sizeof(struct tp_plugin) + 8 * k);
        snprintf(want, sizeof want, "x.so: ABI mismatch: plugin was built "
                 "for taskpool ABI 1.%u, this taskpool has ABI 1.%u; rebuild "
                 "the plugin against this taskpool", TASKPOOL_ABI_MINOR + k,
                 TASKPOOL_ABI_MINOR);
        ck_assert_str_eq(check_msg(d), want);
        free(d);
        s = good();
        s.abi_minor = (uint16_t)(TASKPOOL_ABI_MINOR + k);
        ck_assert_str_eq(check_msg(&s), want);
    }
}
END_TEST

/* 1.1's flags: read from 1.1 on, never from a 1.0 descriptor (which has no
 * such field: the bytes after it are not the plugin's); a bit no minor
 * defines is refused. */
START_TEST(flags)
{
    char want[256];
    if (sizeof(void *) == 8 && _Alignof(void *) == 8) /* LP64 */
        ck_assert_uint_eq(sizeof(struct tp_plugin), 64);
    struct tp_plugin d = good();
    ck_assert_uint_eq(tp__loader_flags(&d), 0);
    d.flags = TP_PLUGIN_READS_FILES;
    ck_assert_str_eq(check_msg(&d), "ok");
    ck_assert_uint_eq(tp__loader_flags(&d), TP_PLUGIN_READS_FILES);
    d.flags = 0x6;
    snprintf(want, sizeof want, "x.so: malformed descriptor: unknown flags "
             "0x6 for ABI 1.%d", TASKPOOL_ABI_MINOR);
    ck_assert_str_eq(check_msg(&d), want);
    /* a 1.0 plugin: whatever follows its descriptor is not read */
    d = good();
    d.abi_minor = 0;
    d.size = (uint32_t)offsetof(struct tp_plugin, flags);
    d.flags = 0xff;
    ck_assert_str_eq(check_msg(&d), "ok");
    ck_assert_uint_eq(tp__loader_flags(&d), 0);
}
END_TEST

START_TEST(task_table_checks)
{
    struct tp_plugin d = good();
    static const struct tp_task none[] = {{NULL, NULL, NULL}};
    d.tasks = none;
    ck_assert_str_eq(check_msg(&d), "x.so: malformed descriptor: no tasks");
    static const struct tp_task badname[] = {{"echo", "", run_echo},
                                             {"a b", "", run_echo},
                                             {NULL, NULL, NULL}};
    d.tasks = badname;
    ck_assert_str_eq(check_msg(&d), "x.so: malformed descriptor: task 2 "
                     "('a b') has a bad name or no function");
    static const struct tp_task nofn[] = {{"echo", "", NULL},
                                          {NULL, NULL, NULL}};
    d.tasks = nofn;
    ck_assert_str_eq(check_msg(&d), "x.so: malformed descriptor: task 1 "
                     "('echo') has a bad name or no function");
}
END_TEST

START_TEST(names)
{
    ck_assert(tp__name_valid("seed", 4));
    ck_assert(tp__name_valid("a_b-C9", 6));
    ck_assert(!tp__name_valid("", 0));
    ck_assert(!tp__name_valid("a.b", 3));
    ck_assert(!tp__name_valid("a/b", 3));
    ck_assert(!tp__name_valid("a b", 3));
}
END_TEST

static const char *env(const char *name)
{
    const char *v = getenv(name);
    ck_assert_msg(v != NULL, "%s is not set (run through make check)", name);
    return v;
}

/* Find and load a plugin as the pool does: the host resolves the file,
 * a worker opens it. */
static int load(const char *name, const char *const *dirs,
                struct tp__loaded *l, char *err, size_t errlen)
{
    char *file;
    int32_t stage = 0;
    memset(l, 0, sizeof *l);
    if (tp__loader_resolve(name, dirs, &file, err, errlen) != 0)
        return -1;
    int r = tp__loader_open_now(file, l, &stage, err, errlen);
    free(file);
    return r;
}

START_TEST(open_seed_and_tasks)
{
    const char *dirs[] = {"/nonexistent", env("TASKPOOL_PLUGIN_PATH"), NULL};
    struct tp__loaded l;
    char err[1024], want[1024];
    ck_assert_int_eq(load("seed", dirs, &l, err, sizeof err), 0);
    ck_assert_str_eq(l.desc->name, "seed");
    snprintf(want, sizeof want, "%s/.libs/seed.so", dirs[1]);
    ck_assert_str_eq(l.file, want);
    const struct tp_task *t = tp__loader_task(&l, "double", err, sizeof err);
    ck_assert_ptr_nonnull(t);
    ck_assert_str_eq(t->name, "double");
    ck_assert_ptr_null(tp__loader_task(&l, "triple", err, sizeof err));
    ck_assert_str_eq(err, "plugin 'seed' has no task 'triple' (tasks: "
                     "double, print_number, hello)");
    tp__loader_close(&l);
    ck_assert_ptr_null(l.handle);
    /* the resolved file opens again by path, as a worker does */
    ck_assert_int_eq(load(want, NULL, &l, err, sizeof err), 0);
    tp__loader_close(&l);
}
END_TEST

static const char *open_err(const char *name, const char *dir)
{
    static char err[1024];
    const char *dirs[] = {dir, "/nowhere", NULL};
    struct tp__loaded l;
    ck_assert_int_eq(load(name, dirs, &l, err, sizeof err), -1);
    return err;
}

START_TEST(open_errors)
{
    const char *t = env("TP_TEST_PLUGINS");
    char want[1024];
    ck_assert_str_eq(open_err("nope", "/a"), "plugin 'nope' not found "
                     "(searched: /a, /nowhere)");
    /* (a name no directory above the build tree has) */
    ck_assert_str_eq(open_err("../no-such-tp-plugin", "/a"),
                     "cannot load ../no-such-tp-plugin: file not found");
    ck_assert_str_eq(open_err("a b", "/a"), "invalid plugin name 'a b' "
                     "(letters, digits, '_' and '-' only; a path must "
                     "contain '/')");
    snprintf(want, sizeof want, "%s/.libs/nodesc.so: not a taskpool plugin "
             "(no taskpool_plugin symbol; declare it with TASKPOOL_PLUGIN)", t);
    ck_assert_str_eq(open_err("nodesc", t), want);
    snprintf(want, sizeof want, "%s/.libs/badabi.so: ABI mismatch: plugin "
             "was built for taskpool ABI 2.0, this taskpool has ABI 1.%d; "
             "rebuild the plugin against this taskpool", t,
             TASKPOOL_ABI_MINOR);
    ck_assert_str_eq(open_err("badabi", t), want);
    snprintf(want, sizeof want, "%s/.libs/badmagic.so: not a taskpool plugin "
             "(ABI magic 0xdeadbeef, expected 0x4c504b54)", t);
    ck_assert_str_eq(open_err("badmagic", t), want);
}
END_TEST

START_TEST(open_older_minor)
{
    /* a plugin whose descriptor is the 1.0 layout opens and is used (in
     * a directory of its own: it is no broken plugin for --list to skip) */
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/abi", env("TP_TEST_PLUGINS"));
    const char *dirs[] = {dir, NULL};
    struct tp__loaded l;
    char err[1024];
    ck_assert_msg(load("oldminor", dirs, &l, err, sizeof err) == 0,
                  "%s", err);
    ck_assert_uint_eq(l.desc->abi_major, 1);
    ck_assert_uint_eq(l.desc->abi_minor, 0);
    ck_assert_uint_eq(l.desc->size, sizeof(struct desc_1_0));
    ck_assert_str_eq(l.desc->name, "oldminor");
    const struct tp_task *t = tp__loader_task(&l, "echo", err, sizeof err);
    ck_assert_ptr_nonnull(t);
    tp__loader_close(&l);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("loader");
    TCase *tc = tcase_create("stamp");
    tcase_add_test(tc, stamp_checks);
    tcase_add_test(tc, minor_sizes);
    tcase_add_test(tc, flags);
    tcase_add_test(tc, task_table_checks);
    tcase_add_test(tc, names);
    suite_add_tcase(s, tc);
    tc = tcase_create("open");
    tcase_add_test(tc, open_seed_and_tasks);
    tcase_add_test(tc, open_errors);
    tcase_add_test(tc, open_older_minor);
    suite_add_tcase(s, tc);
    return ck_main(s);
}
