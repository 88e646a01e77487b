/* Every field and value of pool.h's first layout (tests/abi/pool-v1.h),
 * printed as offset and size: built once against that frozen copy and
 * once against today's pool.h, the two outputs must be the same
 * (tests/abi.sh).  A field moved, resized or removed, or a value changed,
 * breaks the programs built against the first one. */
#include <stddef.h>
#include <stdio.h>

#ifdef TP_FROZEN
#include "pool-v1.h"
#else
#include <taskpool/pool.h>
#endif

#define F(T, f)                                                               \
    printf("%s.%s %zu %zu\n", #T, #f, offsetof(struct T, f),                  \
           sizeof(((struct T *)0)->f))
#define V(x) printf("%s %d\n", #x, (int)(x))

int main(void)
{
    F(tp_pool_options, size), F(tp_pool_options, jobs);
    F(tp_pool_options, chunk), F(tp_pool_options, unordered);
    F(tp_pool_options, init_arg), F(tp_pool_options, plugin_path);
    F(tp_pool_options, expected), F(tp_pool_options, retries);
    F(tp_pool_options, timeout), F(tp_pool_options, timeout_pct);
    F(tp_pool_options, halt), F(tp_pool_options, halt_fail);
    F(tp_pool_options, halt_fail_pct), F(tp_pool_options, max_tasks);
    F(tp_pool_options, measure), F(tp_pool_options, cancel_fd);
    F(tp_pool_options, text_results), F(tp_pool_options, text_term);
    F(tp_pool_options, init_timeout), F(tp_pool_options, mem_limit);
    F(tp_pool_options, cpu_limit), F(tp_pool_options, max_procs);
    F(tp_pool_options, sandbox), F(tp_pool_options, allow_read);
    F(tp_pool_options, remote_fds), F(tp_pool_options, nremote);
    F(tp_pool_options, remote_names);
    F(tp_result, size), F(tp_result, index), F(tp_result, status);
    F(tp_result, input), F(tp_result, input_len), F(tp_result, data);
    F(tp_result, len), F(tp_result, worker), F(tp_result, attempts);
    F(tp_result, usec), F(tp_result, start_ns), F(tp_result, node);
    F(tp_pool_callbacks, size), F(tp_pool_callbacks, result);
    F(tp_pool_callbacks, idle), F(tp_pool_callbacks, arg);
    F(tp_pool_callbacks, text), F(tp_pool_callbacks, finished);
    F(tp_plugin_info, size), F(tp_plugin_info, name);
    F(tp_plugin_info, desc), F(tp_plugin_info, file);
    V(TP_HALT_NEVER), V(TP_HALT_SOON), V(TP_HALT_NOW);
    V(TP_RESULT_OK), V(TP_RESULT_ERROR), V(TP_RESULT_CRASHED);
    V(TP_RESULT_TIMEOUT), V(TP_RESULT_PROTOCOL);
    V(TP_ERR_NONE), V(TP_ERR_USAGE), V(TP_ERR_LOAD), V(TP_ERR_INIT);
    V(TP_ERR_SYSTEM), V(TP_ERR_INPUT), V(TP_ERR_STOPPED), V(TP_ERR_HALTED);
    V(TP_ERR_CANCELLED), V(TP_POOL_RECORD_MAX >> 10);
    return 0;
}
