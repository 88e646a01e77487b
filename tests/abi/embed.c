/* A program as built against pool.h's first layout (the frozen
 * tests/abi/pool-v1.h), run against today's libtaskpool (tests/abi.sh):
 * doubles its arguments with seed:double and checks what comes back. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pool-v1.h"

static int print(void *arg, const struct tp_result *r)
{
    int *bad = arg;
    /* a later library passes a larger result: this program reads its own */
    if (r->size < sizeof *r || r->status != TP_RESULT_OK || r->attempts != 1)
        *bad = 1;
    printf("%.*s\n", (int)r->len, r->data);
    return 0;
}

int main(int argc, char **argv)
{
    const char *dirs[] = {getenv("TASKPOOL_PLUGIN_PATH"), NULL};
    struct tp_pool_options o = TP_POOL_OPTIONS_INIT;
    struct tp_pool_callbacks cb = TP_POOL_CALLBACKS_INIT;
    int bad = 0;
    o.jobs = 2;
    o.plugin_path = dirs;
    cb.result = print;
    cb.arg = &bad;
    tp_pool *p;
    char err[512];
    if (tp_pool_open(&p, "seed:double", &o, &cb, err, sizeof err) != 0) {
        fprintf(stderr, "embed: %s\n", err);
        return 2;
    }
    int rc = 0;
    for (int i = 1; i < argc && rc == 0; i++)
        rc = tp_pool_feed(p, argv[i], strlen(argv[i]));
    if (rc == 0)
        rc = tp_pool_finish(p);
    tp_pool_close(p);
    return rc ? 3 : bad;
}
