/* Reaping, isolated: how soon a dead thread's kernel stack and slot are free, how many dead
 * threads pile up in a storm of them, and how many context switches an exit costs. Builds
 * with musl-gcc -static for Lethe and with gcc -static -pthread for Linux; each mode prints
 * one procbench-style "RESULT key=value ..." line (times in ns), "-" for a value that
 * means nothing on the kernel it ran on.
 *
 *   exitfreed N COUNT   beside N spinning processes, COUNT threads one at a time, each
 *                       returning at once and joined: the time from each thread's exit to
 *                       its stack and slot being free, min/p50/p99/max. On Lethe from the
 *                       kernel's log (lethe_reaping_stats, 1001: exit to teardown's end).
 *                       On Linux, the nearest equivalent: the thread stores the time just
 *                       before it returns, and the creator spins on sysinfo() until procs
 *                       (Linux's nr_threads) drops back — only at N = 0, since beside
 *                       spinners that spin measures the creator's wait for the CPU.
 *   storm N COUNT STORMS
 *                       beside N spinners, STORMS processes at once (one per CPU for an SMP
 *                       run) create COUNT detached threads in all, that return at once, as
 *                       fast as they can, retrying (after sched_yield) when pthread_create
 *                       says EAGAIN: threads per second (wall time until the last storm
 *                       process is collected), the longest pthread_create call (retries
 *                       included), the EAGAIN count; on Lethe also the peak of dead
 *                       threads not yet freed and of the kernel bytes they hold, and the
 *                       share of teardowns run on the CPU the thread died on.
 *   switches COUNT      context switches per exit: COUNT fork+_exit+waitpid cycles, then
 *                       COUNT pthread_create+join cycles; on Lethe from the kernel's count
 *                       (every CPU's), on Linux from /proc/stat's ctxt. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/sysinfo.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define LETHE_REAPING_STATS 1001
#define RESET_PEAKS 1
#define STACK_BYTES 16384

/* abi::reaping::ReapingStats. */
struct reaping_stats {
    uint64_t reaped_by[3];
    uint64_t dead_threads, peak_dead_threads;
    uint64_t dead_bytes, peak_dead_bytes, dead_thread_bytes;
    uint64_t context_switches;
    uint64_t torn_down_on_dying_cpu, torn_down_elsewhere;
    uint64_t latencies_logged, latency_log_capacity, longest_latency_ns;
};

static int on_lethe;

static long long now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000000000LL + t.tv_nsec;
}

static void die(const char *what) {
    printf("ERROR stormbench %s errno=%d\n", what, errno);
    fflush(stdout);
    exit(1);
}

static int by_value(const void *a, const void *b) {
    long long x = *(const long long *)a, y = *(const long long *)b;
    return (x > y) - (x < y);
}

static long stats(struct reaping_stats *into, long long *latencies, long capacity, long flags) {
    return syscall(LETHE_REAPING_STATS, into, latencies, capacity, flags);
}

static struct reaping_stats lethe_stats(void) {
    struct reaping_stats now;
    if (stats(&now, NULL, 0, 0) < 0) die("lethe_reaping_stats");
    return now;
}

static void pause_ms(long ms) {
    struct timespec pause = {ms / 1000, ms % 1000 * 1000000};
    nanosleep(&pause, NULL);
}

/* Lethe: waits (at most `seconds`) until no thread is dead and not yet freed, so that what
 * follows is measured from a clean start; returns 0 if that never came. */
static int until_no_dead_threads(int seconds) {
    for (long waited = 0; waited < seconds * 1000L; waited++) {
        if (lethe_stats().dead_threads == 0) return 1;
        pause_ms(1);
    }
    return 0;
}

static pid_t *start_spinners(long count) {
    pid_t *spinners = calloc(count + 1, sizeof *spinners);
    if (!spinners) die("calloc");
    for (long i = 0; i < count; i++) {
        spinners[i] = fork();
        if (spinners[i] < 0) die("fork of a spinner");
        if (spinners[i] == 0)
            for (volatile unsigned long n = 0;; n++) {
            }
    }
    return spinners;
}

