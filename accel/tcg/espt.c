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
 * single host instructions that add the zero-extended guest address to
 * a register holding the window's base (CPUNegativeOffsetState.
 * espt_base, loaded when a block starts and after every call); that
 * base is the current regime's window for i whenever such a block runs
 * (espt_enter), and changes at once when the regime does
 * (espt_regime_switch).  The least recently selected window is reused
 * when a vCPU needs another.
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
 * it, unless a walk of the guest's tables finds it unchanged after the
 * flush.  A full flush of an mmu index marks its windows stale in every
 * regime (espt_flush), and each is checked page by page, one walk per
 * large-page chunk, before it is used again (espt_refresh); where the
 * target's walks have side effects, the flush drops them instead.  A
 * flush by page or range drops the pages, and the large pages around
 * them, in every regime (espt_unmap); a flush of one regime's entries
 * (TLBIASID) drops that regime's pages that are not global
 * (espt_drop_regimes); a refill of the same page drops it so that it is
 * mirrored with the new rights.  Global pages (CPUTLBEntryFull.global)
 * hold in every address space: a window for a new regime that differs
 * from an old one only in the ASID takes over the old one's global
 * pages.  tlb_reset_dirty, which stops writes to a RAM range from any
 * thread (code pages, dirty logging), write-protects every window page
 * that maps the range, found through a reverse map from host page to
 * window pages (espt_write_protect).  Windows and reverse map change
 * under the vCPU's ESPT lock; mirroring also holds the TLB lock, so
 * tlb_reset_dirty cannot slip between the test of the entry and the map.
 *
 * Filling.  Pages are mapped lazily: a fast-path access to an unmapped
 * page faults, the handler resumes at the access's slow path, and the
 * slow path, having found or filled the TLB entry, mirrors it
 * (tlb_espt_mirror in cputlb.c): the page, or, for the first touch of a
 * large guest page (a section), the whole of it up to
 * 2^ESPT_FILL_BITS bytes.  The next access hits the host MMU.
 *
 * How the handler decides.  A SIGSEGV whose address lies in the current
 * thread's window and whose pc lies in an ESPT access of a translation
 * block (the block's EsptRow table) resumes at that access's slow path:
 * x86 faults are precise, so the registers the slow path reads (address,
 * data) are intact.  The handler allocates nothing and takes no lock but
 * the TB lookup's.  Any other SIGSEGV is a crash, reported as one.
 *
 * Leaving the fast path.  A block whose accesses keep faulting is
 * translated without ESPT from then on (espt_demote_faulting), and a
 * vCPU whose windows cost more to keep than they save runs blocks
 * translated without ESPT for a while (espt_pace).  Blocks without ESPT
 * accesses are always correct; the windows stay coherent whichever
 * kind runs.
 *
 * Host limits.  The host VMAs the windows take, counted as the kernel
 * merges them (espt_run_starts), stay under a budget derived from
 * vm.max_map_count: the vCPU's least recently used windows other than
 * the current ones are dropped whole first, then, if need be, the
 * window being filled.
 */

#include "qemu/osdep.h"
#include "qemu/error-report.h"
#include "qemu/log.h"
#include "monitor/monitor.h"
#include "qemu/bitmap.h"
#include "qemu/atomic.h"
#include "exec/espt.h"

#if defined(HOST_X86_64) && defined(CONFIG_LINUX)
#include <execinfo.h>
#include "hw/core/cpu.h"
#include "exec/cpu-common.h"
#include "exec/cputlb.h"
#include "exec/memory.h"
#include "exec/page-protection.h"
#include "exec/ramblock.h"
#include "exec/translation-block.h"
#include "accel/tcg/cpu-ops.h"
#include "tcg/tcg.h"
#include "tb-jmp-cache.h"
#include "tb-context.h"
#include "qemu/timer.h"
#include "qemu/main-loop.h"
#include "migration/misc.h"
#include "qemu/madvise.h"
#include <setjmp.h>
#include <sys/vfs.h>
#include <linux/magic.h>
#include <sys/syscall.h>
#define ESPT_HOST_OK 1
/* arch_prctl code for the thread's shadow stack features (Linux 6.6). */
#define ESPT_ARCH_SHSTK_STATUS 0x5005
#endif

/* A window spans the 32-bit guest virtual address space. */
#define ESPT_WINDOW_BITS 32
#define ESPT_PAGE_BITS   12
#define ESPT_PAGE_SIZE   (1ull << ESPT_PAGE_BITS)
#define ESPT_WINDOW_SIZE (1ull << ESPT_WINDOW_BITS)
#define ESPT_WINDOW_PAGES (ESPT_WINDOW_SIZE >> ESPT_PAGE_BITS)
#define ESPT_MB_SHIFT    (20 - ESPT_PAGE_BITS)  /* pages to MiB */
/* Window plus guard, rounded up: accesses may run 15 bytes past 4 GiB. */
#define ESPT_STRIDE      (2 * ESPT_WINDOW_SIZE)
#define ESPT_MAX_CPUS    1024
/* Windows per vCPU: address spaces times mmu indexes kept at once. */
#define ESPT_NB_WINDOWS  48
#define ESPT_NB_JC       16     /* jump caches per vCPU */
/*
 * Runs of at most this many pages (2 MiB, the largest run a first touch
 * maps) are mapped with MAP_POPULATE: entering a page that RAM holds
 * already costs a fraction of a microsecond, a host fault on it several.
 */
#define ESPT_POPULATE_PAGES 512

#ifdef ESPT_HOST_OK
/* Whether the target's walks change nothing (see espt_refresh). */
static bool espt_can_refresh;
/* Whether windows follow the guest's tables (see espt_track). */
static bool espt_tracking;
#endif

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
    if (strcmp(target, "arm") == 0) {
        /*
         * AArch32 walks update nothing (no hardware access flag): a
         * flushed window may be checked by walking.
         */
        espt_can_refresh = true;
        return true;
    }
    if (strcmp(target, "i386") == 0) {
        /*
         * x86 walks set accessed and dirty flags, and a CR3 write flushes
         * the TLB whole: keep windows in step with the guest's tables.
         */
        espt_tracking = true;
        return true;
    }
    error_setg(errp, "espt=on is not implemented yet for %s guests; "
               "use espt=off", target);
    return false;
#endif
}

#ifdef ESPT_HOST_OK

typedef struct EsptWindow {
    uint8_t *base;
    bool in_use;
    bool stale;                 /* check before use: ... */
    bool stale_all;             /* ... every page (flushed whole) */
    int mmu_idx;                /* what the window mirrors ... */
    uint64_t regime;            /* ... in which translation regime */
    uint64_t last_use;
    unsigned long *mapped;      /* one bit per guest page */
    unsigned long *writable;    /* ... of those mapped writable */
    unsigned long *in_large;    /* ... of those part of a large page */
    unsigned long *large_mb;    /* per MiB: pages in_large since emptied */
    unsigned long *local;       /* ... of those not global */
    unsigned long *suspect;     /* ... of those to check (if !stale_all) */
    uint32_t sus_lo, sus_hi;    /* suspect pages lie in [sus_lo, sus_hi) */
    /*
     * Per guest page, the RAM page (ram_addr_t >> ESPT_PAGE_BITS, plus 1)
     * it maps, and the links of the list of window pages that map the
     * same RAM page (reverse map); a window page is named by its node,
     * (window index << 20 | guest page) + 1, and 0 ends a list.
     */
    uint32_t *ram;
    uint32_t *next, *prev;
    uint32_t nb_mapped;
    uint32_t nb_runs;           /* host VMAs its pages take (see below) */
    uint32_t lo, hi;            /* mapped pages lie in [lo, hi) */
    uint64_t large;             /* bit L: pages of 2^L-byte guest pages */
    uint32_t gen;               /* counts emptyings; tables registered */
    /* Per table level, the table last registered (see espt_track). */
    struct EsptTableCache {
        uintptr_t host;         /* where QEMU maps the table */
        uint32_t va, gen;
        uint64_t epoch;
        struct EsptTablePage *tp;
    } tcache[ESPT_MAX_TABLES];
} EsptWindow;

/*
 * A jump cache (virtual pc -> block) of one regime.  Like a window, it
 * stays valid across regime switches, and goes with every flush of the
 * TLB that covers it: a whole flush of any jump cache of the vCPU
 * (counted by jc_gen) empties all of them, lazily, at their next use.
 */
typedef struct EsptJumpCache {
    CPUJumpCache *cache;        /* allocated at first use */
    uint64_t regime;
    uint64_t gen;               /* jc_gen when last emptied */
    uint64_t last_use;          /* 0: holds no regime */
} EsptJumpCache;

/*
 * Pacing (see espt_pace): the vCPU's current period, and how many
 * periods it is still to spend off the fast path.  What the upkeep
 * cost in the period is counted per thread (espt_faults_now).
 */
typedef struct EsptPace {
    int64_t start;              /* ns, start of the current period */
    uint32_t off_left;          /* periods still to run off ESPT */
    uint32_t off_next;          /* periods off at the next bad period */
    bool back;                  /* the period just after a time off */
} EsptPace;

/*
 * A translation regime the vCPU entered lately, the address space its
 * tables described then (TCGCPUOps.espt_space), and how long it has run
 * in it while young (see espt_youth_switch); -1 once grown up.
 */
typedef struct EsptYoung {
    uint64_t regime;
    uint64_t space;
    int64_t run;
    int64_t left;               /* ns, when the vCPU last left it */
    bool valid;
} EsptYoung;
#define ESPT_NB_YOUNG       256

typedef struct EsptCPU {
    QemuSpin lock;              /* windows and rmap; any thread */
    uint8_t *region;
    /* RAM page -> first node of the window pages mapping it */
    uint32_t *rmap;
    size_t rmap_size;
    uint64_t regime;            /* the current translation regime */
    uint64_t asid_mask;         /* ... and the bits of it naming the ASID */
    uint64_t clock;
    EsptWindow *cur[NB_MMU_MODES];  /* windows of the current regime */
    uint64_t idx_wins[NB_MMU_MODES];    /* bit W: win[W] is of that mmu_idx */
    uint64_t live;              /* bit W: win[W] maps a page (ec->lock) */
    EsptWindow win[ESPT_NB_WINDOWS];
    EsptJumpCache jc[ESPT_NB_JC];
    uint64_t jc_gen;            /* jump cache flushes; any thread */
    uint64_t jc_clock;
    EsptPace pace;
    EsptYoung young[ESPT_NB_YOUNG];     /* by a hash of the regime */
    EsptYoung *young_in;        /* the current regime's */
    int64_t young_since;        /* ns, when it became current */
    /* Where a young regime's accesses fault: nothing is ever mapped. */
    EsptWindow void_win;
    bool quick;                 /* see EsptQuick; any thread clears it */
    CPUState *cpu;
} EsptCPU;

typedef struct EsptStats {
    uint64_t faults;            /* host faults redirected to a slow path */
    uint64_t faults_ro;         /* ... of which stores to read-only pages */
    uint64_t faults_mmio;       /* ... of which accesses to MMIO */
    uint64_t faults_code;       /* ... stores to pages holding code */
    uint64_t faults_guest;      /* ... accesses that raised a guest fault */
    uint64_t maps;              /* pages mapped or remapped */
    uint64_t fill_runs;         /* mmaps of more than one page */
    uint64_t no_map;            /* RAM that cannot be mirrored */
    uint64_t map_fail;          /* mmap failures */
    uint64_t unmaps;            /* pages unmapped */
    uint64_t write_protects;    /* pages made read-only */
    uint64_t flushes;           /* whole windows dropped */
    uint64_t evictions;         /* windows dropped for the VMA budget */
    uint64_t switches;          /* window base changes */
    uint64_t jc_kept;           /* regime switches that kept a jump cache */
    uint64_t prefills;          /* walks after a fault raised in the guest */
    uint64_t refreshes;         /* stale windows checked */
    uint64_t kept;              /* ... pages found still valid */
    uint64_t demoted;           /* code translated without ESPT */
    uint64_t tables;            /* tables registered for a window */
    uint64_t table_writes;      /* writes to registered tables */
    uint64_t table_floods;      /* tables given up after many writes */
    uint64_t tables_hot;        /* ... so often that ESPT stopped using them */
    uint64_t periods_on;        /* pacing periods run with ESPT */
    uint64_t periods_off;       /* ... and without */
    uint64_t populated;         /* RAM chunks entered whole */
    uint64_t populated_huge;    /* of those, as one huge page */
    uint64_t young;             /* regimes that began without windows */
    uint64_t grown;             /* ... and ran long enough to get them */
} EsptStats;

static bool espt_on;
static EsptCPU *espt_cpus[ESPT_MAX_CPUS];
static EsptStats espt_stats;
static uint64_t espt_nb_mapped;     /* all windows */
static uint64_t espt_nb_runs;       /* all windows' nb_runs */
static uint64_t espt_runs_peak;     /* the most espt_nb_runs has been */
static uint64_t espt_budget;        /* the most runs mapped at once */
static struct sigaction espt_old_segv;

/* The window base this thread's blocks use, 0 if none, and its window. */
static __thread uintptr_t espt_base;
static __thread EsptWindow *espt_base_win;
/*
 * The last host fault's window (NULL outside the windows) and guest
 * address, for espt_fault_take and espt_guest_fault.
 */
static __thread EsptWindow *espt_fault_win;
static __thread uint32_t espt_fault_addr;
/*
 * ... and its block, until its slow path has found the page, with the
 * code buffer's flush count then (a flush frees every block).  Still set
 * at the next host fault or espt_switch, it says that slow path raised a
 * guest fault instead.
 */
static __thread TranslationBlock *espt_fault_tb;
static __thread unsigned espt_fault_flushes;
/* What that fault counted toward its block's demotion. */
static __thread unsigned espt_fault_weight_last;
/*
 * The window and address of the last host fault whose slow path raised a
 * guest fault, for espt_switch to prefill: the guest's handler takes host
 * faults of its own (a store to a tracked table, say) before it returns.
 */
static __thread EsptWindow *espt_prefill_win;
static __thread uint32_t espt_prefill_addr;

