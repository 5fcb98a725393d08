/*
 * Embedded shadow page tables (ESPT) for TCG system emulation
 *
 * Copyright (c) 2026 qemu-espt developers
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Windows.  Each vCPU reserves (PROT_NONE, MAP_NORESERVE) a region cut
 * into ESPT_NB_WINDOWS windows of 4 GiB plus a guard.  A window mirrors
 * one mmu index in one translation regime (on ARM: ASID, TTBCR, DACR),
 * so that guest virtual address va is host address base(window) + va.
 * A translation block compiled at mmu index i emits its accesses at i as
 * GS-relative host instructions with a 32-bit address size; the vCPU
 * thread's GS holds the base of the current regime's window for i
 * whenever such a block runs (espt_enter), and changes at once when the
 * regime does (espt_regime_switch).  The least recently selected window
 * is reused when a vCPU needs another.
 *
 * What a window may map.  A window page maps the guest RAM page a
 * softmmu TLB entry of that vCPU, mmu index and regime mapped, through
 * the RAM block's shared file descriptor: readable if loads through the
 * entry needed no check, writable if stores needed none either.
 * Everything else is PROT_NONE: MMIO, watchpoints, pages not dirty for
 * code (so writes to translated code reach the slow path that
 * invalidates it), unaligned checks.
 *
 * When an entry must go.  A page may outlive its TLB entry (a victim TLB
 * eviction, a regime switch), but not a guest or QEMU flush that covers
 * it: every full flush of an mmu index drops its windows in every regime
 * (espt_flush), a flush by page or range drops the pages, and the large
 * pages around them, in every regime (espt_unmap), a flush of one
 * regime's entries drops that regime's windows (espt_drop_regimes), and
 * a refill of the same page drops it so that it is mirrored with the new
 * rights.  tlb_reset_dirty, which stops writes to a RAM range from any
 * thread (code pages, dirty logging), write-protects every window page
 * that maps the range, found through a reverse map from host page to
 * window pages (espt_write_protect).  Windows and reverse map change
 * under the vCPU's ESPT lock; mirroring also holds the TLB lock, so
 * tlb_reset_dirty cannot slip between the test of the entry and the map.
 *
 * Filling.  Pages are mapped lazily: a fast-path access to an unmapped
 * page faults, the handler resumes at the access's slow path, and the
 * slow path, having found or filled the TLB entry, mirrors it
 * (tlb_espt_mirror in cputlb.c).  The next access hits the host MMU.
 *
 * How the handler decides.  A SIGSEGV whose address lies in the current
 * thread's window and whose pc lies in an ESPT access of a translation
 * block (the block's EsptRow table) resumes at that access's slow path:
 * x86 faults are precise, so the registers the slow path reads (address,
 * data) are intact.  The handler allocates nothing and takes no lock but
 * the TB lookup's.  Any other SIGSEGV is a crash, reported as one.
 *
 * Host limits.  Every mapped page may cost the host two VMAs; the count
 * of mapped pages stays under a budget derived from vm.max_map_count, and
 * a window that would exceed it is dropped whole first.
 */

#include "qemu/osdep.h"
#include "qemu/error-report.h"
#include "qemu/log.h"
#include "monitor/monitor.h"
#include "qemu/bitmap.h"
#include "qemu/atomic.h"
#include "exec/espt.h"

#if defined(HOST_X86_64) && defined(CONFIG_LINUX)
#include <sys/syscall.h>
#include <asm/prctl.h>
#include <execinfo.h>
#include <sys/auxv.h>
#include "hw/core/cpu.h"
#include "exec/cpu-common.h"
#include "exec/ramblock.h"
#include "exec/translation-block.h"
#include "tcg/tcg.h"
#define ESPT_HOST_OK 1
#endif

/* A window spans the 32-bit guest virtual address space. */
#define ESPT_WINDOW_BITS 32
#define ESPT_PAGE_BITS   12
#define ESPT_PAGE_SIZE   (1ull << ESPT_PAGE_BITS)
#define ESPT_WINDOW_SIZE (1ull << ESPT_WINDOW_BITS)
#define ESPT_WINDOW_PAGES (ESPT_WINDOW_SIZE >> ESPT_PAGE_BITS)
/* Window plus guard, rounded up: accesses may run 15 bytes past 4 GiB. */
#define ESPT_STRIDE      (2 * ESPT_WINDOW_SIZE)
#define ESPT_MAX_CPUS    1024
/* Windows per vCPU: address spaces times mmu indexes kept at once. */
#define ESPT_NB_WINDOWS  48

