/* taskpool --mpi, this side: split the rank mpirun started into the MPI
 * bridge (taskpool-mpi, exec'd by this process, so it keeps the rank's
 * pid) and the taskpool that works (a child forked before MPI exists in
 * the process).  The child learns its rank and gets its sockets from the
 * bridge (mpi_role.h). */
#include "mpi/split.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/paths.h"
#include "mpi/role.h"

/* Was this process started by an MPI launcher? */
static int launched(void)
{
    static const char *const vars[] = {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK",
                                       "PMI_RANK", "PMI_SIZE"};
    for (size_t i = 0; i < sizeof vars / sizeof *vars; i++)
        if (getenv(vars[i]))
            return 1;
    return 0;
}

int tp__mpi_rank_env(void)
{
    static const char *const vars[] = {"OMPI_COMM_WORLD_RANK", "PMIX_RANK",
                                       "PMI_RANK"};
    for (size_t i = 0; i < sizeof vars / sizeof *vars; i++) {
        const char *v = getenv(vars[i]);
        if (v && *v)
            return atoi(v);
    }
    return -1;
}

const char *tp__mpi_bridge_path(void)
{
    const char *env = getenv("TASKPOOL_MPI_BRIDGE");
    if (env && *env)
        return env;
    return TP_MPI_BRIDGE[0] ? TP_MPI_BRIDGE : NULL;
}

static int read_full(int fd, void *p, size_t n)
{
    char *c = p;
    while (n) {
        ssize_t r = read(fd, c, n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        c += r;
        n -= (size_t)r;
    }
    return 0;
}

static int recv_fds(int ctl, int *fds, int n)
{
    for (int i = 0; i < n;) {
        char byte, cbuf[CMSG_SPACE(TP_MPI_FDS_PER_MSG * sizeof(int))];
        struct iovec iov = {&byte, 1};
        struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1,
                           .msg_control = cbuf, .msg_controllen = sizeof cbuf};
        ssize_t r;
        while ((r = recvmsg(ctl, &m, MSG_CMSG_CLOEXEC)) < 0 && errno == EINTR)
            ;
        struct cmsghdr *c = CMSG_FIRSTHDR(&m);
        if (r != 1 || !c || c->cmsg_type != SCM_RIGHTS)
            return -1;
        int k = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
        if (k < 1 || k > n - i)
            return -1;
        memcpy(fds + i, CMSG_DATA(c), (size_t)k * sizeof(int));
        i += k;
    }
    return 0;
}

/* In the child: wait for the bridge's hello.  0 or -1. */
static int get_role(int ctl, struct tp__mpi_role *r)
{
    struct tp__mpi_hello h;
    if (read_full(ctl, &h, sizeof h) != 0 || h.magic != TP_MPI_MAGIC ||
        h.size < 1 || h.rank < 0 || h.rank >= h.size || h.nfds < 0 ||
        h.nfds >= h.size || h.names_len > (1u << 24))
        return -1;
    r->rank = h.rank;
    r->size = h.size;
    r->nfds = h.nfds;
    h.mpi_version[sizeof h.mpi_version - 1] = '\0';
    snprintf(r->version, sizeof r->version, "%s", h.mpi_version);
    r->blob = malloc(h.names_len + 1);
    r->names = calloc((size_t)h.size + 1, sizeof *r->names);
    r->fds = calloc((size_t)h.nfds + 1, sizeof *r->fds);
    if (!r->blob || !r->names || !r->fds ||
        read_full(ctl, r->blob, h.names_len) != 0)
        return -1;
    r->blob[h.names_len] = '\0';
    char *s = r->blob;
    for (int i = 0; i < h.size; i++) {
        if (s >= r->blob + h.names_len)
            return -1;
        r->names[i] = s;
        s += strlen(s) + 1;
    }
    return recv_fds(ctl, r->fds, h.nfds);
}