/*
 * Host faults at one block after which its code is translated without
 * ESPT (see espt_demote_faulting), and the block that reached them,
 * with the code buffer's flush count when it did.  A fault that ends a
 * run of three, each on or next to the page of the one before, counts
 * ESPT_FAULT_SWEEP: the block sweeps through memory (or keeps faulting
 * on one page), and is demoted after about ESPT_DEMOTE_FAULTS of them.
 * Any other fault counts one: a block that scatters over memory it
 * reuses keeps ESPT for ESPT_FAULT_SWEEP times as many.  The store
 * that follows a load's first touch of a page mirrored read-only counts
 * nothing.  Faults are matched against this thread's last ESPT_RECENT,
 * so that a copy's two streams each make a run.
 *
 * The count halves every ESPT_FAULT_EPOCH_NS, so that only a block that
 * keeps faulting reaches the threshold: one that faults on each page of
 * its buffer once per run of its program, and runs from then on without
 * faults, does not, however many times the program is run.
 * TranslationBlock.espt_faults holds the count in its low 16 bits and
 * the epoch of its last fault in its high 16 bits.
 */
#define ESPT_DEMOTE_FAULTS 64
#define ESPT_FAULT_SWEEP   32
#define ESPT_DEMOTE_AT     (ESPT_DEMOTE_FAULTS * ESPT_FAULT_SWEEP)
#define ESPT_FAULT_EPOCH_NS (100 * 1000 * 1000)
#define ESPT_RECENT        4
static __thread TranslationBlock *espt_demote_tb;
static __thread unsigned espt_demote_flushes;
/*
 * This thread's last host faults: host page, whether it was not mapped
 * then, and how many faults before it each fell on or next to the one
 * before (up to 2).
 */
static __thread struct {
    uintptr_t page;
    bool fresh;
    uint8_t run;
} espt_recent[ESPT_RECENT];
static __thread unsigned espt_recent_next;

/*
 * Pacing: a period lasts ESPT_PERIOD_NS; one whose upkeep (host faults
 * and mmap/mprotect calls, at the costs espt_calibrate measured) took
 * more than ESPT_PACE_PERCENT of it sends the vCPU off the fast path
 * for 1, 2, 4 ... ESPT_PACE_MAX_OFF periods.  This thread's faults and
 * calls since the period began:
 */
#define ESPT_PERIOD_NS      (20 * 1000 * 1000)
#define ESPT_PACE_PERCENT   15
#define ESPT_PACE_BACK_PERCENT 50
#define ESPT_PACE_MAX_OFF   32
static __thread uint32_t espt_faults_now;
static __thread uint32_t espt_calls_now;
static bool espt_quick_never;
__thread EsptQuick espt_quick = { .ok = &espt_quick_never, .mmu_idx = -1 };
uint32_t espt_vcpus_off;
static int64_t espt_fault_ns = 20000, espt_call_ns = 10000;
/* How long a new regime runs before it gets windows (espt-youth). */
static int64_t espt_youth_ns = ESPT_YOUTH_MS * 1000 * 1000LL;
/* What a kernel entry costs the code that runs after it (espt_calibrate). */
static int64_t espt_entry_ns;
/* espt_calibrate's own fault, and where the handler sends it. */
static __thread bool espt_calibrating;
static __thread sigjmp_buf espt_calibrate_jmp;
/* Whether espt_resume may leave the handler (see espt_sigsegv). */
static bool espt_fast_resume;
/* Set while this thread runs espt_sigsegv (SA_NODEFER: see there). */
static __thread bool espt_in_handler;

/*
 * Continue at the context of @gregs, a ucontext's general registers,
 * without rt_sigreturn.  RAX, RDI, the flags and the return address go
 * in the 32 bytes below the interrupted stack pointer: the red zone,
 * which the kernel left alone and which generated code does not use.
 * The stack pointer moves there last, so that until then the signal
 * frame holding @gregs stays above it.
 */
static inline G_NORETURN void espt_resume(const greg_t *gregs)
{
    asm volatile("mov 15*8(%%rdi), %%rax\n\t"     /* RSP */
                 "mov 16*8(%%rdi), %%rcx\n\t"     /* RIP */
                 "mov %%rcx, -8(%%rax)\n\t"
                 "mov 17*8(%%rdi), %%rcx\n\t"     /* EFL */
                 "mov %%rcx, -16(%%rax)\n\t"
                 "mov 8*8(%%rdi), %%rcx\n\t"      /* RDI */
                 "mov %%rcx, -24(%%rax)\n\t"
                 "mov 13*8(%%rdi), %%rcx\n\t"     /* RAX */
                 "mov %%rcx, -32(%%rax)\n\t"
                 "mov 0*8(%%rdi), %%r8\n\t"
                 "mov 1*8(%%rdi), %%r9\n\t"
                 "mov 2*8(%%rdi), %%r10\n\t"
                 "mov 3*8(%%rdi), %%r11\n\t"
                 "mov 4*8(%%rdi), %%r12\n\t"
                 "mov 5*8(%%rdi), %%r13\n\t"
                 "mov 6*8(%%rdi), %%r14\n\t"
                 "mov 7*8(%%rdi), %%r15\n\t"
                 "mov 9*8(%%rdi), %%rsi\n\t"
                 "mov 10*8(%%rdi), %%rbp\n\t"
                 "mov 11*8(%%rdi), %%rbx\n\t"
                 "mov 12*8(%%rdi), %%rdx\n\t"
                 "mov 14*8(%%rdi), %%rcx\n\t"
                 "lea -32(%%rax), %%rsp\n\t"
                 "pop %%rax\n\t"
                 "pop %%rdi\n\t"
                 "popfq\n\t"
                 "ret"
                 : : "D"(gregs) : "memory");
    __builtin_unreachable();
}
QEMU_BUILD_BUG_ON(REG_R8 != 0 || REG_R9 != 1 || REG_R10 != 2 ||
                  REG_R11 != 3 || REG_R12 != 4 || REG_R13 != 5 ||
                  REG_R14 != 6 || REG_R15 != 7 || REG_RDI != 8 ||
                  REG_RSI != 9 || REG_RBP != 10 || REG_RBX != 11 ||
                  REG_RDX != 12 || REG_RAX != 13 || REG_RCX != 14 ||
                  REG_RSP != 15 || REG_RIP != 16 || REG_EFL != 17);

/*
 * This thread's store to a guest table that is about to land, if any,
 * with the bytes it overwrites, if few enough to keep.
 */
#define ESPT_PENDING_BYTES 16
static __thread ram_addr_t espt_pending_ram;
static __thread size_t espt_pending_len;
static __thread uint8_t *espt_pending_host;
static __thread uint8_t espt_pending_old[ESPT_PENDING_BYTES];

#define ESPT_COUNT(field) qatomic_inc(&espt_stats.field)

/*
 * The slow path of the last host fault raised a guest fault: note where,
 * for espt_switch to prefill the page once the guest has handled it.
 * Only where a walk changes nothing, or is checked to (tlb_espt_prefill).
 * The fault counts one toward its block's demotion, even where it
 * continued a sweep: the softmmu would have missed its TLB and raised
 * the same guest fault, whose handling costs the guest more than the
 * host fault did.  A block that first-touches the pages of a buffer it
 * goes on using (xz's match finder, filling its tables) made such faults
 * in a sweep until it was demoted, and then ran its accesses through
 * the softmmu TLB for good.  One that does little else (a loop touching
 * each page of a new mapping once) still faults often enough to be.
 */
static void espt_guest_fault(void)
{
    TranslationBlock *tb = espt_fault_tb;

    ESPT_COUNT(faults_guest);
    if (tb && qatomic_read(&tb_ctx.tb_flush_count) == espt_fault_flushes) {
        uint32_t f = tb->espt_faults;
        unsigned refund = MAX(espt_fault_weight_last, 1) - 1;

        tb->espt_faults = f - MIN(f & 0xffff, refund);
        if (espt_demote_tb == tb &&
            (tb->espt_faults & 0xffff) < ESPT_DEMOTE_AT) {
            espt_demote_tb = NULL;
        }
    }
    if (espt_can_refresh || espt_tracking) {
        espt_prefill_win = espt_fault_win;
        espt_prefill_addr = espt_fault_addr;
    }
}

static void espt_tables_store(ram_addr_t ram, size_t len, bool changed);

/*
 * Apply this thread's store that has landed since espt_tables_writing,
 * unless it left the table as it was: Linux writes the same entries
 * again into a recycled table (a new process's copy of the kernel's
 * page directory in the page of the last one's).
 */
static inline void espt_tables_sync(void)
{
    if (unlikely(espt_pending_len)) {
        size_t len = espt_pending_len;

        espt_pending_len = 0;
        espt_tables_store(espt_pending_ram, len,
                          !espt_pending_host ||
                          memcmp(espt_pending_host, espt_pending_old,
                                 len) != 0);
    }
}

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

/* Is @ec's current regime young (see espt_youth_switch)? */
static bool espt_young(EsptCPU *ec)
{
    return ec->young_in && ec->young_in->run >= 0;
}

bool espt_window_active(CPUState *cpu, int mmu_idx)
{
    EsptCPU *ec = espt_cpu(cpu);

    return ec && ec->cur[mmu_idx] && !ec->pace.off_left && !espt_young(ec);
}

/*
 * Point @cpu's generated code at window @w: blocks load its base into a
 * register when they start and after every call.
 */
static void espt_set_base(CPUState *cpu, EsptWindow *w)
{
    cpu->neg.espt_base = (uintptr_t)w->base;
    espt_base = (uintptr_t)w->base;
    espt_base_win = w;
    ESPT_COUNT(switches);
}

/* Send @ec's vCPU through espt_switch at its next block; any thread. */
static void espt_quick_clear(EsptCPU *ec)
{
    smp_wmb(); /* what changed, before the flag that sends it to look */
    qatomic_set(&ec->quick, false);
    smp_mb(); /* pairs with espt_switch: clear the flag, then the copy */
    qatomic_set(&ec->cpu->neg.espt_quick, ESPT_QUICK_NONE);
}

/* This thread's next block goes through espt_switch; on a vCPU thread. */
static void espt_quick_off(void)
{
    espt_quick.mmu_idx = -1;
    if (espt_quick.cpu) {
        qatomic_set(&espt_quick.cpu->neg.espt_quick, ESPT_QUICK_NONE);
    }
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
    p = mmap(NULL, (ESPT_NB_WINDOWS + 1) * ESPT_STRIDE, PROT_NONE,
             MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) {
        error_report("espt: cannot reserve the windows of vCPU %d: %s",
                     cpu->cpu_index, strerror(errno));
        abort();
    }
    ec = g_new0(EsptCPU, 1);
    ec->cpu = cpu;
    qemu_spin_init(&ec->lock);
    ec->region = p;
    for (i = 0; i < ESPT_NB_WINDOWS; i++) {
        ec->win[i].base = ec->region + i * ESPT_STRIDE;
    }
    ec->void_win.base = ec->region + ESPT_NB_WINDOWS * ESPT_STRIDE;
    ec->void_win.mmu_idx = -1;
    ec->void_win.mapped = bitmap_new(ESPT_WINDOW_PAGES);
    qatomic_store_release(&espt_cpus[cpu->cpu_index], ec);
    return ec;
}

static void espt_drop_window(EsptCPU *ec, EsptWindow *w);

