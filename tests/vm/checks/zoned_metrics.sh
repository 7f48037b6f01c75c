#!/bin/sh
# Host-side check of the zoned-overcommit case: the metrics textfile zoned wrote and what its HTTP
# /metrics answered (fetched by the case into http.prom) pass `promtool check metrics`
# (Prometheus' own linter of the text exposition format).
# Usage: zoned_metrics.sh OUT_DIR
set -eu
command -v promtool >/dev/null || { echo "promtool is missing (Debian's prometheus package)"; exit 1; }
for file in "$1/softzone.prom" "$1/http.prom"; do
  [ -s "$file" ] || { echo "no metrics at $file"; exit 1; }
  promtool check metrics <"$file"
  echo "promtool: $(grep -c '^softzone_' "$file") samples in $(basename "$file") pass"
done