bool espt_configure(const char *target, unsigned va_bits, Error **errp)
{
    if (va_bits > ESPT_WINDOW_BITS) {
        error_setg(errp, "espt=on is not available for %s guests: "
                   "%u-bit guest addresses do not fit a 4 GiB window",
                   target, va_bits);
        return false;
    }
#ifndef ESPT_HOST_OK
    warn_report("espt=on needs an x86-64 Linux host; running as espt=off");
    return false;
#else
    if (strcmp(target, "arm") != 0) {
        error_setg(errp, "espt=on is not implemented yet for %s guests; "
                   "use espt=off", target);
        return false;
    }
    return true;
#endif
}

#ifdef ESPT_HOST_OK

typedef struct EsptWindow {
    uint8_t *base;
    bool in_use;
    int mmu_idx;                /* what the window mirrors ... */
    uint64_t regime;            /* ... in which translation regime */
    uint64_t last_use;
    unsigned long *mapped;      /* one bit per guest page */
    unsigned long *writable;    /* ... of those mapped writable */
    unsigned long *in_large;    /* ... of those part of a large page */
    GHashTable *host;           /* guest page number -> host page */
    uint32_t nb_mapped;
    uint32_t lo, hi;            /* mapped pages lie in [lo, hi) */
    uint64_t large;             /* bit L: pages of 2^L-byte guest pages */
} EsptWindow;

typedef struct EsptCPU {
    QemuSpin lock;              /* windows and rmap; any thread */
    uint8_t *region;
    /* host page -> GSList of (window << 32 | guest page) mapping it */
    GHashTable *rmap;
    uint64_t regime;            /* the current translation regime */
    uint64_t clock;
    EsptWindow *cur[NB_MMU_MODES];  /* windows of the current regime */
    EsptWindow win[ESPT_NB_WINDOWS];
} EsptCPU;

typedef struct EsptStats {
    uint64_t faults;            /* host faults redirected to a slow path */
    uint64_t maps;              /* pages mapped or remapped */
    uint64_t no_map;            /* RAM that cannot be mirrored */
    uint64_t map_fail;          /* mmap failures */
    uint64_t unmaps;            /* pages unmapped */
    uint64_t write_protects;    /* pages made read-only */
    uint64_t flushes;           /* whole windows dropped */
    uint64_t evictions;         /* windows dropped for the VMA budget */
    uint64_t switches;          /* GS base changes */
} EsptStats;

static bool espt_on;
static bool espt_fsgsbase;
static EsptCPU *espt_cpus[ESPT_MAX_CPUS];
static EsptStats espt_stats;
static uint64_t espt_nb_mapped;     /* all windows */
static uint64_t espt_budget;        /* the most pages mapped at once */
static struct sigaction espt_old_segv;

/* The window base in this thread's GS, 0 if none. */
static __thread uintptr_t espt_gs;

#define ESPT_COUNT(field) qatomic_inc(&espt_stats.field)

bool espt_enabled(void)
{
    return espt_on;
}

bool espt_serves(unsigned long_bits, unsigned page_bits)
{
    return espt_on && long_bits <= ESPT_WINDOW_BITS &&
           page_bits == ESPT_PAGE_BITS;
}

static EsptCPU *espt_cpu(CPUState *cpu)
{
    return cpu->cpu_index < ESPT_MAX_CPUS
           ? qatomic_load_acquire(&espt_cpus[cpu->cpu_index]) : NULL;
}

bool espt_window_active(CPUState *cpu, int mmu_idx)
{
    EsptCPU *ec = espt_cpu(cpu);

    return ec && ec->cur[mmu_idx];
}

static void espt_set_gs(uintptr_t base)
{
    if (espt_fsgsbase) {
        asm volatile("wrgsbase %0" : : "r"(base) : "memory");
    } else if (syscall(SYS_arch_prctl, ARCH_SET_GS, base) != 0) {
        error_report("espt: cannot set the GS base: %s", strerror(errno));
        abort();
    }
    espt_gs = base;
}