/* One uint32_t per guest page, zero, paid for as it is touched. */
static uint32_t *espt_alloc_array(void)
{
    void *p = mmap(NULL, ESPT_WINDOW_PAGES * sizeof(uint32_t),
                   PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

    if (p == MAP_FAILED) {
        error_report("espt: out of memory for the window tables");
        abort();
    }
    return p;
}
static void espt_unmap_pages(EsptCPU *ec, EsptWindow *w, unsigned long *which,
                             uint32_t first, uint32_t last);

/*
 * The window of the current regime at @mmu_idx: found, or else a window
 * never used, or else the least recently used of those whose regime
 * differs only in the ASID, keeping its global pages (which hold in
 * every address space, as a TLB may keep them), if at least half the
 * windows have been used since, or else the least recently used of
 * all.  Where ESPT tracks the guest's tables, any window of @mmu_idx is
 * such a twin, and it keeps every page that a walk of the new regime's
 * tables finds unchanged (espt_refresh): the kernel's half of the
 * address space, and what a fork shares.
 */
static EsptWindow *espt_window_get(EsptCPU *ec, int mmu_idx)
{
    EsptWindow *w, *lru = NULL, *twin = NULL, *fresh = NULL;
    int i;

    qemu_spin_lock(&ec->lock);
    for (i = 0; i < ESPT_NB_WINDOWS; i++) {
        w = &ec->win[i];
        if (!w->in_use) {
            fresh = fresh ? fresh : w;
            continue;
        }
        if (w->mmu_idx == mmu_idx) {
            if (w->regime == ec->regime) {
                goto found;
            }
            if ((espt_tracking ||
                 !((w->regime ^ ec->regime) & ~ec->asid_mask)) &&
                (!twin || w->last_use < twin->last_use)) {
                twin = w;
            }
        }
        if (!lru || w->last_use < lru->last_use) {
            lru = w;
        }
    }
    if (twin && !fresh) {
        int newer = 0;

        /*
         * Take a twin only if it has gone cold: one of the windows the
         * guest keeps switching between (two processes in a pipe) would
         * otherwise take over the other's at every switch.
         */
        for (i = 0; i < ESPT_NB_WINDOWS; i++) {
            newer += ec->win[i].last_use > twin->last_use;
        }
        if (newer < ESPT_NB_WINDOWS / 2) {
            twin = NULL;
        }
    }
    w = fresh ? fresh : twin ? twin : lru;
    if (w->in_use) {
        if (w == twin && espt_tracking) {
            /* Its tables are another regime's: check every page. */
            qatomic_inc(&w->gen);
            w->stale = w->stale_all = w->nb_mapped != 0;
        } else if (w == twin) {
            espt_unmap_pages(ec, w, w->local, 0, ESPT_WINDOW_PAGES - 1);
        } else {
            espt_drop_window(ec, w);
        }
        ESPT_COUNT(evictions);
        for (i = 0; i < NB_MMU_MODES; i++) {
            if (ec->cur[i] == w) {
                ec->cur[i] = NULL;
            }
        }
        espt_quick_clear(ec);
    } else if (!w->mapped) {
        w->mapped = bitmap_new(ESPT_WINDOW_PAGES);
        w->writable = bitmap_new(ESPT_WINDOW_PAGES);
        w->in_large = bitmap_new(ESPT_WINDOW_PAGES);
        w->large_mb = bitmap_new(ESPT_WINDOW_PAGES >> ESPT_MB_SHIFT);
        w->local = bitmap_new(ESPT_WINDOW_PAGES);
        w->suspect = bitmap_new(ESPT_WINDOW_PAGES);
        w->sus_lo = ESPT_WINDOW_PAGES;
        w->ram = espt_alloc_array();
        w->next = espt_alloc_array();
        w->prev = espt_alloc_array();
        w->lo = ESPT_WINDOW_PAGES;
        w->hi = 0;
    }
    if (w->in_use) {
        ec->idx_wins[w->mmu_idx] &= ~(1ull << (w - ec->win));
    }
    ec->idx_wins[mmu_idx] |= 1ull << (w - ec->win);
    w->in_use = true;
    w->mmu_idx = mmu_idx;
    w->regime = ec->regime;
found:
    w->last_use = ++ec->clock;
    ec->cur[mmu_idx] = w;
    qemu_spin_unlock(&ec->lock);
    return w;
}

/*
 * Whether mapped guest page @n of @w starts a host VMA: the kernel merges
 * an mmap of the RAM file with its neighbours where the file offsets
 * follow on and the protections agree, and mprotect splits and merges
 * the same way.  w->nb_runs counts these starts, so that it falls as
 * pages go (each run between two others also takes one VMA of the
 * reservation, which the budget allows for).
 */
static bool espt_run_starts(EsptWindow *w, uint64_t n)
{
    if (n >= ESPT_WINDOW_PAGES || !test_bit(n, w->mapped)) {
        return false;
    }
    return n == 0 || !test_bit(n - 1, w->mapped) ||
           w->ram[n - 1] + 1 != w->ram[n] ||
           test_bit(n - 1, w->writable) != test_bit(n, w->writable);
}

/* The runs that page @n and its successor start, before and after a change. */
static int espt_runs_at(EsptWindow *w, uint32_t n)
{
    return espt_run_starts(w, n) + espt_run_starts(w, (uint64_t)n + 1);
}

static void espt_runs_add(EsptWindow *w, int delta)
{
    if (delta) {
        uint64_t runs = qatomic_add_fetch(&espt_nb_runs, delta);

        w->nb_runs += delta;
        if (runs > qatomic_read(&espt_runs_peak)) {
            qatomic_set(&espt_runs_peak, runs);
        }
    }
}

/* Make mapped page @n of @w read-only; under ec->lock. */
static void espt_protect_page(EsptWindow *w, uint32_t n)
{
    int runs = -espt_runs_at(w, n);

    clear_bit(n, w->writable);
    espt_runs_add(w, runs + espt_runs_at(w, n));
    espt_calls_now++;
    if (mprotect(w->base + ((uint64_t)n << ESPT_PAGE_BITS), ESPT_PAGE_SIZE,
                 PROT_READ) != 0) {
        error_report("espt: cannot write-protect a window page: %s",
                     strerror(errno));
        abort();
    }
    ESPT_COUNT(write_protects);
}

/*
 * For espt_refresh: is every page in [@first, @end) to check, and kept as
 * it is mapped, the walk having found the large page at @ram with
 * @flags?  Words at a time, for the common case of a chunk of a large
 * page mapped whole (the kernel's linear map): checking it page by page
 * took milliseconds for each window a new process reused.
 */
static bool espt_refresh_chunk(EsptWindow *w, unsigned long *which,
                               unsigned long first, unsigned long end,
                               ram_addr_t ram, unsigned flags)
{
    unsigned long local = flags & ESPT_MAP_GLOBAL ? 0 : ~0ul;
    uint32_t want = (ram >> ESPT_PAGE_BITS) + 1;
    unsigned long i;
    bool same = true;

    if ((first | end) % BITS_PER_LONG) {
        return false;
    }
    for (i = first / BITS_PER_LONG; i < end / BITS_PER_LONG; i++) {
        if (which[i] != ~0ul || w->local[i] != local ||
            (!(flags & ESPT_MAP_WRITABLE) && w->writable[i])) {
            return false;
        }
    }
    for (i = first; i < end; i++) {
        same &= w->ram[i] == want + (uint32_t)(i - first);
    }
    return same;
}

/*
 * Check a stale window before it is used: all its pages, if the guest
 * flushed it whole, or else those that writes to the guest's tables
 * made suspect while the window was not in use (see espt_track).  Keep
 * each page that a walk of the guest's tables now translates as it is
 * mapped (the same RAM page, global or not as before), read-only if the
 * walk no longer allows writes, and drop the others.  A TLB may walk
 * any translation of the current regime at any time, so what is kept
 * is what a TLB refilled after the flush could hold; only for walks
 * that change nothing.  One walk vouches for a whole chunk of a large
 * page.
 * On the vCPU's thread, @w being the window of the current regime; the
 * walks run without ec->lock, which they may need.
 */
static void espt_refresh(CPUState *cpu, EsptCPU *ec, EsptWindow *w)
{
    unsigned long *which = w->stale_all ? w->mapped : w->suspect;
    unsigned long lo = w->stale_all ? w->lo : MAX(w->lo, w->sus_lo);
    unsigned long hi = w->stale_all ? w->hi : MIN(w->hi, w->sus_hi);
    unsigned long n, end, first;
    long bad = -1;              /* first page of a run to drop, if any */
    uint64_t kept = 0;

    w->stale = false;
    ESPT_COUNT(refreshes);
    for (n = find_next_bit(which, hi, lo); n < hi;
         n = find_next_bit(which, hi, end)) {
        unsigned flags = 0, lg_bits = 0;
        ram_addr_t ram = 0;
        bool ok;

        ok = tlb_espt_probe(cpu, w->mmu_idx, (vaddr)n << ESPT_PAGE_BITS,
                            &ram, &flags, &lg_bits);
        first = n;
        end = n + 1;
        if (ok && lg_bits > ESPT_PAGE_BITS) {
            unsigned long pages = 1ul << (MIN(lg_bits, ESPT_FILL_BITS) -
                                          ESPT_PAGE_BITS);

            end = MIN((n | (pages - 1)) + 1, hi);
            if (espt_refresh_chunk(w, which, first, end, ram, flags)) {
                if (bad >= 0) {
                    qemu_spin_lock(&ec->lock);
                    espt_unmap_pages(ec, w, which, bad, first - 1);
                    qemu_spin_unlock(&ec->lock);
                    bad = -1;
                }
                kept += end - first;
                continue;
            }
        }
        for (; n < end; n = find_next_bit(which, end, n + 1)) {
            bool same = ok &&
                w->ram[n] == (ram >> ESPT_PAGE_BITS) + (n - first) + 1 &&
                test_bit(n, w->local) == !(flags & ESPT_MAP_GLOBAL);

            if (!same) {
                bad = bad < 0 ? n : bad;
                continue;
            }
            if (test_bit(n, w->writable) && !(flags & ESPT_MAP_WRITABLE)) {
                /*
                 * Write-protected since, as fork does to both processes'
                 * pages for copy-on-write: keep the page for reads.
                 */
                qemu_spin_lock(&ec->lock);
                espt_protect_page(w, n);
                qemu_spin_unlock(&ec->lock);
            }
            kept++;
            if (bad >= 0) {
                qemu_spin_lock(&ec->lock);
                espt_unmap_pages(ec, w, which, bad, n - 1);
                qemu_spin_unlock(&ec->lock);
                bad = -1;
            }
        }
    }
    qemu_spin_lock(&ec->lock);
    if (bad >= 0) {
        espt_unmap_pages(ec, w, which, bad, hi - 1);
    }
    if (w->sus_hi > w->sus_lo) {
        bitmap_clear(w->suspect, w->sus_lo, w->sus_hi - w->sus_lo);
    }
    w->sus_lo = ESPT_WINDOW_PAGES;
    w->sus_hi = 0;
    w->stale_all = false;
    qemu_spin_unlock(&ec->lock);
    qatomic_add(&espt_stats.kept, kept);
}

/*
 * Take the block that espt_sigsegv found faulting too often off ESPT,
 * unless the code buffer has been flushed since (and the block freed).
 * A block whose accesses keep faulting (a loop touching each page of a
 * new mapping once, the loader relocating each new process, the kernel
 * copying to a new process's pages) pays a host fault and an mmap per
 * page where the softmmu pays a TLB refill, and its pages seldom live
 * long enough to repay that.  Its code is translated without ESPT from
 * then on, as code that keeps storing to code pages is.
 */
static void espt_demote_faulting(void)
{
    TranslationBlock *tb = espt_demote_tb;

    espt_demote_tb = NULL;
    if (qatomic_read(&tb_ctx.tb_flush_count) == espt_demote_flushes) {
        tlb_espt_demote(tb);
    }
}

static void espt_pace(CPUState *cpu, EsptCPU *ec);

void espt_switch(CPUState *cpu, int mmu_idx)
{
    EsptCPU *ec = espt_cpu(cpu);
    EsptWindow *w;

    espt_tables_sync();
    /*
     * The slow path of the last host fault left before it found the page:
     * the walk or the alignment check raised a guest fault.
     */
    if (unlikely(espt_fault_tb)) {
        espt_guest_fault();
        espt_fault_tb = NULL;
    }
    if (unlikely(espt_demote_tb)) {
        espt_demote_faulting();
    }
    if (unlikely(!ec)) {
        ec = espt_cpu_create(cpu);
    }
    /*
     * Before the tests: whatever needs a look at the windows from now on
     * clears it again, and the vCPU's next block comes back here.
     */
    qatomic_set(&ec->quick, true);
    smp_mb(); /* pairs with espt_quick_clear: set, then test */
    espt_quick_off();
    qatomic_set(&cpu->neg.espt_quick, ESPT_QUICK_NONE);
    if (unlikely(!espt_quick.tick)) {
        espt_pace(cpu, ec);
    }
    w = ec->cur[mmu_idx];
    if (unlikely(!w)) {
        w = espt_window_get(ec, mmu_idx);
    }
    if (unlikely(w->stale)) {
        espt_refresh(cpu, ec, w);
    }
    if ((uintptr_t)w->base != espt_base) {
        espt_set_base(cpu, w);
        /*
         * Back in the window of the last host fault whose access raised
         * a guest fault, which the guest has handled since (a page of a
         * process's first touch, say): walk and mirror the page now
         * rather than fault on it again.  Only by a walk that changes
         * nothing, as a TLB may walk at any time: on x86, where walks
         * set accessed flags, tlb_espt_prefill checks first.
         */
        if (espt_prefill_win == w) {
            espt_prefill_win = NULL;
            if (!test_bit(espt_prefill_addr >> ESPT_PAGE_BITS, w->mapped)) {
                tlb_espt_prefill(cpu, mmu_idx, espt_prefill_addr);
                ESPT_COUNT(prefills);
            }
        }
    }
    if (w == ec->cur[mmu_idx] && (uintptr_t)w->base == espt_base &&
        !espt_pending_len && !espt_demote_tb) {
        espt_quick.cpu = cpu;
        espt_quick.ok = &ec->quick;
        espt_quick.mmu_idx = mmu_idx;
        /*
         * The copy that inline lookups read (see CPUNegativeOffsetState),
         * then the flag again: a clear since the test above either sees
         * the copy set, or is seen here.
         */
        qatomic_set(&cpu->neg.espt_quick, mmu_idx);
        smp_mb(); /* pairs with espt_quick_clear: set the copy, then test */
        if (!qatomic_read(&ec->quick)) {
            qatomic_set(&cpu->neg.espt_quick, ESPT_QUICK_NONE);
        }
    }
}

/* Point cpu->tb_jmp_cache at the jump cache of the current regime. */
static void espt_jmp_cache_select(CPUState *cpu, EsptCPU *ec)
{
    EsptJumpCache *j, *pick = NULL;
    int i;

    for (i = 0; i < ESPT_NB_JC; i++) {
        j = &ec->jc[i];
        if (j->last_use && j->regime == ec->regime) {
            pick = j;
            ESPT_COUNT(jc_kept);
            break;
        }
        if (!pick || j->last_use < pick->last_use) {
            pick = j;
        }
    }
    if (!pick->last_use || pick->regime != ec->regime) {
        if (!pick->cache) {
            qatomic_set(&pick->cache, g_new0(CPUJumpCache, 1));
        }
        pick->regime = ec->regime;
        pick->gen = UINT64_MAX;     /* another regime's: empty it */
    }
    pick->last_use = ++ec->jc_clock;
    qatomic_set(&cpu->tb_jmp_cache, pick->cache);
    /*
     * Against espt_jmp_cache_flush on another thread, which counts the
     * flush, then empties the cache it finds current: either it finds
     * this one, or this sees its count.
     */
    smp_mb();
    if (pick->gen != qatomic_read(&ec->jc_gen)) {
        pick->gen = qatomic_read(&ec->jc_gen);
        tb_jmp_cache_clear_filled(pick->cache, false);
    }
}

void espt_jmp_cache_flush(CPUState *cpu)
{
    EsptCPU *ec = espt_cpu(cpu);

    if (ec) {
        qatomic_inc(&ec->jc_gen);
    }
}

/*
 * Clear the entries of page @page, among [i0, i0 + n), in every jump
 * cache of the vCPU that may hold some: a guest that flushes a page at
 * each kmap (Linux with highmem) would otherwise pay a sweep of all of
 * them.  The bucket stays marked while it holds other pages' entries.
 */
void espt_jmp_cache_clear_page(CPUState *cpu, unsigned i0, unsigned n,
                               vaddr page)
{
    EsptCPU *ec = espt_cpu(cpu);
    unsigned i;

    assert(n == 1u << TB_JMP_GROUP_BITS && !(i0 & (n - 1)));
    for (i = 0; ec && i < ESPT_NB_JC; i++) {
        if (ec->jc[i].cache) {
            tb_jmp_cache_clear_page_filled(ec->jc[i].cache, i0, page,
                                           ~(ESPT_PAGE_SIZE - 1));
        }
    }
}

void espt_jmp_cache_inval(CPUState *cpu, unsigned h, const void *tb)
{
    EsptCPU *ec = espt_cpu(cpu);
    unsigned i;

    for (i = 0; ec && i < ESPT_NB_JC; i++) {
        CPUJumpCache *jc = qatomic_read(&ec->jc[i].cache);

        if (jc && qatomic_read(&jc->array[h].tb) == tb) {
            qatomic_set(&jc->array[h].tb, NULL);
        }
    }
}

/*
 * Run the vCPU's code translated without ESPT while it is paced off or
 * its regime is young, and with ESPT otherwise.
 */
static void espt_set_off(CPUState *cpu, EsptCPU *ec)
{
    bool off = ec->pace.off_left || espt_young(ec);

    if (off == !!(cpu->tcg_cflags & CF_ESPT_OFF)) {
        return;
    }
    if (off) {
        cpu->tcg_cflags |= CF_ESPT_OFF;
        qatomic_inc(&espt_vcpus_off);
    } else {
        cpu->tcg_cflags &= ~CF_ESPT_OFF;
        qatomic_dec(&espt_vcpus_off);
    }
    /* Leave the chain of blocks of the other kind at the next block. */
    qatomic_set(&cpu->neg.icount_decr.u16.high, -1);
}

/*
 * Pacing.  The fast path saves a TLB compare per access, but each page a
 * window maps costs a host fault and an mmap, and each page it drops an
 * munmap: tens of microseconds on some hosts, where a softmmu TLB refill
 * costs well under one.  Short-lived processes (fork and exec, boot)
 * touch many pages a few times each and pay more than they save.  So
 * each vCPU adds up its upkeep, at the costs espt_calibrate measured, in
 * periods of ESPT_PERIOD_NS, checked at regime switches and at every
 * 256th block the vCPU enters through a lookup rather than a direct
 * jump (espt_switch; espt_tick while it runs paced off, when its blocks
 * make no ESPT access).  After a period whose upkeep was more than
 * ESPT_PACE_PERCENT of it, the vCPU runs code
 * translated without ESPT (CF_ESPT_OFF in its cflags: TB lookups find
 * that translation) for 1, 2, 4 ... ESPT_PACE_MAX_OFF periods, then
 * tries ESPT again; a good period resets the backoff.  The windows stay
 * coherent meanwhile (flushes still reach them) but are not filled, so
 * the pages mapped before are there when the vCPU comes back.  Under
 * icount the vCPU stays on ESPT, so that nothing depends on the host's
 * clock.
 */
static void espt_pace(CPUState *cpu, EsptCPU *ec)
{
    EsptPace *p = &ec->pace;
    int64_t now = get_clock();
    int64_t len = now - p->start;
    int64_t cost;

    if (len < ESPT_PERIOD_NS) {
        return;
    }
    /*
     * Not charged: espt_entry_ns, what each of these kernel entries costs
     * the code after it.  Charging it took ESPT away from jobs it speeds
     * up (docs/espt.md, "Kernel entries empty the TLB").
     */
    cost = espt_faults_now * espt_fault_ns + espt_calls_now * espt_call_ns;
    espt_faults_now = 0;
    espt_calls_now = 0;
    p->start = now;
    if (p->off_left) {
        ESPT_COUNT(periods_off);
        if (--p->off_left) {
            return;
        }
        p->back = true;
    } else {
        bool back = p->back;

        ESPT_COUNT(periods_on);
        p->back = false;
        if ((cpu->tcg_cflags & CF_USE_ICOUNT) ||
            cost * 100 <= len * (back ? ESPT_PACE_BACK_PERCENT
                                      : ESPT_PACE_PERCENT)) {
            /* The first period back maps what was touched meanwhile. */
            if (!back) {
                p->off_next = 1;
            }
            return;
        }
        p->off_left = p->off_next;
        p->off_next = MIN(p->off_next * 2, ESPT_PACE_MAX_OFF);
    }
    espt_set_off(cpu, ec);
}

/*
 * Young regimes.  Most address spaces a guest makes live for a few
 * milliseconds (a fork about to exec, a shell command, most of what boot
 * starts), and every page one touches through a window costs a host
 * fault and an mmap, and its drop an munmap, where the softmmu pays a
 * TLB refill; pacing sees that upkeep only once a period has paid it.
 * So a regime the vCPU enters runs code translated without ESPT, and
 * makes no window, until it has run espt_youth_ns in all; then it grows
 * up and gets windows like any other.  How long it has run is kept per
 * regime, in a small table by hash: a regime pushed out of it by another
 * is young again when it comes back (its windows, if any, stay).  Where
 * a regime names its top-level table by address (x86's CR3), which the
 * guest gives to its next address space as soon as it frees it, the
 * target's espt_space hook says when the tables behind it changed, and
 * the regime starts over then: asked at each entry while the regime is
 * young, and once it has grown up, after ESPT_YOUTH_AWAY_NS away (not
 * between two processes trading a pipe's bytes).  Not under icount, where
 * nothing may depend on the host's clock.
 */
#define ESPT_YOUTH_AWAY_NS  (1000 * 1000)

static void espt_youth_grow(CPUState *cpu, EsptCPU *ec)
{
    ec->young_in->run = -1;
    ESPT_COUNT(grown);
    espt_set_off(cpu, ec);
}

static void espt_youth_switch(CPUState *cpu, EsptCPU *ec, uint64_t regime)
{
    uint64_t (*space)(CPUState *cpu, uint64_t regime) =
        cpu->cc->tcg_ops->espt_space;
    EsptYoung *y;
    int64_t now;

    if (!espt_youth_ns || (cpu->tcg_cflags & CF_USE_ICOUNT)) {
        return;
    }
    now = get_clock();
    if (ec->young_in) {
        EsptYoung *o = ec->young_in;

        if (o->run >= 0) {
            o->run += now - ec->young_since;
        } else if (space && now - ec->young_since >= ESPT_YOUTH_AWAY_NS) {
            /* A grown-up regime's tables as it leaves them, after a while. */
            o->space = space(cpu, o->regime);
        }
        o->left = now;
        ec->young_in = NULL;
    }
    y = &ec->young[(regime ^ regime >> 12 ^ regime >> 32) % ESPT_NB_YOUNG];
    if (!y->valid || y->regime != regime) {
        *y = (EsptYoung) { .regime = regime, .valid = true };
        ESPT_COUNT(young);
        if (space) {
            y->space = space(cpu, regime);
        }
    } else if (space &&
               (y->run >= 0 || now - y->left >= ESPT_YOUTH_AWAY_NS)) {
        uint64_t now_space = space(cpu, regime);

        if (now_space != y->space) {
            y->space = now_space;
            y->run = 0;
            ESPT_COUNT(young);
        }
    }
    ec->young_in = y;
    ec->young_since = now;
    if (y->run >= espt_youth_ns) {
        espt_youth_grow(cpu, ec);
        return;
    }
    espt_set_off(cpu, ec);
}

/* Has the current regime run long enough to grow up? */
static void espt_youth_check(CPUState *cpu, EsptCPU *ec)
{
    if (espt_young(ec) &&
        ec->young_in->run + get_clock() - ec->young_since >= espt_youth_ns) {
        espt_youth_grow(cpu, ec);
    }
}

void espt_set_youth(uint32_t ms)
{
    espt_youth_ns = (int64_t)ms * 1000 * 1000;
}

/*
 * Every 256th block a paced-off vCPU enters through a lookup: a guest
 * that never switches regime (an i386 process computing, whose kernel
 * entries keep CR3) must come back to ESPT on time.
 */
void espt_tick(CPUState *cpu)
{
    EsptCPU *ec = espt_cpu(cpu);

    if (ec) {
        espt_youth_check(cpu, ec);
        espt_pace(cpu, ec);
    }
}

bool espt_regime_switch(CPUState *cpu, uint64_t regime, uint64_t asid_mask)
{
    EsptCPU *ec = espt_cpu(cpu);
    EsptWindow *w;

    if (!espt_on) {
        return false;
    }
    if (!ec) {
        ec = espt_cpu_create(cpu);
    }
    espt_pace(cpu, ec);
    /* A write to a table of the regime to run must have dropped. */
    espt_tables_sync();
    if (ec->regime == regime) {
        return !espt_tracking;
    }
    ec->regime = regime;
    ec->asid_mask = asid_mask;
    memset(ec->cur, 0, sizeof(ec->cur));
    espt_quick_clear(ec);
    espt_youth_switch(cpu, ec, regime);
    /*
     * A regime's jump cache stays valid only while the guest must flush
     * after changing its tables, which x86 need not do before a CR3
     * write: there the caller flushes the jump cache as usual.
     */
    if (!espt_tracking) {
        espt_jmp_cache_select(cpu, ec);
    }

    /*
     * The rest of the running block may access memory: it must see the
     * new regime's window at once.
     */
    if (espt_base - (uintptr_t)ec->region < ESPT_NB_WINDOWS * ESPT_STRIDE) {
        if (espt_young(ec)) {
            /* Its accesses take the slow path, which maps nothing. */
            espt_set_base(cpu, &ec->void_win);
            return !espt_tracking;
        }
        w = &ec->win[(espt_base - (uintptr_t)ec->region) / ESPT_STRIDE];
        w = espt_window_get(ec, w->mmu_idx);
        if (w->stale) {
            espt_refresh(cpu, ec, w);
        }
        espt_set_base(cpu, w);
    }
    return !espt_tracking;
}

/* Make [p, p + len) inaccessible again. */
static void espt_reserve(uint8_t *p, size_t len)
{
    espt_calls_now++;
    if (mmap(p, len, PROT_NONE,
             MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED,
             -1, 0) == MAP_FAILED) {
        error_report("espt: cannot unmap window pages: %s", strerror(errno));
        abort();
    }
}

static uint32_t espt_node(EsptCPU *ec, EsptWindow *w, uint32_t n)
{
    return ((uint32_t)(w - ec->win) << (ESPT_WINDOW_BITS - ESPT_PAGE_BITS) |
            n) + 1;
}

static EsptWindow *espt_node_window(EsptCPU *ec, uint32_t node)
{
    return &ec->win[(node - 1) >> (ESPT_WINDOW_BITS - ESPT_PAGE_BITS)];
}

static uint32_t espt_node_page(uint32_t node)
{
    return (node - 1) & (ESPT_WINDOW_PAGES - 1);
}

/* Link guest page @n of @w, which maps RAM page @ram, into the rmap. */
static void espt_rmap_add(EsptCPU *ec, uint32_t ram, EsptWindow *w,
                          uint32_t n)
{
    uint32_t node = espt_node(ec, w, n);
    uint32_t head;

    if (ram >= ec->rmap_size) {
        size_t size = MAX(ec->rmap_size * 2, (size_t)ram + 1);

        ec->rmap = g_renew(uint32_t, ec->rmap, size);
        memset(ec->rmap + ec->rmap_size, 0,
               (size - ec->rmap_size) * sizeof(uint32_t));
        ec->rmap_size = size;
    }
    head = ec->rmap[ram];
    w->ram[n] = ram + 1;
    w->next[n] = head;
    w->prev[n] = 0;
    if (head) {
        espt_node_window(ec, head)->prev[espt_node_page(head)] = node;
    }
    ec->rmap[ram] = node;
}

static void espt_rmap_del(EsptCPU *ec, EsptWindow *w, uint32_t n)
{
    uint32_t next = w->next[n], prev = w->prev[n];

    if (prev) {
        espt_node_window(ec, prev)->next[espt_node_page(prev)] = next;
    } else {
        ec->rmap[w->ram[n] - 1] = next;
    }
    if (next) {
        espt_node_window(ec, next)->prev[espt_node_page(next)] = prev;
    }
    w->ram[n] = 0;
}

/* Forget that guest page @n is mapped; the caller unmaps it. */
static void espt_forget(EsptCPU *ec, EsptWindow *w, uint32_t n)
{
    int runs = -espt_runs_at(w, n);

    espt_rmap_del(ec, w, n);
    clear_bit(n, w->mapped);
    clear_bit(n, w->writable);
    clear_bit(n, w->in_large);
    clear_bit(n, w->local);
    clear_bit(n, w->suspect);
    if (--w->nb_mapped == 0) {
        qatomic_set(&ec->live, ec->live & ~(1ull << (w - ec->win)));
    }
    qatomic_dec(&espt_nb_mapped);
    espt_runs_add(w, runs + espt_runs_at(w, n));
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
        /* The window's tables no longer concern it. */
        qatomic_inc(&w->gen);
        assert(w->nb_runs == 0);
        w->lo = ESPT_WINDOW_PAGES;
        w->hi = 0;
        w->large = 0;
        bitmap_zero(w->large_mb, ESPT_WINDOW_PAGES >> ESPT_MB_SHIFT);
        w->stale = w->stale_all = false;
    }
}

