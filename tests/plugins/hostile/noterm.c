/* A task table without its NULL terminator: after the one task comes an
 * entry whose name points nowhere. */
#include <stdint.h>
#include <taskpool/plugin.h>

static int echo(tp_ctx *ctx, const char *in, size_t len)
{
    return tp_append(ctx, in, len);
}

static const struct {
    struct tp_task t[1];
    struct tp_task junk;
} table = {{{"echo", "", echo}}, {(const char *)(uintptr_t)16, "", echo}};

TASKPOOL_PLUGIN("noterm", "1", table.t, NULL, NULL)
