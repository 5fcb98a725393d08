#!/usr/bin/python3
"""Run the benchmark suite in every mode, interleaved; append to a CSV.

    run.py OUTDIR REPS JOB...      (called by tests/bench/run.sh)

Modes, per architecture, each repetition running every mode once, in turn:
  native    (i386 only) the guest's binaries on this host, in a chroot
  user      Debian 12's qemu-user-static, in a chroot (binfmt_misc)
  espt-on   this build's qemu-system-*, -accel tcg,espt=on
  espt-off  this build's qemu-system-*, -accel tcg,espt=off
  debian    Debian 12's qemu-system-*, -accel tcg
The first mode that runs (native or user) sets each job's reference
output; every other run must print the same checksum or the run fails.
For a quick comparison, BENCH_ARCHS and BENCH_MODES (space-separated)
limit a run to some architectures and modes; the report then shows
only those.  BENCH_INTERLEAVE=job runs one job per boot, every mode in
turn for each job, so that a job's runs in the different modes are
seconds apart instead of minutes, on a host whose speed drifts; each
boot then also records a `boot` time.
System modes boot the guest on build/bench/initrd-ARCH.cpio; the times
are the guest's clock around each job, user and native the host's.
"""
import csv
import os
import re
import select
import socket
import subprocess
import sys
import tempfile
import time

top = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
out, reps, jobs = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
ours = os.path.join(top, "build", "qemu-build", "qemu-system-%s")
assets = os.path.join(top, "build", "assets")
PATH = "/usr/bin:/bin:/usr/sbin:/sbin:/usr/games"
# Cumulative ESPT counters, in the order `info espt` prints them: each
# job records how much they grew while it ran.
COUNTERS = ["faults", "ro-faults", "maps", "fill-runs", "unmaps",
            "write-protects", "window-drops", "evictions", "switches",
            "jump-caches-kept", "prefills", "refreshes", "refresh-kept",
            "demoted", "mmio-faults", "code-faults", "guest-faults",
            "tables", "table-writes", "table-floods", "hot-tables",
            "unmirrorable", "map-failures", "periods-on", "periods-off",
            "young-regimes", "grown-regimes"]
# Gauges recorded as they stand when a job ends (runs-peak: the most
# mmaps mapped at once since QEMU started).
GAUGES = ["runs-peak"]
ARCH = {
    "arm": dict(deb="armhf", kernel="armmp", console="ttyAMA0",
                machine=["-M", "virt", "-cpu", "cortex-a15"],
                magic=r"\x7fELF\x01\x01\x01\x00\x00\x00\x00\x00\x00\x00"
                r"\x00\x00\x02\x00\x28\x00",
                mask=r"\xff\xff\xff\xff\xff\xff\xff\x00\xff\xff\xff\xff"
                r"\xff\xff\xff\xff\xfe\xff\xff\xff",
                modes=["user", "espt-on", "espt-off", "debian"]),
    "i386": dict(deb="i386", kernel="686", console="ttyS0",
                 machine=["-M", "pc", "-cpu", "max"],
                 magic=r"\x7fELF\x01\x01\x01\x00\x00\x00\x00\x00\x00\x00"
                 r"\x00\x00\x02\x00\x03\x00",
                 mask=r"\xff\xff\xff\xff\xff\xfe\xfe\x00\xff\xff\xff\xff"
                 r"\xff\xff\xff\xff\xfe\xff\xff\xff",
                 modes=["native", "user", "espt-on", "espt-off", "debian"]),
}
BINFMT = "/proc/sys/fs/binfmt_misc"


class BenchError(Exception):
    pass


def say(msg):
    sys.stderr.write("bench: %s\n" % msg)
    sys.stderr.flush()


def qemu_of(arch, mode):
    if mode == "debian":
        return "/usr/bin/qemu-system-%s" % arch
    path = ours % arch
    for _ in range(60):         # the other tree may be relinking it
        if os.access(path, os.X_OK):
            return path
        time.sleep(5)
    raise BenchError("%s is missing; run make" % path)


def espt_available(arch):
    r = subprocess.run([qemu_of(arch, "espt-on"), "-M", "none",
                        "-nodefaults", "-display", "none", "-monitor",
                        "stdio", "-accel", "tcg,espt=on"],
                       input=b"quit\n", stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, timeout=60)
    return r.returncode == 0


