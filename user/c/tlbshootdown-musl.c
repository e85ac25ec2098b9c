/* TLB shootdown: a thread keeps reading a page while another thread of the same process
 * unmaps it. Once munmap has returned, the reader's next read must fault (the process
 * dies of SIGSEGV): a reader that keeps reading after that read a stale TLB entry, that
 * is, memory that may already belong to someone else. The parent reports how the child
 * ended and on which CPUs the two threads ran (with several CPUs they run side by side). */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile long *page;
static volatile long reads;
static volatile int reader_cpu = -1;
/* Set by the unmapper once munmap has returned; the reader checks it after each read. */
static volatile int unmapped;
static volatile long *report;

static void *reader(void *unused) {
    (void)unused;
    for (;;) {
        if (reads % 4096 == 0) reader_cpu = sched_getcpu();
        int was_unmapped = unmapped;
        long value = *page;
        if (value != 4242) {
            report[0] = 2; /* read something other than what was written */
            _exit(2);
        }
        reads++;
        if (was_unmapped) {
            /* The read came after munmap had returned (x86 keeps loads in order), yet it
             * did not fault: a stale TLB entry. */
            report[0] = 3;
            _exit(3);
        }
    }
    return NULL;
}

static void child(void) {
    page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (page == MAP_FAILED) _exit(4);
    page[0] = 4242;
    pthread_t thread;
    if (pthread_create(&thread, NULL, reader, NULL) != 0) _exit(5);
    while (reads < 100000) sched_yield();
    /* A new thread starts on its creator's CPU; an idle CPU steals one of the two within a
     * tick or so. Wait for that (a bounded while: with one CPU it never comes). */
    for (int tries = 0; tries < 200 && reader_cpu == sched_getcpu(); tries++) sched_yield();
    report[1] = reader_cpu;
    report[2] = sched_getcpu();
    munmap((void *)page, 4096);
    unmapped = 1;
    /* The reader must die of SIGSEGV, taking the process with it. */
    for (long spins = 0; spins < 200000000L; spins++) {
        if (spins % 1000000 == 0) sched_yield();
    }
    report[0] = 6;
    _exit(6);
}

int main(void) {
    report = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (report == MAP_FAILED) return 1;
    report[1] = report[2] = -1;
    pid_t pid = fork();
    if (pid == 0) child();
    int status;
    if (waitpid(pid, &status, 0) != pid) return 1;
    int cpus_apart = report[1] != report[2];
    printf("tlbshootdown-musl: reader on CPU %ld, unmapper on CPU %ld (%s)\n", report[1], report[2],
           cpus_apart ? "side by side" : "same CPU");
    if (WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV) {
        printf("tlbshootdown-musl: the reader faulted after munmap\n");
        return 0;
    }
    printf("tlbshootdown-musl: child ended with status %#x, report %ld\n", status, report[0]);
    return 1;
}
