/*
 * Start-up, descriptor tables and trap entry for the bare-metal i386
 * tests: a Multiboot (v1) kernel, as QEMU's -kernel loads it.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#define BARE_ASM
#include "bare.h"

#define MB_MAGIC    0x1badb002
#define MB_FLAGS    0

    .section .multiboot, "a"
    .balign 4
    .long   MB_MAGIC, MB_FLAGS, -(MB_MAGIC + MB_FLAGS)

    .text
    .global _start
_start:
    cli
    cld
    lgdt    gdt_desc
    ljmp    $KCODE, $1f
1:  mov     $KDATA, %eax
    mov     %eax, %ds
    mov     %eax, %es
    mov     %eax, %fs
    mov     %eax, %gs
    mov     %eax, %ss
    mov     $__bss_start, %edi      /* no stack in use yet */
    mov     $__bss_end, %ecx
    sub     %edi, %ecx
    xor     %eax, %eax
    rep stosb
    mov     $stack_top, %esp
    call    main
2:  hlt
    jmp     2b

/* Trap entry: one stub per vector pushes an error code if the CPU did not. */
    .macro  trap_noerr n
trap\n:
    push    $0
    push    $\n
    jmp     trap_common
    .endm
    .macro  trap_err n
trap\n:
    push    $\n
    jmp     trap_common
    .endm

    .irp    n, 0, 1, 2, 3, 4, 5, 6, 7, 9, 15, 16, 18, 19, 20, 22, 23
    trap_noerr \n
    .endr
    .irp    n, 24, 25, 26, 27, 28, 31, 128
    trap_noerr \n
    .endr
    .irp    n, 8, 10, 11, 12, 13, 14, 17, 21, 29, 30
    trap_err \n
    .endr

trap_common:
    pusha
    push    %ds
    push    %es
    mov     $KDATA, %eax
    mov     %eax, %ds
    mov     %eax, %es
    push    %esp
    call    trap
    add     $4, %esp
    pop     %es
    pop     %ds
    popa
    add     $8, %esp                /* vector, error code */
    iret

/* uint32_t probe_rd(uint32_t addr) */
    .global probe_rd, probe_rd_at
probe_rd:
    mov     4(%esp), %edx
    mov     $NO_VALUE, %eax
    movl    $1f, pf_resume
probe_rd_at:
    mov     (%edx), %eax
1:  movl    $0, pf_resume
    ret

/* void probe_wr(uint32_t addr, uint32_t val) */
    .global probe_wr, probe_wr_at
probe_wr:
    mov     4(%esp), %edx
    mov     8(%esp), %ecx
    movl    $1f, pf_resume
probe_wr_at:
    mov     %ecx, (%edx)
1:  movl    $0, pf_resume
    ret

/* uint32_t call_at(uint32_t addr): after a fault, the stack is reset. */
    .global call_at
call_at:
    push    %ebp
    push    %ebx
    push    %esi
    push    %edi
    mov     %esp, call_esp
    mov     20(%esp), %ecx
    movl    $1f, pf_resume
    xor     %eax, %eax
    call    *%ecx
1:  mov     call_esp, %esp
    movl    $0, pf_resume
    pop     %edi
    pop     %esi
    pop     %ebx
    pop     %ebp
    ret

/*
 * uint32_t user_call(uint32_t eip, uint32_t edx, uint32_t ecx): iret to
 * ring 3.  The user code touches no stack; its int $0x80 or page fault
 * comes in on the TSS's stack, and trap() sends it to user_return.
 */
    .global user_call, user_return
user_call:
    push    %ebp
    push    %ebx
    push    %esi
    push    %edi
    mov     %esp, user_esp
    mov     20(%esp), %eax
    mov     24(%esp), %edx
    mov     28(%esp), %ecx
    push    $UDATA                  /* ss */
    push    $0                      /* esp */
    push    $2                      /* eflags */
    push    $UCODE                  /* cs */
    push    %eax                    /* eip */
    mov     $UDATA, %eax
    mov     %eax, %ds
    mov     %eax, %es
    mov     $NO_VALUE, %eax
    iret
user_return:
    mov     $KDATA, %eax
    mov     %eax, %ds
    mov     %eax, %es
    mov     user_esp, %esp
    pop     %edi
    pop     %esi
    pop     %ebx
    pop     %ebp
    mov     user_result, %eax
    ret

/* The user page: position-independent, mapped wherever the test wants. */
    .section .user, "ax"
    .global user_page, user_rd_code, user_wr_code, ret_5a
user_page:
user_rd_code:
    mov     (%edx), %eax
    int     $0x80
user_wr_code:
    mov     %ecx, (%edx)
    int     $0x80
ret_5a:
    mov     $0x5a5a5a5a, %eax
    ret

/* Code and data on one page: smc_fn's immediate is rewritten. */
    .section .smc, "awx"
    .global smc_page, smc_fn
smc_page:
smc_fn:
    mov     $0, %eax
    ret

    .section .rodata
    .balign 4
    .global trap_stubs, trap_syscall
trap_stubs:
    .irp    n, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15
    .long   trap\n
    .endr
    .irp    n, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29
    .long   trap\n
    .endr
    .long   trap30, trap31
trap_syscall:
    .long   trap128

    .data
    .balign 8
    .global gdt
gdt:
    .quad   0
    .quad   0x00cf9a000000ffff      /* KCODE */
    .quad   0x00cf92000000ffff      /* KDATA */
    .quad   0x00cffa000000ffff      /* UCODE */
    .quad   0x00cff2000000ffff      /* UDATA */
    .quad   0                       /* TSS_SEL: filled in by main */
    .quad   0x00009a000000ffff      /* KCODE16: 16-bit, base 0, 64 KiB */
gdt_desc:
    .word   gdt_desc - gdt - 1
    .long   gdt
call_esp:
    .long   0
user_esp:
    .long   0

    .bss
    .balign 16
    .space  0x4000
stack_top:
    .space  0x1000
    .global trap_stack_top
trap_stack_top:

    .section .note.GNU-stack, "", @progbits
