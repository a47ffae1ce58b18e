"""bench/gateway: the report of one run, from the results file run.sh writes.

Each line of the file is one measurement (ROUND is 1-based; NAME a path such as skiff):

    h1   NAME ROUND rps p50_ms p99_ms errors      wrk, HTTP/1.1 keep-alive
    h2   NAME ROUND rps mean_ms errors            h2load, h2c with prior knowledge
    h2   NAME ROUND n/a WHY...                    that path could not be measured
    cpu  NAME ROUND user_us system_us             CPU of the proxy per request of its h1 run
    lat  NAME ROUND p50_us p90_us p99_us count    one request at a time (latency.py)
    mem  NAME before_kib held_kib after_kib open  idle connections (idleconns.py)
    meta KEY VALUE...                             settings and single figures

Prints a section per measurement and one summary table, in Markdown so that it pastes into
a note as it is. Figures are medians over rounds; ratios are Skiff's over the other's.
"""
import statistics
import sys

PROXIES = ["skiff", "nginx", "haproxy", "caddy"]
PEERS = ["nginx", "haproxy"]  # the ones the goal is set against


def load(path):
    h1, h2, lat, mem, meta, cpu = {}, {}, {}, {}, {}, {}
    with open(path) as results:
        for line in results:
            kind, *words = line.split()
            if kind == "meta":
                meta[words[0]] = " ".join(words[1:])
            elif kind == "mem":
                mem[words[0]] = [float(w) for w in words[1:]]
            elif kind == "h2" and words[2] == "n/a":
                h2.setdefault(words[0], []).append(" ".join(words[3:]))
            else:
                table = {"h1": h1, "h2": h2, "lat": lat, "cpu": cpu}[kind]
                table.setdefault(words[0], []).append([float(w) for w in words[2:]])
    return h1, h2, lat, mem, meta, cpu


def medians(rows):
    """The median of each column over the rounds, or the first reason if a round was n/a."""
    reasons = [row for row in rows if isinstance(row, str)]
    if reasons:
        return reasons[0]
    return [statistics.median(column) for column in zip(*rows)]


def ratio(a, b):
    return f"{a / b:.2f}x" if b else "n/a"


def best_peer(figures):
    """The peer with the most req/s among PEERS that were measured."""
    measured = [p for p in PEERS if isinstance(figures.get(p), list)]
    return max(measured, key=lambda p: figures[p][0]) if measured else None