static void stop_spinners(pid_t *spinners, long count) {
    for (long i = 0; i < count; i++) kill(spinners[i], SIGKILL);
    for (long i = 0; i < count; i++) waitpid(spinners[i], NULL, 0);
    free(spinners);
}

static volatile long long exit_ns;

static void *note_exit_and_return(void *arg) {
    exit_ns = now_ns();
    return arg;
}

static void *nothing(void *arg) {
    return arg;
}

static unsigned short procs_now(void) {
    struct sysinfo info;
    if (sysinfo(&info) != 0) die("sysinfo");
    return info.procs;
}

static void exit_freed(long spinners, long count) {
    if (!on_lethe && spinners > 0) {
        printf("RESULT mode=exitfreed spinners=%ld n=0 source=none p50_ns=- p99_ns=-\n", spinners);
        return;
    }
    long long *latency = calloc(count, sizeof *latency);
    if (!latency) die("calloc");
    pid_t *spinning = start_spinners(spinners);
    struct reaping_stats reset;
    if (on_lethe && (!until_no_dead_threads(10) || stats(&reset, NULL, 0, RESET_PEAKS) < 0))
        die("exitfreed: dead threads of an earlier run were not freed within 10 s");
    long measured = 0;
    for (long i = 0; i < count; i++) {
        pthread_t thread;
        unsigned short before = on_lethe ? 0 : procs_now();
        exit_ns = 0;
        if (pthread_create(&thread, NULL, note_exit_and_return, NULL) != 0) die("pthread_create");
        if (!on_lethe) {
            long long start = now_ns();
            while (exit_ns == 0 || procs_now() > before) {
                if (now_ns() - start > 1000000000LL) break;
            }
            long long freed = now_ns();
            if (exit_ns != 0 && procs_now() <= before) latency[measured++] = freed - exit_ns;
        }
        if (pthread_join(thread, NULL) != 0) die("pthread_join");
    }
    if (on_lethe) {
        for (long waited = 0; lethe_stats().latencies_logged < (uint64_t)count; waited++) {
            if (waited > 60000) die("exitfreed: threads not freed within 60 s");
            pause_ms(1);
        }
        struct reaping_stats after;
        long copied = stats(&after, latency, count, 0);
        if (copied < 0) die("lethe_reaping_stats");
        measured = copied;
    }
    stop_spinners(spinning, spinners);
    if (measured == 0) die("exitfreed: no latency measured");
    qsort(latency, measured, sizeof *latency, by_value);
    printf("RESULT mode=exitfreed spinners=%ld n=%ld source=%s min_ns=%lld p50_ns=%lld p99_ns=%lld max_ns=%lld\n", spinners,
           measured, on_lethe ? "lethe" : "sysinfo", latency[0], latency[measured / 2], latency[measured * 99 / 100],
           latency[measured - 1]);
    free(latency);
}

/* What each storm process reports, in memory shared with the parent. */
struct storm_report {
    long long longest_create_ns;
    long eagain;
    long made;
};

static void storm_process(long count, struct storm_report *report) {
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attr, STACK_BYTES);
    for (long i = 0; i < count; i++) {
        long long start = now_ns();
        for (;;) {
            pthread_t thread;
            int error = pthread_create(&thread, &attr, nothing, NULL);
            if (error == 0) break;
            if (error != EAGAIN) {
                printf("ERROR stormbench storm: pthread_create said %d\n", error);
                fflush(stdout);
                _exit(3);
            }
            report->eagain++;
            sched_yield();
        }
        long long waited = now_ns() - start;
        if (waited > report->longest_create_ns) report->longest_create_ns = waited;
        report->made++;
    }
    _exit(0);
}

