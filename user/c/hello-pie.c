/* A static-PIE musl program (ET_DYN, no interpreter): the kernel places it at its PIE base
 * and musl's rcrt1.o relocates it. */
#include <stdio.h>

static int data = 7;

int main(void) {
    printf("hello-pie: main at %p, data %d\n", (void *)main, data);
    return data == 7 ? 0 : 1;
}
