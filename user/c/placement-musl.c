/* Placement beside the creator (kernel/src/sched/cpu.rs, "Placement"): a thread made by
 * pthread_create whose creator then joins it runs on the creator's CPU, and the joiner
 * resumes on the CPU the thread left; the same for fork and waitpid. Counts how often, over
 * ROUNDS rounds of each, and prints the counts. With several CPUs, spreading the new thread
 * to an idle CPU instead costs every round two cross-CPU hand-offs. */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#define ROUNDS 200

static volatile int thread_cpu;

static void *note_cpu(void *unused) {
    (void)unused;
    thread_cpu = sched_getcpu();
    return NULL;
}

int main(void) {
    int thread_beside_creator = 0, joiner_beside_thread = 0;
    for (int round = 0; round < ROUNDS; round++) {
        int creator = sched_getcpu();
        pthread_t thread;
        if (pthread_create(&thread, NULL, note_cpu, NULL) != 0) return 1;
        if (pthread_join(thread, NULL) != 0) return 2;
        thread_beside_creator += thread_cpu == creator;
        joiner_beside_thread += sched_getcpu() == thread_cpu;
    }
    int child_beside_parent = 0, parent_beside_child = 0;
    for (int round = 0; round < ROUNDS; round++) {
        int parent = sched_getcpu();
        pid_t pid = fork();
        if (pid < 0) return 3;
        if (pid == 0) _exit(sched_getcpu());
        int status;
        if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status)) return 4;
        child_beside_parent += WEXITSTATUS(status) == parent;
        parent_beside_child += sched_getcpu() == WEXITSTATUS(status);
    }
    printf("placement-musl: rounds=%d thread_beside_creator=%d joiner_beside_thread=%d "
           "child_beside_parent=%d parent_beside_child=%d\n",
           ROUNDS, thread_beside_creator, joiner_beside_thread, child_beside_parent, parent_beside_child);
    return 0;
}
