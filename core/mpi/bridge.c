/* taskpool-mpi: the MPI side of taskpool --mpi, one per rank.
 *
 * mpirun starts `taskpool --mpi ...`; before anything touches MPI that
 * process forks the taskpool that does the work (the host on rank 0, a
 * node agent elsewhere) and execs this bridge, which is then the MPI rank.
 * So no process forks after MPI_Init, and no kernel ever runs in a process
 * that called it.  The bridge only moves bytes: between a socket per peer
 * (shared with its taskpool) and MPI messages to that peer's bridge, with
 * back-pressure (one message in flight each way per peer), and says when
 * a side has ended.  It waits without spinning: it sleeps on its sockets,
 * and MPI (which has no descriptor to sleep on) is polled 100 us after a
 * message last came or went, then at intervals that double up to 2 ms
 * while none does.  Socket traffic wakes it at once but does not make it
 * poll MPI faster: a rank's answers come a request's work later, and
 * polling for them every 100 us cost the workers a tenth of the machine
 * in wakeups (bench/README.md).
 *
 *   taskpool-mpi CTL_FD CHILD_PID   (run by taskpool only)
 */
#include <errno.h>
#include <fcntl.h>
#include <mpi.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/fileio.h"
#include "mpi/role.h"

#define CAP (256u << 10) /* bytes per message */
#define TAG_DATA 1
#define TAG_EOF 2
#define NAME_LEN 320
#define SLEEP_MIN_NS 100000
#define SLEEP_MAX_NS 2000000
#define END_WAIT_NS 5000000000ull
#define SOCK 1 /* what a pump moved: bytes on a socket, */
#define MSG 2  /* or an MPI message (received, or a send completed) */
#define SENT 4 /* and a message was sent */

struct peer {
    int rank, fd;
    /* socket -> MPI */
    char *sbuf;
    MPI_Request sreq;
    int sending, rd_eof, eof_sent, readable;
    /* MPI -> socket */
    char *rbuf;
    MPI_Request rreq;
    int posted, got_eof, writable;
    size_t rlen, roff;
};

#if defined(__SANITIZE_ADDRESS__)
/* Open MPI keeps allocations past MPI_Finalize by design: LeakSanitizer
 * must not turn them into this bridge's exit status */
const char *__asan_default_options(void);
const char *__asan_default_options(void) { return "detect_leaks=0"; }
#endif

static volatile sig_atomic_t pending_sig;

static uint64_t now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static void on_signal(int sig) { pending_sig = sig; }

static void die(const char *what)
{
    fprintf(stderr, "taskpool-mpi: %s: %s\n", what, strerror(errno));
    MPI_Abort(MPI_COMM_WORLD, 3);
    exit(3);
}

static int send_fds(int ctl, const int *fds, int n)
{
    for (int i = 0; i < n; i += TP_MPI_FDS_PER_MSG) {
        int k = n - i < TP_MPI_FDS_PER_MSG ? n - i : TP_MPI_FDS_PER_MSG;
        char byte = 0, cbuf[CMSG_SPACE(TP_MPI_FDS_PER_MSG * sizeof(int))];
        struct iovec iov = {&byte, 1};
        struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1,
                           .msg_control = cbuf,
                           .msg_controllen = CMSG_SPACE(k * sizeof(int))};
        struct cmsghdr *c = CMSG_FIRSTHDR(&m);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(k * sizeof(int));
        memcpy(CMSG_DATA(c), fds + i, k * sizeof(int));
        ssize_t r;
        while ((r = sendmsg(ctl, &m, MSG_NOSIGNAL)) < 0 && errno == EINTR)
            ;
        if (r != 1)
            return -1;
    }
    return 0;
}

/* Every rank's name, "rank N (HOST)", NAME_LEN bytes each. */
static char *gather_names(int rank, int size)
{
    char host[MPI_MAX_PROCESSOR_NAME], mine[NAME_LEN];
    int len = 0;
    if (MPI_Get_processor_name(host, &len) != MPI_SUCCESS)
        snprintf(host, sizeof host, "?");
    snprintf(mine, sizeof mine, "rank %d (%s)", rank, host);
    char *all = calloc((size_t)size, NAME_LEN);
    if (!all || MPI_Allgather(mine, NAME_LEN, MPI_CHAR, all, NAME_LEN,
                              MPI_CHAR, MPI_COMM_WORLD) != MPI_SUCCESS)
        die("gathering host names");
    return all;
}

