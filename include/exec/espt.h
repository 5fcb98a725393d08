/*
 * Embedded shadow page tables (ESPT) for TCG system emulation
 *
 * Copyright (c) 2026 qemu-espt developers
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * With -accel tcg,espt=on, the guest loads and stores that generated
 * code makes at one mmu index (the one the translation block runs at)
 * are single host instructions into a "window": 4 GiB of QEMU's own
 * address space, one per vCPU, regime and mmu index, whose base the
 * generated code keeps in a register.  The host MMU translates them;
 * what the window does not map faults, and the fault resumes at the
 * access's softmmu slow path.  accel/tcg/espt.c describes the
 * invariants.
 */

#ifndef EXEC_ESPT_H
#define EXEC_ESPT_H

#include "qapi/error.h"
#include "exec/vaddr.h"
#include "exec/cpu-common.h"

/*
 * CPUNegativeOffsetState.espt_quick when the vCPU has no window it may
 * enter blocks of without espt_switch: no block's espt_window.  Blocks
 * without a window (-1) need none, and inline lookups enter them always.
 */
#define ESPT_QUICK_NONE (-2)

/*
 * One row per ESPT access of a translation block, stored after the
 * block's code: a host fault in [fast_ofs, fast_ofs + fast_len) resumes
 * at slow_ofs.  Offsets are from the start of the block's code.
 */
typedef struct EsptRow {
    uint32_t fast_ofs;
    uint32_t fast_len;
    uint32_t slow_ofs;
} EsptRow;

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

#ifdef CONFIG_USER_ONLY
static inline bool espt_enabled(void)
{
    return false;
}

static inline void espt_enter(CPUState *cpu, int mmu_idx)
{
}

static inline void espt_enter_from_loop(CPUState *cpu, int mmu_idx)
{
}

static inline void espt_jmp_cache_flush(CPUState *cpu)
{
}

static inline void espt_jmp_cache_clear_page(CPUState *cpu, unsigned i0,
                                             unsigned n, vaddr page)
{
}

static inline void espt_jmp_cache_inval(CPUState *cpu, unsigned h,
                                        const void *tb)
{
}
#else
/* The smallest espt-maps= a user may ask for. */
#define ESPT_MIN_MAPS 64
/* How long a new address space runs before ESPT serves it (espt-youth=). */
#define ESPT_YOUTH_MS 20

/**
 * espt_start: install the fault handler; call once, after the option is
 * set and before any vCPU runs.  @max_maps, if not 0, caps the host
 * mappings ESPT keeps at once (-accel tcg,espt-maps=N); by default the
 * cap comes from vm.max_map_count.  Returns false (after a warning) if
 * ESPT cannot run after all, and QEMU then runs as espt=off.
 */
bool espt_start(uint32_t max_maps);

/*
 * espt_set_youth: a translation regime the guest enters runs without ESPT
 * until it has run @ms milliseconds in all (-accel tcg,espt-youth=MS);
 * 0: at once.  Call before any vCPU runs.
 */
void espt_set_youth(uint32_t ms);

/* Is ESPT on? */
bool espt_enabled(void);

/*
 * Can ESPT serve a target with @long_bits-wide addresses and pages of
 * 1 << @page_bits bytes?  Asked once per translation block.
 */
bool espt_serves(unsigned long_bits, unsigned page_bits);

void espt_switch(CPUState *cpu, int mmu_idx);
/* How many vCPUs run paced off ESPT, and their clock (see espt_pace). */
extern uint32_t espt_vcpus_off;
void espt_tick(CPUState *cpu);

/*
 * Per thread: the vCPU and mmu index whose window the thread's blocks
 * use and for which espt_switch found nothing to do, while *ok stays
 * true (any thread clears it when that vCPU's windows need a look);
 * and the clock of espt_pace, which espt_switch reads when it wraps.
 */
typedef struct EsptQuick {
    CPUState *cpu;
    bool *ok;
    int mmu_idx;
    uint8_t tick;
} EsptQuick;
extern __thread EsptQuick espt_quick;

/*
 * espt_enter: @cpu is about to run a block of the window of @mmu_idx
 * (-1: none), one whose ESPT accesses use it or one taken off ESPT that
 * may jump to such blocks: point the vCPU's window base at that window.
 * Most blocks a vCPU enters through a lookup use the window it is in.
 */
