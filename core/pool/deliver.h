/* What happens when inputs finish, and delivery in order (deliver.c). */
#ifndef TP_POOL_DELIVER_H
#define TP_POOL_DELIVER_H

#include "taskpool/pool.h"

/* Take the news of the pending chunks: completions (the
 * finished callback, failure counts, halting), then results in order. */
void tp__deliver_news(tp_pool *p);
/* Halting: deliver every result there is, in order, and no more. */
void tp__deliver_rest(tp_pool *p);

#endif
