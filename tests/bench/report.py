#!/usr/bin/python3
"""Turn tests/bench/run.py's CSV into docs/benchmarks.md (stdout) and a chart.

    report.py RESULTS.CSV quick|full REPS SECONDS CHART.PNG
"""
import csv
import datetime
import math
import os
import platform
import shlex
import statistics
import subprocess
import sys

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

path, scale, reps, seconds, chart = sys.argv[1:6]
top = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
rows = list(csv.DictReader(open(path)))

MODES = ["native", "user", "espt-on", "espt-off", "debian"]
TITLE = {"native": "native", "user": "user mode", "espt-on": "espt=on",
         "espt-off": "espt=off", "debian": "Debian QEMU"}
OS_JOBS = ["boot", "forkexec", "pagefault", "pipe", "tar"]
# Micro-benchmarks, in no geometric mean but their own.
MICRO_JOBS = ["memloop"]
SHOWN = ["faults", "ro-faults", "mmio-faults", "guest-faults", "maps",
         "unmaps", "write-protects",
         "window-drops", "evictions", "switches", "jump-caches-kept",
         "prefills", "periods-off", "runs-peak"]

times, missing, ctrs, order = {}, set(), {}, []
for r in rows:
    key = (r["arch"], r["program"])
    if r["status"] == "not available":
        missing.add((r["arch"], r["mode"]))
        continue
    if r["program"] not in order:
        order.append(r["program"])
    times.setdefault(key, {}).setdefault(r["mode"], []).append(
        float(r["seconds"]))
    if r["espt_counters"]:
        c = dict(kv.split("=") for kv in r["espt_counters"].split(";"))
        ctrs.setdefault(key, []).append({k: int(v) for k, v in c.items()})
order.sort(key=lambda p: (p in MICRO_JOBS, p in OS_JOBS,
                          OS_JOBS.index(p) if p in OS_JOBS else 0))
arches = [a for a in ("arm", "i386") if any(k[0] == a for k in times)]


def med(arch, prog, mode):
    v = times.get((arch, prog), {}).get(mode)
    return statistics.median(v) if v else None


def ratio(arch, prog, num, den):
    a, b = med(arch, prog, num), med(arch, prog, den)
    if a is None or b is None or a <= 0 or b <= 0:
        return None
    return a / b


def geomean(v):
    v = [x for x in v if x]
    if not v:
        return None
    return math.exp(sum(math.log(x) for x in v) / len(v))


def f(x, fmt="%.2f"):
    return fmt % x if x is not None else "n/a"


def cmd_out(cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True,
                              timeout=30).stdout.splitlines()[0]
    except (OSError, IndexError, subprocess.SubprocessError):
        return "not found"


cpu = "unknown CPU"
for line in open("/proc/cpuinfo"):
    if line.startswith("model name"):
        cpu = line.split(":", 1)[1].strip()
        break
kernels = []
for k in ("armmp", "686"):
    try:
        kernels.append(open(os.path.join(top, "build", "assets", k,
                                         "version")).read().strip())
    except OSError:
        pass

