#!/usr/bin/env python3
"""Host-side check of the report-reclaim case: the report's reclaim against an independent trace.

Usage: report_reclaim.py OUT_DIR

OUT_DIR/trace.txt is the text of a trace instance that recorded every
vmscan:mm_vmscan_lru_shrink_inactive event from just after `zonectl snapshot` until just after
`zonectl report --since`; OUT_DIR/report.json is that report. For each partition the reclaimed
and scanned pages the report gives must equal the sums of the traced events on its nodes; idle B
must show none; the trace must not have lost events; and partitions + shared + system + free must
add up to MemTotal within 1%.
"""
import json
import os
import re
import sys

failures = []


def check(condition, message):
    if not condition:
        failures.append(message)


def traced_per_node(path):
    per_node = {}
    event = re.compile(r"mm_vmscan_lru_shrink_inactive: nid=(\d+) nr_scanned=(\d+) nr_reclaimed=(\d+)")
    with open(path) as f:
        for line in f:
            m = event.search(line)
            if not m:
                continue
            node = per_node.setdefault(int(m.group(1)), [0, 0, 0])
            node[0] += int(m.group(2))
            node[1] += int(m.group(3))
            node[2] += 1
    return per_node


def main(out):
    report = json.load(open(os.path.join(out, "report.json")))
    traced = traced_per_node(os.path.join(out, "trace.txt"))
    stats_path = os.path.join(out, "trace.txt.stats")
    if os.path.exists(stats_path):
        stats = open(stats_path).read()
        m = re.search(r"overrun: (\d+)", stats)
        check(m is None or int(m.group(1)) == 0, "the check trace overran: " + stats.strip())
    partitions = {p["name"]: p for p in report["partitions"]}
    check(set(partitions) >= {"A", "B"}, "partitions A and B in the report: %s" % sorted(partitions))
    for name, zone in partitions.items():
        scanned = sum(traced.get(n, [0, 0, 0])[0] for n in zone["nodes"])
        reclaimed = sum(traced.get(n, [0, 0, 0])[1] for n in zone["nodes"])
        passes = sum(traced.get(n, [0, 0, 0])[2] for n in zone["nodes"])
        print("%s nodes %s: report reclaimed=%s scanned=%s passes=%s; trace reclaimed=%d scanned=%d passes=%d"
              % (name, zone["nodes"], zone["reclaim_reclaimed_pages"], zone["reclaim_scanned_pages"],
                 zone["limit_hits"], reclaimed, scanned, passes))
        check(zone["reclaim_reclaimed_pages"] == reclaimed, "%s: reclaimed %s != traced %d"
              % (name, zone["reclaim_reclaimed_pages"], reclaimed))
        check(zone["reclaim_scanned_pages"] == scanned, "%s: scanned %s != traced %d"
              % (name, zone["reclaim_scanned_pages"], scanned))
        check(zone["limit_hits"] == passes, "%s: passes %s != traced events %d" % (name, zone["limit_hits"], passes))
    if "A" in partitions and "B" in partitions:
        check(partitions["A"]["reclaim_reclaimed_pages"] > 0, "A reclaimed nothing")
        check(partitions["B"]["reclaim_reclaimed_pages"] == 0, "idle B reclaimed pages")
    zones = list(report["partitions"]) + list(report["free"])
    zones += [z for z in (report["shared"], report["system"]) if z is not None]
    total = sum(z["mem_total_bytes"] for z in zones)
    proc = report["machine"]["proc_mem_total_bytes"]
    print("zones add up to %d bytes, /proc/meminfo MemTotal %d (%.3f%%)" % (total, proc, 100.0 * (total - proc) / proc))
    check(abs(total - proc) <= proc * 0.01, "zones %d vs MemTotal %d: more than 1%% apart" % (total, proc))
    node_ids = sorted(n for z in zones for n in z["nodes"])
    check(node_ids == sorted(set(node_ids)), "a node is in two zones: %s" % node_ids)
    for failure in failures:
        print("FAIL: " + failure)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
