#!/usr/bin/env python3
"""Helpers for bench/run: CPU sampling, parsing one pgbench run, and the Markdown report.

  benchlib.py sample PID[,PID…] OUT [INTERVAL]   append "epoch_seconds cpu_ticks" (summed over the PIDs) to OUT until killed
  benchlib.py sample-machine OUT [INTERVAL]      append "epoch_seconds busy_ticks idle_ticks" of the whole machine (/proc/stat) until killed
  benchlib.py run-result ...              one pgbench run -> one JSON line (see parse_run)
  benchlib.py logged-between FROM TO LOG…  completed transactions of pgbench's logs that ended in [FROM, TO)
  benchlib.py report RUNS META OUT        runs.jsonl + meta.json -> the pgbench part of the report
  benchlib.py idle-report IDLE META OUT   idle.jsonl -> replaces the idle section of OUT

Standard library only.
"""

import argparse
import glob
import json
import math
import os
import re
import signal
import statistics
import sys
import time

TARGET_NAMES = {"postgres": "PostgreSQL (direct)", "pgbouncer": "PgBouncer", "pooler": "Pooler",
                "relay": "Pooler relayed (client on a non-owner node)"}
WORKLOAD_NAMES = {"select": "`-S` select-only", "tpcb": "TPC-B-like (default)"}
IDLE_MARK = "<!-- idle-connections -->"


# ---------------------------------------------------------------------------------------------
# /proc


def cpu_ticks(pid):
    """utime + stime of the whole process (all threads), in clock ticks."""
    with open(f"/proc/{pid}/stat") as f:
        stat = f.read()
    fields = stat[stat.rindex(")") + 2:].split()
    return int(fields[11]) + int(fields[12])  # fields 14 and 15 of the line


def cpu_ticks_sum(pids):
    """utime + stime of several processes together (the relay target: entry node + owner node)."""
    return sum(cpu_ticks(p) for p in pids)


def sample_until_stopped(out_path, interval, read):
    """Appends "epoch_seconds <read()>" to OUT every INTERVAL seconds, flushing each line, until
    SIGTERM or SIGINT, or until read() fails (a sampled process is gone); then one last line, so
    that the window's end is always bracketed."""
    running = True

    def stop(*_):
        nonlocal running
        running = False

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    with open(out_path, "a", buffering=1) as out:
        while running:
            try:
                values = read()
            except (OSError, ValueError, IndexError):
                return
            out.write(f"{time.time():.6f} {values}\n")
            time.sleep(interval)
        try:
            out.write(f"{time.time():.6f} {read()}\n")
        except (OSError, ValueError, IndexError):
            pass


def cmd_sample(args):
    """Samples the CPU time of one process, or the sum of several. Stops when any of them is gone."""
    pids = [int(p) for p in args.pid.split(",") if p]
    sample_until_stopped(args.out, args.interval, lambda: cpu_ticks_sum(pids))


def machine_ticks():
    """The whole machine's busy and idle CPU time so far (all CPUs), in clock ticks; iowait counts as idle."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    busy = sum(fields[:8]) - idle  # user nice system idle iowait irq softirq steal (guest time is inside user)
    return busy, idle


def cmd_sample_machine(args):
    """Samples the machine's busy and idle CPU time."""
    sample_until_stopped(args.out, args.interval, lambda: "%d %d" % machine_ticks())


def interpolate(samples, t):
    """CPU ticks at time t, linearly interpolated between the two samples around it."""
    if not samples:
        return None
    if t <= samples[0][0]:
        return float(samples[0][1])
    if t >= samples[-1][0]:
        return float(samples[-1][1])
    lo, hi = 0, len(samples) - 1
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if samples[mid][0] <= t:
            lo = mid
        else:
            hi = mid
    (t0, c0), (t1, c1) = samples[lo], samples[hi]
    return c0 + (c1 - c0) * (t - t0) / (t1 - t0) if t1 > t0 else float(c0)


# ---------------------------------------------------------------------------------------------
# One pgbench run


def parse_pgbench_output(text):
    def grab(pattern, cast=float):
        m = re.search(pattern, text, re.M)
        return cast(m.group(1)) if m else None

    return {
        "tps": grab(r"^tps = ([0-9.]+) \(without initial connection time\)"),
        "processed": grab(r"^number of transactions actually processed: (\d+)", int),
        "failed": grab(r"^number of failed transactions: (\d+)", int),
        "pgbench_latency_avg_ms": grab(r"^latency average = ([0-9.]+) ms"),
        "connection_ms": grab(r"^initial connection time = ([0-9.]+) ms"),
        "aborted_clients": len(re.findall(r"client \d+ aborted", text)),
        "run_aborted": "Run was aborted" in text,
    }


def percentile(sorted_values, p):
    """Nearest-rank percentile: the smallest value with at least p% of the values at or below it."""
    if not sorted_values:
        return None
    k = max(1, math.ceil(p / 100.0 * len(sorted_values)))
    return sorted_values[k - 1]


