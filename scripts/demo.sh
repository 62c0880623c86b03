#!/usr/bin/env bash
# The shipped sample day (2024-12-16, made by `reckon demo --date 2024-12-16 --loans 20`):
# two of its files read through their specs, then the day run as a batch into the ledger
# (var/reckon.sqlite), its balances and its verification. Running it again shows the
# ledger recognising the files it already has.
set -euo pipefail
reckon=${1:-.build/debug/reckon}
cd "$(dirname "$0")/.."

echo "══ two of the day's files, through their specs"
"$reckon" spec check mappings/platform-repayments.yaml inbox/platform/PLAT_REPAY_20241216.csv --show 3
echo
"$reckon" spec check mappings/bank-settlement.yaml inbox/bank/BANK_SETTLE_20241216.txt --show 3
echo
echo "══ reckon batch --date 2024-12-16"
"$reckon" batch --date 2024-12-16
echo
echo "══ reckon ledger balance (the programme's accounts; --loan L shows one loan's)"
for account in bank channel guarantor income expense margin:available; do
  "$reckon" ledger balance --account "$account" | grep -v "^no balances" || true
done
echo
echo "══ reckon ledger verify"
"$reckon" ledger verify