static void espt_drop_window(EsptCPU *ec, EsptWindow *w)
{
    w->stale = w->stale_all = false;
    qatomic_inc(&w->gen);
    if (w->nb_mapped) {
        espt_unmap_pages(ec, w, w->mapped, 0, ESPT_WINDOW_PAGES - 1);
        ESPT_COUNT(flushes);
    }
}

/*
 * Near the VMA budget: drop this vCPU's least recently used windows that
 * are not current, then, if that is not enough, @w; under ec->lock.  An
 * unmap or a write-protect in the middle of a run splits it, one or two
 * more runs that no map asks room for: the maps leave an eighth of the
 * budget for them.
 */
static bool espt_full(void)
{
    return qatomic_read(&espt_nb_runs) + espt_budget / 8 >= espt_budget;
}

static void espt_make_room(EsptCPU *ec, EsptWindow *w)
{
    while (espt_full()) {
        EsptWindow *lru = NULL;
        int i, j;

        for (i = 0; i < ESPT_NB_WINDOWS; i++) {
            EsptWindow *v = &ec->win[i];

            for (j = 0; j < NB_MMU_MODES && ec->cur[j] != v; j++) {
                /* look for v among the current windows */
            }
            if (v->in_use && v->nb_mapped && j == NB_MMU_MODES &&
                (!lru || v->last_use < lru->last_use)) {
                lru = v;
            }
        }
        espt_drop_window(ec, lru ? lru : w);
        ESPT_COUNT(evictions);
        if (!lru) {
            break;
        }
    }
}

