/* An unmodified static musl C program: printf through musl's stdio (writev). */
#include <stdio.h>

int main(void) {
    printf("hello from musl, %d\n", 42);
    return 0;
}
