/*
 * The benchmarks' OS-heavy jobs, one per run, each printing a result
 * that depends only on its arguments:
 *
 *   osbench forkexec N PROG    fork, exec PROG (no arguments), wait; N times
 *   osbench pagefault N MB     map MB MiB, touch every page, unmap; N times
 *   osbench pipe N             N one-byte round trips between two processes
 *   osbench memloop N KB       N million loads and stores at pseudo-random
 *                              words of a KB KiB buffer, touched first
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

static int forkexec(long n, const char *prog)
{
    long ok = 0;

    for (long i = 0; i < n; i++) {
        pid_t pid = fork();
        int status;

        if (pid < 0) {
            perror("fork");
            return 1;
        }
        if (pid == 0) {
            execl(prog, prog, (char *)NULL);
            _exit(127);
        }
        if (waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
            WEXITSTATUS(status) == 0) {
            ok++;
        }
    }
    printf("forkexec %ld of %ld\n", ok, n);
    return ok != n;
}

static int pagefault(long n, long mb)
{
    long page = sysconf(_SC_PAGESIZE);
    size_t len = (size_t)mb << 20;
    unsigned long sum = 0;

    for (long i = 0; i < n; i++) {
        unsigned char *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
                                MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

        if (p == MAP_FAILED) {
            perror("mmap");
            return 1;
        }
        for (size_t off = 0; off < len; off += page) {
            p[off] = (unsigned char)(off / page + i);
        }
        for (size_t off = 0; off < len; off += page) {
            sum += p[off];
        }
        munmap(p, len);
    }
    printf("pagefault %ld x %ld MiB sum %lu\n", n, mb, sum);
    return 0;
}

static int pingpong(long n)
{
    int up[2], down[2];
    unsigned char c = 0;
    pid_t pid;
    int status;

    if (pipe(up) || pipe(down)) {
        perror("pipe");
        return 1;
    }
    pid = fork();
    if (pid < 0) {
        perror("fork");
        return 1;
    }
    if (pid == 0) {
        close(down[1]);
        close(up[0]);
        while (read(down[0], &c, 1) == 1) {
            c++;
            if (write(up[1], &c, 1) != 1) {
                _exit(1);
            }
        }
        _exit(0);
    }
    close(down[0]);
    close(up[1]);
    for (long i = 0; i < n; i++) {
        if (write(down[1], &c, 1) != 1 || read(up[0], &c, 1) != 1) {
            perror("pipe round trip");
            return 1;
        }
    }
    close(down[1]);
    waitpid(pid, &status, 0);
    printf("pipe %ld round trips, last byte %u\n", n, c);
    return 0;
}

/*
 * Guest memory accesses and little else: what ESPT's fast path changes,
 * apart from the system-mode costs (block lookups, TLB refills, guest
 * kernel entries) that dominate the CINT-like jobs.  A buffer the
 * softmmu TLB can hold, so that espt=off pays its inline TLB compare,
 * not refills.
 */
static int memloop(long n, long kb)
{
    size_t words = (size_t)kb * 1024 / sizeof(uint32_t);
    uint32_t *a = malloc(words * sizeof(uint32_t));
    uint32_t x = 1, sum = 0;

    if (!a || words == 0 || (words & (words - 1))) {
        fprintf(stderr, "memloop: KB must be a power of two\n");
        return 1;
    }
    for (size_t i = 0; i < words; i++) {
        a[i] = (uint32_t)i;
    }
    for (long i = 0; i < n * 1000000; i++) {
        size_t w;

        x = x * 1103515245u + 12345u;
        w = (x >> 7) & (words - 1);
        sum += a[w];
        a[(w + 64) & (words - 1)] += x;
    }
    printf("memloop %ld M x %ld KiB sum %u\n", n, kb, sum);
    free(a);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 4 && !strcmp(argv[1], "forkexec")) {
        return forkexec(atol(argv[2]), argv[3]);
    }
    if (argc == 4 && !strcmp(argv[1], "pagefault")) {
        return pagefault(atol(argv[2]), atol(argv[3]));
    }
    if (argc == 3 && !strcmp(argv[1], "pipe")) {
        return pingpong(atol(argv[2]));
    }
    if (argc == 4 && !strcmp(argv[1], "memloop")) {
        return memloop(atol(argv[2]), atol(argv[3]));
    }
    fprintf(stderr, "usage: osbench forkexec N PROG | pagefault N MB | "
            "pipe N | memloop N KB\n");
    return 2;
}
