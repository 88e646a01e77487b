/* taskpool --mpi: what the MPI bridge (taskpool-mpi, the process mpirun
 * started, which exec'd it) tells the taskpool process it forked before
 * MPI_Init, over their control socket:
 *   struct tp__mpi_hello
 *   names_len bytes: the name of each rank, "rank N (HOST)", NUL-ended,
 *                    ranks 0 to size-1
 *   then nfds descriptors, in messages of one byte each carrying up to
 *   TP_MPI_FDS_PER_MSG of them (SCM_RIGHTS): rank 0 gets a socket per
 *   other rank (1 to size-1), the others one socket to rank 0.
 * Each socket carries taskpool's worker protocol (wire.h) between the host
 * and a node agent; the bridges move its bytes over MPI, untouched. */
#ifndef TP_MPI_ROLE_H
#define TP_MPI_ROLE_H

#include <stdint.h>

#define TP_MPI_MAGIC 0x4d505054u /* "TPPM" */
#define TP_MPI_FDS_PER_MSG 128

struct tp__mpi_hello {
    uint32_t magic;
    int32_t rank, size, nfds;
    uint32_t names_len;
    char mpi_version[64]; /* the library's, for messages */
};

#endif
