#!/bin/sh
# Host-side check of a zoned case: the metrics textfile zoned wrote passes `promtool check
# metrics` (Prometheus' own linter of the text exposition format).
# Usage: zoned_metrics.sh OUT_DIR
set -eu
file=$1/softzone.prom
[ -s "$file" ] || { echo "no metrics file at $file"; exit 1; }
command -v promtool >/dev/null || { echo "promtool is missing (Debian's prometheus package)"; exit 1; }
promtool check metrics <"$file"
echo "promtool: $(grep -c '^softzone_' "$file") samples pass"
