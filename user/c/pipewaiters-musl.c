/* Many threads blocked on one wait queue: 1,000 threads read one byte each from one pipe.
 * Bytes written one at a time each wake every reader, and those that find none wait again
 * on the same queue; closing the writer wakes the rest with end of file — every thread
 * reads exactly one byte or end of file, no reader is lost or woken for good twice, and
 * the threads leave their process's thread list in any order. Then a child with 1,000
 * threads blocked the same way is killed: every thread leaves from its wait, and the
 * child's wait status is SIGKILL. (Waiting and leaving were linear in the number of
 * threads, found with 100,000 live threads; this checks they stayed right.) */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#define READERS 1000
#define BYTES 300

static int fds[2];
static int got_byte, got_eof, got_error;

static void *reader(void *arg) {
    char byte;
    ssize_t n = read(fds[0], &byte, 1);
    __atomic_fetch_add(n == 1 ? &got_byte : n == 0 ? &got_eof : &got_error, 1, __ATOMIC_SEQ_CST);
    return arg;
}

static int fail(const char *what, long value) {
    printf("pipewaiters-musl: %s (%ld)\n", what, value);
    return 1;
}

static int start_readers(pthread_t *threads) {
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, PTHREAD_STACK_MIN);
    for (int i = 0; i < READERS; i++) {
        int error = pthread_create(&threads[i], &attr, reader, NULL);
        if (error != 0) return fail("pthread_create", error);
    }
    return 0;
}

int main(void) {
    static pthread_t threads[READERS];
    if (pipe(fds) != 0) return fail("pipe", errno);
    if (start_readers(threads) != 0) return 1;
    for (int i = 0; i < BYTES; i++) {
        if (write(fds[1], "x", 1) != 1) return fail("write", errno);
        if (i % 10 == 0) sched_yield();
    }
    while (__atomic_load_n(&got_byte, __ATOMIC_SEQ_CST) < BYTES) sched_yield();
    close(fds[1]);
    for (int i = 0; i < READERS; i++)
        if (pthread_join(threads[i], NULL) != 0) return fail("pthread_join", i);
    if (got_byte != BYTES || got_eof != READERS - BYTES || got_error != 0)
        return fail("bytes, end of file, errors", got_byte * 1000000L + got_eof * 1000L + got_error);
    close(fds[0]);

    int ready[2];
    if (pipe(fds) != 0 || pipe(ready) != 0) return fail("pipe", errno);
    pid_t child = fork();
    if (child < 0) return fail("fork", errno);
    char byte;
    if (child == 0) {
        close(ready[0]);
        if (start_readers(threads) != 0) _exit(3);
        write(ready[1], "r", 1);
        read(fds[0], &byte, 1); /* the parent keeps the writer open until the kill */
        _exit(4);
    }
    close(ready[1]);
    if (read(ready[0], &byte, 1) != 1) return fail("the child did not start its readers", 0);
    if (kill(child, SIGKILL) != 0) return fail("kill", errno);
    int status;
    if (waitpid(child, &status, 0) != child) return fail("waitpid", errno);
    if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL) return fail("child status", status);
    printf("pipewaiters-musl: %d bytes and %d ends of file to %d readers; %d blocked readers killed\n", got_byte,
           got_eof, READERS, READERS);
    return 0;
}
