/* errno in messages (errtext.c). */
#ifndef TP_COMMON_ERRTEXT_H
#define TP_COMMON_ERRTEXT_H

/* strerror(e), but EMFILE and ENFILE named, with what to do. */
const char *tp__errtext(int e);

#endif
