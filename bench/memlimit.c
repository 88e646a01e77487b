/* memlimit as|data MIB: what RLIMIT_AS and RLIMIT_DATA of MIB MiB let a
 * program do (bench/run prints it; why --mem-limit is RLIMIT_DATA).
 * After setrlimit: four threads at once malloc a little each (glibc gives
 * each its own arena, reserving 64 MiB of address space for it), then a
 * 1 GiB PROT_NONE reservation (as JITs, Go and the sanitizers make), then
 * 1 MiB blocks are allocated and touched until malloc says no.  Prints
 * "threads 4/4, 1 GiB reservation refused, heap 67 MiB". */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>

static pthread_barrier_t bar;

static void *thread(void *arg)
{
    (void)arg;
    pthread_barrier_wait(&bar); /* all four run at once: four arenas */
    void *p = malloc(1000);
    pthread_barrier_wait(&bar);
    return p;
}

int main(int argc, char **argv)
{
    if (argc != 3 || (strcmp(argv[1], "as") && strcmp(argv[1], "data"))) {
        fprintf(stderr, "usage: memlimit as|data MIB\n");
        return 2;
    }
    rlim_t lim = (rlim_t)strtoul(argv[2], NULL, 10) << 20;
    struct rlimit r = {lim, lim};
    if (setrlimit(strcmp(argv[1], "as") ? RLIMIT_DATA : RLIMIT_AS, &r)) {
        perror("setrlimit");
        return 1;
    }
    pthread_t t[4];
    pthread_attr_t a;
    int nt = 0, ok = 0;
    pthread_attr_init(&a);
    pthread_attr_setstacksize(&a, 256 << 10);
    pthread_barrier_init(&bar, NULL, 4);
    for (int i = 0; i < 4; i++)
        nt += pthread_create(&t[nt], &a, thread, NULL) == 0;
    if (nt < 4) { /* the barrier would wait for ever */
        printf("threads %d/4 started\n", nt);
        return 0;
    }
    for (int i = 0; i < 4; i++) {
        void *p = NULL;
        pthread_join(t[i], &p);
        ok += p != NULL;
    }
    void *m = mmap(NULL, 1ul << 30, PROT_NONE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    long n = 0;
    char *p;
    while (n < (1 << 20) && (p = malloc(1 << 20))) {
        for (size_t i = 0; i < (1 << 20); i += 4096)
            ((volatile char *)p)[i] = 1;
        n++;
    }
    printf("threads %d/4, 1 GiB reservation %s, heap %ld MiB\n", ok,
           m == MAP_FAILED ? "refused" : "ok", n);
    return 0;
}
