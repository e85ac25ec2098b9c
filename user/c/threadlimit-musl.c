/* RLIMIT_NPROC bounds a user's threads, and exited threads stop counting promptly (R5, R8):
 * the limits read back as stored and bad arguments fail with Linux's errno values; a child
 * that sets a limit of 500 creates and joins 1,000 threads in sequence (only possible if
 * each exited thread is freed before the next one is made), then holds threads until
 * pthread_create says EAGAIN — near 500, with fork refused too — then frees them and can
 * make threads again. Its parent, whose limit it did not change, is unaffected. */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define LIMIT 500
#define IN_SEQUENCE 1000
/* Other tasks that may exist while the child holds threads: this process, the child's
 * main thread, and a few dead threads not yet torn down. */
#define SLACK 16
#define STACK_BYTES 16384

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t released = PTHREAD_COND_INITIALIZER;
static int go;

static long long now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000LL + t.tv_nsec / 1000000;
}

static void *count(void *arg) {
    __atomic_fetch_add((int *)arg, 1, __ATOMIC_SEQ_CST);
    return arg;
}

static void *hold(void *arg) {
    (void)arg;
    pthread_mutex_lock(&lock);
    while (!go) pthread_cond_wait(&released, &lock);
    pthread_mutex_unlock(&lock);
    return NULL;
}

static int fail(const char *what, long value) {
    printf("threadlimit-musl: %s (%ld)\n", what, value);
    fflush(stdout);
    return 1;
}

static int limits_read_back_and_bad_arguments_fail(void) {
    struct rlimit limit;
    if (getrlimit(RLIMIT_NPROC, &limit) != 0) return fail("getrlimit NPROC", errno);
    if (limit.rlim_cur != RLIM_INFINITY || limit.rlim_max != RLIM_INFINITY) return fail("NPROC not unlimited", (long)limit.rlim_cur);
    if (getrlimit(RLIMIT_STACK, &limit) != 0 || limit.rlim_cur == 0 || limit.rlim_cur == RLIM_INFINITY)
        return fail("RLIMIT_STACK is not the stack's size", (long)limit.rlim_cur);
    struct rlimit inverted = {.rlim_cur = 10, .rlim_max = 5};
    if (setrlimit(RLIMIT_NPROC, &inverted) != -1 || errno != EINVAL) return fail("soft above hard accepted", errno);
    if (syscall(SYS_prlimit64, 0, 99, NULL, &limit) != -1 || errno != EINVAL) return fail("resource 99 accepted", errno);
    if (syscall(SYS_prlimit64, 0, RLIMIT_NPROC, NULL, (void *)8) != -1 || errno != EFAULT) return fail("bad old pointer", errno);
    if (syscall(SYS_prlimit64, 0, RLIMIT_NPROC, (void *)8, NULL) != -1 || errno != EFAULT) return fail("bad new pointer", errno);
    if (syscall(SYS_prlimit64, 999999, RLIMIT_NPROC, NULL, &limit) != -1 || errno != ESRCH) return fail("no such pid", errno);
    struct rlimit old;
    if (syscall(SYS_prlimit64, getpid(), RLIMIT_NOFILE, NULL, &old) != 0) return fail("prlimit64 on own pid", errno);
    return 0;
}

static int under_the_limit(void) {
    struct rlimit limit = {.rlim_cur = LIMIT, .rlim_max = LIMIT};
    if (setrlimit(RLIMIT_NPROC, &limit) != 0) return fail("setrlimit NPROC", errno);
    if (getrlimit(RLIMIT_NPROC, &limit) != 0 || limit.rlim_cur != LIMIT) return fail("NPROC read back", (long)limit.rlim_cur);

    pthread_attr_t attributes;
    pthread_attr_init(&attributes);
    pthread_attr_setstacksize(&attributes, STACK_BYTES);

    int ran = 0;
    for (int i = 0; i < IN_SEQUENCE; i++) {
        pthread_t thread;
        int error = pthread_create(&thread, &attributes, count, &ran);
        if (error != 0) return fail("create-and-join in sequence refused at thread", i);
        if (pthread_join(thread, NULL) != 0) return fail("pthread_join in sequence", i);
    }
    if (ran != IN_SEQUENCE) return fail("threads in sequence ran", ran);

    static pthread_t held[LIMIT];
    int holding = 0;
    int error = 0;
    while (holding < LIMIT && (error = pthread_create(&held[holding], &attributes, hold, NULL)) == 0) holding++;
    if (error != EAGAIN) return fail("holding threads did not end in EAGAIN", error);
    if (holding < LIMIT - SLACK) return fail("EAGAIN too early, after", holding);
    pid_t refused = fork();
    if (refused == 0) _exit(0);
    if (refused != -1 || errno != EAGAIN) return fail("fork at the limit was not EAGAIN", refused);

    pthread_mutex_lock(&lock);
    go = 1;
    pthread_cond_broadcast(&released);
    pthread_mutex_unlock(&lock);
    for (int i = 0; i < holding; i++) {
        if (pthread_join(held[i], NULL) != 0) return fail("pthread_join of a held thread", i);
    }
    /* A joined thread has exited but counts until it is torn down (R8): right after the
     * joins, creation may meet EAGAIN until the teardowns (a reaper thread's turn, under the
     * reaper strategies) catch up — promptly (R5): within a second. */
    long long deadline = now_ms() + 1000;
    for (int i = 0; i < holding; i++) {
        while ((error = pthread_create(&held[i], &attributes, count, &ran)) == EAGAIN && now_ms() < deadline) sched_yield();
        if (error != 0) return fail("create after release refused at", i);
    }
    for (int i = 0; i < holding; i++) {
        if (pthread_join(held[i], NULL) != 0) return fail("pthread_join after release", i);
    }
    printf("threadlimit-musl: limit %d: %d threads in sequence, EAGAIN after %d held\n", LIMIT, IN_SEQUENCE, holding);
    fflush(stdout);
    return 0;
}

int main(void) {
    if (limits_read_back_and_bad_arguments_fail()) return 1;
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) return fail("fork", errno);
    if (pid == 0) _exit(under_the_limit());
    int status = -1;
    if (waitpid(pid, &status, 0) != pid) return fail("waitpid", errno);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return fail("the child under the limit failed", status);

    struct rlimit limit;
    if (getrlimit(RLIMIT_NPROC, &limit) != 0 || limit.rlim_cur != RLIM_INFINITY) return fail("the child's limit leaked to its parent", (long)limit.rlim_cur);
    printf("threadlimit-musl: limits hold\n");
    return 0;
}
