/* An /init that never ends, for scripts/test's check that scripts/run --timeout stops it:
 * it says it started, then sleeps for good. */
#include <stdio.h>
#include <unistd.h>

int main(void) {
    printf("forever: /init started, sleeping for good\n");
    fflush(stdout);
    for (;;) {
        sleep(1);
    }
}
