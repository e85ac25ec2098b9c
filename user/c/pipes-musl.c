/* Pipes and descriptors on the Linux ABI: bytes go through in order; 100 KiB from a child
 * arrive whole, and end of file comes when the last writer is gone (closed, or its process
 * ended); a write with no reader is EPIPE, and kills the writer with SIGPIPE unless it
 * ignores it; O_NONBLOCK gives EAGAIN on an empty or full pipe (64 KiB); writes of up to
 * PIPE_BUF bytes from two writers never interleave; 64 children blocked in read() all wake
 * at end of file (procbench's forkmany); dup, dup2, dup3 and close follow Linux, errors
 * included. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static int fail(const char *what, long value) {
    printf("pipes-musl: %s (%ld)\n", what, value);
    return 1;
}

static int in_order_and_end_of_file(void) {
    int fds[2];
    if (pipe(fds) != 0) return fail("pipe", errno);
    if (write(fds[1], "hello", 5) != 5) return fail("write hello", errno);
    char got[16] = {0};
    if (read(fds[0], got, sizeof got) != 5 || memcmp(got, "hello", 5) != 0) return fail("read hello", errno);
    close(fds[1]);
    if (read(fds[0], got, sizeof got) != 0) return fail("no end of file after the writer closed", errno);
    if (read(fds[1], got, 1) != -1 || errno != EBADF) return fail("read of a closed descriptor", errno);
    if (write(fds[0], "x", 1) != -1 || errno != EBADF) return fail("write to a read end", errno);
    close(fds[0]);
    return 0;
}

static int a_child_streams_100_kib(void) {
    enum { TOTAL = 100 * 1024 };
    int fds[2];
    if (pipe(fds) != 0) return fail("pipe", errno);
    pid_t pid = fork();
    if (pid == 0) {
        close(fds[0]);
        static unsigned char out[TOTAL];
        for (int i = 0; i < TOTAL; i++) out[i] = (unsigned char)(i * 7);
        for (int done = 0; done < TOTAL;) {
            int chunk = TOTAL - done < 3000 ? TOTAL - done : 3000;
            ssize_t n = write(fds[1], out + done, chunk);
            if (n <= 0) _exit(2);
            done += n;
        }
        _exit(0); /* no close: the process's end closes the write end */
    }
    close(fds[1]);
    static unsigned char in[TOTAL + 1];
    int got = 0;
    for (;;) {
        ssize_t n = read(fds[0], in + got, sizeof in - got);
        if (n < 0) return fail("read of the stream", errno);
        if (n == 0) break;
        got += n;
    }
    if (got != TOTAL) return fail("bytes through the pipe", got);
    for (int i = 0; i < TOTAL; i++) {
        if (in[i] != (unsigned char)(i * 7)) return fail("byte out of order at", i);
    }
    int status;
    if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) return fail("the writer", status);
    close(fds[0]);
    return 0;
}

static int no_reader_is_epipe_and_sigpipe(void) {
    int fds[2];
    if (pipe(fds) != 0) return fail("pipe", errno);
    close(fds[0]);
    pid_t pid = fork();
    if (pid == 0) {
        write(fds[1], "x", 1);
        _exit(0);
    }
    int status;
    if (waitpid(pid, &status, 0) != pid || !WIFSIGNALED(status) || WTERMSIG(status) != SIGPIPE)
        return fail("a write with no reader did not die of SIGPIPE", status);
    signal(SIGPIPE, SIG_IGN);
    if (write(fds[1], "x", 1) != -1 || errno != EPIPE) return fail("write with SIGPIPE ignored", errno);
    signal(SIGPIPE, SIG_DFL);
    close(fds[1]);
    return 0;
}

static int nonblocking_empty_and_full(void) {
    int fds[2];
    if (pipe2(fds, O_NONBLOCK | O_CLOEXEC) != 0) return fail("pipe2", errno);
    char byte;
    if (read(fds[0], &byte, 1) != -1 || errno != EAGAIN) return fail("read of an empty non-blocking pipe", errno);
    static char block[4096];
    long total = 0;
    for (;;) {
        ssize_t n = write(fds[1], block, sizeof block);
        if (n < 0) break;
        total += n;
    }
    if (errno != EAGAIN) return fail("a full non-blocking pipe's write", errno);
    if (total != 65536) return fail("a pipe holds bytes", total);
    if (pipe2(fds, 0x40 /* O_CREAT */) != -1 || errno != EINVAL) return fail("pipe2 with a bad flag", errno);
    close(fds[0]);
    close(fds[1]);
    return 0;
}

