/* musl's malloc (brk and mmap), mmap/munmap/mprotect, nanosleep and clock_gettime. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

static long long nanos(void) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (long long)now.tv_sec * 1000000000LL + now.tv_nsec;
}

int main(void) {
    char *blocks[200];
    for (int i = 0; i < 200; i++) {
        blocks[i] = malloc(16 + i * 37);
        if (!blocks[i]) { printf("memtime-musl: small malloc failed\n"); return 1; }
        memset(blocks[i], i, 16 + i * 37);
    }
    for (int i = 0; i < 200; i++) {
        if (blocks[i][15] != (char)i) { printf("memtime-musl: heap corrupted\n"); return 2; }
        free(blocks[i]);
    }
    char *big = malloc(1 << 20);
    if (!big) { printf("memtime-musl: big malloc failed\n"); return 3; }
    memset(big, 7, 1 << 20);
    free(big);

    char *map = mmap(NULL, 3 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (map == MAP_FAILED || map[100] != 0) { printf("memtime-musl: mmap failed\n"); return 4; }
    map[5000] = 1;
    if (mprotect(map, 4096, PROT_READ) != 0 || mprotect(map, 4096, PROT_READ | PROT_WRITE) != 0) {
        printf("memtime-musl: mprotect failed\n"); return 5;
    }
    if (munmap(map, 3 * 4096) != 0) { printf("memtime-musl: munmap failed\n"); return 6; }

    long long before = nanos();
    struct timespec nap = {0, 30 * 1000 * 1000};
    if (nanosleep(&nap, NULL) != 0) { printf("memtime-musl: nanosleep failed\n"); return 7; }
    long long slept = nanos() - before;
    if (slept < 30 * 1000 * 1000) { printf("memtime-musl: slept only %lld ns\n", slept); return 8; }

    printf("memtime-musl: malloc, mmap, mprotect, nanosleep and clock_gettime work\n");
    return 0;
}
