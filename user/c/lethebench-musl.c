/* Lethe-only benchmark modes, printed as procbench's "RESULT key=value ..." lines so that
 * lbtool.py and scripts/bench read them with procbench's (procbench.c itself runs
 * unmodified beside this):
 *
 *   saturated N SAMPLES   exit-to-wait latency (as procbench's exitlat: the child stores
 *                         CLOCK_MONOTONIC in shared memory just before _exit, the parent
 *                         reads it when waitpid returns) while N CPU-bound processes spin:
 *                         min/p50/p99 ns. Shows whether reaping starves under load.
 *   scale LIVE CYCLES     fork+_exit+waitpid cost per cycle while LIVE other processes
 *                         exist (blocked in read() on a pipe): whether an exit's cost grows
 *                         with the number of processes.
 *   scalethreads MAXLIVE CYCLES
 *                         CYCLES fork+_exit+waitpid and CYCLES pthread_create+pthread_join
 *                         cycles, cost per cycle, at 1, 100, 1,000, 10,000 and 100,000 live
 *                         threads (those up to MAXLIVE) of one other process, blocked in
 *                         read() on minimal stacks: whether an exit's cost grows with the
 *                         number of threads.
 *   forkworkers W CYCLES  W worker processes at once, each running CYCLES fork+_exit+waitpid
 *                         cycles: wall time per cycle over all workers (throughput; with
 *                         several CPUs, whether it scales with W).
 *   threadworkers W CYCLES  the same with pthread_create+pthread_join cycles. */
#include <pthread.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long long now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000000000LL + t.tv_nsec;
}

static int by_value(const void *a, const void *b) {
    long long x = *(const long long *)a, y = *(const long long *)b;
    return (x > y) - (x < y);
}

static void die(const char *what) {
    printf("ERROR lethebench %s errno=%d\n", what, errno);
    exit(1);
}

static void saturated(long spinners, long samples) {
    long long *shared = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (shared == MAP_FAILED) die("mmap");
    pid_t *spinning = calloc(spinners + 1, sizeof *spinning);
    long long *latency = calloc(samples, sizeof *latency);
    if (!spinning || !latency) die("calloc");
    for (long i = 0; i < spinners; i++) {
        spinning[i] = fork();
        if (spinning[i] < 0) die("fork of a spinner");
        if (spinning[i] == 0)
            for (volatile unsigned long n = 0;; n++) {
            }
    }
    for (long i = 0; i < samples; i++) {
        pid_t pid = fork();
        if (pid < 0) die("fork");
        if (pid == 0) {
            *shared = now_ns();
            _exit(0);
        }
        if (waitpid(pid, NULL, 0) != pid) die("waitpid");
        latency[i] = now_ns() - *shared;
    }
    for (long i = 0; i < spinners; i++) kill(spinning[i], SIGKILL);
    for (long i = 0; i < spinners; i++) waitpid(spinning[i], NULL, 0);
    qsort(latency, samples, sizeof *latency, by_value);
    printf("RESULT mode=saturated spinners=%ld n=%ld min_ns=%lld p50_ns=%lld p99_ns=%lld\n", spinners, samples,
           latency[0], latency[samples / 2], latency[samples * 99 / 100]);
}

/* Wall time of CYCLES fork+_exit+waitpid cycles, in ns. */
static long long time_forks(long cycles) {
    long long start = now_ns();
    for (long i = 0; i < cycles; i++) {
        pid_t pid = fork();
        if (pid < 0) die("fork");
        if (pid == 0) _exit(0);
        if (waitpid(pid, NULL, 0) != pid) die("waitpid");
    }
    return now_ns() - start;
}

static void scale(long live, long cycles) {
    int fds[2];
    if (pipe(fds) != 0) die("pipe");
    for (long i = 0; i < live; i++) {
        pid_t pid = fork();
        if (pid < 0) die("fork of a live process");
        if (pid == 0) {
            char byte;
            close(fds[1]);
            read(fds[0], &byte, 1);
            _exit(0);
        }
    }
    long long total = time_forks(cycles);
    close(fds[0]);
    close(fds[1]);
    for (long i = 0; i < live; i++) wait(NULL);
    printf("RESULT mode=scale live=%ld n=%ld total_ns=%lld per_ns=%lld\n", live, cycles, total, total / cycles);
}

static void *nothing(void *arg) {
    return arg;
}

static void *blocked(void *arg) {
    char byte;
    read(*(int *)arg, &byte, 1);
    return NULL;
}

/* The holder of scalethreads' live threads: grows to each count read from `grow` and says
 * so on `ready`; exits (ending every thread) when `grow` closes. */
