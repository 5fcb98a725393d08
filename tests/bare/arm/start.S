/*
 * Start-up and exception entry for the bare-metal ARM tests.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
    .syntax unified
    .arm
    .section .text.start, "ax"
    .global _start
_start:
    cpsid   aif
    cps     #0x17                   @ abort mode
    ldr     sp, =abt_stack_top
    cps     #0x1b                   @ undefined mode
    ldr     sp, =abt_stack_top
    cps     #0x13                   @ supervisor mode
    ldr     sp, =stack_top
    ldr     r0, =vectors
    mcr     p15, 0, r0, c12, c0, 0  @ VBAR
    isb
    bl      main
    ldr     r0, =0x84000008         @ PSCI SYSTEM_OFF
    hvc     #0
1:  b       1b

    .balign 32
vectors:
    b       .                       @ reset
    b       und_entry               @ undefined
    b       .                       @ svc
    b       pabt_entry              @ prefetch abort
    b       dabt_entry              @ data abort
    b       .
    b       .                       @ irq
    b       .                       @ fiq

dabt_entry:
    push    {r0-r3, r12, lr}
    mrc     p15, 0, r0, c5, c0, 0   @ DFSR
    mrc     p15, 0, r1, c6, c0, 0   @ DFAR
    bl      record_dabt
    pop     {r0-r3, r12, lr}
    subs    pc, lr, #4              @ resume after the faulting access

pabt_entry:
    push    {r0-r3, r12, lr}
    mrc     p15, 0, r0, c5, c0, 1   @ IFSR
    mrc     p15, 0, r1, c6, c0, 2   @ IFAR
    bl      record_pabt
    pop     {r0-r3, r12, lr}
    ldr     lr, =pabt_resume
    ldr     lr, [lr]
    movs    pc, lr                  @ back to the caller of call_at

und_entry:
    push    {r0-r3, r12, lr}
    bl      record_und
    pop     {r0-r3, r12, lr}
    movs    pc, lr

/* uint32_t call_at(uint32_t addr): call addr; on a prefetch abort, 0. */
    .global call_at
call_at:
    push    {r4, lr}
    ldr     r1, =pabt_resume
    adr     r2, 1f
    str     r2, [r1]
    blx     r0
1:  pop     {r4, pc}

/* Unprivileged load (LDRT) and store (STRT). */
    .global ldrt
ldrt:
    ldrt    r1, [r0]
    mov     r0, r1
    bx      lr
    .global strt
strt:
    strt    r1, [r0]
    bx      lr

/* LDREX/STREX: strex_word returns STREX's status. */
    .global ldrex_word
ldrex_word:
    ldrex   r0, [r0]
    bx      lr
    .global strex_word
strex_word:
    mov     r2, r0
    strex   r0, r1, [r2]
    bx      lr
    .global clrex_now
clrex_now:
    clrex
    bx      lr

    .data
    .global pabt_resume
pabt_resume:
    .word   0