static inline void espt_enter(CPUState *cpu, int mmu_idx)
{
    if (mmu_idx >= 0) {
        uint8_t tick = ++espt_quick.tick;

        if (likely(mmu_idx == espt_quick.mmu_idx && cpu == espt_quick.cpu &&
                   tick && qatomic_read(espt_quick.ok))) {
            return;
        }
        espt_switch(cpu, mmu_idx);
    } else if (unlikely(qatomic_read(&espt_vcpus_off)) &&
               !++espt_quick.tick) {
        espt_tick(cpu);
    }
}

/*
 * espt_enter, for a block entered from the main loop (cpu_tb_exec).  A
 * vCPU paced off ESPT runs blocks without a window, and the lookups
 * between them, inline in generated code, no longer count espt_enter's
 * tick: it checks its pacing here instead, at every such entry (every
 * interrupt and exit of the chain of blocks).
 */
static inline void espt_enter_from_loop(CPUState *cpu, int mmu_idx)
{
    if (mmu_idx < 0 && unlikely(qatomic_read(&espt_vcpus_off))) {
        espt_tick(cpu);
    } else {
        espt_enter(cpu, mmu_idx);
    }
}

/*
 * espt_regime_switch: @cpu's translation regime is now @regime (an ARM
 * ASID, say), and its TLB was flushed for that reason alone: keep the
 * windows of the old regime and use those of @regime.  Regimes that
 * differ only in the bits of @asid_mask (the ASID) share their global
 * translations.
 */
bool espt_regime_switch(CPUState *cpu, uint64_t regime, uint64_t asid_mask);

/*
 * Jump caches per regime.  espt_regime_switch also points
 * cpu->tb_jmp_cache at the jump cache of @regime, and returns false if
 * it did not (the caller then flushes the jump cache as usual).  The
 * other caches of a vCPU must follow what happens to the current one:
 * espt_jmp_cache_flush when it is flushed whole (from any thread),
 * espt_jmp_cache_clear_page when the entries for page @page, which hash
 * to the @n indexes from @i0, are cleared, espt_jmp_cache_inval when @tb
 * leaves index @h (from any thread).
 */
void espt_jmp_cache_flush(CPUState *cpu);
void espt_jmp_cache_clear_page(CPUState *cpu, unsigned i0, unsigned n,
                               vaddr page);
void espt_jmp_cache_inval(CPUState *cpu, unsigned h, const void *tb);

/* Has @cpu run code through its window for @mmu_idx? */
bool espt_window_active(CPUState *cpu, int mmu_idx);

/*
 * Hooks of the softmmu TLB, which the windows mirror.  A window page maps
 * what a TLB entry of that vCPU and mmu index mapped, with no more rights;
 * it may outlive the entry, but not a flush that covers it, and it loses
 * its write right whenever the softmmu stops the entry's writes (not
 * dirty).  espt_map maps @nb_pages pages from the page-aligned @page to
 * @host, where QEMU maps them, all part of one guest page of 2^@lg_bits
 * bytes (a section, say) if @lg_bits is above the target page size,
 * with the rights and scope of @flags.
 * espt_write_protect, for the host range [@host, @host + @len) of guest
 * RAM, may be called from any thread; the others from @cpu's own.
 */
#define ESPT_MAP_WRITABLE 1     /* stores need no check either */
#define ESPT_MAP_GLOBAL   2     /* the translation holds for every ASID */
void espt_map(CPUState *cpu, int mmu_idx, vaddr page, void *host,
              unsigned nb_pages, unsigned flags, unsigned lg_bits);
/*
 * espt_populate: guest code or a device is about to touch bytes
 * [@offset, @offset + @len) of @rb: enter each 2 MiB chunk of guest RAM
 * that holds some of them in the host's page tables whole, the first
 * time, as a huge page would be.  Any thread; returns at once without
 * ESPT.
 */
void espt_populate(RAMBlock *rb, ram_addr_t offset, ram_addr_t len);
/* Whether @page is mapped in the current window of @mmu_idx. */
bool espt_is_mapped(CPUState *cpu, int mmu_idx, vaddr page);
/* ... and with which rights: 0, PAGE_READ or PAGE_READ | PAGE_WRITE. */
int espt_mapped_rights(CPUState *cpu, int mmu_idx, vaddr page);
/*
 * Did the thread's last host fault in a window hit the page of @addr?
 * If so, forget it: the slow path of that access mirrors the page, and
 * no later access of a block without ESPT does.  @mmio: that slow path
 * found MMIO there, which it will find again.
 */
