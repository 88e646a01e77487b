/* Record readers: newline- or NUL-terminated records from a descriptor,
 * through one bounded buffer (it grows only to hold one long record). */
#ifndef TP_INPUT_H
#define TP_INPUT_H

#include <stddef.h>
#include <stdint.h>

struct tp__input {
    int fd;
    char delim;
    int eof;
    char *buf;
    size_t cap, start, end, scan;
    size_t max; /* longest record accepted */
    uint64_t got; /* bytes read so far */
};

/* Returns 0, or -1 (ENOMEM). */
int tp__input_init(struct tp__input *in, int fd, char delim, size_t max);
void tp__input_free(struct tp__input *in);

/* The next buffered record, without reading: 1 with *rec and *len set (valid
 * until the next call), 0 if a read is needed first (tp__input_fill), -1 at
 * the end of the input.  A last record without a terminator counts. */
int tp__input_next(struct tp__input *in, const char **rec, size_t *len);

/* Every complete record buffered, as one span: *rec and *len cover the
 * records and their terminators (valid until the next call).  Returns 1,
 * or 0 if there is none (then tp__input_next gives a last unterminated
 * record at the end of the input). */
int tp__input_records(struct tp__input *in, const char **rec, size_t *len);

/* One read(2) into the buffer, when tp__input_next or tp__input_records
 * found no record in it.  Returns 0, or -1 with errno (EFBIG when a record
 * is longer than max: no record longer is ever given). */
int tp__input_fill(struct tp__input *in);

#endif
