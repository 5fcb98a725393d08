/*
 * A bare-metal IA-32 MMU test: booted on pc by -kernel (Multiboot), it
 * checks 2-level paging (4 KiB and 4 MiB pages) and PAE paging (4 KiB
 * and 2 MiB pages, NX), page faults with their exact CR2, error code and
 * EIP for every cause, accessed and dirty bits, INVLPG, CR3 switches
 * (global pages, page tables written while not current, many address
 * spaces), self-modifying code and MMIO through a page mapping, prints
 * one line per check and leaves QEMU by isa-debug-exit.  ESPT must give
 * exactly what the softmmu gives.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <stdint.h>
#include "bare.h"

#define COM1        0x3f8
#define DEBUG_EXIT  0xf4            /* isa-debug-exit: status 2 * v + 1 */

#define CR0_WP      (1u << 16)
#define CR0_PG      (1u << 31)
#define CR4_PSE     (1u << 4)
#define CR4_PAE     (1u << 5)
#define CR4_PGE     (1u << 7)
#define CR4_SMEP    (1u << 20)
#define CR4_SMAP    (1u << 21)
#define MSR_EFER    0xc0000080u
#define EFER_NXE    (1u << 11)

/* Page table entries, both formats. */
#define P           0x001u
#define W           0x002u
#define U           0x004u
#define PWT         0x008u
#define PCD         0x010u
#define A           0x020u
#define D           0x040u
#define PS          0x080u
#define G           0x100u
#define NX          (1ull << 63)
#define PAE_RSVD    (1ull << 51)    /* above MAXPHYADDR: reserved */

/* Page fault error code. */
#define E_P         0x01u
#define E_W         0x02u
#define E_U         0x04u
#define E_RSVD      0x08u
#define E_ID        0x10u

/* Physical memory: test frames, a 4 MiB and a 2 MiB page, devices. */
#define FRAME(n)    (0x00600000u + ((n) << 12))
#define MANY_FRAME(i) (0x00700000u + ((i) << 12))
#define BIG_PA      0x00800000u
#define HUGE_PA     0x00c00000u
#define IOAPIC_PA   0xfec00000u
#define HPET_PA     0xfed00000u
#define MARK(n, i)  (0xd0000000u + ((n) << 16) + (i))
#define BIG_MARK(o) (0xb0000000u + (o))

/* Virtual memory, 2-level phase: 0-16 MiB identity (4 MiB pages). */
#define TEST_VA     0x40000000u     /* pt_test: 4 KiB pages, below */
#define BIG_VA      0x40400000u     /* a 4 MiB page at BIG_PA */
#define USUP_VA     0x44000000u     /* pt_test again: PDE supervisor */
#define USRO_VA     0x44400000u     /* pt_test again: PDE read-only */
#define ASV         0x50000000u     /* differs between address spaces */
#define ASV2        0x50400000u     /* its PDE differs, later */
#define GLOBAL_VA   0x50800000u     /* a global page */
#define CODE_VA     (ASV + 0x1000)  /* code that differs between spaces */
#define GCODE_VA    (GLOBAL_VA + 0x1000)    /* code on a global page */
#define NOPDE_VA    0x60000000u     /* PDE not present */
#define RSVD_VA     0x60400000u     /* 4 MiB PDE with bit 21 set */
#define MANY_VA     0x70000000u
#define SLOT(n)     (TEST_VA + ((n) << 12))

/* PAE phase: TEST_VA's pae_pt has the same slots. */
#define HUGE_VA     0x40200000u     /* a 2 MiB page at HUGE_PA */
#define PAE_RSVD_VA 0x40400000u     /* 2 MiB PDE with bit 13 set */
#define PAE_NXPD_VA 0x40600000u     /* pae_pt again: PDE NX */
#define PAE_NOPDP_VA 0x80000000u    /* PDPTE not present */

#define NMANY       64
#define SMC_ROUNDS  1000

/* The slots of pt_test (and pae_pt). */
enum {
    S_DATA = 0,     /* FRAME(1) */
    S_ALIAS = 1,    /* FRAME(1) again */
    S_RO = 2,       /* FRAME(2) supervisor read-only; PAE: user page NX */
    S_NP = 3,       /* not present */
    S_SUPER = 4,    /* FRAME(4) supervisor; PAE: reserved bit */
    S_AD = 5,       /* FRAME(5): accessed and dirty */
    S_REMAP = 6,    /* FRAME(6), then FRAME(7) */
    S_EXEC = 7,     /* PAE: the user page, executable */
    S_PTB = 8,      /* pt_asb (PAE: pae_ptb), the page table page */
    S_PDB = 9,      /* pd_b, the page directory page */
    S_SMC = 10,     /* smc_page */
    S_IOAPIC = 11,
    S_HPET = 12,
    S_NOA = 13,     /* FRAME(13) read-only, accessed and dirty clear */
    S_UCODE = 16,   /* the user page, user read-only */
    S_URW = 17,     /* FRAME(17) user */
    S_URO = 18,     /* FRAME(18) user read-only */
    S_SMAP = 19,    /* FRAME(19) user */
};

/* Where the user page's symbol @sym is at S_UCODE (PAE: S_EXEC). */
#define UVA(sym)    (SLOT(S_UCODE) + OFFSET_IN_USER_PAGE(sym))
#define OFFSET_IN_USER_PAGE(sym) ((uint32_t)(sym) - (uint32_t)user_page)

#define PAGE_TABLE  __attribute__((aligned(4096)))

/* Paging structures: the MMU reads them and sets their A and D bits. */
typedef volatile uint32_t Pte32;    /* written by the MMU */
typedef volatile uint64_t Pte64;    /* written by the MMU */