bool espt_is_mapped(CPUState *cpu, int mmu_idx, vaddr page)
{
    EsptCPU *ec = espt_cpu(cpu);
    EsptWindow *w = ec ? ec->cur[mmu_idx] : NULL;

    return w && page < ESPT_WINDOW_SIZE &&
           test_bit(page >> ESPT_PAGE_BITS, w->mapped);
}

int espt_mapped_rights(CPUState *cpu, int mmu_idx, vaddr page)
{
    EsptCPU *ec = espt_cpu(cpu);
    EsptWindow *w = ec ? ec->cur[mmu_idx] : NULL;
    uint32_t n = page >> ESPT_PAGE_BITS;

    if (!w || page >= ESPT_WINDOW_SIZE || !test_bit(n, w->mapped)) {
        return 0;
    }
    return test_bit(n, w->writable) ? PAGE_READ | PAGE_WRITE : PAGE_READ;
}

static void espt_fault_counted(TranslationBlock *tb, unsigned weight);

/*
 * An access whose fault finds MMIO faults each time it runs (an interrupt
 * controller's acknowledge and end-of-interrupt, once per interrupt), and
 * a block that reaches MMIO once a millisecond or so never gathered
 * enough faults of late to be demoted: about 1,400 host faults a second
 * in an armmp guest (GICv2's CPU interface is MMIO).  So such a fault
 * counts as a fault of a sweep, which demotes a block doing it about 64
 * times within a few ESPT_FAULT_EPOCH_NS.
 */
bool espt_fault_take(vaddr addr, bool mmio)
{
    TranslationBlock *tb = espt_fault_tb;

    if (!espt_fault_win || espt_fault_win != espt_base_win ||
        ((espt_fault_addr ^ addr) & ~(ESPT_PAGE_SIZE - 1))) {
        return false;
    }
    espt_fault_win = NULL;
    espt_fault_tb = NULL;
    if (mmio) {
        ESPT_COUNT(faults_mmio);
        if (tb && qatomic_read(&tb_ctx.tb_flush_count) == espt_fault_flushes) {
            espt_fault_counted(tb, ESPT_FAULT_SWEEP);
        }
    }
    return true;
}

/*
 * Guest RAM under ESPT is shared memory, which this host backs with
 * 4 KiB pages where espt=off's anonymous RAM takes transparent huge
 * pages: every first touch of a page was a host page fault, 320,000 of
 * them in an i386 boot (the kernel and initrd loaded, then every page
 * the guest clears) against 15,000 under espt=off.  So the first time
 * a 2 MiB chunk of RAM is touched through the softmmu TLB, a window or
 * a DMA write, enter the whole chunk in one call, as a huge page would
 * be.  Chunks are those of the RAM address space; only RAM in host
 * memory (a memfd, tmpfs) is entered.
 */
#define ESPT_CHUNK_BITS 21
#define ESPT_CHUNK_SIZE (1ull << ESPT_CHUNK_BITS)
#define ESPT_NB_CHUNKS  (1ull << (40 - ESPT_CHUNK_BITS))   /* 1 TiB */
static unsigned long *espt_chunks;      /* entered already */
static bool espt_collapse_works = true;

#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE 25                /* Linux's value, since 6.1 */
#endif

/*
 * Back the chunk [@lo, @hi) of @rb, aligned and whole, with one huge
 * page.  Shared memory takes huge pages on a fault only where the host
 * allows it (`shmem_enabled`, "never" by default), but MADV_COLLAPSE
 * (Linux 6.1) builds one regardless of that setting, from the pages the
 * range holds.  It needs at least one, so enter the first page, which
 * leaves its contents as they are, then collapse.  Afterwards QEMU's
 * own mapping reaches the chunk through one host page table entry, and
 * so does a window that maps it whole at an aligned address.
 */
static bool espt_populate_huge(RAMBlock *rb, ram_addr_t lo, ram_addr_t hi)
{
    if (!qatomic_read(&espt_collapse_works) || hi - lo != ESPT_CHUNK_SIZE ||
        ((lo | rb->fd_offset) & (ESPT_CHUNK_SIZE - 1)) ||
        ((uintptr_t)rb->host & (ESPT_CHUNK_SIZE - 1))) {
        return false;
    }
    if (qemu_madvise(rb->host + lo, ESPT_PAGE_SIZE,
                     QEMU_MADV_POPULATE_WRITE) != 0) {
        return false;
    }
    if (madvise(rb->host + lo, ESPT_CHUNK_SIZE, MADV_COLLAPSE) == 0) {
        return true;
    }
    /* Not on this host, or not for this memory: stop asking. */
    if (errno == EINVAL || errno == EPERM) {
        qatomic_set(&espt_collapse_works, false);
    }
    return false;
}

/* Has chunk @i of guest RAM been entered already? */
static bool espt_chunk_entered(uint64_t i)
{
    return qatomic_read(&espt_chunks[BIT_WORD(i)]) & BIT_MASK(i);
}

void espt_populate(RAMBlock *rb, ram_addr_t offset, ram_addr_t len)
{
    ram_addr_t ram, end;
    uint64_t first;

    if (!espt_chunks || len == 0) {
        return;
    }
    /* Most calls: a page of a chunk entered long ago, at each TLB fill. */
    ram = rb->offset + offset;
    first = ram >> ESPT_CHUNK_BITS;
    if (first == (ram + len - 1) >> ESPT_CHUNK_BITS &&
        first < ESPT_NB_CHUNKS && espt_chunk_entered(first)) {
        return;
    }
    if (rb->fd < 0 || !qemu_ram_is_shared(rb)) {
        return;
    }
    end = rb->offset + MIN(offset + len, rb->used_length);
    for (ram = (rb->offset + offset) & ~(ESPT_CHUNK_SIZE - 1); ram < end;
         ram += ESPT_CHUNK_SIZE) {
        uint64_t i = ram >> ESPT_CHUNK_BITS;
        unsigned long bit = BIT_MASK(i);
        struct statfs sf;
        ram_addr_t lo, hi;

        if (i >= ESPT_NB_CHUNKS) {
            return;
        }
        if (espt_chunk_entered(i) ||
            (qatomic_fetch_or(&espt_chunks[BIT_WORD(i)], bit) & bit)) {
            continue;
        }
        /*
         * An incoming postcopy migration fills pages on demand; and a
         * file on disk (a memory backend's mem-path) would have blocks
         * allocated that the guest never wrote: host memory only.
         */
        if (migration_in_incoming_postcopy()) {
            return;
        }
        if (fstatfs(rb->fd, &sf) != 0 || sf.f_type != TMPFS_MAGIC) {
            continue;
        }
        lo = MAX(ram, rb->offset) - rb->offset;
        hi = MIN(ram + ESPT_CHUNK_SIZE, rb->offset + rb->used_length) -
             rb->offset;
        if (espt_populate_huge(rb, lo, hi)) {
            ESPT_COUNT(populated);
            ESPT_COUNT(populated_huge);
        } else if (qemu_madvise(rb->host + lo, hi - lo,
                                QEMU_MADV_POPULATE_WRITE) == 0) {
            ESPT_COUNT(populated);
        }
    }
}

/* Record that guest page @n of @w maps RAM page @ram; under ec->lock. */
static void espt_note_map(EsptCPU *ec, EsptWindow *w, uint32_t n,
                          uint32_t ram, unsigned flags, unsigned lg_bits)
{
    int runs = -espt_runs_at(w, n);

    if (!test_bit(n, w->mapped)) {
        set_bit(n, w->mapped);
        if (w->nb_mapped++ == 0) {
            qatomic_set(&ec->live, ec->live | 1ull << (w - ec->win));
        }
        qatomic_inc(&espt_nb_mapped);
        espt_rmap_add(ec, ram, w, n);
    } else if (w->ram[n] != ram + 1) {
        espt_rmap_del(ec, w, n);
        espt_rmap_add(ec, ram, w, n);
    }
    if (flags & ESPT_MAP_WRITABLE) {
        set_bit(n, w->writable);
    } else {
        clear_bit(n, w->writable);
    }
    if (flags & ESPT_MAP_GLOBAL) {
        clear_bit(n, w->local);
    } else {
        set_bit(n, w->local);
    }
    if (lg_bits > ESPT_PAGE_BITS && lg_bits < 64) {
        w->large |= 1ull << lg_bits;
        set_bit(n, w->in_large);
        set_bit(n >> ESPT_MB_SHIFT, w->large_mb);
    } else {
        clear_bit(n, w->in_large);
    }
    espt_runs_add(w, runs + espt_runs_at(w, n));
}

void espt_map(CPUState *cpu, int mmu_idx, vaddr page, void *host,
              unsigned nb_pages, unsigned flags, unsigned lg_bits)
{
    bool writable = flags & ESPT_MAP_WRITABLE;
    EsptCPU *ec = espt_cpu(cpu);
    EsptWindow *w = ec ? ec->cur[mmu_idx] : NULL;
    uint32_t n = page >> ESPT_PAGE_BITS;
    uint64_t len = (uint64_t)nb_pages << ESPT_PAGE_BITS;
    ram_addr_t offset;
    uint32_t ram;
    RAMBlock *rb;
    unsigned i;

    if (!w || nb_pages == 0 || page + len > ESPT_WINDOW_SIZE) {
        return;
    }
    rb = qemu_ram_block_from_host(host, false, &offset);
    if (!rb || rb->fd < 0 || !qemu_ram_is_shared(rb) ||
        rb->page_size != ESPT_PAGE_SIZE || offset + len > rb->used_length) {
        ESPT_COUNT(no_map);
        return;
    }
    ram = (rb->offset + offset) >> ESPT_PAGE_BITS;
    if (nb_pages == 1 && w->ram[n] == ram + 1 &&
        (!writable || test_bit(n, w->writable)) &&
        test_bit(n, w->local) == !(flags & ESPT_MAP_GLOBAL)) {
        return;     /* as mapped already */
    }

    espt_populate(rb, offset, len);
    qemu_spin_lock(&ec->lock);
    if (espt_full()) {
        espt_make_room(ec, w);
    }
    /*
     * The access that asked for the run retries at once: enter its host
     * page table entries now rather than through more faults.
     */
    espt_calls_now++;
    if (mmap(w->base + page, len,
             writable ? PROT_READ | PROT_WRITE : PROT_READ,
             MAP_SHARED | MAP_FIXED |
             (nb_pages <= ESPT_POPULATE_PAGES ? MAP_POPULATE : 0),
             rb->fd, rb->fd_offset + offset) == MAP_FAILED) {
        /* Leave the pages to the slow path; MAP_FIXED may have unmapped. */
        for (i = 0; i < nb_pages; i++) {
            if (test_bit(n + i, w->mapped)) {
                espt_forget(ec, w, n + i);
            }
        }
        espt_reserve(w->base + page, len);
        qemu_spin_unlock(&ec->lock);
        ESPT_COUNT(map_fail);
        return;
    }
    qatomic_add(&espt_stats.maps, nb_pages);
    if (nb_pages > 1) {
        ESPT_COUNT(fill_runs);
    }
    for (i = 0; i < nb_pages; i++) {
        espt_note_map(ec, w, n + i, ram + i, flags, lg_bits);
    }
    w->lo = MIN(w->lo, n);
    w->hi = MAX(w->hi, n + nb_pages);
    qemu_spin_unlock(&ec->lock);
}

void espt_unmap(CPUState *cpu, int mmu_idx, vaddr addr, vaddr len)
{
    EsptCPU *ec = espt_cpu(cpu);
    uint64_t wins;
    uint32_t n0, n1;
    vaddr last;

    QEMU_BUILD_BUG_ON(ESPT_NB_WINDOWS > 64);
    /*
     * Without the lock: only this vCPU's thread maps pages into its
     * windows, so a window it finds with nothing mapped stays so.
     */
    if (!ec || addr >= ESPT_WINDOW_SIZE ||
        !(ec->idx_wins[mmu_idx] & qatomic_read(&ec->live))) {
        return;
    }
    last = MIN(addr + len - 1, ESPT_WINDOW_SIZE - 1);
    n0 = addr >> ESPT_PAGE_BITS;
    n1 = last >> ESPT_PAGE_BITS;
    qemu_spin_lock(&ec->lock);
    /*
     * In every regime: a flush by address does not name one.  Guests
     * flush single pages by the million (Linux's kmap_local on a highmem
     * ARM kernel, every munmap), mostly pages no window maps: look only
     * at the windows of @mmu_idx, and at their bitmaps only where they
     * map something.
     */
    for (wins = ec->idx_wins[mmu_idx] & ec->live; wins; wins &= wins - 1) {
        EsptWindow *w = &ec->win[ctz64(wins)];
        uint64_t large;

        large = w->large;
        if (large) {
            /* Any large page around, of the largest size the window has? */
            vaddr mask = (1ull << (63 - clz64(large))) - 1;
            uint32_t mb0 = (addr & ~mask) >> ESPT_PAGE_BITS >> ESPT_MB_SHIFT;
            uint32_t mb1 = MIN(last | mask, ESPT_WINDOW_SIZE - 1)
                           >> ESPT_PAGE_BITS >> ESPT_MB_SHIFT;

            while (mb0 <= mb1 && mb1 - mb0 < 8 && !test_bit(mb0, w->large_mb)) {
                mb0++;
            }
            if (mb0 > mb1) {
                large = 0;
            }
        }
        if (!large && (n0 >= w->hi || n1 < w->lo ||
                       (n0 == n1 && !test_bit(n0, w->mapped)))) {
            continue;
        }
        espt_unmap_pages(ec, w, w->mapped, n0, n1);
        /*
         * A flush covers the whole of every large page it touches: drop
         * the pages of large pages around it (an over-approximation when
         * the window holds large pages of several sizes).
         */
        for (; large; large &= large - 1) {
            vaddr mask = (1ull << ctz64(large)) - 1;
            uint32_t first = (addr & ~mask) >> ESPT_PAGE_BITS;
            uint32_t end = MIN(last | mask, ESPT_WINDOW_SIZE - 1)
                           >> ESPT_PAGE_BITS;

            /* Most flushes touch no large page: skip a sweep of in_large. */
            if (find_next_bit(w->large_mb, (end >> ESPT_MB_SHIFT) + 1,
                              first >> ESPT_MB_SHIFT) >
                end >> ESPT_MB_SHIFT) {
                continue;
            }
            espt_unmap_pages(ec, w, w->in_large, first, end);
        }
    }
    qemu_spin_unlock(&ec->lock);
}

