#!/usr/bin/env bash
# The shipped sample day: every partner file in inbox/ read through its spec, then the two
# business days run as batches into the ledger (var/reckon.sqlite), its balances and its
# verification. Running it again shows the ledger recognising files it already has.
set -euo pipefail
reckon=${1:-.build/debug/reckon}
cd "$(dirname "$0")/.."

echo "══ the sample partners' files, through their specs"
"$reckon" spec check mappings/platform-loans.yaml inbox/platform/PLAT_LOAN_20241115.csv --show 3
echo
"$reckon" spec check mappings/bank-settlement.yaml inbox/bank/BANK_SETTLE_20241215.txt --show 3
echo
for day in 2024-11-15 2024-12-15; do
  echo "══ reckon batch --date $day"
  "$reckon" batch --date "$day"
  echo
done
echo "══ reckon ledger balance"
"$reckon" ledger balance
echo
echo "══ reckon ledger verify"
"$reckon" ledger verify