int tp__mpi_start(struct tp__mpi_role *role, char *err, size_t errlen)
{
    memset(role, 0, sizeof *role);
    const char *bridge = tp__mpi_bridge_path();
    if (!bridge) {
        snprintf(err, errlen, "--mpi: this taskpool was built without MPI "
                 "(configure --with-mpi, with Open MPI's libopenmpi-dev)");
        return -1;
    }
    if (!launched() && getenv("SLURM_PROCID")) {
        snprintf(err, errlen, "--mpi: started by srun without PMIx; run it "
                 "as: srun --mpi=pmix -n 3 taskpool --mpi [OPTION]... "
                 "PLUGIN:TASK");
        return -1;
    }
    if (!launched()) {
        snprintf(err, errlen, "--mpi: not started by an MPI launcher; run "
                 "it as: mpirun -n 3 taskpool --mpi [OPTION]... PLUGIN:TASK");
        return -1;
    }
    if (access(bridge, X_OK) != 0) {
        snprintf(err, errlen, "--mpi: %s: %s", bridge, strerror(errno));
        return -1;
    }
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
        snprintf(err, errlen, "--mpi: socketpair: %s", strerror(errno));
        return -1;
    }
    pid_t rank_pid = getpid(), child = fork();
    if (child < 0) {
        snprintf(err, errlen, "--mpi: fork: %s", strerror(errno));
        return -1;
    }
    if (child > 0) { /* this process becomes the rank's bridge */
        char fd[16], pid[16];
        close(sv[1]);
        if (fcntl(sv[0], F_SETFD, 0) != 0)
            _exit(3);
        snprintf(fd, sizeof fd, "%d", sv[0]);
        snprintf(pid, sizeof pid, "%ld", (long)child);
        execl(bridge, bridge, fd, pid, (char *)NULL);
        fprintf(stderr, "taskpool: --mpi: %s: %s\n", bridge, strerror(errno));
        kill(child, SIGTERM);
        _exit(2);
    }
    close(sv[0]);
    /* the bridge holds the rank: if it goes, so does this process */
    if (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0 || getppid() != rank_pid)
        _exit(3);
    int r = get_role(sv[1], role);
    close(sv[1]);
    if (r != 0)
        snprintf(err, errlen, "--mpi: no word from the MPI bridge (did "
                 "MPI_Init fail?)");
    return r;
}

/* The parent of pid, or -1. */
static pid_t parent_of(pid_t pid)
{
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
    FILE *f = fopen(path, "re");
    if (!f)
        return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *e = strrchr(buf, ')'); /* the name may hold anything */
    long pp;
    return e && sscanf(e + 1, " %*c %ld", &pp) == 1 ? (pid_t)pp : -1;
}

static int is_launcher(pid_t pid)
{
    static const char *const names[] = {"mpirun", "mpiexec", "orterun",
                                        "prterun"};
    char path[64], comm[64] = "";
    snprintf(path, sizeof path, "/proc/%ld/comm", (long)pid);
    FILE *f = fopen(path, "re");
    if (!f)
        return 0;
    if (!fgets(comm, sizeof comm, f))
        comm[0] = '\0';
    fclose(f);
    comm[strcspn(comm, "\n")] = '\0';
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        if (!strcmp(comm, names[i]))
            return 1;
    return 0;
}

int tp__mpi_direct_stdout(void)
{
    pid_t launcher = parent_of(getppid());
    if (launcher <= 1 || !is_launcher(launcher))
        return -1;
    int pidfd = (int)syscall(SYS_pidfd_open, launcher, 0);
    if (pidfd < 0)
        return -1;
    int fd = (int)syscall(SYS_pidfd_getfd, pidfd, 1, 0);
    close(pidfd);
    if (fd < 0)
        return -1;
    int r = dup2(fd, 1) == 1 ? 0 : -1;
    close(fd);
    return r;
}

void tp__mpi_scrub_env(void)
{
    /* (mpirun also sets HFI_NO_BACKTRACE and IPATH_NO_BACKTRACE for
     * Intel's PSM libraries) */
    static const char *const prefixes[] = {
        "OMPI_", "PMIX_", "PMI_", "OPAL_", "ORTE_", "PRTE_",
        "HFI_NO_BACKTRACE=", "IPATH_NO_BACKTRACE="};
    extern char **environ;
    for (size_t i = 0; environ && environ[i];) {
        size_t n = strcspn(environ[i], "=");
        int mpi = 0;
        for (size_t k = 0; k < sizeof prefixes / sizeof *prefixes; k++)
            mpi |= !strncmp(environ[i], prefixes[k], strlen(prefixes[k]));
        char name[256];
        if (!mpi || n >= sizeof name) {
            i++;
            continue;
        }
        memcpy(name, environ[i], n);
        name[n] = '\0';
        if (unsetenv(name) != 0) /* (environ shrank if it worked) */
            i++;
    }
}

void tp__mpi_free(struct tp__mpi_role *role)
{
    for (int i = 0; role->fds && i < role->nfds; i++)
        close(role->fds[i]);
    free(role->fds);
    free(role->names);
    free(role->blob);
    memset(role, 0, sizeof *role);
}
