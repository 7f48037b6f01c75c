// The page cache of file trees: which node caches each page (residency), and binding a tree's
// cache to chosen nodes (populate from a bound worker, migrate what is cached elsewhere, lock).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "softzone/zones/fs_root.h"
#include "softzone/zones/nodeset.h"
#include "softzone/zones/page_placement.h"
#include "softzone/zones/result.h"

namespace softzone::cache {

// --- walking trees ---

// An open directory of a walked tree, shared by the files found in it: each file is opened
// relative to it, so nothing resolves a path again after the walk (a user who owns a directory
// of the tree could otherwise swap a name for a FIFO, a device or a symlink to `/` meanwhile).
using DirHandle = std::shared_ptr<const Fd>;

// One regular file of a tree, reached once however many hard links lead to it.
struct TreeFile {
  std::string path;  // for reports: the path the walk reached it by
  DirHandle dir;     // the directory it was found in, open
  std::string name;  // its name in `dir`
  dev_t device = 0;  // what the walk saw; the open file must still be this inode
  ino_t inode = 0;
  uint64_t size_bytes = 0;
  // The inode's last change (st_ctim) as the walk saw it, in ns: a write, truncate, chmod or
  // rename sets it, and unlike the mtime no owner can set it back (zoned's keeper looks again
  // at a file whose size or change time moved).
  int64_t changed_ns = 0;
};

struct TreeWalk {
  std::string root;  // the PATH as given
  std::vector<TreeFile> files;
  uint64_t size_bytes = 0;
  uint64_t duplicates_skipped = 0;  // hard links to a file already listed
  uint64_t symlinks_skipped = 0;    // symlinks below PATH: never followed
  uint64_t mounts_skipped = 0;      // entries on another filesystem than PATH's, not walked
  uint64_t changed_skipped = 0;     // entries that changed type or inode while being walked
  uint64_t others_skipped = 0;      // sockets, fifos, devices
};

struct WalkOptions {
  // Walk into filesystems mounted below a PATH (off: a PATH's tree ends at its filesystem).
  bool cross_mounts = false;
};

// Walks each PATH (a file or a directory), listing each regular file once (by device and inode,
// across all the trees), each with its directory held open. A PATH that is a symlink is followed
// (it is what the caller named); symlinks below it are not, and a mount below it is not entered
// unless `options.cross_mounts`. Directories are opened relative to their parent with O_NOFOLLOW
// and checked to be what was looked at. Bad input (exit 2), found before anything is done: a
// missing PATH, a symlink loop at a PATH, an unreadable directory (EACCES, naming it).
// Raises this process's open-file limit to its hard limit: a tree holds one descriptor per
// directory that has files.
Result<std::vector<TreeWalk>> walkTrees(const std::vector<std::string>& paths,
                                        const WalkOptions& options = {});

// A walked file opened for looking at its cache.
struct OpenedFile {
  Fd fd;
  uint64_t size_bytes = 0;
};

// Opens `file` relative to its directory: read-only, O_NOFOLLOW, O_NONBLOCK (a FIFO swapped in
// does not block the open), O_NOATIME where permitted; then checks it is still a regular file
// with the inode the walk saw. A file that changed (now a symlink, another inode, not a regular
// file) is refused as a mismatch naming what it is now: failReasonOf() calls it kChanged.
Result<OpenedFile> openTreeFile(const TreeFile& file);

// --- residency ---

// Where one file's cached pages are.
struct FileResidency {
  std::string path;
  uint64_t size_bytes = 0;
  uint64_t pages = 0;                      // pages the file spans
  uint64_t cached_pages = 0;               // in the page cache (mincore)
  std::map<int, uint64_t> pages_per_node;  // of those, by node (move_pages status query)
  // Cached but not placed: evicted between the two looks, or refused by the status query.
  uint64_t unplaced_pages = 0;
  // From cachestat(2) where the kernel has it (6.5+).
  std::optional<uint64_t> dirty_pages;
  std::optional<uint64_t> writeback_pages;
  std::string error;  // why the file could not be looked at ("" when it was)

