/* Exit and wait semantics, after OpenBSD's regress fork-exit, NetBSD's t_wait and LTP's
 * wait4/waitpid tests: one child, then 300 children exiting at once, each collected with
 * its own status; WNOHANG answers 0 while a child lives, its pid once it is a zombie, and
 * ECHILD when none remain (R6); a zombie's pid is not reused before it is collected (R4). */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define MANY 300

static int fail(const char *what, long value) {
    printf("waitmany-musl: %s (%ld)\n", what, value);
    return 1;
}

static int single_child(void) {
    pid_t pid = fork();
    if (pid == 0) {
        _exit(42);
    }
    int status = 0;
    if (waitpid(pid, &status, 0) != pid) return fail("waitpid on one child", errno);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 42) return fail("one child's status", status);
    return 0;
}

static int many_children(void) {
    static pid_t pids[MANY];
    static char collected[MANY];
    for (int i = 0; i < MANY; i++) {
        pids[i] = fork();
        if (pids[i] < 0) return fail("fork of one of 300 children", errno);
        if (pids[i] == 0) {
            _exit(i & 0xff);
        }
    }
    memset(collected, 0, sizeof collected);
    for (int n = 0; n < MANY; n++) {
        int status = 0;
        pid_t pid = wait(&status);
        if (pid < 0) return fail("wait ran out before 300 children", n);
        int i = 0;
        while (i < MANY && pids[i] != pid) i++;
        if (i == MANY) return fail("wait returned a stranger", pid);
        if (collected[i]) return fail("a child collected twice", pid);
        collected[i] = 1;
        if (!WIFEXITED(status) || WEXITSTATUS(status) != (i & 0xff)) return fail("a child's status", status);
    }
    if (wait(NULL) != -1 || errno != ECHILD) return fail("ECHILD after 300 children", errno);
    return 0;
}

static int wnohang(void) {
    pid_t pid = fork();
    if (pid == 0) {
        for (int i = 0; i < 50; i++) sched_yield();
        usleep(20000);
        _exit(5);
    }
    if (waitpid(pid, NULL, WNOHANG) != 0) return fail("WNOHANG on a live child", pid);
    int status = 0;
    pid_t got;
    while ((got = waitpid(pid, &status, WNOHANG)) == 0) sched_yield();
    if (got != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 5) return fail("WNOHANG on a zombie", got);
    if (waitpid(-1, NULL, WNOHANG) != -1 || errno != ECHILD) return fail("WNOHANG with no children", errno);
    return 0;
}

static int zombie_pid_not_reused(void) {
    pid_t zombie = fork();
    if (zombie == 0) {
        _exit(9);
    }
    /* Let it die; it stays a zombie until collected below. */
    usleep(10000);
    for (int i = 0; i < 200; i++) {
        pid_t pid = fork();
        if (pid == 0) {
            _exit(0);
        }
        if (pid == zombie) return fail("a zombie's pid was handed out again", pid);
        if (waitpid(pid, NULL, 0) != pid) return fail("waitpid in the reuse loop", errno);
    }
    int status = 0;
    if (waitpid(zombie, &status, 0) != zombie || WEXITSTATUS(status) != 9) return fail("collecting the zombie", status);
    return 0;
}

int main(void) {
    if (single_child() || many_children() || wnohang() || zombie_pid_not_reused()) return 1;
    printf("waitmany-musl: 1 and 300 children collected with their statuses; WNOHANG, ECHILD and pid reuse right\n");
    return 0;
}
