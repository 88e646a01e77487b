/* A descriptor with the wrong magic number. */
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
        0xdeadbeefu, TASKPOOL_ABI_MAJOR, TASKPOOL_ABI_MINOR,
        sizeof(struct tp_plugin), "badmagic", "1", tasks, NULL, NULL, 0};
    return &d;
}
