// zonectl residency: cached pages of files and trees per node and per zone (fincore by node).
#include <unistd.h>

#include <cstdio>
#include <nlohmann/json.hpp>
#include <optional>

#include "command.h"
#include "softzone/cache/page_cache.h"
#include "softzone/cpuset/zone_state.h"
#include "softzone/zones/size.h"
#include "table.h"

namespace softzone::tools {
namespace po = boost::program_options;
using json = nlohmann::ordered_json;

namespace {

// Which zone owns each node ("shared", a partition's name, "system", "free").
using NodeOwners = std::map<int, std::string>;

std::optional<NodeOwners> readNodeOwners(const Context& ctx) {
  auto machine = cpuset::readMachineZones(ctx.fs, ctx.cgroup_mode);
  if (!machine) return std::nullopt;
  NodeOwners owners;
  for (const cpuset::ZoneView& zone : machine->zones) {
    for (int node : zone.nodes.ids()) owners.emplace(node, zone.name);
  }
  return owners;
}

struct TreeResidency {
  std::string root;
  std::vector<cache::FileResidency> files;
  cache::ResidencyTotals totals;
};

struct ResidencyView {
  std::vector<TreeResidency> trees;
  cache::ResidencyTotals totals;
  std::optional<NodeOwners> owners;
  bool per_node = true;
  bool cachestat = false;
  bool list_files = false;
};

std::map<std::string, uint64_t> pagesPerZone(const std::map<int, uint64_t>& per_node,
                                             const NodeOwners& owners) {
  std::map<std::string, uint64_t> zones;
  for (const auto& [node, pages] : per_node) {
    auto it = owners.find(node);
    zones[it == owners.end() ? "node " + std::to_string(node) + " (no zone)" : it->second] += pages;
  }
  return zones;
}

uint64_t pageBytes() {
  static const uint64_t kBytes = static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
  return kBytes;
}

std::string mibText(uint64_t pages) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f",
                static_cast<double>(pages * pageBytes()) / static_cast<double>(kMiB));
  return text;
}

std::string percent(uint64_t part, uint64_t whole) {
  if (whole == 0) return "-";
  char text[16];
  std::snprintf(text, sizeof text, "%.1f",
                100.0 * static_cast<double>(part) / static_cast<double>(whole));
  return text;
}

void addRow(Table& table, const std::string& name, uint64_t files, uint64_t size_bytes,
            uint64_t pages, uint64_t cached, const std::map<int, uint64_t>& per_node,
            const std::vector<int>& nodes, bool per_node_columns) {
  std::vector<std::string> cells = {name, std::to_string(files),
                                    mibText((size_bytes + pageBytes() - 1) / pageBytes()),
                                    mibText(cached), percent(cached, pages)};
  if (per_node_columns) {
    for (int node : nodes) {
      auto it = per_node.find(node);
      cells.push_back(it == per_node.end() ? "0" : std::to_string(it->second));
    }
  }
  table.addRow(std::move(cells));
}

void renderText(const ResidencyView& view, std::ostream& out) {
  std::vector<int> nodes;
  for (const auto& [node, pages] : view.totals.pages_per_node) nodes.push_back(node);
  Table table;
  table.addColumn("PATH");
  table.addColumn("FILES", Table::Align::kRight);
  table.addColumn("SIZE (MiB)", Table::Align::kRight);
  table.addColumn("CACHED (MiB)", Table::Align::kRight);
  table.addColumn("CACHED %", Table::Align::kRight);
  if (view.per_node) {
    for (int node : nodes) {
      // Appended, not `"N" + std::to_string(node)`: GCC 12 at -O3 warns -Wrestrict on that
      // inlined prepend (a false positive, GCC bug 105329), which stops the package build.
      std::string title = "N";
      title += std::to_string(node);
      title += " (pages)";
      table.addColumn(title, Table::Align::kRight);
    }
  }
  for (const TreeResidency& tree : view.trees) {
    addRow(table, tree.root, tree.totals.files, tree.totals.size_bytes, tree.totals.pages,
           tree.totals.cached_pages, tree.totals.pages_per_node, nodes, view.per_node);
    if (!view.list_files) continue;
    for (const cache::FileResidency& file : tree.files) {
      addRow(table, "  " + file.path, 1, file.size_bytes, file.pages, file.cached_pages,
             file.pages_per_node, nodes, view.per_node);
    }
  }
  if (view.trees.size() > 1) {
    addRow(table, "total", view.totals.files, view.totals.size_bytes, view.totals.pages,
           view.totals.cached_pages, view.totals.pages_per_node, nodes, view.per_node);
  }
  table.render(out);
  if (!view.per_node) {
    out << "(totals only, from " << (view.cachestat ? "cachestat(2)" : "mincore(2)") << ")\n";
    return;
  }
  if (view.totals.unplaced_pages > 0) {
    out << view.totals.unplaced_pages << " cached pages could not be placed on a node "
        << "(evicted while looked at)\n";
  }
  if (view.owners) {
    for (const TreeResidency& tree : view.trees) {
      out << tree.root << " by zone:";
      auto zones = pagesPerZone(tree.totals.pages_per_node, *view.owners);
      if (zones.empty()) out << " nothing cached";
      for (const auto& [zone, pages] : zones) {
        out << "  " << zone << " " << pages << " pages ("
            << percent(pages, tree.totals.cached_pages) << "%)";
      }
      out << "\n";
    }
  }
  for (const TreeResidency& tree : view.trees) {
    for (const cache::FileResidency& file : tree.files) {
      if (!file.error.empty()) out << "not looked at: " << file.error << "\n";
    }
  }
}

