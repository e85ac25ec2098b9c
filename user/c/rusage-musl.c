/* CPU time is settled at exit and passed up at wait (wait4's rusage, getrusage): a process
 * that spins for 300 ms sees it as CPU time, much of it user time (its clock reads are
 * system calls); a sleep adds no time; a child that spins
 * and maps memory reports user and system time to wait4, together with the time of the
 * grandchild it collected, and getrusage(RUSAGE_CHILDREN) then holds the same. */
#include <errno.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long long now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000LL + t.tv_nsec / 1000000;
}

static long long ms(struct timeval t) {
    return t.tv_sec * 1000LL + t.tv_usec / 1000;
}

static void spin_for(long long milliseconds) {
    long long until = now_ms() + milliseconds;
    volatile unsigned long sink = 0;
    while (now_ms() < until) {
        for (int i = 0; i < 10000; i++) sink += i;
    }
}

/* Kernel work: map, touch and unmap 1 MiB, 50 times. */
static void work_in_the_kernel(void) {
    for (int i = 0; i < 50; i++) {
        char *memory = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (memory == MAP_FAILED) _exit(90);
        memory[0] = 1;
        munmap(memory, 1 << 20);
    }
}

static int fail(const char *what, long long value) {
    printf("rusage-musl: %s (%lld)\n", what, value);
    return 1;
}

int main(void) {
    struct rusage self;
    spin_for(300);
    if (getrusage(RUSAGE_SELF, &self) != 0) return fail("getrusage(SELF)", errno);
    if (ms(self.ru_utime) + ms(self.ru_stime) < 200) return fail("300 ms of spinning shows as CPU ms", ms(self.ru_utime) + ms(self.ru_stime));
    if (ms(self.ru_utime) < 75) return fail("300 ms of spinning shows as user ms", ms(self.ru_utime));

    long long system_before = ms(self.ru_stime), user_before = ms(self.ru_utime);
    struct timespec pause = {0, 300 * 1000 * 1000};
    nanosleep(&pause, NULL);
    if (getrusage(RUSAGE_SELF, &self) != 0) return fail("getrusage(SELF) after sleeping", errno);
    long long added = ms(self.ru_stime) - system_before + ms(self.ru_utime) - user_before;
    if (added > 100) return fail("a 300 ms sleep added CPU ms", added);

    pid_t child = fork();
    if (child < 0) return fail("fork", errno);
    if (child == 0) {
        pid_t grandchild = fork();
        if (grandchild == 0) {
            spin_for(200);
            _exit(0);
        }
        int status;
        if (waitpid(grandchild, &status, 0) != grandchild) _exit(91);
        spin_for(200);
        work_in_the_kernel();
        _exit(0);
    }
    struct rusage of_child;
    int status = -1;
    if (wait4(child, &status, 0, &of_child) != child) return fail("wait4", errno);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return fail("the child failed", status);
    /* The spins read the clock by system call: part of their time is system time (at
     * -smp 4 under TCG, up to half of it). */
    if (ms(of_child.ru_utime) + ms(of_child.ru_stime) < 300) return fail("child and grandchild spun 400 ms; CPU ms", ms(of_child.ru_utime) + ms(of_child.ru_stime));
    if (ms(of_child.ru_utime) < 100) return fail("child and grandchild spun 400 ms; user ms", ms(of_child.ru_utime));
    if (ms(of_child.ru_stime) < 30) return fail("50 MiB mapped, touched and unmapped took system ms", ms(of_child.ru_stime));

    struct rusage children;
    if (getrusage(RUSAGE_CHILDREN, &children) != 0) return fail("getrusage(CHILDREN)", errno);
    if (ms(children.ru_utime) != ms(of_child.ru_utime) || ms(children.ru_stime) != ms(of_child.ru_stime))
        return fail("RUSAGE_CHILDREN differs from wait4's user ms", ms(children.ru_utime));
    if (syscall(SYS_getrusage, 5, &self) != -1 || errno != EINVAL) return fail("getrusage(5)", errno);
    if (syscall(SYS_getrusage, RUSAGE_SELF, (void *)8) != -1 || errno != EFAULT) return fail("getrusage to a bad pointer", errno);

    printf("rusage-musl: self %lld ms user; child and grandchild %lld ms user, %lld us system; times add up\n",
           user_before, ms(of_child.ru_utime), of_child.ru_stime.tv_sec * 1000000LL + of_child.ru_stime.tv_usec);
    return 0;
}
