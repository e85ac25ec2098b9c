/* The /init of scripts/storm-trace: a storm of detached threads that return at once beside
 * spinning processes, booted with lifecycle tracing on so that the serial log shows, thread
 * by thread, which CPU tore each one down and how long it waited (scripts/trace2svg draws
 * it). SPINNERS processes spin from the start to the end; a storm process creates THREADS
 * detached threads, which block on one futex word; once all have started, the word is set
 * and every waiter woken at once, so they all return together; the storm process ends soon
 * after its last thread returned, and /init waits for it (the log's last `waited`). STRATEGY,
 * if 0 or more, is the reaping strategy set with lethe_reaping first (0 future, 1 reaper,
 * 2 percpu-reaper). Each is a -D of the build. */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef THREADS
#define THREADS 300
#endif
#ifndef SPINNERS
#define SPINNERS 1
#endif
#ifndef STRATEGY
#define STRATEGY -1
#endif
#define LETHE_REAPING 1000
/* Linux's futex operations (musl ships no linux/futex.h). */
#define FUTEX_WAIT_PRIVATE 128
#define FUTEX_WAKE_PRIVATE 129
/* How long the storm process lives on after its last thread returned, for the threads to
 * finish exiting, and /init after the storm process ended, for their teardowns. */
#define LAST_EXITS_MS 100
#define SETTLE_MS 300
static int go;
static int started;
static int returned;

static void *storm_thread(void *unused) {
    (void)unused;
    __atomic_fetch_add(&started, 1, __ATOMIC_SEQ_CST);
    while (!__atomic_load_n(&go, __ATOMIC_SEQ_CST)) {
        syscall(SYS_futex, &go, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0);
    }
    __atomic_fetch_add(&returned, 1, __ATOMIC_SEQ_CST);
    return NULL;
}

static void sleep_ms(long ms) {
    struct timespec pause = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&pause, NULL);
}

/* The storm process: returns its exit status. */
static int storm(long strategy) {
    static const char *names[] = {"future", "reaper", "percpu-reaper"};
    pthread_attr_t detached;
    pthread_attr_init(&detached);
    pthread_attr_setdetachstate(&detached, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&detached, 16384);
    for (int i = 0; i < THREADS; i++) {
        pthread_t thread;
        int error = pthread_create(&thread, &detached, storm_thread, NULL);
        if (error != 0) {
            printf("storm: pthread_create of thread %d failed: %s\n", i, strerror(error));
            return 1;
        }
    }
    while (__atomic_load_n(&started, __ATOMIC_SEQ_CST) < THREADS) {
        sched_yield();
    }
    printf("storm: %d detached threads started beside %d spinner(s) under %s; releasing them at once\n", THREADS,
           SPINNERS, strategy >= 0 && strategy <= 2 ? names[strategy] : "an unknown strategy");
    fflush(stdout);
    __atomic_store_n(&go, 1, __ATOMIC_SEQ_CST);
    syscall(SYS_futex, &go, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
    while (__atomic_load_n(&returned, __ATOMIC_SEQ_CST) < THREADS) {
        sched_yield();
    }
    sleep_ms(LAST_EXITS_MS);
    printf("storm: all %d threads returned\n", THREADS);
    return 0;
}

int main(void) {
    if (STRATEGY >= 0 && syscall(LETHE_REAPING, (long)STRATEGY) < 0) {
        printf("storm: lethe_reaping(%d) failed: %s\n", STRATEGY, strerror(errno));
        return 1;
    }
    long strategy = syscall(LETHE_REAPING, -1L);
    pid_t spinners[SPINNERS];
    for (int i = 0; i < SPINNERS; i++) {
        spinners[i] = fork();
        if (spinners[i] < 0) {
            printf("storm: fork of spinner %d failed: %s\n", i, strerror(errno));
            return 1;
        }
        if (spinners[i] == 0) {
            for (;;) {
            }
        }
    }
    fflush(stdout);
    pid_t storm_process = fork();
    if (storm_process < 0) {
        printf("storm: fork of the storm process failed: %s\n", strerror(errno));
        return 1;
    }
    if (storm_process == 0) _exit(storm(strategy));
    int status = -1;
    if (waitpid(storm_process, &status, 0) != storm_process) {
        printf("storm: waitpid of the storm process failed: %s\n", strerror(errno));
        return 1;
    }
    sleep_ms(SETTLE_MS);
    for (int i = 0; i < SPINNERS; i++) kill(spinners[i], SIGKILL);
    for (int i = 0; i < SPINNERS; i++) {
        if (waitpid(spinners[i], NULL, 0) != spinners[i]) {
            printf("storm: waitpid of spinner %d failed: %s\n", i, strerror(errno));
            return 1;
        }
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        printf("storm: the storm process failed (status 0x%x)\n", status);
        return 1;
    }
    return 0;
}