/* 2-level tables; the page table pages are also read as data. */
static Pte32 pd_a[1024] PAGE_TABLE, pd_b[1024] PAGE_TABLE;
static Pte32 pt_test[1024] PAGE_TABLE;
static Pte32 pt_asa[1024] PAGE_TABLE, pt_asb[1024] PAGE_TABLE;
static Pte32 pt_asb2[1024] PAGE_TABLE, pt_glob[1024] PAGE_TABLE;
static Pte32 pd_many[NMANY][1024] PAGE_TABLE;
static Pte32 pt_many[NMANY][1024] PAGE_TABLE;
/* PAE tables. */
static Pte64 pdpt_a[512] PAGE_TABLE, pdpt_b[512] PAGE_TABLE;
static Pte64 pae_pd0[512] PAGE_TABLE, pae_pd1[512] PAGE_TABLE;
static Pte64 pae_pd1b[512] PAGE_TABLE;
static Pte64 pae_pt[512] PAGE_TABLE, pae_ptb[512] PAGE_TABLE;

static uint64_t idt[256];
static uint32_t tss[26];

/* Written by trap(), read after the faulting access. */
volatile uint32_t pf_n, pf_err, pf_cr2, pf_eip;     /* set by trap() */
volatile uint32_t pf_resume;            /* set by start.S's probes */
volatile uint32_t user_result, user_faulted;        /* set by trap() */

