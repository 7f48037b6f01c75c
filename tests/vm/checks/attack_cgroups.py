#!/usr/bin/env python3
"""Host-side check of the attack-cgroups case: zonectl's JSON stays whole with hostile cgroups.

Usage: attack_cgroups.py OUT_DIR

With the user's chain deeper than zonectl walks, list and status parse, name web and db, and give
web no task count but the reason; once the chain is gone, web counts the user's two workloads.
"""
import json
import os
import sys


def partition(document, name):
    for one in document["partitions"]:
        if one["name"] == name:
            return one
    raise SystemExit(f"attack_cgroups.py: no partition {name!r} in {document}")


def main(out):
    failures = []
    for verb in ("list", "status"):
        with open(os.path.join(out, f"{verb}-deep.json")) as f:
            deep = json.load(f)
        web = partition(deep, "web")
        if web["tasks"] is not None:
            failures.append(f"{verb}: web counted {web['tasks']} tasks without walking its subtree")
        if "not walked" not in web.get("tasks_error", ""):
            failures.append(f"{verb}: web's tasks_error does not say why: {web.get('tasks_error')!r}")
        partition(deep, "db")
    with open(os.path.join(out, "status.json")) as f:
        web = partition(json.load(f), "web")
    if web["tasks"] != 2:
        failures.append(f"status after the chain went: web has {web['tasks']} tasks, expected 2")
    for failure in failures:
        print("FAIL:", failure)
    print("attack_cgroups.py:", "ok" if not failures else f"{len(failures)} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
