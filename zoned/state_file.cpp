// zoned's state file read through an FsRoot, with the boot check every reader needs.
#include "softzone/zoned/state_file.h"

namespace softzone::zoned {

Result<StateFile> readStateFile(const FsRoot& fs, std::optional<std::string_view> boot_id) {
  auto text = fs.readFile(kZonedStateFile);
  if (!text && text.error().code() == std::errc::no_such_file_or_directory) return StateFile{};
  if (!text) return std::move(text).error();
  auto state = parseState(*text);
  if (!state) return std::move(state).error().withContext(fs.hostPath(kZonedStateFile));
  if (boot_id && *boot_id != state->boot_id) return StateFile{StateFile::Found::kOtherBoot, {}};
  return StateFile{StateFile::Found::kUsable, std::move(state).value()};
}

}  // namespace softzone::zoned
