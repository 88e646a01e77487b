/* The words for an input's status, as the command's jsonl and joblog
 * write them and the Python module's TaskError.status says them. */
#ifndef TP_STATUS_H
#define TP_STATUS_H

#include "taskpool/pool.h"

static inline const char *tp__status_word(enum tp_status st)
{
    switch (st) {
    case TP_RESULT_OK:
        return "ok";
    case TP_RESULT_ERROR:
        return "error";
    case TP_RESULT_CRASHED:
        return "crashed";
    case TP_RESULT_TIMEOUT:
        return "timeout";
    case TP_RESULT_PROTOCOL:
        return "protocol";
    }
    return "unknown";
}

#endif