def main():
    h1, h2, lat, mem, meta, cpu = load(sys.argv[1])
    h1 = {name: medians(rows) for name, rows in h1.items()}
    cpu = {name: medians(rows) for name, rows in cpu.items()}
    h2 = {name: medians(rows) for name, rows in h2.items()}
    lat = {name: medians(rows) for name, rows in lat.items()}
    rounds = meta.get("rounds", "?")

    print(f"### HTTP/1.1 keep-alive: {meta.get('h1_tool', 'wrk')}, medians of {rounds} rounds")
    print()
    print("| path | req/s | p50 ms | p99 ms | errors |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for name in ["direct", *PROXIES]:
        if name in h1:
            rps, p50, p99, errors = h1[name]
            print(f"| {name} | {rps:,.0f} | {p50:.2f} | {p99:.2f} | {errors:.0f} |")
    print()
    skiff = h1.get("skiff")
    if skiff:
        for name in ["direct", *PROXIES[1:]]:
            if name in h1:
                other = h1[name]
                print(f"- skiff/{name}: req/s {ratio(skiff[0], other[0])}, p99 {ratio(skiff[2], other[2])}")
        best = best_peer(h1)
        if best:
            other = h1[best]
            met = skiff[0] >= other[0] and skiff[2] <= other[2]
            print(f"- skiff/best(nginx, haproxy) = skiff/{best}: req/s {ratio(skiff[0], other[0])}, "
                  f"p99 {ratio(skiff[2], other[2])} (goal: req/s >= 1.00x with p99 <= 1.00x: "
                  f"{'met' if met else 'not met'})")
    print()

    if cpu:
        print(f"### CPU per proxied request in the HTTP/1.1 runs (from /proc), medians of {rounds} rounds")
        print()
        print("| proxy | user µs | system µs | total µs | skiff/this |")
        print("| --- | ---: | ---: | ---: | ---: |")
        skiff_cpu = sum(cpu["skiff"]) if "skiff" in cpu else None
        for name in PROXIES:
            if name in cpu:
                user, system = cpu[name]
                total = user + system
                share = ratio(skiff_cpu, total) if skiff_cpu is not None else "n/a"
                print(f"| {name} | {user:.1f} | {system:.1f} | {total:.1f} | {share} |")
        print()

    print(f"### h2c, prior knowledge, HTTP/1.1 keep-alive upstream: {meta.get('h2_tool', 'h2load')}, "
          f"medians of {rounds} rounds")
    print()
    print("| path | req/s | mean ms | errors |")
    print("| --- | ---: | ---: | ---: |")
    for name in PROXIES:
        if name not in h2:
            continue
        if isinstance(h2[name], str):
            print(f"| {name} | n/a ({h2[name]}) | | |")
        else:
            rps, mean, errors = h2[name]
            print(f"| {name} | {rps:,.0f} | {mean:.2f} | {errors:.0f} |")
    print()
    skiff2 = h2.get("skiff")
    if isinstance(skiff2, list):
        for name in PROXIES[1:]:
            if isinstance(h2.get(name), list):
                print(f"- skiff/{name}: req/s {ratio(skiff2[0], h2[name][0])}")
        best = best_peer(h2)
        if best:
            met = skiff2[0] >= h2[best][0]
            print(f"- skiff/best(nginx, haproxy) = skiff/{best}: req/s {ratio(skiff2[0], h2[best][0])} "
                  f"({'met' if met else 'not met'})")
    elif skiff2 is not None:
        print(f"- skiff: n/a ({skiff2})")
    print()

    print(f"### Added latency at light load: {meta.get('lat_tool', 'latency.py')}, medians of {rounds} rounds")
    print()
    print("| path | p50 µs | p90 µs | p99 µs | added p50 µs | added p90 µs |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    floor = lat.get("direct")
    for name in ["direct", *PROXIES]:
        if name in lat:
            p50, p90, p99, _ = lat[name]
            added = f"{p50 - floor[0]:.0f} | {p90 - floor[1]:.0f}" if floor else "n/a | n/a"
            print(f"| {name} | {p50:.0f} | {p90:.0f} | {p99:.0f} | {added} |")
    print()

    connections = meta.get("idle_connections", "?")
    print(f"### Memory: {connections} idle keep-alive client connections, each after one request")
    print()
    print("| proxy | RSS before MiB | held MiB | after close MiB | delta MiB | KiB/connection | open while held |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name in PROXIES:
        if name in mem:
            before, held, after, still_open = mem[name]
            delta = held - before
            per = delta / still_open if still_open else 0
            print(f"| {name} | {before / 1024:.1f} | {held / 1024:.1f} | {after / 1024:.1f} | {delta / 1024:.1f} | "
                  f"{per:.1f} | {still_open:.0f} |")
    print()
    if "skiff" in mem:
        before, held, _, still_open = mem["skiff"]
        delta = (held - before) / 1024
        # The goal is stated for 10,000 connections; other counts are scaled to it.
        projected = delta * 10000 / still_open if still_open else float("inf")
        verdict = "met" if projected < 64 else "not met"
        scaled = "" if still_open == 10000 else f", {projected:.1f} MiB scaled to 10,000"
        print(f"- skiff gateway: {delta:.1f} MiB for {still_open:.0f} idle connections{scaled} "
              f"(goal: under 64 MiB for 10,000: {verdict})")
        print()

    print("### Summary")
    print()
    print("| path | HTTP/1.1 req/s | p99 ms | skiff/this | h2c req/s | skiff/this | light-load p50 µs (added) "
          "| idle conns delta MiB |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name in ["direct", *PROXIES]:
        cells = [name]
        if name in h1:
            cells += [f"{h1[name][0]:,.0f}", f"{h1[name][2]:.2f}", ratio(skiff[0], h1[name][0]) if skiff else "n/a"]
        else:
            cells += ["", "", ""]
        if isinstance(h2.get(name), list):
            cells += [f"{h2[name][0]:,.0f}", ratio(skiff2[0], h2[name][0]) if isinstance(skiff2, list) else "n/a"]
        elif name in h2:
            cells += ["n/a", "n/a"]
        else:
            cells += ["", ""]
        if name in lat:
            added = f" (+{lat[name][0] - floor[0]:.0f})" if floor and name != "direct" else ""
            cells.append(f"{lat[name][0]:.0f}{added}")
        else:
            cells.append("")
        cells.append(f"{(mem[name][1] - mem[name][0]) / 1024:.1f}" if name in mem else "")
        print("| " + " | ".join(cells) + " |")
    print()
    if "deploy_ms" in meta:
        print(f"deploy to first 200: {meta['deploy_ms']} ms")
    if "idle_rss_kib" in meta:
        print(f"server idle RSS: {int(meta['idle_rss_kib']) / 1024:.1f} MiB")
    if "load_start" in meta:
        # Other work on the machine skews every figure; the rotation spreads it, this shows it.
        print(f"load average (1, 5, 15 min): {meta['load_start']} at the start, {meta.get('load_end', '?')} at the end")


if __name__ == "__main__":
    main()
