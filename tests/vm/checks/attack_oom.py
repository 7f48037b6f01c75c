#!/usr/bin/env python3
"""Host-side check of the attack-oom case: every victim the kernel logged is in db's report.

Usage: attack_oom.py OUT_DIR

The kernel's own lines (oom-lines.txt) give each victim's pid, uid and RSS; the victims' names
were chosen to look like the lines' keys. The report must hold, in db and only there, one
victim per kill with the same pid, whole name, uid 1000 and the RSS of the "Killed process" line.
"""
import json
import os
import re
import sys

failures = []


def check(condition, message):
    if not condition:
        failures.append(message)


def kernel_kills(lines):
    """{pid: (task, uid, anon_rss_kb)} from the kernel's lines, read by their fixed layout."""
    kills = {}
    for line in lines.splitlines():
        summary = re.search(r"oom-kill:.*?,task=(.*),pid=(\d+),uid=(\d+)$", line)
        if summary:
            kills[int(summary.group(2))] = [summary.group(1), int(summary.group(3)), None]
        killed = re.search(r"Killed process (\d+) \((.*)\) total-vm:\d+kB, anon-rss:(\d+)kB", line)
        if killed and int(killed.group(1)) in kills:
            kills[int(killed.group(1))][2] = int(killed.group(3))
    return kills


def main(out):
    report = json.load(open(os.path.join(out, "report.json")))
    kills = kernel_kills(open(os.path.join(out, "oom-lines.txt")).read())
    check(len(kills) == 3, "three kills expected in the kernel log, got %s" % kills)
    zones = {z["name"]: z for z in report["partitions"]}
    db = zones.get("db", {})
    web = zones.get("web", {})
    check(web.get("oom_kills") == 0 and not web.get("oom_victims"), "web: %s" % web.get("oom_victims"))
    check(not report.get("unattributed_oom_kills"), "unattributed: %s" % report.get("unattributed_oom_kills"))
    victims = {v["pid"]: v for v in db.get("oom_victims") or []}
    check(db.get("oom_kills") == len(kills) and len(victims) == len(kills),
          "db: oom_kills %s, victims %s, kernel kills %s" % (db.get("oom_kills"), victims, kills))
    for pid, (task, uid, anon_kb) in kills.items():
        victim = victims.get(pid)
        check(victim is not None, "pid %d (%s) is not a victim in db" % (pid, task))
        if victim is None:
            continue
        check(victim["task"] == task, "pid %d: task %r, kernel %r" % (pid, victim["task"], task))
        check(victim["uid"] == uid == 1000, "pid %d: uid %s, kernel %s" % (pid, victim["uid"], uid))
        check(victim["cpuset"] == "db", "pid %d: cpuset %r" % (pid, victim["cpuset"]))
        check(anon_kb is not None and anon_kb > 1000 and victim["anon_rss_kb"] == anon_kb,
              "pid %d: anon_rss_kb %s, kernel %s" % (pid, victim["anon_rss_kb"], anon_kb))
    for failure in failures:
        print("FAIL: " + failure)
    print("attack_oom.py: %d kill(s) checked, %s" % (len(kills), "failed" if failures else "ok"))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
