/* A plugin built as ABI 1.0 was: the descriptor is written out with the
 * 1.0 layout instead of TASKPOOL_PLUGIN(), so that it stays a 1.0 plugin
 * when plugin.h gains a minor; a host of any 1.x must load it. */
#include <taskpool/plugin.h>

struct descriptor_1_0 {
    uint32_t magic;
    uint16_t abi_major;
    uint16_t abi_minor;
    uint32_t size;
    const char *name;
    const char *version;
    const struct tp_task *tasks;
    int (*init)(tp_ctx *ctx, const char *arg);
    void (*fini)(void);
};

static int task(tp_ctx *ctx, const char *in, size_t len)
{
    return tp_append(ctx, in, len);
}

static const struct tp_task tasks[] = {{"echo", "echo", task},
                                       {NULL, NULL, NULL}};

const struct tp_plugin *taskpool_plugin(void)
{
    static const struct descriptor_1_0 d = {
        TASKPOOL_ABI_MAGIC, 1, 0, sizeof(struct descriptor_1_0),
        "oldminor", "1", tasks, NULL, NULL};
    return (const struct tp_plugin *)(const void *)&d;
}
