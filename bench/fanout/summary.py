#!/usr/bin/env python3
"""Summary of bench/fanout's step lines: each server's figures side by side, carecomm's ratios,
the highest clean rate per room size, and the goal of issue 4. Usage: summary.py RESULTS_FILE"""
import sys

rows = []
for line in open(sys.argv[1]):
    if not line.startswith("server="):
        continue
    kv = dict(f.split("=", 1) for f in line.split() if "=" in f)
    rows.append(kv)

steps = [r for r in rows if "rate" in r]
servers = []
for r in rows:
    if r["server"] not in servers:
        servers.append(r["server"])
ns = sorted({int(r["n"]) for r in steps})
by = {(r["server"], int(r["n"]), float(r["rate"])): r for r in steps}


def cell(r):
    if r is None:
        return "-"
    mark = "" if r["clean"] == "1" else "*"
    return f'{float(r["cpu_us_per_delivery"]):.1f}us/{float(r["p99_ms"]):.0f}ms{mark}'


print()
print("# fanout summary: server CPU per delivery / p99 latency; * = not clean (p99 >= 100 ms, "
      "or lost, duplicated or failed messages)")
hdr = f'{"N":>5} {"msg/s":>6} {"deliv/s":>8}  ' + "  ".join(f"{s:>17}" for s in servers)
print(hdr)
for n in ns:
    for rate in sorted({k[2] for k in by if k[1] == n}):
        print(f"{n:>5} {rate:>6g} {int(rate * n):>8}  " +
              "  ".join(f"{cell(by.get((s, n, rate))):>17}" for s in servers))
for r in rows:
    if "rate" not in r:
        extra = " ".join(f"{k}={v}" for k, v in r.items() if k not in ("server", "n"))
        print(f'{r["n"]:>5} {r["server"]}: {extra}')

peers = [s for s in servers if s != "carecomm"]
if "carecomm" in servers and peers:
    print()
    print("# carecomm's ratios at the same N and rate: CPU per delivery (carecomm / peer, "
          "below 1 = carecomm cheaper), both clean only")
    for n in ns:
        for rate in sorted({k[2] for k in by if k[1] == n}):
            c = by.get(("carecomm", n, rate))
            if not c or c["clean"] != "1":
                continue
            parts = []
            for p in peers:
                r = by.get((p, n, rate))
                if r and r["clean"] == "1" and float(r["cpu_us_per_delivery"]) > 0:
                    parts.append(f'{p} {float(c["cpu_us_per_delivery"]) / float(r["cpu_us_per_delivery"]):.2f}')
                else:
                    parts.append(f"{p} - (not clean)" if r else f"{p} -")
            print(f"{n:>5} {rate:>6g}  " + ", ".join(parts))

print()
print("# highest clean offered rate per N (msg/s, deliveries/s)" +
      (" and carecomm's ratio to it" if "carecomm" in servers else ""))
best = {}
for (s, n, rate), r in by.items():
    if r["clean"] == "1" and rate > best.get((s, n), 0):
        best[(s, n)] = rate
for n in ns:
    parts = []
    for s in servers:
        b = best.get((s, n))
        txt = f"{s} {b:g} ({int(b * n)}/s)" if b else f"{s} none"
        if s != "carecomm" and b and best.get(("carecomm", n)):
            txt += f" x{best[('carecomm', n)] / b:.2f}"
        parts.append(txt)
    print(f"{n:>5}  " + ", ".join(parts))

g = by.get(("carecomm", 1000, 50.0))
if "carecomm" in servers:
    print()
    if g:
        ok = g["clean"] == "1" and float(g["cpu_us_per_delivery"]) < 20
        print(f'# goal (N=1000, 50 msg/s: clean, < 20 us CPU per delivery): '
              f'{"MET" if ok else "NOT MET"} (cpu {g["cpu_us_per_delivery"]} us, '
              f'p99 {g["p99_ms"]} ms, lost {g["lost"]}, dup {g["dup"]})')
    else:
        print("# goal (N=1000, 50 msg/s): no carecomm step at N=1000, 50 msg/s in this run")
