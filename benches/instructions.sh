#!/usr/bin/env bash
# Instructions per call of each workload, throughline against hand-written, counted by
# valgrind's callgrind: unlike times, these counts repeat exactly whatever else the machine
# is doing, so they show throughline's own overhead (the SQL is the same on both sides).
# Each side runs alone under callgrind twice, with 1 and 3 measured calls after the warm-up;
# the difference of the two totals divided by 2 is one call, set-up excluded. The untimed
# clean-up after each run (deleting the links W1 and W3 made, checkpointing SQLite's WAL) is
# left out too: callgrind dumps its counts when the bench enters its `clean_up_starts` and
# `clean_up_ends` markers, and the segments ending at `clean_up_ends` are not summed.
# What they do not show: time spent waiting (fsync, the PostgreSQL server, which runs in
# another process: on PostgreSQL the counts are the client's work only).
#
#   bash benches/instructions.sh [sqlite|postgres|mariadb] [W1,W2,...]
set -euo pipefail
backend="${1:-sqlite}"
only="${2:-W1,W2,W3,W4,W5}"
root="$(cd "$(dirname "$0")/.." && pwd)"
target_dir="${CARGO_TARGET_DIR:-$root/target}"
command -v valgrind >/dev/null || { echo "valgrind is needed (apt install valgrind)" >&2; exit 2; }
(cd "$root" && cargo build --release -q -p throughline-bench)
bench="$target_dir/release/throughline-bench"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT

# Total instructions of one run (all threads) of one side on one workload, clean-ups left out.
count() { # side workload runs
    local file="$out/callgrind.$1.$2.$3"
    valgrind --tool=callgrind --callgrind-out-file="$file" -q \
        --dump-before='*clean_up_starts' --dump-before='*clean_up_ends' \
        "$bench" --backend "$backend" --sync full --side "$1" --only "$2" --runs "$3" \
        >/dev/null 2>"$file.log" || { cat "$file.log" >&2; exit 1; }
    local cleanups
    cleanups=$(cat "$file"* | grep -c '^desc: Trigger: --dump-before=.*clean_up_ends' || true)
    # One clean-up after the warm-up and after each measured call: else the markers moved.
    if [ "$cleanups" -ne $(( $3 + 1 )) ]; then
        echo "expected $(( $3 + 1 )) clean-up segments in $file*, found $cleanups" >&2
        exit 1
    fi
    awk '/^desc: Trigger:/ { cleanup = /clean_up_ends/ }
         /^summary:/ { if (!cleanup) total += $2 }
         END { printf "%d\n", total }' "$file"*
}

printf '%-4s %-9s %16s %16s %8s\n' workload backend throughline hand-written ratio
IFS=',' read -ra workloads <<<"$only"
for w in "${workloads[@]}"; do
    declare -A per_call=()
    for side in orm hand; do
        one=$(count "$side" "$w" 1)
        three=$(count "$side" "$w" 3)
        per_call[$side]=$(( (three - one) / 2 ))
    done
    ratio=$(awk -v a="${per_call[orm]}" -v b="${per_call[hand]}" 'BEGIN { printf "%.2fx", a / b }')
    printf '%-8s %-9s %16s %16s %8s\n' "$w" "$backend" "${per_call[orm]}" "${per_call[hand]}" "$ratio"
    unset per_call
done
