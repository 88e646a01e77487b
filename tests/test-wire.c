/* The wire codec: headers, record walking, limits, and blocking I/O that
 * survives byte-by-byte delivery, EINTR and EOF in the middle. */
#include <check.h>

#include "ck-main.h"
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/wire.h"

START_TEST(header_round_trip)
{
    unsigned char raw[TP_WIRE_HDR];
    struct tp__frame f;
    char err[128];
    tp__wire_put_hdr(raw, TP_FRAME_RESULT, 3, TP_REQ_TIMES, 24);
    ck_assert_int_eq(tp__wire_get_hdr(raw, &f, err, sizeof err), 0);
    ck_assert_uint_eq(f.type, TP_FRAME_RESULT);
    ck_assert_uint_eq(f.count, 3);
    ck_assert_uint_eq(f.flags, TP_REQ_TIMES);
    ck_assert_uint_eq(f.len, 24);
}
END_TEST

START_TEST(header_rejects)
{
    unsigned char raw[TP_WIRE_HDR];
    struct tp__frame f;
    char err[128];
    memcpy(raw, "this is not a frame header at all.....", TP_WIRE_HDR);
    ck_assert_int_eq(tp__wire_get_hdr(raw, &f, err, sizeof err), -1);
    ck_assert_str_eq(err, "bad frame magic 0x73696874");

    tp__wire_put_hdr(raw, 9, 0, 0, 0);
    ck_assert_int_eq(tp__wire_get_hdr(raw, &f, err, sizeof err), -1);
    ck_assert_str_eq(err, "unknown frame type 9");

    tp__wire_put_hdr(raw, TP_FRAME_REQUEST, 1, 0, TP_WIRE_MAX_BODY + 1);
    ck_assert_int_eq(tp__wire_get_hdr(raw, &f, err, sizeof err), -1);
    ck_assert_str_eq(err, "frame of 268435457 bytes exceeds the limit of "
                          "268435456 bytes");

    tp__wire_put_hdr(raw, TP_FRAME_REQUEST, TP_WIRE_MAX_BODY / 4, 0,
                    TP_WIRE_MAX_BODY);
    ck_assert_int_eq(tp__wire_get_hdr(raw, &f, err, sizeof err), 0);
    tp__wire_put_hdr(raw, TP_FRAME_RESULT, 4, 0, 31);
    ck_assert_int_eq(tp__wire_get_hdr(raw, &f, err, sizeof err), -1);
    ck_assert_str_eq(err, "frame claims 4 records in 31 bytes");

    /* READY's count is a remote worker's number of workers; no body */
    tp__wire_put_hdr(raw, TP_FRAME_READY, 4, 0, 0);
    ck_assert_int_eq(tp__wire_get_hdr(raw, &f, err, sizeof err), 0);
    ck_assert_uint_eq(f.count, 4);
    tp__wire_put_hdr(raw, TP_FRAME_READY, 0, 0, 1);
    ck_assert_int_eq(tp__wire_get_hdr(raw, &f, err, sizeof err), -1);
    ck_assert_str_eq(err, "READY frame with a body of 1 bytes");

    /* LIMIT (host to node agent): a time limit in ms, no body */
    tp__wire_put_hdr(raw, TP_FRAME_LIMIT, 1500, 0, 0);
    ck_assert_int_eq(tp__wire_get_hdr(raw, &f, err, sizeof err), 0);
    ck_assert_uint_eq(f.count, 1500);
    tp__wire_put_hdr(raw, TP_FRAME_LIMIT, 1500, 0, 8);
    ck_assert_int_eq(tp__wire_get_hdr(raw, &f, err, sizeof err), -1);
    ck_assert_str_eq(err, "LIMIT frame with a body of 8 bytes");
    /* ALIVE (node agent to host): nothing but itself */
    tp__wire_put_hdr(raw, TP_FRAME_ALIVE, 0, 0, 0);
    ck_assert_int_eq(tp__wire_get_hdr(raw, &f, err, sizeof err), 0);
    tp__wire_put_hdr(raw, TP_FRAME_ALIVE, 0, 0, 1);
    ck_assert_int_eq(tp__wire_get_hdr(raw, &f, err, sizeof err), -1);
    ck_assert_str_eq(err, "ALIVE frame with a body of 1 bytes");
}
END_TEST

