// A machine described by hwloc: the physical NUMA nodes, their memory and CPUs, from an XML file
// as `lstopo machine.xml` writes it. Used to plan for a machine other than the running one.
//
// hwloc 2.9 (Debian 12) does not show fake nodes: on a machine booted with numa=fake= it reports
// ONE fake node per physical node (its P# and its local memory only), so an XML captured there
// describes a much smaller machine than the real one. The reader flags that when it can see it
// (NUMA node numbers with gaps, the trace numa=fake=NU leaves); an XML of a machine with one
// physical node booted with numa=fake=N cannot be told apart, which is why zonectl documents
// capturing the XML with fake NUMA off, or planning from `zonectl --json topology` instead.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "softzone/zones/nodeset.h"
#include "softzone/zones/result.h"

namespace softzone::zones {

struct HwlocNumaNode {
  int os_index = 0;           // the kernel's node number (hwloc's P#)
  int package = -1;           // the os_index of the package above it, -1 when there is none
  uint64_t memory_bytes = 0;  // hwloc's local_memory: the node's MemTotal
  NodeSet cpus;               // PU os_indexes local to the node
};

struct HwlocMachine {
  std::vector<HwlocNumaNode> numa_nodes;  // ascending os_index
  int packages = 0;
  int cores = 0;
  int pus = 0;
  // NUMA node numbers are not 0..n-1: hwloc hid nodes, as it does on a numa=fake=NU machine.
  bool numbering_has_gaps = false;
};

// Loads an hwloc XML file. A missing, unreadable or malformed file, or one without NUMA nodes, is
// bad input naming the file.
Result<HwlocMachine> readHwlocXml(const std::string& path);

}  // namespace softzone::zones
