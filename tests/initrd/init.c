/* The /init of the user-supplied ramdisk that scripts/test boots with scripts/run --initrd:
 * it must run as pid 1, and its exit status must become scripts/run's. */
#include <stdio.h>
#include <unistd.h>

int main(int argc, char **argv) {
    printf("user initrd: %s is pid %d, exiting with 3\n", argc > 0 ? argv[0] : "?", (int)getpid());
    return 3;
}