static void hold_threads(int grow, int ready, int hold) {
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, PTHREAD_STACK_MIN);
    pthread_attr_setguardsize(&attr, 0);
    long live = 1; /* this main thread */
    long target;
    while (read(grow, &target, sizeof target) == sizeof target) {
        for (; live < target; live++) {
            pthread_t thread;
            int error = pthread_create(&thread, &attr, blocked, &hold);
            if (error != 0) {
                printf("ERROR lethebench scalethreads: thread %ld of %ld not made, error %d\n", live + 1, target, error);
                fflush(stdout);
                _exit(3);
            }
        }
        if (write(ready, "r", 1) != 1) _exit(4);
    }
    _exit(0);
}

static void scale_threads(long max_live, long cycles) {
    int grow[2], ready[2], hold[2];
    if (pipe(grow) != 0 || pipe(ready) != 0 || pipe(hold) != 0) die("pipe");
    pid_t holder = fork();
    if (holder < 0) die("fork of the holder");
    if (holder == 0) {
        close(grow[1]);
        close(ready[0]);
        close(hold[1]);
        hold_threads(grow[0], ready[1], hold[0]);
    }
    close(grow[0]);
    close(ready[1]);
    close(hold[0]);
    static const long levels[] = {1, 100, 1000, 10000, 100000};
    for (size_t level = 0; level < sizeof levels / sizeof levels[0] && levels[level] <= max_live; level++) {
        long live = levels[level];
        char byte;
        if (write(grow[1], &live, sizeof live) != sizeof live || read(ready[0], &byte, 1) != 1)
            die("the holder of live threads failed");
        long long forks = time_forks(cycles);
        long long start = now_ns();
        for (long i = 0; i < cycles; i++) {
            pthread_t thread;
            if (pthread_create(&thread, NULL, nothing, NULL) != 0 || pthread_join(thread, NULL) != 0) die("pthread");
        }
        long long threads = now_ns() - start;
        printf("RESULT mode=scalethreads live=%ld n=%ld per_ns=%lld thread_per_ns=%lld\n", live, cycles, forks / cycles,
               threads / cycles);
        fflush(stdout);
    }
    close(grow[1]);
    int status;
    if (waitpid(holder, &status, 0) != holder || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
        die("the holder of live threads did not exit cleanly");
    close(ready[0]);
    close(hold[1]);
    /* The holder's threads are torn down after it is collected (teardown is not on the
     * waiter's path); a second per 10,000 of them keeps that work out of the next mode's
     * timing (100,000 took about 5 s). */
    sleep((unsigned)(max_live / 10000));
}

static void worker(int threads, long cycles) {
    for (long i = 0; i < cycles; i++) {
        if (threads) {
            pthread_t thread;
            if (pthread_create(&thread, NULL, nothing, NULL) != 0) _exit(3);
            if (pthread_join(thread, NULL) != 0) _exit(4);
        } else {
            pid_t pid = fork();
            if (pid < 0) _exit(3);
            if (pid == 0) _exit(0);
            if (waitpid(pid, NULL, 0) != pid) _exit(4);
        }
    }
    _exit(0);
}

static void workers(int threads, long count, long cycles) {
    long long start = now_ns();
    for (long i = 0; i < count; i++) {
        pid_t pid = fork();
        if (pid < 0) die("fork of a worker");
        if (pid == 0) worker(threads, cycles);
    }
    for (long i = 0; i < count; i++) {
        int status;
        if (wait(&status) < 0) die("wait for a worker");
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) die(threads ? "a thread worker failed" : "a fork worker failed");
    }
    long long total = now_ns() - start;
    printf("RESULT mode=%s workers=%ld n=%ld total_ns=%lld per_ns=%lld\n", threads ? "threadworkers" : "forkworkers",
           count, count * cycles, total, total / (count * cycles));
}

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: %s saturated N SAMPLES | scale LIVE CYCLES | scalethreads MAXLIVE CYCLES | forkworkers W CYCLES | threadworkers W CYCLES\n", argv[0]);
        return 2;
    }
    long a = atol(argv[2]), b = atol(argv[3]);
    if (!strcmp(argv[1], "saturated") && a >= 0 && b > 0) saturated(a, b);
    else if (!strcmp(argv[1], "scale") && a >= 0 && b > 0) scale(a, b);
    else if (!strcmp(argv[1], "scalethreads") && a > 0 && b > 0) scale_threads(a, b);
    else if (!strcmp(argv[1], "forkworkers") && a > 0 && b > 0) workers(0, a, b);
    else if (!strcmp(argv[1], "threadworkers") && a > 0 && b > 0) workers(1, a, b);
    else {
        fprintf(stderr, "lethebench: bad arguments\n");
        return 2;
    }
    return 0;
}