void espt_write_protect(CPUState *cpu, uintptr_t host, size_t len)
{
    EsptCPU *ec = espt_cpu(cpu);
    ram_addr_t offset;
    RAMBlock *rb;
    uint64_t ram, end;

    if (!ec || len == 0) {
        return;
    }
    rb = qemu_ram_block_from_host((void *)host, false, &offset);
    if (!rb) {
        return;
    }
    ram = (rb->offset + offset) >> ESPT_PAGE_BITS;
    end = (rb->offset + offset + len - 1) / ESPT_PAGE_SIZE + 1;
    qemu_spin_lock(&ec->lock);
    for (; ram < MIN(end, ec->rmap_size); ram++) {
        uint32_t node;

        for (node = ec->rmap[ram]; node; ) {
            EsptWindow *w = espt_node_window(ec, node);
            uint32_t n = espt_node_page(node);

            if (test_bit(n, w->writable)) {
                espt_protect_page(w, n);
            }
            node = w->next[n];
        }
    }
    qemu_spin_unlock(&ec->lock);
}

/*
 * Drop the windows, or only their pages that are not global, of @mmu_idx
 * (any, if negative) whose regime's low 32 bits, masked with @mask, are
 * @value.
 */
static void espt_drop_windows(CPUState *cpu, int mmu_idx, bool local,
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
            if (!local) {
                espt_drop_window(ec, w);
            } else if (w->nb_mapped) {
                espt_unmap_pages(ec, w, w->local, 0, ESPT_WINDOW_PAGES - 1);
                ESPT_COUNT(flushes);
            }
        }
    }
    qemu_spin_unlock(&ec->lock);
}

void espt_flush(CPUState *cpu, int mmu_idx)
{
    EsptCPU *ec = espt_cpu(cpu);
    int i;

    if (!espt_can_refresh) {
        espt_drop_windows(cpu, mmu_idx, false, 0, 0);
        return;
    }
    if (!ec) {
        return;
    }
    /*
     * Keep the pages, but check them against the guest's tables before
     * the window is used again (espt_refresh, from espt_enter before
     * the next block): what the TLB would hold if it walked them again,
     * which it may do at any time.  Targets end the block after guest
     * TLB maintenance, so the rest of the block does not see them.
     */
    qemu_spin_lock(&ec->lock);
    for (i = 0; i < ESPT_NB_WINDOWS; i++) {
        EsptWindow *w = &ec->win[i];

        if (w->in_use && w->mmu_idx == mmu_idx && w->nb_mapped) {
            w->stale = w->stale_all = true;
        }
    }
    espt_quick_clear(ec);
    qemu_spin_unlock(&ec->lock);
}

void espt_drop_regimes(CPUState *cpu, uint32_t value, uint32_t mask)
{
    espt_drop_windows(cpu, -1, true, value, mask);
}

/*
 * Table tracking (espt_tracking).  A node says that window @win of vCPU
 * @cpu, while its generation is @gen, may map pages that the guest
 * table at RAM address @tbl translated; the table's first entry covers
 * guest address @va.  Nodes hang off the RAM page that holds their
 * table; a page with nodes traps writes like a page of translated code
 * (tlb_protect_code, and tlb_unprotect_code leaves it alone), so every
 * store to it reaches espt_tables_writing from the softmmu slow path
 * (under ESPT, through a host fault on the read-only window page), and
 * every other write (DMA, the monitor) reaches espt_tables_written.
 * A write drops, in each node's window, the pages that the written
 * entries translated.  Nodes whose window has moved on are dropped as
 * they are met.  A page written ESPT_TABLE_FLOOD times without being
 * used by a fill in between (a table being copied, or memory that is
 * no longer a table) is given up: its nodes go, with everything their
 * tables translated, and the page stops trapping writes.
 *
 * A store reaches the slow path before it lands; its drop waits until
 * the thread next enters a block, switches regime or stores to a table
 * (espt_tables_sync), when the store has landed, so that another vCPU
 * cannot walk the old entry and mirror it after the drop.  A fill on
 * another vCPU that walked the old entry before the drop either
 * registered its table before it (and is dropped) or sees
 * espt_tables_seq change, and unmaps what it mirrored.
 */
#define ESPT_TABLE_FLOOD 32

/*
 * A table given up ESPT_TABLE_HOT times within ESPT_TABLE_HEAT_NS, each
 * time by writes from an address space other than those of the windows
 * that used it, is hot: the kernel's own table of short-lived mappings
 * (Linux's kmap and fixmap slots on a highmem i386 guest, rewritten at
 * each use by every process).  What it translates changes faster than a
 * window can follow: each use costs an munmap, a host fault and an mmap,
 * where the softmmu pays a TLB refill.  So fills through a hot table mirror
 * nothing, and the table is not tracked, until ESPT_TABLE_COOL such
 * fills have passed: then it is tried again, as a page that no longer
 * holds that table would be.  A process filling its own tables (the
 * first touch of a big buffer) gives them up too, but that heats
 * nothing: its pages would stay unmirrored while it computes.  Nor do
 * floods far apart: a process's table is given up by another address
 * space when an exec tears the old one down, and the page goes on to
 * hold the tables of other processes, each given up once that way in a
 * while.  A small table by hash, under espt_tables_lock.
 */
#define ESPT_TABLE_HOT      4
#define ESPT_TABLE_HEAT_NS  (100 * 1000 * 1000)
#define ESPT_TABLE_COOL     1024
#define ESPT_NB_TABLE_HEAT  64

typedef struct EsptTableHeat {
    uint64_t page;                  /* RAM address >> ESPT_PAGE_BITS */
    uint32_t floods;                /* given up, running */
    uint32_t refused;               /* fills not mirrored since hot */
    int64_t since;                  /* ns, the first of those floods */
} EsptTableHeat;

typedef struct EsptTableNode {
    uint64_t tbl;
    uint32_t va;
    uint16_t cpu;
    uint8_t win;
    uint8_t entry_bits, index_bits, span_bits;
    uint32_t gen;
    struct EsptTableNode *next;     /* of the same RAM page */
} EsptTableNode;

typedef struct EsptTablePage EsptTablePage;
struct EsptTablePage {
    uint64_t page;                  /* RAM address >> ESPT_PAGE_BITS */
    uint32_t writes;                /* since a fill last used it */
    EsptTableNode *nodes;
};

/* A drop that a table write asks for, done outside espt_tables_lock. */
typedef struct EsptTableDrop {
    uint16_t cpu;
    uint8_t win;
    uint32_t gen;
    uint32_t first, last;           /* guest pages */
} EsptTableDrop;


static QemuSpin espt_tables_lock;
/*
 * How many tracked RAM pages hash to each slot: a page whose slot is 0
 * holds no table, which spares the lock most stores to code pages.
 */
#define ESPT_TABLE_FILTER 65536
static uint16_t espt_table_filter[ESPT_TABLE_FILTER];
static GHashTable *espt_table_nodes;    /* node -> node, by identity */
static GHashTable *espt_table_pages;    /* &page -> EsptTablePage */
static uint64_t espt_tables_epoch;      /* bumped when a node or page goes */
static uint64_t espt_tables_count;      /* bumped by every table write */
static EsptTableHeat espt_table_heat[ESPT_NB_TABLE_HEAT];

/* A hash of RAM page @page, @bits wide, for the small tables below. */
static unsigned espt_table_page_hash(uint64_t page, unsigned bits)
{
    return (page * 0x9e3779b97f4a7c15ull) >> (64 - bits);
}

static EsptTableHeat *espt_table_heat_of(uint64_t page)
{
    QEMU_BUILD_BUG_ON(ESPT_NB_TABLE_HEAT != 1 << 6);
    return &espt_table_heat[espt_table_page_hash(page, 6)];
}

/*
 * Table page @page was given up, by writes from another address space
 * than those of the windows that used it if @foreign; under
 * espt_tables_lock.  Only such floods heat a table: a process filling
 * its own tables (a first touch of a big buffer) is not a kernel
 * rewriting a table that every process shares.
 */
static void espt_table_flooded(uint64_t page, bool foreign)
{
    EsptTableHeat *h = espt_table_heat_of(page);

    if (!foreign) {
        return;
    }
    if (h->page != page) {
        *h = (EsptTableHeat) { .page = page };
    }
    if (h->floods < ESPT_TABLE_HOT) {
        int64_t now = get_clock();

        if (!h->floods || now - h->since > ESPT_TABLE_HEAT_NS) {
            h->floods = 0;
            h->since = now;
        }
    }
    if (++h->floods == ESPT_TABLE_HOT) {
        h->refused = 0;
        ESPT_COUNT(tables_hot);
    }
}

/* Must a fill through table page @page mirror nothing?  Under the lock. */
static bool espt_table_hot(uint64_t page)
{
    EsptTableHeat *h = espt_table_heat_of(page);

    if (h->page != page || h->floods < ESPT_TABLE_HOT) {
        return false;
    }
    if (++h->refused < ESPT_TABLE_COOL) {
        return true;
    }
    h->floods = 0;
    return false;
}

static guint espt_table_node_hash(gconstpointer p)
{
    const EsptTableNode *n = p;

    return (guint)(n->tbl >> 2) ^ (n->va >> 12) * 2654435761u ^
           (n->cpu << 8 | n->win) ^ n->gen * 40503u;
}

static gboolean espt_table_node_equal(gconstpointer a, gconstpointer b)
{
    const EsptTableNode *x = a, *y = b;

    return x->tbl == y->tbl && x->va == y->va && x->cpu == y->cpu &&
           x->win == y->win && x->gen == y->gen &&
           x->entry_bits == y->entry_bits && x->index_bits == y->index_bits;
}

bool espt_tracks_tables(void)
{
    return espt_tracking;
}

uint64_t espt_tables_seq(void)
{
    return qatomic_load_acquire(&espt_tables_count);
}

static EsptTablePage *espt_table_page(ram_addr_t ram)
{
    uint64_t page = ram >> ESPT_PAGE_BITS;

    return espt_table_pages ? g_hash_table_lookup(espt_table_pages, &page)
                            : NULL;
}

static uint16_t *espt_table_slot(uint64_t page)
{
    QEMU_BUILD_BUG_ON(ESPT_TABLE_FILTER != 1 << 16);
    return &espt_table_filter[espt_table_page_hash(page, 16)];
}

bool espt_table_tracked(ram_addr_t ram)
{
    bool ret;

    if (!espt_tracking ||
        !qatomic_read(espt_table_slot(ram >> ESPT_PAGE_BITS))) {
        return false;
    }
    qemu_spin_lock(&espt_tables_lock);
    ret = espt_table_page(ram) != NULL;
    qemu_spin_unlock(&espt_tables_lock);
    return ret;
}

static EsptWindow *espt_node_win(const EsptTableNode *n, EsptCPU **pec)
{
    EsptCPU *ec = n->cpu < ESPT_MAX_CPUS
                  ? qatomic_load_acquire(&espt_cpus[n->cpu]) : NULL;

    *pec = ec;
    return ec && n->win < ESPT_NB_WINDOWS ? &ec->win[n->win] : NULL;
}

static void espt_table_node_free(EsptTableNode *n)
{
    espt_tables_epoch++;
    g_hash_table_remove(espt_table_nodes, n);
    g_free(n);
}

/*
 * Unlink the nodes of @tp that @ram .. @ram + @len - 1 concerns and
 * gather the drops they ask for into @drops; all of them if @flood.
 * Under espt_tables_lock.
 */
static bool espt_table_page_write(EsptTablePage *tp, ram_addr_t ram,
                                  size_t len, bool flood, GArray **drops,
                                  uint64_t regime)
{
    EsptTableNode **link = &tp->nodes, *n;
    bool foreign = true;

    while ((n = *link) != NULL) {
        uint64_t size = 1ull << (n->entry_bits + n->index_bits);
        uint64_t lo = MAX(ram, n->tbl), hi = MIN(ram + len, n->tbl + size);
        EsptWindow *w;
        EsptCPU *ec;

        w = espt_node_win(n, &ec);
        if (!w || qatomic_read(&w->gen) != n->gen) {
            *link = n->next;
            espt_table_node_free(n);
            continue;
        }
        if (flood) {
            lo = n->tbl;
            hi = n->tbl + size;
        }
        if (lo < hi) {
            uint64_t e0 = (lo - n->tbl) >> n->entry_bits;
            uint64_t e1 = (hi - 1 - n->tbl) >> n->entry_bits;
            uint64_t va0 = n->va + (e0 << n->span_bits);
            uint64_t va1 = n->va + ((e1 + 1) << n->span_bits) - 1;
            EsptTableDrop d = {
                .cpu = n->cpu, .win = n->win, .gen = n->gen,
                .first = va0 >> ESPT_PAGE_BITS,
                .last = MIN(va1, ESPT_WINDOW_SIZE - 1) >> ESPT_PAGE_BITS,
            };

            if (!*drops) {
                *drops = g_array_new(false, false, sizeof(EsptTableDrop));
            }
            g_array_append_val(*drops, d);
        }
        if (flood) {
            foreign &= w->regime != regime;
            *link = n->next;
            espt_table_node_free(n);
            continue;
        }
        link = &n->next;
    }
    return foreign;
}

