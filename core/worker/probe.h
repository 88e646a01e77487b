/* A look at a plugin from a process of its own (probe.c). */
#ifndef TP_PROBE_H
#define TP_PROBE_H

#include <stddef.h>

#include "taskpool/plugin.h"

struct tp_probe {
    struct tp_plugin desc; /* name, version and tasks (run is NULL) */
    struct tp_task *tasks; /* NULL-terminated */
    char *buf;             /* what the strings point into */
};

/* Load the shared object file in a held child and describe it, within
 * timeout seconds.  0, or -1 with a one-line message naming the file and
 * what happened (its loader error, "constructor crashed: killed by signal
 * 11 (...)", "did not answer within 10 s (stuck in a constructor)").
 * Release *out with tp_probe_free. */
int tp_probe(const char *file, double timeout, struct tp_probe *out,
             char *err, size_t errlen);
void tp_probe_free(struct tp_probe *p);

/* Read a probe's answer, "OK\0name\0version\0(task\0summary\0)*" (len
 * bytes at b, written by plugin code: anything), into out, whose strings
 * then point into b.  0, or -1 if it is malformed or out of memory. */
int tp_probe_parse(struct tp_probe *out, char *b, size_t len);

#endif