/* Reserve @cpu's windows; on the vCPU's own thread. */
static EsptCPU *espt_cpu_create(CPUState *cpu)
{
    EsptCPU *ec;
    void *p;
    int i;

    if (cpu->cpu_index >= ESPT_MAX_CPUS) {
        error_report("espt: more than %d vCPUs", ESPT_MAX_CPUS);
        abort();
    }
    p = mmap(NULL, ESPT_NB_WINDOWS * ESPT_STRIDE, PROT_NONE,
             MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) {
        error_report("espt: cannot reserve the windows of vCPU %d: %s",
                     cpu->cpu_index, strerror(errno));
        abort();
    }
    ec = g_new0(EsptCPU, 1);
    qemu_spin_init(&ec->lock);
    ec->region = p;
    ec->rmap = g_hash_table_new(NULL, NULL);
    for (i = 0; i < ESPT_NB_WINDOWS; i++) {
        ec->win[i].base = ec->region + i * ESPT_STRIDE;
    }
    qatomic_store_release(&espt_cpus[cpu->cpu_index], ec);
    return ec;
}

static void espt_drop_window(EsptCPU *ec, EsptWindow *w);

/* The window of the current regime at @mmu_idx: found, free or evicted. */
static EsptWindow *espt_window_get(EsptCPU *ec, int mmu_idx)
{
    EsptWindow *w, *lru = NULL;
    int i;

    qemu_spin_lock(&ec->lock);
    for (i = 0; i < ESPT_NB_WINDOWS; i++) {
        w = &ec->win[i];
        if (w->in_use && w->mmu_idx == mmu_idx && w->regime == ec->regime) {
            goto found;
        }
        if (!lru || !w->in_use ||
            (lru->in_use && w->last_use < lru->last_use)) {
            lru = w;
        }
    }
    w = lru;
    if (w->in_use) {
        espt_drop_window(ec, w);
        ESPT_COUNT(evictions);
        for (i = 0; i < NB_MMU_MODES; i++) {
            if (ec->cur[i] == w) {
                ec->cur[i] = NULL;
            }
        }
    } else if (!w->mapped) {
        w->mapped = bitmap_new(ESPT_WINDOW_PAGES);
        w->writable = bitmap_new(ESPT_WINDOW_PAGES);
        w->in_large = bitmap_new(ESPT_WINDOW_PAGES);
        w->host = g_hash_table_new(NULL, NULL);
        w->lo = ESPT_WINDOW_PAGES;
        w->hi = 0;
    }
    w->in_use = true;
    w->mmu_idx = mmu_idx;
    w->regime = ec->regime;
found:
    w->last_use = ++ec->clock;
    ec->cur[mmu_idx] = w;
    qemu_spin_unlock(&ec->lock);
    return w;
}

void espt_switch(CPUState *cpu, int mmu_idx)
{
    EsptCPU *ec = espt_cpu(cpu);
    EsptWindow *w;

    if (unlikely(!ec)) {
        ec = espt_cpu_create(cpu);
    }
    w = ec->cur[mmu_idx];
    if (unlikely(!w)) {
        w = espt_window_get(ec, mmu_idx);
    }
    if ((uintptr_t)w->base != espt_gs) {
        espt_set_gs((uintptr_t)w->base);
        ESPT_COUNT(switches);
    }
}

void espt_regime_switch(CPUState *cpu, uint64_t regime)
{
    EsptCPU *ec = espt_cpu(cpu);
    EsptWindow *w;

    if (!ec || ec->regime == regime) {
        return;
    }
    ec->regime = regime;
    memset(ec->cur, 0, sizeof(ec->cur));

    /*
     * The rest of the running block may access memory: it must see the
     * new regime's window at once.
     */
    if (espt_gs - (uintptr_t)ec->region < ESPT_NB_WINDOWS * ESPT_STRIDE) {
        w = &ec->win[(espt_gs - (uintptr_t)ec->region) / ESPT_STRIDE];
        w = espt_window_get(ec, w->mmu_idx);
        espt_set_gs((uintptr_t)w->base);
        ESPT_COUNT(switches);
    }
}

/* Make [p, p + len) inaccessible again. */
static void espt_reserve(uint8_t *p, size_t len)
{
    if (mmap(p, len, PROT_NONE,
             MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED,
             -1, 0) == MAP_FAILED) {
        error_report("espt: cannot unmap window pages: %s", strerror(errno));
        abort();
    }
}

