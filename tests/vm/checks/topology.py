#!/usr/bin/env python3
"""Host-side check of the topology case: zonectl's view of a fake-NUMA guest against the kernel's.

Usage: topology.py OUT_DIR   (with SOFTZONE_VM_CGROUP, SOFTZONE_VM_FAKE set by run-guest.sh)

Checks that every node zonectl lists has exactly its meminfo MemTotal, that the node count is what
numa=fake= asked for, that fake NUMA and the cgroup interfaces are reported as they are, and that
zonectl reading the captured tree through --root answers as it did live (free memory aside: it
moves between the two reads).
"""
import json
import os
import re
import sys

failures = []


def check(condition, message):
    if not condition:
        failures.append(message)


def meminfo_totals(path):
    totals = {}
    with open(path) as f:
        for line in f:
            m = re.match(r"Node (\d+) MemTotal:\s+(\d+) kB", line)
            if m:
                totals[int(m.group(1))] = int(m.group(2)) * 1024
    return totals


def without_free(value):
    if isinstance(value, dict):
        return {k: without_free(v) for k, v in value.items() if "free" not in k}
    if isinstance(value, list):
        return [without_free(v) for v in value]
    return value


def expected_node_count(fake, sockets):
    if fake.endswith("U"):
        return int(fake[:-1]) * sockets
    if fake.isdigit():
        return int(fake)
    return None


def main():
    out = sys.argv[1]
    cgroup = os.environ.get("SOFTZONE_VM_CGROUP", "v2")
    fake = os.environ.get("SOFTZONE_VM_FAKE", "8")
    live = json.load(open(os.path.join(out, "topology.json")))
    from_tree = json.load(open(os.path.join(out, "topology-from-tree.json")))
    totals = meminfo_totals(os.path.join(out, "node-meminfo.txt"))

    nodes = {n["id"]: n for n in live["nodes"]}
    sockets = len(live["physical_nodes"])
    want = expected_node_count(fake, sockets)
    check(want is None or len(nodes) == want, f"{len(nodes)} nodes listed, numa=fake={fake} makes {want}")
    check(sorted(nodes) == sorted(totals), f"nodes {sorted(nodes)} vs meminfo's {sorted(totals)}")
    for node_id, total in sorted(totals.items()):
        got = nodes.get(node_id, {}).get("mem_total_bytes")
        check(got == total, f"node {node_id}: mem_total_bytes {got}, meminfo says {total}")
        print(f"node {node_id}: {total} bytes ({total >> 20} MiB) matches meminfo")
    check(live["mem_total_bytes"] == sum(totals.values()), "machine total is not the sum of the nodes")

    check(live["fake_numa"]["active"] is True, "fake NUMA not reported active")
    check(live["fake_numa"]["arg"] == fake, f"numa=fake arg {live['fake_numa']['arg']!r}, booted with {fake!r}")
    check(live["max_nodes"] == 1024, f"max_nodes {live['max_nodes']}, Debian's CONFIG_NODES_SHIFT=10 gives 1024")
    if fake.endswith("U"):
        check(sockets == 2, f"{sockets} physical nodes, the guest has 2 sockets")
        per = int(fake[:-1])
        for phys in live["physical_nodes"]:
            check(len(phys["nodes"]) == per, f"physical node {phys['id']} holds {phys['nodes']}, expected {per} fake nodes")
    else:
        check(sockets == 1, f"{sockets} physical nodes, the guest has one")

    cg = live["cgroup"]
    if cgroup == "v1":
        check(cg["v1_cpuset"] == "/sys/fs/cgroup/cpuset", f"v1 cpuset at {cg['v1_cpuset']!r}")
    else:
        check(cg["v2"] == "/sys/fs/cgroup" and cg["v2_cpuset_controller"] is True,
              f"v2 with cpuset expected, got {cg}")

    check(without_free(live) == without_free(from_tree),
          "zonectl --root on the captured tree differs from the live answer")
    for node in from_tree["nodes"]:
        check(0 < node["mem_free_bytes"] <= node["mem_total_bytes"], f"node {node['id']}: free out of range")

    for failure in failures:
        print("FAIL:", failure)
    if failures:
        return 1
    print(f"topology check: {len(nodes)} nodes on {sockets} physical node(s) agree with the kernel")
    return 0


if __name__ == "__main__":
    sys.exit(main())
