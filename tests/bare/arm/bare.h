/*
 * What start.S provides to, and expects from, the bare-metal ARM tests.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef BARE_H
#define BARE_H

#include <stdint.h>

/* Call @addr; after a prefetch abort there, return 0. */
uint32_t call_at(uint32_t addr);
/* LDRT, STRT, LDREX, STREX (returning its status), CLREX. */
uint32_t ldrt(uint32_t addr);
void strt(uint32_t addr, uint32_t val);
uint32_t ldrex_word(uint32_t addr);
uint32_t strex_word(uint32_t addr, uint32_t val);
void clrex_now(void);

/* Called by the abort and undefined-instruction entries. */
void record_dabt(uint32_t fsr, uint32_t far);
void record_pabt(uint32_t fsr, uint32_t far);
void record_und(void);
int main(void);

#endif
