#!/usr/bin/env python3
"""The comparison `reckon-bench reconcile` measures reckon's reconcile step against: the
platform's repayments and the channel's bill, done the way people do it by hand.

    bench_reconcile.py MODE REPAYMENTS_CSV BILL_CSV

MODE is one of
  pandas       read both CSVs, outer-merge on the reference, compare amount and status;
  duckdb       the same full outer join, straight from the CSVs;
  duckdb-join  the join alone, over tables loaded before the clock starts.

Prints one line: seconds (imports excluded), peak RSS in KiB, then the counts found:
matched, only in the repayments, only in the bill, amount or status differences. Amounts
are compared in whole cents, as the ledger keeps them (DuckDB reads them as DECIMAL; pandas
as floats, rounded to the cent, which is exact at these magnitudes).
"""
import resource
import sys
import time


def pandas_compare(repayments_path, bill_path):
    import pandas as pd

    started = time.perf_counter()
    # Text columns stay text (references are long digit strings); amounts are read as
    # decimals and turned into whole cents.
    repayments = pd.read_csv(repayments_path, dtype={"repay_id": str, "loan_id": str, "channel_reference": str,
                                                     "status": str, "repay_type": str})
    bill = pd.read_csv(bill_path, dtype={"merchant_id": str, "merchant_order": str, "reference": str,
                                         "status": str, "type": str})
    repayments = repayments[repayments["repay_type"] != "compensation"]
    bill = bill[bill["type"] == "collection"]
    left = pd.DataFrame({"reference": repayments["channel_reference"],
                         "total": (repayments["total"] * 100).round().astype("Int64"),
                         "status": repayments["status"]})
    right = pd.DataFrame({"reference": bill["reference"],
                          "amount": (bill["amount"] * 100).round().astype("Int64"),
                          "status": bill["status"]})
    merged = left.merge(right, on="reference", how="outer", suffixes=("_platform", "_channel"), indicator=True)
    both = merged[merged["_merge"] == "both"]
    differs = (both["total"] != both["amount"]) | (both["status_platform"] != both["status_channel"])
    counts = (int((~differs).sum()), int((merged["_merge"] == "left_only").sum()),
              int((merged["_merge"] == "right_only").sum()), int(differs.sum()))
    return time.perf_counter() - started, counts


DUCKDB_JOIN = """
    SELECT
        count(*) FILTER (WHERE r.reference IS NOT NULL AND b.reference IS NOT NULL
                         AND r.total = b.amount AND r.status = b.status),
        count(*) FILTER (WHERE b.reference IS NULL),
        count(*) FILTER (WHERE r.reference IS NULL),
        count(*) FILTER (WHERE r.reference IS NOT NULL AND b.reference IS NOT NULL
                         AND (r.total <> b.amount OR r.status <> b.status))
    FROM {repayments} r FULL OUTER JOIN {bill} b ON r.reference = b.reference
"""

REPAYMENTS = """(SELECT channel_reference AS reference, total, status
    FROM read_csv('{path}', header = true, columns = {{
        'repay_id': 'VARCHAR', 'loan_id': 'VARCHAR', 'period': 'INTEGER', 'repay_type': 'VARCHAR', 'paid_at': 'VARCHAR',
        'principal': 'DECIMAL(18,2)', 'interest': 'DECIMAL(18,2)', 'penalty': 'DECIMAL(18,2)', 'fee': 'DECIMAL(18,2)',
        'total': 'DECIMAL(18,2)', 'channel': 'VARCHAR', 'channel_reference': 'VARCHAR', 'status': 'VARCHAR'}})
    WHERE repay_type <> 'compensation')"""

BILL = """(SELECT reference, amount, status
    FROM read_csv('{path}', header = true, columns = {{
        'occurred_at': 'VARCHAR', 'merchant_id': 'VARCHAR', 'merchant_order': 'VARCHAR', 'reference': 'VARCHAR',
        'type': 'VARCHAR', 'status': 'VARCHAR', 'amount': 'DECIMAL(18,2)', 'fee': 'DECIMAL(18,2)', 'settled': 'DECIMAL(18,2)'}})
    WHERE type = 'collection')"""


def duckdb_compare(repayments_path, bill_path, join_only):
    import duckdb

    connection = duckdb.connect()
    repayments = REPAYMENTS.format(path=repayments_path)
    bill = BILL.format(path=bill_path)
    if join_only:
        connection.execute(f"CREATE TABLE repayments AS {repayments}")
        connection.execute(f"CREATE TABLE bill AS {bill}")
        repayments, bill = "repayments", "bill"
    started = time.perf_counter()
    counts = connection.execute(DUCKDB_JOIN.format(repayments=repayments, bill=bill)).fetchone()
    return time.perf_counter() - started, tuple(int(c) for c in counts)


def main():
    if len(sys.argv) != 4 or sys.argv[1] not in ("pandas", "duckdb", "duckdb-join"):
        sys.exit(__doc__)
    mode, repayments_path, bill_path = sys.argv[1:]
    if mode == "pandas":
        seconds, counts = pandas_compare(repayments_path, bill_path)
    else:
        seconds, counts = duckdb_compare(repayments_path, bill_path, join_only=mode == "duckdb-join")
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(f"{seconds:.4f} {peak_kib} " + " ".join(str(c) for c in counts))


if __name__ == "__main__":
    main()
