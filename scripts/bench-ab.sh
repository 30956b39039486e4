#!/usr/bin/env bash
# Compares two builds of dist/ on the WORKLOADS.md workloads, alternating
# them round by round in ABBA order (neither build always runs first, so the
# disk's writeback after one side does not always land on the other), each
# workload in a fresh process. Prints one JSON line a sample; summarize with
# `node scripts/bench-ab-summary.mjs FILE…`.
#   IDS="W1 W3" scripts/bench-ab.sh OLD_DIST NEW_DIST [ROUNDS] > ab.jsonl
# W3, W4, W5 and W6 read the store W1 leaves in the same round and side.
set -euo pipefail
A=$1; B=$2; ROUNDS=${3:-3}; IDS=${IDS:-"W1 W2 W3 W4a W4b W5a W5b W6 W7 W8a W8b"}
for r in $(seq 1 "$ROUNDS"); do
  order="A B"; [ $((r % 2)) -eq 0 ] && order="B A"
  for side in $order; do
    dist=$A; [ "$side" = B ] && dist=$B
    root=$(mktemp -d "${TMPDIR:-/tmp}/jetstore-ab-XXXX")
    for id in $IDS; do
      out=$(node "$dist/bench/workloads.js" "$id" "$root" | tail -1)
      echo "{\"round\":$r,\"side\":\"$side\",\"id\":\"$id\",\"sample\":$out}"
    done
    rm -rf "$root"
  done
done
