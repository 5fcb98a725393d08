/*
 * A Linux user program that checks what ESPT must keep exactly as the
 * architecture promises: self-modifying code, a page seen at two
 * addresses, permission downgrades with exact fault addresses, remapping,
 * copy-on-write, and more address spaces than ESPT keeps windows for;
 * and the flags of floating-point compares, which QEMU sets inline; on
 * ARM, one address entered as ARM and as Thumb code, which a block
 * lookup must tell apart, the Q flag, NEON's lengthening instructions
 * and VFP compares' FPSCR, which QEMU also expands inline.
 * Built static for armhf and i386; run by the test initramfs.
 *
 * Copyright (c) 2026 qemu-espt developers
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#define _GNU_SOURCE
#include <math.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#define PAGE 4096

static int passed, failed;
static sigjmp_buf fault_jmp;
static volatile uintptr_t fault_addr;

static void check(const char *name, int ok, const char *detail)
{
    printf("CHECK %s %s%s%s\n", name, ok ? "ok" : "FAIL",
           ok ? "" : ": ", ok ? "" : detail);
    if (ok) {
        passed++;
    } else {
        failed++;
    }
}

static void on_segv(int sig, siginfo_t *si, void *uc)
{
    fault_addr = (uintptr_t)si->si_addr;
    siglongjmp(fault_jmp, 1);
}

static void *map(int prot)
{
    void *p = mmap(NULL, PAGE, prot, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

    if (p == MAP_FAILED) {
        perror("mmap");
        exit(2);
    }
    return p;
}

/* Write "return k" at p; the page also holds data the test writes. */
static void emit_return(uint8_t *p, unsigned k)
{
#if defined(__arm__)
    uint32_t insn[2] = { 0xe3a00000 | (k & 0xff), 0xe12fff1e };
    memcpy(p, insn, sizeof(insn));
#elif defined(__i386__)
    p[0] = 0xb8;
    memcpy(p + 1, &k, 4);
    p[5] = 0xc3;
#else
#error "espt-check: unknown architecture"
#endif
    __builtin___clear_cache((char *)p, (char *)p + 16);
}

static void test_smc(void)
{
    uint8_t *page = map(PROT_READ | PROT_WRITE | PROT_EXEC);
    volatile uint32_t *data = (uint32_t *)(page + 2048);
    char why[80] = "";
    int ok = 1;

    for (unsigned i = 0; i < 2000 && ok; i++) {
        unsigned k = i % 200, got;

        emit_return(page, k);
        got = ((unsigned (*)(void))page)();
        *data = i;                      /* data on the code page */
        if (got != k || *data != i) {
            snprintf(why, sizeof(why), "round %u: %u for %u", i, got, k);
            ok = 0;
        }
    }
    check("self-modifying-code", ok, why);
    munmap(page, PAGE);
}

