/* SIGCHLD ignored means no zombies: wait() blocks until the children are gone, then ECHILD.
 * Also uname and the signal mask round trip. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void) {
    struct utsname name;
    if (uname(&name) != 0 || strcmp(name.sysname, "Lethe") != 0 || strcmp(name.machine, "x86_64") != 0) {
        printf("signals-musl: uname wrong\n");
        return 1;
    }
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGUSR1);
    if (sigprocmask(SIG_BLOCK, &block, NULL) != 0 || sigprocmask(SIG_SETMASK, NULL, &old) != 0 ||
        !sigismember(&old, SIGUSR1)) {
        printf("signals-musl: sigprocmask round trip failed\n");
        return 2;
    }
    signal(SIGCHLD, SIG_IGN);
    for (int i = 0; i < 3; i++) {
        if (fork() == 0) {
            usleep(20000);
            _exit(5);
        }
    }
    if (wait(NULL) != -1 || errno != ECHILD) {
        printf("signals-musl: a child was kept as a zombie\n");
        return 3;
    }
    printf("signals-musl: %s %s on %s; ignored SIGCHLD leaves no zombies\n", name.sysname, name.release, name.machine);
    return 0;
}
