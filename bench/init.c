/* /init of a benchmark boot (scripts/bench, scripts/profile): runs the plan — PLAN, INNER
 * and STRATEGIES from plan.h, which bench/make-initrd writes (Lethe has no file system
 * calls to read it at run time) — INNER times, each step with /bin/procbench, or
 * /bin/lethebench for the Lethe-only modes, or /bin/stormbench for the modes that isolate
 * reaping (exitfreed, storm, switches), under each of STRATEGIES in turn
 * (lethe_reaping, system call 1000). Before each strategy's runs it prints
 * "LETHE_STRATEGY name", by which scripts/bench splits the serial log into one log per
 * strategy, and around the plan's steps "LETHE_PLAN begin" and "LETHE_PLAN end", between
 * which scripts/profile samples; procbench prints the RESULT lines. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "plan.h"

#define LETHE_REAPING 1000

static int run(char *mode, char *a, char *b, char *c) {
    int lethe_only = !strcmp(mode, "saturated") || !strcmp(mode, "scale") || !strcmp(mode, "scalethreads") || !strcmp(mode, "forkworkers") ||
                     !strcmp(mode, "threadworkers");
    int reaping = !strcmp(mode, "exitfreed") || !strcmp(mode, "storm") || !strcmp(mode, "switches");
    char *program = reaping ? "/bin/stormbench" : lethe_only ? "/bin/lethebench" : "/bin/procbench";
    char *argv[] = {program, mode, a, b, c, NULL};
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        char *envp[] = {NULL};
        execve(program, argv, envp);
        _exit(127);
    }
    int status;
    if (waitpid(pid, &status, 0) != pid) return -1;
    return status;
}

int main(void) {
    static const char *strategies[] = {"future", "reaper", "percpu-reaper"};
    for (size_t index = 0; index < sizeof STRATEGIES / sizeof STRATEGIES[0]; index++) {
        int strategy = STRATEGIES[index];
        if (syscall(LETHE_REAPING, strategy) < 0) {
            printf("ERROR lethe_reaping(%d) failed\n", strategy);
            return 1;
        }
        printf("LETHE_STRATEGY %s\n", strategies[strategy]);
        fflush(stdout);
        run("clockres", "100000", NULL, NULL);
        printf("LETHE_PLAN begin\n");
        fflush(stdout);
        for (int round = 0; round < INNER; round++) {
            for (size_t step = 0; step < sizeof PLAN / sizeof PLAN[0]; step++) {
                int status = run((char *)PLAN[step][0], (char *)PLAN[step][1], (char *)PLAN[step][2], (char *)PLAN[step][3]);
                if (status != 0) printf("ERROR mode=%s rc=%d\n", PLAN[step][0], status);
                fflush(stdout);
            }
        }
        printf("LETHE_PLAN end\n");
        fflush(stdout);
    }
    printf("BENCH_DONE\n");
    return 0;
}
