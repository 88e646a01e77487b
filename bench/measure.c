/* measure OUT CMD ARGS...: run CMD; write "WALL_SECONDS PEAK_RSS_KIB
 * CPU_SECONDS" to the file OUT (the peak and the user + system time over
 * CMD and the children it waited for, i.e. a host and its workers); exit
 * with CMD's status (128+N if killed). */
#include <stdio.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: measure OUT CMD [ARG]...\n");
        return 125;
    }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    pid_t pid = fork();
    if (pid < 0)
        return 125;
    if (pid == 0) {
        execvp(argv[2], argv + 2);
        _exit(127);
    }
    int st;
    if (waitpid(pid, &st, 0) != pid)
        return 125;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    struct rusage ru;
    if (getrusage(RUSAGE_CHILDREN, &ru) != 0)
        return 125;
    FILE *f = fopen(argv[1], "w");
    if (!f)
        return 125;
    fprintf(f, "%.6f %ld %.6f\n",
            (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9,
            ru.ru_maxrss,
            (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
                (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6);
    if (fclose(f) != 0)
        return 125;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}
