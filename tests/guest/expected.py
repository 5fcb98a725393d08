#!/usr/bin/python3
"""Print the RESULT lines tests/guest/workload must produce."""
import hashlib
import sys

n = int(sys.argv[1]) if len(sys.argv) > 1 else 120000
forks = int(sys.argv[2]) if len(sys.argv) > 2 else 300

rows = []
x = 1
for i in range(n):
    x = (x * 16807) % 2147483647
    rows.append((i, x))
lines = ["%d %08x\n" % r for r in rows]
data = "".join(lines).encode()


def md5(b):
    return hashlib.md5(b).hexdigest()


s = 0
for i, _ in rows:
    s = (s * 31 + i) % 1000000007

by_hex = sorted(lines, key=lambda l: (l.split()[1], l))
by_num = sorted(lines, key=lambda l: int(l.split()[0]), reverse=True)
print("RESULT data-md5", md5(data))
print("RESULT sort-md5", md5("".join(by_hex).encode()))
print("RESULT sort-rn-md5", md5("".join(by_num).encode()))
print("RESULT gzip-md5", md5(data))
print("RESULT bzip2-md5", md5(data))
print("RESULT awk-hash", s)
print("RESULT sha256", hashlib.sha256(data).hexdigest())
print("RESULT forks", forks)
print("RESULT pipes", 50)
