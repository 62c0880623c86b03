#!/usr/bin/env bash
# The shipped sample day (2024-12-16, made by `reckon demo --date 2024-12-16 --loans 20`):
# two of its files read through their specs; the earlier days its repaid loans were
# disbursed on, then the day itself, run as batches into the ledger (var/reckon.sqlite);
# its balances and verification; the plans, the reconciliation of the day (its breaks, one in
# full, the daily report) and the alerts. Running it again shows
# the ledger recognising the files and plans it already has.
set -euo pipefail
reckon=${1:-.build/debug/reckon}
cd "$(dirname "$0")/.."

echo "══ two of the day's files, through their specs"
"$reckon" spec check mappings/platform-repayments.yaml inbox/platform/PLAT_REPAY_20241216.csv --show 3
echo
"$reckon" spec check mappings/bank-settlement.yaml inbox/bank/BANK_SETTLE_20241216.txt --show 3
echo
echo "══ the days the repaid loans were disbursed on: reckon batch --date …"
for file in inbox/platform/PLAT_LOAN_*.csv; do
  day=$(basename "$file" .csv); day=${day#PLAT_LOAN_}
  [ "$day" = 20241216 ] && continue
  "$reckon" batch --date "$day" | tail -1
done
echo
echo "══ reckon batch --date 2024-12-16"
"$reckon" batch --date 2024-12-16
echo
echo "══ the daemon: reckon run --date 2024-12-16 --exit-when-idle (it takes each complete file once and runs the"
echo "   day's steps for it; the day's files are in the ledger already, known by their SHA-256: nothing to do)"
"$reckon" run --date 2024-12-16 --exit-when-idle 2>&1 | sed 's/^/  /'
echo "══ the daemon against a local sshd (scripts/demo-sftp.sh): the platform's files fetched over SFTP, the day"
echo "   settled and the platform's set delivered to its server (a ledger of its own in var/demo-sftp/)"
./scripts/demo-sftp.sh "$reckon"
echo
echo "   For real: reckon run (today's business day, every daemon.poll_seconds, until SIGTERM): README, \"Running the daemon\","
echo "   has a systemd unit."
echo
echo "══ reckon ledger balance (the programme's accounts; --loan L shows one loan's, --json gives minor units)"
for account in bank channel guarantor income expense margin:available; do
  "$reckon" ledger balance --account "$account" | grep -v "^no balances" || true
done
echo
echo "══ reckon ledger verify"
"$reckon" ledger verify
echo
echo "══ reckon plan differences (the bank's plans against ours)"
"$reckon" plan differences
echo
# (sed, not head: head would leave before reckon finishes writing, and pipefail would fail the demo)
echo "══ reckon plan show --loan L202411130902 (a period the guarantor paid, with its penalty)"
"$reckon" plan show --loan L202411130902 | sed -n 1,9p
echo
echo "══ reckon plan show --loan L202412160001 --date 2025-01-26 (SCHEDULES.md §A's loan, ten days late)"
"$reckon" plan show --loan L202412160001 --date 2025-01-26 | sed -n 1,9p
echo
echo "══ what the partners receive (README, \"What each partner receives\"): outbox/<partner>/2024-12-16/"
ls -l outbox/bank/2024-12-16 outbox/platform/2024-12-16 | grep -v '^total'
echo
echo "══ the bank's manifest: outbox/bank/2024-12-16/MANIFEST.json (written last; sizes, counts, totals, SHA-256)"
sed -n 1,26p outbox/bank/2024-12-16/MANIFEST.json
echo "  …"
echo
echo "══ reckon outbox list --date 2024-12-16 (every file written, its version, whether delivered)"
"$reckon" outbox list --date 2024-12-16
echo
echo "══ the bank's settlement file read back through its spec"
"$reckon" spec check mappings/reckon-settlement.yaml outbox/bank/2024-12-16/RECKON_SETTLE_20241216.txt --show 5
echo
echo "══ reckon settle --date 2024-12-16 (again: the same bytes, no new version)"
"$reckon" settle --date 2024-12-16
echo
echo "══ the day after: reckon batch --date 2024-12-17 (no files yet: a loan whose plan the bank has not sent,"
echo "   and every expected file missing, so the day is incomplete: exit status 3)"
"$reckon" batch --date 2024-12-17 || [ $? -eq 3 ]
echo
echo "══ finance's morning (README, \"Reconciliation\"): what did not match, as of the day after"
echo "   reckon breaks list  (the channel's bill misses the first collection, has one a cent off, a failed"
echo "   attempt and a collection the platform does not know; the bank's plan charges a cent more on one"
echo "   period and omits one loan's plan)"
"$reckon" breaks list
echo
cent=$("$reckon" breaks list --kind amount | awk 'NR == 2 { print $1 }')
echo "══ reckon breaks show $cent (the cent off: both records, with file and line, and its history)"
"$reckon" breaks show "$cent"
echo
echo "══ reckon report --date 2024-12-16 (also written to outbox/reports/2024-12-16.html and .csv)"
"$reckon" report --date 2024-12-16
echo
echo "══ reckon alerts list --unread"
"$reckon" alerts list --unread
