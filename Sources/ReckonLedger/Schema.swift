import GRDB

/// The ledger's tables, as ordered named migrations. Postings and journal entries are
/// append-only: triggers refuse to change or delete them, so a correction is always a new
/// reversal entry and every balance can be traced to the lines that made it.
enum Schema {
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()

        migrator.registerMigration("001 partners and received files") { db in
            try db.execute(sql: """
                CREATE TABLE partner (
                    id TEXT PRIMARY KEY,
                    name TEXT NOT NULL,
                    role TEXT NOT NULL
                );
                CREATE TABLE received_file (
                    id INTEGER PRIMARY KEY,
                    partner TEXT NOT NULL REFERENCES partner(id),
                    file_type TEXT NOT NULL,
                    business_date TEXT NOT NULL,
                    name TEXT NOT NULL,
                    size INTEGER NOT NULL,
                    sha256 TEXT NOT NULL,
                    status TEXT NOT NULL CHECK (status IN ('received', 'posted', 'rejected', 'superseded')),
                    records_read INTEGER NOT NULL DEFAULT 0,
                    records_rejected INTEGER NOT NULL DEFAULT 0,
                    duplicates INTEGER NOT NULL DEFAULT 0,
                    events INTEGER NOT NULL DEFAULT 0,
                    entries INTEGER NOT NULL DEFAULT 0,
                    received_at TEXT NOT NULL,
                    finished_at TEXT,
                    elapsed_ms INTEGER,
                    supersedes INTEGER REFERENCES received_file(id),
                    archive_path TEXT,
                    report_path TEXT
                );
                CREATE INDEX received_file_by_digest ON received_file(sha256);
                CREATE INDEX received_file_by_day ON received_file(partner, file_type, business_date);
                """)
        }

        migrator.registerMigration("002 canonical events") { db in
            try db.execute(sql: """
                CREATE TABLE event (
                    id INTEGER PRIMARY KEY,
                    file_id INTEGER NOT NULL REFERENCES received_file(id),
                    line INTEGER NOT NULL,
                    kind TEXT NOT NULL,
                    record_kind TEXT NOT NULL,
                    record_key TEXT,
                    loan_id TEXT,
                    amount_minor INTEGER,
                    currency TEXT,
                    business_date TEXT NOT NULL,
                    active INTEGER NOT NULL DEFAULT 1,
                    fields TEXT NOT NULL
                );
                CREATE UNIQUE INDEX event_by_key ON event(record_key) WHERE active = 1 AND record_key IS NOT NULL;
                CREATE INDEX event_by_loan ON event(loan_id) WHERE loan_id IS NOT NULL;
                CREATE INDEX event_by_file ON event(file_id);
                """)
        }

        migrator.registerMigration("003 accounts and the journal") { db in
            try db.execute(sql: """
                CREATE TABLE account (
                    code TEXT PRIMARY KEY,
                    kind TEXT NOT NULL,
                    loan_id TEXT
                );
                CREATE TABLE journal_entry (
                    id INTEGER PRIMARY KEY,
                    kind TEXT NOT NULL,
                    file_id INTEGER NOT NULL REFERENCES received_file(id),
                    event_id INTEGER REFERENCES event(id),
                    line INTEGER,
                    business_date TEXT NOT NULL,
                    reverses INTEGER REFERENCES journal_entry(id)
                );
                CREATE INDEX journal_entry_by_file ON journal_entry(file_id);
                CREATE TABLE posting (
                    id INTEGER PRIMARY KEY,
                    entry_id INTEGER NOT NULL REFERENCES journal_entry(id),
                    account TEXT NOT NULL REFERENCES account(code),
                    amount_minor INTEGER NOT NULL CHECK (amount_minor <> 0),
                    currency TEXT NOT NULL
                );
                CREATE INDEX posting_by_entry ON posting(entry_id);
                CREATE INDEX posting_by_account ON posting(account);
                CREATE TABLE balance (
                    account TEXT NOT NULL REFERENCES account(code),
                    currency TEXT NOT NULL,
                    amount_minor INTEGER NOT NULL,
                    PRIMARY KEY (account, currency)
                );
                CREATE TRIGGER posting_is_append_only_update BEFORE UPDATE ON posting
                    BEGIN SELECT RAISE(ABORT, 'postings are never changed: post a reversal'); END;
                CREATE TRIGGER posting_is_append_only_delete BEFORE DELETE ON posting
                    BEGIN SELECT RAISE(ABORT, 'postings are never deleted: post a reversal'); END;
                CREATE TRIGGER journal_entry_is_append_only_update BEFORE UPDATE ON journal_entry
                    BEGIN SELECT RAISE(ABORT, 'journal entries are never changed: post a reversal'); END;
                CREATE TRIGGER journal_entry_is_append_only_delete BEFORE DELETE ON journal_entry
                    BEGIN SELECT RAISE(ABORT, 'journal entries are never deleted: post a reversal'); END;
                """)
        }