START_TEST(records_walk_and_bounds)
{
    char body[32];
    size_t pos = 0;
    const char *rec;
    uint32_t len;
    tp__put32(body, 3);
    memcpy(body + 4, "a\0b", 3);
    tp__put32(body + 7, 0);
    ck_assert_int_eq(tp__wire_next_req(body, 11, &pos, &rec, &len), 1);
    ck_assert_uint_eq(len, 3);
    ck_assert_int_eq(memcmp(rec, "a\0b", 3), 0);
    ck_assert_int_eq(tp__wire_next_req(body, 11, &pos, &rec, &len), 1);
    ck_assert_uint_eq(len, 0);
    ck_assert_int_eq(tp__wire_next_req(body, 11, &pos, &rec, &len), 0);
    /* a length that runs past the body, and a truncated length */
    pos = 0;
    ck_assert_int_eq(tp__wire_next_req(body, 6, &pos, &rec, &len), -1);
    pos = 0;
    ck_assert_int_eq(tp__wire_next_req(body, 2, &pos, &rec, &len), -1);

    struct tp__wire_res r;
    ck_assert_uint_eq(tp__wire_put_res(body, 2, TP_WS_ERROR, 77,
                                      1234567890123ull, 1), TP_WIRE_RES_MAX);
    memcpy(body + TP_WIRE_RES_MAX, "no", 2);
    pos = 0;
    ck_assert_int_eq(tp__wire_next_res(body, 22, &pos, &r, 1), 1);
    ck_assert_uint_eq(r.status, TP_WS_ERROR);
    ck_assert_uint_eq(r.usec, 77);
    ck_assert(r.start_ns == 1234567890123ull);
    ck_assert_uint_eq(r.len, 2);
    ck_assert_int_eq(memcmp(r.rec, "no", 2), 0);
    ck_assert_int_eq(tp__wire_next_res(body, 22, &pos, &r, 1), 0);
    pos = 0;
    ck_assert_int_eq(tp__wire_next_res(body, 21, &pos, &r, 1), -1);
    pos = 0;
    ck_assert_int_eq(tp__wire_next_res(body, 19, &pos, &r, 1), -1);
    /* untimed records: 8-byte headers, no times */
    ck_assert_uint_eq(tp__wire_put_res(body, 3, TP_WS_OK, 77, 99, 0),
                      TP_WIRE_RES_MIN);
    memcpy(body + TP_WIRE_RES_MIN, "yes", 3);
    pos = 0;
    ck_assert_int_eq(tp__wire_next_res(body, 11, &pos, &r, 0), 1);
    ck_assert_uint_eq(r.usec, 0);
    ck_assert(r.start_ns == 0);
    ck_assert_int_eq(memcmp(r.rec, "yes", 3), 0);
    ck_assert_uint_eq(pos, 11);
    pos = 0;
    ck_assert_int_eq(tp__wire_next_res(body, 10, &pos, &r, 0), -1);
}
END_TEST

/* A FAILS entry: index, text offset, message length, message. */
static size_t put_fail(char *p, uint32_t index, uint32_t off, const char *msg)
{
    uint32_t n = (uint32_t)strlen(msg);
    tp__put32(p, index);
    tp__put32(p + 4, off);
    tp__put32(p + 8, n);
    memcpy(p + TP_WIRE_FAIL_REC, msg, n);
    return TP_WIRE_FAIL_REC + n;
}

/* Each FAILS entry is checked against its TEXT frame and the one before:
 * a worker cannot make the host read outside the text or go back in it. */
