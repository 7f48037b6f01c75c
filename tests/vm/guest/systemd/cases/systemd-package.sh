# systemd-package: the softzone .deb (scripts/package.sh, carried by run-guest.sh --payload-deb)
# installed with apt on a Debian 12 host with no network, its Depends resolved from the apt lists
# and archive cache the image keeps (make-rootfs.sh). Then, as an admin would: the installed
# tools, manual page, example and units; softzone-apply.service makes the demo's partitions;
# zoned.service runs them under systemd (READY and STATUS, /metrics on loopback, a refused reload,
# a restart after a crash, a clean stop); Debian's prometheus-node-exporter serves zoned's
# textfile on 127.0.0.1:9100 (promtool checks what it served on the host); and the GRUB drop-in
# from `zonectl plan --format grub` gives grub-mkconfig's kernel line the numa=fake= this guest
# booted with.
. /tests/lib.sh
CG=/sys/fs/cgroup
debs=/mnt/disk/payload/debs
port=9747
textfile=/var/lib/prometheus/node-exporter/softzone.prom
# The libraries softzone's Depends add to a Debian 12 host with systemd (make-rootfs.sh).
libraries="libhwloc15 libboost-program-options1.74.0 libcpp-httplib0.11"

installed() { [ "$(dpkg-query -W -f '${db:Status-Status}' "$1" 2>/dev/null)" = installed ]; }
seconds() { date +%s.%N; }
elapsed() { echo "$1 $2" | awk '{ printf "%.1f", $2 - $1 }'; }

step "a host without softzone nor its libraries"
installed softzone && fail "softzone is installed before the case installs it"
# The image has libhwloc15 for the test builds of zonectl other cases carry: removed, so that apt
# must bring it as a Depends.
apt-get purge --yes --quiet libhwloc15 >/tmp/purge.log 2>&1 || {
  cat /tmp/purge.log
  fail "apt-get purge libhwloc15 failed"
}
for lib in $libraries; do
  installed "$lib" && fail "$lib is installed before the package"
  ls /var/cache/apt/archives/"$lib"_*.deb >/dev/null || fail "$lib is not in apt's archive cache"
done
expect_eq "network interfaces" lo "$(ls /sys/class/net)"
echo "not installed: softzone $libraries; apt's cache: $(ls /var/cache/apt/archives/*.deb | wc -l) .debs"