p = print
p("# Benchmarks")
p()
p("""A SPEC-CINT2006-like suite built from Debian 12's own armhf and i386
programs, plus OS-heavy jobs, run in Linux guests in every mode side by
side.  `make bench` runs all of it (three repetitions, about an hour);
`make bench QUICK=1` a subset with small inputs, once, in a few minutes.
Both regenerate this page, `docs/benchmarks.png` and
`docs/benchmarks.csv` (a copy of `build/bench/results.csv`: arch,
program, mode, repetition, seconds, status, ESPT counters).  They need root: user mode and native runs use
chroot and binfmt_misc.

| job | like CINT2006's | what runs |
| --- | --- | --- |
| perlbench | 400.perlbench | perl: word and pair counts, regexes, sorting over generated prose |
| bzip2 | 401.bzip2 | bzip2 -9 and back over generated text and records |
| xz | 401.bzip2 | xz -6 -T1 and back |
| gcc | 403.gcc | cc1 -O2 on C files that glpk-utils ships as examples |
| gobmk | 445.gobmk | gnugo playing a fixed 9x9 game over GTP |
| sjeng | 458.sjeng | stockfish's bench: fixed positions to a fixed depth, one thread |
| h264ref | 464.h264ref | x264 --preset medium, one thread, on generated frames |
| xalancbmk | 483.xalancbmk | xsltproc grouping, sorting and formatting a generated catalogue |
| sqlite3 | | sqlite3: generate, index, join, aggregate, window functions |
| mcf | 429.mcf | glpsol --mincost on a generated min-cost flow network |
| boot | | Linux boot to init (system modes only) |
| forkexec | | fork, exec /bin/true, wait, in a loop |
| pagefault | | mmap, touch every page, munmap, in a loop |
| pipe | | one-byte ping-pong between two processes |
| tar | | tar x, tar c and gzip over a generated tree on tmpfs |
| memloop | | loads and stores at pseudo-random words of a 4 MiB buffer: the guest memory accesses ESPT speeds up, with little else (a micro-benchmark, in no other mean) |

Debian builds hmmer only for i386, so it is left out.  Inputs come from
tests/bench/inputs.py (a fixed generator, no clock); each job's output
is checksummed, the first mode of a run (native for i386, user mode for
ARM) sets the reference, and any other checksum fails the run.

Modes, each repetition running every mode once, in turn, one QEMU at a
time (with `BENCH_INTERLEAVE=job`, one job per boot: each job in every
mode in turn, so that its runs are seconds apart on a host whose speed
drifts):

* **espt=on**, **espt=off**: this build's qemu-system-arm (`-M virt -cpu
  cortex-a15`, Debian's armmp kernel) and qemu-system-i386 (`-M pc -cpu
  max`, the 686 kernel; with `qemu32` x264's output differs from the
  native one), 1536 MiB, the root file system as an initramfs.  Where
  this build refuses `-accel tcg,espt=on` (i386, for now) the mode is
  reported as not available.
* **Debian QEMU**: Debian 12's qemu-system-arm / qemu-system-i386, same
  guest: the QEMU a user has today.
* **user mode**: Debian 12's qemu-arm-static / qemu-i386-static running
  the same binaries in a chroot of the same tree: no memory
  virtualization, the practical ceiling.
* **native** (i386): the same binaries on the host in that chroot, the
  physical limit; reported as not available where the host's kernel
  does not run 32-bit x86 programs.

Times: in system modes the guest's clock around each job (`date` in the
guest), so boot is not included; `boot` is the guest's uptime when init
starts.  In user mode and native the host's wall clock, read the same way.
ESPT counters are read through the monitor (`info espt`) when each job
starts and ends.
""")
p("## Latest run")
p()
p("* Date: %s; %s, %d cores, host Linux %s." % (
    datetime.date.today().isoformat(), cpu, os.cpu_count(),
    platform.release()))
env = " ".join("%s=%s" % (k, shlex.quote(os.environ[k]))
               for k in ("BENCH_ARCHS", "BENCH_MODES", "BENCH_INTERLEAVE")
               if os.environ.get(k))
p("* Command: `%smake bench%s` (`tests/bench/run.sh %s %s`); %s "
  "repetition(s), %s s from the first run to the last." % (
      env + " " if env else "", " QUICK=1" if scale == "quick" else "",
      scale, reps, reps, seconds))
p("* This build: %s; Debian: %s; user mode: %s." % (
    cmd_out([os.path.join(top, "build", "qemu-build", "qemu-system-arm"),
             "--version"]),
    cmd_out(["/usr/bin/qemu-system-arm", "--version"]),
    cmd_out(["/usr/bin/qemu-arm-static", "--version"])))
if kernels:
    p("* Guest kernels: %s." % ", ".join(kernels))
p()
p("Seconds, median (min-max) over the repetitions.")
for arch in arches:
    modes = [m for m in MODES
             if any(m in times.get((arch, j), {}) for j in order)
             or (arch, m) in missing]
    p()
    p("### %s" % arch)
    p()
    p("| program | " + " | ".join(TITLE[m] for m in modes) +
      " | off/on | on/user | Debian/on |")
    p("| --- " * (len(modes) + 4) + "|")
    for j in order:
        if (arch, j) not in times:
            continue
        cells = []
        for m in modes:
            v = times[(arch, j)].get(m)
            if (arch, m) in missing:
                cells.append("not available")
            elif v:
                cells.append("%.2f (%.2f-%.2f)" % (statistics.median(v),
                                                   min(v), max(v)))
            else:
                cells.append("-")
        cells += [f(ratio(arch, j, "espt-off", "espt-on")),
                  f(ratio(arch, j, "espt-on", "user")),
                  f(ratio(arch, j, "debian", "espt-on"))]
        p("| %s | %s |" % (j, " | ".join(cells)))