static gpointer espt_rmap_key(void *host)
{
    return (gpointer)((uintptr_t)host & -ESPT_PAGE_SIZE);
}

static gpointer espt_rmap_val(EsptCPU *ec, EsptWindow *w, uint32_t n)
{
    return (gpointer)((uintptr_t)(w - ec->win) << 32 | n);
}

static void espt_rmap_add(EsptCPU *ec, void *host, EsptWindow *w, uint32_t n)
{
    gpointer k = espt_rmap_key(host);
    GSList *l = g_hash_table_lookup(ec->rmap, k);

    g_hash_table_insert(ec->rmap, k,
                        g_slist_prepend(l, espt_rmap_val(ec, w, n)));
}

static void espt_rmap_del(EsptCPU *ec, void *host, EsptWindow *w, uint32_t n)
{
    gpointer k = espt_rmap_key(host);
    GSList *l = g_hash_table_lookup(ec->rmap, k);

    l = g_slist_remove(l, espt_rmap_val(ec, w, n));
    if (l) {
        g_hash_table_insert(ec->rmap, k, l);
    } else {
        g_hash_table_remove(ec->rmap, k);
    }
}

/* Forget that guest page @n is mapped; the caller unmaps it. */
static void espt_forget(EsptCPU *ec, EsptWindow *w, uint32_t n)
{
    gpointer k = GUINT_TO_POINTER(n);

    espt_rmap_del(ec, g_hash_table_lookup(w->host, k), w, n);
    g_hash_table_remove(w->host, k);
    clear_bit(n, w->mapped);
    clear_bit(n, w->writable);
    clear_bit(n, w->in_large);
    w->nb_mapped--;
    qatomic_dec(&espt_nb_mapped);
}

/*
 * Unmap the guest pages [first, last] of a window that are set in @which
 * (w->mapped, or w->in_large for those that are part of large pages);
 * under ec->lock.
 */
static void espt_unmap_pages(EsptCPU *ec, EsptWindow *w, unsigned long *which,
                             uint32_t first, uint32_t last)
{
    unsigned long n, end, run = 0, run_end = 0;
    uint32_t nb = 0;

    first = MAX(first, w->lo);
    end = MIN((unsigned long)last + 1, w->hi);
    if (w->nb_mapped == 0 || first >= end) {
        return;
    }
    /*
     * Unmap the runs of pages forgotten, not the whole range: with @which
     * = w->in_large, the range also holds small pages that stay mapped.
     */
    for (n = find_next_bit(which, end, first); n < end;
         n = find_next_bit(which, end, n + 1)) {
        if (n != run_end) {
            if (run_end) {
                espt_reserve(w->base + ((uint64_t)run << ESPT_PAGE_BITS),
                             (uint64_t)(run_end - run) << ESPT_PAGE_BITS);
            }
            run = n;
        }
        run_end = n + 1;
        espt_forget(ec, w, n);
        nb++;
    }
    if (nb) {
        espt_reserve(w->base + ((uint64_t)run << ESPT_PAGE_BITS),
                     (uint64_t)(run_end - run) << ESPT_PAGE_BITS);
        qatomic_add(&espt_stats.unmaps, nb);
    }
    if (w->nb_mapped == 0) {
        w->lo = ESPT_WINDOW_PAGES;
        w->hi = 0;
        w->large = 0;
    }
}

static void espt_drop_window(EsptCPU *ec, EsptWindow *w)
{
    if (w->nb_mapped) {
        espt_unmap_pages(ec, w, w->mapped, 0, ESPT_WINDOW_PAGES - 1);
        ESPT_COUNT(flushes);
    }
}

