# first-touch: the first-touch attack on shared files. A task in partition A reads a 100 MiB
# library-like tree first, then a task in B uses it. Without binding, A's nodes hold every page
# (A is charged for B's use, and B's use can push A over its memory); after `zonectl bind` to the
# shared zone, neither A's nor B's nodes hold any page of it. Both runs are shown.
. /tests/lib.sh
. /tests/cases/shared-lib.sh
out=$SOFTZONE_OUT
make_zones
make_tree 100

step "without binding: A reads first, then B"
in_zone A treegen check "$TREE"
in_zone B treegen check "$TREE"
residency_of "$TREE" "$out/unbound.json"
zonectl residency "$TREE" >"$out/unbound.txt"
cat "$out/unbound.txt"
expect_share "$out/unbound.json" $A_NODES 99 "unbound: A holds the tree"
expect_none "$out/unbound.json" $B_NODES "unbound: B"
echo "unbound: A is charged for B's use of $(total_of "$out/unbound.json" cached_pages) pages"

step "with binding: bind to the shared zone, then A reads first, then B"
drop_caches
zonectl bind --zone shared "$TREE"
in_zone A treegen check "$TREE"
in_zone B treegen check "$TREE"
residency_of "$TREE" "$out/bound.json"
zonectl residency "$TREE" >"$out/bound.txt"
cat "$out/bound.txt"
expect_none "$out/bound.json" $A_NODES "bound: A"
expect_none "$out/bound.json" $B_NODES "bound: B"
expect_share "$out/bound.json" $SHARED 99 "bound: the shared zone holds the tree"
echo "first-touch: ok"
