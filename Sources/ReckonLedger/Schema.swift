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
        return migrator
    }
}