step "apt-get install ./softzone_*.deb, offline"
cd "$debs"
set -- ./softzone_*.deb
[ $# = 1 ] && [ -f "$1" ] || fail "expected one softzone .deb in $debs: $*"
deb=$1
dpkg-deb -f "$deb" Package Version Depends
start=$(seconds)
DEBIAN_FRONTEND=noninteractive apt-get install --yes --quiet "$deb" >"$SOFTZONE_OUT/apt-install.log" 2>&1 || {
  cat "$SOFTZONE_OUT/apt-install.log"
  fail "apt-get install $deb failed"
}
echo "installed in $(elapsed "$start" "$(seconds)") s (apt-get install, under emulation)"
cd /
sed -n "/^The following NEW packages/,/^[^ ]/p" "$SOFTZONE_OUT/apt-install.log"
# Everything came from the cache: nothing to download (the guest has no network).
grep -q "^Need to get 0 B" "$SOFTZONE_OUT/apt-install.log" || fail "apt wanted to download packages"
installed softzone || fail "dpkg -s softzone: not installed"
dpkg -s softzone | grep "^Status\|^Version\|^Depends"
for lib in $libraries; do
  installed "$lib" || fail "$lib was not installed with softzone"
done
# Every package the Depends names is installed (dpkg would not configure softzone otherwise;
# checked here by name all the same).
for dep in $(dpkg-query -W -f '${Depends}' softzone | tr ',' '\n' | sed 's/(.*)//; s/|.*//'); do
  installed "$dep" || fail "Depends: $dep is not installed"
done

step "the installed tools, manual page and example"
expect_eq "zonectl" /usr/sbin/zonectl "$(command -v zonectl)"
zonectl --help >/tmp/help.txt
head -n 1 /tmp/help.txt
grep -q "^usage: zonectl " /tmp/help.txt || fail "zonectl --help has no usage line"
zoned --version
expect_eq "man -w zonectl" /usr/share/man/man8/zonectl.8.gz "$(man -w zonectl)"
expect_eq "man -w 5 softzone.ini" /usr/share/man/man5/softzone.ini.5.gz "$(man -w 5 softzone.ini)"
examples=/usr/share/doc/softzone/examples
expect_eq "plan of the installed build-farm.ini" numa=fake=55 \
  "$(zonectl plan $examples/build-farm.ini --machine $examples/machines/one-socket-64g.json --format cmdline)"

step "the units are installed, not enabled"
systemctl cat softzone-apply.service zoned.service >/tmp/units.txt
grep "^# /" /tmp/units.txt
grep -q "^# /lib/systemd/system/softzone-apply.service$" /tmp/units.txt || fail "softzone-apply.service not installed"
grep -q "^# /lib/systemd/system/zoned.service$" /tmp/units.txt || fail "zoned.service not installed"
for unit in softzone-apply.service zoned.service; do
  expect_eq "$unit enabled" disabled "$(systemctl is-enabled "$unit" || true)"
done

step "softzone-apply.service makes the demo's partitions"
mkdir -p /etc/softzone "$(dirname $textfile)"
cp $examples/demo.ini /etc/softzone/softzone.ini
cat >>/etc/softzone/softzone.ini <<SPEC

[zoned]
metrics_textfile = $textfile
listen = 127.0.0.1:$port
SPEC
systemctl enable --now softzone-apply.service
expect_eq "softzone-apply state" active "$(systemctl is-active softzone-apply.service || true)"
parent=system.slice/softzone-apply.service/partitions
for name in web batch; do
  [ -n "$(cat "$CG/$parent/$name/cpuset.mems")" ] || fail "no partition $name with nodes"
done
zonectl list

step "systemctl start zoned: READY after its first sample, its STATUS line"
start=$(seconds)
systemctl start zoned.service
echo "systemctl start zoned returned after $(elapsed "$start" "$(seconds)") s"
expect_eq "zoned state" active "$(systemctl is-active zoned.service || true)"
systemctl status --no-pager zoned.service >/tmp/status.txt || true
cat /tmp/status.txt
grep -q '^ *Status: "[a-z].* nodes' /tmp/status.txt || fail "systemctl status shows no STATUS= line from zoned"
zoned_pid=$(systemctl show -P MainPID zoned.service)
expect_eq "zoned's main process" zoned "$(cat /proc/"$zoned_pid"/comm)"
expect_eq "zoned's cgroup" 0::/system.slice/zoned.service "$(cat /proc/"$zoned_pid"/cgroup)"

step "/metrics on loopback, and the textfile"
busybox wget -q -O /tmp/metrics.txt "http://127.0.0.1:$port/metrics" || fail "no answer on 127.0.0.1:$port/metrics"
grep '^softzone_nodes{' /tmp/metrics.txt
grep -q '^softzone_nodes{zone="web"} [1-9]' /tmp/metrics.txt || fail "/metrics has no nodes for web"
grep -q '^softzone_zoned_samples_total' "$textfile" || fail "the textfile has no samples counter"
cp /tmp/metrics.txt "$SOFTZONE_OUT/metrics.txt"

step "prometheus-node-exporter serves zoned's textfile on 127.0.0.1:9100"
# Debian's package, in the image but not enabled (make-rootfs.sh); its textfile collector reads
# /var/lib/prometheus/node-exporter/*.prom by default, where the spec put zoned's textfile. It
# listens on every address by default: bound to loopback here, as zoned's /metrics is.
installed prometheus-node-exporter || fail "prometheus-node-exporter is not in the image"
exporter=prometheus-node-exporter.service
expect_eq "$exporter enabled" disabled "$(systemctl is-enabled $exporter || true)"
echo 'ARGS="--web.listen-address=127.0.0.1:9100"' >/etc/default/prometheus-node-exporter
start=$(seconds)
systemctl enable --now --quiet $exporter
tries=600
until busybox wget -q -O /tmp/node-exporter.prom http://127.0.0.1:9100/metrics 2>/dev/null; do
  tries=$((tries - 1))
  [ "$tries" -gt 0 ] || fail "node-exporter does not answer on 127.0.0.1:9100 60 s after it started: $(systemctl status --no-pager $exporter)"
  sleep 0.1
done
echo "node-exporter answered $(elapsed "$start" "$(seconds)") s after systemctl start (under emulation)"
exporter_pid=$(systemctl show -P MainPID $exporter)
tr '\0' ' ' </proc/"$exporter_pid"/cmdline
echo
expect_eq "node-exporter's user" prometheus "$(stat -c %U /proc/"$exporter_pid")"
# Listening sockets on port 9100 (0x238C) over IPv4 and IPv6: 127.0.0.1 only.
tables=/proc/net/tcp
[ ! -e /proc/net/tcp6 ] || tables="$tables /proc/net/tcp6"
expect_eq "sockets listening on port 9100" 0100007F:238C \
  "$(awk '$4 == "0A" && $2 ~ /:238C$/ { print $2 }' $tables)"
start=$(seconds)
busybox wget -q -O /tmp/node-exporter.prom http://127.0.0.1:9100/metrics || fail "a second scrape of node-exporter failed"
echo "one scrape: $(elapsed "$start" "$(seconds)") s, $(grep -c '^[a-z]' /tmp/node-exporter.prom) samples"
cp /tmp/node-exporter.prom "$SOFTZONE_OUT/node-exporter.prom"
grep '^node_textfile' /tmp/node-exporter.prom
grep -q '^node_textfile_scrape_error 0$' /tmp/node-exporter.prom || fail "node-exporter could not read the textfile"
grep -q "^node_textfile_mtime_seconds{file=\"[^\"]*softzone.prom\"}" /tmp/node-exporter.prom ||
  fail "node-exporter did not read softzone.prom"
grep '^softzone_nodes{' /tmp/node-exporter.prom
# Each partition's nodes as its cgroup holds them, and the same zones as zoned's own textfile.
count_nodes() { echo "$1" | tr ',' '\n' | awk -F- 'NF == 2 { n += $2 - $1 + 1 } NF == 1 && $1 != "" { n++ } END { print n + 0 }'; }
for name in web batch; do
  nodes=$(count_nodes "$(cat "$CG/$parent/$name/cpuset.mems")")
  grep -q "^softzone_nodes{zone=\"$name\"} $nodes\$" /tmp/node-exporter.prom ||
    fail "node-exporter does not serve softzone_nodes{zone=\"$name\"} $nodes"
done
zones() { sed -n 's/^softzone_nodes{zone="\([^"]*\)"}.*/\1/p' "$1" | sort | tr '\n' ' '; }
expect_eq "zones served by node-exporter" "$(zones "$textfile")" "$(zones /tmp/node-exporter.prom)"
# Families with samples: node-exporter serves no family that has none.
families() { sed -n 's/^\(softzone_[a-z0-9_]*\)[{ ].*/\1/p' "$1" | sort -u | tr '\n' ' '; }
[ -n "$(families "$textfile")" ] || fail "no softzone_ samples in $textfile"
expect_eq "softzone_ families served by node-exporter" "$(families "$textfile")" \
  "$(families /tmp/node-exporter.prom)"
echo "node-exporter serves $(families /tmp/node-exporter.prom | wc -w) softzone_ families for zones $(zones /tmp/node-exporter.prom)"

step "systemctl reload zoned with a broken spec: refused, zoned keeps running"
cp /etc/softzone/softzone.ini /tmp/good.ini
sed -i "s/^listen = .*/listen = 0.0.0.0:$port/" /etc/softzone/softzone.ini
systemctl reload zoned.service
tries=100
until journalctl -u zoned.service --no-pager -o cat | grep -q "^zoned: reload refused"; do
  tries=$((tries - 1))
  [ "$tries" -gt 0 ] || fail "no refusal in zoned's journal 10 s after the reload"
  sleep 0.1
done
journalctl -u zoned.service --no-pager -o cat | grep "^zoned: reload refused"
expect_eq "zoned state after the refused reload" active "$(systemctl is-active zoned.service || true)"
expect_eq "zoned's main pid after the refused reload" "$zoned_pid" "$(systemctl show -P MainPID zoned.service)"
# The refusal is counted in the next sample's metrics, served by the same process.
tries=100
until busybox wget -q -O /tmp/metrics.txt "http://127.0.0.1:$port/metrics" &&
  grep -q '^softzone_zoned_config_reload_failures_total 1$' /tmp/metrics.txt; do
  tries=$((tries - 1))
  [ "$tries" -gt 0 ] || fail "the refused reload is not counted in /metrics: $(grep reload /tmp/metrics.txt)"
  sleep 0.2
done
cp /tmp/good.ini /etc/softzone/softzone.ini

step "zoned killed: systemd restarts it (Restart=on-failure)"
systemctl kill --signal=KILL zoned.service
tries=600
until [ "$(systemctl show -P NRestarts zoned.service)" = 1 ] && systemctl is-active --quiet zoned.service; do
  tries=$((tries - 1))
  [ "$tries" -gt 0 ] || fail "zoned not restarted within 60 s: $(systemctl status --no-pager zoned.service)"
  sleep 0.1
done
new_pid=$(systemctl show -P MainPID zoned.service)
[ "$new_pid" != "$zoned_pid" ] || fail "zoned's main pid did not change"
echo "restarted: pid $zoned_pid -> $new_pid"

step "systemctl stop zoned: a clean exit"
systemctl stop zoned.service
expect_eq "zoned state after stop" inactive "$(systemctl is-active zoned.service || true)"
expect_eq "zoned's result" success "$(systemctl show -P Result zoned.service)"
expect_eq "zoned's exit status" 0 "$(systemctl show -P ExecMainStatus zoned.service)"
journalctl -u zoned.service --no-pager -o cat >"$SOFTZONE_OUT/zoned-journal.txt"
tail -n 4 "$SOFTZONE_OUT/zoned-journal.txt"
# One stop: the killed zoned logged none.
expect_eq "zoned's stop lines" 1 "$(grep -c "^zoned: stopped$" "$SOFTZONE_OUT/zoned-journal.txt")"
echo "zoned's last status: $(systemctl show -P StatusText zoned.service)"
expect_eq "partitions after zoned stopped" active "$(systemctl is-active softzone-apply.service || true)"
zonectl --json list | grep -q '"drift": \[\]' || fail "drift after zoned ran"

step "the GRUB drop-in gives grub-mkconfig the booted numa=fake="
planned=$(zonectl plan /etc/softzone/softzone.ini --format cmdline)
booted=$(tr ' ' '\n' </proc/cmdline | grep '^numa=fake=')
expect_eq "planned numa=fake" "$booted" "$planned"
mkdir -p /etc/default/grub.d
zonectl plan /etc/softzone/softzone.ini --format grub >/etc/default/grub.d/softzone.cfg
cat /etc/default/grub.d/softzone.cfg
# What grub-pc's postinst and grub-install leave (/etc/default/grub, /boot/grub: the theme script
# changes into it); the guest boots by QEMU's -kernel, so there is no boot loader, and an empty
# stand-in for the running kernel's image gives grub-mkconfig an entry to write.
[ -e /etc/default/grub ] || cp /usr/share/grub/default/grub /etc/default/grub
mkdir -p /boot/grub
touch "/boot/vmlinuz-$(uname -r)"
grub-mkconfig -o /tmp/grub.cfg >/tmp/grub-mkconfig.log 2>&1 || {
  cat /tmp/grub-mkconfig.log
  sh -x "$(command -v grub-mkconfig)" -o /tmp/grub.cfg >"$SOFTZONE_OUT/grub-mkconfig-trace.txt" 2>&1 || true
  tail -n 30 "$SOFTZONE_OUT/grub-mkconfig-trace.txt"
  fail "grub-mkconfig failed"
}
cp /tmp/grub.cfg "$SOFTZONE_OUT/grub.cfg"
grep -m 1 "^[[:space:]]*linux[[:space:]]" /tmp/grub.cfg >/tmp/linux-line
cat /tmp/linux-line
tr ' \t' '\n\n' </tmp/linux-line | grep '^numa=fake=' >/tmp/numa-args || fail "no numa=fake= on grub.cfg's kernel line"
expect_eq "grub.cfg's numa=fake" "$planned" "$(cat /tmp/numa-args)"
echo "systemd-package: ok"
