/* The process limit (R8): fork until it says EAGAIN, leaving every child a zombie (they
 * exit at once and are not collected), so only the process limit can stop it — exited
 * threads are torn down as they go and free their slots. Then the system still answers,
 * collecting every zombie brings the count back, and fork works again. */
#include <errno.h>
#include <stdio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int main(void) {
    int zombies = 0;
    int refusals = 0;
    /* A refusal may be the thread limit while children still run; retry until the count
     * stops growing. */
    while (refusals < 20) {
        pid_t pid = fork();
        if (pid == 0) _exit(0);
        if (pid > 0) {
            zombies++;
            refusals = 0;
            continue;
        }
        if (errno != EAGAIN) {
            printf("forkbomb-musl: fork failed with errno %d, not EAGAIN, after %d\n", errno, zombies);
            return 1;
        }
        refusals++;
        struct timespec nap = {0, 20 * 1000 * 1000};
        nanosleep(&nap, NULL);
    }
    if (getpid() <= 0) return 2;
    int collected = 0;
    while (wait(NULL) > 0) collected++;
    if (collected != zombies || errno != ECHILD) {
        printf("forkbomb-musl: collected %d of %d\n", collected, zombies);
        return 3;
    }
    pid_t pid = fork();
    if (pid == 0) _exit(0);
    if (pid < 0 || waitpid(pid, NULL, 0) != pid) {
        printf("forkbomb-musl: fork after collecting failed\n");
        return 4;
    }
    printf("forkbomb-musl: %d zombies, then EAGAIN; all collected, fork works again\n", zombies);
    return 0;
}
