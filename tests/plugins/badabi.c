/* A plugin stamped with a future ABI major. */
#include <taskpool/plugin.h>

static int task(tp_ctx *ctx, const char *in, size_t len)
{
    return tp_append(ctx, in, len);
}

static const struct tp_task tasks[] = {{"echo", "echo", task},
                                       {NULL, NULL, NULL}};

const struct tp_plugin *taskpool_plugin(void)
{
    static const struct tp_plugin d = {
        TASKPOOL_ABI_MAGIC, TASKPOOL_ABI_MAJOR + 1, 0,
        sizeof(struct tp_plugin), "badabi", "1", tasks, NULL, NULL, 0};
    return &d;
}
