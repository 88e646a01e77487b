/* A plugin whose constructor never returns. */
#include <taskpool/plugin.h>
#include <unistd.h>

__attribute__((constructor)) static void stuck(void)
{
    for (;;)
        pause();
}

static int echo(tp_ctx *ctx, const char *in, size_t len)
{
    return tp_append(ctx, in, len);
}

static const struct tp_task tasks[] = {{"echo", "", echo}, {NULL, NULL, NULL}};
TASKPOOL_PLUGIN("ctorhang", "1", tasks, NULL, NULL)
