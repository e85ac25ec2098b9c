/* Threads are reaped promptly while their process lives on (R5), and exit_group ends a
 * process whose other threads are still running: 30 children each run 30 threads at once;
 * one process creates and joins 3,000 threads in sequence — more than the kernel's limit
 * on threads that exist at once (1,989 at -m 256M), so it only succeeds if exited threads are freed
 * as they go; a process exits from main while 4 threads spin. */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <sys/wait.h>
#include <stdlib.h>
#include <unistd.h>

#define CHILDREN 30
#define THREADS_EACH 30
#define IN_SEQUENCE 3000

static volatile int stop;

static void *count(void *arg) {
    __atomic_fetch_add((int *)arg, 1, __ATOMIC_SEQ_CST);
    return arg;
}

static void *spin(void *arg) {
    (void)arg;
    while (!stop) {
    }
    return NULL;
}

static int fail(const char *what, long value) {
    printf("threadsmany-musl: %s (%ld)\n", what, value);
    return 1;
}

static int child_with_threads(void) {
    pthread_t threads[THREADS_EACH];
    int ran = 0;
    for (int i = 0; i < THREADS_EACH; i++) {
        if (pthread_create(&threads[i], NULL, count, &ran) != 0) return 2;
    }
    for (int i = 0; i < THREADS_EACH; i++) {
        if (pthread_join(threads[i], NULL) != 0) return 3;
    }
    return ran == THREADS_EACH ? 0 : 4;
}

static int children_with_threads(void) {
    pid_t pids[CHILDREN];
    for (int i = 0; i < CHILDREN; i++) {
        pids[i] = fork();
        if (pids[i] < 0) return fail("fork", errno);
        if (pids[i] == 0) _exit(child_with_threads());
    }
    for (int i = 0; i < CHILDREN; i++) {
        int status = -1;
        if (waitpid(pids[i], &status, 0) != pids[i]) return fail("waitpid", errno);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return fail("a child's threads failed", status);
    }
    return 0;
}

static int threads_in_sequence(void) {
    int ran = 0;
    for (int i = 0; i < IN_SEQUENCE; i++) {
        pthread_t thread;
        int error = pthread_create(&thread, NULL, count, &ran);
        if (error != 0) {
            printf("threadsmany-musl: pthread_create number %d in sequence failed: error %d\n", i, error);
            return 1;
        }
        if (pthread_join(thread, NULL) != 0) return fail("pthread_join in sequence failed at", i);
    }
    return ran == IN_SEQUENCE ? 0 : fail("threads in sequence ran", ran);
}

static int exit_group_with_running_threads(void) {
    pid_t pid = fork();
    if (pid == 0) {
        pthread_t thread;
        for (int i = 0; i < 4; i++) {
            if (pthread_create(&thread, NULL, spin, NULL) != 0) _exit(99);
        }
        sched_yield();
        exit(3);
    }
    int status = -1;
    if (waitpid(pid, &status, 0) != pid) return fail("waitpid after exit_group", errno);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 3) return fail("status after exit_group", status);
    return 0;
}

int main(void) {
    if (children_with_threads() || threads_in_sequence() || exit_group_with_running_threads()) return 1;
    printf("threadsmany-musl: 30x30 threads, %d threads in sequence, exit_group over running threads\n", IN_SEQUENCE);
    return 0;
}
