/* A look at a plugin from a process of its own (probe.c). */
#ifndef TP_PROBE_H
#define TP_PROBE_H

#include <stddef.h>

#include "taskpool/plugin.h"

struct tp__probe {
    struct tp_plugin desc; /* name, version and tasks (run is NULL) */
    struct tp_task *tasks; /* NULL-terminated */
    char *buf;             /* what the strings point into */
};

/* Load the shared object file in a held child and describe it, within
 * timeout seconds.  0, or -1 with a one-line message naming the file and
 * what happened (its loader error, "constructor crashed: killed by signal
 * 11 (...)", "did not answer within 10 s (stuck in a constructor)").
 * Release *out with tp__probe_free. */
int tp__probe(const char *file, double timeout, struct tp__probe *out,
             char *err, size_t errlen);
void tp__probe_free(struct tp__probe *p);

/* Read a probe's answer, "OK\0name\0version\0(task\0summary\0)*" (len
 * bytes at b, written by plugin code: anything), into out, whose strings
 * then point into b.  0, or -1 if it is malformed or out of memory. */
int tp__probe_parse(struct tp__probe *out, char *b, size_t len);

#endif
