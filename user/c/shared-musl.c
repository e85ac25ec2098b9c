/* MAP_SHARED anonymous memory is shared with a forked child; MAP_PRIVATE memory is not. */
#include <stdio.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void) {
    volatile long *shared = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    volatile long *private = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (shared == MAP_FAILED || private == MAP_FAILED) {
        printf("shared-musl: mmap failed\n");
        return 1;
    }
    pid_t pid = fork();
    if (pid == 0) {
        shared[0] = 4242;
        private[0] = 17;
        _exit(0);
    }
    waitpid(pid, NULL, 0);
    if (shared[0] != 4242 || private[0] != 0) {
        printf("shared-musl: shared %ld, private %ld\n", shared[0], private[0]);
        return 2;
    }
    munmap((void *)shared, 4096);
    printf("shared-musl: the child's write reached the parent through MAP_SHARED only\n");
    return 0;
}
