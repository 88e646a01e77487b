/* The plugin search path of the command line. */
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

int tp__cli_paths_add(struct paths *p, const char *dir)
{
    if (p->n + 2 > p->cap) {
        size_t cap = p->cap ? 2 * p->cap : 8;
        const char **v = realloc(p->v, cap * sizeof *v);
        if (!v)
            return -1;
        p->v = v;
        p->cap = cap;
    }
    p->v[p->n++] = dir;
    p->v[p->n] = NULL;
    return 0;
}

/* Empty components are skipped: an empty path never means ".". */
int tp__cli_paths_add_env(struct paths *p)
{
    const char *e = getenv("TASKPOOL_PLUGIN_PATH");
    if (!e || !*e)
        return 0;
    if (!(p->env = strdup(e)))
        return -1;
    for (char *s = p->env, *tok; (tok = strsep(&s, ":"));)
        if (*tok && tp__cli_paths_add(p, tok) != 0)
            return -1;
    return 0;
}
