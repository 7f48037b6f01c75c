// Helpers shared by the report library's files (not part of its interface).
#pragma once

#include <nlohmann/json.hpp>

#include "softzone/report/kmsg_oom.h"
#include "softzone/report/pressure.h"

namespace softzone::report {

nlohmann::ordered_json oomKillToJson(const OomKill& kill);
nlohmann::ordered_json pressureToJson(const Pressure& pressure);

}  // namespace softzone::report
