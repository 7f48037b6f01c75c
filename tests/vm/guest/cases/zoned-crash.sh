# zoned-crash: zoned is SIGKILLed right after each journaled step of a lend (SOFTZONE_TEST_STOP_AT:
# resize.journal, .grow, .migrate, .shrink, .verify, .state) while partition a's workload grows
# and writes its memory; each time zoned is started again and must complete or roll back the move
# at once (no journal left, a keeps every node it had, no drift) and go on lending. Then, with
# every node lent and nothing left to give, zoned says why it does not grow a and the kernel's OOM
# kill stays inside a. A SIGHUP with a broken spec keeps the one in use.
. /tests/lib.sh
. /tests/placement-lib.sh
. /tests/partition-lib.sh
. /tests/zoned-lib.sh

ALL_MIB=$(for node in 1 2 3 4 5 6 7; do total_mib "$node"; done | awk '{ s += $1 } END { print s }')
NODE_MIB=$(for node in 1 2 3 4 5 6 7; do total_mib "$node"; done | sort -n | head -1)
zonectl create a --nodes 1
# max: every node (MemTotal rounded down to MiB per node would leave the last one out).
cat >"$ZONED_CONFIG" <<CONFIG
[partition.a]
memory = ${NODE_MIB}M
min = ${NODE_MIB}M
max = $((ALL_MIB + 64))M
[zoned]
interval = 250ms
sustain = 2
headroom = 50%
free_low = 10%
cooldown = 1s
max_moves_per_minute = 60
CONFIG

step "SIGHUP with a broken spec keeps the one in use"
zoned_start
cp "$ZONED_CONFIG" /tmp/good.ini
echo "refault_rate = lots" >>"$ZONED_CONFIG"
kill -HUP "$ZONED_PID"
tries=50
until grep -q "reload refused" "$ZONED_LOG"; do
  tries=$((tries - 1)); [ "$tries" -gt 0 ] || fail "no refusal logged: $(cat "$ZONED_LOG")"; sleep 0.2
done
grep "reload refused" "$ZONED_LOG" | grep -q 'refault_rate = "lots"' || fail "the refusal does not say why"
kill -0 "$ZONED_PID" || fail "zoned died of a broken spec"
cp /tmp/good.ini "$ZONED_CONFIG"
kill -HUP "$ZONED_PID"
tries=50
until grep -q "zoned: reloaded" "$ZONED_LOG"; do
  tries=$((tries - 1)); [ "$tries" -gt 0 ] || fail "no reload logged"; sleep 0.2
done
zoned_stop

# Six nodes' worth (what seven hold, less their own overhead), written at 10 MiB/s and touched
# all along: a needs every node. Half of a's memory as headroom: between two zoned processes
# nothing grows a.
ANON=$((ALL_MIB - NODE_MIB))
HOLD_STATUS=/tmp/a.status
last_status=
zonectl exec a -- memhold --mib "$ANON" --ramp 10 --touch on --status "$HOLD_STATUS" &
HOLD_PID=$!
for at in journal grow migrate shrink verify state; do
  step "zoned killed after resize.$at of a lend"
  before=$(mems_of a)
  zoned_killed_at "resize.$at" "$HOLD_PID" "$HOLD_STATUS"
  echo "a had $before, has $(mems_of a) at the kill"
  zoned_start
  [ ! -e /run/softzone/journal.json ] || fail "zoned did not recover the journal at start"
  after=$(mems_of a)
  for node in $(nodes_of "$before"); do
    case " $(nodes_of "$after") " in *" $node "*) ;; *) fail "a lost node $node: $before -> $after" ;; esac
  done
  expect_sound
  zoned_stop
done

step "zoned lends the rest; a's memory intact"
zoned_start
wait_ready "$HOLD_PID" "$HOLD_STATUS" 600
hold_check
echo "a has $(mems_of a)"

step "nothing left to give: zoned says so, the OOM kill stays in a"
dmesg -c >/dev/null
# Two nodes' worth more than a's free memory: the kernel must kill in a (its victim is the
# largest task there, likely the first workload, whose memory was checked above).
zonectl exec a -- memhold --mib $((NODE_MIB * 2)) --ramp 20 --status /tmp/more.status &
MORE_PID=$!
tries=600
until dmesg | grep -q "oom-kill:"; do
  tries=$((tries - 1))
  [ "$tries" -gt 0 ] || fail "no OOM kill with a full and nothing to give"
  sleep 0.2
done
kill -TERM "$MORE_PID" 2>/dev/null || true
wait "$MORE_PID" || true
grep "no move for a" "$ZONED_LOG" || fail "zoned did not say why a does not grow"
dmesg | grep "oom-kill:" | grep -q "cpuset=a," || fail "no OOM kill in a: $(dmesg | grep oom-kill)"
dmesg | grep "oom-kill:" | grep -v "cpuset=a," && fail "an OOM kill outside a"
zoned_stop
kill -TERM "$HOLD_PID" 2>/dev/null || true
wait "$HOLD_PID" || true  # it may be the victim: its memory was checked above
zonectl destroy a
expect_sound
echo "zoned-crash: ok"
