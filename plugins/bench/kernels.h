/* The benchmark's per-item work, shared by the bench plugin and the
 * serial loop it is compared with (bench/serial.c), so both do the same. */
#ifndef TP_BENCH_KERNELS_H
#define TP_BENCH_KERNELS_H

#include <stdint.h>

static inline int64_t count_primes(int64_t n)
{
    int64_t count = 0;
    for (int64_t k = 2; k <= n; k++) {
        int prime = 1;
        for (int64_t d = 2; d * d <= k; d++)
            if (k % d == 0) {
                prime = 0;
                break;
            }
        count += prime;
    }
    return count;
}

static inline int64_t spin(int64_t n)
{
    uint64_t x = 88172645463325252u;
    for (int64_t i = 0; i < n; i++) { /* xorshift: no shortcut for it */
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
    }
    return (int64_t)(x >> 1);
}

#endif