void espt_map(CPUState *cpu, int mmu_idx, vaddr page, void *host,
              bool writable, unsigned lg_bits)
{
    EsptCPU *ec = espt_cpu(cpu);
    EsptWindow *w = ec ? ec->cur[mmu_idx] : NULL;
    uint32_t n = page >> ESPT_PAGE_BITS;
    ram_addr_t offset;
    RAMBlock *rb;
    void *old;

    if (!w || page >= ESPT_WINDOW_SIZE ||
        (test_bit(n, w->mapped) && (!writable || test_bit(n, w->writable)) &&
         g_hash_table_lookup(w->host, GUINT_TO_POINTER(n)) ==
         espt_rmap_key(host))) {
        return;
    }
    rb = qemu_ram_block_from_host(host, false, &offset);
    if (!rb || rb->fd < 0 || !qemu_ram_is_shared(rb) ||
        rb->page_size != ESPT_PAGE_SIZE) {
        ESPT_COUNT(no_map);
        return;
    }

    qemu_spin_lock(&ec->lock);
    if (!test_bit(n, w->mapped) &&
        qatomic_read(&espt_nb_mapped) >= espt_budget) {
        /* Over the VMA budget: start this window afresh. */
        espt_drop_window(ec, w);
        ESPT_COUNT(evictions);
    }
    if (mmap(w->base + page, ESPT_PAGE_SIZE,
             writable ? PROT_READ | PROT_WRITE : PROT_READ,
             MAP_SHARED | MAP_FIXED, rb->fd,
             rb->fd_offset + offset) == MAP_FAILED) {
        /* Leave the page to the slow path; MAP_FIXED may have unmapped. */
        if (test_bit(n, w->mapped)) {
            espt_forget(ec, w, n);
        }
        espt_reserve(w->base + page, ESPT_PAGE_SIZE);
        qemu_spin_unlock(&ec->lock);
        ESPT_COUNT(map_fail);
        return;
    }
    ESPT_COUNT(maps);
    if (test_bit(n, w->mapped)) {
        old = g_hash_table_lookup(w->host, GUINT_TO_POINTER(n));
        if (old != espt_rmap_key(host)) {
            espt_rmap_del(ec, old, w, n);
            espt_rmap_add(ec, host, w, n);
        }
    } else {
        set_bit(n, w->mapped);
        w->nb_mapped++;
        qatomic_inc(&espt_nb_mapped);
        w->lo = MIN(w->lo, n);
        w->hi = MAX(w->hi, n + 1);
        espt_rmap_add(ec, host, w, n);
    }
    g_hash_table_insert(w->host, GUINT_TO_POINTER(n), espt_rmap_key(host));
    if (writable) {
        set_bit(n, w->writable);
    } else {
        clear_bit(n, w->writable);
    }
    if (lg_bits > ESPT_PAGE_BITS && lg_bits < 64) {
        w->large |= 1ull << lg_bits;
        set_bit(n, w->in_large);
    } else {
        clear_bit(n, w->in_large);
    }
    qemu_spin_unlock(&ec->lock);
}

void espt_unmap(CPUState *cpu, int mmu_idx, vaddr addr, vaddr len)
{
    EsptCPU *ec = espt_cpu(cpu);
    vaddr last;
    int i;

    if (!ec || addr >= ESPT_WINDOW_SIZE) {
        return;
    }
    last = MIN(addr + len - 1, ESPT_WINDOW_SIZE - 1);
    qemu_spin_lock(&ec->lock);
    /* In every regime: a flush by address does not name one. */
    for (i = 0; i < ESPT_NB_WINDOWS; i++) {
        EsptWindow *w = &ec->win[i];
        uint64_t large;

        if (!w->in_use || w->mmu_idx != mmu_idx || w->nb_mapped == 0) {
            continue;
        }
        espt_unmap_pages(ec, w, w->mapped, addr >> ESPT_PAGE_BITS,
                         last >> ESPT_PAGE_BITS);
        /*
         * A flush covers the whole of every large page it touches: drop
         * the pages of large pages around it (an over-approximation when
         * the window holds large pages of several sizes).
         */
        for (large = w->large; large; large &= large - 1) {
            vaddr mask = (1ull << ctz64(large)) - 1;

            espt_unmap_pages(ec, w, w->in_large,
                             (addr & ~mask) >> ESPT_PAGE_BITS,
                             MIN(last | mask, ESPT_WINDOW_SIZE - 1)
                             >> ESPT_PAGE_BITS);
        }
    }
    qemu_spin_unlock(&ec->lock);
}

