/* A plugin whose constructor crashes. */
#include <signal.h>
#include <taskpool/plugin.h>

__attribute__((constructor)) static void boom(void) { raise(SIGSEGV); }

static int echo(tp_ctx *ctx, const char *in, size_t len)
{
    return tp_append(ctx, in, len);
}

static const struct tp_task tasks[] = {{"echo", "", echo}, {NULL, NULL, NULL}};
TASKPOOL_PLUGIN("ctorcrash", "1", tasks, NULL, NULL)
