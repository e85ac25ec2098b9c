/* A system-call fuzzer: batches of short-lived processes, several threads each, make random
 * system calls with hostile arguments, while one thread of each keeps unmapping and
 * remapping memory the others pass pointers into. A batch that stops making progress is
 * killed. After every batch the parent checks that the kernel still forks, waits, creates
 * and joins threads and carries bytes through a pipe, and that nothing is left to collect.
 *
 *   fuzz-musl CALLS SEED     make at least CALLS calls, drawing from SEED
 *
 * Prints one summary line, "fuzz-musl: N calls in T ms (R calls/s), B batches, K killed,
 * U unexpected", and exits 0 only if every check held (U is 0). The kernel surviving, and
 * giving everything back once the batches are collected, is for the caller to check. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum {
    CHILDREN = 3,         /* processes per batch */
    THREADS = 3,          /* threads per process beside its main thread */
    CALLS_PER_THREAD = 150,
    STALL_MS = 250,       /* a batch whose calls stop for this long is killed */
    BATCH_MS = 5000,      /* and one that runs this long in all */
    PAGE = 4096,
    VICTIM_PAGES = 8,     /* the region the racing thread unmaps and remaps */
};

/* Lethe's reaping-strategy call: -1 reads the strategy, 0..2 set it. */
#define LETHE_REAPING 1000

/* Counters every process of a batch adds to (MAP_SHARED). */
struct shared {
    unsigned long calls;
    unsigned long threads_done;
};

static struct shared *shared;

/* Per-process state of a fuzzing child. */
static char *buffer;     /* read-write, BUFFER bytes */
static char *read_only;  /* a read-only page */
static char *straddle;   /* the last bytes of a mapping whose next page is unmapped */
static char *victim;     /* VICTIM_PAGES pages the racing thread keeps unmapping */
static int pipe_fds[2];

enum { BUFFER = 16 * PAGE };

static uint64_t next_random(uint64_t *state) {
    /* xorshift64* */
    uint64_t x = *state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return x * 0x2545f4914f6cdd1dull;
}

static long now_ms(void) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

/* A hostile or plausible pointer. */
static uint64_t pointer(uint64_t *state) {
    uint64_t r = next_random(state);
    switch (r % 16) {
    case 0: return 0;
    case 1: return 1 + r % PAGE;                       /* the null page */
    case 2: return 0xffff800000000000ull + (r >> 8) % (1ull << 30); /* the kernel's physical window */
    case 3: return 0xffffffff80000000ull + (r >> 8) % (1ull << 24); /* the kernel image */
    case 4: return 0x0000800000000000ull - 8 * (r % 4); /* the end of the user half, and past it */
    case 5: return 0x8000000000000000ull | (r >> 4);     /* non-canonical */
    case 6: return 0x0000500000000000ull + (r >> 8) % (1ull << 30); /* unmapped user space */
    case 7: return (uint64_t)read_only + r % PAGE;
    case 8: return (uint64_t)straddle + r % 64;          /* runs into the unmapped page */
    case 9:
    case 10: return (uint64_t)victim + r % (VICTIM_PAGES * PAGE); /* mapped or not, by the race */
    case 11: return (uint64_t)&r;                        /* this thread's stack */
    case 12: return (uint64_t)&pointer;                  /* code */
    default: return (uint64_t)buffer + r % BUFFER;
    }
}

/* A hostile or plausible number. */
static uint64_t number(uint64_t *state) {
    uint64_t r = next_random(state);
    switch (r % 13) {
    case 0: return 0;
    case 1: return 1;
    case 2: return (uint64_t)-1;
    case 3: return r % 64;
    case 4: return PAGE;
    case 5: return SIZE_MAX;
    case 6: return 1ull << 40;
    case 7: return 0x7fffffff;
    case 8: return 0x80000000ull;
    case 9: return r;
    case 10: return (uint64_t)pipe_fds[r & 1];
    case 11: return 4ull << 20; /* enough to press on memory when many ask at once */
    default: return r % 4096;
    }
}

static uint64_t argument(uint64_t *state) {
    return next_random(state) & 1 ? pointer(state) : number(state);
}

/* Calls the fuzzer must not make as drawn, and what it makes instead. Each keeps the run
 * about the kernel: the parent and pid 1 must live, a batch must stay killable as a whole,
 * and the console must not fill with noise. */
