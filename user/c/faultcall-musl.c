/* Makes one system call that fault injection is aimed at and exits with its errno (0 if it
 * succeeded): fork, thread (pthread_create's clone), execve, mmap, mmap-reserve (a PROT_NONE
 * mmap, which the layout's reserved ranges record), munmap-split (a munmap splitting the
 * fifth reserved range off another, so the ranges need more room), pipe. The kernel test
 * arms injection for the next call of that number, so the call is made once and everything
 * else the program does lies outside the sweep. Exit programs for R3: exit (exit_group with
 * files and memory to give back), thread-exit (a joinable thread's SYS_exit, which clears
 * its CLONE_CHILD_CLEARTID word), orphans (exit_group while two children still run).
 * A failure the call should not have is reported by name and exits 100 or more. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int failed(const char *call, int error) {
    printf("faultcall-musl: %s failed: %s\n", call, strerror(error));
    return error;
}

static int wrong(const char *what) {
    printf("faultcall-musl: %s\n", what);
    return 100;
}

static void *returns(void *argument) {
    return argument;
}

static void *leaves(void *argument) {
    pthread_exit(argument);
}

static void sleep_ms(long ms) {
    struct timespec pause = {0, ms * 1000000L};
    nanosleep(&pause, NULL);
}

static int call_fork(void) {
    pid_t pid = fork();
    if (pid < 0) return failed("fork", errno);
    if (pid == 0) _exit(7);
    int status = -1;
    if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 7)
        return wrong("fork: the child did not exit with 7");
    return 0;
}

static int call_thread(void *(*body)(void *)) {
    pthread_t thread;
    int error = pthread_create(&thread, NULL, body, (void *)42);
    if (error != 0) return failed("pthread_create", error);
    void *result = NULL;
    if (pthread_join(thread, &result) != 0 || result != (void *)42)
        return wrong("pthread_join: wrong result");
    return 0;
}

static int call_execve(void) {
    char *argv[] = {"faultcall-musl", "exec-target", NULL};
    char *envp[] = {"HOME=/", NULL};
    execve("/bin/faultcall-musl", argv, envp);
    return failed("execve", errno);
}

static int call_mmap(void) {
    size_t size = 8 * 4096;
    unsigned char *memory = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (memory == MAP_FAILED) return failed("mmap", errno);
    memory[0] = 1;
    memory[size - 1] = 2;
    if (munmap(memory, size) != 0) return wrong("munmap failed");
    return 0;
}

/* Reserves without mapping, then makes part of the reservation usable, as musl makes a
 * thread's stack with its guard page. */
static int call_mmap_reserve(void) {
    size_t size = 8 * 4096;
    unsigned char *reserved = mmap(NULL, size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (reserved == MAP_FAILED) return failed("mmap", errno);
    if (mprotect(reserved + 4096, size - 4096, PROT_READ | PROT_WRITE) != 0) return wrong("mprotect failed");
    reserved[4096] = 1;
    if (munmap(reserved, size) != 0) return wrong("munmap failed");
    return 0;
}

/* Four reserved ranges (a reservation with three pages made usable between them), then a
 * munmap inside the last that splits it: the fifth range needs room the first four did not. */
static int call_munmap_split(void) {
    size_t size = 9 * 4096;
    unsigned char *reserved = mmap(NULL, size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (reserved == MAP_FAILED) return wrong("mmap failed");
    for (int page = 1; page <= 5; page += 2)
        if (mprotect(reserved + page * 4096, 4096, PROT_READ | PROT_WRITE) != 0) return wrong("mprotect failed");
    if (munmap(reserved + 7 * 4096, 4096) != 0) return failed("munmap", errno);
    if (mprotect(reserved + 8 * 4096, 4096, PROT_READ | PROT_WRITE) != 0)
        return wrong("mprotect after the split failed");
    reserved[8 * 4096] = 1;
    if (munmap(reserved, size) != 0) return wrong("munmap of it all failed");
    return 0;
}

static int call_pipe(void) {
    int fds[2];
    if (pipe(fds) != 0) return failed("pipe", errno);
    char byte = 'x';
    if (write(fds[1], &byte, 1) != 1 || read(fds[0], &byte, 1) != 1 || byte != 'x')
        return wrong("pipe: the byte did not come through");
    close(fds[0]);
    close(fds[1]);
    return 0;
}

/* Leaves something for exit to give back: an open pipe and mapped memory. */
static int exit_holding(void) {
    int fds[2];
    if (pipe(fds) != 0) return wrong("pipe failed before exit");
    unsigned char *memory = mmap(NULL, 4 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (memory == MAP_FAILED) return wrong("mmap failed before exit");
    memory[0] = 1;
    _exit(0);
}

static int exit_leaving_orphans(void) {
    for (int i = 0; i < 2; i++) {
        pid_t pid = fork();
        if (pid < 0) return wrong("fork failed before exit");
        if (pid == 0) {
            sleep_ms(100);
            _exit(0);
        }
    }
    _exit(0);
}

int main(int argc, char **argv) {
    const char *call = argc > 1 ? argv[1] : "";
    if (strcmp(call, "fork") == 0) return call_fork();
    if (strcmp(call, "thread") == 0) return call_thread(returns);
    if (strcmp(call, "execve") == 0) return call_execve();
    if (strcmp(call, "exec-target") == 0) return 0;
    if (strcmp(call, "mmap") == 0) return call_mmap();
    if (strcmp(call, "mmap-reserve") == 0) return call_mmap_reserve();
    if (strcmp(call, "munmap-split") == 0) return call_munmap_split();
    if (strcmp(call, "pipe") == 0) return call_pipe();
    if (strcmp(call, "exit") == 0) return exit_holding();
    if (strcmp(call, "thread-exit") == 0) return call_thread(leaves);
    if (strcmp(call, "orphans") == 0) return exit_leaving_orphans();
    return wrong("unknown call");
}
