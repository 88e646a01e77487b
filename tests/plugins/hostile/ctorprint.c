/* A plugin whose constructor prints to standard output. */
#include <stdio.h>
#include <taskpool/plugin.h>

__attribute__((constructor)) static void chatty(void)
{
    printf("hello from a constructor\n");
    fflush(stdout);
}

static int echo(tp_ctx *ctx, const char *in, size_t len)
{
    return tp_append(ctx, in, len);
}

static const struct tp_task tasks[] = {{"echo", "", echo}, {NULL, NULL, NULL}};
TASKPOOL_PLUGIN("ctorprint", "1", tasks, NULL, NULL)
