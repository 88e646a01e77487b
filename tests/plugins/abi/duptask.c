/* Two tasks of the same name: refused at load. */
#include <taskpool/plugin.h>

static int one(tp_ctx *ctx, const char *in, size_t len)
{
    return tp_append(ctx, in, len);
}

static const struct tp_task tasks[] = {
    {"echo", "", one}, {"echo", "", one}, {NULL, NULL, NULL}};
TASKPOOL_PLUGIN("duptask", "1", tasks, NULL, NULL)