/* Tell the child who it is and give it its sockets; keep our ends. */
static int hello(int ctl, int rank, int size, struct peer *peers, int n)
{
    char *names = gather_names(rank, size);
    size_t nl = 0;
    for (int i = 0; i < size; i++)
        nl += strlen(names + (size_t)i * NAME_LEN) + 1;
    char *blob = malloc(nl + 1), *d = blob;
    int *theirs = malloc(sizeof(int) * (size_t)(n ? n : 1));
    if (!blob || !theirs)
        die("memory");
    for (int i = 0; i < size; i++) {
        size_t l = strlen(names + (size_t)i * NAME_LEN) + 1;
        memcpy(d, names + (size_t)i * NAME_LEN, l);
        d += l;
    }
    for (int i = 0; i < n; i++) {
        int sv[2];
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
            die("socketpair");
        peers[i].fd = sv[0];
        theirs[i] = sv[1];
        fcntl(sv[0], F_SETFL, fcntl(sv[0], F_GETFL) | O_NONBLOCK);
    }
    struct tp__mpi_hello h = {TP_MPI_MAGIC, rank, size, n, (uint32_t)nl, ""};
    int vl = 0;
    MPI_Get_library_version(h.mpi_version, &vl);
    h.mpi_version[sizeof h.mpi_version - 1] = '\0';
    char *nlp = strchr(h.mpi_version, ',');
    if (nlp)
        *nlp = '\0';
    int r = tp__file_write(ctl, &h, sizeof h) == 0 &&
                    tp__file_write(ctl, blob, nl) == 0 &&
                    send_fds(ctl, theirs, n) == 0
                ? 0
                : -1;
    for (int i = 0; i < n; i++)
        close(theirs[i]);
    free(theirs);
    free(blob);
    free(names);
    return r;
}

/* Socket -> MPI.  Returns what moved (SOCK, MSG). */
static int pump_out(struct peer *p)
{
    int moved = 0, done = 0;
    if (p->sending) {
        MPI_Test(&p->sreq, &done, MPI_STATUS_IGNORE);
        if (!done)
            return 0;
        p->sending = 0;
        moved = MSG;
        if (p->rd_eof)
            p->eof_sent = 1;
    }
    if (p->rd_eof || !p->readable)
        return moved;
    ssize_t n = read(p->fd, p->sbuf, CAP);
    if (n < 0 && errno == EAGAIN)
        p->readable = 0; /* until poll says otherwise */
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return moved;
    if (n <= 0) { /* its end (or an error): the peer hears of it */
        p->rd_eof = 1;
        MPI_Isend(NULL, 0, MPI_BYTE, p->rank, TAG_EOF, MPI_COMM_WORLD,
                  &p->sreq);
    } else {
        MPI_Isend(p->sbuf, (int)n, MPI_BYTE, p->rank, TAG_DATA,
                  MPI_COMM_WORLD, &p->sreq);
    }
    /* a small message is gone at once: nothing to poll for */
    MPI_Test(&p->sreq, &done, MPI_STATUS_IGNORE);
    p->sending = !done;
    p->eof_sent = done && p->rd_eof;
    return moved | SOCK | SENT;
}

/* MPI -> socket.  Returns what moved (SOCK, MSG). */
static int pump_in(struct peer *p)
{
    int moved = 0;
    while (!p->got_eof) {
        if (p->roff < p->rlen) {
            if (!p->writable)
                return moved;
            ssize_t w = send(p->fd, p->rbuf + p->roff, p->rlen - p->roff,
                             MSG_NOSIGNAL | MSG_DONTWAIT);
            if (w < 0 && errno == EAGAIN)
                p->writable = 0; /* until poll says otherwise */
            if (w < 0 && (errno == EAGAIN || errno == EINTR))
                return moved;
            /* the child is gone: what it was sent goes nowhere */
            p->roff = w < 0 ? p->rlen : p->roff + (size_t)w;
            moved |= SOCK;
            continue;
        }
        if (!p->posted) {
            MPI_Irecv(p->rbuf, CAP, MPI_BYTE, p->rank, MPI_ANY_TAG,
                      MPI_COMM_WORLD, &p->rreq);
            p->posted = 1;
        }
        int done = 0, count = 0;
        MPI_Status st;
        MPI_Test(&p->rreq, &done, &st);
        if (!done)
            return moved;
        p->posted = 0;
        moved |= MSG;
        if (st.MPI_TAG == TAG_EOF) {
            p->got_eof = 1;
            shutdown(p->fd, SHUT_WR);
            return moved;
        }
        MPI_Get_count(&st, MPI_BYTE, &count);
        p->rlen = (size_t)count;
        p->roff = 0;
        p->writable = 1;
    }
    return moved;
}