bool espt_fault_take(vaddr addr, bool mmio);
/* ... or a store to a page that still holds translated code. */
void espt_fault_code(void);
void espt_unmap(CPUState *cpu, int mmu_idx, vaddr addr, vaddr len);
void espt_write_protect(CPUState *cpu, uintptr_t host, size_t len);
void espt_flush(CPUState *cpu, int mmu_idx);

/* The most a fault maps around itself in a large guest page. */
#define ESPT_FILL_BITS 21

/*
 * Provided by cputlb.c: how a walk of the guest's tables now translates
 * @addr at @mmu_idx, without the TLB.  If it is RAM a window may map,
 * return true with the RAM address of its page in *@ram, its rights and
 * scope in *@flags (ESPT_MAP_*, writable before dirty tracking) and its
 * guest page size in *@lg_bits.
 */
bool tlb_espt_probe(CPUState *cpu, int mmu_idx, vaddr addr, ram_addr_t *ram,
                    unsigned *flags, unsigned *lg_bits);
/*
 * Provided by cputlb.c: fill the TLB for @addr at @mmu_idx, and mirror
 * it, if a walk of the guest's tables maps it; raise nothing.
 */
void tlb_espt_prefill(CPUState *cpu, int mmu_idx, vaddr addr);
/*
 * Drop the pages that are not global from the windows of the regimes
 * whose low 32 bits & @mask are @value.
 */
void espt_drop_regimes(CPUState *cpu, uint32_t value, uint32_t mask);

/*
 * Page-table tracking, for targets whose walks set accessed and dirty
 * flags (x86), so that a flushed window cannot be checked by walking it
 * again.  Their windows are shadow page tables kept in step with the
 * guest's tables instead: before a page is mirrored, the tables a walk
 * of it read are registered for the window, and made to trap writes
 * like pages of translated code; a write to a registered table drops
 * what its entries translated in every window that registered it.
 * Windows then survive every switch of address space (a CR3 write) and
 * need no flush when the guest reloads the one it runs.
 *
 * EsptTable describes one table entry that a walk read: where QEMU maps
 * it, the size of its table and the guest addresses one entry covers.
 */
typedef struct EsptTable {
    void *host;                 /* the entry, where QEMU maps it */
    uint8_t entry_bits;         /* log2 of the size of an entry */
    uint8_t index_bits;         /* log2 of the entries in the table */
    uint8_t span_bits;          /* log2 of the bytes one entry translates */
} EsptTable;

/* The most tables one walk reads. */
#define ESPT_MAX_TABLES 4

/* Does ESPT track the target's tables (see above)? */
bool espt_tracks_tables(void);

/*
 * Register the @n tables through which @page was translated for the
 * current window of @mmu_idx, before mirroring the page.  Returns -1 if
 * they cannot be tracked: the page must not be mirrored then; 1 if a
 * table only now traps writes: a store through a window may have
 * changed it since the walk, so the caller walks again and mirrors only
 * if the result is the same; 0 otherwise.  espt_tables_seq, read before
 * the walk, tells (by changing) whether a table may have been written
 * since; if so the caller unmaps the page again after mirroring it.
 */
int espt_track(CPUState *cpu, int mmu_idx, vaddr page, const EsptTable *t,
               int n);
uint64_t espt_tables_seq(void);

/*
 * Guest RAM [@ram, @ram + @len) is being written (espt_tables_writing,
 * by a vCPU store about to happen, whose effect is applied at the
 * thread's next ESPT call) or was written (espt_tables_written, by
 * anything else): drop what registered tables there translated.  Cheap
 * for pages that hold no table.
 */
void espt_tables_writing(ram_addr_t ram, size_t len);
void espt_tables_written(ram_addr_t ram, size_t len);
/* Whether RAM page @ram holds a registered table (and must trap writes). */
bool espt_table_tracked(ram_addr_t ram);
/* The current translation regime of @cpu, as espt_regime_switch set it. */
uint64_t espt_regime(CPUState *cpu);

/*
 * Code at guest-physical @phys_pc is translated without ESPT from now
 * on (espt_demote), because its stores keep faulting (see cputlb.c).
 */
void espt_demote(uint64_t phys_pc);
bool espt_demoted(uint64_t phys_pc);
/*
 * Provided by cputlb.c: invalidate @tb, a block of @cpu's thread, and
 * translate its code without ESPT from now on (espt_demote).
 */
void tlb_espt_demote(TranslationBlock *tb);

/* Print the counters (-d espt, info espt). */
void espt_dump_stats(GString *buf);
#endif

#endif /* EXEC_ESPT_H */
