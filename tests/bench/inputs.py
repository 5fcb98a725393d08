#!/usr/bin/python3
"""Write the benchmarks' inputs to DIR, deterministically, at SCALE.

    inputs.py DIR quick|full

Everything here is a function of SCALE alone: a fixed linear congruential
generator, no clock, no host state.  DIR/params holds the sizes that the
guest's tests/bench/suite reads.
"""
import io
import os
import tarfile
import sys

out, scale = sys.argv[1], sys.argv[2]
# Sizes for each job: roughly 10-20 s each under espt=off for "full".
P = {
    "quick": dict(text=2000, data=600000, xz=300000,
                  gcc_files="tsp/maxflow.c tsp/misc.c", go_moves=6,
                  go_level=4, chess_depth=5, frames=6, xml=1500, sql=8000,
                  nodes=400, forks=200, pf=4, pf_mb=16, pipes=5000,
                  tree=100, mem_n=40, mem_kb=4096),
    "full": dict(text=6000, data=7000000, xz=2000000,
                 gcc_files="cplex/cplex.c tsp/mincut.c tsp/tsplib.c",
                 go_moves=10, go_level=8, chess_depth=8, frames=60,
                 xml=24000, sql=90000, nodes=700, forks=700, pf=20,
                 pf_mb=32, pipes=30000, tree=1200, mem_n=300,
                 mem_kb=4096),
}[scale]


class Rand:
    def __init__(self, seed):
        self.x = seed

    def next(self):
        self.x = (self.x * 1103515245 + 12345) & 0x7fffffff
        return self.x >> 8

    def below(self, n):
        return self.next() % n


os.makedirs(out, exist_ok=True)
r = Rand(2006)
syll = ["ka", "to", "ri", "en", "sa", "mo", "lu", "ne", "pi", "da", "che",
        "vo", "ta", "ing", "er", "an", "is", "ul", "or", "th"]
words = ["".join(syll[r.below(len(syll))] for _ in range(1 + r.below(4)))
         for _ in range(3000)]


def sentence():
    n = 5 + r.below(15)
    w = [words[min(r.below(3000), r.below(3000))] for _ in range(n)]
    w[0] = w[0].capitalize()
    if r.below(5) == 0:
        w.insert(r.below(n), str(r.below(100000)))
    if r.below(7) == 0:
        w.insert(r.below(n), "user%d@host%d.example" % (r.below(999),
                                                        r.below(50)))
    return " ".join(w) + "."


# perlbench: prose with numbers and mail addresses.
with open(os.path.join(out, "text.txt"), "w") as f:
    for i in range(P["text"]):
        f.write(" ".join(sentence() for _ in range(1 + r.below(4))) + "\n")

# bzip2, xz: a mix of prose and structured records.
with open(os.path.join(out, "data.bin"), "wb") as f:
    size = 0
    while size < P["data"]:
        if r.below(3):
            b = (sentence() + "\n").encode()
        else:
            b = ("%08x,%d,%s,%d\n" % (r.next(), r.below(1000),
                                      words[r.below(3000)],
                                      r.below(7))).encode()
        f.write(b)
        size += len(b)

# h264ref: YUV 4:2:0 frames of moving gradients and blocks, as y4m.
w, h = 320, 240
with open(os.path.join(out, "video.y4m"), "wb") as f:
    f.write(b"YUV4MPEG2 W%d H%d F25:1 Ip A1:1 C420jpeg\n" % (w, h))
    boxes = [(r.below(w), r.below(h), 8 + r.below(40), 8 + r.below(40),
              r.below(7) - 3, r.below(7) - 3, r.below(256)) for _ in range(12)]
    for t in range(P["frames"]):
        y = bytearray((x + 2 * t + (row >> 2)) & 0xff
                      for row in range(h) for x in range(w))
        for (bx, by, bw, bh, dx, dy, c) in boxes:
            x0, y0 = (bx + dx * t) % w, (by + dy * t) % h
            for row in range(y0, min(h, y0 + bh)):
                s = row * w
                y[s + x0:s + min(w, x0 + bw)] = bytes([c]) * (min(w, x0 + bw)
                                                              - x0)
        u = bytes(((x * 3 + t) & 0xff) for row in range(h // 2)
                  for x in range(w // 2))
        v = bytes(((row * 5 - t) & 0xff) for row in range(h // 2)
                  for x in range(w // 2))
        f.write(b"FRAME\n" + bytes(y) + u + v)

# xalancbmk: a catalogue to sort, group and format.
with open(os.path.join(out, "doc.xml"), "w") as f:
    f.write("<?xml version=\"1.0\"?>\n<catalog>\n")
    for i in range(P["xml"]):
        f.write("<item id=\"%d\" cat=\"%s\" price=\"%d.%02d\" qty=\"%d\">"
                "<name>%s %s</name><note>%s</note></item>\n"
                % (i, words[r.below(40)], r.below(500), r.below(100),
                   r.below(50), words[r.below(3000)], words[r.below(3000)],
                   sentence().replace("@", " at ")))
    f.write("</catalog>\n")

# mcf: a min-cost flow problem in DIMACS form for glpsol --mincost.
n = P["nodes"]
arcs = []
for i in range(1, n):
    arcs.append((i, i + 1, 0, 10 ** 6, 1 + r.below(100)))
for _ in range(n * 8):
    a, b = 1 + r.below(n), 1 + r.below(n)
    if a != b:
        arcs.append((a, b, 0, 5 + r.below(50), 1 + r.below(1000)))
supply = {}
for _ in range(n // 10):
    a, b, q = 1 + r.below(n), 1 + r.below(n), 1 + r.below(40)
    supply[a] = supply.get(a, 0) + q
    supply[b] = supply.get(b, 0) - q
with open(os.path.join(out, "net.min"), "w") as f:
    f.write("c generated\np min %d %d\n" % (n, len(arcs)))
    for k in sorted(supply):
        if supply[k]:
            f.write("n %d %d\n" % (k, supply[k]))
    for a in arcs:
        f.write("a %d %d %d %d %d\n" % a)

# gobmk: moves to play before gnugo thinks for itself.
with open(os.path.join(out, "go.gtp"), "w") as f:
    f.write("boardsize 9\nclear_board\nkomi 6.5\nlevel %d\n" % P["go_level"])
    f.write("play black E5\nplay white C4\n")
    for i in range(P["go_moves"]):
        f.write("genmove %s\n" % ("black" if i % 2 == 0 else "white"))
    f.write("final_score\nquit\n")

# tar: a tree of files to extract, archive and compress.
with open(os.path.join(out, "data.bin"), "rb") as f:
    data = f.read()
with tarfile.open(os.path.join(out, "tree.tar"), "w",
                  format=tarfile.GNU_FORMAT) as t:
    for i in range(P["tree"]):
        n, o = 200 + r.below(20000), r.below(len(data) - 20200)
        info = tarfile.TarInfo("d%02d/s%02d/f%05d" % (r.below(20), r.below(10),
                                                     i))
        info.size, info.mtime, info.mode = n, 0, 0o644
        t.addfile(info, io.BytesIO(data[o:o + n]))

with open(os.path.join(out, "params"), "w") as f:
    for k in sorted(P):
        f.write("%s='%s'\n" % (k, P[k]))