        migrator.registerMigration("004 batch runs") { db in
            try db.execute(sql: """
                CREATE TABLE batch_run (
                    id INTEGER PRIMARY KEY,
                    business_date TEXT NOT NULL,
                    steps TEXT NOT NULL,
                    partner TEXT,
                    dry_run INTEGER NOT NULL DEFAULT 0,
                    status TEXT NOT NULL CHECK (status IN ('running', 'succeeded', 'failed')),
                    started_at TEXT NOT NULL,
                    finished_at TEXT,
                    summary TEXT
                );
                CREATE TABLE batch_step (
                    id INTEGER PRIMARY KEY,
                    run_id INTEGER NOT NULL REFERENCES batch_run(id),
                    step TEXT NOT NULL,
                    status TEXT NOT NULL CHECK (status IN ('running', 'succeeded', 'failed', 'skipped')),
                    started_at TEXT NOT NULL,
                    finished_at TEXT,
                    detail TEXT
                );
                """)
        }
        migrator.registerMigration("005 typed events and a record key table") { db in
            // The fields the ledger and reconciliation work with get typed columns of their
            // own (amounts as integer minor units); a record's other fields stay together as
            // JSON. Record keys move to a table of their own, stored once rather than in
            // both a row and an index. A file's events are contiguous, so the file keeps its
            // id range instead of the events carrying an index on file_id.
            // (Frozen SQL: later code changes must not change what this step does.)
            let days = ["paid_on", "paid_at", "due_on", "disbursed_on", "disbursed_at", "occurred_on", "occurred_at",
                        "booked_on", "booked_at", "as_of", "closing_on", "published_on"]
            let moved = ["loan_id", "period", "principal", "interest", "penalty", "fee", "total", "amount",
                         "closing_balance", "outstanding_principal", "currency", "reference", "channel_reference"]
                + days.filter { $0.hasSuffix("_on") || $0 == "as_of" }
            try db.execute(sql: """
                CREATE TABLE event_typed (
                    id INTEGER PRIMARY KEY,
                    file_id INTEGER NOT NULL REFERENCES received_file(id),
                    line INTEGER NOT NULL,
                    kind TEXT NOT NULL,
                    loan_id TEXT,
                    period INTEGER,
                    event_date TEXT,
                    principal_minor INTEGER,
                    interest_minor INTEGER,
                    penalty_minor INTEGER,
                    fee_minor INTEGER,
                    amount_minor INTEGER,
                    currency TEXT NOT NULL,
                    reference TEXT,
                    active INTEGER NOT NULL DEFAULT 1,
                    other_fields TEXT
                );
                INSERT INTO event_typed
                SELECT id, file_id, line, kind, loan_id,
                       json_extract(fields, '$.period'),
                       substr(coalesce(\(days.map { "json_extract(fields, '$.\($0)')" }.joined(separator: ", ")), business_date), 1, 10),
                       json_extract(fields, '$.principal'), json_extract(fields, '$.interest'),
                       json_extract(fields, '$.penalty'), json_extract(fields, '$.fee'),
                       amount_minor, coalesce(currency, 'CNY'),
                       coalesce(json_extract(fields, '$.reference'), json_extract(fields, '$.channel_reference')),
                       active,
                       nullif(json_remove(fields, \(moved.map { "'$.\($0)'" }.joined(separator: ", "))), '{}')
                FROM event;
                CREATE TABLE record_key (
                    key TEXT PRIMARY KEY,
                    event_id INTEGER NOT NULL
                ) WITHOUT ROWID;
                INSERT INTO record_key (key, event_id)
                SELECT record_key, max(id) FROM event WHERE record_key IS NOT NULL GROUP BY record_key;
                ALTER TABLE received_file ADD COLUMN first_event_id INTEGER;
                ALTER TABLE received_file ADD COLUMN last_event_id INTEGER;
                UPDATE received_file SET
                    first_event_id = (SELECT min(id) FROM event WHERE file_id = received_file.id),
                    last_event_id = (SELECT max(id) FROM event WHERE file_id = received_file.id);
                DROP TABLE event;
                ALTER TABLE event_typed RENAME TO event;
                CREATE INDEX event_by_loan ON event(loan_id) WHERE loan_id IS NOT NULL;
                """)
        }
        migrator.registerMigration("006 loans, plans, plan checks and alerts") { db in
            // A loan's contract is kept as it was resolved on the disbursement day; its plan
            // lines carry the amounts due and, as of the last plan step, what was paid and
            // what is late. Allocations say where each repayment went. Plan differences and
            // alerts are what reconciliation and finance work from.
            try db.execute(sql: """
                CREATE TABLE loan (
                    loan_id TEXT PRIMARY KEY,
                    event_id INTEGER NOT NULL,
                    partner TEXT NOT NULL,
                    product TEXT NOT NULL,
                    currency TEXT NOT NULL,
                    principal_minor INTEGER NOT NULL CHECK (principal_minor > 0),
                    disbursed_on TEXT NOT NULL,
                    contract TEXT NOT NULL,
                    annual_rate TEXT NOT NULL,
                    status TEXT NOT NULL CHECK (status IN ('active', 'settled')),
                    settled_on TEXT,
                    as_of TEXT NOT NULL,
                    planned_on TEXT NOT NULL
                ) WITHOUT ROWID;
                CREATE INDEX loan_by_disbursement ON loan(disbursed_on);
                CREATE TABLE plan_line (
                    loan_id TEXT NOT NULL REFERENCES loan(loan_id),
                    period INTEGER NOT NULL,
                    accrual_start TEXT NOT NULL,
                    scheduled_on TEXT NOT NULL,
                    due_on TEXT NOT NULL,
                    days INTEGER NOT NULL,
                    annual_rate TEXT NOT NULL,
                    principal_minor INTEGER NOT NULL CHECK (principal_minor >= 0),
                    interest_minor INTEGER NOT NULL CHECK (interest_minor >= 0),
                    fee_minor INTEGER NOT NULL CHECK (fee_minor >= 0),
                    balance_minor INTEGER NOT NULL CHECK (balance_minor >= 0),
                    interest_due_minor INTEGER NOT NULL,
                    fee_due_minor INTEGER NOT NULL,
                    paid_principal_minor INTEGER NOT NULL DEFAULT 0,
                    paid_interest_minor INTEGER NOT NULL DEFAULT 0,
                    paid_penalty_minor INTEGER NOT NULL DEFAULT 0,
                    paid_fee_minor INTEGER NOT NULL DEFAULT 0,
                    penalty_accrued_minor INTEGER NOT NULL DEFAULT 0,
                    status TEXT NOT NULL CHECK (status IN ('open', 'due', 'overdue', 'paid', 'compensated', 'settled')),
                    closed_on TEXT,
                    overdue_days INTEGER NOT NULL DEFAULT 0,
                    PRIMARY KEY (loan_id, period)
                ) WITHOUT ROWID;
                CREATE INDEX plan_line_open ON plan_line(due_on) WHERE status IN ('open', 'due', 'overdue');
                CREATE TABLE repayment_allocation (
                    event_id INTEGER NOT NULL,
                    period INTEGER NOT NULL,
                    loan_id TEXT NOT NULL,
                    penalty_minor INTEGER NOT NULL,
                    fee_minor INTEGER NOT NULL,
                    interest_minor INTEGER NOT NULL,
                    principal_minor INTEGER NOT NULL,
                    PRIMARY KEY (event_id, period)
                ) WITHOUT ROWID;
                CREATE INDEX repayment_allocation_by_loan ON repayment_allocation(loan_id);
                CREATE TABLE plan_difference (
                    id INTEGER PRIMARY KEY,
                    business_date TEXT NOT NULL,
                    partner TEXT NOT NULL,
                    loan_id TEXT NOT NULL,
                    period INTEGER NOT NULL,
                    field TEXT NOT NULL,
                    ours TEXT,
                    theirs TEXT,
                    event_id INTEGER,
                    found_at TEXT NOT NULL,
                    UNIQUE (partner, loan_id, period, field)
                );
                CREATE TABLE alert (
                    id INTEGER PRIMARY KEY,
                    business_date TEXT NOT NULL,
                    kind TEXT NOT NULL,
                    subject TEXT NOT NULL,
                    message TEXT NOT NULL,
                    raised_at TEXT NOT NULL,
                    cleared_on TEXT,
                    UNIQUE (kind, subject)
                );
                """)
        }
        migrator.registerMigration("007 run states, file versions and operator actions") { db in
            // A run records its process (pid and host), so one whose process is gone can be
            // told from one still working, and ends succeeded, failed, incomplete (expected
            // files missing) or interrupted. A received file records the run that took it in;
            // an earlier version sent again after its correction is kept as a 'stale'
            // delivery naming the version it repeats; a version an operator made current
            // again names the one it reinstates. Operators' decisions (a refused file set
            // aside, a version reinstated) are kept with who, when and why.
            // SQLite cannot change a CHECK constraint in place: the three tables are rebuilt
            // (foreign keys are checked once the migration ends).
            try db.execute(sql: """
                CREATE TABLE batch_run_007 (
                    id INTEGER PRIMARY KEY,
                    business_date TEXT NOT NULL,
                    steps TEXT NOT NULL,
                    partner TEXT,
                    dry_run INTEGER NOT NULL DEFAULT 0,
                    status TEXT NOT NULL CHECK (status IN ('running', 'succeeded', 'failed', 'incomplete', 'interrupted')),
                    started_at TEXT NOT NULL,
                    finished_at TEXT,
                    summary TEXT,
                    pid INTEGER,
                    host TEXT
                );
                INSERT INTO batch_run_007 (id, business_date, steps, partner, dry_run, status, started_at, finished_at, summary)
                SELECT id, business_date, steps, partner, dry_run, status, started_at, finished_at, summary FROM batch_run;
                DROP TABLE batch_run;
                ALTER TABLE batch_run_007 RENAME TO batch_run;

                CREATE TABLE batch_step_007 (
                    id INTEGER PRIMARY KEY,
                    run_id INTEGER NOT NULL REFERENCES batch_run(id),
                    step TEXT NOT NULL,
                    status TEXT NOT NULL CHECK (status IN ('running', 'succeeded', 'failed', 'skipped', 'interrupted')),
                    started_at TEXT NOT NULL,
                    finished_at TEXT,
                    detail TEXT
                );
                INSERT INTO batch_step_007 SELECT id, run_id, step, status, started_at, finished_at, detail FROM batch_step;
                DROP TABLE batch_step;
                ALTER TABLE batch_step_007 RENAME TO batch_step;
                CREATE INDEX batch_step_by_run ON batch_step(run_id);

                CREATE TABLE received_file_007 (
                    id INTEGER PRIMARY KEY,
                    partner TEXT NOT NULL REFERENCES partner(id),
                    file_type TEXT NOT NULL,
                    business_date TEXT NOT NULL,
                    name TEXT NOT NULL,
                    size INTEGER NOT NULL,
                    sha256 TEXT NOT NULL,
                    status TEXT NOT NULL CHECK (status IN ('received', 'posted', 'rejected', 'superseded', 'stale')),
                    records_read INTEGER NOT NULL DEFAULT 0,
                    records_rejected INTEGER NOT NULL DEFAULT 0,
                    duplicates INTEGER NOT NULL DEFAULT 0,
                    events INTEGER NOT NULL DEFAULT 0,
                    entries INTEGER NOT NULL DEFAULT 0,
                    received_at TEXT NOT NULL,
                    finished_at TEXT,
                    elapsed_ms INTEGER,
                    supersedes INTEGER REFERENCES received_file(id),
                    archive_path TEXT,
                    report_path TEXT,
                    first_event_id INTEGER,
                    last_event_id INTEGER,
                    run_id INTEGER,
                    repeats INTEGER REFERENCES received_file(id),
                    reinstates INTEGER REFERENCES received_file(id)
                );
                INSERT INTO received_file_007 (id, partner, file_type, business_date, name, size, sha256, status, records_read,
                    records_rejected, duplicates, events, entries, received_at, finished_at, elapsed_ms, supersedes, archive_path,
                    report_path, first_event_id, last_event_id)
                SELECT id, partner, file_type, business_date, name, size, sha256, status, records_read,
                    records_rejected, duplicates, events, entries, received_at, finished_at, elapsed_ms, supersedes, archive_path,
                    report_path, first_event_id, last_event_id FROM received_file;
                DROP TABLE received_file;
                ALTER TABLE received_file_007 RENAME TO received_file;
                CREATE INDEX received_file_by_digest ON received_file(sha256);
                CREATE INDEX received_file_by_day ON received_file(partner, file_type, business_date);

                CREATE TABLE file_action (
                    id INTEGER PRIMARY KEY,
                    file_id INTEGER REFERENCES received_file(id),
                    partner TEXT NOT NULL,
                    file_type TEXT NOT NULL,
                    business_date TEXT NOT NULL,
                    action TEXT NOT NULL CHECK (action IN ('set_aside', 'reinstate')),
                    reason TEXT NOT NULL CHECK (length(trim(reason)) > 0),
                    actor TEXT NOT NULL,
                    acted_at TEXT NOT NULL
                );
                CREATE INDEX file_action_by_day ON file_action(partner, file_type, business_date);
                """)
        }
        migrator.registerMigration("008 plan step: a loan's inputs fingerprint") { db in
            // The plan step records what each loan's plan-line states were computed from (its
            // contract, the day, its repayments, the reference data); a re-run whose inputs
            // are the same skips the loan (issue 9, item 19). NULL: compute it.
            try db.execute(sql: "ALTER TABLE loan ADD COLUMN inputs_sha256 TEXT")
        }
        migrator.registerMigration("009 plan step days") { db in
            // Every business day the plan step has run for: a loan planned or repaid on an
            // earlier day run later is brought to the latest of them, and a partner plan's
            // alert is dated by the first day after the disbursement that was run, so the
            // ledger does not depend on the order days are run in (issue 9, item 24). An
            // existing ledger's days are the ones its loans were planned on and brought to.
            try db.execute(sql: """
                CREATE TABLE plan_step_day (business_date TEXT PRIMARY KEY) WITHOUT ROWID;
                INSERT OR IGNORE INTO plan_step_day SELECT planned_on FROM loan;
                INSERT OR IGNORE INTO plan_step_day SELECT as_of FROM loan;
                """)
        }
        migrator.registerMigration("010 reconciliation: breaks, their history and actions, runs; alerts read") { db in
            // A break is found by a rule and keeps its identity (rule, key, ordinal) across
            // re-runs: a re-run updates it, never adds another. Its items (with file and line)
            // are listed beside it, its every change is kept in its history, and what people
            // do to breaks is an append-only action log whose entries are hash-chained (each
            // carries the hash of the one before), so an edited row is found by `breaks audit`.
            // A rule's run for a day keeps the day's counts: matched, pending, broken.
            // The plan step keeps the pay-off it quoted for each early settlement, which the
            // allocation rule compares with what the platform says was paid.
            // Alerts gain a severity and who read them when.
            try db.execute(sql: """
                CREATE TABLE recon_break (
                    id INTEGER PRIMARY KEY,
                    identity TEXT NOT NULL UNIQUE,
                    rule TEXT NOT NULL,
                    partner TEXT NOT NULL,
                    kind TEXT NOT NULL CHECK (kind IN ('missing_ours', 'missing_theirs', 'amount', 'date', 'status', 'duplicate',
                        'ambiguous', 'plan_mismatch', 'allocation_mismatch', 'statement_arithmetic', 'statement_continuity',
                        'balance_below_warning')),
                    status TEXT NOT NULL CHECK (status IN ('pending', 'open', 'matched', 'resolved', 'closed')),
                    business_date TEXT NOT NULL,
                    found_on TEXT NOT NULL,
                    updated_on TEXT NOT NULL,
                    closed_on TEXT,
                    match_key TEXT NOT NULL,
                    amount_minor INTEGER NOT NULL,
                    currency TEXT NOT NULL,
                    fields TEXT,
                    summary TEXT NOT NULL,
                    reason TEXT,
                    note TEXT,
                    acted_by TEXT,
                    awaiting_approval TEXT
                );
                CREATE INDEX recon_break_by_rule ON recon_break(rule, status);
                CREATE INDEX recon_break_by_day ON recon_break(business_date);
                CREATE TABLE recon_break_item (
                    break_id INTEGER NOT NULL REFERENCES recon_break(id),
                    side TEXT NOT NULL CHECK (side IN ('left', 'right')),
                    ref TEXT NOT NULL,
                    role TEXT NOT NULL CHECK (role IN ('item', 'counterpart')),
                    file_id INTEGER,
                    line INTEGER,
                    PRIMARY KEY (break_id, side, ref)
                ) WITHOUT ROWID;
                CREATE INDEX recon_break_item_by_ref ON recon_break_item(ref);
                CREATE TABLE recon_break_history (
                    id INTEGER PRIMARY KEY,
                    break_id INTEGER NOT NULL REFERENCES recon_break(id),
                    business_date TEXT NOT NULL,
                    at TEXT NOT NULL,
                    status TEXT NOT NULL,
                    kind TEXT NOT NULL,
                    what TEXT NOT NULL,
                    actor TEXT
                );
                CREATE INDEX recon_break_history_by_break ON recon_break_history(break_id);
                CREATE TABLE recon_action (
                    id INTEGER PRIMARY KEY,
                    action TEXT NOT NULL,
                    break_ids TEXT NOT NULL,
                    actor TEXT NOT NULL,
                    acted_at TEXT NOT NULL,
                    reason TEXT,
                    note TEXT,
                    detail TEXT,
                    previous_hash TEXT NOT NULL,
                    hash TEXT NOT NULL
                );
                CREATE TRIGGER recon_action_is_append_only_update BEFORE UPDATE ON recon_action
                    BEGIN SELECT RAISE(ABORT, 'the break action log is append-only'); END;
                CREATE TRIGGER recon_action_is_append_only_delete BEFORE DELETE ON recon_action
                    BEGIN SELECT RAISE(ABORT, 'the break action log is append-only'); END;
                CREATE TABLE recon_run (
                    rule TEXT NOT NULL,
                    business_date TEXT NOT NULL,
                    partner TEXT NOT NULL,
                    ran_at TEXT NOT NULL,
                    left_items INTEGER NOT NULL,
                    right_items INTEGER NOT NULL,
                    matched INTEGER NOT NULL,
                    matched_minor INTEGER NOT NULL,
                    pending INTEGER NOT NULL,
                    pending_minor INTEGER NOT NULL,
                    broken INTEGER NOT NULL,
                    broken_minor INTEGER NOT NULL,
                    PRIMARY KEY (rule, business_date)
                ) WITHOUT ROWID;
                CREATE TABLE settlement_quote (
                    event_id INTEGER PRIMARY KEY,
                    loan_id TEXT NOT NULL,
                    quote_minor INTEGER NOT NULL
                );
                CREATE INDEX settlement_quote_by_loan ON settlement_quote(loan_id);
                ALTER TABLE alert ADD COLUMN severity TEXT NOT NULL DEFAULT 'warning';
                ALTER TABLE alert ADD COLUMN read_at TEXT;
                ALTER TABLE alert ADD COLUMN read_by TEXT;
                """)
        }
        migrator.registerMigration("011 break history names the action that made it") { db in
            // A history row that a person's action wrote names that action (its recon_action
            // id): `breaks audit` checks each such row against the log, so rows removed from
            // the end of the hash chain (which the chain alone cannot show) are found too.
            // The reconcile step's own rows leave it NULL.
            try db.execute(sql: "ALTER TABLE recon_break_history ADD COLUMN action_id INTEGER")
        }
        migrator.registerMigration("012 alerts: severities from the catalogue, announcements") { db in
            // Alerts raised before 010 took its default severity: they get the catalogue's
            // (as it was when this shipped; the few codes that are not warnings). An alert
            // raised or opened again is announced (its code's command run) after the day's
            // steps commit; alerts already in the ledger were raised by earlier reckons,
            // which had no commands, so none is pending.
            try db.execute(sql: """
                UPDATE alert SET severity = 'info' WHERE kind IN ('plan_withdrawn');
                UPDATE alert SET severity = 'critical' WHERE kind IN ('balance_below_warning');
                ALTER TABLE alert ADD COLUMN announce_pending INTEGER NOT NULL DEFAULT 0;
                CREATE INDEX alert_announce_pending ON alert(id) WHERE announce_pending = 1;
                CREATE INDEX alert_by_day ON alert(business_date, kind, subject);
                """)
        }
        migrator.registerMigration("013 outbound files") { db in
            // One row per installed version of each outbound file (issue 11): what the outbox
            // installed, and, for issue 12's deliver step, when and as what it was delivered
            // (empty until then). written_at is when it was recorded (UTC); the files and
            // their manifest carry no clock time.
            try db.execute(sql: """
                CREATE TABLE outbound_file (
                    partner TEXT NOT NULL,
                    business_date TEXT NOT NULL,
                    name TEXT NOT NULL,
                    version INTEGER NOT NULL,
                    file_type TEXT NOT NULL,
                    spec TEXT NOT NULL,
                    size_bytes INTEGER NOT NULL,
                    record_count INTEGER NOT NULL,
                    sha256 TEXT NOT NULL,
                    control_totals TEXT NOT NULL,
                    reason TEXT NOT NULL,
                    written_at TEXT NOT NULL,
                    delivered_at TEXT,
                    remote_name TEXT,
                    PRIMARY KEY (partner, business_date, name, version)
                ) WITHOUT ROWID;
                CREATE INDEX outbound_file_by_day ON outbound_file(business_date, partner);
                """)
        }
        migrator.registerMigration("014 settle: adjustments of breaks and the files that carry them") { db in
            // A break resolved with an adjustment keeps its amount and the journal entry that
            // booked it (the entry names the break back), the business day whose settlement
            // file carries it, and that file's name once the settle step has written it.
            try db.execute(sql: """
                ALTER TABLE recon_break ADD COLUMN adjustment_minor INTEGER;
                ALTER TABLE recon_break ADD COLUMN adjustment_entry_id INTEGER;
                ALTER TABLE recon_break ADD COLUMN settle_on TEXT;
                ALTER TABLE recon_break ADD COLUMN fixed_by_file TEXT;
                ALTER TABLE journal_entry ADD COLUMN break_id INTEGER;
                CREATE INDEX recon_break_by_settle_day ON recon_break(settle_on) WHERE settle_on IS NOT NULL;
                """)
        }
        migrator.registerMigration("015 tasks") { db in
            // Scheduled tasks (seed 000 §15): reckon.yaml declares them, the ledger keeps their
            // state: enabled or not (new ones start disabled; each change kept with who and
            // when in task_change), their counts and last run (failures included); every run
            // is a task_run row. A task gone from reckon.yaml keeps its rows (in_config = 0).
            try db.execute(sql: """
                CREATE TABLE task (
                    id TEXT PRIMARY KEY,
                    name TEXT NOT NULL,
                    schedule TEXT NOT NULL,
                    method TEXT NOT NULL,
                    parameters TEXT NOT NULL,
                    in_config INTEGER NOT NULL DEFAULT 1,
                    created_at TEXT NOT NULL,
                    enabled INTEGER NOT NULL DEFAULT 0,
                    enabled_changed_at TEXT,
                    enabled_changed_by TEXT,
                    successes INTEGER NOT NULL DEFAULT 0,
                    failures INTEGER NOT NULL DEFAULT 0,
                    last_run_at TEXT,
                    last_outcome TEXT CHECK (last_outcome IN ('succeeded', 'failed')),
                    last_result TEXT
                ) WITHOUT ROWID;
                CREATE TABLE task_change (
                    id INTEGER PRIMARY KEY,
                    task TEXT NOT NULL,
                    enabled INTEGER NOT NULL,
                    changed_by TEXT NOT NULL,
                    changed_at TEXT NOT NULL
                );
                CREATE TABLE task_run (
                    id INTEGER PRIMARY KEY,
                    task TEXT NOT NULL,
                    method TEXT NOT NULL,
                    trigger TEXT NOT NULL CHECK (trigger IN ('schedule', 'hand')),
                    run_by TEXT,
                    business_date TEXT NOT NULL,
                    started_at TEXT NOT NULL,
                    finished_at TEXT NOT NULL,
                    outcome TEXT NOT NULL CHECK (outcome IN ('succeeded', 'failed')),
                    result TEXT NOT NULL
                );
                CREATE INDEX task_run_by_task ON task_run(task, id);
                """)
        }
        migrator.registerMigration("016 switches: steps paused from the console, and every change") { db in
            // Seed 000 §17's console switches: one row per step that was ever switched (a
            // step without a row runs), and every pause and resume with who, when and why.
            try db.execute(sql: """
                CREATE TABLE step_switch (
                    step TEXT PRIMARY KEY,
                    paused INTEGER NOT NULL CHECK (paused IN (0, 1)),
                    changed_by TEXT NOT NULL,
                    changed_at TEXT NOT NULL,
                    note TEXT
                );
                CREATE TABLE step_switch_change (
                    id INTEGER PRIMARY KEY,
                    step TEXT NOT NULL,
                    action TEXT NOT NULL CHECK (action IN ('pause', 'resume')),
                    actor TEXT NOT NULL,
                    changed_at TEXT NOT NULL,
                    note TEXT
                );
                """)
        }
        migrator.registerMigration("018 archives: inbound zips unpacked or refused") { db in
            // Each inbound archive the collect step took, by partner, name and content: a
            // re-run finds it here and neither unpacks nor quarantines it again. status is
            // `unpacked` (entries: its entry names, one a line) or `refused` (reason, and
            // where the archive and its report were quarantined).
            try db.execute(sql: """
                CREATE TABLE inbound_archive (
                    partner TEXT NOT NULL,
                    name TEXT NOT NULL,
                    sha256 TEXT NOT NULL,
                    business_date TEXT NOT NULL,
                    archive_type TEXT NOT NULL,
                    size_bytes INTEGER NOT NULL,
                    status TEXT NOT NULL,
                    entries TEXT NOT NULL,
                    reason TEXT,
                    quarantine_path TEXT,
                    recorded_at TEXT NOT NULL,
                    PRIMARY KEY (partner, name, sha256)
                ) WITHOUT ROWID;
                """)
        }
        migrator.registerMigration("019 postings kept by entry, without row ids or an index by account") { db in
            // A file's postings are appended entry after entry, so keyed by (entry, leg) they
            // are one B-tree written at its end: one insert a posting instead of three (the
            // table, posting_by_entry, and posting_by_account at a random place). Nothing
            // reads postings by account (balances are kept in `balance`), so that index went;
            // an account statement would bring it back.
            try db.execute(sql: """
                CREATE TABLE posting_019 (
                    entry_id INTEGER NOT NULL REFERENCES journal_entry(id),
                    leg INTEGER NOT NULL CHECK (leg >= 1),
                    account TEXT NOT NULL REFERENCES account(code),
                    amount_minor INTEGER NOT NULL CHECK (amount_minor <> 0),
                    currency TEXT NOT NULL,
                    PRIMARY KEY (entry_id, leg)
                ) WITHOUT ROWID;
                INSERT INTO posting_019 (entry_id, leg, account, amount_minor, currency)
                    SELECT entry_id, row_number() OVER (PARTITION BY entry_id ORDER BY id), account, amount_minor, currency
                    FROM posting ORDER BY entry_id, id;
                DROP TABLE posting;
                ALTER TABLE posting_019 RENAME TO posting;
                CREATE TRIGGER posting_is_append_only_update BEFORE UPDATE ON posting
                    BEGIN SELECT RAISE(ABORT, 'postings are never changed: post a reversal'); END;
                CREATE TRIGGER posting_is_append_only_delete BEFORE DELETE ON posting
                    BEGIN SELECT RAISE(ABORT, 'postings are never deleted: post a reversal'); END;
                """)
        }
        return migrator
    }
}
