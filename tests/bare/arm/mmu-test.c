/*
 * A bare-metal ARMv7 (short-descriptor) MMU test: run on virt with
 * -kernel, it checks translations, aborts with their exact fault status
 * and address, TLB maintenance, ASIDs, domains, unprivileged and
 * exclusive accesses and self-modifying code, prints one line per check
 * and powers off.  ESPT must give exactly what the softmmu gives.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <stdint.h>
#include "bare.h"

#define UART        0x09000000u
#define DATA1       0x40200000u
#define DATA2       0x40201000u
#define DATA3       0x40202000u
#define SECT_X      0x40400000u
#define SECT_Y      0x40500000u
#define MANY_PA     0x40600000u
#define CODE_PA     0x40300000u
#define TEST_VA     0x80000000u
#define MANY_VA     0x80100000u
#define ASID_VA     0x81000000u

/* AP[2:0] */
#define AP_PL1_RW   1
#define AP_ALL_RW   3
#define AP_PL1_RO   5

#define SECT(pa, ap, dom, ng, xn, mem) \
    (((pa) & 0xfff00000u) | 2u | (mem) | ((xn) << 4) | ((dom) << 5) | \
     (((ap) & 3u) << 10) | (((ap) >> 2) << 15) | ((ng) << 17))
#define MEM_NORMAL  0xcu
#define MEM_DEVICE  0x4u
#define COARSE(l2, dom) (((uint32_t)(l2) & 0xfffffc00u) | 1u | ((dom) << 5))
#define PAGE(pa, ap, ng, xn) \
    (((pa) & 0xfffff000u) | 2u | (xn) | 0xcu | (((ap) & 3u) << 4) | \
     (((ap) >> 2) << 9) | ((ng) << 11))

static uint32_t l1a[4096] __attribute__((aligned(16384)));
static uint32_t l1b[4096] __attribute__((aligned(16384)));
static uint32_t l2test[256] __attribute__((aligned(1024)));
static uint32_t l2many[256] __attribute__((aligned(1024)));

/* Written by the exception handlers, read after the faulting access. */
volatile uint32_t dabt_n, dabt_fsr, dabt_far;   /* set by record_dabt */
volatile uint32_t pabt_n, pabt_fsr, pabt_far;   /* set by record_pabt */
volatile uint32_t und_n;                        /* set by record_und */


void record_dabt(uint32_t fsr, uint32_t far)
{
    dabt_n++;
    dabt_fsr = fsr;
    dabt_far = far;
}

void record_pabt(uint32_t fsr, uint32_t far)
{
    pabt_n++;
    pabt_fsr = fsr;
    pabt_far = far;
}

void record_und(void)
{
    und_n++;
}

static void putc_(char c)
{
    volatile uint32_t *u = (uint32_t *)UART;    /* device registers */

    while (u[0x18 / 4] & (1u << 5)) {
        /* FIFO full */
    }
    u[0] = c;
}

#include "../report.h"

#define CP15_W(crn, op1, crm, op2, v) \
    asm volatile("mcr p15, " #op1 ", %0, " #crn ", " #crm ", " #op2 \
                 : : "r"(v) : "memory")
#define CP15_R(crn, op1, crm, op2, v) \
    asm volatile("mrc p15, " #op1 ", %0, " #crn ", " #crm ", " #op2 \
                 : "=r"(v) : : "memory")

static void sync_(void)
{
    asm volatile("dsb\n\tisb" : : : "memory");
}

static void tlbiall(void)
{
    sync_();
    CP15_W(c8, 0, c7, 0, 0);
    sync_();
}

static void tlbimva(uint32_t va, uint32_t asid)
{
    sync_();
    CP15_W(c8, 0, c7, 1, (va & 0xfffff000u) | asid);
    sync_();
}

static void tlbiasid(uint32_t asid)
{
    sync_();
    CP15_W(c8, 0, c7, 2, asid);
    sync_();
}