def native_available(arch):
    """Whether this host's kernel runs ARCH's programs itself.

    Where another binfmt_misc handler would emulate them, run_chroot
    refuses the run with its own message."""
    if foreign_handler(arch):
        return True
    r = subprocess.run(["chroot", os.path.join(out, "root-" + arch),
                        "/bin/true"], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
    return r.returncode == 0


def parse_counters(text):
    m = re.search(r"espt: faults (\d+) \(on read-only pages (\d+)\)(.*)",
                  text)
    if not m:
        return None
    c = {"faults": int(m.group(1)), "ro-faults": int(m.group(2))}
    for k, v in re.findall(r"([a-z-]+) (\d+)", m.group(3)):
        c[k] = int(v)
    return c


class Monitor:
    """HMP on a unix socket, to read 'info espt' between jobs."""

    def __init__(self, path):
        self.s = None
        for _ in range(200):
            try:
                s = socket.socket(socket.AF_UNIX)
                s.connect(path)
                self.s = s
                break
            except OSError:
                time.sleep(0.05)
        if self.s:
            self.read()

    def read(self):
        buf = b""
        self.s.settimeout(30)
        while not buf.endswith(b"(qemu) "):
            d = self.s.recv(4096)
            if not d:
                break
            buf += d
        return buf.decode(errors="replace")

    def counters(self):
        if not self.s:
            return None
        try:
            self.s.sendall(b"info espt\n")
            return parse_counters(self.read())
        except OSError:
            return None


def delta(a, b):
    if not a or not b:
        return ""
    return ";".join(["%s=%d" % (k, b.get(k, 0) - a.get(k, 0))
                     for k in COUNTERS] +
                    ["%s=%d" % (k, b.get(k, 0)) for k in GAUGES])


def follow(proc, label, njobs, mon=None, deadline=7200):
    """Read BENCH lines from proc's stdout; yield (job, ms, md5, counters)."""
    t_end = time.time() + deadline
    buf, tail, n = b"", [], 0
    start = mon.counters() if mon else None
    last = start
    fd = proc.stdout.fileno()
    while True:
        if time.time() > t_end:
            proc.kill()
            raise BenchError("%s: no end after %d s" % (label, deadline))
        r, _, _ = select.select([fd], [], [], 5)
        if not r:
            continue
        d = os.read(fd, 65536)
        if not d:
            break
        buf += d
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            line = line.decode(errors="replace").replace("\r", "").strip()
            tail = (tail + [line])[-20:]
            f = line.split()
            if len(f) == 2 and f[0] == "BENCH-START":
                n += 1
                say("%s: %s (%d/%d)" % (label, f[1], n, njobs))
                last = mon.counters() if mon else None
            elif len(f) == 4 and f[0] == "BENCH" and f[1] == "boot":
                c = mon.counters() if mon else None
                yield "boot", int(f[2]), "-", delta(
                    dict.fromkeys(COUNTERS, 0), c)
            elif len(f) >= 3 and f[0] == "BENCH" and f[2] == "FAIL":
                proc.kill()
                raise BenchError("%s: %s failed:\n  %s" % (
                    label, f[1], "\n  ".join(tail[-8:])))
            elif len(f) == 4 and f[0] == "BENCH":
                c = mon.counters() if mon else None
                yield f[1], int(f[2]), f[3], delta(last, c)
            elif line == "BENCH-END":
                n = -1
    proc.wait()
    if n != -1:
        raise BenchError("%s: the guest stopped before the end "
                         "(exit %d):\n  %s" % (label, proc.returncode,
                                               "\n  ".join(tail[-8:])))


def run_system(arch, mode, label, js):
    a = ARCH[arch]
    accel = "tcg"
    if mode in ("espt-on", "espt-off"):
        accel += ",espt=" + mode[5:]
    with tempfile.TemporaryDirectory() as tmp:
        sock = os.path.join(tmp, "mon")
        cmd = [qemu_of(arch, mode)] + a["machine"] + [
            "-m", "1536", "-display", "none", "-serial", "stdio",
            "-monitor", "unix:%s,server=on,wait=off" % sock,
            "-nic", "none", "-no-reboot",
            "-kernel", os.path.join(assets, a["kernel"], "vmlinuz"),
            "-initrd", os.path.join(out, "initrd-%s.cpio" % arch),
            "-append", "console=%s quiet bench.jobs=%s" % (
                a["console"], ",".join(js)),
            "-accel", accel]
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT)
        mon = Monitor(sock) if mode == "espt-on" else None
        try:
            yield from follow(proc, label, len(js), mon)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


def binfmt(arch, on):
    name = os.path.join(BINFMT, "espt-bench-" + arch)
    if os.path.exists(name):
        with open(name, "w") as f:
            f.write("-1")
    if on:
        if not os.path.exists(os.path.join(BINFMT, "register")):
            subprocess.run(["mount", "-t", "binfmt_misc", "binfmt_misc",
                            BINFMT], check=True)
        a = ARCH[arch]
        with open(os.path.join(BINFMT, "register"), "w") as f:
            f.write(":espt-bench-%s:M::%s:%s:/usr/bin/qemu-%s-static:F" % (
                arch, a["magic"], a["mask"], arch))


