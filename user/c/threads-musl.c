/* pthreads through musl: threads created and joined (clone, futex, CLONE_CHILD_CLEARTID),
 * a mutex-protected counter, thread-local storage, and exit_group from a thread. */
#include <pthread.h>
#include <stdio.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static long counter;
static __thread long mine;

static void *work(void *argument) {
    long id = (long)argument;
    mine = id;
    for (int i = 0; i < 1000; i++) {
        pthread_mutex_lock(&lock);
        counter++;
        pthread_mutex_unlock(&lock);
    }
    return (void *)(mine * 10);
}

int main(void) {
    enum { THREADS = 4, ROUNDS = 25 };
    for (int round = 0; round < ROUNDS; round++) {
        pthread_t threads[THREADS];
        for (long i = 0; i < THREADS; i++) {
            if (pthread_create(&threads[i], NULL, work, (void *)(i + 1)) != 0) {
                printf("threads-musl: pthread_create failed in round %d\n", round);
                return 1;
            }
        }
        for (long i = 0; i < THREADS; i++) {
            void *result;
            if (pthread_join(threads[i], &result) != 0 || (long)result != (i + 1) * 10) {
                printf("threads-musl: join of thread %ld returned %ld\n", i, (long)result);
                return 2;
            }
        }
    }
    if (counter != 4 * 25 * 1000 || mine != 0) {
        printf("threads-musl: counter %ld, main's TLS %ld\n", counter, mine);
        return 3;
    }
    printf("threads-musl: %d threads created and joined, counter %ld\n", 4 * 25, counter);
    return 0;
}