def log_entries(paths):
    """pgbench --log lines: client_id transaction_no time script_no time_epoch time_us [lag].

    `time` is the transaction's latency in microseconds, or "failed"/"serialization"/"deadlock"/
    "skipped" for a transaction that did not complete; time_epoch + time_us is when it ended.
    Yields (end, latency in microseconds or None for one that did not complete)."""
    for path in paths:
        with open(path) as f:
            for line in f:
                parts = line.split()
                if len(parts) < 6:
                    continue
                end = int(parts[4]) + int(parts[5]) / 1e6
                yield end, int(parts[2]) if parts[2].isdigit() else None


def parse_logs(paths):
    """The completed transactions' latencies (sorted), the others' count, and the window from the
    first start to the last end (see log_entries)."""
    latencies = []
    failed_in_log = 0
    first_start = None
    last_end = None
    for end, lat in log_entries(paths):
        if lat is None:
            failed_in_log += 1
            continue
        latencies.append(lat)
        start = end - lat / 1e6
        if first_start is None or start < first_start:
            first_start = start
        if last_end is None or end > last_end:
            last_end = end
    latencies.sort()
    return latencies, failed_in_log, first_start, last_end


def cmd_logged_between(a):
    """Prints how many completed transactions of pgbench's logs ended in [FROM, TO) (epoch seconds)."""
    print(sum(1 for end, lat in log_entries(a.logs) if lat is not None and a.start <= end < a.stop))


def cmd_run_result(a):
    with open(a.stdout, errors="replace") as f:
        out = f.read()
    with open(a.stderr, errors="replace") as f:
        err = f.read()
    r = {
        "round": a.round, "workload": a.workload, "mode": a.mode, "clients": a.clients, "target": a.target,
        "seconds": a.seconds, "rc": a.rc,
    }
    r.update(parse_pgbench_output(out + "\n" + err))
    logs = sorted(glob.glob(a.logs + "*"))
    lat, failed_in_log, ws, we = parse_logs(logs)
    r["logged"] = len(lat)
    r["failed_in_log"] = failed_in_log
    if lat:
        r["latency_avg_ms"] = sum(lat) / len(lat) / 1000.0
        r["latency_p50_ms"] = percentile(lat, 50) / 1000.0
        r["latency_p99_ms"] = percentile(lat, 99) / 1000.0
        r["latency_max_ms"] = lat[-1] / 1000.0
        r["window_s"] = we - ws
    # CPU of the pooler inside the measured window (first transaction's start to last one's end):
    # this leaves out the connection phase (authentication of every client), which pgbench's tps
    # leaves out too.
    if a.cpu_samples and os.path.exists(a.cpu_samples):
        samples = []
        with open(a.cpu_samples) as f:
            for line in f:
                p = line.split()
                if len(p) == 2:
                    samples.append((float(p[0]), int(p[1])))
        if len(samples) >= 2:
            hz = float(a.clk_tck)
            r["cpu_s_total"] = (samples[-1][1] - samples[0][1]) / hz
            if lat and ws is not None:
                covered = samples[0][0] <= ws and samples[-1][0] >= we
                c = (interpolate(samples, we) - interpolate(samples, ws)) / hz
                r["cpu_s_window"] = c
                r["cpu_window_covered"] = covered
                r["cpu_s_per_10k"] = c / len(lat) * 10000.0
    # The whole machine in the same window: CPU time all processes used per transaction (PostgreSQL,
    # pgbench, the pooler, anything else), and CPU time nobody used. On a saturated machine tps is
    # the CPUs' time divided by the sum of the two; idle time means the pipeline stalled.
    if a.machine_samples and os.path.exists(a.machine_samples) and lat and ws is not None:
        busy, idle = [], []
        with open(a.machine_samples) as f:
            for line in f:
                p = line.split()
                if len(p) == 3:
                    busy.append((float(p[0]), int(p[1])))
                    idle.append((float(p[0]), int(p[2])))
        if len(busy) >= 2 and busy[0][0] <= ws and busy[-1][0] >= we:
            hz = float(a.clk_tck)
            r["machine_busy_us_per_txn"] = (interpolate(busy, we) - interpolate(busy, ws)) / hz * 1e6 / len(lat)
            r["machine_idle_us_per_txn"] = (interpolate(idle, we) - interpolate(idle, ws)) / hz * 1e6 / len(lat)
    if a.hwm_kib:
        r["hwm_kib"] = int(a.hwm_kib)
    print(json.dumps(r))


# ---------------------------------------------------------------------------------------------
# Report


def load_jsonl(path):
    rows = []
    if os.path.exists(path):
        with open(path) as f:
            for line in f:
                line = line.strip()
                if line:
                    rows.append(json.loads(line))
    return rows