static long neutered(long call, uint64_t a[6], uint64_t *state) {
    switch (call) {
    case SYS_fork:
    case SYS_vfork:
    case SYS_clone:
    case 435: /* clone3: a process the batch's kill would not reach */
        return SYS_getpid;
    case SYS_kill:
    case SYS_tkill:
        /* only ourselves or nobody: never the parent, init, or everyone (-1) */
        a[0] = next_random(state) & 1 ? (uint64_t)getpid() : 0x3fffffff;
        return call;
    case SYS_tgkill:
        a[0] = getpid();
        return call;
    case SYS_prlimit64:
        a[0] = 0; /* our own limits, not the parent's */
        return call;
    case SYS_setpriority:
    case SYS_sched_setaffinity:
    case SYS_sched_setscheduler:
        a[1] = 0;
        return call;
    case SYS_execve:
    case SYS_execveat:
        a[0] = pointer(state) & ~0xfffull; /* never a real path: another program would run */
        a[1] = pointer(state);
        return call;
    case SYS_reboot:
        return SYS_getpid;
    case SYS_write:
    case SYS_writev:
    case SYS_pwrite64:
    case SYS_pwritev:
        if (a[0] <= 2) a[0] = (uint64_t)pipe_fds[1]; /* not the console */
        return call;
    default:
        return call;
    }
}

static void fuzz(uint64_t seed) {
    uint64_t state = seed | 1;
    for (int i = 0; i < CALLS_PER_THREAD; i++) {
        uint64_t a[6];
        uint64_t r = next_random(&state);
        long call;
        switch (r % 10) {
        case 0: call = (long)(r >> 8) % 1200 - 100; break; /* anything, below 0 and past the table */
        case 1: call = LETHE_REAPING; break;
        default: call = (long)(r >> 8) % 335; break;         /* Linux's table */
        }
        for (int j = 0; j < 6; j++) a[j] = argument(&state);
        if (call == LETHE_REAPING) a[0] = (uint64_t)((long)(next_random(&state) % 5) - 2);
        call = neutered(call, a, &state);
        __atomic_fetch_add(&shared->calls, 1, __ATOMIC_RELAXED);
        syscall(call, a[0], a[1], a[2], a[3], a[4], a[5]);
    }
}

static void *fuzz_thread(void *seed) {
    fuzz((uint64_t)seed);
    __atomic_fetch_add(&shared->threads_done, 1, __ATOMIC_RELAXED);
    return NULL;
}

/* Unmaps, remaps and reprotects the victim region while the others pass pointers into it. */
static void *race_thread(void *seed) {
    uint64_t state = (uint64_t)seed | 1;
    for (int i = 0; i < CALLS_PER_THREAD; i++) {
        uint64_t r = next_random(&state);
        char *page = victim + (r % VICTIM_PAGES) * PAGE;
        size_t length = (1 + (r >> 8) % 3) * PAGE;
        if (page + length > victim + VICTIM_PAGES * PAGE) length = PAGE;
        __atomic_fetch_add(&shared->calls, 1, __ATOMIC_RELAXED);
        switch ((r >> 16) % 3) {
        case 0: munmap(page, length); break;
        case 1: mmap(page, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0); break;
        default: mprotect(page, length, (r >> 24) & 1 ? PROT_READ : PROT_READ | PROT_WRITE); break;
        }
    }
    __atomic_fetch_add(&shared->threads_done, 1, __ATOMIC_RELAXED);
    return NULL;
}

