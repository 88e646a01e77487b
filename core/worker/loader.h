/* Plugin name -> file -> loaded, checked descriptor.  The only code that
 * calls libltdl. */
#ifndef TP_LOADER_H
#define TP_LOADER_H

#include <stddef.h>
#include <stdint.h>

#include "taskpool/plugin.h"

struct tp__loaded {
    void *handle;                 /* lt_dlhandle */
    const struct tp_plugin *desc; /* valid while loaded */
    char *file;                   /* the shared object opened (malloc'd) */
};

/* A plugin name is [A-Za-z0-9_-]+; a spec with '/' is a path. */
int tp__name_valid(const char *s, size_t n);

/* Check a descriptor's stamp and table; file names it in the message.
 * Returns 0, or -1 with err set. */
int tp__loader_check(const struct tp_plugin *d, const char *file, char *err,
                    size_t errlen);

/* The descriptor's flags (TP_PLUGIN_*): 0 for a plugin older than 1.1,
 * which has no such field. */
uint32_t tp__loader_flags(const struct tp_plugin *d);

/* The shared object of plugin name (searching dirs, NULL-terminated, in
 * order: NAME.la, then NAME.so) or of a path (with '/', taken as libltdl
 * takes it), without opening it: the host never runs plugin code.  *file is
 * malloc'd.  Returns 0, or -1 with a one-line message; -2 when the system
 * kept it from looking (no descriptor left: EMFILE, ENFILE). */
int tp__loader_resolve(const char *name, const char *const *dirs, char **file,
                      char *err, size_t errlen);

/* Open the shared object that tp__loader_resolve found (in a worker or a
 * probe, never in the host): bound now, so a missing symbol is named;
 * stamp and table checked; *stage (enum tp__stage) says how far it got,
 * should the plugin's code kill the process.  0 or -1 with a one-line
 * message.  The caller never closes it. */
int tp__loader_open_now(const char *file, struct tp__loaded *out,
                       int32_t *stage, char *err, size_t errlen);

/* The task called name, or NULL with a message listing the tasks. */
const struct tp_task *tp__loader_task(const struct tp__loaded *l,
                                     const char *name, char *err,
                                     size_t errlen);

void tp__loader_close(struct tp__loaded *l);

/* Call cb with the name of each plugin found in dirs and its directory
 * (first of a name wins; files in a directory in name order), without
 * opening any.  Stops and returns cb's value if it is non-zero. */
int tp__loader_each(const char *const *dirs,
                   int (*cb)(void *arg, const char *name, const char *dir),
                   void *arg);

#endif