static void storm(long spinners, long count, long storms) {
    struct storm_report *reports =
        mmap(NULL, storms * sizeof *reports, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (reports == MAP_FAILED) die("mmap");
    memset(reports, 0, storms * sizeof *reports);
    pid_t *spinning = start_spinners(spinners);
    struct reaping_stats before;
    if (on_lethe) {
        if (!until_no_dead_threads(10) || stats(&before, NULL, 0, RESET_PEAKS) < 0)
            die("storm: dead threads of an earlier run were not freed within 10 s");
    }
    long long start = now_ns();
    for (long i = 0; i < storms; i++) {
        pid_t pid = fork();
        if (pid < 0) die("fork of a storm");
        if (pid == 0) storm_process(count / storms + (i < count % storms), &reports[i]);
    }
    for (long i = 0; i < storms; i++) {
        int status;
        if (wait(&status) < 0) die("wait for a storm");
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) die("a storm process failed");
    }
    long long wall = now_ns() - start;
    stop_spinners(spinning, spinners);
    long long longest = 0;
    long eagain = 0, made = 0;
    for (long i = 0; i < storms; i++) {
        if (reports[i].longest_create_ns > longest) longest = reports[i].longest_create_ns;
        eagain += reports[i].eagain;
        made += reports[i].made;
    }
    char lethe_fields[200] = "peak_dead=- peak_kib=- on_dying_cpu_pct=-";
    if (on_lethe) {
        if (!until_no_dead_threads(120)) die("storm: dead threads not freed within 120 s");
        struct reaping_stats after = lethe_stats();
        uint64_t on_dying = after.torn_down_on_dying_cpu - before.torn_down_on_dying_cpu;
        uint64_t elsewhere = after.torn_down_elsewhere - before.torn_down_elsewhere;
        snprintf(lethe_fields, sizeof lethe_fields, "peak_dead=%llu peak_kib=%llu on_dying_cpu_pct=%.1f",
                 (unsigned long long)after.peak_dead_threads, (unsigned long long)(after.peak_dead_bytes / 1024),
                 on_dying + elsewhere ? 100.0 * on_dying / (on_dying + elsewhere) : 0.0);
    }
    printf("RESULT mode=storm spinners=%ld storms=%ld n=%ld total_ns=%lld per_s=%.0f longest_create_ns=%lld eagain=%ld %s\n",
           spinners, storms, made, wall, made * 1e9 / wall, longest, eagain, lethe_fields);
    munmap(reports, storms * sizeof *reports);
}

static unsigned long long switches_now(void) {
    if (on_lethe) return lethe_stats().context_switches;
    FILE *stat = fopen("/proc/stat", "r");
    if (!stat) die("open /proc/stat");
    char line[256];
    unsigned long long switches = 0;
    while (fgets(line, sizeof line, stat))
        if (sscanf(line, "ctxt %llu", &switches) == 1) break;
    fclose(stat);
    return switches;
}

static void switches(long count) {
    unsigned long long start = switches_now();
    for (long i = 0; i < count; i++) {
        pid_t pid = fork();
        if (pid < 0) die("fork");
        if (pid == 0) _exit(0);
        if (waitpid(pid, NULL, 0) != pid) die("waitpid");
    }
    unsigned long long forked = switches_now();
    for (long i = 0; i < count; i++) {
        pthread_t thread;
        if (pthread_create(&thread, NULL, nothing, NULL) != 0 || pthread_join(thread, NULL) != 0) die("pthread");
    }
    unsigned long long threaded = switches_now();
    printf("RESULT mode=switches n=%ld source=%s process_per_exit=%.2f thread_per_exit=%.2f\n", count,
           on_lethe ? "lethe" : "procstat", (double)(forked - start) / count, (double)(threaded - forked) / count);
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    struct reaping_stats probe;
    on_lethe = stats(&probe, NULL, 0, 0) == 0;
    long a = argc > 2 ? atol(argv[2]) : -1, b = argc > 3 ? atol(argv[3]) : -1, c = argc > 4 ? atol(argv[4]) : 1;
    if (argc >= 4 && !strcmp(argv[1], "exitfreed") && a >= 0 && b > 0) exit_freed(a, b);
    else if (argc >= 4 && !strcmp(argv[1], "storm") && a >= 0 && b > 0 && c > 0) storm(a, b, c);
    else if (argc >= 3 && !strcmp(argv[1], "switches") && a > 0) switches(a);
    else {
        fprintf(stderr, "usage: %s exitfreed N COUNT | storm N COUNT [STORMS] | switches COUNT\n", argv[0]);
        return 2;
    }
    return 0;
}