def med(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def fmt(v, digits=1, suffix=""):
    if v is None:
        return "n/a"
    return f"{v:,.{digits}f}{suffix}"


def ratio(a, b, digits=2):
    if a is None or b is None or b == 0:
        return "n/a"
    return f"{a / b:.{digits}f}"


def paired_ratios(runs, config, key):
    """Pooler/PgBouncer of one round's two runs, round by round: how far apart the rounds are."""
    by_round = {}
    for r in runs:
        if (r["workload"], r["mode"], r["clients"]) == config and r["target"] in ("pooler", "pgbouncer") and r.get(key):
            by_round.setdefault(r["round"], {})[r["target"]] = r[key]
    pairs = [v for _, v in sorted(by_round.items()) if len(v) == 2]
    return ", ".join(f"{v['pooler'] / v['pgbouncer']:.2f}" for v in pairs)


def aggregate(runs):
    """(workload, mode, clients, target) -> medians over rounds."""
    groups = {}
    for r in runs:
        groups.setdefault((r["workload"], r["mode"], r["clients"], r["target"]), []).append(r)
    agg = {}
    for key, rs in groups.items():
        ok = [r for r in rs if r.get("tps") is not None and r.get("latency_p99_ms") is not None]
        tps = [r["tps"] for r in ok]
        agg[key] = {
            "rounds": len(rs),
            "ok_rounds": len(ok),
            "tps": med(tps),
            "tps_min": min(tps) if tps else None,
            "tps_max": max(tps) if tps else None,
            "avg": med([r.get("latency_avg_ms") for r in ok]),
            "p99": med([r.get("latency_p99_ms") for r in ok]),
            "failed": sum((r.get("failed") or 0) + (0 if r.get("failed") is not None else r.get("failed_in_log", 0)) for r in rs),
            "aborted": sum(r.get("aborted_clients") or 0 for r in rs),
            "errors": sum(1 for r in rs if r.get("rc", 0) != 0 or r.get("tps") is None),
            "cpu10k": med([r.get("cpu_s_per_10k") for r in ok]),
            "busy": med([r.get("machine_busy_us_per_txn") for r in ok]),
            "idle": med([r.get("machine_idle_us_per_txn") for r in ok]),
            "window": med([r.get("window_s") for r in ok]),
            "hwm_kib": max([r["hwm_kib"] for r in rs if r.get("hwm_kib")], default=None),
        }
    return agg


def cmd_report(a):
    runs = load_jsonl(a.runs)
    with open(a.meta) as f:
        meta = json.load(f)
    agg = aggregate(runs)
    configs = []
    for w in meta["workloads"]:
        for m in meta["modes"]:
            for c in meta["clients"]:
                configs.append((w, m, c))
    targets = meta["targets"]

    L = []
    L.append("# Pooler benchmark: PostgreSQL direct vs PgBouncer vs Pooler" + (" (owner node and relayed)" if "relay" in targets else ""))
    L.append("")
    L.append(f"Generated by `bench/run{' ' + meta['argv'] if meta.get('argv') else ''}` on {meta['date']}.")
    L.append("")
    L.append("## Machine and settings")
    L.append("")
    for k, v in meta["machine"]:
        L.append(f"- **{k}**: {v}")
    L.append("")
    for k, v in meta["settings"]:
        L.append(f"- **{k}**: {v}")
    L.append("")
    L.append("## How each number is measured")
    L.append("")
    L.extend(meta["method"])
    L.append("")

    L.append("## pgbench results per target")
    L.append("")
    L.append("| workload | `-M` | clients | target | tps (median) | tps min–max | avg latency ms | p99 latency ms | failed txns / aborted clients | pooler CPU s per 10k txns | pooler peak RSS MiB | s measured |")
    L.append("| --- | --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for (w, m, c) in configs:
        for t in targets:
            g = agg.get((w, m, c, t))
            if g is None:
                if t == "postgres" and c > meta["direct_max_clients"]:
                    L.append(f"| {WORKLOAD_NAMES[w]} | {m} | {c:,} | {TARGET_NAMES[t]} | n/a (> max_connections) | | | | | | | |")
                continue
            note = ""
            if g["errors"]:
                note = f" ({g['errors']} of {g['rounds']} runs failed)"
            cpu = fmt(g["cpu10k"], 3) if t != "postgres" else "–"
            rss = fmt(g["hwm_kib"] / 1024.0 if g["hwm_kib"] else None, 1) if t != "postgres" else "–"
            rng = f"{fmt(g['tps_min'], 0)}–{fmt(g['tps_max'], 0)}" if g["tps_min"] is not None else "n/a"
            L.append(f"| {WORKLOAD_NAMES[w]} | {m} | {c:,} | {TARGET_NAMES[t]} | {fmt(g['tps'], 0)}{note} | {rng} | "
                     f"{fmt(g['avg'], 3)} | {fmt(g['p99'], 3)} | {g['failed']} / {g['aborted']} | {cpu} | {rss} | {fmt(g['window'], 1)} |")
    L.append("")

    if any(g.get("busy") is not None for g in agg.values()):
        L.append("## The whole machine per transaction")
        L.append("")
        L.append("CPU time of all processes (PostgreSQL, pgbench, the pooler, the rest) and CPU time left unused, per transaction, "
                 "in the same window as tps (median over rounds). On a saturated machine tps is the CPUs' time divided by their "
                 "sum: a pooler loses throughput by using CPU itself, by making PostgreSQL and pgbench use more, or by leaving "
                 "CPUs idle (the pipeline waiting on it).")
        L.append("")
        L.append("| workload | `-M` | clients | target | busy µs per txn | idle µs per txn |")
        L.append("| --- | --- | ---: | --- | ---: | ---: |")
        for (w, m, c) in configs:
            for t in targets:
                g = agg.get((w, m, c, t))
                if g is None or g.get("busy") is None:
                    continue
                L.append(f"| {WORKLOAD_NAMES[w]} | {m} | {c:,} | {TARGET_NAMES[t]} | {fmt(g['busy'], 1)} | {fmt(g['idle'], 1)} |")
        L.append("")

    L.append("## Ratios")
    L.append("")
    L.append("Medians over rounds, divided. Throughput above 1 is better for Pooler; p99 and CPU below 1 are better for Pooler. "
             "\"Pooler\" is the client on the pool's owner node (the `pooler` row)"
             + ("; tps relay/owner is the relayed row's tps divided by it (issue 5 wants ≥ 0.7)." if "relay" in targets else "."))
    L.append("")
    L.append("| workload | `-M` | clients | tps Pooler/PgBouncer | tps Pooler/direct | p99 Pooler/PgBouncer | p99 Pooler/direct | CPU per txn Pooler/PgBouncer | tps relay/owner |")
    L.append("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for (w, m, c) in configs:
        p, b, d, r = (agg.get((w, m, c, t)) or {} for t in ("pooler", "pgbouncer", "postgres", "relay"))
        L.append(f"| {WORKLOAD_NAMES[w]} | {m} | {c:,} | {ratio(p.get('tps'), b.get('tps'))} | {ratio(p.get('tps'), d.get('tps'))} | "
                 f"{ratio(p.get('p99'), b.get('p99'))} | {ratio(p.get('p99'), d.get('p99'))} | {ratio(p.get('cpu10k'), b.get('cpu10k'))} | "
                 f"{ratio(r.get('tps'), p.get('tps'))} |")
    L.append("")

    # The targets of issues 4 and 5 that this run can check.
    checks = []
    def chk(label, value, ok, limit, issue=4):
        checks.append(f"| {issue} | {label} | {value} | {limit} | {'yes' if ok else 'no' if ok is not None else 'n/a'} |")
    for c, limit in ((20, 0.9), (200, 1.0), (1000, 1.0)):
        p, b = agg.get(("select", "simple", c, "pooler")), agg.get(("select", "simple", c, "pgbouncer"))
        if p and b and p["tps"] and b["tps"]:
            v = p["tps"] / b["tps"]
            rounds = paired_ratios(runs, ("select", "simple", c), "tps")
            shown = f"{v:.2f}" if (round(v, 2) >= limit) == (v >= limit) else f"{v:.3f}" # 0.996 is not 1.00
            chk(f"tps Pooler/PgBouncer, `-S -M simple`, {c:,} clients", shown + (f" (rounds: {rounds})" if rounds else ""),
                v >= limit, f"≥ {limit}")
    p, b = agg.get(("select", "simple", 200, "pooler")), agg.get(("select", "simple", 200, "pgbouncer"))
    if p and b and p["p99"] and b["p99"]:
        v = p["p99"] / b["p99"]
        chk("p99 Pooler/PgBouncer, `-S -M simple`, 200 clients", f"{v:.2f}", v <= 1.2, "≤ 1.2")
    ratios = []
    for (w, m, c) in configs:
        p, b = agg.get((w, m, c, "pooler")), agg.get((w, m, c, "pgbouncer"))
        if p and b and p["cpu10k"] and b["cpu10k"]:
            ratios.append((p["cpu10k"] / b["cpu10k"], w, m, c))
    if ratios:
        worst = max(ratios)
        v = med([r[0] for r in ratios])
        chk("CPU per txn Pooler/PgBouncer (median over all rows; worst row)",
            f"{v:.2f}; worst {worst[0]:.2f} ({worst[1]} {worst[2]} {worst[3]:,})", worst[0] <= 1.5, "≤ 1.5")
    # Issue 5: the relay path's throughput against the owner path's, `-S -M simple`, every client count run.
    for c in meta["clients"]:
        r, p = agg.get(("select", "simple", c, "relay")), agg.get(("select", "simple", c, "pooler"))
        if r and p and r["tps"] and p["tps"]:
            v = r["tps"] / p["tps"]
            chk(f"tps relayed/owner (client on a non-owner node), `-S -M simple`, {c:,} clients", f"{v:.2f}", v >= 0.7, "≥ 0.7", issue=5)
    # Issue 7: named prepared statements in transaction mode cost nothing: -M prepared at least -M simple's tps.
    for c in meta["clients"]:
        pr, si = agg.get(("select", "prepared", c, "pooler")), agg.get(("select", "simple", c, "pooler"))
        if pr and si and pr["tps"] and si["tps"]:
            v = pr["tps"] / si["tps"]
            chk(f"tps Pooler `-M prepared`/`-M simple` (transaction mode), `-S`, {c:,} clients", f"{v:.2f}", v >= 1.0, "≥ 1.0", issue=7)
    if checks:
        L.append("## Issue targets checked by this run")
        L.append("")
        L.append("Throughput targets also show each round's own ratio (Pooler's and PgBouncer's runs of that round, "
                 "minutes apart): how far apart the rounds are.")
        L.append("")
        L.append("| issue | target | measured | wanted | met |")
        L.append("| ---: | --- | ---: | ---: | --- |")
        L.extend(checks)
        L.append("")
        L.append("The idle-connection target of issue 4 (≤ 16 KiB per idle client at 10,000 clients) is in the section below when `bench/run idle` has run.")
        L.append("")

    problems = [r for r in runs if r.get("rc", 0) != 0 or r.get("tps") is None]
    if problems:
        L.append("## Runs that failed")
        L.append("")
        for r in problems:
            L.append(f"- round {r['round']}, {r['workload']} {r['mode']} {r['clients']} clients, {TARGET_NAMES[r['target']]}: "
                     f"pgbench exit {r.get('rc')}, aborted clients {r.get('aborted_clients')}, {r.get('note', '')}")
        L.append("")
    if meta.get("events"):
        L.append("## Events")
        L.append("")
        for e in meta["events"]:
            L.append(f"- {e}")
        L.append("")

    text = "\n".join(L)
    # Keep an idle section that is already in the file.
    if os.path.exists(a.out):
        with open(a.out) as f:
            old = f.read()
        if IDLE_MARK in old:
            text += "\n" + old[old.index(IDLE_MARK):]
    with open(a.out, "w") as f:
        f.write(text if text.endswith("\n") else text + "\n")


def cmd_idle_report(a):
    rows = load_jsonl(a.idle)
    with open(a.meta) as f:
        meta = json.load(f)
    L = [IDLE_MARK, "## Idle connections", ""]
    L.append(f"Run by `bench/run{' ' + meta['argv'] if meta.get('argv') else ''}` on {meta['date']}: "
             f"{meta['machine_short']}; {meta['versions_short']}.")
    L.append("")
    L.extend(meta["idle_method"])
    L.append("")
    L.append("| target | clients | opened | open failures | setup rate conn/s | open p99 ms | pooler CPU ms per connection | RSS before MiB | RSS idle MiB | **memory per idle client KiB** | sample queries | sample failures | sample avg / max ms |")
    L.append("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    per = {}
    for r in rows:
        t = r["label"]
        if r.get("error"):
            L.append(f"| {TARGET_NAMES.get(t, t)} | {r.get('clients', 'n/a')} | failed: {r['error']} | | | | | | | | | | |")
            continue
        before, idle = r.get("rss_before_kib"), r.get("rss_idle_kib")
        kib = (idle - before) / r["clients"] if before is not None and idle is not None else None
        per[t] = kib
        cpu = r.get("cpu_ticks_open")
        cpu_ms = cpu / float(meta["clk_tck"]) * 1000.0 / max(1, r["opened"]) if cpu is not None else None
        L.append(f"| {TARGET_NAMES.get(t, t)} | {r['clients']:,} | {r['opened']:,} | {r['open_failures']} | {fmt(r['setup_rate_per_s'], 0)} | "
                 f"{fmt(r.get('open_ms_p99'), 1)} | {fmt(cpu_ms, 3)} | {fmt(before / 1024.0 if before else None)} | "
                 f"{fmt(idle / 1024.0 if idle else None)} | **{fmt(kib, 2)}** | {r['sample']} | {r['sample_failures']} | "
                 f"{fmt(r['sample_ms_avg'], 1)} / {fmt(r['sample_ms_max'], 1)} |")
    L.append("")
    if per.get("pooler") is not None:
        ok = per["pooler"] <= 16.0
        L.append(f"Issue 4 target, ≤ 16 KiB of Pooler memory per idle client connection: {per['pooler']:.2f} KiB, "
                 f"{'met' if ok else 'not met'}." + (f" PgBouncer: {per['pgbouncer']:.2f} KiB." if per.get("pgbouncer") is not None else ""))
        L.append("")
    errs = [(r["label"], r.get("errors")) for r in rows if r.get("errors")]
    for label, e in errs:
        L.append(f"- errors seen by the client ({TARGET_NAMES.get(label, label)}): " + "; ".join(f"{k} ×{v}" for k, v in e.items()))
    if errs:
        L.append("")
    section = "\n".join(L)
    old = ""
    if os.path.exists(a.out):
        with open(a.out) as f:
            old = f.read()
        if IDLE_MARK in old:
            old = old[:old.index(IDLE_MARK)]
    if not old.strip():
        old = "# Pooler benchmark: idle connections\n\n"
    if old and not old.endswith("\n\n"):
        old = old.rstrip("\n") + "\n\n"
    with open(a.out, "w") as f:
        f.write(old + section + "\n")


def cmd_cpu_split_report(a):
    """User and kernel CPU per 10,000 transactions at a fixed rate, median over rounds per target."""
    rows = load_jsonl(a.runs)
    with open(a.meta) as f:
        meta = json.load(f)
    L = ["# Pooler and PgBouncer: user and kernel CPU per transaction at a fixed rate", ""]
    L.append(f"Generated by `bench/run{' ' + meta['argv'] if meta.get('argv') else ''}` on {meta['date']}: "
             f"{meta['machine_short']}; {meta['versions_short']}.")
    L.append("")
    rate = rows[0].get("rate") if rows else None
    L.append(f"pgbench `-S -M simple` at a fixed total rate (`-R {rate}`, BENCH_RATE) so that every target does the same work per second "
             "and the machine is not saturated (saturated runs on a small machine swing with whatever else runs). Each run's window "
             "starts after every client has connected; **user** and **sys** are the target process's utime and stime "
             "(all threads, /proc/<pid>/stat) over the window per 10,000 transactions that ended in it "
             "(pgbench's per-transaction log); **vol** and **invol** are its context switches per transaction "
             "(/proc/<pid>/task/*/status; a sched_yield counts as involuntary). Median over rounds; the targets alternate.")
    L.append("")
    L.append("| clients | target | rounds | txns per window (median) | user s per 10k | sys s per 10k | **total s per 10k** | vol / txn | invol / txn |")
    L.append("| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    totals = {}
    for clients in sorted({r["clients"] for r in rows}):
        for target in ("pgbouncer", "pooler"):
            rs = [r for r in rows if r["clients"] == clients and r["target"] == target]
            if not rs:
                continue
            user, sys_ = med([r["user"] for r in rs]), med([r["sys"] for r in rs])
            total = med([r["user"] + r["sys"] for r in rs])
            totals[(clients, target)] = (user, sys_, total)
            L.append(f"| {clients:,} | {TARGET_NAMES.get(target, target)} | {len(rs)} | {fmt(med([r['txns'] for r in rs]), 0)} | "
                     f"{fmt(user, 3)} | {fmt(sys_, 3)} | **{fmt(total, 3)}** | {fmt(med([r['vol'] for r in rs]), 2)} | "
                     f"{fmt(med([r['invol'] for r in rs]), 2)} |")
    L.append("")
    L.append("| clients | user Pooler/PgBouncer | sys Pooler/PgBouncer | total Pooler/PgBouncer |")
    L.append("| ---: | ---: | ---: | ---: |")
    for clients in sorted({c for c, _ in totals}):
        p, b = totals.get((clients, "pooler")), totals.get((clients, "pgbouncer"))
        if p and b:
            L.append(f"| {clients:,} | {ratio(p[0], b[0])} | {ratio(p[1], b[1])} | {ratio(p[2], b[2])} |")
    L.append("")
    with open(a.out, "w") as f:
        f.write("\n".join(L))


def cmd_meta(a):
    """Report metadata from the BENCH_META_* variables that bench/run sets."""
    e = lambda k: os.environ.get("BENCH_META_" + k, "")
    events = []
    if e("EVENTS") and os.path.exists(e("EVENTS")):
        with open(e("EVENTS")) as f:
            events = [line.strip() for line in f if line.strip()]
    auth = e("AUTH")
    meta = {
        "date": e("DATE"),
        "argv": e("ARGV"),
        "clk_tck": int(e("CLK_TCK") or 100),
        "workloads": e("WORKLOADS").split(),
        "modes": e("MODES").split(),
        "clients": [int(c) for c in e("CLIENTS").split()],
        "targets": e("TARGETS").split(),
        "direct_max_clients": int(e("DIRECT_MAX")),
        "machine_short": f"{e('NPROC')} CPUs, {e('MEM')}, {e('KERNEL')}",
        "versions_short": f"Pooler {e('POOLER')}; {e('PGBOUNCER')}",
        "machine": [
            ("CPUs (nproc)", f"{e('NPROC')} ({e('CPU') or 'model unknown'})"),
            ("memory", e("MEM")),
            ("kernel", e("KERNEL")),
            ("load average at the end", e("LOAD") + " (other work on the machine makes numbers noisy; the alternation below spreads it over all targets)"),
            ("versions", f"Pooler {e('POOLER')} (Release, .NET SDK {e('DOTNET')}); {e('PG')}; {e('PGBENCH')}; {e('PGBOUNCER')}"),
            ("open files limit", e("ULIMIT")),
            ("processes", "PostgreSQL (pg_ctl), PgBouncer and each Pooler node run each in a session of its own (`setsid`), as a "
                          "service manager starts them; pgbench runs in the driver's session. kernel.sched_autogroup_enabled = "
                          f"{e('AUTOGROUP')}: with autogroup on, the kernel shares the CPUs between sessions first, so a pooler in "
                          "pgbench's session would share one group's CPU time with it"),
        ],
        "settings": [
            ("pgbench", f"`-n -j {e('THREADS')} -T {e('SECONDS')}` over TCP to 127.0.0.1, `-S` (select-only) and the built-in TPC-B-like script, "
                        f"`-M simple` and `-M extended`, clients {', '.join(e('CLIENTS').split())}; "
                        f"scale 10; {e('ROUNDS')} rounds; {e('WARMUP')} s of warm-up per target and mode before round 1"),
            ("order", "in each round, for each workload/mode/clients, the targets run one after another, and the first target "
                      "rotates from round to round (A B C, B C A, C A B, …), so that drift of the machine reaches every target alike"),
            ("PostgreSQL", f"throwaway cluster (initdb), max_connections = {e('PG_MAX_CONN')}, shared_buffers = 256MB, "
                           "**fsync = off, synchronous_commit = off, full_page_writes = off** (a pooler benchmark, not a disk benchmark). "
                           f"Direct runs with more than {e('DIRECT_MAX')} clients would exceed max_connections and are n/a. "
                           "Before each TPC-B run the branches and tellers tables are vacuumed and pgbench_history truncated (what pgbench does without -n)"),
            ("PgBouncer", f"pool_mode = transaction, default_pool_size = {e('POOL_SIZE')}, max_client_conn = {e('MAX_CLIENT_CONN')}, "
                          f"auth_type = {auth} with a plain-text auth_file, no TLS, log_connections = 0"),
            ("Pooler", f"pool_mode = \"transaction\", pool_size = {e('POOL_SIZE')}, max_client_conn = {e('MAX_CLIENT_CONN')}, "
                       f"auth_type = \"{auth}\", no TLS, [http] off, otherwise defaults (its runtimeconfig: workstation GC, concurrent GC)"),
        ] + ([
            ("Pooler relayed", "a second Pooler node with the same settings joins the first one's cluster (`[cluster]` with a shared "
                               "`secret`, both nodes in `seed_nodes`, its own Akka port and `relay_port`). The first node is started "
                               "alone and a query through it places the pool there (the owner); only then does the second node start. "
                               "The `relay` target's pgbench connects to the second node, which relays every client over TCP to the "
                               "owner's relay port; the `pooler` target connects to the owner directly. That the pool's supervisor "
                               "started on the owner and never on the second node is checked at start-up and after every relay run. "
                               "The `pooler` row is measured in the same two-node cluster, the second node idle meanwhile"),
        ] if e("RELAY") == "1" else []) + [
            ("client authentication", f"**{auth}** for all targets (the poolers log in to PostgreSQL with {auth} too); "
                                      "pgbench connects once per client before the timed part, so authentication is outside tps and latency"),
        ],
        "method": [
            "- **tps**: pgbench's `tps = … (without initial connection time)` of each run; the table shows the median over rounds and the range.",
            "- **avg / p99 latency**: from pgbench's per-transaction log (`--log`, every transaction, nothing sampled): the mean, and the "
            "nearest-rank 99th percentile of the latencies of the completed transactions of one run; the table shows the median over rounds.",
            "- **failed txns / aborted clients**: pgbench's `number of failed transactions`, summed over rounds, and the clients pgbench "
            "reported as aborted (`client N aborted`), summed over rounds.",
            "- **pooler CPU s per 10k txns**: utime + stime of the pooler process (all threads) from `/proc/<pid>/stat`, sampled every "
            f"50 ms during the run, interpolated at the start of the first and the end of the last logged transaction, divided by the "
            f"logged transactions × 10,000 (CLK_TCK = {e('CLK_TCK')}). The window leaves out the connection phase (every client's "
            "authentication), as pgbench's tps does. Median over rounds. Not measured for direct PostgreSQL. "
            "**For the relayed row it is the sum of both Pooler processes** (the entry node the clients connect to and the owner "
            "node that serves them), i.e. what the relay path costs in total; the `pooler` row is the owner alone.",
            "- **the whole machine per transaction**: busy and idle CPU time of all CPUs from `/proc/stat` (iowait counts as idle), "
            "sampled every 50 ms during the run, interpolated at the same window's ends, divided by the logged transactions. "
            "Median over rounds.",
            "- **pooler peak RSS**: VmHWM from `/proc/<pid>/status` at the end of each run, reset before the run by writing 5 to "
            "`/proc/<pid>/clear_refs`, so it is that run's peak; the table shows the largest over rounds. For the relayed row it is "
            "the entry node's (the one the clients connect to).",
            "- **s measured**: from the start of the first to the end of the last logged transaction (median over rounds). pgbench 15 "
            "starts its `-T` clock before the clients connect, and 1,000 SCRAM logins take seconds, so each run's `-T` is the "
            "configured seconds plus the connection time that target needed at that client count last time (+20 %, rounded up to whole seconds).",
            "- **ratios**: Pooler's median divided by PgBouncer's or direct PostgreSQL's median; tps relay/owner is the relayed "
            "row's median divided by the `pooler` row's (same workload, mode and clients).",
        ],
        "idle_method": [
            f"`bench/Pooler.IdleClients` (Npgsql, `Pooling=false`, no type loading: each connection is one TCP connection and one "
            f"startup + {auth} handshake) opens {int(e('IDLE_CLIENTS')):,} client connections to a freshly started pooler, at most "
            f"{e('IDLE_CONCURRENCY')} handshakes at a time, after 20 warm-up connections (opened, one query each, closed). It holds them "
            f"idle for {e('IDLE_HOLD')} s, reads the pooler's VmRSS, then runs `SELECT 1` on {e('IDLE_SAMPLE')} of them spread over "
            f"all, all at once, and closes everything.",
            "**Memory per idle client** = (VmRSS with all clients idle − VmRSS after the warm-up, before the first client) ÷ clients. "
            "**Setup rate** = clients ÷ wall-clock seconds to open them all (client and pooler share the 2 cores, the client's "
            f"{auth} work included). **Pooler CPU per connection** = the pooler's utime + stime while they opened ÷ clients."
            + (" Both poolers hold the user's password in plain text, so each SCRAM login costs them a PBKDF2 of 4,096 "
               "iterations unless they cache it; that decides the setup rate more than anything else." if auth == "scram-sha-256" else ""),
        ],
        "events": events,
    }
    print(json.dumps(meta, indent=1))


def cmd_show_run(a):
    """One line on stderr for the last run in runs.jsonl."""
    with open(a.file) as f:
        r = json.loads(f.read().strip().splitlines()[-1])
    g = lambda k, d=1: "n/a" if r.get(k) is None else f"{r[k]:.{d}f}"
    print(f"    {r['target']:>9}: tps {g('tps', 0):>7}  avg {g('latency_avg_ms', 3)} ms  p99 {g('latency_p99_ms', 3)} ms  "
          f"failed {r.get('failed')}  aborted {r.get('aborted_clients')}  cpu/10k {g('cpu_s_per_10k', 3)} s  "
          f"rss {g('hwm_kib', 0)} KiB  rc {r['rc']}"
          + (f"  ({g('window_s')} of {a.elapsed_ms / 1000:.1f} s measured)" if a.elapsed_ms else ""), file=sys.stderr)


def cmd_show_idle(a):
    with open(a.file) as f:
        r = json.load(f)
    b, i = r.get("rss_before_kib"), r.get("rss_idle_kib")
    per = (i - b) / r["clients"] if b is not None and i is not None else float("nan")
    print(f"    opened {r['opened']}/{r['clients']} at {r['setup_rate_per_s']:.0f}/s, RSS {b} -> {i} KiB, {per:.2f} KiB per client, "
          f"sample {r['sample']} queries, {r['sample_failures']} failed", file=sys.stderr)


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("sample")
    s.add_argument("pid", help="a PID, or PIDs separated by commas (their CPU is summed)")
    s.add_argument("out")
    s.add_argument("interval", type=float, nargs="?", default=0.05)
    s = sub.add_parser("sample-machine")
    s.add_argument("out")
    s.add_argument("interval", type=float, nargs="?", default=0.05)
    s = sub.add_parser("run-result")
    for k in ("round", "clients", "seconds", "rc"):
        s.add_argument("--" + k, type=int, required=True)
    for k in ("workload", "mode", "target", "stdout", "stderr", "logs"):
        s.add_argument("--" + k, required=True)
    s.add_argument("--cpu-samples")
    s.add_argument("--machine-samples")
    s.add_argument("--clk-tck", default="100")
    s.add_argument("--hwm-kib")
    s = sub.add_parser("logged-between")
    s.add_argument("start", type=float)
    s.add_argument("stop", type=float)
    s.add_argument("logs", nargs="+")
    s = sub.add_parser("report")
    s.add_argument("runs")
    s.add_argument("meta")
    s.add_argument("out")
    s = sub.add_parser("idle-report")
    s.add_argument("idle")
    s.add_argument("meta")
    s.add_argument("out")
    s = sub.add_parser("cpu-split-report")
    s.add_argument("runs")
    s.add_argument("meta")
    s.add_argument("out")
    sub.add_parser("meta")
    s = sub.add_parser("show-run")
    s.add_argument("file")
    s.add_argument("elapsed_ms", nargs="?", type=int)
    sub.add_parser("show-idle").add_argument("file")
    a = ap.parse_args()
    {"meta": cmd_meta, "show-run": cmd_show_run, "show-idle": cmd_show_idle, "sample": cmd_sample, "sample-machine": cmd_sample_machine, "run-result": cmd_run_result, "report": cmd_report, "idle-report": cmd_idle_report,
     "cpu-split-report": cmd_cpu_split_report, "logged-between": cmd_logged_between}[a.cmd](a)


if __name__ == "__main__":
    main()