  uint64_t pagesOn(const NodeSet& nodes) const;
};

// Looks at every cached page of `file` (opened with openTreeFile) without adding any: the file is
// mapped with readahead off (MADV_RANDOM), only pages mincore reports cached are faulted in, and
// their nodes come from move_pages(2)'s status query. mincore tells the truth only to the file's
// owner, a writer or root (since 5.2); others see every page as cached. Failures to open or map the
// file are kept in `error`, not returned: one unreadable file does not hide the rest. With
// `per_node` false only the totals are read: from cachestat(2) where the kernel has it (fast,
// nothing mapped), else from mincore; pages_per_node stays empty.
FileResidency readFileResidency(const TreeFile& file, bool per_node = true,
                                const zones::PageSyscalls& syscalls = zones::kernelPageSyscalls());

// cachestat(2) over a whole file: pages cached, dirty, under writeback. nullopt when the kernel
// lacks it (ENOSYS before 6.5) or refuses the file.
struct CacheStat {
  uint64_t cached_pages = 0;
  uint64_t dirty_pages = 0;
  uint64_t writeback_pages = 0;
  uint64_t evicted_pages = 0;
};
std::optional<CacheStat> cacheStatOf(int fd);
bool kernelHasCachestat();

// Sums over files.
struct ResidencyTotals {
  uint64_t files = 0;
  uint64_t files_failed = 0;
  uint64_t size_bytes = 0;
  uint64_t pages = 0;
  uint64_t cached_pages = 0;
  uint64_t unplaced_pages = 0;
  std::map<int, uint64_t> pages_per_node;

  void add(const FileResidency& file);
  uint64_t pagesOn(const NodeSet& nodes) const;
};

// --- binding ---

// Why pages could not be put on the target nodes.
enum class FailReason {
  kDirty,
  kWriteback,
  kBusy,
  kNoPermission,
  kNoMemory,
  kGone,
  kBeingWritten,
  kChanged,  // the file changed (type or inode) since the walk: not opened or not read
};
std::string_view failReasonName(FailReason reason);  // "dirty", "no permission", ...

// The reason a move_pages status (or a whole call's) errno stands for, before page flags refine it.
// ESTALE (the keeper's word for a file changed since the walk) is kChanged.
FailReason failReasonOfErrno(int err);
// The reason an open or map of a file failed: kChanged for openTreeFile's mismatch, else by errno.
FailReason failReasonOf(const Error& error);

// Page flags that explain a failed move (from /proc/kpageflags, root only).
struct PageFlags {
  bool dirty = false;
  bool writeback = false;
};
// The refined reason: writeback, then dirty, over what the errno says.
FailReason failReasonOf(int err, std::optional<PageFlags> flags);

struct FileFailure {
  std::string path;
  FailReason reason = FailReason::kBusy;
  std::string detail;  // one line: what the kernel said
};

// The most one readahead(2) call reads from the block device `device` (a file's st_dev): the
// larger of its queue's max_sectors_kb and read_ahead_kb, from /sys/dev/block (a partition's
// from its disk's queue). nullopt where sysfs does not say (no block device behind: NFS, tmpfs).
std::optional<uint64_t> readaheadCallBytesAt(const FsRoot& fs, dev_t device);

// Page holders a bind has let go of. A holder unmaps every page it mapped as it exits (15-18 ms
// for 100 MiB under emulation, 6.1), which need not hold up the caller's report: the caller
// waits for them once it has printed it. Until then they are zombies, so their pids are not
// reused; nothing is asked of them any more. Waits for any left when destroyed.
class ExitingHolders {
 public:
  ExitingHolders() = default;
  ExitingHolders(const ExitingHolders&) = delete;
  ExitingHolders& operator=(const ExitingHolders&) = delete;
  ~ExitingHolders() { wait(); }

  void add(pid_t pid) { pids_.push_back(pid); }
  size_t size() const noexcept { return pids_.size(); }
  // Waits until every holder added has exited.
  void wait() noexcept;

