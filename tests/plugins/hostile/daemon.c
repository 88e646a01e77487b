/* A plugin whose constructor starts a daemon (a child in a session of its
 * own) in every process that loads it: the run must not leave it behind. */
#include <taskpool/plugin.h>
#include <unistd.h>

__attribute__((constructor)) static void start_daemon(void)
{
    if (fork() == 0) {
        setsid();
        for (;;)
            pause();
    }
}

static int echo(tp_ctx *ctx, const char *in, size_t len)
{
    return tp_append(ctx, in, len);
}

static const struct tp_task tasks[] = {
    {"echo", "prints its input", echo},
    {NULL, NULL, NULL},
};

TASKPOOL_PLUGIN("daemon", "1", tasks, NULL, NULL)
