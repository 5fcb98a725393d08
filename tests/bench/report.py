#!/usr/bin/python3
"""Turn tests/bench/run.sh's CSV into docs/benchmarks.md (on stdout)."""
import csv
import datetime
import os
import platform
import statistics
import sys

rows = list(csv.DictReader(open(sys.argv[1])))
counters = open(sys.argv[2]).read().splitlines() if len(sys.argv) > 2 else []

times = {}
for r in rows:
    key = (r["kernel"], r["phase"])
    times.setdefault(key, {}).setdefault(r["mode"], []).append(
        float(r["seconds"]))

cpu = "unknown CPU"
try:
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
except OSError:
    pass
reps = max(int(r["rep"]) for r in rows) if rows else 0

print("# Benchmarks")
print()
print("Latest run: %s, %s, %d cores, Linux %s; %d repetitions, modes "
      "interleaved." % (datetime.date.today().isoformat(), cpu,
                        os.cpu_count(), platform.release(), reps))
print()
print("Command: `make bench` (`tests/bench/run.sh 3`); `make bench QUICK=1` "
      "runs one repetition.  Each run boots Debian 12's kernel on `virt` "
      "(cortex-a15, 512 MiB) with the test initramfs and runs "
      "tests/guest/workload, whose results are checked; phase times are "
      "guest uptime differences, `total` is host wall time of the whole "
      "run, boot included.  Medians, with min-max spread.")
print()
print("| kernel | phase | espt=off (s) | espt=on (s) | off/on |")
print("| --- | --- | --- | --- | --- |")


def fmt(v):
    return "%.2f (%.2f-%.2f)" % (statistics.median(v), min(v), max(v))


ratios = {}
for (kernel, phase), m in sorted(times.items()):
    off, on = m.get("off"), m.get("on")
    if not off or not on:
        continue
    mo, mn = statistics.median(off), statistics.median(on)
    ratio = mo / mn if mn > 0 else float("nan")
    ratios.setdefault(kernel, []).append(ratio)
    print("| %s | %s | %s | %s | %.2fx |" % (kernel, phase, fmt(off),
                                            fmt(on), ratio))
print()
print("off/on above 1 means espt=on is faster.")
print()
print("## ESPT counters (espt=on runs)")
print()
for line in counters:
    print("    " + line)
