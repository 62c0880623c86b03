#!/usr/bin/env bash
# The shipped sample day, read through the partners' specs: every file in inbox/, with its
# record counts, control totals and first records. (`reckon batch`, which posts the day to
# the ledger, takes over this job once the ledger exists.)
set -euo pipefail
reckon=${1:-.build/debug/reckon}
cd "$(dirname "$0")/.."

spec_for() {
  case "$(basename "$1")" in
    PLAT_LOAN_*)   echo mappings/platform-loans.yaml ;;
    PLAT_REPAY_*)  echo mappings/platform-repayments.yaml ;;
    BANK_PLAN_*)   echo mappings/bank-plan.yaml ;;
    BANK_SETTLE_*) echo mappings/bank-settlement.yaml ;;
    BANK_STMT_*)   echo mappings/camt053.yaml ;;
    PAY_BILL_*)    echo mappings/channel-bill.yaml ;;
    *)             echo "" ;;
  esac
}

status=0
shopt -s nullglob
for file in inbox/*/*; do
  spec=$(spec_for "$file")
  if [ -z "$spec" ]; then
    echo "no spec for $file"; status=1; continue
  fi
  echo "── $(dirname "$file" | cut -d/ -f2): $(basename "$file")"
  "$reckon" spec check "$spec" "$file" --show 3 || status=1
  echo
done
exit $status
