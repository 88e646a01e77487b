/* The loader: ABI stamp checks on descriptors, and every way opening a
 * plugin can fail, against the build tree's plugins. */
#include <check.h>

#include "ck-main.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "loader.h"

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
                              "t", "1", good_tasks, NULL, NULL};
}

static const char *check_msg(const struct tp_plugin *d)
{
    static char err[512];
    err[0] = 0;
    if (tp_loader_check(d, "x.so", err, sizeof err) == 0)
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
    d = good();
    d.abi_major = 0;
    ck_assert_str_eq(check_msg(&d), "x.so: ABI mismatch: plugin was built for "
                     "taskpool ABI 0.0, this taskpool has ABI 1.0; rebuild "
                     "the plugin against this taskpool");
    d = good();
    d.abi_minor = TASKPOOL_ABI_MINOR + 1;
    ck_assert_str_eq(check_msg(&d), "x.so: ABI mismatch: plugin was built for "
                     "taskpool ABI 1.1, this taskpool has ABI 1.0; rebuild "
                     "the plugin against this taskpool");
    d = good();
    d.size = 8;
    char want[128];
    snprintf(want, sizeof want, "x.so: malformed descriptor: size 8, "
             "expected %zu for ABI 1.0", sizeof(struct tp_plugin));
    ck_assert_str_eq(check_msg(&d), want);
    d = good();
    d.tasks = NULL;
    ck_assert_str_eq(check_msg(&d), "x.so: malformed descriptor: name, "
                     "version or task table is NULL");
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
    ck_assert(tp_name_valid("seed", 4));
    ck_assert(tp_name_valid("a_b-C9", 6));
    ck_assert(!tp_name_valid("", 0));
    ck_assert(!tp_name_valid("a.b", 3));
    ck_assert(!tp_name_valid("a/b", 3));
    ck_assert(!tp_name_valid("a b", 3));
}
END_TEST

static const char *env(const char *name)
{
    const char *v = getenv(name);
    ck_assert_msg(v != NULL, "%s is not set (run through make check)", name);
    return v;
}

START_TEST(open_seed_and_tasks)
{
    const char *dirs[] = {"/nonexistent", env("TASKPOOL_PLUGIN_PATH"), NULL};
    struct tp_loaded l;
    char err[1024], want[1024];
    ck_assert_int_eq(tp_loader_open("seed", dirs, &l, err, sizeof err), 0);
    ck_assert_str_eq(l.desc->name, "seed");
    snprintf(want, sizeof want, "%s/.libs/seed.so", dirs[1]);
    ck_assert_str_eq(l.file, want);
    const struct tp_task *t = tp_loader_task(&l, "double", err, sizeof err);
    ck_assert_ptr_nonnull(t);
    ck_assert_str_eq(t->name, "double");
    ck_assert_ptr_null(tp_loader_task(&l, "triple", err, sizeof err));
    ck_assert_str_eq(err, "plugin 'seed' has no task 'triple' (tasks: "
                     "double, print_number, hello)");
    tp_loader_close(&l);
    ck_assert_ptr_null(l.handle);
    /* the resolved file opens again by path, as a worker does */
    ck_assert_int_eq(tp_loader_open(want, NULL, &l, err, sizeof err), 0);
    tp_loader_close(&l);
}
END_TEST

static const char *open_err(const char *name, const char *dir)
{
    static char err[1024];
    const char *dirs[] = {dir, "/nowhere", NULL};
    struct tp_loaded l;
    ck_assert_int_eq(tp_loader_open(name, dirs, &l, err, sizeof err), -1);
    return err;
}

START_TEST(open_errors)
{
    const char *t = env("TP_TEST_PLUGINS");
    char want[1024];
    ck_assert_str_eq(open_err("nope", "/a"), "plugin 'nope' not found "
                     "(searched: /a, /nowhere)");
    ck_assert_str_eq(open_err("../x", "/a"), "cannot load ../x: file not "
                     "found");
    ck_assert_str_eq(open_err("a b", "/a"), "invalid plugin name 'a b' "
                     "(letters, digits, '_' and '-' only; a path must "
                     "contain '/')");
    snprintf(want, sizeof want, "%s/.libs/nodesc.so: not a taskpool plugin "
             "(no taskpool_plugin symbol; declare it with TASKPOOL_PLUGIN)", t);
    ck_assert_str_eq(open_err("nodesc", t), want);
    snprintf(want, sizeof want, "%s/.libs/badabi.so: ABI mismatch: plugin "
             "was built for taskpool ABI 2.0, this taskpool has ABI 1.0; "
             "rebuild the plugin against this taskpool", t);
    ck_assert_str_eq(open_err("badabi", t), want);
    snprintf(want, sizeof want, "%s/.libs/badmagic.so: not a taskpool plugin "
             "(ABI magic 0xdeadbeef, expected 0x4c504b54)", t);
    ck_assert_str_eq(open_err("badmagic", t), want);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("loader");
    TCase *tc = tcase_create("stamp");
    tcase_add_test(tc, stamp_checks);
    tcase_add_test(tc, task_table_checks);
    tcase_add_test(tc, names);
    suite_add_tcase(s, tc);
    tc = tcase_create("open");
    tcase_add_test(tc, open_seed_and_tasks);
    tcase_add_test(tc, open_errors);
    suite_add_tcase(s, tc);
    return ck_main(s);
}
