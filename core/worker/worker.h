/* The worker process: loads the plugin itself and serves requests. */
#ifndef TP_WORKER_H
#define TP_WORKER_H

#include <sys/types.h>

#include "transport/transport.h"

/* How far a worker (or a probe) got, in struct tp__progress's stage: what
 * it was doing if it died before it was ready. */
enum tp__stage {
    TP_STAGE_SETUP = 0, /* its own set-up */
    TP_STAGE_LOAD,      /* loading the plugin: its constructors run */
    TP_STAGE_DESCRIBE,  /* calling taskpool_plugin() */
    TP_STAGE_CHECK,     /* checking the descriptor and its task table */
    TP_STAGE_INIT,      /* the plugin's init hook */
    TP_STAGE_CONFINE,   /* entering its limits and sandbox */
    TP_STAGE_READY,
};

/* "a constructor", "init", ...: where a process stuck at that stage is. */
const char *tp__stage_name(int stage);

/* "FILE: constructor crashed: HOW" and the like, for a process that died
 * (HOW: tp__describe_wait's words) at that stage. */
void tp__stage_failure(int stage, const char *file, const char *how,
                      char *buf, size_t len);

/* A fresh process for plugin code: only stdio and the socket (as fd 3,
 * close-on-exec), default signals, its own process group, death with its
 * parent (whose pid is parent), stdin from /dev/null, stdout to stderr. */
void tp__worker_setup(int fd, pid_t parent);

/* Runs in the keeper's child: fd is its end of the socket, parent the
 * keeper's pid, prog its progress counter, arg the tp__worker_spec.  Never
 * returns. */
void tp__worker_held(int fd, pid_t parent, struct tp__progress *prog,
                    const void *arg);

/* Our pid as the host (and its /proc) sees it: the first of NSpid (we may
 * be inside a PID namespace of our own), else getpid(). */
pid_t tp__outer_pid(void);

#endif