 private:
  std::vector<pid_t> pids_;
};

struct BindOptions {
  NodeSet targets;
  // Free bytes per target node, to spread migrated pages (zones::shareByFreeMemory); updated as
  // pages are placed. Empty: an equal spread.
  std::map<int, uint64_t> free_bytes;
  const zones::PageSyscalls* syscalls = nullptr;  // nullptr: the running kernel
  // Binds the worker thread to the targets; empty: set_mempolicy(MPOL_BIND). Tests that fake
  // the kernel's nodes replace it.
  std::function<Status(const NodeSet&)> bind_thread;
  // Where /proc/kpageflags and /proc/self/pagemap are read to explain failures (nullptr: never).
  const FsRoot* proc = nullptr;
  // Bytes one readahead(2) call reads on each device (readaheadCallBytesAt); 128 KiB, the
  // kernel's default readahead size, for a device not listed or listed as 0.
  std::map<dev_t, uint64_t> readahead_bytes;
  // Threads issuing the move calls; 0: zones::defaultMoveWorkers() (one per CPU, at most 8).
  int workers = 0;
  // When set, `targets` and `free_bytes` are not known yet as the bind starts: this fills them,
  // once, before the first page is read or moved, while the files opened so far stay mapped
  // (zonectl reads the zones this way while the first files are opened and looked at). An error
  // stops the bind there, with nothing read or moved: it is the report's stopped_by.
  std::function<Status(BindOptions&)> await_targets;
  // Where each group's holder goes when the group is done, still exiting; nullptr: bindFiles
  // waits for them before it returns.
  ExitingHolders* exiting = nullptr;
  // Off: only pages already cached are looked at and moved; pages not cached are left so and
  // counted in pages_not_cached (zoned's keeper: keeping a tree where it belongs must not read
  // back in what the kernel reclaimed).
  bool populate = true;
};

struct BindReport {
  uint64_t files = 0;
  uint64_t size_bytes = 0;
  uint64_t pages = 0;             // pages the files span
  uint64_t pages_in_place = 0;    // cached on a target node before
  uint64_t pages_populated = 0;   // not cached before, read in by the bound worker
  uint64_t pages_migrated = 0;    // cached elsewhere before, moved to a target
  uint64_t pages_failed = 0;      // not on a target node afterwards
  uint64_t pages_not_cached = 0;  // left out of the cache (BindOptions::populate off)
  std::map<FailReason, uint64_t> failed_by_reason;
  std::vector<FileFailure> file_failures;  // files skipped or not wholly placed, with why
  std::map<int, uint64_t> migrated_to;     // target node -> pages moved there
  uint64_t move_calls = 0;
  double elapsed_ms = 0;
  // Where the time went: looking (mincore, mapping cached pages, where they are), reading in
  // what was not cached (readahead, then faulting it in), moving, and unmapping (in this
  // process: the holders' exits run on after it, see ExitingHolders).
  double look_ms = 0;
  double read_ms = 0;
  double move_ms = 0;
  double unmap_ms = 0;
  // A condition that stopped the run (no permission to move shared pages, a target refused):
  // what is counted above is what was done before it.
  std::optional<Error> stopped_by;

  bool complete() const noexcept {
    return pages_failed == 0 && file_failures.empty() && !stopped_by;
  }
};

// Puts every page of `files` in the page cache on `options.targets`, a group of files at a time,
// in a worker thread bound to the targets with MPOL_BIND: pages not cached are read in there
// (MADV_WILLNEED in device-request-sized calls for the whole group, then MADV_POPULATE_READ to
// wait for them), pages cached elsewhere are moved with move_pages(2) and
// MPOL_MF_MOVE_ALL, grouped by target node in address order. A file open for writing by another
// process is skipped (its pages would be dirty and new ones allocated by the writer). Running it
// again changes nothing that is in place.
BindReport bindFiles(const std::vector<TreeFile>& files, const BindOptions& options);

// --- pure planning, for the engine and its tests ---

// One move_pages call's worth: pages (indexes into the caller's array) to one node.
struct MoveBatch {
  int node = 0;
  std::vector<size_t> pages;

  friend bool operator==(const MoveBatch&, const MoveBatch&) = default;
};

// Which pages to move where. `page_nodes[i]` is page i's node (or a negative errno: not placed,
// not moved). Pages on a target stay; the others are shared out over the targets by free memory
// (zones::shareByFreeMemory), in address order, one batch per target; `free_bytes` is lowered by
// what each node is given, so the next file's pages go where there is room.
std::vector<MoveBatch> planCacheMoves(const std::vector<int>& page_nodes, const NodeSet& targets,
                                      std::map<int, uint64_t>& free_bytes, uint64_t page_bytes);

// Runs of set entries in a mincore vector: [first, last) page indexes.
struct PageRun {
  size_t first = 0;
  size_t end = 0;

  friend bool operator==(const PageRun&, const PageRun&) = default;
};
std::vector<PageRun> runsOf(const std::vector<unsigned char>& cached, bool value);

// --- keeping pages resident ---

struct KeeperReport {
  pid_t pid = 0;
  uint64_t files = 0;
  uint64_t locked_bytes = 0;
  std::vector<FileFailure> file_failures;
  std::optional<pid_t> replaced;  // an earlier keeper of the same name, stopped once this one held
};

// Starts a keeper: a detached process (comm "sz-keep-NAME") bound to `targets` that maps and
// mlocks every file, then sleeps. mlocked page cache is never reclaimed, so it stays where bind
// put it; its cost is the files' whole size in RAM for as long as the keeper lives, within
// RLIMIT_MEMLOCK unless the caller has CAP_IPC_LOCK. The keeper's pid is recorded in
// `pid_dir`/NAME.pid; an earlier keeper recorded there is stopped once the new one holds its pages.
Result<KeeperReport> startKeeper(const std::string& name, const std::vector<TreeFile>& files,
                                 const NodeSet& targets, const std::string& pid_dir,
                                 const FsRoot& proc);

}  // namespace softzone::cache