START_TEST(fails_entries_checked)
{
    char body[64];
    size_t n = put_fail(body, 0, 0, "bad");
    n += put_fail(body + n, 2, 4, "");
    struct tp__wire_fail f, prev;
    size_t pos = 0;
    ck_assert_int_eq(tp__wire_get_fail(body, n, &pos, NULL, 3, 4, 0, &f), 0);
    ck_assert_uint_eq(f.index, 0);
    ck_assert_uint_eq(f.len, 3);
    ck_assert_int_eq(memcmp(f.msg, "bad", 3), 0);
    prev = f;
    ck_assert_int_eq(tp__wire_get_fail(body, n, &pos, &prev, 3, 4, 0, &f), 0);
    ck_assert_uint_eq(f.index, 2);
    ck_assert_uint_eq(f.text_off, 4);
    ck_assert_uint_eq(pos, n);
    /* past the body; a message that runs off its end */
    ck_assert_int_eq(tp__wire_get_fail(body, n, &pos, &prev, 3, 4, 0, &f), -1);
    pos = 0;
    ck_assert_int_eq(tp__wire_get_fail(body, 14, &pos, NULL, 3, 4, 0, &f), -1);
    ck_assert_uint_eq(pos, 0);
    /* an index beyond the TEXT frame's count, an offset beyond its text */
    ck_assert_int_eq(tp__wire_get_fail(body, n, &pos, NULL, 0, 4, 0, &f), -1);
    n = put_fail(body, 1, 5, "x");
    ck_assert_int_eq(tp__wire_get_fail(body, n, &pos, NULL, 3, 4, 0, &f), -1);
    /* indexes must rise, offsets must not go back */
    prev = (struct tp__wire_fail){.index = 1, .text_off = 2, .msg = body};
    n = put_fail(body, 1, 3, "x");
    ck_assert_int_eq(tp__wire_get_fail(body, n, &pos, &prev, 3, 4, 0, &f), -1);
    n = put_fail(body, 2, 1, "x");
    ck_assert_int_eq(tp__wire_get_fail(body, n, &pos, &prev, 3, 4, 0, &f), -1);
    n = put_fail(body, 2, 2, "x");
    ck_assert_int_eq(tp__wire_get_fail(body, n, &pos, &prev, 3, 4, 0, &f), 0);
    /* a remote worker's entry: status, pid and attempts follow; a status
     * that is no failure's, or no attempt, is malformed */
    uint32_t v[7] = {1, 0, 1, 2 /* crashed */, 4242, 2, 0};
    for (int i = 0; i < 6; i++)
        tp__put32(body + 4 * i, v[i]);
    body[24] = 'x';
    pos = 0;
    ck_assert_int_eq(tp__wire_get_fail(body, 25, &pos, NULL, 3, 4, 1, &f), 0);
    ck_assert_uint_eq(f.status, 2);
    ck_assert_uint_eq(f.pid, 4242);
    ck_assert_uint_eq(f.attempts, 2);
    ck_assert_uint_eq(pos, 25);
    tp__put32(body + 12, 0); /* ok */
    pos = 0;
    ck_assert_int_eq(tp__wire_get_fail(body, 25, &pos, NULL, 3, 4, 1, &f), -1);
    tp__put32(body + 12, 1);
    tp__put32(body + 20, 0);
    ck_assert_int_eq(tp__wire_get_fail(body, 25, &pos, NULL, 3, 4, 1, &f), -1);
}
END_TEST

static int count_remote(void *arg, uint32_t k, const struct tp__wire_remote *r)
{
    uint32_t *seen = arg;
    seen[k] = r->pid * 10 + r->attempts;
    return 0;
}

/* A remote worker's records carry pid and attempts; the body is rewritten
 * as a local worker's, which tp__wire_next_res then reads. */
START_TEST(remote_results_rewritten)
{
    char body[128];
    size_t n = 0;
    const char *out[2] = {"ab", "c"};
    uint32_t st[2] = {0, 2};
    for (int i = 0; i < 2; i++) {
        n += tp__wire_put_res(body + n, (uint32_t)strlen(out[i]), st[i], 7,
                             99, 1);
        tp__put32(body + n, 40 + (uint32_t)i);
        tp__put32(body + n + 4, 1 + (uint32_t)i);
        memcpy(body + n + 8, out[i], strlen(out[i]));
        n += 8 + strlen(out[i]);
    }
    char copy[128];
    memcpy(copy, body, n);
    uint32_t seen[2] = {0, 0};
    long long len = tp__wire_take_remote(body, n, 1, 2, count_remote, seen);
    ck_assert_int_eq(len, (long long)(n - 16));
    ck_assert_uint_eq(seen[0], 401);
    ck_assert_uint_eq(seen[1], 412);
    size_t pos = 0;
    struct tp__wire_res r;
    ck_assert_int_eq(tp__wire_next_res(body, (size_t)len, &pos, &r, 1), 1);
    ck_assert_int_eq(memcmp(r.rec, "ab", 2), 0);
    ck_assert_uint_eq(r.usec, 7);
    ck_assert_int_eq(tp__wire_next_res(body, (size_t)len, &pos, &r, 1), 1);
    ck_assert_uint_eq(r.status, 2);
    ck_assert_int_eq(tp__wire_next_res(body, (size_t)len, &pos, &r, 1), 0);
    /* one record fewer than declared, bytes left over, a status past
     * protocol, no attempt */
    memcpy(body, copy, n);
    ck_assert_int_eq(tp__wire_take_remote(body, n, 1, 3, NULL, NULL), -1);
    memcpy(body, copy, n);
    ck_assert_int_eq(tp__wire_take_remote(body, n, 1, 1, NULL, NULL), -1);
    memcpy(body, copy, n);
    tp__put32(body + 4, 5);
    ck_assert_int_eq(tp__wire_take_remote(body, n, 1, 2, NULL, NULL), -1);
    memcpy(body, copy, n);
    tp__put32(body + 24, 0);
    ck_assert_int_eq(tp__wire_take_remote(body, n, 1, 2, NULL, NULL), -1);
}
END_TEST

