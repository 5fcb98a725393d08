/*
 * Embedded shadow page tables (ESPT) for TCG system emulation
 *
 * Copyright (c) 2026 qemu-espt developers
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * With -accel tcg,espt=on, guest loads and stores in generated code are
 * meant to become single host instructions into a window of a reserved
 * region of QEMU's address space, translated by the host MMU.  A window
 * holds one guest view of memory and spans 4 GiB, so only guests whose
 * virtual addresses are 32 bits wide can be served, and only an x86-64
 * host can run the code that addresses a window.  docs/espt.md describes
 * the design.
 *
 * This file decides, once, whether ESPT runs.  No target implements the
 * fast path yet, so espt=on is refused there with one line; espt=off is
 * stock QEMU.
 */

#include "qemu/osdep.h"
#include "qemu/error-report.h"
#include "exec/espt.h"

/* A window spans the 32-bit guest virtual address space. */
#define ESPT_WINDOW_BITS 32

bool espt_configure(const char *target, unsigned va_bits, Error **errp)
{
    if (va_bits > ESPT_WINDOW_BITS) {
        error_setg(errp, "espt=on is not available for %s guests: "
                   "%u-bit guest addresses do not fit a 4 GiB window",
                   target, va_bits);
        return false;
    }
#if !defined(HOST_X86_64) || !defined(CONFIG_LINUX)
    warn_report("espt=on needs an x86-64 Linux host; running as espt=off");
    return false;
#else
    error_setg(errp, "espt=on is not implemented yet for %s guests; "
               "use espt=off", target);
    return false;
#endif
}
