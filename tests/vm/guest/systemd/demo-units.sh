# Sourced. install_demo_units ROOT: writes into ROOT (/ on a running guest) what an admin of the
# demo's host installs: softzone-apply.service, /etc/softzone/softzone.ini (the demo's spec), an
# unrelated service and a service placed in partition web by its ExecStart (docs/systemd.md).
# Nothing is enabled here: a pre-boot step links the units, a running host uses systemctl enable.
install_demo_units() {
  cp "$1/tests/units/softzone-apply.service" "$1/etc/systemd/system/"
  mkdir -p "$1/etc/softzone"
  cp "$1/usr/share/softzone/examples/demo.ini" "$1/etc/softzone/softzone.ini"
  # For the systemd operations the cases run next to the partitions.
  cat >"$1/etc/systemd/system/softzone-other.service" <<'UNIT'
[Service]
ExecStart=/bin/sleep infinity
[Install]
WantedBy=multi-user.target
UNIT
  cat >"$1/etc/systemd/system/softzone-web-demo.service" <<'UNIT'
[Unit]
After=softzone-apply.service
Requires=softzone-apply.service
[Service]
ExecStart=/usr/sbin/zonectl exec web -- /bin/sleep infinity
TimeoutStopSec=10
[Install]
WantedBy=multi-user.target
UNIT
}
