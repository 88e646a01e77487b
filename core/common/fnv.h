/* 64-bit FNV-1a: the joblog's input digest and the held file's checksum. */
#ifndef TP_FNV_H
#define TP_FNV_H

#include <stddef.h>
#include <stdint.h>

#define TP_FNV_START 0xcbf29ce484222325ull

static inline uint64_t tp__fnv(uint64_t h, const void *p, size_t n)
{
    const unsigned char *s = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ s[i]) * 0x100000001b3ull;
    return h;
}

#endif
