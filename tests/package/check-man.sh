#!/usr/bin/env bash
# Checks the manual pages: groff and man find no problem in them, and they cannot drift from the
# binaries: every zonectl verb has a section in zonectl(8), every option a verb's or zoned's --help
# lists is in the page, and softzone.ini(5) names every spec key the planner accepts.
#   check-man.sh ZONECTL ZONED SOURCE_DIR
set -euo pipefail
zonectl=$1 zoned=$2 src=$3
man_dir=$src/man
status=0
fail() { echo "check-man: $*" >&2; status=1; }

for page in "$man_dir"/zonectl.8 "$man_dir"/zoned.8 "$man_dir"/softzone.ini.5; do
  warnings=$(groff -ww -z -man "$page" 2>&1) || fail "groff failed on $page"
  [ -z "$warnings" ] || fail "groff warns on $page: $warnings"
  warnings=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$page" 2>&1 >/dev/null) ||
    fail "man failed on $page"
  [ -z "$warnings" ] || fail "man warns on $page: $warnings"
done

# An option as the page spells it: \-\-dry\-run.
in_page() { grep -qF -- "$(printf '%s' "$2" | sed 's/-/\\-/g')" "$1"; }

verbs=$("$zonectl" --help | sed -n '/^commands:/,/^$/s/^  \([a-z]*\)  .*/\1/p')
[ -n "$verbs" ] || fail "no verbs read from zonectl --help"
# A verb's positional argument is listed as an option too (--spec SPEC for `plan SPEC`): the page
# shows it as the argument. It is one whose value name stands bare in the usage line.
is_positional() {  # HELP OPTION
  local usage bare value
  usage=$(printf '%s\n' "$1" | head -1 | sed 's/^usage: zonectl \[global options\] [a-z]*//')
  case "$usage" in *"$2"*) return 1 ;; esac
  bare=" $(printf '%s' "$usage" | sed 's/--[a-z][a-z-]* [A-Z|]*//g' | grep -o '[A-Z][A-Z]*' | tr '\n' ' ')"
  value=$(printf '%s\n' "$1" | sed -n "s/^  .*$2\( \]\)\? \([A-Za-z]*\).*/\2/p" | head -1)
  [ "$value" = arg ] && value=$(printf '%s' "${2#--}" | tr a-z A-Z)
  case "$bare" in *" $value "*) return 0 ;; esac
  return 1
}
for verb in $verbs; do
  grep -q "^\.SS $verb\b" "$man_dir/zonectl.8" || fail "zonectl.8 has no section for '$verb'"
  help=$("$zonectl" "$verb" --help | sed '/^global options/,$d')
  for option in $(printf '%s\n' "$help" | sed 1d | grep -o -- '--[a-z][a-z-]*' | sort -u); do
    is_positional "$help" "$option" && continue
    in_page "$man_dir/zonectl.8" "$option" || fail "zonectl.8 does not mention $verb $option"
  done
done
for option in $("$zonectl" --help | grep -o -- '--[a-z][a-z-]*' | sort -u); do
  in_page "$man_dir/zonectl.8" "$option" || fail "zonectl.8 does not mention $option"
done
for option in $("$zoned" --help | grep -o -- '--[a-z][a-z-]*' | sort -u); do
  in_page "$man_dir/zoned.8" "$option" || fail "zoned.8 does not mention $option"
done

# The spec keys: the planner's key lists, and zoned's [zoned] keys.
keys=$(sed -n 's/.*k\(Machine\|Shared\|Partition\)Keys = {\(.*\)/\2/p;/kPartitionKeys/{n;p}' \
  "$src/planner/spec.cpp" | grep -o '"[a-z_]*"' | tr -d '"')
keys+=" $(grep -o '^ *{"[a-z_0-9]*",' "$src/zoned/config.cpp" | tr -d ' {",')"
[ -n "$keys" ] || fail "no spec keys read"
for key in $keys; do
  in_page "$man_dir/softzone.ini.5" "$(printf '%s' "$key")" ||
    fail "softzone.ini.5 does not mention key '$key'"
done
[ $status = 0 ] && echo "check-man: the three pages are clean and match --help"
exit $status
