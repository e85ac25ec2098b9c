/* Teardown of big processes: a child touches 64 MiB of heap and recurses 100 KiB deep on its
 * stack (of Lethe's 128 KiB, mapped up front), then exits; another writes 1 MiB of MAP_SHARED memory as the last thing before
 * _exit, and all of it is visible to the parent when wait returns (R2). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#define HEAP (64L << 20)
#define SHARED (1L << 20)

static int fail(const char *what, long value) {
    printf("bigexit-musl: %s (%ld)\n", what, value);
    return 1;
}

/* 1 KiB a frame, `depth` frames deep; returns a checksum so nothing is optimised away. */
static long deep(int depth) {
    volatile unsigned char frame[1024];
    memset((unsigned char *)frame, depth & 0xff, sizeof frame);
    if (depth == 0) return frame[7];
    return deep(depth - 1) + frame[depth % sizeof frame];
}

static int child_big_heap_and_stack(void) {
    char *heap = malloc(HEAP);
    if (heap == NULL) return 2;
    for (long i = 0; i < HEAP; i += 4096) heap[i] = (char)i;
    if (deep(100) < 0) return 3;
    return 0;
}

int main(void) {
    pid_t pid = fork();
    if (pid == 0) _exit(child_big_heap_and_stack());
    int status = -1;
    if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status)) return fail("waitpid on the big child", status);
    if (WEXITSTATUS(status) != 0) return fail("the big child failed", WEXITSTATUS(status));

    unsigned char *shared = mmap(NULL, SHARED, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (shared == MAP_FAILED) return fail("mmap", 0);
    for (int round = 1; round <= 5; round++) {
        pid = fork();
        if (pid == 0) {
            memset(shared, round, SHARED);
            _exit(0);
        }
        if (waitpid(pid, &status, 0) != pid) return fail("waitpid on the writer", round);
        for (long i = 0; i < SHARED; i++) {
            if (shared[i] != round) return fail("a shared byte written before exit was not visible at wait", i);
        }
    }
    printf("bigexit-musl: 64 MiB heap and 100 KiB stack torn down; shared writes visible at wait\n");
    return 0;
}
