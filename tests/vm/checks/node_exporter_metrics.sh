#!/bin/sh
# Host-side check of the systemd-package case: what Debian's prometheus-node-exporter served on
# 127.0.0.1:9100 in the guest (node-exporter.prom) passes `promtool check metrics` for zoned's
# families (softzone_*, read from its textfile), and parses as a whole. node-exporter's own
# families are linted too, but their lint findings are node-exporter's and only listed.
# Usage: node_exporter_metrics.sh OUT_DIR
set -eu
command -v promtool >/dev/null || { echo "promtool is missing (Debian's prometheus package)"; exit 1; }
file=$1/node-exporter.prom
[ -s "$file" ] || { echo "no metrics at $file"; exit 1; }
softzone=$(grep -E '^(# (HELP|TYPE) )?softzone_' "$file") || { echo "no softzone_ family in $file"; exit 1; }
printf '%s\n' "$softzone" | promtool check metrics
echo "promtool: $(printf '%s\n' "$softzone" | grep -c '^softzone_') softzone_ samples served by node-exporter pass"
# Exit 1 is a parse error; 3 is lint findings (listed, not failed).
status=0
promtool check metrics <"$file" >"$1/promtool-node-exporter.txt" 2>&1 || status=$?
case $status in
  0) echo "promtool: all $(grep -c '^[a-z]' "$file") samples pass" ;;
  3) echo "promtool: $(sort -u "$1/promtool-node-exporter.txt" | wc -l) lint findings, all in" \
       "node-exporter's own families (listed in promtool-node-exporter.txt), as:"
     grep -v '^softzone_' "$1/promtool-node-exporter.txt" | sort -u | head -n 3
     if grep -q '^softzone_' "$1/promtool-node-exporter.txt"; then
       echo "promtool: a softzone_ family has lint findings"; exit 1
     fi ;;
  *) cat "$1/promtool-node-exporter.txt"; echo "promtool cannot parse $file (exit $status)"; exit 1 ;;
esac