/* A child writes a frame one byte at a time; the reader gets it whole. */
START_TEST(read_byte_by_byte)
{
    int sv[2];
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    unsigned char frame[TP_WIRE_HDR + 5];
    tp__wire_put_hdr(frame, TP_FRAME_FATAL, 0, 0, 5);
    memcpy(frame + TP_WIRE_HDR, "hello", 5);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        for (size_t i = 0; i < sizeof frame; i++) {
            if (tp__write_all(sv[1], frame + i, 1) != 0)
                _exit(1);
            usleep(200);
        }
        _exit(0);
    }
    close(sv[1]);
    unsigned char hdr[TP_WIRE_HDR];
    char body[5], err[64];
    struct tp__frame f;
    ck_assert_int_eq(tp__read_all(sv[0], hdr, sizeof hdr), 1);
    ck_assert_int_eq(tp__wire_get_hdr(hdr, &f, err, sizeof err), 0);
    ck_assert_uint_eq(f.len, 5);
    ck_assert_int_eq(tp__read_all(sv[0], body, 5), 1);
    ck_assert_int_eq(memcmp(body, "hello", 5), 0);
    ck_assert_int_eq(tp__read_all(sv[0], body, 1), 0); /* clean EOF */
    int st;
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    ck_assert_int_eq(st, 0);
    close(sv[0]);
}
END_TEST

START_TEST(read_eof_in_the_middle)
{
    int sv[2];
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    ck_assert_int_eq(tp__write_all(sv[1], "abc", 3), 0);
    close(sv[1]);
    char buf[8];
    errno = 0;
    ck_assert_int_eq(tp__read_all(sv[0], buf, 8), -1);
    ck_assert_int_eq(errno, EPIPE);
    close(sv[0]);
}
END_TEST

static volatile sig_atomic_t alarms;
static void on_alarm(int sig)
{
    (void)sig;
    alarms++;
}

/* Interrupted by a signal (no SA_RESTART) while blocked: the data still
 * arrives whole, in both directions, through a socket far smaller than
 * it (short writes).  vec: the writer uses tp__writev_all on pieces of
 * uneven sizes, one empty, else tp__write_all. */
static void transfer(int vec)
{
    struct sigaction sa = {0};
    sa.sa_handler = on_alarm;
    ck_assert_int_eq(sigaction(SIGALRM, &sa, NULL), 0);
    int sv[2];
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    size_t n = 4 << 20, a = 16, b = (1 << 20) + 7;
    char *src = malloc(n), *dst = malloc(n);
    ck_assert_ptr_nonnull(src);
    ck_assert_ptr_nonnull(dst);
    for (size_t i = 0; i < n; i++)
        src[i] = (char)(i * 7 + 3);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        close(sv[0]);
        struct itimerval it = {{0, 1000}, {0, 1000}};
        setitimer(ITIMER_REAL, &it, NULL);
        usleep(50000); /* the reader blocks, and is interrupted, first */
        struct iovec v[4] = {{src, a}, {src + a, 0}, {src + a, b},
                             {src + a + b, n - a - b}};
        int r = vec ? tp__writev_all(sv[1], v, 4) : tp__write_all(sv[1], src, n);
        _exit(r == 0 ? 0 : 1);
    }
    close(sv[1]);
    struct itimerval it = {{0, 1000}, {0, 1000}};
    ck_assert_int_eq(setitimer(ITIMER_REAL, &it, NULL), 0);
    ck_assert_int_eq(tp__read_all(sv[0], dst, n), 1);
    struct itimerval off = {{0, 0}, {0, 0}};
    setitimer(ITIMER_REAL, &off, NULL);
    ck_assert_int_eq(memcmp(src, dst, n), 0);
    char extra;
    ck_assert_int_eq(tp__read_all(sv[0], &extra, 1), 0); /* nothing more */
    ck_assert_int_gt(alarms, 0);
    int st;
    while (waitpid(pid, &st, 0) < 0)
        ck_assert_int_eq(errno, EINTR);
    ck_assert_int_eq(st, 0);
    free(src);
    free(dst);
    close(sv[0]);
}

START_TEST(eintr_and_short_writes) { transfer(0); }
END_TEST

START_TEST(writev_pieces_whole) { transfer(1); }
END_TEST

int main(void)
{
    Suite *s = suite_create("wire");
    TCase *tc = tcase_create("codec");
    tcase_add_test(tc, header_round_trip);
    tcase_add_test(tc, header_rejects);
    tcase_add_test(tc, records_walk_and_bounds);
    tcase_add_test(tc, fails_entries_checked);
    tcase_add_test(tc, remote_results_rewritten);
    suite_add_tcase(s, tc);
    tc = tcase_create("io");
    tcase_add_test(tc, read_byte_by_byte);
    tcase_add_test(tc, read_eof_in_the_middle);
    tcase_add_test(tc, eintr_and_short_writes);
    tcase_add_test(tc, writev_pieces_whole);
    suite_add_tcase(s, tc);
    return ck_main(s);
}
