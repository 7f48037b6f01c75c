// Which of a process's pages are its own and which it shares: attach moves the first into a
// partition and leaves the page cache others use (the shared zone's, libraries') where it is.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "softzone/zones/fs_root.h"
#include "softzone/zones/nodeset.h"
#include "softzone/zones/page_placement.h"
#include "softzone/zones/result.h"

namespace softzone::zones {

// One /proc/PID/pagemap entry (Documentation/admin-guide/mm/pagemap.rst).
struct PagemapEntry {
  bool present = false;    // bit 63
  bool file = false;       // bit 61: page cache, or shared anonymous memory (shmem)
  bool exclusive = false;  // bit 56: mapped once, by this process (since 4.2)
  uint64_t pfn = 0;        // bits 0-54: 0 without CAP_SYS_ADMIN

  friend bool operator==(const PagemapEntry&, const PagemapEntry&) = default;
};
PagemapEntry parsePagemapEntry(uint64_t raw) noexcept;

// The entries for the pages of [start, end) of a process. A vanished process is ESRCH.
Result<std::vector<PagemapEntry>> readPagemapAt(const FsRoot& root, pid_t pid, uint64_t start,
                                                uint64_t end);

// How many times each page frame is mapped (/proc/kpagecount, root only).
Result<std::map<uint64_t, uint64_t>> readMapCountsAt(const FsRoot& root,
                                                     const std::vector<uint64_t>& pfns);

// A page of a process being attached that sits outside the partition, in a file-backed range.
struct CandidatePage {
  pid_t pid = 0;
  size_t range = 0;  // index into that process's ranges
  uint64_t address = 0;
  int node = 0;
  PagemapEntry entry;
};

// The page frames that the attached processes map more than once between them: only for those
// does /proc/kpagecount say whether anyone else maps them too.
std::vector<uint64_t> framesMappedTwice(const std::vector<CandidatePage>& pages);

// Whether a page stays where it is when its process joins a partition: page cache (and shmem)
// that is on the shared zone's nodes, or that a process outside the attached set maps. Such a
// page is everyone's: moving it would put other zones' memory on the partition's nodes (libc,
// mapped by every process) or undo `zonectl bind`. Everything else is the process's own and
// moves: anonymous pages (the private copies it wrote into file mappings included), and page
// cache mapped only by the processes attached together (mapped once, or, by `map_counts` from
// /proc/kpagecount, no more often than they map it between them). A page whose frame is unknown
// (no CAP_SYS_ADMIN) and that is mapped more than once counts as shared.
bool staysOnAttach(const CandidatePage& page, const NodeSet& shared_zone,
                   const std::map<uint64_t, uint64_t>& frames_in_set,
                   const std::map<uint64_t, uint64_t>& map_counts);

// A file-backed range of a process and its pages that stay, with the node each is on.
struct RangeToLeave {
  MapRange range;
  std::vector<PageLocation> pages;  // ascending
};
struct PagesToLeave {
  pid_t pid = 0;
  std::vector<RangeToLeave> ranges;
  uint64_t pages() const;
  bool contains(uint64_t address) const;
  NodeSet nodes() const;  // the nodes its pages were found on
};

// For each of `pids`, the pages on `outside` (the nodes that are not the partition's) that stay on
// attach (staysOnAttach): their file-backed ranges are looked at with move_pages(2)'s status
// query and pagemap. A process that is gone has none.
Result<std::vector<PagesToLeave>> findPagesToLeave(
    const FsRoot& root, const std::vector<pid_t>& pids, const NodeSet& outside,
    const NodeSet& shared_zone, const PageSyscalls& syscalls = kernelPageSyscalls());

// Every page cache page of `pid`'s file-backed ranges on `outside`, with its node, shared or not
// (private copies written into them are anonymous memory, not included): what
// `zonectl exec` puts back after joining a partition on v2 (zonectl's own file pages, libraries
// and its binary, are not the command's memory).
Result<PagesToLeave> findFilePagesOn(const FsRoot& root, pid_t pid, const NodeSet& outside,
                                     const PageSyscalls& syscalls = kernelPageSyscalls());

// Pages per target node, in address order: one move_pages call's worth each.
std::map<int, std::vector<uint64_t>> groupByNode(const std::vector<PageLocation>& pages);

struct PutBackReport {
  uint64_t pages = 0;              // pages that were to go back
  uint64_t pages_put_back = 0;     // moved back to their node
  uint64_t pages_never_moved = 0;  // still on their node: nothing to put back
  uint64_t pages_failed = 0;       // still elsewhere (busy, evicted meanwhile, the range unmapped)
};

// Puts `leave`'s pages back on the nodes they were on: on cgroup v2 the kernel's attach moves
// every page of the process into the partition (on v1, a migrate_pages(2) sweep does), and
// move_pages(2) on the process itself can't target nodes outside its cpuset. The pages are page
// cache (or shmem), so zonectl maps the same
// file through /proc/PID/map_files (root; a deleted file too), faults in only those pages (they
// are cached: nothing is read) and moves its own mapping's pages with MPOL_MF_MOVE_ALL, one
// call per target node; a status query first tells the pages the migration did not move (they
// are counted apart, not moved). Live system only.
Result<PutBackReport> putBackPages(const FsRoot& root, const PagesToLeave& leave,
                                   const PageSyscalls& syscalls = kernelPageSyscalls());

}  // namespace softzone::zones
