/* fork and waitpid through musl: exit statuses round-trip and WNOHANG/ECHILD behave. */
#include <errno.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void) {
    int codes[] = {0, 17, 255};
    for (int i = 0; i < 3; i++) {
        pid_t pid = fork();
        if (pid == 0) {
            _exit(codes[i]);
        }
        int status = -1;
        if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != codes[i]) {
            printf("forkwait-musl: status of child %d wrong: %#x\n", i, status);
            return 1;
        }
    }
    if (waitpid(-1, NULL, WNOHANG) != -1 || errno != ECHILD) {
        printf("forkwait-musl: expected ECHILD\n");
        return 2;
    }
    printf("forkwait-musl: fork and waitpid work\n");
    return 0;
}