def foreign_handler(arch):
    """A binfmt_misc entry, not ours, that would run ARCH's binaries."""
    magic = ARCH[arch]["magic"].encode().decode("unicode_escape")
    magic = magic.encode("latin1").hex()
    try:
        names = os.listdir(BINFMT)
    except OSError:
        return None
    for n in names:
        if n in ("register", "status") or n.startswith("espt-bench-"):
            continue
        try:
            e = open(os.path.join(BINFMT, n)).read()
        except OSError:
            continue
        if e.startswith("enabled") and "magic " + magic in e:
            return n
    return None


def run_chroot(arch, mode, label, js):
    root = os.path.join(out, "root-" + arch)
    if mode == "native" and foreign_handler(arch):
        raise BenchError("%s: binfmt_misc handler %s would emulate the "
                         "native run; disable it" % (label,
                                                     foreign_handler(arch)))
    mounts = []
    try:
        for fs, d in (("tmpfs", "tmp"), ("proc", "proc")):
            subprocess.run(["mount", "-t", fs, fs, os.path.join(root, d)],
                           check=True)
            mounts.append(os.path.join(root, d))
        null = os.path.join(root, "dev", "null")
        if not os.path.exists(null):
            os.mknod(null, 0o20666, os.makedev(1, 3))
            os.chmod(null, 0o666)
        if mode == "user":
            binfmt(arch, True)
        proc = subprocess.Popen(
            ["chroot", root, "/usr/bin/env", "-i", "PATH=" + PATH,
             "HOME=/tmp", "LC_ALL=C", "/bin/sh", "/bench/suite"] + js,
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT)
        try:
            yield from follow(proc, label, len(js))
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    finally:
        binfmt(arch, False)
        for m in reversed(mounts):
            subprocess.run(["umount", m])


def check(ref, arch, job, md5, mode, label):
    key = (arch, job)
    if key not in ref:
        ref[key] = (md5, mode)
    elif ref[key][0] != md5:
        raise BenchError("%s: %s printed a wrong result (checksum %s where "
                         "%s mode printed %s)" % (label, job, md5,
                                                  ref[key][1], ref[key][0]))


def main():
    order = os.environ.get("BENCH_INTERLEAVE", "mode")
    if order not in ("mode", "job"):
        raise BenchError("BENCH_INTERLEAVE is mode or job, not %r" % order)
    csvpath = os.path.join(out, "results.csv")
    f = open(csvpath, "w", newline="", buffering=1)
    w = csv.writer(f)
    w.writerow(["arch", "program", "mode", "rep", "seconds", "status",
                "espt_counters"])
    avail = {}
    for arch in ARCH:
        avail[arch, "espt-on"] = espt_available(arch)
        if not avail[arch, "espt-on"]:
            say("%s: espt=on is not available in this build; "
                "reported as such" % arch)
        if "native" in ARCH[arch]["modes"]:
            avail[arch, "native"] = native_available(arch)
            if not avail[arch, "native"]:
                say("%s: this host's kernel does not run %s programs; "
                    "native reported as not available" % (arch, arch))
        for mode in ("espt-on", "native"):
            if not avail.get((arch, mode), True):
                for j in ["boot"] + jobs:
                    w.writerow([arch, j, mode, 0, "", "not available", ""])
    ref = {}
    archs = os.environ.get("BENCH_ARCHS", "").split() or list(ARCH)
    modes = os.environ.get("BENCH_MODES", "").split()
    groups = [[j] for j in jobs] if order == "job" else [jobs]
    for rep in range(1, reps + 1):
        for arch in archs:
            for js in groups:
                for mode in ARCH[arch]["modes"]:
                    if not avail.get((arch, mode), True) or \
                            (modes and mode not in modes):
                        continue
                    label = "rep %d/%d %s %s" % (rep, reps, arch, mode)
                    if mode in ("native", "user"):
                        runs = run_chroot(arch, mode, label, js)
                    else:
                        runs = run_system(arch, mode, label, js)
                    try:
                        for job, ms, md5, ctr in runs:
                            check(ref, arch, job, md5, mode, label)
                            w.writerow([arch, job, mode, rep,
                                        "%.3f" % (ms / 1000), "ok", ctr])
                    finally:
                        runs.close()
    f.close()
    with open(os.path.join(out, "reference.txt"), "w") as f:
        for (arch, job), (md5, mode) in sorted(ref.items()):
            f.write("%s %s %s (from %s)\n" % (arch, job, md5, mode))


try:
    main()
except (BenchError, subprocess.SubprocessError, OSError) as e:
    say(str(e))
    sys.exit(1)
