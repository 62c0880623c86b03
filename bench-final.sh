#!/bin/bash
# The reconcile benchmark's final comparison at 1,000,000 items a side, in alternating rounds
# (new reckon, pandas, DuckDB from the CSVs, old reckon), so that load from other work falls on
# every task alike. Prints each run (wall and CPU seconds, peak RSS, load average), then the
# medians in the README's table form.
#
#   ./bench-final.sh                  # 3 rounds
#   ROUNDS=5 OLD=/path/to/old/reckon-bench ./bench-final.sh
#   WARMUP=0 ROUNDS=1 ./bench-final.sh  # a quick check of the script itself
#
# NEW: this checkout's release reckon-bench (swift build -c release --product reckon-bench).
# OLD: the reckon-bench to compare with (default: main 6f1d12b's release build, kept in
#      /tmp/recon-base-bin; build another with `git worktree add DIR COMMIT` and
#      `swift build -c release --product reckon-bench` there).
# The data and the prepared ledger are those of `reckon-bench reconcile --size 1000000` in
# /tmp/reckon-bench (made by the warm-up run below when missing: about 10 minutes).
set -euo pipefail
cd "$(dirname "$0")"
NEW=${NEW:-.build/release/reckon-bench}
OLD=${OLD:-/tmp/recon-base-bin/reckon-bench}
ROUNDS=${ROUNDS:-3}
SIZE=1000000
DIR=/tmp/reckon-bench/reconcile-$SIZE
PY=.build/bench-venv/bin/python
for binary in "$NEW" "$OLD"; do [ -x "$binary" ] || { echo "no $binary" >&2; exit 1; }; done

# Warm-up, not counted: writes the data and prepares the ledger when missing, brings the
# prepared ledger to the current schema (once, not in every timed process), makes the venv
# with pandas and DuckDB when missing, and reads the files into the page cache.
# WARMUP=0 skips it (when the data, the migrated ledger and the venv are there already).
if [ "${WARMUP:-1}" != 0 ]; then "$NEW" reconcile --size $SIZE --runs 1 > /tmp/bench-final-warmup.txt; fi

load() { cut -d' ' -f1 /proc/loadavg; }
# One reckon run on a fresh copy of the prepared ledger: "wall cpu rss_kib".
reckon_run() {
    rm -f "$DIR/var/reckon.sqlite" "$DIR/var/reckon.sqlite-wal" "$DIR/var/reckon.sqlite-shm"
    cp "$DIR/prepared.sqlite" "$DIR/var/reckon.sqlite"
    local out
    out=$( { /usr/bin/time -f "TIME %U %S" "$1" measure-reconcile --config "$DIR/reckon.yaml" --size $SIZE; } 2>&1 )
    # measure-reconcile prints: seconds 0 items peak_kib (and checks the counts it found).
    local step rss cpu
    step=$(echo "$out" | grep -v '^TIME' | tail -1 | awk '{print $1}')
    rss=$(echo "$out" | grep -v '^TIME' | tail -1 | awk '{print $4}')
    cpu=$(echo "$out" | grep '^TIME' | awk '{print $2 + $3}')
    echo "$step $cpu $rss"
}
# One baseline run: "wall cpu rss_kib" (bench_reconcile.py checks nothing itself: the counts
# are compared here with what was generated).
baseline_run() {
    local out
    out=$( { /usr/bin/time -f "TIME %U %S" "$PY" scripts/bench_reconcile.py "$1" "$DIR/csv/repayments.csv" "$DIR/csv/bill.csv"; } 2>&1 )
    local line
    line=$(echo "$out" | grep -v '^TIME' | tail -1)
    [ "$(echo "$line" | awk '{print $3, $4, $5, $6}')" = "998500 500 500 1000" ] || { echo "$1 found: $line" >&2; exit 1; }
    echo "$(echo "$line" | awk '{print $1}') $(echo "$out" | grep '^TIME' | awk '{print $2 + $3}') $(echo "$line" | awk '{print $2}')"
}

declare -A WALL CPU RSS
TASKS=(new pandas duckdb old)
echo "round task wall_s cpu_s peak_rss_mib load_before"
for round in $(seq 1 "$ROUNDS"); do
    for task in "${TASKS[@]}"; do
        before=$(load)
        case $task in
            new) result=$(reckon_run "$NEW") ;;
            old) result=$(reckon_run "$OLD") ;;
            *) result=$(baseline_run "$task") ;;
        esac
        read -r wall cpu rss <<< "$result"
        WALL[$task]+="$wall "; CPU[$task]+="$cpu "; RSS[$task]+="$rss "
        printf "%s %s %.2f %.2f %.1f %s\n" "$round" "$task" "$wall" "$cpu" "$(echo "$rss / 1024" | bc -l)" "$before"
    done
done
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"

median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END{print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
declare -A MW MC MR
for task in "${TASKS[@]}"; do
    MW[$task]=$(echo "${WALL[$task]}" | median)
    MC[$task]=$(echo "${CPU[$task]}" | median)
    MR[$task]=$(echo "${RSS[$task]}" | median)
done
label() {
    case $1 in
        new) echo "reckon reconcile step (repayments-vs-bill), from the ledger" ;;
        old) echo "the same step, main 6f1d12b (before this change)" ;;
        pandas) echo "pandas: read both CSVs, outer merge, compare" ;;
        duckdb) echo "DuckDB: full outer join from the CSVs" ;;
    esac
}
echo
echo "| items a side | task | seconds | ÷ pandas | ÷ DuckDB from CSV | CPU seconds | peak RSS |"
echo "|---|---|---|---|---|---|---|"
for task in new old pandas duckdb; do
    printf "| 1,000,000 | %s | %.2f | %.2f× | %.2f× | %.2f | %.1f MiB |\n" "$(label $task)" "${MW[$task]}" \
        "$(echo "${MW[$task]} / ${MW[pandas]}" | bc -l)" "$(echo "${MW[$task]} / ${MW[duckdb]}" | bc -l)" "${MC[$task]}" \
        "$(echo "${MR[$task]} / 1024" | bc -l)"
done
echo
echo "new ÷ pandas round by round: $(paste -d' ' <(echo "${WALL[new]}" | tr ' ' '\n' | grep -v '^$') <(echo "${WALL[pandas]}" | tr ' ' '\n' | grep -v '^$') | awk '{printf "%.2f× ", $1/$2}')"
echo "old ÷ pandas round by round: $(paste -d' ' <(echo "${WALL[old]}" | tr ' ' '\n' | grep -v '^$') <(echo "${WALL[pandas]}" | tr ' ' '\n' | grep -v '^$') | awk '{printf "%.2f× ", $1/$2}')"
