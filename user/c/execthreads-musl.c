/* execve from a process of several threads (Linux's de_thread): every other thread — one
 * spinning in user mode, one blocked on a condition variable, one asleep, one blocked
 * reading a pipe — leaves first, and the new image runs alone, with the same pid. Checked
 * twice: the main thread calls execve, and another thread does while the main thread is
 * blocked in pthread_join. Before execve made the others leave (found reading the code at
 * -smp 4), they went on running on the old address space, which execve had freed, and on
 * the new one: the new image died of their faults. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define SELF "/bin/execthreads-musl"
#define NEW_IMAGE_EXIT 42

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t never = PTHREAD_COND_INITIALIZER;
static int started;
static int pipe_ends[2];
static volatile int stop;

static void arrived(void) { __atomic_fetch_add(&started, 1, __ATOMIC_SEQ_CST); }

static void *spin(void *arg) {
    arrived();
    while (!stop) {
    }
    return arg;
}

static void *wait_forever(void *arg) {
    pthread_mutex_lock(&lock);
    arrived();
    for (;;) pthread_cond_wait(&never, &lock);
    return arg;
}

static void *sleep_long(void *arg) {
    arrived();
    struct timespec ten_seconds = {10, 0};
    nanosleep(&ten_seconds, NULL);
    return arg;
}

static void *read_pipe(void *arg) {
    arrived();
    char byte;
    read(pipe_ends[0], &byte, 1);
    return arg;
}

static void exec_new_image(const char *how) {
    char pid[16];
    snprintf(pid, sizeof pid, "%d", getpid());
    char *argv[] = {SELF, "after", pid, (char *)how, NULL};
    char *envp[] = {NULL};
    execve(SELF, argv, envp);
    printf("execthreads-musl: execve failed\n");
    fflush(stdout);
    _exit(1);
}

static void *exec_from_thread(void *arg) {
    exec_new_image("thread");
    return arg;
}

/* Starts the four threads, waits until each has begun, then execs from `how`'s thread. */
static void exec_with_threads(const char *how) {
    void *(*bodies[])(void *) = {spin, wait_forever, sleep_long, read_pipe};
    if (pipe(pipe_ends) != 0) _exit(2);
    for (unsigned i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
        pthread_t thread;
        if (pthread_create(&thread, NULL, bodies[i], NULL) != 0) _exit(3);
    }
    while (__atomic_load_n(&started, __ATOMIC_SEQ_CST) < 4) sched_yield();
    /* Let the blocking ones get to their blocking call. */
    struct timespec moment = {0, 20 * 1000 * 1000};
    nanosleep(&moment, NULL);
    if (strcmp(how, "main") == 0) exec_new_image(how);
    pthread_t execer;
    if (pthread_create(&execer, NULL, exec_from_thread, NULL) != 0) _exit(4);
    pthread_join(execer, NULL);
    printf("execthreads-musl: the main thread came back from joining the exec'ing thread\n");
    fflush(stdout);
    _exit(5);
}

/* The new image: same pid; give any thread left over from the old image time to run (and
 * fault), then show the thread machinery works and exit with NEW_IMAGE_EXIT. */
static int new_image(const char *old_pid, const char *how) {
    if (atoi(old_pid) != getpid()) {
        printf("execthreads-musl: pid %d after execve from %s, was %s\n", getpid(), how, old_pid);
        return 6;
    }
    struct timespec moment = {0, 50 * 1000 * 1000};
    nanosleep(&moment, NULL);
    pthread_t thread;
    void *result;
    if (pthread_create(&thread, NULL, spin, &started) != 0) return 7;
    stop = 1;
    if (pthread_join(thread, &result) != 0 || result != &started) return 8;
    return NEW_IMAGE_EXIT;
}

static int run(const char *how) {
    pid_t child = fork();
    if (child == 0) exec_with_threads(how);
    int status;
    if (waitpid(child, &status, 0) != child) return 0;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != NEW_IMAGE_EXIT) {
        printf("execthreads-musl: execve from the %s thread: child status %#x\n", how, status);
        return 0;
    }
    return 1;
}

int main(int argc, char **argv) {
    if (argc == 4 && strcmp(argv[1], "after") == 0) return new_image(argv[2], argv[3]);
    if (!run("main") || !run("thread")) return 1;
    printf("execthreads-musl: execve from the main thread and from another leaves one thread\n");
    return 0;
}
