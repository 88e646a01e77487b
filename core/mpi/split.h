/* taskpool --mpi: become one rank's worker process (split.c). */
#ifndef TP_MPI_SPLIT_H
#define TP_MPI_SPLIT_H

#include <stddef.h>

struct tp__mpi_role {
    int rank, size;
    int *fds, nfds;  /* rank 0: a socket per other rank; else one */
    char **names;    /* "rank N (HOST)" for every rank */
    char *blob;
    char version[64]; /* the MPI library, e.g. "Open MPI v4.1.4" */
};

/* This process's rank as the launcher's environment says, or -1. */
int tp__mpi_rank_env(void);

/* The MPI bridge program, or NULL if built without MPI. */
const char *tp__mpi_bridge_path(void);

/* Split this process: it execs the MPI bridge, and a child forked before
 * that returns here with its role.  0, or -1 with a message in err (not
 * started by an MPI launcher, built without MPI, the bridge failed). */
int tp__mpi_start(struct tp__mpi_role *role, char *err, size_t errlen);

/* Rank 0, when it runs beside mpirun (its grandparent): write results to
 * mpirun's own standard output, the same open file, instead of through
 * Open MPI's forwarding (about 77 MB/s in 4 KiB pieces).  0, or -1 when it
 * cannot (another node, no permission): then fd 1 is left as it was. */
int tp__mpi_direct_stdout(void);

/* Remove the MPI launcher's variables (OMPI_*, PMIX_*, ...) from the
 * environment: the workers a node agent forks are not MPI processes, and
 * a kernel that runs an MPI program of its own must not look like one. */
void tp__mpi_scrub_env(void);

/* Close the sockets and free. */
void tp__mpi_free(struct tp__mpi_role *role);

#endif
