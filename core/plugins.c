/* Plugin specs and the search path, for the pool and for --list. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "loader.h"
#include "pool_impl.h"

const char *tp_plugin_dir(void) { return TP_PLUGINDIR; }

/* dirs = path..., installed dir, NULL.  Caller frees the array only. */
static const char **search_dirs(const char *const *path)
{
    size_t n = 0;
    while (path && path[n])
        n++;
    const char **d = calloc(n + 2, sizeof *d);
    if (!d)
        return NULL;
    for (size_t i = 0; i < n; i++)
        d[i] = path[i];
    d[n] = TP_PLUGINDIR;
    return d;
}

int tp_load_spec(tp_pool *p, const char *spec, char *err, size_t errlen)
{
    const char *colon = strrchr(spec, ':');
    if (!colon || colon == spec || !colon[1]) {
        snprintf(err, errlen, "expected PLUGIN:TASK, got '%s'", spec);
        return TP_ERR_USAGE;
    }
    if (!tp_name_valid(colon + 1, strlen(colon + 1))) {
        snprintf(err, errlen, "invalid task name '%s'", colon + 1);
        return TP_ERR_USAGE;
    }
    char *plugin = strndup(spec, (size_t)(colon - spec));
    const char **dirs = search_dirs(p->o.plugin_path);
    p->task = strdup(colon + 1);
    if (!plugin || !dirs || !p->task) {
        free(plugin);
        free(dirs);
        snprintf(err, errlen, "out of memory");
        return TP_ERR_SYSTEM;
    }
    /* the host only finds the file: the workers load and check it */
    int r = tp_loader_resolve(plugin, dirs, &p->file, err, errlen);
    free(plugin);
    free(dirs);
    return r != 0 ? TP_ERR_LOAD : 0;
}

struct each_ctx {
    int (*cb)(void *, const struct tp_plugin_info *);
    void *arg;
};

static int each_cb(void *arg, const char *name, const struct tp_loaded *l)
{
    struct each_ctx *e = arg;
    struct tp_plugin_info info = {name, l->desc, l->file};
    return e->cb(e->arg, &info);
}

int tp_plugins_each(const char *const *path, const char *only,
                    int (*cb)(void *arg, const struct tp_plugin_info *info),
                    void (*bad)(void *arg, const char *msg), void *arg,
                    char *err, size_t errlen)
{
    const char **dirs = search_dirs(path);
    if (!dirs) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    int r;
    if (only) {
        struct tp_loaded l;
        r = tp_loader_open(only, dirs, &l, err, errlen);
        if (r == 0) {
            const char *slash = strrchr(only, '/');
            struct tp_plugin_info info = {slash ? l.desc->name : only, l.desc,
                                          l.file};
            r = cb(arg, &info);
            tp_loader_close(&l);
        }
    } else {
        struct each_ctx e = {cb, arg};
        r = tp_loader_each(dirs, each_cb, bad, &e);
    }
    free(dirs);
    return r;
}