/*
 * Guest pages [@first, @last] of @w may translate otherwise now; under
 * ec->lock.  A window in use drops them at once; another one only
 * marks them suspect, for espt_refresh to check when it is next used:
 * a process's tables are torn down and built again in the same pages,
 * with the same kernel half, more often than not.
 */
static void espt_table_drop(EsptCPU *ec, EsptWindow *w, uint32_t first,
                            uint32_t last)
{
    unsigned long i, lo, hi;
    int k;

    for (k = 0; k < NB_MMU_MODES && ec->cur[k] != w; k++) {
        /* look for w among the current windows */
    }
    if (k < NB_MMU_MODES || w->stale_all) {
        espt_unmap_pages(ec, w, w->mapped, first, last);
        return;
    }
    lo = MAX(first, w->lo);
    hi = MIN((unsigned long)last + 1, w->hi);
    for (i = find_next_bit(w->mapped, hi, lo); i < hi;
         i = find_next_bit(w->mapped, hi, i + 1)) {
        set_bit(i, w->suspect);
        w->sus_lo = MIN(w->sus_lo, i);
        w->sus_hi = MAX(w->sus_hi, i + 1);
        w->stale = true;
    }
    espt_quick_clear(ec);
}

/*
 * A store of @len bytes at @ram has landed in guest tables; @changed if
 * it changed them.  A store that left the bytes as they were drops
 * nothing, but counts towards giving the table up like any other:
 * Linux zeroes a freed table's page when it allocates it again, which
 * would otherwise take the slow path for each of its 1,024 words.
 */
static void espt_tables_store(ram_addr_t ram, size_t len, bool changed)
{
    /* The vCPU whose store this is, if any. */
    EsptCPU *cur = current_cpu ? espt_cpu(current_cpu) : NULL;
    GArray *drops = NULL;
    uint64_t page, last;
    bool foreign;
    guint i;

    if (!espt_tracking || len == 0) {
        return;
    }
    /* After the write, before looking for what it concerns. */
    qatomic_inc(&espt_tables_count);
    last = (ram + len - 1) >> ESPT_PAGE_BITS;
    qemu_spin_lock(&espt_tables_lock);
    for (page = ram >> ESPT_PAGE_BITS; page <= last; page++) {
        EsptTablePage *tp = espt_table_page(page << ESPT_PAGE_BITS);
        bool flood;

        if (!tp) {
            continue;
        }
        ESPT_COUNT(table_writes);
        flood = ++tp->writes > ESPT_TABLE_FLOOD;
        if (flood) {
            ESPT_COUNT(table_floods);
        } else if (!changed) {
            continue;
        }
        foreign = espt_table_page_write(tp, ram, len, flood, &drops,
                                        cur ? cur->regime : 0);
        if (flood) {
            espt_table_flooded(tp->page, cur && foreign);
        }
        if (!tp->nodes) {
            qatomic_dec(espt_table_slot(tp->page));
            espt_tables_epoch++;
            g_hash_table_remove(espt_table_pages, &tp->page);
        }
    }
    qemu_spin_unlock(&espt_tables_lock);

    for (i = 0; drops && i < drops->len; i++) {
        EsptTableDrop *d = &g_array_index(drops, EsptTableDrop, i);
        EsptCPU *ec = qatomic_load_acquire(&espt_cpus[d->cpu]);
        EsptWindow *w = ec ? &ec->win[d->win] : NULL;

        if (!w) {
            continue;
        }
        qemu_spin_lock(&ec->lock);
        if (w->in_use && w->gen == d->gen) {
            espt_table_drop(ec, w, d->first, d->last);
        }
        qemu_spin_unlock(&ec->lock);
    }
    if (drops) {
        g_array_free(drops, true);
    }
}

void espt_tables_written(ram_addr_t ram, size_t len)
{
    espt_tables_store(ram, len, true);
}

void espt_tables_writing(ram_addr_t ram, size_t len)
{
    if (!espt_tracking) {
        return;
    }
    espt_tables_sync();
    /*
     * Before the test: a fill that walked the table before the store
     * either registered it before the test, or sees the count change.
     */
    qatomic_inc(&espt_tables_count);
    if (espt_table_tracked(ram) ||
        espt_table_tracked(ram + len - 1)) {
        espt_pending_ram = ram;
        espt_pending_len = len;
        espt_quick_off();
        espt_pending_host = NULL;
        if (len <= ESPT_PENDING_BYTES &&
            (ram & ~(ESPT_PAGE_SIZE - 1)) ==
            ((ram + len - 1) & ~(ESPT_PAGE_SIZE - 1))) {
            espt_pending_host = qemu_map_ram_ptr(NULL, ram);
            memcpy(espt_pending_old, espt_pending_host, len);
        }
    }
}

int espt_track(CPUState *cpu, int mmu_idx, vaddr page, const EsptTable *t,
               int n)
{
    EsptCPU *ec = espt_cpu(cpu);
    EsptWindow *w = ec ? ec->cur[mmu_idx] : NULL;
    uint64_t protect[ESPT_MAX_TABLES];
    int i, nb_protect = 0;

    if (!w || n > ESPT_MAX_TABLES) {
        return -1;
    }
    for (i = 0; i < n; i++) {
        uint64_t size = 1ull << (t[i].entry_bits + t[i].index_bits);
        uint64_t span = 1ull << (t[i].span_bits + t[i].index_bits);
        struct EsptTableCache *c = &w->tcache[i];
        uintptr_t host = (uintptr_t)t[i].host & ~(size - 1);
        EsptTableNode key = {
            .va = page & ~(span - 1), .cpu = cpu->cpu_index,
            .win = w - ec->win, .gen = qatomic_read(&w->gen),
            .entry_bits = t[i].entry_bits, .index_bits = t[i].index_bits,
            .span_bits = t[i].span_bits,
        };
        ram_addr_t offset;
        RAMBlock *rb;
        EsptTableNode *node;
        EsptTablePage *tp;

        /* The same table as the window's last fill through this level? */
        if (c->host == host && c->va == key.va && c->gen == key.gen &&
            t[i].host) {
            qemu_spin_lock(&espt_tables_lock);
            if (c->epoch == espt_tables_epoch) {
                c->tp->writes = 0;
                qemu_spin_unlock(&espt_tables_lock);
                continue;
            }
            qemu_spin_unlock(&espt_tables_lock);
        }
        rb = t[i].host ? qemu_ram_block_from_host(t[i].host, false, &offset)
                       : NULL;
        if (!rb || size > ESPT_PAGE_SIZE) {
            return -1;
        }
        key.tbl = (rb->offset + offset) & ~(size - 1);
        qemu_spin_lock(&espt_tables_lock);
        if (!espt_table_nodes) {
            espt_table_nodes = g_hash_table_new(espt_table_node_hash,
                                                espt_table_node_equal);
            espt_table_pages = g_hash_table_new_full(g_int64_hash,
                                                     g_int64_equal,
                                                     NULL, g_free);
        }
        tp = espt_table_page(key.tbl);
        if (!tp && espt_table_hot(key.tbl >> ESPT_PAGE_BITS)) {
            qemu_spin_unlock(&espt_tables_lock);
            ESPT_COUNT(no_map);
            break;
        }
        if (!tp) {
            tp = g_new0(EsptTablePage, 1);
            tp->page = key.tbl >> ESPT_PAGE_BITS;
            g_hash_table_insert(espt_table_pages, &tp->page, tp);
            qatomic_inc(espt_table_slot(tp->page));
        }
        tp->writes = 0;
        if (!g_hash_table_contains(espt_table_nodes, &key)) {
            node = g_memdup2(&key, sizeof(key));
            node->next = tp->nodes;
            tp->nodes = node;
            g_hash_table_add(espt_table_nodes, node);
            protect[nb_protect++] = key.tbl;
            ESPT_COUNT(tables);
        }
        *c = (struct EsptTableCache) {
            .host = host, .va = key.va, .gen = key.gen,
            .epoch = espt_tables_epoch, .tp = tp,
        };
        qemu_spin_unlock(&espt_tables_lock);
    }
    /* Every TLB and window must stop writes to the tables from now on. */
    for (int k = 0; k < nb_protect; k++) {
        tlb_protect_code(protect[k]);
    }
    return i < n ? -1 : nb_protect != 0;
}

uint64_t espt_regime(CPUState *cpu)
{
    EsptCPU *ec = espt_cpu(cpu);

    return ec ? ec->regime : 0;
}

/* Guest-physical pcs translated without ESPT; any thread. */
static GHashTable *espt_demoted_pcs;
static QemuSpin espt_demote_lock;

void espt_demote(uint64_t phys_pc)
{
    qemu_spin_lock(&espt_demote_lock);
    if (!espt_demoted_pcs) {
        espt_demoted_pcs = g_hash_table_new(g_int64_hash, g_int64_equal);
    }
    if (!g_hash_table_contains(espt_demoted_pcs, &phys_pc)) {
        g_hash_table_add(espt_demoted_pcs, g_memdup2(&phys_pc,
                                                     sizeof(phys_pc)));
        ESPT_COUNT(demoted);
    }
    qemu_spin_unlock(&espt_demote_lock);
}

bool espt_demoted(uint64_t phys_pc)
{
    bool ret;

    if (!qatomic_read(&espt_stats.demoted)) {
        return false;
    }
    qemu_spin_lock(&espt_demote_lock);
    ret = g_hash_table_contains(espt_demoted_pcs, &phys_pc);
    qemu_spin_unlock(&espt_demote_lock);
    return ret;
}

