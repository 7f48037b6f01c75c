// Cache tests: one file as the tree walk lists it (its directory held open), for the engine's
// calls that take walked files.
#pragma once

#include <cstdlib>
#include <string>

#include "softzone/cache/page_cache.h"

namespace softzone::cache {

inline TreeFile walkedFile(const std::string& path) {
  auto walks = walkTrees({path});
  if (!walks || walks->front().files.size() != 1) std::abort();
  return walks->front().files.front();
}

}  // namespace softzone::cache
