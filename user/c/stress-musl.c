/* Lifecycle stress: `stress-musl FORKS THREADS` runs FORKS fork/_exit/waitpid cycles, each
 * child's status checked, then THREADS pthread create/join cycles, and prints what it did.
 * Run in a release boot with 100,000 of each (stress/): a leak of one frame, heap byte,
 * slot, pid or task per cycle shows as 100,000 of them at the end. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long long now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000000000LL + t.tv_nsec;
}

static void *count(void *arg) {
    __atomic_fetch_add((long *)arg, 1, __ATOMIC_SEQ_CST);
    return arg;
}

static int fail(const char *what, long at, long value) {
    printf("stress-musl: %s at cycle %ld (%ld)\n", what, at, value);
    return 1;
}

int main(int argc, char **argv) {
    if (argc != 3) return fail("usage: stress-musl FORKS THREADS", 0, argc);
    long forks = atol(argv[1]), threads = atol(argv[2]);
    long long start = now_ns();
    for (long i = 0; i < forks; i++) {
        pid_t pid = fork();
        if (pid < 0) return fail("fork", i, errno);
        if (pid == 0) _exit((int)(i & 0x7f));
        int status = -1;
        if (waitpid(pid, &status, 0) != pid) return fail("waitpid", i, errno);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != (int)(i & 0x7f)) return fail("status", i, status);
    }
    long long forked = now_ns();
    long ran = 0;
    for (long i = 0; i < threads; i++) {
        pthread_t thread;
        int error = pthread_create(&thread, NULL, count, &ran);
        if (error != 0) return fail("pthread_create", i, error);
        if (pthread_join(thread, NULL) != 0) return fail("pthread_join", i, 0);
    }
    if (ran != threads) return fail("threads ran", threads, ran);
    long long end = now_ns();
    printf("stress-musl: %ld fork/exit/wait cycles (%lld us each), %ld thread create/join cycles (%lld us each)\n",
           forks, forks ? (forked - start) / forks / 1000 : 0, threads, threads ? (end - forked) / threads / 1000 : 0);
    return 0;
}