static void fuzzing_child(uint64_t seed) {
    /* Fds 0-2 become a non-blocking pipe: nothing reaches the console, nothing blocks on it. */
    if (pipe2(pipe_fds, O_NONBLOCK) != 0) _exit(2);
    dup2(pipe_fds[0], 0);
    dup2(pipe_fds[1], 1);
    dup2(pipe_fds[1], 2);
    buffer = mmap(NULL, BUFFER, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    read_only = mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    char *pair = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    victim = mmap(NULL, VICTIM_PAGES * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (buffer == MAP_FAILED || read_only == MAP_FAILED || pair == MAP_FAILED || victim == MAP_FAILED) _exit(2);
    munmap(pair + PAGE, PAGE);
    straddle = pair + PAGE - 64;
    pthread_t threads[THREADS + 1];
    int made = 0;
    for (int i = 0; i < THREADS; i++)
        if (pthread_create(&threads[made], NULL, fuzz_thread, (void *)(seed * 31 + i + 1)) == 0) made++;
    if (pthread_create(&threads[made], NULL, race_thread, (void *)(seed * 37 + 7)) == 0) made++;
    fuzz(seed * 41 + 3);
    /* Threads blocked for good are ended with the process. */
    long start = now_ms();
    while (__atomic_load_n(&shared->threads_done, __ATOMIC_RELAXED) < (unsigned long)made && now_ms() - start < 50)
        sched_yield();
    _exit(0);
}

static int unexpected;

static void report(const char *check, const char *fmt, long got) {
    unexpected++;
    printf("fuzz-musl: %s: ", check);
    printf(fmt, got);
    printf("\n");
}

static void *returns_seven(void *unused) {
    (void)unused;
    return (void *)7;
}

/* The kernel still forks, waits, makes threads and carries bytes, and nothing of the batch
 * is left to collect. */
static void check_kernel(long strategy) {
    pid_t child = fork();
    if (child == 0) _exit(42);
    int status = 0;
    if (child < 0) report("fork", "failed with errno %ld", errno);
    else if (waitpid(child, &status, 0) != child || !WIFEXITED(status) || WEXITSTATUS(status) != 42)
        report("wait", "the child ended with %#lx, want exit 42", status);
    pthread_t thread;
    void *result = NULL;
    if (pthread_create(&thread, NULL, returns_seven, NULL) != 0) report("pthread_create", "failed%ld", 0);
    else if (pthread_join(thread, &result) != 0 || result != (void *)7)
        report("pthread_join", "returned %ld, want 7", (long)result);
    int fds[2];
    char got[5] = {0};
    if (pipe(fds) != 0) report("pipe", "failed with errno %ld", errno);
    else {
        if (write(fds[1], "lethe", 5) != 5 || read(fds[0], got, 5) != 5 || memcmp(got, "lethe", 5) != 0)
            report("pipe", "did not carry the bytes%ld", 0);
        close(fds[0]);
        close(fds[1]);
    }
    if (waitpid(-1, &status, WNOHANG) != -1 || errno != ECHILD)
        report("leftover", "a child was left to collect (errno %ld)", errno);
    if (syscall(LETHE_REAPING, strategy) < 0) report("lethe_reaping", "could not set strategy %ld", strategy);
}

/* Runs one batch and returns whether it had to be killed. */
static int run_batch(uint64_t seed) {
    pid_t children[CHILDREN];
    int alive = 0;
    for (int i = 0; i < CHILDREN; i++) {
        pid_t child = fork();
        if (child == 0) fuzzing_child(seed * CHILDREN + i + 1);
        if (child > 0) children[alive++] = child;
    }
    long start = now_ms(), last_progress = start;
    unsigned long last_calls = __atomic_load_n(&shared->calls, __ATOMIC_RELAXED);
    int killed = 0, left = alive;
    while (left > 0) {
        int status;
        pid_t done = waitpid(-1, &status, WNOHANG);
        if (done > 0) {
            left--;
            continue;
        }
        if (done < 0) {
            report("waitpid", "failed with errno %ld while children were left", errno);
            break;
        }
        struct timespec tick = {0, 1000000};
        nanosleep(&tick, NULL);
        long now = now_ms();
        unsigned long calls = __atomic_load_n(&shared->calls, __ATOMIC_RELAXED);
        if (calls != last_calls) {
            last_calls = calls;
            last_progress = now;
        }
        if (!killed && (now - last_progress > STALL_MS || now - start > BATCH_MS)) {
            for (int i = 0; i < alive; i++) kill(children[i], SIGKILL);
            killed = 1;
        }
    }
    return killed;
}

int main(int argc, char **argv) {
    if (argc < 3) {
        printf("usage: fuzz-musl CALLS SEED\n");
        return 2;
    }
    unsigned long target = strtoul(argv[1], NULL, 0);
    uint64_t seed = strtoull(argv[2], NULL, 0);
    shared = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (shared == MAP_FAILED) {
        printf("fuzz-musl: no shared page\n");
        return 2;
    }
    long strategy = syscall(LETHE_REAPING, -1);
    long start = now_ms();
    unsigned long batches = 0, killed = 0;
    while (shared->calls < target) {
        shared->threads_done = 0;
        killed += run_batch(seed * 1000003 + batches);
        batches++;
        check_kernel(strategy);
        if (unexpected > 10) break;
    }
    long elapsed = now_ms() - start;
    if (elapsed < 1) elapsed = 1;
    printf("fuzz-musl: %lu calls in %ld ms (%ld calls/s), %lu batches, %lu killed, %d unexpected\n",
           shared->calls, elapsed, (long)(shared->calls * 1000 / elapsed), batches, killed, unexpected);
    return unexpected == 0 ? 0 : 1;
}
