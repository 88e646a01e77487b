/* FILE.held (core/cli/held.c): results kept until written, read back by a
 * resume in input order; space given back as records are done; a damaged
 * record ends what is read back. */
#include <check.h>

#include "ck-main.h"
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/held.h"

static char dir[64], log_path[96], held_path[128];

static void setup(void)
{
    snprintf(dir, sizeof dir, "/tmp/test-held.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(log_path, sizeof log_path, "%s/run.log", dir);
    snprintf(held_path, sizeof held_path, "%s.held", log_path);
}

static void teardown(void)
{
    unlink(held_path);
    rmdir(dir);
}

static void open_held(struct tp__held *h, int keep)
{
    char err[256];
    ck_assert_int_eq(tp__held_open(h, log_path, err, sizeof err), 0);
    ck_assert_int_eq(tp__held_begin(h, keep, err, sizeof err), 0);
}

static uint64_t put(struct tp__held *h, uint64_t index, const char *in,
                    const char *out, enum tp_status st)
{
    struct tp_result r = {.index = index, .status = st, .input = in,
                          .input_len = strlen(in), .data = out,
                          .len = strlen(out), .worker = 4242,
                          .attempts = 2, .usec = 7, .start_ns = 99};
    uint64_t seq;
    ck_assert_int_eq(tp__held_put(h, &r, 1000 + index, &seq), 0);
    return seq;
}

static int want_all(void *arg, const struct tp__held_rec *r)
{
    (void)arg;
    return r->digest == 1000 + r->index;
}

static void scan(struct tp__held *h)
{
    char err[256];
    ck_assert_int_eq(tp__held_scan(h, want_all, NULL, err, sizeof err), 0);
}

START_TEST(kept_then_written_out_in_input_order)
{
    struct tp__held h;
    open_held(&h, 0);
    put(&h, 2, "in2", "out2", TP_RESULT_OK);
    put(&h, 0, "in0", "boom", TP_RESULT_CRASHED);
    put(&h, 1, "in1", "", TP_RESULT_OK);
    tp__held_close(&h); /* three needed: the file stays */
    ck_assert_int_eq(access(held_path, F_OK), 0);

    open_held(&h, 1);
    scan(&h);
    const char *want_in[] = {"in0", "in1", "in2"};
    const char *want_out[] = {"boom", "", "out2"};
    for (uint64_t i = 0; i < 3; i++) {
        struct tp_result r;
        ck_assert_uint_eq(tp__held_next(&h), i);
        ck_assert_int_eq(tp__held_load(&h, &r), 0);
        ck_assert_uint_eq(r.index, i);
        ck_assert_int_eq(r.status, i ? TP_RESULT_OK : TP_RESULT_CRASHED);
        ck_assert_mem_eq(r.input, want_in[i], 3);
        ck_assert_uint_eq(r.len, strlen(want_out[i]));
        ck_assert_mem_eq(r.data, want_out[i], r.len);
        ck_assert_int_eq(r.worker, 4242);
        ck_assert_uint_eq(r.attempts, 2);
        ck_assert_uint_eq(r.start_ns, 99);
        tp__held_loaded(&h);
    }
    ck_assert_uint_eq(tp__held_next(&h), UINT64_MAX);
    tp__held_close(&h); /* nothing needed: removed */
    ck_assert_int_eq(access(held_path, F_OK), -1);
}
END_TEST

START_TEST(last_record_of_an_index_wins)
{
    struct tp__held h;
    open_held(&h, 0);
    put(&h, 5, "x", "first", TP_RESULT_OK);
    put(&h, 5, "x", "second", TP_RESULT_OK);
    tp__held_close(&h);
    open_held(&h, 1);
    scan(&h);
    struct tp_result r;
    ck_assert_int_eq(tp__held_load(&h, &r), 0);
    ck_assert_uint_eq(r.len, 6);
    ck_assert_mem_eq(r.data, "second", 6);
    tp__held_loaded(&h);
    ck_assert_uint_eq(tp__held_next(&h), UINT64_MAX);
    tp__held_close(&h);
}
END_TEST

static off_t file_size(void)
{
    struct stat st;
    ck_assert_int_eq(stat(held_path, &st), 0);
    return st.st_size;
}

START_TEST(space_given_back)
{
    struct tp__held h;
    static char big[4096];
    memset(big, 'b', sizeof big - 1);
    open_held(&h, 0);
    /* all done: the file is emptied once it is worth it */
    uint64_t seqs[600];
    for (int i = 0; i < 600; i++)
        seqs[i] = put(&h, (uint64_t)i, "in", big, TP_RESULT_OK);
    for (int i = 0; i < 600; i++)
        tp__held_done(&h, seqs[i]);
    ck_assert_int_eq(file_size(), 4096);
    /* the first half done: the header moves past it, its blocks go */
    for (int i = 0; i < 600; i++)
        seqs[i] = put(&h, (uint64_t)i, "in", big, TP_RESULT_OK);
    for (int i = 0; i < 300; i++)
        tp__held_done(&h, seqs[i]);
    struct stat st;
    ck_assert_int_eq(stat(held_path, &st), 0);
    ck_assert_int_gt(st.st_size, 600 * 4096);
    ck_assert_int_lt((long long)st.st_blocks * 512, 400 * 4096);
    tp__held_close(&h);
    /* what is read back starts at the header's record: it moved (in
     * 1 MiB steps) past most of the records done */
    open_held(&h, 1);
    scan(&h);
    ck_assert_uint_gt(tp__held_next(&h), 200);
    ck_assert_uint_le(tp__held_next(&h), 300);
    tp__held_close(&h);
}
END_TEST

START_TEST(damage_ends_the_read_back)
{
    struct tp__held h;
    open_held(&h, 0);
    put(&h, 0, "in0", "out0", TP_RESULT_OK);
    put(&h, 1, "in1", "out1", TP_RESULT_OK);
    put(&h, 2, "in2", "out2", TP_RESULT_OK);
    tp__held_close(&h);
    /* the second record's output: 4096 + 87 + 80 + 3 bytes in */
    int fd = open(held_path, O_WRONLY);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(pwrite(fd, "X", 1, 4096 + 87 + 80 + 3), 1);
    close(fd);
    open_held(&h, 1);
    scan(&h);
    ck_assert_uint_eq(tp__held_next(&h), 0);
    tp__held_loaded(&h);
    ck_assert_uint_eq(tp__held_next(&h), UINT64_MAX);
    ck_assert_int_eq(file_size(), 4096 + 87);
    tp__held_close(&h);
}
END_TEST

START_TEST(foreign_file_refused)
{
    int fd = open(held_path, O_WRONLY | O_CREAT, 0644);
    ck_assert_int_eq(write(fd, "garbage!garbage!", 16), 16);
    close(fd);
    struct tp__held h;
    char err[256];
    ck_assert_int_eq(tp__held_open(&h, log_path, err, sizeof err), 0);
    ck_assert_int_eq(tp__held_begin(&h, 1, err, sizeof err), -1);
    char want[256];
    snprintf(want, sizeof want, "%s: not a file of held results of this "
             "taskpool: cannot resume from it", held_path);
    ck_assert_str_eq(err, want);
    tp__held_close(&h);
    ck_assert_int_eq(access(held_path, F_OK), 0); /* left as it was */
    /* a new log does not empty it either */
    ck_assert_int_eq(tp__held_open(&h, log_path, err, sizeof err), 0);
    ck_assert_int_eq(tp__held_begin(&h, 0, err, sizeof err), -1);
    snprintf(want, sizeof want, "%s: not a file of held results of this "
             "taskpool: remove it, or give another joblog", held_path);
    ck_assert_str_eq(err, want);
    tp__held_close(&h);
    char b[17] = "";
    fd = open(held_path, O_RDONLY);
    ck_assert_int_eq(read(fd, b, 16), 16);
    close(fd);
    ck_assert_str_eq(b, "garbage!garbage!");
}
END_TEST

START_TEST(link_and_second_run_refused)
{
    char target[160], err[256], want[256];
    snprintf(target, sizeof target, "%s/victim", dir);
    int fd = open(target, O_WRONLY | O_CREAT, 0644);
    ck_assert_int_eq(write(fd, "secret", 6), 6);
    close(fd);
    ck_assert_int_eq(symlink(target, held_path), 0);
    struct tp__held h, h2;
    ck_assert_int_eq(tp__held_open(&h, log_path, err, sizeof err), -1);
    snprintf(want, sizeof want, "%s: a symbolic link (taskpool keeps the "
             "joblog's held results there): remove it", held_path);
    ck_assert_str_eq(err, want);
    unlink(held_path);
    unlink(target);
    /* another run's: locked */
    open_held(&h, 0);
    ck_assert_int_eq(tp__held_open(&h2, log_path, err, sizeof err), -1);
    snprintf(want, sizeof want, "%s: in use by another taskpool run",
             held_path);
    ck_assert_str_eq(err, want);
    tp__held_close(&h);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("held");
    TCase *tc = tcase_create("held");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, kept_then_written_out_in_input_order);
    tcase_add_test(tc, last_record_of_an_index_wins);
    tcase_add_test(tc, space_given_back);
    tcase_add_test(tc, damage_ends_the_read_back);
    tcase_add_test(tc, foreign_file_refused);
    tcase_add_test(tc, link_and_second_run_refused);
    suite_add_tcase(s, tc);
    return ck_main(s);
}
