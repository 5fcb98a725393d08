/*
 * What start.S provides to, and expects from, the bare-metal i386 tests.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef BARE_H
#define BARE_H

/*
 * start.S's GDT: flat segments for rings 0 and 3, the TSS, and a 16-bit
 * code segment over the first 64 KiB.
 */
#define KCODE       0x08
#define KDATA       0x10
#define UCODE       0x1b
#define UDATA       0x23
#define TSS_SEL     0x28
#define GDT_TSS     5
#define KCODE16     0x30

/* What a probe or user_call returns when its access faulted. */
#define NO_VALUE    0xfa17fa17u

#ifndef BARE_ASM
#include <stdint.h>

/* The stack frame trap() gets: pushed by the CPU and by trap_common. */
struct frame {
    uint32_t es, ds;
    uint32_t edi, esi, ebp, esp, ebx, edx, ecx, eax;   /* pusha */
    uint32_t vec, err;
    uint32_t eip, cs, eflags;
};

/*
 * A load, a store or a call whose page fault is recorded and skipped:
 * the probe returns NO_VALUE (call_at: 0) when its access faulted.
 * probe_rd_at and probe_wr_at label the faulting instructions.
 */
uint32_t probe_rd(uint32_t addr);
void probe_wr(uint32_t addr, uint32_t val);
uint32_t call_at(uint32_t addr);
extern const char probe_rd_at[], probe_wr_at[];

/*
 * Run the user page's code at @eip in ring 3 with EDX = @edx and
 * ECX = @ecx until it returns with int $0x80 or faults; return its EAX.
 */
uint32_t user_call(uint32_t eip, uint32_t edx, uint32_t ecx);
extern const char user_return[];

/*
 * The user page (one 4 KiB page of code): user_rd_code loads EAX from
 * [EDX], user_wr_code stores ECX to [EDX], both then int $0x80;
 * ret_5a is a plain function returning 0x5a5a5a5a.
 */
extern const char user_page[], user_rd_code[], user_wr_code[], ret_5a[];

/* The page of code and data for self-modifying code: mov $imm32, %eax. */
extern char smc_page[];
uint32_t smc_fn(void);

extern uint64_t gdt[];
extern char trap_stack_top[];
extern const uint32_t trap_stubs[32], trap_syscall[];
extern volatile uint32_t pf_resume;     /* set by the probes */

/* Called by trap_common. */
void trap(struct frame *f);
int main(void);
#endif

#endif
