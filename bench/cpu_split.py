"""Reads `perf report --sort dso,sym --stdio` on stdin and prints one JSON line: the share
of the server's CPU samples spent in the password hash (Argon2 and its BLAKE2b), in the
kernel (network, scheduling), and in everything else (idgate, HTTP, SQL, allocation)."""
import json
import re
import sys

label = sys.argv[1] if len(sys.argv) > 1 else "?"
hash_pct = kernel_pct = other_pct = 0.0
for line in sys.stdin:
    m = re.match(r"\s*([\d.]+)%\s+(\S+)\s+\[(.)\]\s+(.*)", line)
    if not m:
        continue
    pct, _dso, kind, sym = float(m.group(1)), m.group(2), m.group(3), m.group(4)
    if kind == "k":
        kernel_pct += pct
    elif re.search(r"argon2|blake2|Blake2|fill_block|compress", sym):
        hash_pct += pct
    else:
        other_pct += pct
print(json.dumps({
    "scenario": "cpu_split",
    "label": label,
    "argon2_pct": round(hash_pct, 1),
    "kernel_pct": round(kernel_pct, 1),
    "other_pct": round(other_pct, 1),
}))