static void tlbimvaa(uint32_t va)
{
    sync_();
    CP15_W(c8, 0, c7, 3, va & 0xfffff000u);
    sync_();
}

static void set_dacr(uint32_t v)
{
    CP15_W(c3, 0, c0, 0, v);
    sync_();
}

static void switch_to(uint32_t asid, uint32_t *l1)
{
    CP15_W(c13, 0, c0, 1, asid);
    sync_();
    CP15_W(c2, 0, c0, 0, (uint32_t)l1);
    sync_();
}

static uint32_t rd(uint32_t a)
{
    return *(volatile uint32_t *)a;    /* the access under test */
}

static void wr(uint32_t a, uint32_t v)
{
    *(volatile uint32_t *)a = v;       /* the access under test */
}

/* A data access expected to abort with fault status @fs, write or not. */
static void expect_dabt(const char *name, uint32_t n0, uint32_t fs, int wnr,
                        uint32_t far)
{
    uint32_t got = (dabt_fsr & 0xf) | ((dabt_fsr >> 6) & 0x10);

    check(name, dabt_n == n0 + 1 && got == fs &&
          !!(dabt_fsr & (1u << 11)) == wnr && dabt_far == far,
          dabt_fsr, dabt_far);
}

int main(void)
{
    uint32_t i, n0, v, sctlr;
    /* DACR: domains 0-2 client, 3 unused (no access). */
    const uint32_t dacr = 0x15;

    /* Markers in physical memory, before the MMU is on. */
    for (i = 0; i < 1024; i++) {
        wr(DATA1 + i * 4, 0xd1000000u + i);
        wr(DATA2 + i * 4, 0xd2000000u + i);
        wr(DATA3 + i * 4, 0xd3000000u + i);
    }
    wr(SECT_X, 0xaaaa0001u);
    wr(SECT_Y, 0xbbbb0002u);

    /* Identity: RAM (16 MiB) and the UART; global, domain 0. */
    for (i = 0; i < 16; i++) {
        l1a[0x400 + i] = SECT(0x40000000u + (i << 20), AP_PL1_RW, 0, 0, 0,
                              MEM_NORMAL);
    }
    l1a[UART >> 20] = SECT(UART, AP_PL1_RW, 0, 0, 1, MEM_DEVICE);
    /* TEST_VA: small pages, domain 2. */
    l1a[TEST_VA >> 20] = COARSE(l2test, 2);
    l2test[0] = PAGE(DATA1, AP_PL1_RW, 0, 0);
    l2test[1] = PAGE(DATA1, AP_PL1_RW, 0, 0);
    l2test[2] = PAGE(DATA2, AP_PL1_RO, 0, 0);
    l2test[3] = 0;
    l2test[5] = PAGE(DATA1, AP_ALL_RW, 0, 0);
    l2test[6] = PAGE(DATA3, AP_PL1_RW, 0, 1);
    l2test[7] = (UART & 0xfffff000u) | 2u | 1u | 0x4u | (1u << 4);
    l2test[8] = PAGE(CODE_PA, AP_PL1_RW, 0, 0);
    /* MANY_VA: 256 pages, not global. */
    l1a[MANY_VA >> 20] = COARSE(l2many, 0);
    for (i = 0; i < 256; i++) {
        l2many[i] = PAGE(MANY_PA + (i << 12), AP_PL1_RW, 1, 0);
    }
    /* ASID_VA: a section that differs between the two tables. */
    for (i = 0; i < 4096; i++) {
        l1b[i] = l1a[i];
    }
    l1a[ASID_VA >> 20] = SECT(SECT_X, AP_PL1_RW, 0, 1, 0, MEM_NORMAL);
    l1b[ASID_VA >> 20] = SECT(SECT_Y, AP_PL1_RW, 0, 1, 0, MEM_NORMAL);

    CP15_W(c2, 0, c0, 2, 0);            /* TTBCR: TTBR0 only */
    set_dacr(dacr);
    switch_to(1, l1a);
    CP15_R(c1, 0, c0, 0, sctlr);
    sctlr |= 1;                         /* M */
    sctlr &= ~((1u << 28) | (1u << 29) | 2u);   /* TRE, AFE, A */
    CP15_W(c1, 0, c0, 0, sctlr);
    sync_();
    puts_("bare-arm: MMU on\n");

    /* Two virtual addresses for one page. */
    wr(TEST_VA + 0x10, 0x11111111u);
    check("alias", rd(TEST_VA + 0x1010) == 0x11111111u &&
          rd(DATA1 + 0x10) == 0x11111111u, rd(TEST_VA + 0x1010), 0);

    /* Read-only page: reads work, a write aborts and changes nothing. */
    check("ro-read", rd(TEST_VA + 0x2004) == 0xd2000001u,
          rd(TEST_VA + 0x2004), 0);
    n0 = dabt_n;
    wr(TEST_VA + 0x2004, 5);
    expect_dabt("ro-write-abort", n0, 0xf, 1, TEST_VA + 0x2004);
    check("ro-write-unchanged", rd(DATA2 + 4) == 0xd2000001u,
          rd(DATA2 + 4), 0);

    /* Unmapped page: page translation fault. */
    n0 = dabt_n;
    v = rd(TEST_VA + 0x3008);
    expect_dabt("unmapped-read-abort", n0, 0x7, 0, TEST_VA + 0x3008);

    /* Unmapped section (no L1 entry): section translation fault. */
    n0 = dabt_n;
    wr(0x90000040u, 1);
    expect_dabt("unmapped-section-abort", n0, 0x5, 1, 0x90000040u);

    /* Permission upgrade by TLBIMVA. */
    l2test[2] = PAGE(DATA2, AP_PL1_RW, 0, 0);
    tlbimva(TEST_VA + 0x2000, 1);
    n0 = dabt_n;
    wr(TEST_VA + 0x2004, 5);
    check("upgrade-write", dabt_n == n0 && rd(DATA2 + 4) == 5,
          rd(DATA2 + 4), dabt_n - n0);

    /* Permission downgrade by TLBIMVAA. */
    l2test[2] = PAGE(DATA2, AP_PL1_RO, 0, 0);
    tlbimvaa(TEST_VA + 0x2000);
    n0 = dabt_n;
    wr(TEST_VA + 0x2008, 6);
    expect_dabt("downgrade-write-abort", n0, 0xf, 1, TEST_VA + 0x2008);

    /* Remap a page by TLBIMVA, then back by TLBIALL. */
    v = rd(TEST_VA);
    l2test[0] = PAGE(DATA3, AP_PL1_RW, 0, 0);
    tlbimva(TEST_VA, 1);
    check("remap-tlbimva", rd(TEST_VA) == 0xd3000000u &&
          rd(TEST_VA + 0x1000) == v, rd(TEST_VA), rd(TEST_VA + 0x1000));
    l2test[0] = PAGE(DATA1, AP_PL1_RW, 0, 0);
    tlbiall();
    check("remap-tlbiall", rd(TEST_VA) == v, rd(TEST_VA), v);

    /* Many pages. */
    for (i = 0; i < 256; i++) {
        wr(MANY_VA + (i << 12) + 0x44, i * 3 + 1);
    }
    v = 0;
    for (i = 0; i < 256; i++) {
        v += rd(MANY_PA + (i << 12) + 0x44) != i * 3 + 1;
    }
    check("many-pages", v == 0, v, 0);

    /* ASIDs: switch tables and back without a flush. */
    check("asid1", rd(ASID_VA) == 0xaaaa0001u, rd(ASID_VA), 0);
    switch_to(2, l1b);
    check("asid2", rd(ASID_VA) == 0xbbbb0002u, rd(ASID_VA), 0);
    switch_to(1, l1a);
    check("asid1-again", rd(ASID_VA) == 0xaaaa0001u, rd(ASID_VA), 0);
    /* TLBIASID of another ASID leaves ASID 1's entries... */
    l1a[ASID_VA >> 20] = SECT(SECT_Y, AP_PL1_RW, 0, 1, 0, MEM_NORMAL);
    tlbiasid(1);
    check("tlbiasid", rd(ASID_VA) == 0xbbbb0002u, rd(ASID_VA), 0);
    l1a[ASID_VA >> 20] = SECT(SECT_X, AP_PL1_RW, 0, 1, 0, MEM_NORMAL);
    tlbiasid(1);
    check("tlbiasid-back", rd(ASID_VA) == 0xaaaa0001u, rd(ASID_VA), 0);

    /*
     * TTBCR.N = 1: from 2 GiB up, walks use TTBR1's table.  No TLB
     * maintenance: QEMU's softmmu flushes on a TTBCR write, and ESPT
     * must follow it.
     */
    CP15_W(c2, 0, c0, 1, (uint32_t)l1b);
    sync_();
    CP15_W(c2, 0, c0, 2, 1);
    sync_();
    check("ttbcr-ttbr1", rd(ASID_VA) == 0xbbbb0002u, rd(ASID_VA), 0);
    CP15_W(c2, 0, c0, 2, 0);
    sync_();
    check("ttbcr-ttbr0", rd(ASID_VA) == 0xaaaa0001u, rd(ASID_VA), 0);

    /* Domains: no access, then client; manager ignores AP. */
    l1a[ASID_VA >> 20] = SECT(SECT_X, AP_PL1_RW, 1, 1, 0, MEM_NORMAL);
    tlbiall();
    set_dacr(dacr & ~(3u << 2));
    n0 = dabt_n;
    v = rd(ASID_VA + 0x20);
    expect_dabt("domain-abort", n0, 0x9, 0, ASID_VA + 0x20);
    set_dacr(dacr);
    check("domain-client", rd(ASID_VA) == 0xaaaa0001u, rd(ASID_VA), 0);
    set_dacr(dacr | (3u << 4));
    n0 = dabt_n;
    wr(TEST_VA + 0x200c, 7);
    check("domain-manager-write", dabt_n == n0 && rd(DATA2 + 0xc) == 7,
          rd(DATA2 + 0xc), dabt_n - n0);
    set_dacr(dacr);
    n0 = dabt_n;
    wr(TEST_VA + 0x200c, 8);
    expect_dabt("domain-client-write-abort", n0, 0xf, 1, TEST_VA + 0x200c);

    /* Unprivileged accesses from PL1. */
    n0 = dabt_n;
    v = ldrt(TEST_VA + 0x30);
    expect_dabt("ldrt-abort", n0, 0xf, 0, TEST_VA + 0x30);
    n0 = dabt_n;
    strt(TEST_VA + 0x34, 9);
    expect_dabt("strt-abort", n0, 0xf, 1, TEST_VA + 0x34);
    n0 = dabt_n;
    strt(TEST_VA + 0x5038, 0x55u);
    v = ldrt(TEST_VA + 0x5038);
    check("ldrt-strt-user-page", dabt_n == n0 && v == 0x55u &&
          rd(DATA1 + 0x38) == 0x55u, v, dabt_n - n0);

    /* Exclusives. */
    (void)ldrex_word(TEST_VA + 0x20);
    v = strex_word(TEST_VA + 0x20, 42);
    check("strex", v == 0 && rd(DATA1 + 0x20) == 42, v, rd(DATA1 + 0x20));
    (void)ldrex_word(TEST_VA + 0x20);
    clrex_now();
    v = strex_word(TEST_VA + 0x20, 43);
    check("strex-after-clrex", v == 1 && rd(DATA1 + 0x20) == 42, v,
          rd(DATA1 + 0x20));

    /* Prefetch aborts: unmapped, execute-never. */
    n0 = pabt_n;
    (void)call_at(TEST_VA + 0x3000);
    check("pabt-unmapped", pabt_n == n0 + 1 && (pabt_fsr & 0x40f) == 0x7 &&
          pabt_far == TEST_VA + 0x3000, pabt_fsr, pabt_far);
    n0 = pabt_n;
    (void)call_at(TEST_VA + 0x6000);
    check("pabt-xn", pabt_n == n0 + 1 && (pabt_fsr & 0x40f) == 0xf &&
          pabt_far == TEST_VA + 0x6000, pabt_fsr, pabt_far);

    /* Self-modifying code, through the identity mapping. */
    wr(CODE_PA, 0xe3a00001u);           /* mov r0, #1 */
    wr(CODE_PA + 4, 0xe12fff1eu);       /* bx lr */
    sync_();
    CP15_W(c7, 0, c5, 0, 0);            /* ICIALLU */
    sync_();
    v = call_at(CODE_PA);
    wr(CODE_PA, 0xe3a00002u);           /* mov r0, #2 */
    sync_();
    CP15_W(c7, 0, c5, 0, 0);
    sync_();
    check("smc", v == 1 && call_at(CODE_PA) == 2, v, 0);

    /*
     * One code page run at two virtual addresses, in turn: a loop, a
     * direct branch, the pc read and a literal loaded pc-relative.
     * The routine returns its own address xor the literal.
     */
    {
        static const uint32_t code[] = {
            0xe3a01003u,                /* mov r1, #3 */
            0xe2511001u,                /* 1: subs r1, r1, #1 */
            0x1afffffdu,                /* bne 1b */
            0xea000000u,                /* b 2f */
            0xe3a000ffu,                /* mov r0, #255 */
            0xe24f001cu,                /* 2: sub r0, pc, #0x1c */
            0xe59f2004u,                /* ldr r2, [pc, #4] */
            0xe0200002u,                /* eor r0, r0, r2 */
            0xe12fff1eu,                /* bx lr */
            0x5a5a0000u,
        };
        const uint32_t x = CODE_PA + 0x100, y = TEST_VA + 0x8100;
        uint32_t w = 0;

        for (i = 0; i < sizeof(code) / sizeof(code[0]); i++) {
            wr(x + i * 4, code[i]);
        }
        sync_();
        CP15_W(c7, 0, c5, 0, 0);        /* ICIALLU */
        sync_();
        for (i = 0; i < 4; i++) {
            v = call_at(i & 1 ? y : x);
            if (v != ((i & 1 ? y : x) ^ 0x5a5a0000u)) {
                w = w ? w : v;
            }
        }
        check("code-alias", w == 0, w, y ^ 0x5a5a0000u);
    }

    /* MMU off and on again. */
    CP15_W(c1, 0, c0, 0, sctlr & ~1u);
    sync_();
    v = rd(DATA3 + 8);
    CP15_W(c1, 0, c0, 0, sctlr);
    sync_();
    check("mmu-off-on", v == 0xd3000002u && rd(TEST_VA + 0x6008) == v,
          v, rd(TEST_VA + 0x6008));

    /* MMIO through a page mapping: the PL011's UARTPeriphID0. */
    check("mmio-read", rd(TEST_VA + 0x7fe0) == 0x11, rd(TEST_VA + 0x7fe0), 0);

    /* Alignment checking (SCTLR.A) on and off. */
    CP15_W(c1, 0, c0, 0, sctlr | 2u);
    sync_();
    n0 = dabt_n;
    v = rd(TEST_VA + 0x42);
    expect_dabt("alignment-abort", n0, 0x1, 0, TEST_VA + 0x42);
    CP15_W(c1, 0, c0, 0, sctlr);
    sync_();
    n0 = dabt_n;
    v = rd(TEST_VA + 0x1042);
    check("unaligned-read", dabt_n == n0 && v == rd(DATA1 + 0x42),
          v, dabt_n - n0);

    check("no-undefined", und_n == 0, und_n, 0);
    summary("bare-arm");
    return 0;
}
