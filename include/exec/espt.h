/*
 * Embedded shadow page tables (ESPT) for TCG system emulation
 *
 * Copyright (c) 2026 qemu-espt developers
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef EXEC_ESPT_H
#define EXEC_ESPT_H

#include "qapi/error.h"

/**
 * espt_configure:
 * @target: the target's name, as in qemu-system-<target>
 * @va_bits: width of the guest's virtual addresses
 * @errp: pointer to a NULL-initialized error object
 *
 * Decide whether ESPT can serve this target on this host, for
 * -accel tcg,espt=on.  Returns true if it will run.  Where the host
 * cannot support it, warns once and returns false, so QEMU runs as
 * espt=off.  Where the guest cannot be served (addresses wider than a
 * window, a target without ESPT support), sets @errp and returns false.
 */
bool espt_configure(const char *target, unsigned va_bits, Error **errp);

#endif /* EXEC_ESPT_H */
