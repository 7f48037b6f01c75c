# bench-report: zonectl report vs numastat -m over this guest's nodes (numa=fake=64), same run.
. /tests/lib.sh
# A status piped through tee is the pipeline's: without pipefail a failure would pass.
set -o pipefail
step "report_bench --live"
report_bench "$(command -v zonectl)" --live | tee "$SOFTZONE_OUT/bench.txt"
echo "bench-report: ok"