static inline void outb(uint16_t port, uint8_t v)
{
    asm volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static inline void outl(uint16_t port, uint32_t v)
{
    asm volatile("outl %0, %1" : : "a"(v), "Nd"(port));
}

static inline uint8_t inb(uint16_t port)
{
    uint8_t v;

    asm volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}

#define CR_ACCESSORS(n) \
    static inline uint32_t get_cr##n(void) \
    { \
        uint32_t v; \
        asm volatile("mov %%cr" #n ", %0" : "=r"(v)); \
        return v; \
    } \
    static inline void set_cr##n(uint32_t v) \
    { \
        asm volatile("mov %0, %%cr" #n : : "r"(v) : "memory"); \
    }
CR_ACCESSORS(0)
CR_ACCESSORS(3)
CR_ACCESSORS(4)

static inline uint32_t get_cr2(void)
{
    uint32_t v;

    asm volatile("mov %%cr2, %0" : "=r"(v));
    return v;
}

static inline void invlpg(uint32_t va)
{
    asm volatile("invlpg (%0)" : : "r"(va) : "memory");
}

static inline uint64_t rdmsr(uint32_t msr)
{
    uint32_t lo, hi;

    asm volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
    return ((uint64_t)hi << 32) | lo;
}

static inline void wrmsr(uint32_t msr, uint64_t v)
{
    asm volatile("wrmsr" : : "c"(msr), "a"((uint32_t)v),
                 "d"((uint32_t)(v >> 32)) : "memory");
}

static inline void cpuid(uint32_t leaf, uint32_t *b, uint32_t *d)
{
    uint32_t a = leaf, c = 0;

    asm volatile("cpuid" : "+a"(a), "=b"(*b), "+c"(c), "=d"(*d));
}

static inline void stac(void)
{
    asm volatile("stac" : : : "memory");
}

static inline void clac(void)
{
    asm volatile("clac" : : : "memory");
}

static void putc_(char c)
{
    while (!(inb(COM1 + 5) & 0x20)) {
        /* transmitter busy */
    }
    outb(COM1, c);
}

#include "../report.h"

static void finish(void)
{
    summary("bare-i386");
    outl(DEBUG_EXIT, nb_bad ? 1 : 0);
    for (;;) {
        asm volatile("cli; hlt");
    }
}

static void to_kernel(struct frame *f, uint32_t faulted)
{
    user_faulted = faulted;
    user_result = f->eax;
    f->cs = KCODE;
    f->eip = (uint32_t)user_return;
    f->eflags = 2;
}

void trap(struct frame *f)
{
    if (f->vec == 14) {
        pf_n++;
        pf_err = f->err;
        pf_cr2 = get_cr2();
        pf_eip = f->eip;
        if ((f->cs & 3) == 3) {
            to_kernel(f, 1);
            return;
        }
        if (pf_resume) {
            f->eip = pf_resume;
            return;
        }
    } else if (f->vec == 0x80) {
        to_kernel(f, 0);
        return;
    }
    check3("unexpected-trap", 0, f->vec, f->err, f->eip, 3);
    if (f->vec == 14) {
        check("unexpected-trap-cr2", 0, get_cr2(), 0);
    }
    finish();
}

static uint32_t rd(uint32_t a)
{
    return *(volatile uint32_t *)a;    /* the access under test */
}

static void wr(uint32_t a, uint32_t v)
{
    *(volatile uint32_t *)a = v;       /* the access under test */
}

/*
 * One page fault since @n0, with error code @err (the bits in @mask),
 * CR2 @cr2 and EIP @eip.
 */
static void expect_pf_mask(const char *name, uint32_t n0, uint32_t err,
                           uint32_t mask, uint32_t cr2, uint32_t eip)
{
    check3(name, pf_n == n0 + 1 && (pf_err & mask) == err &&
           pf_cr2 == cr2 && pf_eip == eip, pf_err, pf_cr2, pf_eip, 3);
}

static void expect_pf(const char *name, uint32_t n0, uint32_t err,
                      uint32_t cr2, uint32_t eip)
{
    expect_pf_mask(name, n0, err, ~0u, cr2, eip);
}

/* A load from ring 3 at @va that must fault with @err. */
static void expect_user_rd_pf(const char *name, uint32_t va, uint32_t err)
{
    uint32_t n0 = pf_n;

    user_call(UVA(user_rd_code), va, 0);
    expect_pf(name, n0, err, va, UVA(user_rd_code));
}

static void expect_user_wr_pf(const char *name, uint32_t va, uint32_t err)
{
    uint32_t n0 = pf_n;

    user_call(UVA(user_wr_code), va, 0x77);
    expect_pf(name, n0, err, va, UVA(user_wr_code));
}

static void setup_cpu(void)
{
    uint32_t t = (uint32_t)tss, i, h;
    struct {
        uint16_t limit;
        uint32_t base;
    } __attribute__((packed)) idtr = { sizeof(idt) - 1, (uint32_t)idt };

    tss[1] = (uint32_t)trap_stack_top;          /* esp0 */
    tss[2] = KDATA;                             /* ss0 */
    tss[25] = sizeof(tss) << 16;                /* no I/O bitmap */
    gdt[GDT_TSS] = (sizeof(tss) - 1) | ((uint64_t)(t & 0xffffff) << 16) |
                   (0x89ull << 40) | ((uint64_t)(t >> 24) << 56);
    asm volatile("ltr %w0" : : "r"(TSS_SEL));

    for (i = 0; i < 33; i++) {
        h = i < 32 ? trap_stubs[i] : trap_syscall[0];
        idt[i < 32 ? i : 0x80] = (h & 0xffff) | (KCODE << 16) |
            ((uint64_t)(i < 32 ? 0x8e : 0xee) << 40) |
            ((uint64_t)(h >> 16) << 48);
    }
    asm volatile("lidt %0" : : "m"(idtr));
}

/* Code at this linear address runs as 32-bit and as 16-bit code. */
#define CODE16_VA   0x7000u

/* lcall SEL:OFF with EAX = 0; return EAX. */
static uint32_t far_call(uint16_t sel, uint32_t off)
{
    struct {
        uint32_t off;
        uint16_t sel;
    } __attribute__((packed)) fp = { off, sel };
    uint32_t eax = 0;

    asm volatile("lcall *%1" : "+a"(eax) : "m"(fp) : "memory", "cc");
    return eax;
}

/*
 * One linear address entered in turn through a 32-bit and a 16-bit code
 * segment, by far calls: the block looked up last at that pc is always
 * of the other operand size, which a block lookup must tell apart.
 */
static void test_code16(void)
{
    /*
     * As 32-bit code: add $2, %ax; jmp to lret (EAX = 2).  As 16-bit
     * code: add $0x02eb0002, %eax; lretl (EAX = 0x02eb0002).
     */
    static const uint8_t code[] = {
        0x31, 0xc0,                         /* xor %eax, %eax / %ax, %ax */
        0x66, 0x05, 0x02, 0x00, 0xeb, 0x02, /* the two adds (and jmp) */
        0x66, 0xcb,                         /* 16-bit: lretl */
        0xcb,                               /* 32-bit: lret */
    };
    uint8_t *p = (uint8_t *)CODE16_VA;
    uint32_t i, got = 0, want = 0;
    int ok = 1;

    for (i = 0; i < sizeof(code); i++) {
        p[i] = code[i];
    }
    for (i = 0; i < 2000 && ok; i++) {
        want = i & 1 ? 0x02eb0002u : 2;
        got = far_call(i & 1 ? KCODE16 : KCODE, CODE16_VA);
        ok = got == want;
    }
    check("code16-same-pc", ok, got, want);
}

static uint32_t ioapic_version(uint32_t base)
{
    wr(base, 1);                        /* IOREGSEL: IOAPICVER */
    return rd(base + 0x10);             /* IOWIN */
}

static uint32_t hpet_caps(uint32_t base)
{
    return rd(base);                    /* GCAP_ID, low half */
}

/* Make frame @n a function that returns CODE_MARK(@n). */
#define CODE_MARK(n) (0xc0de0000u + (n))
static void put_code(uint32_t n)
{
    uint32_t v = CODE_MARK(n);

    /* b8 v0 v1 v2 v3: mov $v, %eax; c3: ret */
    wr(FRAME(n), 0xb8 | v << 8);
    wr(FRAME(n) + 4, v >> 24 | 0xc300);
}

/* Physical memory, before paging: markers in every frame used. */
static void fill_frames(void)
{
    uint32_t n, i;

    for (n = 0; n < 32; n++) {
        for (i = 0; i < 1024; i++) {
            wr(FRAME(n) + i * 4, MARK(n, i));
        }
    }
    for (n = 0; n < NMANY; n++) {
        wr(MANY_FRAME(n), 0xe0000000u + n);
    }
    wr(BIG_PA, BIG_MARK(0));
    wr(BIG_PA + 0x123450, BIG_MARK(0x123450));
    wr(BIG_PA + 0x3ffffc, BIG_MARK(0x3ffffc));
    wr(HUGE_PA + 0x1ffff8, 0xc2c2c2c2u);
    for (n = 24; n < 28; n++) {
        put_code(n);
    }
}

static void copy_pd(Pte32 *dst, Pte32 *src)
{
    int i;

    for (i = 0; i < 1024; i++) {
        dst[i] = src[i];
    }
}

static void build_2level(void)
{
    uint32_t i;

    for (i = 0; i < 4; i++) {
        pd_a[i] = (i << 22) | P | W | PS;
    }
    pd_a[TEST_VA >> 22] = (uint32_t)pt_test | P | W | U;
    pd_a[BIG_VA >> 22] = BIG_PA | P | W | PS;
    pd_a[USUP_VA >> 22] = (uint32_t)pt_test | P | W;
    pd_a[USRO_VA >> 22] = (uint32_t)pt_test | P | U;
    pd_a[ASV >> 22] = (uint32_t)pt_asa | P | W;
    pd_a[ASV2 >> 22] = (uint32_t)pt_asa | P | W;
    pd_a[GLOBAL_VA >> 22] = (uint32_t)pt_glob | P | W;
    pd_a[RSVD_VA >> 22] = BIG_PA | P | W | PS | (1u << 21);

    pt_test[S_DATA] = FRAME(1) | P | W;
    pt_test[S_ALIAS] = FRAME(1) | P | W;
    pt_test[S_RO] = FRAME(2) | P;
    pt_test[S_SUPER] = FRAME(4) | P | W;
    pt_test[S_AD] = FRAME(5) | P | W;
    pt_test[S_REMAP] = FRAME(6) | P | W;
    pt_test[S_PTB] = (uint32_t)pt_asb | P | W;
    pt_test[S_PDB] = (uint32_t)pd_b | P | W;
    pt_test[S_SMC] = (uint32_t)smc_page | P | W;
    pt_test[S_IOAPIC] = IOAPIC_PA | P | W | PCD | PWT;
    pt_test[S_HPET] = HPET_PA | P | W | PCD | PWT;
    pt_test[S_NOA] = FRAME(13) | P;
    pt_test[S_UCODE] = (uint32_t)user_page | P | U;
    pt_test[S_URW] = FRAME(17) | P | W | U;
    pt_test[S_URO] = FRAME(18) | P | U;
    pt_test[S_SMAP] = FRAME(19) | P | W | U;

    pt_asa[0] = FRAME(10) | P | W;
    pt_asb[0] = FRAME(11) | P | W;
    pt_asb2[0] = FRAME(16) | P | W;
    pt_glob[0] = FRAME(30) | P | W | G;
    pt_asa[1] = FRAME(24) | P | W;      /* CODE_VA */
    pt_asb[1] = FRAME(25) | P | W;
    pt_glob[1] = FRAME(26) | P | W | G; /* GCODE_VA */

    copy_pd(pd_b, pd_a);
    pd_b[ASV >> 22] = (uint32_t)pt_asb | P | W;
    pd_b[ASV2 >> 22] = (uint32_t)pt_asb | P | W;
}

static void test_translation(void)
{
    uint32_t v;

    check("map-4k", rd(SLOT(S_DATA) + 0x10) == MARK(1, 4),
          rd(SLOT(S_DATA) + 0x10), MARK(1, 4));
    wr(SLOT(S_DATA) + 0x20, 0x11111111u);
    check("alias-4k", rd(SLOT(S_ALIAS) + 0x20) == 0x11111111u &&
          rd(FRAME(1) + 0x20) == 0x11111111u,
          rd(SLOT(S_ALIAS) + 0x20), rd(FRAME(1) + 0x20));
    check("map-4m", rd(BIG_VA + 0x123450) == BIG_MARK(0x123450) &&
          rd(BIG_VA + 0x3ffffc) == BIG_MARK(0x3ffffc),
          rd(BIG_VA + 0x123450), rd(BIG_VA + 0x3ffffc));
    wr(BIG_VA + 0x200040, 0x4b4b4b4bu);
    v = rd(BIG_PA + 0x200040);
    check("write-4m", v == 0x4b4b4b4bu, v, 0x4b4b4b4bu);
}

static void test_faults(void)
{
    uint32_t n0, v, va;

    check("ro-read", rd(SLOT(S_RO) + 4) == MARK(2, 1),
          rd(SLOT(S_RO) + 4), MARK(2, 1));
    n0 = pf_n;
    probe_wr(SLOT(S_RO) + 4, 5);
    expect_pf("wp1-write-pf", n0, E_P | E_W, SLOT(S_RO) + 4,
              (uint32_t)probe_wr_at);
    check("wp1-unchanged", rd(FRAME(2) + 4) == MARK(2, 1),
          rd(FRAME(2) + 4), MARK(2, 1));
    set_cr0(get_cr0() & ~CR0_WP);
    n0 = pf_n;
    probe_wr(SLOT(S_RO) + 8, 6);
    check("wp0-write", pf_n == n0 && rd(FRAME(2) + 8) == 6,
          pf_n - n0, rd(FRAME(2) + 8));
    set_cr0(get_cr0() | CR0_WP);
    n0 = pf_n;
    probe_wr(SLOT(S_RO) + 8, 7);
    expect_pf("wp1-again-pf", n0, E_P | E_W, SLOT(S_RO) + 8,
              (uint32_t)probe_wr_at);

    n0 = pf_n;
    va = SLOT(S_NP) + 0xc;
    v = probe_rd(va);
    expect_pf("np-read-pf", n0, 0, va, (uint32_t)probe_rd_at);
    check("np-read-value", v == NO_VALUE, v, NO_VALUE);
    n0 = pf_n;
    probe_wr(va, 1);
    expect_pf("np-write-pf", n0, E_W, va, (uint32_t)probe_wr_at);
    /* Without NXE or SMEP, a fetch does not set I/D. */
    n0 = pf_n;
    va = SLOT(S_NP) + 0x10;
    v = call_at(va);
    expect_pf("np-fetch-pf", n0, 0, va, va);
    n0 = pf_n;
    va = NOPDE_VA + 0x123;
    v = probe_rd(va);
    expect_pf("pde-np-read-pf", n0, 0, va, (uint32_t)probe_rd_at);
    /*
     * A reserved bit: the SDM sets P with RSVD, QEMU's softmmu does not;
     * accept either.
     */
    n0 = pf_n;
    va = RSVD_VA + 0x40;
    v = probe_rd(va);
    expect_pf_mask("pse-rsvd-read-pf", n0, E_RSVD, ~E_P, va,
                   (uint32_t)probe_rd_at);

    /* Ring 3. */
    v = user_call(UVA(user_rd_code), SLOT(S_URO) + 0x18, 0);
    check("user-ro-read", !user_faulted && v == MARK(18, 6), v,
          user_faulted);
    v = user_call(UVA(user_wr_code), SLOT(S_URW) + 0x1c, 0x5555u);
    check("user-rw-write", !user_faulted &&
          rd(FRAME(17) + 0x1c) == 0x5555u, rd(FRAME(17) + 0x1c),
          user_faulted);
    expect_user_rd_pf("user-super-read-pf", SLOT(S_SUPER) + 0x14,
                      E_P | E_U);
    expect_user_wr_pf("user-super-write-pf", SLOT(S_SUPER) + 0x14,
                      E_P | E_W | E_U);
    expect_user_wr_pf("user-ro-write-pf", SLOT(S_URO) + 0x18,
                      E_P | E_W | E_U);
    check("user-ro-unchanged", rd(FRAME(18) + 0x18) == MARK(18, 6),
          rd(FRAME(18) + 0x18), MARK(18, 6));
    expect_user_rd_pf("user-np-read-pf", SLOT(S_NP) + 0x20, E_U);
    /* The PDE's U and R/W bits combine with the PTE's. */
    expect_user_rd_pf("user-pde-super-read-pf",
                      USUP_VA + (S_URW << 12) + 4, E_P | E_U);
    expect_user_wr_pf("user-pde-ro-write-pf",
                      USRO_VA + (S_URW << 12) + 8, E_P | E_W | E_U);
    v = user_call(UVA(user_rd_code), USRO_VA + (S_URW << 12) + 0x1c, 0);
    check("user-pde-ro-read", !user_faulted && v == 0x5555u, v,
          user_faulted);
    n0 = pf_n;
    v = call_at(UVA(ret_5a));
    check("super-fetch-user-page", pf_n == n0 && v == 0x5a5a5a5au, v,
          pf_n - n0);
}

static void test_accessed_dirty(void)
{
    Pte32 *pde = &pd_a[TEST_VA >> 22];
    Pte32 *pte = &pt_test[S_AD];
    uint32_t n0, va = SLOT(S_AD);

    /* A read sets A in the PTE and the PDE, not D. */
    *pte = FRAME(5) | P | W;
    *pde &= ~A;
    invlpg(va);
    (void)rd(va);
    check("ad-read", (*pte & (A | D)) == A && (*pde & A), *pte, *pde);
    /* A store after the read (the page entered read-only) sets D. */
    wr(va + 4, 1);
    check("ad-write-after-read", (*pte & (A | D)) == (A | D), *pte, 0);
    /* Cleared in memory, after INVLPG: set again, by a write first... */
    *pte = FRAME(5) | P | W;
    invlpg(va);
    wr(va + 8, 2);
    check("ad-reset-write", (*pte & (A | D)) == (A | D), *pte, 0);
    /* ... or by a read. */
    *pte = FRAME(5) | P | W;
    *pde &= ~A;
    invlpg(va);
    (void)rd(va + 8);
    check("ad-reset-read", (*pte & (A | D)) == A && (*pde & A), *pte,
          *pde);
    /* Faulting accesses set neither on the leaf. */
    pte = &pt_test[S_NOA];
    invlpg(SLOT(S_NOA));
    n0 = pf_n;
    probe_wr(SLOT(S_NOA), 3);
    user_call(UVA(user_rd_code), SLOT(S_NOA), 0);
    check("ad-fault-sets-none", pf_n == n0 + 2 &&
          *pte == (FRAME(13) | P), *pte, pf_n - n0);
    /* A 4 MiB page: A and D in the PDE. */
    pde = &pd_a[BIG_VA >> 22];
    *pde = BIG_PA | P | W | PS;
    invlpg(BIG_VA);
    (void)rd(BIG_VA + 0x3000);
    check("ad-4m-read", (*pde & (A | D)) == A, *pde, 0);
    wr(BIG_VA + 0x3004, 4);
    check("ad-4m-write", (*pde & (A | D)) == (A | D), *pde, 0);
}

static void test_invlpg(void)
{
    uint32_t n0, v, va = SLOT(S_REMAP);

    v = rd(va);
    pt_test[S_REMAP] = FRAME(7) | P | W;
    invlpg(va);
    check("invlpg-remap", v == MARK(6, 0) && rd(va) == MARK(7, 0),
          v, rd(va));
    wr(va + 0x30, 7);                   /* now in the TLB, writable */
    pt_test[S_REMAP] = FRAME(7) | P;
    invlpg(va);
    n0 = pf_n;
    probe_wr(va + 0x30, 8);
    expect_pf("invlpg-ro-write-pf", n0, E_P | E_W, va + 0x30,
              (uint32_t)probe_wr_at);
    pt_test[S_REMAP] = FRAME(7) | P | W;
    invlpg(va);
    n0 = pf_n;
    probe_wr(va + 0x30, 9);
    check("invlpg-rw-write", pf_n == n0 && rd(FRAME(7) + 0x30) == 9,
          rd(FRAME(7) + 0x30), pf_n - n0);
}

/* Wrong results in 50 rounds of: B's CR3, call @va; A's CR3, call @va. */
static uint32_t calls_across_cr3(uint32_t va, uint32_t want_b,
                                 uint32_t want_a)
{
    uint32_t i, bad = 0;

    for (i = 0; i < 50; i++) {
        set_cr3((uint32_t)pd_b);
        bad += call_at(va) != want_b;
        set_cr3((uint32_t)pd_a);
        bad += call_at(va) != want_a;
    }
    return bad;
}

static void test_cr3(void)
{
    uint32_t i, bad = 0, bad2 = 0, v, w;

    for (i = 0; i < 100; i++) {
        set_cr3((uint32_t)pd_b);
        bad += rd(ASV) != MARK(11, 0);
        set_cr3((uint32_t)pd_a);
        bad += rd(ASV) != MARK(10, 0);
    }
    check("cr3-switch", bad == 0, bad, rd(ASV));

    /* Global pages, unchanged in every address space. */
    set_cr4(get_cr4() | CR4_PGE);
    bad = 0;
    for (i = 0; i < 50; i++) {
        set_cr3((uint32_t)pd_b);
        bad += rd(GLOBAL_VA) != MARK(30, 0) || rd(ASV) != MARK(11, 0);
        set_cr3((uint32_t)pd_a);
        bad += rd(GLOBAL_VA) != MARK(30, 0) || rd(ASV) != MARK(10, 0);
    }
    check("pge-global", bad == 0, bad, rd(GLOBAL_VA));
    pt_glob[0] = FRAME(31) | P | W | G;
    invlpg(GLOBAL_VA);
    v = rd(GLOBAL_VA);
    set_cr3((uint32_t)pd_b);
    w = rd(GLOBAL_VA);
    set_cr3((uint32_t)pd_a);
    check("pge-invlpg", v == MARK(31, 0) && w == v && rd(GLOBAL_VA) == v,
          v, w);
    /* That last read put the global page in the TLB. */
    pt_glob[0] = FRAME(30) | P | W | G;
    set_cr4(get_cr4() & ~CR4_PGE);
    set_cr4(get_cr4() | CR4_PGE);
    v = rd(GLOBAL_VA);
    check("pge-toggle", v == MARK(30, 0), v, MARK(30, 0));

    /*
     * Code: a CR3 write must drop the blocks of pages that are not
     * global (CODE_VA runs another frame in each space), and may keep
     * those of global pages, until INVLPG or a CR4.PGE toggle.
     */
    bad = calls_across_cr3(CODE_VA, CODE_MARK(25), CODE_MARK(24));
    check("cr3-code", bad == 0, bad, call_at(CODE_VA));
    /* Apart: a block of GCODE_VA may take CODE_VA's jump cache entry. */
    bad2 = calls_across_cr3(GCODE_VA, CODE_MARK(26), CODE_MARK(26));
    check("pge-code", bad2 == 0, bad2, call_at(GCODE_VA));
    pt_glob[1] = FRAME(27) | P | W | G;
    invlpg(GCODE_VA);
    v = call_at(GCODE_VA);
    set_cr3((uint32_t)pd_b);
    w = call_at(GCODE_VA);
    set_cr3((uint32_t)pd_a);
    check("pge-code-invlpg", v == CODE_MARK(27) && w == v &&
          call_at(GCODE_VA) == v, v, w);
    pt_glob[1] = FRAME(26) | P | W | G;
    set_cr4(get_cr4() & ~CR4_PGE);
    set_cr4(get_cr4() | CR4_PGE);
    v = call_at(GCODE_VA);
    check("pge-code-toggle", v == CODE_MARK(26), v, CODE_MARK(26));

    /*
     * The page table of B, written through another mapping while A is
     * current, then B: the new mapping, with no INVLPG.
     */
    bad = 0;
    for (i = 0; i < 20; i++) {
        uint32_t n = i & 1 ? 11 : 15, prev = i & 1 ? 15 : 11;

        set_cr3((uint32_t)pd_b);
        bad += rd(ASV) != MARK(prev, 0);
        set_cr3((uint32_t)pd_a);
        wr(SLOT(S_PTB), FRAME(n) | P | W);
        set_cr3((uint32_t)pd_b);
        v = rd(ASV);
        bad2 += v != MARK(n, 0);
        set_cr3((uint32_t)pd_a);
        bad += rd(ASV) != MARK(10, 0);
    }
    check("noncurrent-pte", bad == 0 && bad2 == 0, bad2, bad);

    /* The same for B's PDE: a page table, another, a 4 MiB page. */
    bad = 0;
    bad2 = 0;
    for (i = 0; i < 30; i++) {
        const uint32_t pde[3] = {
            (uint32_t)pt_asb2 | P | W,
            BIG_PA | P | W | PS,
            (uint32_t)pt_asb | P | W,
        };
        const uint32_t want[3] = {
            MARK(16, 0), BIG_MARK(0), MARK(11, 0),
        };

        set_cr3((uint32_t)pd_b);
        bad += rd(ASV2) != want[(i + 2) % 3];
        set_cr3((uint32_t)pd_a);
        wr(SLOT(S_PDB) + (ASV2 >> 22) * 4, pde[i % 3]);
        set_cr3((uint32_t)pd_b);
        bad2 += rd(ASV2) != want[i % 3];
        set_cr3((uint32_t)pd_a);
    }
    check("noncurrent-pde", bad == 0 && bad2 == 0, bad2, bad);
}

static void test_many(void)
{
    uint32_t i, bad = 0, v;

    for (i = 0; i < NMANY; i++) {
        copy_pd(pd_many[i], pd_a);
        pd_many[i][MANY_VA >> 22] = (uint32_t)pt_many[i] | P | W;
        pt_many[i][0] = MANY_FRAME(i) | P | W;
    }
    for (i = 0; i < NMANY; i++) {
        set_cr3((uint32_t)pd_many[i]);
        bad += rd(MANY_VA) != 0xe0000000u + i;
        wr(MANY_VA + 4, i * 7 + 1);
    }
    set_cr3((uint32_t)pd_a);
    check("many-spaces-1", bad == 0, bad, NMANY);
    bad = 0;
    for (i = 0; i < NMANY; i++) {
        set_cr3((uint32_t)pd_many[i]);
        bad += rd(MANY_VA) != 0xe0000000u + i ||
               rd(MANY_VA + 4) != i * 7 + 1;
    }
    set_cr3((uint32_t)pd_a);
    check("many-spaces-2", bad == 0, bad, NMANY);
    bad = 0;
    for (i = 0; i < NMANY; i++) {
        v = rd(MANY_FRAME(i) + 4);
        bad += v != i * 7 + 1;
    }
    check("many-spaces-phys", bad == 0, bad, NMANY);
}

/*
 * Self-modifying code: smc_fn's immediate and a data word on its page
 * are rewritten each round, through @wva (smc_page or an alias).
 */
static void test_smc(const char *name, uint32_t wva)
{
    uint32_t i, bad = 0, v = 0;

    for (i = 1; i <= SMC_ROUNDS; i++) {
        wr(wva + 0x800 + (i & 0xff) * 4, i);
        wr(wva + 1, i * 3);                 /* mov $imm32, %eax */
        wr(wva + 0xc00, i);
        v = smc_fn();
        bad += v != i * 3;
    }
    check(name, bad == 0 && rd((uint32_t)smc_page + 0xc00) == SMC_ROUNDS,
          bad, v);
}

static void test_smep_smap(void)
{
    uint32_t n0, v, va;

    set_cr4(get_cr4() | CR4_SMEP);
    n0 = pf_n;
    va = SLOT(S_NP) + 0x10;
    v = call_at(va);
    expect_pf("smep-np-fetch-pf", n0, E_ID, va, va);
    n0 = pf_n;
    va = UVA(ret_5a);
    v = call_at(va);
    expect_pf("smep-fetch-pf", n0, E_P | E_ID, va, va);
    check("smep-fetch-value", v == 0, v, 0);
    v = user_call(UVA(user_rd_code), SLOT(S_URO), 0);
    check("smep-user-runs", !user_faulted && v == MARK(18, 0), v,
          user_faulted);

    set_cr4(get_cr4() | CR4_SMAP);
    n0 = pf_n;
    va = SLOT(S_SMAP) + 0x24;
    v = probe_rd(va);
    expect_pf("smap-read-pf", n0, E_P, va, (uint32_t)probe_rd_at);
    n0 = pf_n;
    probe_wr(va, 0x5a);
    expect_pf("smap-write-pf", n0, E_P | E_W, va, (uint32_t)probe_wr_at);
    stac();
    n0 = pf_n;
    v = probe_rd(va);
    probe_wr(va + 4, 0x5b);
    clac();
    check("smap-stac", pf_n == n0 && v == MARK(19, 9) &&
          rd(FRAME(19) + 0x28) == 0x5b, v, pf_n - n0);
    set_cr4(get_cr4() & ~(CR4_SMEP | CR4_SMAP));
}

static void build_pae(void)
{
    uint32_t i;

    for (i = 0; i < 8; i++) {
        pae_pd0[i] = (i << 21) | P | W | PS;
    }
    pdpt_a[0] = (uint32_t)pae_pd0 | P;
    pdpt_a[1] = (uint32_t)pae_pd1 | P;
    pdpt_b[0] = (uint32_t)pae_pd0 | P;
    pdpt_b[1] = (uint32_t)pae_pd1b | P;

    pae_pd1[TEST_VA >> 21 & 511] = (uint32_t)pae_pt | P | W;
    pae_pd1[HUGE_VA >> 21 & 511] = HUGE_PA | P | W | PS;
    pae_pd1[PAE_RSVD_VA >> 21 & 511] = HUGE_PA | P | W | PS | (1u << 13);
    pae_pd1[PAE_NXPD_VA >> 21 & 511] = (uint32_t)pae_pt | P | W | NX;

    pae_pt[S_DATA] = FRAME(1) | P | W;
    pae_pt[S_ALIAS] = FRAME(1) | P | W;
    pae_pt[S_RO] = (uint32_t)user_page | P | NX;
    pae_pt[S_SUPER] = FRAME(4) | P | W | PAE_RSVD;
    pae_pt[S_AD] = FRAME(5) | P | W;
    pae_pt[S_REMAP] = FRAME(6) | P | W;
    pae_pt[S_EXEC] = (uint32_t)user_page | P;
    pae_pt[S_PTB] = (uint32_t)pae_ptb | P | W | NX;

    for (i = 0; i < 512; i++) {
        pae_pd1b[i] = pae_pd1[i];
        pae_ptb[i] = pae_pt[i];
    }
    pae_pd1b[TEST_VA >> 21 & 511] = (uint32_t)pae_ptb | P | W;
    pae_ptb[S_DATA] = FRAME(22) | P | W;
}

static void test_pae(void)
{
    Pte64 *pte, *pde;
    uint32_t n0, v, va, i, bad = 0, bad2 = 0;

    check("pae-map-4k", rd(SLOT(S_DATA) + 0x40) == MARK(1, 16),
          rd(SLOT(S_DATA) + 0x40), MARK(1, 16));
    wr(SLOT(S_ALIAS) + 0x44, 0x22222222u);
    check("pae-alias-4k", rd(SLOT(S_DATA) + 0x44) == 0x22222222u &&
          rd(FRAME(1) + 0x44) == 0x22222222u,
          rd(SLOT(S_DATA) + 0x44), rd(FRAME(1) + 0x44));
    check("pae-map-2m", rd(HUGE_VA + 0x1ffff8) == 0xc2c2c2c2u,
          rd(HUGE_VA + 0x1ffff8), 0xc2c2c2c2u);
    wr(HUGE_VA + 0x100010, 0x2d2d2d2du);
    check("pae-write-2m", rd(HUGE_PA + 0x100010) == 0x2d2d2d2du,
          rd(HUGE_PA + 0x100010), 0x2d2d2d2du);

    /* Not present: with NXE, a fetch sets I/D. */
    n0 = pf_n;
    va = SLOT(S_NP) + 0x50;
    v = probe_rd(va);
    expect_pf("pae-np-read-pf", n0, 0, va, (uint32_t)probe_rd_at);
    n0 = pf_n;
    probe_wr(va, 1);
    expect_pf("pae-np-write-pf", n0, E_W, va, (uint32_t)probe_wr_at);
    n0 = pf_n;
    v = call_at(va);
    expect_pf("pae-np-fetch-pf", n0, E_ID, va, va);
    n0 = pf_n;
    va = PAE_NOPDP_VA + 0x58;
    v = probe_rd(va);
    expect_pf("pae-pdpte-np-read-pf", n0, 0, va, (uint32_t)probe_rd_at);

    /* NX: the user page's frame, executable at S_EXEC, NX at S_RO. */
    n0 = pf_n;
    v = call_at(SLOT(S_EXEC) + OFFSET_IN_USER_PAGE(ret_5a));
    check("pae-exec", pf_n == n0 && v == 0x5a5a5a5au, v, pf_n - n0);
    va = SLOT(S_RO) + OFFSET_IN_USER_PAGE(ret_5a);
    v = rd(va);
    check("pae-nx-read", v == rd((uint32_t)ret_5a), v, 0);
    n0 = pf_n;
    v = call_at(va);
    expect_pf("pae-nx-fetch-pf", n0, E_P | E_ID, va, va);
    n0 = pf_n;
    va = PAE_NXPD_VA + (S_EXEC << 12) + OFFSET_IN_USER_PAGE(ret_5a);
    v = call_at(va);
    expect_pf("pae-nx-pde-fetch-pf", n0, E_P | E_ID, va, va);

    /* Reserved bits (P: see pse-rsvd-read-pf). */
    n0 = pf_n;
    va = SLOT(S_SUPER) + 0x60;
    v = probe_rd(va);
    expect_pf_mask("pae-rsvd-pte-read-pf", n0, E_RSVD, ~E_P, va,
                   (uint32_t)probe_rd_at);
    n0 = pf_n;
    probe_wr(va, 2);
    expect_pf_mask("pae-rsvd-pte-write-pf", n0, E_RSVD | E_W, ~E_P, va,
                   (uint32_t)probe_wr_at);
    n0 = pf_n;
    va = PAE_RSVD_VA + 0x64;
    v = probe_rd(va);
    expect_pf_mask("pae-rsvd-pde-read-pf", n0, E_RSVD, ~E_P, va,
                   (uint32_t)probe_rd_at);

    /* Accessed and dirty. */
    pte = &pae_pt[S_AD];
    pde = &pae_pd1[TEST_VA >> 21 & 511];
    va = SLOT(S_AD);
    *pte = FRAME(5) | P | W;
    *pde &= ~(uint64_t)A;
    invlpg(va);
    (void)rd(va);
    check("pae-ad-read", (*pte & (A | D)) == A && (*pde & A),
          (uint32_t)*pte, (uint32_t)*pde);
    wr(va, 3);
    check("pae-ad-write", (*pte & (A | D)) == (A | D), (uint32_t)*pte, 0);
    pde = &pae_pd1[HUGE_VA >> 21 & 511];
    *pde = HUGE_PA | P | W | PS;
    invlpg(HUGE_VA);
    (void)rd(HUGE_VA + 0x5000);
    v = *pde;
    wr(HUGE_VA + 0x5000, 4);
    check("pae-ad-2m", (v & (A | D)) == A && (*pde & (A | D)) == (A | D),
          v, (uint32_t)*pde);

    /* INVLPG. */
    va = SLOT(S_REMAP);
    v = rd(va);
    pae_pt[S_REMAP] = FRAME(8) | P | W;
    invlpg(va);
    check("pae-invlpg-remap", v == MARK(6, 0) && rd(va) == MARK(8, 0),
          v, rd(va));
    pae_pt[S_REMAP] = FRAME(8) | P | W | NX;
    invlpg(va);
    n0 = pf_n;
    v = call_at(va);
    expect_pf("pae-invlpg-nx-fetch-pf", n0, E_P | E_ID, va, va);

    /* Two address spaces; B's PTE written while A is current. */
    for (i = 0; i < 40; i++) {
        uint32_t n = i & 1 ? 22 : 23, prev = i & 1 ? 23 : 22;

        set_cr3((uint32_t)pdpt_b);
        bad += rd(SLOT(S_DATA)) != MARK(prev, 0);
        set_cr3((uint32_t)pdpt_a);
        bad += rd(SLOT(S_DATA)) != MARK(1, 0);
        wr(SLOT(S_PTB) + S_DATA * 8, FRAME(n) | P | W);
        wr(SLOT(S_PTB) + S_DATA * 8 + 4, 0);
        set_cr3((uint32_t)pdpt_b);
        bad2 += rd(SLOT(S_DATA)) != MARK(n, 0);
        set_cr3((uint32_t)pdpt_a);
    }
    check("pae-cr3-switch", bad == 0, bad, rd(SLOT(S_DATA)));
    check("pae-noncurrent-pte", bad2 == 0, bad2, 0);
}

int main(void)
{
    uint32_t b, d, b7, d7, dx, ioapic, hpet, v;

    setup_cpu();
    puts_("bare-i386: started\n");
    cpuid(1, &b, &d);
    cpuid(7, &b7, &d7);
    cpuid(0x80000001u, &b, &dx);
    /* PSE, PAE, PGE; SMEP, SMAP; NX. */
    check("cpuid", (d & 0x2048) == 0x2048 &&
          (b7 & 0x100080) == 0x100080 && (dx & (1u << 20)),
          d, b7 | (dx & (1u << 20)) >> 20);

    test_code16();
    fill_frames();
    ioapic = ioapic_version(IOAPIC_PA);
    hpet = hpet_caps(HPET_PA);

    build_2level();
    set_cr4(get_cr4() | CR4_PSE);
    set_cr3((uint32_t)pd_a);
    set_cr0(get_cr0() | CR0_PG | CR0_WP);
    puts_("bare-i386: 2-level paging on\n");

    test_translation();
    test_faults();
    test_accessed_dirty();
    test_invlpg();
    test_cr3();
    test_many();
    test_smc("smc-same-page", (uint32_t)smc_page);
    test_smc("smc-alias", SLOT(S_SMC));
    v = ioapic_version(SLOT(S_IOAPIC));
    check("mmio-ioapic", v == ioapic && (v & 0xff0000) == 0x170000, v,
          ioapic);
    v = hpet_caps(SLOT(S_HPET));
    check("mmio-hpet", v == hpet && (v >> 16) == 0x8086, v, hpet);
    test_smep_smap();

    set_cr0(get_cr0() & ~CR0_PG);
    build_pae();
    set_cr4((get_cr4() | CR4_PAE) & ~CR4_PGE);
    wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_NXE);
    set_cr3((uint32_t)pdpt_a);
    set_cr0(get_cr0() | CR0_PG);
    puts_("bare-i386: PAE paging on\n");
    test_pae();

    finish();
    return 0;
}
