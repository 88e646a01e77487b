/* Shared by the libFuzzer targets (make fuzz): each target feeds bytes to
 * the host's own decoder and checks what the host relies on afterwards,
 * so that a wrong answer is a crash just as an overflow is. */
#ifndef TP_FUZZ_H
#define TP_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* libFuzzer keeps the input that made a target abort */
#define FUZZ_CHECK(cond)                                                      \
    do {                                                                      \
        if (!(cond)) {                                                        \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, \
                    #cond);                                                   \
            abort();                                                          \
        }                                                                     \
    } while (0)

/* [p, p + n) lies within [base, base + size) */
static inline int fuzz_within(const void *base, size_t size, const void *p,
                              size_t n)
{
    const char *b = base, *q = p;
    return q >= b && (size_t)(q - b) <= size && n <= size - (size_t)(q - b);
}

#endif