/* What the bridge watches besides its sockets: its child, and the
 * launcher that started it (mpirun, orted, slurmstepd). */
struct watch {
    pid_t child;
    int pidfd, exited, gone, status;
    int lfd, orphan; /* the launcher's pidfd (or -1); it is gone */
    uint64_t look_at, launcher_at, kill_at;
};

/* Sleep up to ns, or until a socket can move (marked), the child exits or
 * the launcher is gone (noted in w). */
static void sleep_on(struct peer *peers, int n, struct watch *w, long ns)
{
    struct pollfd f[n + 2];
    int k = 0;
    for (int i = 0; i < n; i++) {
        short ev = (short)((!peers[i].sending && !peers[i].rd_eof ? POLLIN
                                                                   : 0) |
                           (peers[i].roff < peers[i].rlen ? POLLOUT : 0));
        f[k++] = (struct pollfd){ev ? peers[i].fd : -1, ev, 0};
    }
    f[k++] = (struct pollfd){w->gone ? -1 : w->pidfd, POLLIN, 0};
    f[k++] = (struct pollfd){w->orphan ? -1 : w->lfd, POLLIN, 0};
    struct timespec t = {0, ns};
    if (ppoll(f, (nfds_t)k, &t, NULL) <= 0)
        return;
    for (int i = 0; i < n; i++) {
        short ev = f[i].revents;
        peers[i].readable |= (ev & (POLLIN | POLLHUP | POLLERR)) != 0;
        peers[i].writable |= (ev & (POLLOUT | POLLHUP | POLLERR)) != 0;
    }
    w->exited |= f[n].revents != 0;
    if (f[n + 1].revents)
        w->launcher_at = 0; /* look now */
}

static int child_status(pid_t child, int *status)
{
    int st;
    pid_t r = waitpid(child, &st, WNOHANG);
    if (r != child)
        return 0;
    *status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    return 1;
}

/* The launcher gone (a second Ctrl-C, or timeout(1)'s signals, make
 * mpirun exit at once): the job is over, and rank 0, which writes to the
 * launcher's stdout, must stop writing now, not when Open MPI's own
 * cleanup gets to it.  The child gets SIGTERM, and SIGKILL a second later.
 * Looked at when poll says so, or every 20 ms while bytes move. */
static void watch_launcher(struct watch *w, uint64_t now)
{
    if (w->lfd < 0 || w->orphan || now < w->launcher_at)
        return;
    w->launcher_at = now + 20000000u;
    struct pollfd f = {w->lfd, POLLIN, 0};
    if (poll(&f, 1, 0) <= 0)
        return;
    w->orphan = 1;
    kill(w->child, SIGTERM);
    w->kill_at = now + 1000000000u;
}

/* Move bytes until the child has exited and every peer has ended both
 * ways; forward signals to the child meanwhile.  Its exit status.  Rank 0
 * whose host is done gives the others END_WAIT_NS to end; a rank still
 * open then is frozen (stopped, or its node hangs), and only MPI_Abort,
 * which has mpirun kill every rank, ends the job.  Without a launcher the
 * loop ends when the child has. */
