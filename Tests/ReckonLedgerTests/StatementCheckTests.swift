import Foundation
import GRDB
import Testing
@testable import ReckonCore
@testable import ReckonFiles
@testable import ReckonLedger

/// The bank-statement rule on a statement that does not add up, does not follow on from the
/// day before and closes below the warning line: a break of each kind, to the cent.
@Suite struct StatementCheckTests {
    let nextDay = CivilDate(year: 2024, month: 12, day: 17)!

    @Test func aStatementThatDoesNotAddUpOrFollowOnOrFallsBelowTheLineBreaksEachWay() throws {
        let (folder, ledger, _, _) = try PlanStepTests().sampleLedger()
        // The sample day's statement holds: no statement break.
        #expect(try ledger.read { try Int.fetchOne($0, sql: "SELECT count(*) FROM recon_break WHERE rule = 'bank-statement'") } == 0)
        // The 17th's statement, as its events: opening 4,586,210.00 (0.45 short of the 16th's
        // closing 4,586,210.45), a debit of 1,000.00 and a credit of 200.00, closing 400,000.00.
        try ledger.write { db in
            let first = try Int64.fetchOne(db, sql: "SELECT max(id) FROM event")! + 1
            try db.execute(sql: """
                INSERT INTO received_file (partner, file_type, business_date, name, size, sha256, status, received_at, first_event_id, last_event_id)
                VALUES ('bank', 'statements', '2024-12-17', 'BANK_STMT_20241217.xml', 1, 'crafted', 'posted', '2024-12-17T15:30:00Z', ?, ?)
                """, arguments: [first, first + 2])
            let file = db.lastInsertedRowID
            let account = #""statement_id":"S17","account":"6222020000001234""#
            try db.execute(sql: """
                INSERT INTO event (id, file_id, line, kind, event_date, amount_minor, currency, active, other_fields) VALUES
                  (?1, ?2, 8, 'balance', '2024-12-17', 40000000, 'CNY', 1, '{\(account),"opening_balance":458621000}'),
                  (?1 + 1, ?2, 15, 'bank_statement_line', '2024-12-17', -100000, 'CNY', 1, '{\(account),"direction":"DBIT"}'),
                  (?1 + 2, ?2, 16, 'bank_statement_line', '2024-12-17', 20000, 'CNY', 1, '{\(account),"direction":"CRDT"}')
                """, arguments: [first, file])
        }
        let reference = try ReferenceData.load(folder.config)
        let report = try ledger.runReconcileStep(date: nextDay, config: folder.config, reference: reference, rule: "bank-statement")
        #expect(report.rules.first?.newBreaks == 3)
        let breaks = try ledger.read { db in
            try Row.fetchAll(db, sql: "SELECT kind, amount_minor, summary FROM recon_break WHERE rule = 'bank-statement' ORDER BY kind")
                .map { "\($0[0] as String) \($0[1] as Int64) \($0[2] as String)" }
        }
        #expect(breaks == [
            "balance_below_warning 10000000 account 6222020000001234 statement S17: closing balance 400,000.00 on 2024-12-17 is below the warning line 500,000.00",
            "statement_arithmetic 418541000 account 6222020000001234 statement S17: opening 4,586,210.00 + entries -800.00 = 4,585,410.00, but the closing balance is 400,000.00 (-4,185,410.00)",
            "statement_continuity 45 account 6222020000001234 statement S17: opening balance 4,586,210.00 is not the closing balance 4,586,210.45 of the statement of 2024-12-16 (-0.45)",
        ])
        // The line is a critical alert of the day.
        let alert = try #require(try ledger.alerts(date: nextDay).first { $0.kind == "balance_below_warning" })
        #expect(alert.subject == "6222020000001234 2024-12-17")
        #expect(try ledger.read { try String.fetchOne($0, sql: "SELECT severity FROM alert WHERE kind = 'balance_below_warning'") } == "critical")
        // Again: nothing new.
        let again = try ledger.runReconcileStep(date: nextDay, config: folder.config, reference: reference, rule: "bank-statement")
        #expect(again.rules.first?.newBreaks == 0 && again.newAlerts == 0)
        #expect(try ledger.read { try Int.fetchOne($0, sql: "SELECT count(*) FROM recon_break WHERE rule = 'bank-statement'") } == 3)
    }
}