static int small_writes_are_atomic(void) {
    enum { RECORDS = 100, SIZE = 4096 };
    int fds[2];
    if (pipe(fds) != 0) return fail("pipe", errno);
    pid_t writers[2];
    for (int w = 0; w < 2; w++) {
        writers[w] = fork();
        if (writers[w] == 0) {
            close(fds[0]);
            static char record[SIZE];
            memset(record, 'a' + w, SIZE);
            for (int i = 0; i < RECORDS; i++) {
                if (write(fds[1], record, SIZE) != SIZE) _exit(3);
            }
            _exit(0);
        }
    }
    close(fds[1]);
    static char record[SIZE];
    int records = 0;
    for (;;) {
        int got = 0;
        while (got < SIZE) {
            ssize_t n = read(fds[0], record + got, SIZE - got);
            if (n <= 0) break;
            got += n;
        }
        if (got == 0) break;
        if (got != SIZE) return fail("a torn record of bytes", got);
        for (int i = 1; i < SIZE; i++) {
            if (record[i] != record[0]) return fail("two writers' records interleaved in record", records);
        }
        records++;
    }
    if (records != 2 * RECORDS) return fail("records read", records);
    for (int w = 0; w < 2; w++) waitpid(writers[w], NULL, 0);
    close(fds[0]);
    return 0;
}

static int many_readers_wake_at_end_of_file(void) {
    enum { K = 64 };
    int fds[2];
    if (pipe(fds) != 0) return fail("pipe", errno);
    for (int i = 0; i < K; i++) {
        pid_t pid = fork();
        if (pid < 0) return fail("fork", errno);
        if (pid == 0) {
            char byte;
            close(fds[1]);
            _exit(read(fds[0], &byte, 1) == 0 ? 0 : 4);
        }
    }
    close(fds[0]);
    close(fds[1]);
    for (int i = 0; i < K; i++) {
        int status;
        if (wait(&status) < 0) return fail("wait", errno);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return fail("a reader did not see end of file", status);
    }
    return 0;
}

static int dup_family(void) {
    int fds[2];
    if (pipe(fds) != 0) return fail("pipe", errno);
    int copy = dup(fds[1]);
    if (copy < 0) return fail("dup", errno);
    close(fds[1]);
    if (write(copy, "d", 1) != 1) return fail("write through a dup", errno);
    int saved = dup(1);
    if (dup2(copy, 1) != 1) return fail("dup2 onto stdout", errno);
    if (write(1, "2", 1) != 1) return fail("write to stdout after dup2", errno);
    if (dup2(saved, 1) != 1) return fail("dup2 back", errno);
    close(saved);
    char got[2];
    if (read(fds[0], got, 2) != 2 || got[0] != 'd' || got[1] != '2') return fail("what the dups wrote", errno);
    if (dup2(copy, copy) != copy) return fail("dup2 onto itself", errno);
    if (dup3(copy, copy, 0) != -1 || errno != EINVAL) return fail("dup3 onto itself", errno);
    if (dup2(999, 5) != -1 || errno != EBADF) return fail("dup2 of a closed descriptor", errno);
    if (dup2(copy, 100000) != -1 || errno != EBADF) return fail("dup2 past the table", errno);
    if (close(copy) != 0 || close(copy) != -1 || errno != EBADF) return fail("closing twice", errno);
    if (read(fds[0], got, 1) != 0) return fail("end of file after the dups closed", errno);
    close(fds[0]);
    return 0;
}

int main(void) {
    if (in_order_and_end_of_file() || a_child_streams_100_kib() || no_reader_is_epipe_and_sigpipe() ||
        nonblocking_empty_and_full() || small_writes_are_atomic() || many_readers_wake_at_end_of_file() ||
        dup_family())
        return 1;
    printf("pipes-musl: order, end of file, EPIPE and SIGPIPE, O_NONBLOCK, atomic writes, 64 readers, dup\n");
    return 0;
}
