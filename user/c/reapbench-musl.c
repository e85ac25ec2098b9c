/* Process and thread lifecycle benchmarks, printed as `bench reap` lines under the reaping
 * strategy in force (lethe_reaping(-1)): fork+exit+wait cycles, exit-to-wait-return
 * latency (min/p50/p99), thread create+join, forking K children then collecting them
 * (K = 64 and 512), and exit-to-wait latency while N CPU-bound processes spin. */
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define LETHE_REAPING 1000
#define SAMPLES 200

static const char *strategy;

static long long now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000000000LL + t.tv_nsec;
}

static int by_value(const void *a, const void *b) {
    long long x = *(const long long *)a, y = *(const long long *)b;
    return (x > y) - (x < y);
}

/* Child writes its exit time into shared memory just before _exit; the parent measures
 * from there to wait's return. */
static void exit_to_wait(const char *name, long long *shared, int samples) {
    static long long latency[SAMPLES];
    for (int i = 0; i < samples; i++) {
        pid_t pid = fork();
        if (pid == 0) {
            *shared = now_ns();
            _exit(0);
        }
        waitpid(pid, NULL, 0);
        latency[i] = now_ns() - *shared;
    }
    qsort(latency, samples, sizeof latency[0], by_value);
    printf("bench reap strategy=%s name=%s samples=%d min_us=%lld p50_us=%lld p99_us=%lld\n", strategy, name,
           samples, latency[0] / 1000, latency[samples / 2] / 1000, latency[samples * 99 / 100] / 1000);
}

static void fork_exit_wait(int cycles) {
    long long start = now_ns();
    for (int i = 0; i < cycles; i++) {
        pid_t pid = fork();
        if (pid == 0) _exit(0);
        waitpid(pid, NULL, 0);
    }
    long long per = (now_ns() - start) / cycles;
    printf("bench reap strategy=%s name=fork_exit_wait cycles=%d us_per_cycle=%lld\n", strategy, cycles, per / 1000);
}

static void *nothing(void *arg) { return arg; }

static void thread_create_join(int cycles) {
    long long start = now_ns();
    for (int i = 0; i < cycles; i++) {
        pthread_t thread;
        if (pthread_create(&thread, NULL, nothing, NULL) != 0) {
            printf("reapbench-musl: pthread_create failed at %d\n", i);
            exit(1);
        }
        pthread_join(thread, NULL);
    }
    long long per = (now_ns() - start) / cycles;
    printf("bench reap strategy=%s name=thread_create_join cycles=%d us_per_cycle=%lld\n", strategy, cycles, per / 1000);
}

static void forkmany(int k) {
    long long start = now_ns();
    for (int i = 0; i < k; i++) {
        pid_t pid = fork();
        if (pid < 0) {
            printf("reapbench-musl: fork %d of %d failed\n", i, k);
            exit(1);
        }
        if (pid == 0) _exit(0);
    }
    for (int i = 0; i < k; i++) wait(NULL);
    long long total = now_ns() - start;
    printf("bench reap strategy=%s name=forkmany k=%d total_us=%lld us_per_child=%lld\n", strategy, k, total / 1000,
           total / k / 1000);
}

static void exit_latency_beside_spinners(long long *shared, int spinners) {
    pid_t spinning[8];
    for (int i = 0; i < spinners; i++) {
        spinning[i] = fork();
        if (spinning[i] == 0) {
            for (;;) {
            }
        }
    }
    char name[40];
    snprintf(name, sizeof name, "exit_to_wait_beside_%d_spinners", spinners);
    exit_to_wait(name, shared, 20);
    for (int i = 0; i < spinners; i++) kill(spinning[i], SIGKILL);
    for (int i = 0; i < spinners; i++) waitpid(spinning[i], NULL, 0);
}

int main(void) {
    static const char *names[] = {"future", "reaper", "percpu-reaper"};
    long current = syscall(LETHE_REAPING, -1L);
    strategy = current >= 0 && current <= 2 ? names[current] : "unknown";
    long long *shared = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (shared == MAP_FAILED) return 1;
    fork_exit_wait(200);
    exit_to_wait("exit_to_wait", shared, SAMPLES);
    thread_create_join(1000);
    forkmany(64);
    forkmany(512);
    exit_latency_beside_spinners(shared, 4);
    printf("reapbench-musl: done\n");
    return 0;
}