static void test_alias(void)
{
    int fd = memfd_create("espt-check", 0);
    const int n = 64;
    volatile uint32_t *a, *b;
    char why[80] = "";
    int ok = 1;

    if (fd < 0 || ftruncate(fd, n * PAGE) != 0) {
        check("alias", 0, "memfd_create");
        return;
    }
    a = mmap(NULL, n * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    b = mmap(NULL, n * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    for (int round = 0; round < 20 && ok; round++) {
        for (int i = 0; i < n * PAGE / 4; i += 97) {
            a[i] = round * 1000003u + i;
        }
        for (int i = 0; i < n * PAGE / 4; i += 97) {
            if (b[i] != round * 1000003u + i) {
                snprintf(why, sizeof(why), "round %d word %d", round, i);
                ok = 0;
                break;
            }
            b[i] = ~b[i];
        }
        for (int i = 0; ok && i < n * PAGE / 4; i += 97) {
            if (a[i] != ~(round * 1000003u + i)) {
                snprintf(why, sizeof(why), "back, round %d word %d",
                         round, i);
                ok = 0;
            }
        }
    }
    check("alias", ok, why);
    munmap((void *)a, n * PAGE);
    munmap((void *)b, n * PAGE);
    close(fd);
}

/* Does writing *p fault, and at exactly p? */
static int write_faults_at(volatile uint32_t *p)
{
    fault_addr = 0;
    if (sigsetjmp(fault_jmp, 1) == 0) {
        *p = 42;
        return 0;
    }
    return fault_addr == (uintptr_t)p ? 1 : -1;
}

static void test_mprotect(void)
{
    volatile uint32_t *p = map(PROT_READ | PROT_WRITE);
    char why[80] = "";
    int ok = 1;

    for (int i = 0; i < 200 && ok; i++) {
        volatile uint32_t *w = p + (i * 13) % (PAGE / 4);
        int r;

        *w = i;
        mprotect((void *)p, PAGE, PROT_READ);
        if (*w != (uint32_t)i) {
            snprintf(why, sizeof(why), "read after RO, round %d", i);
            ok = 0;
        }
        r = write_faults_at(w);
        if (r != 1) {
            snprintf(why, sizeof(why), "round %d: %s", i,
                     r == 0 ? "write to a read-only page went through"
                            : "fault at the wrong address");
            ok = 0;
        }
        mprotect((void *)p, PAGE, PROT_READ | PROT_WRITE);
        if (write_faults_at(w) != 0 || *w != 42) {
            snprintf(why, sizeof(why), "write after RW, round %d", i);
            ok = 0;
        }
    }
    check("mprotect", ok, why);
    munmap((void *)p, PAGE);
}

static void test_cross_page_fault(void)
{
    uint8_t *p = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    char why[80] = "";
    int ok = 1;

    mprotect(p + PAGE, PAGE, PROT_NONE);
    for (int i = 1; i <= 3 && ok; i++) {
        volatile uint8_t *q = p + PAGE - i;

        fault_addr = 0;
        if (sigsetjmp(fault_jmp, 1) == 0) {
            *(volatile uint32_t *)q = 0x01020304;
            snprintf(why, sizeof(why), "store across into PROT_NONE at -%d",
                     i);
            ok = 0;
        } else if (fault_addr < (uintptr_t)q ||
                   fault_addr >= (uintptr_t)p + PAGE + 4) {
            snprintf(why, sizeof(why), "fault address off by %ld",
                     (long)(fault_addr - (uintptr_t)(p + PAGE)));
            ok = 0;
        }
    }
    /* The bytes before the boundary must not have been written. */
    for (int i = 1; i <= 3 && ok; i++) {
        if (p[PAGE - i] != 0) {
            snprintf(why, sizeof(why), "partial store at -%d", i);
            ok = 0;
        }
    }
    check("cross-page-fault", ok, why);
    munmap(p, 2 * PAGE);
}

static void test_remap(void)
{
    char why[80] = "";
    int ok = 1;

    for (int i = 0; i < 100 && ok; i++) {
        volatile uint32_t *p = map(PROT_READ | PROT_WRITE);
        void *addr = (void *)p;

        p[7] = 0xdead0000 + i;
        munmap(addr, PAGE);
        p = mmap(addr, PAGE, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
        if (p[7] != 0) {
            snprintf(why, sizeof(why), "stale data after remap, round %d",
                     i);
            ok = 0;
        }
        munmap((void *)p, PAGE);
    }
    check("remap", ok, why);
}

/*
 * Two pages of a memfd, each a function returning its own value, mapped
 * in turn at one address: both stay in the page cache, unchanged, so
 * their translations stay valid, and only the TLB flush of the remap
 * keeps a call from running the page mapped there before.
 */
static void test_code_remap(void)
{
#if defined(__arm__)
    /* mov r0, #0x11 (#0x22); bx lr */
    static const uint32_t code[2][2] = { { 0xe3a00011, 0xe12fff1e },
                                         { 0xe3a00022, 0xe12fff1e } };
#else
    /* mov eax, 0x11 (0x22); ret */
    static const uint8_t code[2][6] = { { 0xb8, 0x11, 0, 0, 0, 0xc3 },
                                        { 0xb8, 0x22, 0, 0, 0, 0xc3 } };
#endif
    char why[96] = "";
    int fd = memfd_create("espt-check", 0);
    uint8_t *at = MAP_FAILED;
    int ok = 1;

    if (fd < 0 || ftruncate(fd, 2 * PAGE) ||
        pwrite(fd, code[0], sizeof(code[0]), 0) != sizeof(code[0]) ||
        pwrite(fd, code[1], sizeof(code[1]), PAGE) != sizeof(code[1])) {
        check("code-remap", 0, "memfd");
        return;
    }
    for (int i = 0; i < 200 && ok; i++) {
        uint8_t *p = mmap(i ? at : NULL, PAGE, PROT_READ | PROT_EXEC,
                          MAP_SHARED | (i ? MAP_FIXED : 0), fd,
                          (i & 1) * PAGE);
        int (*volatile fn)(void) = (int (*)(void))(uintptr_t)p;

        if (p == MAP_FAILED || (i && p != at)) {
            snprintf(why, sizeof(why), "mmap, round %d", i);
            ok = 0;
            break;
        }
        at = p;
        __builtin___clear_cache((char *)p, (char *)p + PAGE);
        for (int j = 0; j < 3 && ok; j++) {
            int got = fn(), want = i & 1 ? 0x22 : 0x11;

            if (got != want) {
                snprintf(why, sizeof(why), "round %d, call %d: %#x, not %#x",
                         i, j, got, want);
                ok = 0;
            }
        }
    }
    if (at != MAP_FAILED) {
        munmap(at, PAGE);
    }
    close(fd);
    check("code-remap", ok, why);
}

static void test_cow(void)
{
    volatile uint32_t *p = map(PROT_READ | PROT_WRITE);
    char why[80] = "";
    int ok = 1;

    for (int i = 0; i < 50 && ok; i++) {
        int status;
        pid_t pid;

        p[3] = 1;
        pid = fork();
        if (pid == 0) {
            p[3] = 2;
            _exit(p[3] == 2 ? 0 : 1);
        }
        waitpid(pid, &status, 0);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || p[3] != 1) {
            snprintf(why, sizeof(why), "round %d: parent sees %u", i, p[3]);
            ok = 0;
        }
    }
    check("copy-on-write", ok, why);
    munmap((void *)p, PAGE);
}

/* More live address spaces than a vCPU keeps windows for (48). */
static void test_many_spaces(void)
{
    enum { N = 60, PAGES = 16 };
    int to_child[N][2], from_child[N][2];
    char why[80] = "";
    int ok = 1;

    for (int c = 0; c < N; c++) {
        if (pipe(to_child[c]) || pipe(from_child[c])) {
            check("many-address-spaces", 0, "pipe");
            return;
        }
        if (fork() == 0) {
            uint32_t *m = mmap(NULL, PAGES * PAGE, PROT_READ | PROT_WRITE,
                               MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
            char go;
            int bad = 0;

            for (int round = 0; round < 3; round++) {
                for (int i = 0; i < PAGES * PAGE / 4; i += 61) {
                    m[i] = c * 7919u + round * 104729u + i;
                }
                /* let the others run in between */
                if (read(to_child[c][0], &go, 1) != 1) {
                    _exit(3);
                }
                for (int i = 0; i < PAGES * PAGE / 4; i += 61) {
                    bad |= m[i] != c * 7919u + round * 104729u + i;
                }
                if (write(from_child[c][1], bad ? "x" : "o", 1) != 1) {
                    _exit(3);
                }
            }
            _exit(bad);
        }
    }
    for (int round = 0; round < 3 && ok; round++) {
        for (int c = 0; c < N; c++) {
            if (write(to_child[c][1], "g", 1) != 1) {
                ok = 0;
            }
        }
        for (int c = 0; c < N && ok; c++) {
            char r;

            if (read(from_child[c][0], &r, 1) != 1 || r != 'o') {
                snprintf(why, sizeof(why), "child %d, round %d", c, round);
                ok = 0;
            }
        }
    }
    for (int c = 0; c < N; c++) {
        int status;

        close(to_child[c][1]);
        wait(&status);
    }
    check("many-address-spaces", ok, why);
}

/*
 * Floating-point compares of ordered, equal and unordered pairs: what C
 * sees, and on ARM the flags VMRS APSR_nzcv copies from FPSCR, read back
 * with MRS and through conditional execution.
 */
static void test_fp_compare(void)
{
    /* Ascending, then a NaN: the expected order follows the index. */
    static const double v[] = { -1.5, 0.0, 2.0, NAN };
    static const char *const kind[] = { "less", "equal", "greater",
                                        "unordered" };
#if defined(__arm__)
    /* NZCV for each kind; the bits MI, EQ, CS and VS set in cc below. */
    static const uint32_t nzcv_want[] = { 0x8, 0x6, 0x2, 0x3 };
    static const uint32_t cc_want[] = { 0x1, 0x6, 0x4, 0xc };
    uint32_t nzcv, cc;
#endif
    char why[128] = "";
    unsigned i, j, want, got;
    int ok = 1;

    for (i = 0; i < 4; i++) {
        for (j = 0; j < 4; j++) {
            volatile double va = v[i], vb = v[j];
            double a = va, b = vb;

            want = i == 3 || j == 3 ? 3 : i < j ? 0 : i == j ? 1 : 2;
            got = a < b ? 0 : a == b ? 1 : a > b ? 2 : 3;
            if (got != want) {
                snprintf(why, sizeof(why), "%g vs %g: C says %s, not %s",
                         a, b, kind[got], kind[want]);
                ok = 0;
            }
#if defined(__arm__)
            asm volatile("vcmp.f64 %P1, %P2\n\t"
                         "vmrs APSR_nzcv, fpscr\n\t"
                         "mrs %0, APSR"
                         : "=r"(nzcv) : "w"(a), "w"(b) : "cc");
            asm volatile("vcmp.f64 %P1, %P2\n\t"
                         "vmrs APSR_nzcv, fpscr\n\t"
                         "mov %0, #0\n\t"
                         "it mi\n\torrmi %0, %0, #1\n\t"
                         "it eq\n\torreq %0, %0, #2\n\t"
                         "it cs\n\torrcs %0, %0, #4\n\t"
                         "it vs\n\torrvs %0, %0, #8"
                         : "=&r"(cc) : "w"(a), "w"(b) : "cc");
            if (nzcv >> 28 != nzcv_want[want] || cc != cc_want[want]) {
                snprintf(why, sizeof(why),
                         "%g vs %g (%s): NZCV %x, conditions %x, "
                         "not %x, %x", a, b, kind[want],
                         (unsigned)(nzcv >> 28), (unsigned)cc,
                         (unsigned)nzcv_want[want], (unsigned)cc_want[want]);
                ok = 0;
            }
#endif
        }
    }
    check("fp-compare", ok, why);
}

#if defined(__arm__)
/*
 * One address entered in both instruction sets: as ARM code it returns
 * 1; as Thumb code it branches on to code that returns 2.  Called in
 * turn through a pointer with bit 0 clear and set, so that the block
 * looked up last at that pc is always of the other set.
 */
static void test_interworking(void)
{
    /* ARM: mov r0, #1; bx lr.  Thumb: movs r1, r0; b.n +0x744. */
    static const uint32_t arm_code[] = { 0xe3a00001, 0xe12fff1e };
    /* At +0x746, Thumb: movs r0, #2; bx lr. */
    static const uint16_t thumb_code[] = { 0x2002, 0x4770 };
    char why[96] = "";
    uint8_t *p = mmap(NULL, PAGE, PROT_READ | PROT_WRITE | PROT_EXEC,
                      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    int (*volatile fn)(void);
    int i, got, want, ok = 1;

    if (p == MAP_FAILED) {
        check("arm-thumb-same-pc", 0, "mmap");
        return;
    }
    memcpy(p, arm_code, sizeof(arm_code));
    memcpy(p + 0x746, thumb_code, sizeof(thumb_code));
    __builtin___clear_cache((char *)p, (char *)p + PAGE);
    for (i = 0; i < 2000 && ok; i++) {
        fn = (int (*)(void))(uintptr_t)(p + (i & 1));
        want = 1 + (i & 1);
        got = fn();
        if (got != want) {
            snprintf(why, sizeof(why), "call %d, in %s state: %d, not %d",
                     i, i & 1 ? "Thumb" : "ARM", got, want);
            ok = 0;
        }
    }
    munmap(p, PAGE);
    check("arm-thumb-same-pc", ok, why);
}
#endif

#if defined(__arm__)
/*
 * The Q flag: set by the multiply-accumulates and saturations that
 * overflow, left alone by those that do not, and sticky.  Each case
 * runs with Q clear, then with Q set.
 */
#define Q_BIT (1u << 27)
#define Q_CASE(insn, a_, b_, c_, want_, q_)                             \
    do {                                                                \
        for (int pre = 0; pre < 2; pre++) {                             \
            uint32_t a = (a_), b = (b_), c = (c_), res, psr;            \
                                                                        \
            asm volatile("msr APSR_nzcvq, %4\n\t"                       \
                         insn "\n\t"                                    \
                         "mrs %1, APSR"                                 \
                         : "=&r"(res), "=&r"(psr)                       \
                         : "r"(a), "r"(b), "r"(pre ? Q_BIT : 0), "r"(c) \
                         : "cc");                                       \
            if (res != (uint32_t)(want_) ||                             \
                !!(psr & Q_BIT) != ((q_) || pre)) {                     \
                snprintf(why, sizeof(why), "%s (%#x, %#x, %#x), Q %d: " \
                         "%#x, Q %d, not %#x, Q %d", insn, a, b, c,      \
                         pre, res, !!(psr & Q_BIT),                     \
                         (uint32_t)(want_), (q_) || pre);               \
                ok = 0;                                                 \
            }                                                           \
        }                                                               \
    } while (0)

static void test_q_flag(void)
{
    char why[160] = "";
    int ok = 1;

    Q_CASE("smlabb %0, %2, %3, %5", 0x7fff, 0x7fff, 0x7fffffff,
           0xbfff0000, 1);
    Q_CASE("smlabb %0, %2, %3, %5", 0x7fff, 0x7fff, 1, 0x3fff0002, 0);
    Q_CASE("smlatt %0, %2, %3, %5", 0x80000000, 0x80000000, 0x80000000,
           0xc0000000, 0);
    Q_CASE("smlawb %0, %2, %3, %5", 0x40000000, 0x4000, 0x70000000,
           0x80000000, 1);
    Q_CASE("smlawt %0, %2, %3, %5", 0x40000000, 0x40000000, 0x0fffffff,
           0x1fffffff, 0);
    Q_CASE("smlad %0, %2, %3, %5", 0x00010001, 0x00010001, 0x7fffffff,
           0x80000001, 1);
    Q_CASE("smuad %0, %2, %3", 0x80008000, 0x80008000, 0, 0x80000000, 1);
    Q_CASE("smuad %0, %2, %3", 0x00020003, 0x00050007, 0, 31, 0);
    Q_CASE("smlsd %0, %2, %3, %5", 0x00020001, 0x00010001, 0x80000000,
           0x7fffffff, 1);
    Q_CASE("smlsd %0, %2, %3, %5", 0x00020001, 0x00010001, 5, 4, 0);
    Q_CASE("ssat %0, #8, %2", 200, 0, 0, 127, 1);
    Q_CASE("ssat %0, #8, %2", -200, 0, 0, -128, 1);
    Q_CASE("ssat %0, #8, %2", 100, 0, 0, 100, 0);
    Q_CASE("ssat %0, #8, %2", -128, 0, 0, -128, 0);
    Q_CASE("ssat %0, #8, %2, lsl #4", 10, 0, 0, 127, 1);
    Q_CASE("ssat %0, #8, %2, asr #4", 0x7f0, 0, 0, 0x7f, 0);
    Q_CASE("ssat %0, #1, %2", 1, 0, 0, 0, 1);
    Q_CASE("ssat %0, #1, %2", -1, 0, 0, -1, 0);
    Q_CASE("ssat %0, #32, %2", 0x80000000, 0, 0, 0x80000000, 0);
    Q_CASE("usat %0, #8, %2", 300, 0, 0, 255, 1);
    Q_CASE("usat %0, #8, %2", -5, 0, 0, 0, 1);
    Q_CASE("usat %0, #8, %2", 255, 0, 0, 255, 0);
    Q_CASE("usat %0, #0, %2", 5, 0, 0, 0, 1);
    Q_CASE("usat %0, #0, %2", 0, 0, 0, 0, 0);
    Q_CASE("usat %0, #31, %2", 0x7fffffff, 0, 0, 0x7fffffff, 0);
    Q_CASE("usat %0, #31, %2", -1, 0, 0, 0, 1);
    check("arm-q-flag", ok, why);
}
#endif

#if defined(__arm__)
/*
 * NEON's lengthening instructions, which QEMU expands inline: absolute
 * differences (VABDL, VABAL), widening moves and shifts (VMOVL, VSHLL)
 * and widening additions (VADDL, VSUBL, VADDW, VSUBW), of bytes and
 * halfwords, signed and unsigned, on pseudo-random inputs, the first
 * rounds with every pair of eight edge values in every byte lane.
 * Each case starts from d0 = N, d1 = M, q1 = ACC and checks all four
 * registers afterwards; two cases write a Q register that is also a
 * source.
 */
enum {
    L_ABDL, L_ABAL, L_MOVL, L_SHLL, L_ADDL, L_SUBL, L_ADDW, L_SUBW
};

/*
 * Each case once: its number, the instruction, and what it computes (the
 * operation, the narrow lane size, signedness, the shift, whether it
 * writes q0 rather than q1, whether its narrow source is d1 rather than
 * d0).  Expanded into a function that runs it and into the table.
 */
#define NEON_CASES(X) \
    X(0, "vabdl.u8 q1, d0, d1", L_ABDL, 8, 0, 0, 0, 0) \
    X(1, "vabdl.s8 q1, d0, d1", L_ABDL, 8, 1, 0, 0, 0) \
    X(2, "vabal.u8 q1, d0, d1", L_ABAL, 8, 0, 0, 0, 0) \
    X(3, "vabal.s8 q1, d0, d1", L_ABAL, 8, 1, 0, 0, 0) \
    X(4, "vabdl.u16 q1, d0, d1", L_ABDL, 16, 0, 0, 0, 0) \
    X(5, "vabdl.s16 q1, d0, d1", L_ABDL, 16, 1, 0, 0, 0) \
    X(6, "vabal.u16 q1, d0, d1", L_ABAL, 16, 0, 0, 0, 0) \
    X(7, "vabal.s16 q1, d0, d1", L_ABAL, 16, 1, 0, 0, 0) \
    X(8, "vabdl.u8 q0, d0, d1", L_ABDL, 8, 0, 0, 1, 0) \
    X(9, "vmovl.u8 q1, d0", L_MOVL, 8, 0, 0, 0, 0) \
    X(10, "vmovl.s8 q1, d0", L_MOVL, 8, 1, 0, 0, 0) \
    X(11, "vmovl.u16 q1, d0", L_MOVL, 16, 0, 0, 0, 0) \
    X(12, "vmovl.s16 q1, d0", L_MOVL, 16, 1, 0, 0, 0) \
    X(13, "vmovl.s8 q0, d1", L_MOVL, 8, 1, 0, 1, 1) \
    X(14, "vshll.u8 q1, d0, #3", L_SHLL, 8, 0, 3, 0, 0) \
    X(15, "vshll.s8 q1, d0, #5", L_SHLL, 8, 1, 5, 0, 0) \
    X(16, "vshll.u16 q1, d0, #7", L_SHLL, 16, 0, 7, 0, 0) \
    X(17, "vshll.s16 q1, d0, #9", L_SHLL, 16, 1, 9, 0, 0) \
    X(18, "vshll.i8 q1, d0, #8", L_SHLL, 8, 0, 8, 0, 0) \
    X(19, "vshll.i16 q1, d0, #16", L_SHLL, 16, 0, 16, 0, 0) \
    X(20, "vaddl.u8 q1, d0, d1", L_ADDL, 8, 0, 0, 0, 0) \
    X(21, "vsubl.s8 q1, d0, d1", L_SUBL, 8, 1, 0, 0, 0) \
    X(22, "vaddl.s16 q1, d0, d1", L_ADDL, 16, 1, 0, 0, 0) \
    X(23, "vsubl.u16 q1, d0, d1", L_SUBL, 16, 0, 0, 0, 0) \
    X(24, "vaddw.u8 q1, q1, d0", L_ADDW, 8, 0, 0, 0, 0) \
    X(25, "vsubw.s8 q1, q1, d1", L_SUBW, 8, 1, 0, 0, 1) \
    X(26, "vaddw.s16 q1, q1, d0", L_ADDW, 16, 1, 0, 0, 0) \
    X(27, "vsubw.u16 q1, q1, d1", L_SUBW, 16, 0, 0, 0, 1)

struct neon_case {
    const char *insn;
    void (*run)(uint64_t *regs);
    int op, size, sign, shift, dst_q0, src_m;
};

/* Run the case on regs[0..3] (d0-d3) in place. */
#define NEON_RUN(n, insn, ...)                                          \
    static void neon_run_##n(uint64_t *regs)                            \
    {                                                                   \
        asm volatile(".fpu neon\n\t"                                    \
                     "vldm %0, {d0-d3}\n\t"                             \
                     insn "\n\t"                                        \
                     "vstm %0, {d0-d3}"                                 \
                     : : "r"(regs) : "d0", "d1", "d2", "d3", "memory"); \
    }
NEON_CASES(NEON_RUN)
#undef NEON_RUN

#define NEON_ENTRY(n, insn, ...) { insn, neon_run_##n, __VA_ARGS__ },
static const struct neon_case neon_cases[] = {
    NEON_CASES(NEON_ENTRY)
};
#undef NEON_ENTRY

/* Lane K of the narrow register R, of SIZE bits, extended per SIGN. */
static int64_t neon_lane(uint64_t r, int size, int sign, int k)
{
    uint64_t v = (r >> (k * size)) & ((1ull << size) - 1);

    if (sign && (v >> (size - 1))) {
        return (int64_t)v - (1ll << size);
    }
    return v;
}

/* What case C leaves in d0-d3, computed lane by lane. */
static void neon_want(const struct neon_case *c, const uint64_t *in,
                      uint64_t *out)
{
    int wide = 2 * c->size, lanes = 64 / c->size;
    uint64_t mask = (1ull << wide) - 1;
    uint64_t n = c->src_m ? in[1] : in[0];
    uint64_t res[2] = { 0, 0 };

    for (int k = 0; k < lanes; k++) {
        int64_t a = neon_lane(n, c->size, c->sign, k);
        int64_t b = neon_lane(in[1], c->size, c->sign, k);
        int64_t acc = (int64_t)((in[2 + k * wide / 64] >>
                                 (k * wide % 64)) & mask);
        int64_t v = 0;

        switch (c->op) {
        case L_ABDL: v = a > b ? a - b : b - a; break;
        case L_ABAL: v = acc + (a > b ? a - b : b - a); break;
        case L_MOVL: v = a; break;
        case L_SHLL: v = a * (1ll << c->shift); break;
        case L_ADDL: v = a + b; break;
        case L_SUBL: v = a - b; break;
        case L_ADDW: v = acc + a; break;
        case L_SUBW: v = acc - a; break;
        }
        res[k * wide / 64] |= ((uint64_t)v & mask) << (k * wide % 64);
    }
    memcpy(out, in, 4 * sizeof(*out));
    memcpy(out + (c->dst_q0 ? 0 : 2), res, sizeof(res));
}

static void test_neon_long(void)
{
    static const uint8_t edges[] = { 0x00, 0x01, 0x7f, 0x80, 0x81, 0xfe,
                                     0xff, 0x40 };
    char why[320] = "";
    uint64_t seed = 0x2545f4914f6cdd1dull;
    int ok = 1;

    for (int round = 0; round < 400 && ok; round++) {
        uint64_t in[4], got[4], want[4];

        for (int j = 0; j < 4; j++) {
            seed = seed * 6364136223846793005ull + 1442695040888963407ull;
            in[j] = seed ^ (seed >> 29);
        }
        if (round < 64) {
            /* every pair of edge values, in every lane */
            for (int k = 0; k < 8; k++) {
                in[0] = (in[0] & ~(0xffull << 8 * k)) |
                        (uint64_t)edges[(round + k) & 7] << 8 * k;
                in[1] = (in[1] & ~(0xffull << 8 * k)) |
                        (uint64_t)edges[(round / 8 + k) & 7] << 8 * k;
            }
        }
        for (int i = 0; i < (int)(sizeof(neon_cases) /
                                  sizeof(neon_cases[0])) && ok; i++) {
            memcpy(got, in, sizeof(in));
            neon_cases[i].run(got);
            neon_want(&neon_cases[i], in, want);
            if (memcmp(got, want, sizeof(got))) {
                snprintf(why, sizeof(why), "%s with d0 %016llx d1 %016llx"
                         " q1 %016llx%016llx: q0 %016llx%016llx q1 "
                         "%016llx%016llx, not q0 %016llx%016llx q1 "
                         "%016llx%016llx", neon_cases[i].insn,
                         (unsigned long long)in[0], (unsigned long long)in[1],
                         (unsigned long long)in[3], (unsigned long long)in[2],
                         (unsigned long long)got[1], (unsigned long long)got[0],
                         (unsigned long long)got[3], (unsigned long long)got[2],
                         (unsigned long long)want[1],
                         (unsigned long long)want[0],
                         (unsigned long long)want[3],
                         (unsigned long long)want[2]);
                ok = 0;
            }
        }
    }
    check("arm-neon-long", ok, why);
}

/*
 * VCMP and VCMPE of singles and doubles, and their forms against #0,
 * with FPSCR.FZ clear and set: NZCV and the cumulative flags they leave
 * in FPSCR, against a computation on the bit patterns.  QEMU compares
 * ordered operands that are not denormal inline and leaves the rest to
 * a helper.  The pairs: every pair of edge values (zeros, denormals,
 * the smallest and largest normals, infinities, quiet and signalling
 * NaNs, of both signs), then pseudo-random patterns, half of them
 * against a neighbour of the same exponent.
 */
#define FPSCR_FZ (1u << 24)
#define FPSCR_IOC 1u
#define FPSCR_IDC (1u << 7)

/*
 * Each case once: its number, the instruction, whether it is VCMPE,
 * whether it compares doubles, whether it compares with #0.
 */
#define VCMP_CASES(X) \
    X(0, "vcmp.f32 s0, s1", 0, 0, 0) \
    X(1, "vcmpe.f32 s0, s1", 1, 0, 0) \
    X(2, "vcmp.f64 d0, d1", 0, 1, 0) \
    X(3, "vcmpe.f64 d0, d1", 1, 1, 0) \
    X(4, "vcmp.f32 s0, #0", 0, 0, 1) \
    X(5, "vcmpe.f32 s0, #0", 1, 0, 1) \
    X(6, "vcmp.f64 d0, #0", 0, 1, 1) \
    X(7, "vcmpe.f64 d0, #0", 1, 1, 1)

/*
 * FPSCR after the case, from FPSCR = FZ with d0 = A and d1 = B (s0 and
 * s1 being the halves of d0).
 */
#define VCMP_RUN(n, insn, ...)                                          \
    static uint32_t vcmp_run_##n(uint64_t a, uint64_t b, uint32_t fz)   \
    {                                                                   \
        uint32_t r;                                                     \
                                                                        \
        asm volatile(".fpu vfpv3\n\t"                                   \
                     "vmsr fpscr, %1\n\t"                               \
                     "vmov d0, %Q2, %R2\n\t"                            \
                     "vmov d1, %Q3, %R3\n\t"                            \
                     insn "\n\t"                                        \
                     "vmrs %0, fpscr"                                   \
                     : "=r"(r) : "r"(fz), "r"(a), "r"(b) : "d0", "d1"); \
        return r;                                                       \
    }
VCMP_CASES(VCMP_RUN)
#undef VCMP_RUN

struct vcmp_case {
    const char *insn;
    uint32_t (*run)(uint64_t a, uint64_t b, uint32_t fz);
    int e, dp, zero;
};

#define VCMP_ENTRY(n, insn, ...) { insn, vcmp_run_##n, __VA_ARGS__ },
static const struct vcmp_case vcmp_cases[] = {
    VCMP_CASES(VCMP_ENTRY)
};
#undef VCMP_ENTRY

/*
 * FPSCR after comparing the patterns A and B (singles in the low half)
 * as the architecture's FPCompare does, from FPSCR = FZ.
 */
static uint32_t vcmp_want(uint64_t a, uint64_t b, int dp, int e,
                          uint32_t fz)
{
    int bits = dp ? 64 : 32, mbits = dp ? 52 : 23;
    uint64_t sign = 1ull << (bits - 1), mag = sign - 1;
    uint64_t inf = mag >> mbits << mbits, frac = (1ull << mbits) - 1;
    uint64_t v[2] = { a & (2 * sign - 1), b & (2 * sign - 1) };
    uint32_t flags = fz;
    int nan = 0;

    for (int i = 0; i < 2; i++) {
        uint64_t m = v[i] & mag;

        if (m > inf) {
            nan = 1;
            /* a signalling NaN has the top fraction bit clear */
            if (e || !(m >> (mbits - 1) & 1)) {
                flags |= FPSCR_IOC;
            }
        } else if (m != 0 && m <= frac && fz) {
            flags |= FPSCR_IDC;
            v[i] &= sign;           /* flushed to zero of the same sign */
        }
    }
    if (nan) {
        return flags | 0x3u << 28;
    }
    if ((v[0] & mag) == 0 && (v[1] & mag) == 0) {
        return flags | 0x6u << 28;
    }
    if (v[0] == v[1]) {
        return flags | 0x6u << 28;
    }
    /* sign and magnitude: negatives below positives, in reverse order */
    if ((v[0] & sign) != (v[1] & sign)) {
        return flags | (v[0] & sign ? 0x8u : 0x2u) << 28;
    }
    if ((v[0] < v[1]) != !!(v[0] & sign)) {
        return flags | 0x8u << 28;
    }
    return flags | 0x2u << 28;
}

static void test_vfp_compare(void)
{
    static const uint64_t edges64[] = {
        0, 1, 0x000fffffffffffffull, 0x0010000000000000ull,
        0x3ff0000000000000ull, 0x3ff8000000000000ull,
        0x7fefffffffffffffull, 0x7ff0000000000000ull,
        0x7ff8000000000000ull, 0x7ff0000000000001ull,
        0x7fffffffffffffffull,
    };
    static const uint32_t edges32[] = {
        0, 1, 0x007fffff, 0x00800000, 0x3f800000, 0x3fc00000,
        0x7f7fffff, 0x7f800000, 0x7fc00000, 0x7f800001, 0x7fffffff,
    };
    enum { NEDGE = sizeof(edges64) / sizeof(edges64[0]) };
    char why[256] = "";
    uint64_t seed = 0x9e3779b97f4a7c15ull;
    int ok = 1;

    for (int pair = 0; pair < 4 * NEDGE * NEDGE + 4000 && ok; pair++) {
        uint64_t x[2];

        for (int j = 0; j < 2; j++) {
            seed = seed * 6364136223846793005ull + 1442695040888963407ull;
            x[j] = seed ^ (seed >> 29);
        }
        if (pair & 1) {
            /* same sign and exponent, in either half */
            x[1] = x[0] ^ (x[1] & 0xff) * 0x100000001ull;
        }
        for (int i = 0; i < (int)(sizeof(vcmp_cases) /
                                  sizeof(vcmp_cases[0])) && ok; i++) {
            const struct vcmp_case *c = &vcmp_cases[i];
            uint64_t a = x[0], b = x[1];

            if (pair < 4 * NEDGE * NEDGE) {
                /* each pair of edges, with each combination of signs */
                int k = pair / 4, ia = k / NEDGE, ib = k % NEDGE;
                uint64_t sa = pair & 1, sb = pair >> 1 & 1;

                a = c->dp ? edges64[ia] | sa << 63 : edges32[ia] | sa << 31;
                b = c->dp ? edges64[ib] | sb << 63 : edges32[ib] | sb << 31;
            } else if (!c->dp) {
                a = (uint32_t)(a >> 32);
                b = (uint32_t)(b >> 32);
            }
            if (c->zero) {
                b = 0;
            }
            for (uint32_t fz = 0; fz <= FPSCR_FZ && ok; fz += FPSCR_FZ) {
                uint32_t got = c->run(c->dp ? a : a | b << 32, b, fz);
                uint32_t want = vcmp_want(a, b, c->dp, c->e, fz);

                if (got != want) {
                    snprintf(why, sizeof(why), "%s with %llx, %llx, FZ %d:"
                             " FPSCR %08x, not %08x", c->insn,
                             (unsigned long long)a, (unsigned long long)b,
                             !!fz, (unsigned)got, (unsigned)want);
                    ok = 0;
                }
            }
        }
    }
    check("arm-vfp-compare", ok, why);
}
#endif

int main(void)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_sigaction = on_segv;
    sa.sa_flags = SA_SIGINFO | SA_NODEFER;
    sigaction(SIGSEGV, &sa, NULL);
    setvbuf(stdout, NULL, _IOLBF, 0);

    test_smc();
    test_alias();
    test_mprotect();
    test_cross_page_fault();
    test_remap();
    test_code_remap();
    test_cow();
    test_many_spaces();
    test_fp_compare();
#if defined(__arm__)
    test_interworking();
    test_q_flag();
    test_neon_long();
    test_vfp_compare();
#endif
    printf("ESPT-CHECK: %d passed, %d failed\n", passed, failed);
    return failed != 0;
}