void espt_write_protect(CPUState *cpu, uintptr_t host, size_t len)
{
    EsptCPU *ec = espt_cpu(cpu);
    uintptr_t p;

    if (!ec) {
        return;
    }
    qemu_spin_lock(&ec->lock);
    if (g_hash_table_size(ec->rmap) == 0) {
        qemu_spin_unlock(&ec->lock);
        return;
    }
    for (p = host & -ESPT_PAGE_SIZE; p < host + len; p += ESPT_PAGE_SIZE) {
        GSList *l = g_hash_table_lookup(ec->rmap, (gpointer)p);

        for (; l; l = l->next) {
            uintptr_t v = (uintptr_t)l->data;
            EsptWindow *w = &ec->win[v >> 32];
            uint32_t n = (uint32_t)v;

            if (test_bit(n, w->writable)) {
                clear_bit(n, w->writable);
                if (mprotect(w->base + ((uint64_t)n << ESPT_PAGE_BITS),
                             ESPT_PAGE_SIZE, PROT_READ) != 0) {
                    error_report("espt: cannot write-protect a window "
                                 "page: %s", strerror(errno));
                    abort();
                }
                ESPT_COUNT(write_protects);
            }
        }
    }
    qemu_spin_unlock(&ec->lock);
}

/*
 * Drop the windows of @mmu_idx (any, if negative) whose regime's low 32
 * bits, masked with @mask, are @value.
 */
static void espt_drop_windows(CPUState *cpu, int mmu_idx,
                              uint32_t value, uint32_t mask)
{
    EsptCPU *ec = espt_cpu(cpu);
    int i;

    if (!ec) {
        return;
    }
    qemu_spin_lock(&ec->lock);
    for (i = 0; i < ESPT_NB_WINDOWS; i++) {
        EsptWindow *w = &ec->win[i];

        if (w->in_use && (mmu_idx < 0 || w->mmu_idx == mmu_idx) &&
            ((uint32_t)w->regime & mask) == value) {
            espt_drop_window(ec, w);
        }
    }
    qemu_spin_unlock(&ec->lock);
}

void espt_flush(CPUState *cpu, int mmu_idx)
{
    espt_drop_windows(cpu, mmu_idx, 0, 0);
}

void espt_drop_regimes(CPUState *cpu, uint32_t value, uint32_t mask)
{
    espt_drop_windows(cpu, -1, value, mask);
}

/* The slow path of the ESPT access at host @pc, or 0. */
static uintptr_t espt_slow_path(uintptr_t pc)
{
    const TranslationBlock *tb;
    const EsptRow *rows;
    uint32_t ofs;
    int lo, hi;

    if (!in_code_gen_buffer((void *)(pc - tcg_splitwx_diff))) {
        return 0;
    }
    tb = tcg_tb_lookup(pc);
    if (!tb || tb->espt_nb_rows == 0) {
        return 0;
    }
    rows = (const EsptRow *)((uintptr_t)tb->tc.ptr + tb->espt_rows_ofs);
    ofs = pc - (uintptr_t)tb->tc.ptr;
    lo = 0;
    hi = tb->espt_nb_rows;
    while (lo < hi) {
        int mid = (lo + hi) / 2;

        if (ofs < rows[mid].fast_ofs) {
            hi = mid;
        } else if (ofs >= rows[mid].fast_ofs + rows[mid].fast_len) {
            lo = mid + 1;
        } else {
            return (uintptr_t)tb->tc.ptr + rows[mid].slow_ofs;
        }
    }
    return 0;
}

static void espt_report_crash(int sig, siginfo_t *si, ucontext_t *uc)
{
    void *frames[64];
    char buf[256];
    int n;

    n = snprintf(buf, sizeof(buf),
                 "qemu: host signal %d at pc 0x%llx, address %p: "
                 "not an ESPT fault\n", sig,
                 (unsigned long long)uc->uc_mcontext.gregs[REG_RIP],
                 si->si_addr);
    if (write(STDERR_FILENO, buf, n) < 0) {
        /* nothing more to say */
    }
    if (current_cpu && current_cpu->cc->get_pc) {
        n = snprintf(buf, sizeof(buf), "qemu: guest pc 0x%llx (vCPU %d)\n",
                     (unsigned long long)current_cpu->cc->get_pc(current_cpu),
                     current_cpu->cpu_index);
        if (write(STDERR_FILENO, buf, n) < 0) {
            /* nothing more to say */
        }
    }
    n = backtrace(frames, ARRAY_SIZE(frames));
    backtrace_symbols_fd(frames, n, STDERR_FILENO);
}