/* The slow path of the ESPT access at host @pc, or 0, and its block. */
static uintptr_t espt_slow_path(uintptr_t pc, TranslationBlock **ptb)
{
    TranslationBlock *tb;
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
            *ptb = tb;
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

    if (si->si_code <= 0) {
        n = snprintf(buf, sizeof(buf),
                     "qemu: host signal %d sent by process %d at pc 0x%llx: "
                     "not an ESPT fault\n", sig, (int)si->si_pid,
                     (unsigned long long)uc->uc_mcontext.gregs[REG_RIP]);
    } else {
        n = snprintf(buf, sizeof(buf),
                     "qemu: host signal %d at pc 0x%llx, address %p: "
                     "not an ESPT fault\n", sig,
                     (unsigned long long)uc->uc_mcontext.gregs[REG_RIP],
                     si->si_addr);
    }
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

/*
 * What a host fault at @addr, on a page mirrored read-only if @ro,
 * counts toward its block's demotion (see ESPT_FAULT_SWEEP).
 */
static unsigned espt_fault_weight(uintptr_t addr, bool ro)
{
    uintptr_t page = addr >> ESPT_PAGE_BITS;
    unsigned run = 0;
    int i;

    for (i = 0; i < ESPT_RECENT; i++) {
        if (page - espt_recent[i].page + 1 <= 2) {
            if (page == espt_recent[i].page && ro && espt_recent[i].fresh) {
                espt_recent[i].fresh = false;
                return 0;
            }
            run = MIN(espt_recent[i].run + 1, 2);
            break;
        }
    }
    espt_recent[espt_recent_next].page = page;
    espt_recent[espt_recent_next].fresh = !ro;
    espt_recent[espt_recent_next].run = run;
    espt_recent_next = (espt_recent_next + 1) % ESPT_RECENT;
    return run == 2 ? ESPT_FAULT_SWEEP : 1;
}

/* Add @weight to @tb's faults of late (see ESPT_FAULT_EPOCH_NS). */
static unsigned espt_fault_count(TranslationBlock *tb, unsigned weight)
{
    uint16_t epoch = get_clock() / ESPT_FAULT_EPOCH_NS;
    uint16_t age = epoch - (tb->espt_faults >> 16);
    unsigned count = tb->espt_faults & 0xffff;

    count = (age < 16 ? count >> age : 0) + weight;
    count = MIN(count, 0xffff);
    tb->espt_faults = (uint32_t)epoch << 16 | count;
    return count;
}

/*
 * Add @weight to @tb's faults of late; if that reaches the threshold, ask
 * espt_switch to demote it.  Called from the signal handler: no locks.
 */
static void espt_fault_counted(TranslationBlock *tb, unsigned weight)
{
    if (espt_fault_count(tb, weight) >= ESPT_DEMOTE_AT && !espt_demote_tb) {
        espt_demote_tb = tb;
        espt_quick_off();
        espt_demote_flushes = qatomic_read(&tb_ctx.tb_flush_count);
        /*
         * Leave the chain of blocks at the next block: a loop of chained
         * blocks would not reach espt_switch otherwise.
         */
        if (current_cpu && !(current_cpu->tcg_cflags & CF_USE_ICOUNT)) {
            qatomic_set(&current_cpu->neg.icount_decr.u16.high, -1);
        }
    }
}

static void espt_sigsegv(int sig, siginfo_t *si, void *puc)
{
    ucontext_t *uc = puc;
    uintptr_t addr = (uintptr_t)si->si_addr;
    TranslationBlock *tb;
    uintptr_t slow;
    bool ro = false;

    if (unlikely(espt_calibrating) && si->si_code > 0) {
        siglongjmp(espt_calibrate_jmp, 1);
    }
    if (unlikely(espt_in_handler)) {
        /*
         * A fault in the handler or in the crash report: die of it, as
         * without SA_NODEFER.
         */
        signal(SIGSEGV, SIG_DFL);
        return;
    }
    if (espt_base && si->si_code > 0 && addr - espt_base < ESPT_STRIDE) {
        espt_in_handler = true;
        slow = espt_slow_path(uc->uc_mcontext.gregs[REG_RIP], &tb);
        espt_in_handler = false;
        if (slow) {
            uc->uc_mcontext.gregs[REG_RIP] = slow;
            ESPT_COUNT(faults);
            espt_faults_now++;
            if (espt_fault_tb) {
                /* The last one's slow path raised a guest fault. */
                espt_guest_fault();
            }
            espt_fault_win = NULL;
            if (addr - espt_base < ESPT_WINDOW_SIZE) {
                espt_fault_win = espt_base_win;
                espt_fault_addr = addr - espt_base;
                ro = test_bit(espt_fault_addr >> ESPT_PAGE_BITS,
                              espt_base_win->mapped);
            }
            if (ro) {
                ESPT_COUNT(faults_ro);
            }
            espt_fault_tb = tb;
            espt_fault_flushes = qatomic_read(&tb_ctx.tb_flush_count);
            espt_fault_weight_last = espt_fault_weight(addr, ro);
            espt_fault_counted(tb, espt_fault_weight_last);
            /*
             * Go to the slow path without rt_sigreturn, which would enter
             * the kernel a second time: on hosts where every entry empties
             * the TLB that is a third of what a fault costs.  Nothing it
             * would restore matters there: SA_NODEFER left the signal mask
             * as it was, and a guest access is a call-clobbering op in
             * TCG, so no vector register is live across it (the kernel
             * gave the handler fresh FPU state; QEMU's is the default).
             */
            if (espt_fast_resume) {
                espt_resume(uc->uc_mcontext.gregs);
            }
            return;
        }
    }

    /*
     * A real crash.  Say where, then let it happen as it would have
     * without us: with the previous disposition, on the same fault.
     */
    espt_in_handler = true;
    espt_report_crash(sig, si, uc);
    sigaction(SIGSEGV, &espt_old_segv, NULL);
    espt_in_handler = false;
    if (si->si_code <= 0) {
        /* Sent, not a fault: returning would not send it again. */
        raise(sig);
    }
}

void espt_fault_code(void)
{
    ESPT_COUNT(faults_code);
}

/*
 * One load from each of the ESPT_REFILL_PAGES pages of @buf, each load's
 * address depending on the one before, so that no miss overlaps another.
 */
#define ESPT_REFILL_PAGES 512
static uint32_t espt_refill_walk(const uint8_t *buf)
{
    uint32_t p = 0;
    int i;

    for (i = 0; i < ESPT_REFILL_PAGES; i++) {
        /* volatile: each load is what is measured */
        const volatile uint32_t *q = (const volatile uint32_t *)
            (buf + ((size_t)p << ESPT_PAGE_BITS) + ((p & 63) << 6));

        p = *q;
    }
    return p;
}

/*
 * Measure what a kernel entry costs the code that runs after it.  On
 * some hosts (PVM guests, for one) every entry into the host kernel
 * empties the TLB, and each page touched afterwards pays a table walk:
 * a walk over 512 pages (2 MiB, less than QEMU and a guest touch between
 * two faults) took 2.2 us, and 9.3 us more right after a getppid().
 * Where the TLB survives (PCID), this comes out near zero.
 */
static void espt_calibrate_entry(void)
{
    enum { N = 16, ROUNDS = 3 };
    size_t len = (size_t)ESPT_REFILL_PAGES << ESPT_PAGE_BITS;
    int64_t t, warm = INT64_MAX, call = INT64_MAX, after = INT64_MAX;
    uint32_t seed = 1, order[ESPT_REFILL_PAGES];
    uint8_t *buf;
    int i, r;

    buf = mmap(NULL, len, PROT_READ | PROT_WRITE,
               MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (buf == MAP_FAILED) {
        return;
    }
    /* Small pages, as the windows have. */
    qemu_madvise(buf, len, QEMU_MADV_NOHUGEPAGE);
    /* One cycle through every page (page 0 among them) in a fixed order. */
    for (i = 0; i < ESPT_REFILL_PAGES; i++) {
        order[i] = i;
    }
    for (i = ESPT_REFILL_PAGES - 1; i > 0; i--) {
        uint32_t j, tmp;

        seed = seed * 1103515245 + 12345;
        j = (seed >> 8) % (i + 1);
        tmp = order[i];
        order[i] = order[j];
        order[j] = tmp;
    }
    for (i = 0; i < ESPT_REFILL_PAGES; i++) {
        uint32_t p = order[i];

        *(uint32_t *)(buf + ((size_t)p << ESPT_PAGE_BITS) + ((p & 63) << 6)) =
            order[(i + 1) % ESPT_REFILL_PAGES];
    }
    for (r = 0; r < ROUNDS; r++) {
        t = get_clock();
        for (i = 0; i < N; i++) {
            espt_refill_walk(buf);
        }
        warm = MIN(warm, get_clock() - t);
        t = get_clock();
        for (i = 0; i < N; i++) {
            (void)getppid();
        }
        call = MIN(call, get_clock() - t);
        t = get_clock();
        for (i = 0; i < N; i++) {
            (void)getppid();
            espt_refill_walk(buf);
        }
        after = MIN(after, get_clock() - t);
    }
    espt_entry_ns = MAX((after - warm - call) / N, 0);
    munmap(buf, len);
}

/*
 * Measure what pacing charges for the upkeep of windows on this host: an
 * mmap of a shared file page into a reserved range (and the one that
 * reserves it again), a host fault delivered to our handler, and what a
 * kernel entry costs the code after it (espt_calibrate_entry).  Each
 * cost is the quickest of ROUNDS rounds of N, after one of each warmed
 * the paths up: the first fault alone, which pages in the handler and
 * its stack, cost ten times the others, and a round the host spent on
 * another thread counted it, so that one average of 16 came out at
 * 1.5 or 12 microseconds from one start to the next.
 */
static void espt_calibrate(void)
{
    enum { N = 8, ROUNDS = 5 };
    /* volatile: the loads and stores below are what is measured */
    volatile uint8_t *area;
    int64_t t, call = INT64_MAX, fault = INT64_MAX;
    int fd, i, r;

    fd = memfd_create("espt-calibrate", MFD_CLOEXEC);
    area = mmap(NULL, ESPT_PAGE_SIZE, PROT_NONE,
                MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (fd < 0 || area == MAP_FAILED || ftruncate(fd, ESPT_PAGE_SIZE)) {
        goto out;   /* keep the defaults */
    }
    for (r = -1; r < ROUNDS; r++) {
        t = get_clock();
        for (i = 0; i < N; i++) {
            if (mmap((void *)area, ESPT_PAGE_SIZE, PROT_READ | PROT_WRITE,
                     MAP_SHARED | MAP_FIXED, fd, 0) == MAP_FAILED) {
                goto out;
            }
            area[0] = i;
            if (mmap((void *)area, ESPT_PAGE_SIZE, PROT_NONE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED,
                     -1, 0) == MAP_FAILED) {
                goto out;
            }
        }
        if (r >= 0) {
            call = MIN(call, get_clock() - t);
        }
        t = get_clock();
        espt_calibrating = true;
        for (i = 0; i < N; i++) {
            /* Restore the mask only as rt_sigreturn would (see espt_start). */
            if (!sigsetjmp(espt_calibrate_jmp, !espt_fast_resume)) {
                (void)area[0];
            }
        }
        espt_calibrating = false;
        if (r >= 0) {
            fault = MIN(fault, get_clock() - t);
        }
    }
    espt_call_ns = MAX(call / (2 * N), 100);
    espt_fault_ns = MAX(fault / N, 100);
    espt_calibrate_entry();
out:
    if (area != MAP_FAILED) {
        munmap((void *)area, ESPT_PAGE_SIZE);
    }
    if (fd >= 0) {
        close(fd);
    }
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
    /* Leave room for QEMU's own mappings; an mmap may cost two VMAs. */
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

bool espt_start(uint32_t max_maps)
{
    struct sigaction sa = {
        .sa_sigaction = espt_sigsegv,
        .sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER,
    };
    unsigned long shstk = 0;

    /*
     * Leaving the handler without rt_sigreturn would unbalance a shadow
     * stack: only where the thread has none.
     */
    espt_fast_resume = syscall(SYS_arch_prctl, ESPT_ARCH_SHSTK_STATUS,
                               &shstk) != 0 || !(shstk & 1);
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGSEGV, &sa, &espt_old_segv) != 0) {
        warn_report("espt: cannot install the fault handler (%s); "
                    "running as espt=off", strerror(errno));
        return false;
    }
    /*
     * Every host fault is a signal, and Linux wakes the pollers of any
     * signalfd of the process at each one: without this, each fault would
     * wake the main loop too (a fault cost about 10 us instead of 1.7 us
     * in an i386 fork/exec loop; see docs/espt.md).
     */
    qemu_signal_use_thread();
    espt_budget = espt_vma_budget();
    espt_calibrate();
    if (max_maps > espt_budget) {
        warn_report("espt: espt-maps=%" PRIu32 " is more than "
                    "vm.max_map_count allows; using %" PRIu64,
                    max_maps, espt_budget);
    } else if (max_maps) {
        espt_budget = max_maps;
    }
    qemu_spin_init(&espt_demote_lock);
    qemu_spin_init(&espt_tables_lock);
    espt_chunks = bitmap_new(ESPT_NB_CHUNKS);
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
        "espt: faults %" PRIu64 " (on read-only pages %" PRIu64 ")"
        " maps %" PRIu64 " fill-runs %" PRIu64
        " unmaps %" PRIu64
        " write-protects %" PRIu64 " window-drops %" PRIu64
        " evictions %" PRIu64 " switches %" PRIu64
        " jump-caches-kept %" PRIu64 " prefills %" PRIu64
        " refreshes %" PRIu64 " refresh-kept %" PRIu64
        " demoted %" PRIu64 " mmio-faults %" PRIu64
        " code-faults %" PRIu64 " guest-faults %" PRIu64
        " tables %" PRIu64 " table-writes %" PRIu64
        " table-floods %" PRIu64 " hot-tables %" PRIu64
        " unmirrorable %" PRIu64 " map-failures %" PRIu64
        " pages-mapped %" PRIu64 " runs-mapped %" PRIu64
        " runs-peak %" PRIu64 " budget %" PRIu64
        " periods-on %" PRIu64 " periods-off %" PRIu64
        " ram-chunks %" PRIu64 " ram-chunks-huge %" PRIu64
        " fault-ns %" PRId64 " call-ns %" PRId64
        " entry-ns %" PRId64
        " young-regimes %" PRIu64 " grown-regimes %" PRIu64 "\n",
        qatomic_read(&espt_stats.faults), qatomic_read(&espt_stats.faults_ro),
        qatomic_read(&espt_stats.maps),
        qatomic_read(&espt_stats.fill_runs),
        qatomic_read(&espt_stats.unmaps),
        qatomic_read(&espt_stats.write_protects),
        qatomic_read(&espt_stats.flushes),
        qatomic_read(&espt_stats.evictions),
        qatomic_read(&espt_stats.switches),
        qatomic_read(&espt_stats.jc_kept),
        qatomic_read(&espt_stats.prefills),
        qatomic_read(&espt_stats.refreshes),
        qatomic_read(&espt_stats.kept),
        qatomic_read(&espt_stats.demoted),
        qatomic_read(&espt_stats.faults_mmio),
        qatomic_read(&espt_stats.faults_code),
        qatomic_read(&espt_stats.faults_guest),
        qatomic_read(&espt_stats.tables),
        qatomic_read(&espt_stats.table_writes),
        qatomic_read(&espt_stats.table_floods),
        qatomic_read(&espt_stats.tables_hot),
        qatomic_read(&espt_stats.no_map),
        qatomic_read(&espt_stats.map_fail),
        qatomic_read(&espt_nb_mapped), qatomic_read(&espt_nb_runs),
        qatomic_read(&espt_runs_peak), espt_budget,
        qatomic_read(&espt_stats.periods_on),
        qatomic_read(&espt_stats.periods_off),
        qatomic_read(&espt_stats.populated),
        qatomic_read(&espt_stats.populated_huge),
        espt_fault_ns, espt_call_ns, espt_entry_ns,
        qatomic_read(&espt_stats.young), qatomic_read(&espt_stats.grown));
}

#else /* !ESPT_HOST_OK */

void espt_populate(RAMBlock *rb, ram_addr_t offset, ram_addr_t len)
{
}

bool espt_start(uint32_t max_maps)
{
    return false;
}

void espt_set_youth(uint32_t ms)
{
}

bool espt_enabled(void)
{
    return false;
}

bool espt_serves(unsigned long_bits, unsigned page_bits)
{
    return false;
}

uint32_t espt_vcpus_off;

void espt_switch(CPUState *cpu, int mmu_idx)
{
}

void espt_tick(CPUState *cpu)
{
}

bool espt_regime_switch(CPUState *cpu, uint64_t regime, uint64_t asid_mask)
{
    return false;
}

bool espt_window_active(CPUState *cpu, int mmu_idx)
{
    return false;
}

bool espt_is_mapped(CPUState *cpu, int mmu_idx, vaddr page)
{
    return false;
}

int espt_mapped_rights(CPUState *cpu, int mmu_idx, vaddr page)
{
    return 0;
}

bool espt_fault_take(vaddr addr, bool mmio)
{
    return false;
}

void espt_fault_code(void)
{
}

void espt_map(CPUState *cpu, int mmu_idx, vaddr page, void *host,
              unsigned nb_pages, unsigned flags, unsigned lg_bits)
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

void espt_demote(uint64_t phys_pc)
{
}

void espt_jmp_cache_flush(CPUState *cpu)
{
}

void espt_jmp_cache_clear_page(CPUState *cpu, unsigned i0, unsigned n)
{
}

void espt_jmp_cache_inval(CPUState *cpu, unsigned h, const void *tb)
{
}

bool espt_demoted(uint64_t phys_pc)
{
    return false;
}

bool espt_tracks_tables(void)
{
    return false;
}

int espt_track(CPUState *cpu, int mmu_idx, vaddr page, const EsptTable *t,
               int n)
{
    return -1;
}

uint64_t espt_tables_seq(void)
{
    return 0;
}

void espt_tables_writing(ram_addr_t ram, size_t len)
{
}

void espt_tables_written(ram_addr_t ram, size_t len)
{
}

bool espt_table_tracked(ram_addr_t ram)
{
    return false;
}

uint64_t espt_regime(CPUState *cpu)
{
    return 0;
}

void espt_dump_stats(GString *buf)
{
    g_string_append(buf, "espt: off\n");
}

#endif
