/* A fork bomb of live processes (R8): every bomb process forks in a loop, and so does each
 * child, until fork fails; those that failed keep retrying, yielding the CPU. Each bomb
 * process counts itself in shared memory. The system must stay responsive — this
 * program, outside the bomb, sleeps 10 ms and is back within a second, and its own fork
 * fails with EAGAIN — and the bomb must stop at the thread or process limit: fork refused with EAGAIN,
 * never a crash. Then kill(-1, SIGKILL) kills the whole bomb at once (one by one, a process
 * not yet killed would fork into each freed slot) and the root is collected; the test
 * around this program checks that every counter comes back. */
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct shared {
    int count;
    int refused_eagain;
    int refused_other;
    int last_other_errno;
};

static struct shared *shared;

static long long now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000LL + t.tv_nsec / 1000000;
}

static void enlist(void) {
    __atomic_fetch_add(&shared->count, 1, __ATOMIC_SEQ_CST);
}

static void bomb(void) {
    enlist();
    for (;;) {
        pid_t pid = fork();
        if (pid == 0) {
            enlist();
        } else if (pid < 0) {
            if (errno == EAGAIN) {
                __atomic_fetch_add(&shared->refused_eagain, 1, __ATOMIC_SEQ_CST);
            } else {
                __atomic_fetch_add(&shared->refused_other, 1, __ATOMIC_SEQ_CST);
                shared->last_other_errno = errno;
            }
            sched_yield();
        }
    }
}

static int fail(const char *what, long value) {
    printf("forkbomb-live-musl: %s (%ld)\n", what, value);
    return 1;
}

int main(void) {
    shared = mmap(NULL, sizeof *shared, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (shared == MAP_FAILED) return fail("mmap", errno);
    pid_t root = fork();
    if (root < 0) return fail("fork of the bomb", errno);
    if (root == 0) bomb();

    long long start = now_ms();
    while (__atomic_load_n(&shared->refused_eagain, __ATOMIC_SEQ_CST) < 1000) {
        if (shared->refused_other > 0) return fail("a bomb fork failed with another errno", shared->last_other_errno);
        if (now_ms() - start > 60000) return fail("no EAGAIN within 60 s; bomb processes", shared->count);
        struct timespec pause = {0, 10 * 1000 * 1000};
        nanosleep(&pause, NULL);
    }
    long long asked = now_ms();
    struct timespec pause = {0, 10 * 1000 * 1000};
    nanosleep(&pause, NULL);
    long long slept_ms = now_ms() - asked;
    if (slept_ms > 1000) return fail("a 10 ms sleep took (ms)", slept_ms);
    pid_t refused = fork();
    if (refused == 0) _exit(0);
    if (refused != -1 || errno != EAGAIN) return fail("fork beside the bomb was not EAGAIN", refused);
    int at_limit = __atomic_load_n(&shared->count, __ATOMIC_SEQ_CST);

    if (kill(-1, 0) != 0) return fail("kill(-1, 0) found no process", errno);
    if (kill(-1, SIGKILL) != 0) return fail("kill(-1, SIGKILL)", errno);
    int status = -1;
    if (waitpid(root, &status, 0) != root) return fail("waitpid of the root", errno);
    if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL) return fail("the root's status", status);
    printf("forkbomb-live-musl: %d live processes at the limit, all killed by kill(-1), sleep %lld ms beside the bomb\n",
           at_limit, slept_ms);
    return 0;
}