static int bridge(struct peer *peers, int n, struct watch *w, int rank)
{
    long ns = SLEEP_MIN_NS;
    uint64_t gone_at = 0, last_in = 0;
    w->exited = w->pidfd < 0; /* without a pidfd, ask now and then */
    for (;;) {
        if (pending_sig) {
            kill(w->child, pending_sig);
            pending_sig = 0;
        }
        int moved = 0, open = 0;
        for (int i = 0; i < n; i++) {
            moved |= pump_out(&peers[i]);
            moved |= pump_in(&peers[i]);
            open += !(peers[i].eof_sent && peers[i].got_eof);
        }
        uint64_t now = now_ns();
        watch_launcher(w, now);
        /* waitpid when the pidfd said so (or every 50 ms without one,
         * every second with one): not a system call per round */
        if (!w->gone && (w->exited || now >= w->look_at)) {
            w->look_at = now + (w->pidfd < 0 ? 50000000u : 1000000000u);
            if ((w->gone = child_status(w->child, &w->status)))
                moved = 1;
        }
        if (w->gone && (!open || w->orphan))
            break;
        if (w->orphan && now >= w->kill_at) {
            kill(w->child, SIGKILL);
            w->kill_at = UINT64_MAX;
        }
        if (!w->gone)
            gone_at = now;
        else if (rank == 0 && now - gone_at > END_WAIT_NS)
            MPI_Abort(MPI_COMM_WORLD, w->status ? w->status : 3);
        /* a message came: more may follow; one went while messages flow
         * (a reply within 2 ms of the last): its answer may come soon */
        if (moved & MSG)
            ns = SLEEP_MIN_NS, last_in = now;
        else if (moved & SENT && now - last_in < 2000000u)
            ns = SLEEP_MIN_NS;
        if (moved)
            continue;
        sleep_on(peers, n, w, ns);
        ns = ns * 2 > SLEEP_MAX_NS ? SLEEP_MAX_NS : ns * 2;
    }
    return w->status;
}

/* Rank 0's status, on every rank (polled like the rest: no spinning).
 * When only rank 0 exits non-zero, mpirun takes the others, which are
 * exiting anyway, for failed and spends 1-2 s killing them; when all
 * exit with the same status the job ends at once.  A launcher that goes
 * meanwhile leaves the bridge orphaned (noted in w): no rank 0 will come. */
static int share_status(int status, struct watch *w)
{
    MPI_Request r;
    int done = 0;
    long ns = SLEEP_MIN_NS;
    if (MPI_Ibcast(&status, 1, MPI_INT, 0, MPI_COMM_WORLD, &r) != MPI_SUCCESS)
        return status;
    while (MPI_Test(&r, &done, MPI_STATUS_IGNORE) == MPI_SUCCESS && !done) {
        struct pollfd f = {w->lfd, POLLIN, 0};
        struct timespec t = {0, ns};
        if (ppoll(&f, 1, &t, NULL) > 0) {
            w->orphan = 1;
            break;
        }
        ns = ns * 2 > SLEEP_MAX_NS ? SLEEP_MAX_NS : ns * 2;
    }
    return status;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "taskpool-mpi: run by taskpool --mpi only\n");
        return 2;
    }
    int ctl = atoi(argv[1]);
    pid_t child = (pid_t)atol(argv[2]);
    pid_t launcher = getppid();
    struct watch w = {.child = child,
                      .pidfd = (int)syscall(SYS_pidfd_open, child, 0),
                      .lfd = launcher > 1 ? (int)syscall(SYS_pidfd_open,
                                                         launcher, 0)
                                          : -1};
    struct sigaction sa = {0};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    /* this loop sleeps by itself: Open MPI's sched_yield in every idle
     * MPI_Test (its default when ranks outnumber cores) only costs */
    setenv("OMPI_MCA_mpi_yield_when_idle", "0", 0);
    int provided;
    if (MPI_Init_thread(&argc, &argv, MPI_THREAD_SINGLE, &provided) !=
        MPI_SUCCESS) {
        fprintf(stderr, "taskpool-mpi: MPI_Init failed\n");
        kill(child, SIGTERM);
        return 3;
    }
    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    int n = size < 2 ? 0 : rank == 0 ? size - 1 : 1;
    struct peer *peers = calloc((size_t)(n ? n : 1), sizeof *peers);
    if (!peers)
        die("memory");
    for (int i = 0; i < n; i++) {
        peers[i].rank = rank == 0 ? i + 1 : 0;
        peers[i].readable = peers[i].writable = 1;
        peers[i].sbuf = malloc(CAP);
        peers[i].rbuf = malloc(CAP);
        if (!peers[i].sbuf || !peers[i].rbuf)
            die("memory");
    }
    if (hello(ctl, rank, size, peers, n) != 0)
        kill(child, SIGTERM); /* it could not be told: it must not wait */
    close(ctl);
    int status = bridge(peers, n, &w, rank);
    /* rank 0 says how the run went (a lost rank included); mpirun
     * returns the first non-zero status, which must be that one */
    if (!w.orphan)
        status = share_status(rank == 0 ? status : 0, &w);
    if (w.orphan) /* no launcher: MPI_Finalize would wait for it */
        _exit(status);
    MPI_Finalize();
    return status;
}
