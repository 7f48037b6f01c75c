// Reading zoned's state file through an FsRoot, for zoned at start and for zonectl list and
// status: one reader, one boot check, each caller deciding what a missing or stale file means.
#pragma once

#include <optional>
#include <string_view>

#include "softzone/zoned/state.h"
#include "softzone/zones/fs_root.h"
#include "softzone/zones/result.h"

namespace softzone::zoned {

struct StateFile {
  enum class Found {
    kNone,       // no file: zoned never saved one
    kUsable,     // `state` is this boot's
    kOtherBoot,  // a file another boot wrote: its times and loans are gone with that boot
  };
  Found found = Found::kNone;
  ZonedState state;  // with kUsable only
};

// Reads kZonedStateFile through `fs`. `boot_id` is this boot's; nullopt skips the check (a tree
// without one). A file that cannot be read (other than missing) or does not parse is an error
// naming the file.
Result<StateFile> readStateFile(const FsRoot& fs, std::optional<std::string_view> boot_id);

}  // namespace softzone::zoned
