/* Hostile but legal calls that once stopped or misled the kernel (issue 17), each checked
 * against what Linux does: memory calls, brk and copies over huge ranges, mmap's hint, the
 * main stack's growth up to RLIMIT_STACK (kernel copies below it included), tid == pid,
 * blocked signals staying pending, kills that land while the victim enters a blocking read,
 * and execve's room for its arguments. Prints "robust-musl: CHECK: got X, want Y" on the
 * first failure and exits 1. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#define FAIL(check, ...)                                  \
    do {                                                  \
        printf("robust-musl: %s: ", check);               \
        printf(__VA_ARGS__);                              \
        printf("\n");                                     \
        _exit(1);                                         \
    } while (0)

static const size_t TERABYTE = (size_t)1 << 40;

static long tid(void) { return syscall(SYS_gettid); }

/* Waits for child `pid` and returns its wait status. */
static int wait_for(pid_t pid) {
    int status = 0;
    if (waitpid(pid, &status, 0) != pid) FAIL("waitpid", "got errno %d, want the child %d", errno, pid);
    return status;
}

static void huge_ranges(void) {
    /* The range's end lies in the last page of the address space: rounded up, it wraps. */
    if (munmap((void *)4096, (size_t)-8191) != -1 || errno != EINVAL)
        FAIL("munmap_to_the_last_page", "got errno %d, want EINVAL", errno);
    void *low = (void *)0x10000000;
    if (munmap(low, TERABYTE) != 0) FAIL("munmap_terabyte", "got errno %d, want 0", errno);
    if (mprotect(low, TERABYTE, PROT_READ) != -1 || errno != ENOMEM)
        FAIL("mprotect_terabyte", "got errno %d, want ENOMEM", errno);
    if (mmap(NULL, TERABYTE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) != MAP_FAILED ||
        errno != ENOMEM)
        FAIL("mmap_terabyte", "got errno %d, want ENOMEM", errno);
    char *kept = mmap(low, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    if (kept != low) FAIL("mmap_fixed_page", "got %p, want %p", (void *)kept, low);
    kept[0] = 42;
    if (mmap(low, TERABYTE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) != MAP_FAILED ||
        errno != ENOMEM)
        FAIL("mmap_fixed_terabyte", "got errno %d, want ENOMEM", errno);
    if (kept[0] != 42) FAIL("mmap_fixed_terabyte", "the refused mapping changed what was there");
    if (munmap(low, TERABYTE) != 0) FAIL("munmap_terabyte_over_a_page", "got errno %d, want 0", errno);
}

/* A huge range inside the area top-down mmap has handed out: a PROT_NONE reservation of a
 * terabyte (Linux takes it: nothing is accounted for a mapping that cannot be written). */
static void huge_reserved_ranges(void) {
    char *reserved = mmap(NULL, TERABYTE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (reserved == MAP_FAILED) FAIL("mmap_terabyte_prot_none", "got errno %d, want a reservation", errno);
    /* Writable private memory is accounted: a terabyte is more than RAM and swap. */
    if (mprotect(reserved, TERABYTE, PROT_READ | PROT_WRITE) != -1 || errno != ENOMEM)
        FAIL("mprotect_reserved_terabyte_writable", "got errno %d, want ENOMEM", errno);
    if (mprotect(reserved + TERABYTE / 2, TERABYTE / 2, PROT_NONE) != 0)
        FAIL("mprotect_reserved_half_terabyte_none", "got errno %d, want 0", errno);
    char *middle = reserved + TERABYTE / 2;
    if (mprotect(middle, 4096, PROT_READ | PROT_WRITE) != 0)
        FAIL("mprotect_reserved_page", "got errno %d, want 0", errno);
    middle[0] = 5;
    if (munmap(reserved, TERABYTE) != 0) FAIL("munmap_reserved_terabyte", "got errno %d, want 0", errno);
    char *again = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (again == MAP_FAILED) FAIL("mmap_after_munmap_reserved_terabyte", "got errno %d", errno);
    again[0] = 1;
    munmap(again, 4096);
}

/* brk cannot grow over a terabyte, into the mappings, past the user half or below the
 * program: Linux then returns the break unchanged, and the heap stays usable. */
static void hostile_breaks(void) {
    char *start = (char *)syscall(SYS_brk, 0);
    uintptr_t hostile[] = {(uintptr_t)start + TERABYTE, (uintptr_t)start + ((size_t)1 << 46),
                           (uintptr_t)0x7ffffffff000, (uintptr_t)-4096, (uintptr_t)-1, 4096};
    for (size_t i = 0; i < sizeof hostile / sizeof hostile[0]; i++) {
        char *got = (char *)syscall(SYS_brk, hostile[i]);
        if (got != start) FAIL("brk_hostile", "brk(%#lx) gave %p, want the old break %p", (unsigned long)hostile[i], (void *)got, (void *)start);
    }
    /* Growing into a mapping just above the break fails whole and leaves that page as it was. */
    char *above = (char *)(((uintptr_t)start + 8 * 4096 + 4095) & ~(uintptr_t)4095);
    if (mmap(above, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) != above)
        FAIL("brk_into_a_mapping", "mmap at %p: errno %d", (void *)above, errno);
    above[0] = 7;
    char *got = (char *)syscall(SYS_brk, above + 4096);
    if (got != start) FAIL("brk_into_a_mapping", "gave %p, want the old break %p", (void *)got, (void *)start);
    if (above[0] != 7) FAIL("brk_into_a_mapping", "the mapping's page changed");
    munmap(above, 4096);
    got = (char *)syscall(SYS_brk, start + 4096);
    if (got != start + 4096) FAIL("brk_after_hostile", "gave %p, want %p", (void *)got, (void *)(start + 4096));
    start[4095] = 1;
    syscall(SYS_brk, start);
}

/* Copies of a terabyte to or from a one-page buffer (the page after it unmapped) cost the
 * page: Linux copies what is there and returns the short count, keeping the rest of a pipe's
 * data; a length that runs past the user half is EFAULT before anything moves. */
static void huge_copies(void) {
    char *page = (char *)0x20000000;
    if (mmap(page, 2 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) != page)
        FAIL("huge_copies", "mmap: errno %d", errno);
    munmap(page + 4096, 4096);
    memset(page, 'c', 4096);
    int fds[2];
    if (pipe(fds) != 0) FAIL("pipe", "errno %d", errno);
    long got = write(fds[1], page, TERABYTE);
    if (got != 4096) FAIL("write_terabyte_from_a_page", "got %ld (errno %d), want 4096", got, errno);
    got = write(fds[1], page, 4096);
    if (got != 4096) FAIL("write_page", "got %ld (errno %d), want 4096", got, errno);
    got = read(fds[0], page, TERABYTE);
    if (got != 4096) FAIL("read_terabyte_into_a_page", "got %ld (errno %d), want 4096", got, errno);
    got = read(fds[0], page, (size_t)-1);
    if (got != -1 || errno != EFAULT) FAIL("read_past_the_user_half", "got %ld (errno %d), want EFAULT", got, errno);
    got = write(fds[1], page, (size_t)-1);
    if (got != -1 || errno != EFAULT) FAIL("write_past_the_user_half", "got %ld (errno %d), want EFAULT", got, errno);
    void *kernel = (void *)0xffff800000000000;
    if (read(fds[0], kernel, 0) != -1 || errno != EFAULT)
        FAIL("read_nothing_into_the_kernel_half", "got errno %d, want EFAULT", errno);
    if (write(fds[1], kernel, 0) != -1 || errno != EFAULT)
        FAIL("write_nothing_from_the_kernel_half", "got errno %d, want EFAULT", errno);
    got = read(fds[0], page, 4096);
    if (got != 4096) FAIL("read_terabyte_keeps_the_rest", "got %ld (errno %d), want the 4096 bytes left", got, errno);
    struct iovec vectors[2] = {{page, TERABYTE}, {page, 16}};
    got = writev(fds[1], vectors, 2);
    if (got != 4096) FAIL("writev_terabyte_from_a_page", "got %ld (errno %d), want 4096", got, errno);
    got = read(fds[0], page, 4096 + 16);
    if (got != 4096) FAIL("writev_stops_at_the_short_vector", "read %ld bytes, want 4096", got);
    close(fds[0]);
    close(fds[1]);
    munmap(page, 4096);
}

/* A system call made in place, with no call instruction: nothing of the caller's frame is
 * touched by the program before the kernel copies to or from it. */
static inline long syscall_in_place(long number, long first, long second, long third) {
    long result;
    __asm__ volatile("syscall"
                     : "=a"(result)
                     : "a"(number), "D"(first), "S"(second), "d"(third)
                     : "rcx", "r11", "memory");
    return result;
}

/* Kernel copies below the main stack's lowest mapped page, within RLIMIT_STACK, grow the
 * stack as the program's own access would: a read into, or a write from, a large local
 * array the program has not touched yet is no EFAULT. (A call would push its return
 * address below the array, and that fault would grow the stack first.) */
static long __attribute__((noinline)) read_into_untouched_locals(int fd) {
    char buffer[1 << 20];
    long got = syscall_in_place(SYS_read, fd, (long)buffer, sizeof buffer);
    if (got == 5 && memcmp(buffer, "grows", 5) != 0) return -1000;
    return got;
}

static long __attribute__((noinline)) write_from_untouched_locals(int fd) {
    char buffer[2 << 20];
    return syscall_in_place(SYS_write, fd, (long)buffer, 16);
}

static void copies_grow_the_stack(void) {
    int fds[2];
    if (pipe(fds) != 0) FAIL("pipe", "errno %d", errno);
    if (write(fds[1], "grows", 5) != 5) FAIL("pipe_write", "errno %d", errno);
    long got = read_into_untouched_locals(fds[0]);
    if (got != 5) FAIL("read_into_untouched_stack", "got %ld, want 5", got);
    got = write_from_untouched_locals(fds[1]);
    if (got != 16) FAIL("write_from_untouched_stack", "got %ld, want 16", got);
    close(fds[0]);
    close(fds[1]);
}

/* Among mappings placed top-down, a hint is taken where munmap freed the range, and not
 * where a mapped page lies. */
static void hints_among_the_placed_mappings(void) {
    const int pages = 4;
    char *upper = mmap(NULL, pages * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    char *lower = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (upper == MAP_FAILED || lower == MAP_FAILED) FAIL("mmap_placed", "errno %d", errno);
    lower[0] = 7;
    if (munmap(upper, pages * 4096) != 0) FAIL("munmap_placed", "errno %d", errno);
    char *again = mmap(upper, pages * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (again != upper)
        FAIL("mmap_hint_into_a_range_munmap_freed", "got %p, want the hint %p", (void *)again, (void *)upper);
    again[pages * 4096 - 1] = 8;
    /* One page below the freed range lies a mapped page: a hint over it is not taken. */
    char *over_mapped = upper - 4096;
    if (munmap(upper, pages * 4096) != 0) FAIL("munmap_hinted", "errno %d", errno);
    char *placed = mmap(over_mapped, 2 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (placed == MAP_FAILED || (placed < over_mapped + 4096 && placed + 2 * 4096 > over_mapped))
        FAIL("mmap_hint_over_a_mapped_page", "got %p, want a place clear of the mapped page %p", (void *)placed,
             (void *)over_mapped);
    placed[0] = 9;
    if (lower[0] != 7) FAIL("mmap_hint_over_a_mapped_page", "the mapped page changed: %d, want 7", lower[0]);
    munmap(placed, 2 * 4096);
    munmap(lower, 4096);
}

/* A PROT_NONE reservation takes its hint when free, and a later hint over it is not taken,
 * in the process and in a forked child: the reservation stays whole (mprotect over it all
 * succeeds, and its pages read zero). An unreserved page inside is ENOMEM to mprotect. */
static void hints_over_a_reservation(void) {
    const int pages = 4;
    char *wanted = (char *)0x310000000;
    char *reserved = mmap(wanted, pages * 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (reserved != wanted)
        FAIL("mmap_prot_none_hint_free", "got %p, want the hint %p", (void *)reserved, (void *)wanted);
    char *inside = reserved + 4096;
    char *placed = mmap(inside, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (placed == MAP_FAILED || (placed >= reserved && placed < reserved + pages * 4096))
        FAIL("mmap_hint_over_a_reservation", "got %p, want a place outside %p..+%d pages", (void *)placed,
             (void *)reserved, pages);
    placed[0] = 1;
    pid_t child = fork();
    if (child == 0) {
        char *in_child = mmap(inside, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (in_child == MAP_FAILED || (in_child >= reserved && in_child < reserved + pages * 4096))
            FAIL("mmap_hint_over_a_reservation_forked", "got %p, want a place outside %p..+%d pages",
                 (void *)in_child, (void *)reserved, pages);
        if (mprotect(reserved, pages * 4096, PROT_READ | PROT_WRITE) != 0)
            FAIL("mprotect_a_forked_reservation", "got errno %d, want 0", errno);
        _exit(inside[0]);
    }
    int status = wait_for(child);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        FAIL("mmap_hint_over_a_reservation_forked", "the child ended with status %#x, want exit 0", status);
    if (mprotect(reserved, pages * 4096, PROT_READ | PROT_WRITE) != 0)
        FAIL("mprotect_a_reservation_a_hint_missed", "got errno %d, want 0", errno);
    if (inside[0] != 0) FAIL("mmap_hint_over_a_reservation", "the reserved page reads %d, want 0", inside[0]);
    if (mprotect(reserved, pages * 4096, PROT_NONE) != 0)
        FAIL("mprotect_none_again", "got errno %d, want 0", errno);
    if (munmap(reserved + 2 * 4096, 4096) != 0) FAIL("munmap_inside_a_reservation", "errno %d", errno);
    if (mprotect(reserved + 2 * 4096, 4096, PROT_READ) != -1 || errno != ENOMEM)
        FAIL("mprotect_a_page_unmapped_inside_a_reservation", "got errno %d, want ENOMEM", errno);
    if (mprotect(reserved + 3 * 4096, 4096, PROT_READ | PROT_WRITE) != 0)
        FAIL("mprotect_the_rest_of_a_split_reservation", "got errno %d, want 0", errno);
    reserved[3 * 4096] = 2;
    munmap(placed, 4096);
    munmap(reserved, pages * 4096);
}

static void hints(void) {
    char *wanted = (char *)0x300000000;
    char *first = mmap(wanted, 3 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (first != wanted) FAIL("mmap_hint_free", "got %p, want the hint %p", (void *)first, (void *)wanted);
    first[0] = 1;
    char *second = mmap(wanted, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (second == MAP_FAILED || (second >= first && second < first + 3 * 4096))
        FAIL("mmap_hint_taken", "got %p, want a place outside %p..+3 pages", (void *)second, (void *)first);
    second[0] = 2;
    if (first[0] != 1) FAIL("mmap_hint_taken", "the second mapping replaced the first");
    munmap(first, 3 * 4096);
    munmap(second, 4096);

    /* Above every mapping made so far and far below the stack: free, so taken. */
    char *high = (char *)0x7f4000000000;
    char *above = mmap(high, 2 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (above != high) FAIL("mmap_hint_above_the_mappings", "got %p, want the hint %p", (void *)above, (void *)high);
    above[4096] = 3;
    munmap(above, 2 * 4096);
    /* Just below the stack, inside its guard gap: not taken. */
    char local = 0;
    char *near_stack = (char *)(((uintptr_t)&local & ~(uintptr_t)4095) - 16 * 4096);
    char *placed = mmap(near_stack, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (placed == MAP_FAILED || placed == near_stack)
        FAIL("mmap_hint_in_the_stack_guard_gap", "got %p, want a place away from the stack", (void *)placed);
    munmap(placed, 4096);

    hints_among_the_placed_mappings();
    hints_over_a_reservation();
}

/* Recurses through `depth` frames of 4 KiB each, touching every one. */
static int __attribute__((noinline)) descend(int depth) {
    volatile char frame[4096];
    frame[0] = (char)depth;
    frame[4095] = (char)depth;
    if (depth == 0) return frame[0];
    return descend(depth - 1) + frame[4095];
}

/* Runs `descend(frames)` in a child and returns how it ended. */
static int recurse_in_child(int frames, rlim_t limit) {
    pid_t child = fork();
    if (child == 0) {
        if (limit != 0) {
            struct rlimit stack = {limit, limit};
            if (setrlimit(RLIMIT_STACK, &stack) != 0) _exit(3);
        }
        descend(frames);
        _exit(0);
    }
    return wait_for(child);
}

static void stack_growth(void) {
    int status = recurse_in_child(512, 0); /* 2 MiB */
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        FAIL("stack_grows_to_2_mib", "child ended with status %#x, want exit 0", status);
    status = recurse_in_child(4096, 0); /* 16 MiB, past the 8 MiB default */
    if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGSEGV)
        FAIL("stack_stops_at_rlimit", "child ended with status %#x, want SIGSEGV", status);
    status = recurse_in_child(3072, (rlim_t)16 << 20); /* 12 MiB under a 16 MiB limit */
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        FAIL("stack_follows_a_raised_rlimit", "child ended with status %#x, want exit 0", status);
}

static void *fork_from_thread(void *unused) {
    (void)unused;
    if (tid() == getpid()) FAIL("tid_of_second_thread", "got tid == pid %d", getpid());
    pid_t child = fork();
    if (child == 0) _exit(tid() == getpid() ? 0 : 1);
    return (void *)(intptr_t)wait_for(child);
}

static void thread_ids(void) {
    if (tid() != getpid()) FAIL("tid_of_main_thread", "got tid %ld, want pid %d", tid(), getpid());
    pid_t child = fork();
    if (child == 0) _exit(tid() == getpid() ? 0 : 1);
    if (wait_for(child) != 0) FAIL("tid_of_forked_child", "the child's tid is not its pid");
    pthread_t thread;
    void *status;
    if (pthread_create(&thread, NULL, fork_from_thread, NULL) != 0 || pthread_join(thread, &status) != 0)
        FAIL("tid_of_child_forked_by_a_thread", "pthread_create or join failed");
    if (status != 0) FAIL("tid_of_child_forked_by_a_thread", "the child's tid is not its pid");
}

static int is_pending(int signal) {
    sigset_t pending;
    sigemptyset(&pending);
    return sigpending(&pending) == 0 && sigismember(&pending, signal);
}

static void blocked_signals(void) {
    int pipe_fds[2];
    if (pipe(pipe_fds) != 0) FAIL("pipe", "errno %d", errno);
    pid_t child = fork();
    if (child == 0) {
        sigset_t term;
        sigemptyset(&term);
        sigaddset(&term, SIGTERM);
        sigprocmask(SIG_BLOCK, &term, NULL);
        kill(getpid(), SIGTERM);
        char alive = is_pending(SIGTERM) ? 'p' : 'n';
        write(pipe_fds[1], &alive, 1);
        sigprocmask(SIG_UNBLOCK, &term, NULL);
        _exit(7);
    }
    char seen = 0;
    read(pipe_fds[0], &seen, 1);
    int status = wait_for(child);
    if (seen != 'p') FAIL("blocked_sigterm_is_pending", "the child %s", seen ? "saw nothing pending" : "died at once");
    if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGTERM)
        FAIL("unblocked_sigterm_is_delivered", "child ended with status %#x, want SIGTERM", status);

    child = fork();
    if (child == 0) {
        sigset_t all;
        sigfillset(&all);
        sigprocmask(SIG_BLOCK, &all, NULL);
        write(pipe_fds[1], "b", 1);
        for (;;) pause();
    }
    read(pipe_fds[0], &seen, 1);
    kill(child, SIGKILL);
    status = wait_for(child);
    if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL)
        FAIL("sigkill_cannot_be_blocked", "child ended with status %#x, want SIGKILL", status);
    close(pipe_fds[0]);
    close(pipe_fds[1]);
}

/* A child killed just as it enters a blocking read on `fd` must end, every time. */
static void kills_racing_reads(const char *check, int rounds, int read_console) {
    int started[2], never[2];
    if (pipe(started) != 0 || pipe(never) != 0) FAIL("pipe", "errno %d", errno);
    for (int round = 0; round < rounds; round++) {
        pid_t child = fork();
        if (child < 0) FAIL(check, "fork in round %d: errno %d, want a pid", round, errno);
        if (child == 0) {
            char byte;
            write(started[1], "s", 1);
            read(read_console ? 0 : never[0], &byte, 1);
            _exit(9);
        }
        char byte;
        read(started[0], &byte, 1);
        kill(child, SIGKILL);
        int status = wait_for(child);
        if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL)
            FAIL(check, "round %d: child ended with status %#x, want SIGKILL", round, status);
    }
    close(started[0]);
    close(started[1]);
    close(never[0]);
    close(never[1]);
}

/* Runs this program again with `argv` (which starts with its own path and "exec-ok") in a
 * child and returns the child's wait status. */
static int exec_in_child(char **argv) {
    pid_t child = fork();
    if (child == 0) {
        execv(argv[0], argv);
        _exit(100 + errno);
    }
    return wait_for(child);
}

/* argv and envp have a limited room together (on Linux a quarter of RLIMIT_STACK), each
 * string at most 128 KiB with its NUL; past either execve fails with E2BIG, without the
 * kernel copying what it cannot hold. Within them any number of strings is taken. */
static void exec_arguments(const char *self) {
    enum { LONGEST = 128 * 1024, MANY = 3000 };
    char *longest = malloc(LONGEST);
    char *too_long = malloc(LONGEST + 1);
    char **argv = malloc((MANY + 3) * sizeof(char *));
    if (!longest || !too_long || !argv) FAIL("exec_arguments", "malloc failed");
    memset(longest, 'a', LONGEST - 1);
    longest[LONGEST - 1] = 0;
    memset(too_long, 'b', LONGEST);
    too_long[LONGEST] = 0;
    argv[0] = (char *)self;
    argv[1] = "exec-ok";

    for (int i = 2; i < 130; i++) argv[i] = longest;
    argv[130] = NULL;
    if (execv(self, argv) != -1 || errno != E2BIG)
        FAIL("exec_sixteen_mebibytes_of_arguments", "got errno %d, want E2BIG", errno);
    argv[2] = too_long;
    argv[3] = NULL;
    if (execv(self, argv) != -1 || errno != E2BIG)
        FAIL("exec_an_argument_past_128_kib", "got errno %d, want E2BIG", errno);

    for (int i = 2; i < MANY + 2; i++) argv[i] = "x";
    argv[MANY + 2] = NULL;
    int status = exec_in_child(argv);
    if (status != 0) FAIL("exec_three_thousand_arguments", "the child ended with %#x, want 0", status);
    free(argv);
    free(too_long);
    free(longest);
}

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "exec-ok") == 0) return 0;
    /* First, while the stack is still shallow. */
    copies_grow_the_stack();
    exec_arguments(argv[0]);
    huge_ranges();
    huge_reserved_ranges();
    hostile_breaks();
    huge_copies();
    hints();
    stack_growth();
    thread_ids();
    blocked_signals();
    kills_racing_reads("kill_racing_a_pipe_read", 500, 0);
    /* More than the process limit: a killed reader of stdin that stayed queued on the console
     * would keep its process, and fork would fail before the end. */
    kills_racing_reads("kill_racing_a_console_read", 1100, 1);
    printf("robust-musl: exec arguments, huge ranges, hints, stack growth, tids, pending signals and killed readers all as on Linux\n");
    return 0;
}
