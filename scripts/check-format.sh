#!/usr/bin/env bash
# The format gate: every C++ file changed since the gate came in (kFormatBase) must be as
# clang-format (the repository's .clang-format, Debian's clang-format 14) writes it. The older
# files join the check as they are changed, so the gate never asks for a tree-wide reformat.
#   check-format.sh          check; prints the files that are not formatted, exit 1
#   check-format.sh --fix    rewrite those files in place
set -euo pipefail
cd "$(dirname "$0")/.."
kFormatBase=c462da2
mode=check
case "${1:-}" in
  "") ;;
  --fix) mode=fix ;;
  *) echo "check-format.sh: unknown option '$1' (--fix or nothing)" >&2; exit 2 ;;
esac
command -v clang-format >/dev/null || { echo "check-format.sh: clang-format is not installed" >&2; exit 1; }
git cat-file -e "$kFormatBase^{commit}" 2>/dev/null ||
  { echo "check-format.sh: commit $kFormatBase is not in this clone (a shallow clone?)" >&2; exit 1; }
mapfile -t files < <(git diff --name-only --diff-filter=d "$kFormatBase" -- '*.cpp' '*.h')
bad=()
for f in "${files[@]}"; do
  clang-format --dry-run -Werror "$f" >/dev/null 2>&1 || bad+=("$f")
done
if [ "$mode" = fix ]; then
  [ ${#bad[@]} -eq 0 ] || clang-format -i "${bad[@]}"
  exit 0
fi
if [ ${#bad[@]} -gt 0 ]; then
  echo "check-format.sh: ${#bad[@]} of ${#files[@]} changed files are not clang-formatted (scripts/check-format.sh --fix):" >&2
  printf '  %s\n' "${bad[@]}" >&2
  exit 1
fi
echo "check-format.sh: ${#files[@]} changed files formatted"