json nodeCounts(const std::map<int, uint64_t>& pages) {
  json counts = json::object();
  for (const auto& [node, count] : pages) counts[std::to_string(node)] = count;
  return counts;
}

json totalsJson(const cache::ResidencyTotals& totals, const ResidencyView& view) {
  json entry = {{"files", totals.files},
                {"files_failed", totals.files_failed},
                {"size_bytes", totals.size_bytes},
                {"pages", totals.pages},
                {"cached_pages", totals.cached_pages},
                {"cached_bytes", totals.cached_pages * pageBytes()},
                {"unplaced_pages", totals.unplaced_pages},
                {"pages_per_node", nodeCounts(totals.pages_per_node)}};
  if (view.owners) {
    json zones = json::object();
    for (const auto& [zone, pages] : pagesPerZone(totals.pages_per_node, *view.owners))
      zones[zone] = pages;
    entry["pages_per_zone"] = zones;
  } else {
    entry["pages_per_zone"] = nullptr;
  }
  return entry;
}

json fileJson(const cache::FileResidency& file) {
  return {{"path", file.path},
          {"size_bytes", file.size_bytes},
          {"pages", file.pages},
          {"cached_pages", file.cached_pages},
          {"unplaced_pages", file.unplaced_pages},
          {"pages_per_node", nodeCounts(file.pages_per_node)},
          {"dirty_pages", file.dirty_pages ? json(*file.dirty_pages) : json(nullptr)},
          {"writeback_pages", file.writeback_pages ? json(*file.writeback_pages) : json(nullptr)},
          {"error", file.error.empty() ? json(nullptr) : json(file.error)}};
}

json renderJson(const ResidencyView& view) {
  json trees = json::array();
  for (const TreeResidency& tree : view.trees) {
    json entry = totalsJson(tree.totals, view);
    entry["path"] = tree.root;
    json files = json::array();
    for (const cache::FileResidency& file : tree.files) {
      if (view.list_files || !file.error.empty()) files.push_back(fileJson(file));
    }
    entry["file_list"] = files;
    trees.push_back(entry);
  }
  return {{"per_node", view.per_node},
          {"cachestat", view.cachestat},
          {"trees", trees},
          {"total", totalsJson(view.totals, view)}};
}

}  // namespace

Status cmdResidency(Context& ctx, const std::vector<std::string>& args) {
  po::options_description options("residency options");
  options.add_options()("files", "list every file, not only each tree")(
      "fast", "totals only (cachestat(2) where the kernel has it), no per-node census")(
      "cross-mounts",
      "walk into filesystems mounted below a PATH (default: a tree ends at its PATH's "
      "filesystem)")("path", po::value<std::vector<std::string>>(),
                     "files or directories to look at (symlinks below a PATH are not followed)");
  po::positional_options_description positional;
  positional.add("path", -1);
  po::variables_map values;
  if (!parseVerbOptions(ctx, "residency", "PATH... [--files] [--fast] [--cross-mounts]", options,
                        positional, args, values)) {
    return {};
  }
  if (!ctx.fs.isLive()) {
    return badInput(
        "residency looks at the running system's page cache; it does not work with "
        "--root");
  }
  if (values.count("path") == 0) return badInput("residency needs at least one PATH");
  cache::WalkOptions walk_options;
  walk_options.cross_mounts = values.count("cross-mounts") > 0;
  SZ_TRY(walks, cache::walkTrees(values["path"].as<std::vector<std::string>>(), walk_options));
  ResidencyView view;
  view.per_node = values.count("fast") == 0;
  view.cachestat = cache::kernelHasCachestat();
  view.list_files = values.count("files") > 0;
  view.owners = readNodeOwners(ctx);
  for (const cache::TreeWalk& walk : walks) {
    TreeResidency tree{walk.root, {}, {}};
    for (const cache::TreeFile& file : walk.files) {
      tree.files.push_back(cache::readFileResidency(file, view.per_node));
      tree.totals.add(tree.files.back());
      view.totals.add(tree.files.back());
    }
    view.trees.push_back(std::move(tree));
  }
  if (ctx.json) {
    ctx.out << renderJson(view).dump(2) << '\n';
  } else {
    renderText(view, ctx.out);
  }
  if (view.totals.files_failed > 0) {
    ctx.out.flush();
    return infeasible(std::to_string(view.totals.files_failed) +
                      " files could not be looked at (listed above)");
  }
  return {};
}

}  // namespace softzone::tools
