// Writing a whole file as root where others may write too: never through a symlink, never into
// a file someone else prepared, and atomically (old or new content, never a mix).
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>

#include "softzone/zones/result.h"

namespace softzone {

// Whether a replaced file must survive a crash of the machine (state, journals: fsync of the
// file and of its directory) or only be whole whenever read (a metrics file rewritten every
// second, where a disk write a second buys nothing: a reader after a crash finds the old file or
// the new one, and the next sample writes it again).
enum class Durability { kSynced, kAtomicOnly };

// Replaces entry `leaf` of directory `dirfd` with a new regular file holding `content`: a
// temporary file with an unpredictable name is created beside it (O_CREAT|O_EXCL|O_NOFOLLOW),
// written, fsync'ed (kSynced) and renamed over `leaf`; rename(2) replaces the entry itself, so a
// symlink at `leaf` is replaced, never followed. `what` names the file in errors. The temporary
// file is removed on every failure.
Status replaceFileAt(int dirfd, const std::string& leaf, std::string_view content,
                     std::string_view what, mode_t mode = 0644,
                     Durability durability = Durability::kSynced);

// An output file named on the command line (`report -o`, `snapshot -o`): `path` is created or,
// when it is a regular file, replaced as replaceFileAt does. Its directory is opened as named
// (the admin chose it), the last component is never followed: when it is a symlink, a device,
// a FIFO or a directory, nothing is written and the error (bad input, exit 2) says why.
Status writeOutputFile(const std::string& path, std::string_view content,
                       Durability durability = Durability::kSynced);

// The checks of writeOutputFile without writing: a verb calls it before it does anything, so a
// bad -o is refused with nothing changed.
Status checkOutputFile(const std::string& path);

}  // namespace softzone