static void espt_sigsegv(int sig, siginfo_t *si, void *puc)
{
    ucontext_t *uc = puc;
    uintptr_t addr = (uintptr_t)si->si_addr;
    uintptr_t slow;

    if (espt_gs && addr - espt_gs < ESPT_STRIDE) {
        slow = espt_slow_path(uc->uc_mcontext.gregs[REG_RIP]);
        if (slow) {
            uc->uc_mcontext.gregs[REG_RIP] = slow;
            ESPT_COUNT(faults);
            return;
        }
    }

    /*
     * A real crash.  Say where, then let it happen as it would have
     * without us: with the previous disposition, on the same fault.
     */
    espt_report_crash(sig, si, uc);
    sigaction(SIGSEGV, &espt_old_segv, NULL);
}

static uint64_t espt_vma_budget(void)
{
    unsigned long max = 65530;
    FILE *f = fopen("/proc/sys/vm/max_map_count", "r");

    if (f) {
        if (fscanf(f, "%lu", &max) != 1) {
            max = 65530;
        }
        fclose(f);
    }
    /* Leave room for QEMU's own mappings; a page may cost two VMAs. */
    return max > 8192 ? (max - 4096) / 2 : max / 4;
}

static void espt_exit(void)
{
    if (qemu_loglevel_mask(CPU_LOG_ESPT)) {
        g_autoptr(GString) buf = g_string_new("");

        espt_dump_stats(buf);
        qemu_log("%s", buf->str);
    }
}

static void hmp_info_espt(Monitor *mon, const QDict *qdict)
{
    g_autoptr(GString) buf = g_string_new("");

    espt_dump_stats(buf);
    monitor_puts(mon, buf->str);
}

static void espt_register_hmp(void)
{
    monitor_register_hmp("espt", true, hmp_info_espt);
}
type_init(espt_register_hmp);

bool espt_start(void)
{
    struct sigaction sa = {
        .sa_sigaction = espt_sigsegv,
        .sa_flags = SA_SIGINFO | SA_ONSTACK,
    };

    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGSEGV, &sa, &espt_old_segv) != 0) {
        warn_report("espt: cannot install the fault handler (%s); "
                    "running as espt=off", strerror(errno));
        return false;
    }
    espt_fsgsbase = qemu_getauxval(AT_HWCAP2) & (1 << 1);
    espt_budget = espt_vma_budget();
    espt_on = true;
    atexit(espt_exit);
    return true;
}

void espt_dump_stats(GString *buf)
{
    if (!espt_on) {
        g_string_append(buf, "espt: off\n");
        return;
    }
    g_string_append_printf(buf,
        "espt: faults %" PRIu64 " maps %" PRIu64 " unmaps %" PRIu64
        " write-protects %" PRIu64 " window-drops %" PRIu64
        " evictions %" PRIu64 " switches %" PRIu64
        " unmirrorable %" PRIu64 " map-failures %" PRIu64
        " pages-mapped %" PRIu64 " budget %" PRIu64 "\n",
        qatomic_read(&espt_stats.faults), qatomic_read(&espt_stats.maps),
        qatomic_read(&espt_stats.unmaps),
        qatomic_read(&espt_stats.write_protects),
        qatomic_read(&espt_stats.flushes),
        qatomic_read(&espt_stats.evictions),
        qatomic_read(&espt_stats.switches),
        qatomic_read(&espt_stats.no_map),
        qatomic_read(&espt_stats.map_fail),
        qatomic_read(&espt_nb_mapped), espt_budget);
}

#else /* !ESPT_HOST_OK */

bool espt_start(void)
{
    return false;
}

bool espt_enabled(void)
{
    return false;
}

bool espt_serves(unsigned long_bits, unsigned page_bits)
{
    return false;
}

void espt_switch(CPUState *cpu, int mmu_idx)
{
}

void espt_regime_switch(CPUState *cpu, uint64_t regime)
{
}

bool espt_window_active(CPUState *cpu, int mmu_idx)
{
    return false;
}

void espt_map(CPUState *cpu, int mmu_idx, vaddr page, void *host,
              bool writable, unsigned lg_bits)
{
}

void espt_unmap(CPUState *cpu, int mmu_idx, vaddr addr, vaddr len)
{
}

void espt_write_protect(CPUState *cpu, uintptr_t host, size_t len)
{
}

void espt_flush(CPUState *cpu, int mmu_idx)
{
}

void espt_drop_regimes(CPUState *cpu, uint32_t value, uint32_t mask)
{
}

void espt_dump_stats(GString *buf)
{
    g_string_append(buf, "espt: off\n");
}

#endif
