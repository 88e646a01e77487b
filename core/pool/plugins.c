/* Plugin specs and the search path, for the pool and for --list. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/paths.h"
#include "worker/loader.h"
#include "worker/probe.h"
#include "pool/pool_impl.h"

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

int tp__load_spec(tp_pool *p, const char *spec, char *err, size_t errlen)
{
    const char *colon = strrchr(spec, ':');
    if (!colon || colon == spec || !colon[1]) {
        snprintf(err, errlen, "expected PLUGIN:TASK, got '%s'", spec);
        return TP_ERR_USAGE;
    }
    if (!tp__name_valid(colon + 1, strlen(colon + 1))) {
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
    /* the host only finds the file: the workers load and check it; far
     * pools find it on their own machines */
    int r = 0;
    if (p->tr->far_pool)
        p->file = plugin, plugin = NULL;
    else
        r = tp__loader_resolve(plugin, dirs, &p->file, err, errlen);
    free(plugin);
    free(dirs);
    return r == -2 ? TP_ERR_SYSTEM : r != 0 ? TP_ERR_LOAD : 0;
}

#define PROBE_TIMEOUT_S 30.0

struct each_ctx {
    int (*cb)(void *, const struct tp_plugin_info *);
    void (*bad)(void *arg, const char *msg);
    void *arg;
    double timeout;
};

/* Probe file and hand it to cb (or its trouble to bad: returns 0 then,
 * -1 when there is no bad to tell). */
static int look(struct each_ctx *e, const char *name, const char *file,
                char *err, size_t errlen)
{
    struct tp__probe pr;
    if (tp__probe(file, e->timeout, &pr, err, errlen) != 0) {
        if (!e->bad)
            return -1;
        e->bad(e->arg, err);
        return 0;
    }
    struct tp_plugin_info info = {sizeof info, name ? name : pr.desc.name,
                                  &pr.desc, file};
    int r = e->cb(e->arg, &info);
    tp__probe_free(&pr);
    return r;
}

static int each_cb(void *arg, const char *name, const char *dir)
{
    struct each_ctx *e = arg;
    const char *one[] = {dir, NULL};
    char err[4096], *file;
    if (tp__loader_resolve(name, one, &file, err, sizeof err) != 0) {
        if (e->bad)
            e->bad(e->arg, err);
        return 0;
    }
    int r = look(e, name, file, err, sizeof err);
    free(file);
    return r;
}

int tp_plugins_each(const char *const *path, const char *only,
                    double timeout,
                    int (*cb)(void *arg, const struct tp_plugin_info *info),
                    void (*bad)(void *arg, const char *msg), void *arg,
                    char *err, size_t errlen)
{
    const char **dirs = search_dirs(path);
    if (!dirs) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    struct each_ctx e = {cb, bad, arg,
                         timeout > 0 ? timeout : PROBE_TIMEOUT_S};
    int r;
    if (only) {
        char *file;
        r = tp__loader_resolve(only, dirs, &file, err, errlen);
        if (r == 0) {
            e.bad = NULL; /* its trouble is the caller's error */
            r = look(&e, strchr(only, '/') ? NULL : only, file, err, errlen);
            free(file);
        }
    } else {
        r = tp__loader_each(dirs, each_cb, &e);
    }
    free(dirs);
    return r;
}