p()
p("## Geometric means")
p()
p("Of the per-program ratios of medians.  espt=off/espt=on and "
  "Debian/espt=on above 1 mean espt=on is faster; espt=on/user mode is "
  "how far espt=on is from the ceiling.  `boot` is counted with the OS "
  "jobs; user-mode ratios leave it out.")
p()
p("| arch | programs | espt=off/espt=on | espt=on/user | Debian/espt=on "
  "| espt=off/user | Debian/espt=off |")
p("| --- | --- | --- | --- | --- | --- | --- |")
geo = {}
for arch in arches:
    for name, sel in (("CINT-like",
                       lambda j: j not in OS_JOBS + MICRO_JOBS),
                      ("OS", lambda j: j in OS_JOBS),
                      ("memloop", lambda j: j in MICRO_JOBS),
                      ("all but memloop", lambda j: j not in MICRO_JOBS)):
        js = [j for j in order if sel(j) and (arch, j) in times]
        g = [geomean([ratio(arch, j, a, b) for j in js])
             for a, b in (("espt-off", "espt-on"), ("espt-on", "user"),
                          ("debian", "espt-on"), ("espt-off", "user"),
                          ("debian", "espt-off"))]
        geo[(arch, name)] = g
        p("| %s | %s | %s |" % (arch, name, " | ".join(f(x) for x in g)))

p()
p("## ESPT counters per program")
p()
p("Changes of the counters (HMP `info espt`) during each job, "
  "median over the repetitions, espt=on runs; `boot` counts from QEMU's "
  "start.  `runs-peak` is not a change but the most runs of pages (host "
  "VMAs) mapped at once since QEMU started, as it stood when the job "
  "ended; - marks a "
  "counter the run did not record.")
for arch in arches:
    ks = [j for j in order if (arch, j) in ctrs]
    if not ks:
        continue
    p()
    p("### %s" % arch)
    p()
    p("| program | " + " | ".join(SHOWN) + " |")
    p("| --- " * (len(SHOWN) + 1) + "|")
    for j in ks:
        cells = []
        for k in SHOWN:
            v = [c[k] for c in ctrs[(arch, j)] if k in c]
            cells.append("%d" % statistics.median(v) if v else "-")
        p("| %s | %s |" % (j, " | ".join(cells)))

# The chart: per architecture, each mode's time over our fastest system
# mode (espt=on where available, else espt=off), per program.
fig, axes = plt.subplots(len(arches), 1, figsize=(9, 3.4 * len(arches)),
                         squeeze=False)
colors = {"native": "#4daf4a", "user": "#984ea3", "espt-off": "#e41a1c",
          "debian": "#ff7f00", "espt-on": "#377eb8"}
for ax, arch in zip(axes[:, 0], arches):
    base = "espt-on" if (arch, "espt-on") not in missing else "espt-off"
    js = [j for j in order if (arch, j) in times]
    series = [m for m in MODES if m != base and
              any(m in times[(arch, j)] for j in js)]
    width = 0.8 / len(series)
    for i, m in enumerate(series):
        xs = [x + (i - (len(series) - 1) / 2) * width
              for x in range(len(js))]
        pts = [(x, ratio(arch, j, m, base)) for x, j in zip(xs, js)]
        pts = [(x, y) for x, y in pts if y]
        ax.bar([x for x, _ in pts], [y for _, y in pts], width,
               label=TITLE[m], color=colors[m])
    ax.axhline(1, color="black", linewidth=0.8)
    ax.set_yscale("log")
    ax.set_xticks(range(len(js)))
    ax.set_xticklabels(js, rotation=30, ha="right", fontsize=8)
    ax.set_ylabel("time / %s time" % TITLE[base], fontsize=8)
    ax.set_title("%s: time relative to %s (above 1: %s is faster)"
                 % (arch, TITLE[base], TITLE[base]), fontsize=9)
    ax.legend(fontsize=7, ncol=len(series), loc="upper center",
              bbox_to_anchor=(0.5, -0.28), frameon=False)
    ax.tick_params(axis="y", labelsize=7)
fig.tight_layout()
fig.savefig(chart, dpi=72)
p()
p("## Chart")
p()
p("![time of each mode relative to espt=on (espt=off on i386)](%s)"
  % os.path.basename(chart))
