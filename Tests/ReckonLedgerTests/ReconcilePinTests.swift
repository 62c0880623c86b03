import Foundation
import GRDB
import Testing
@testable import ReckonCore
@testable import ReckonFiles
@testable import ReckonLedger

/// The rule `repayments-vs-bill` over two days of crafted events, several batches of items a
/// side, with every kind of difference the pairing meets (missing on either side, amounts,
/// status, a failed attempt, dates in and out of the window, items the sides' filters leave
/// out, keys repeated on one side or both, a key with three candidates): the breaks the step
/// writes, with their items and history, are pinned whole. A faster step must write exactly
/// these (the digest was taken from the step before the reading and pairing were reworked).
@Suite struct ReconcilePinTests {
    static let day = CivilDate(year: 2024, month: 12, day: 18)!
    static let nextDay = CivilDate(year: 2024, month: 12, day: 19)!
    static let collections = 2_600

    struct Event {
        let kind: String
        let day: String
        let amount: Int64
        let reference: String
        let json: String
    }

    static func repayment(_ reference: String, _ amount: Int64, type: String = "normal") -> Event {
        Event(kind: "repayment", day: "2024-12-18", amount: amount, reference: reference,
              json: #"{"repay_id":"R\#(reference)","repay_type":"\#(type)","paid_at":"2024-12-18T09:00:00","channel":"WXPAY","status":"success"}"#)
    }

    static func billLine(_ reference: String, _ amount: Int64, day: String = "2024-12-18", type: String = "collection",
                         status: String = "success") -> Event {
        Event(kind: "channel_bill_line", day: day, amount: amount, reference: reference,
              json: #"{"occurred_at":"\#(day)T10:00:00","merchant_id":"1900000109","type":"\#(type)","status":"\#(status)","remark":"还款"}"#)
    }

    /// The day's two files: collection `i`'s reference is a permutation of `i` (neither side
    /// comes in key order), and `i % 50` says how the two sides differ.
    static func dayEvents() -> (platform: [Event], bill: [Event]) {
        var platform: [Event] = [], bill: [Event] = []
        for index in 0..<collections {
            let reference = "4200" + String(String((index * 7_919) % collections + 100_000_000).dropFirst())
            let amount = Int64(10_000 + (index * 37) % 90_000)
            switch index % 50 {
            case 0: platform.append(repayment(reference, amount))  // missing on the bill
            case 1: bill.append(billLine(reference, amount))  // missing on the platform
            case 2: platform.append(repayment(reference, amount)); bill.append(billLine(reference, amount + 1))
            case 3: platform.append(repayment(reference, amount)); bill.append(billLine(reference, amount - 10_000))
            case 4: platform.append(repayment(reference, amount)); bill.append(billLine(reference, amount, status: "failed"))
            case 5: platform.append(repayment(reference, amount)); bill += [billLine(reference, amount), billLine(reference, amount)]
            case 6: platform += [repayment(reference, amount + 5), repayment(reference, amount)]; bill.append(billLine(reference, amount))
            case 7: platform += [repayment(reference, amount), repayment(reference, amount)]; bill += [billLine(reference, amount), billLine(reference, amount)]
            case 8: platform.append(repayment(reference, amount)); bill.append(billLine(reference, amount, day: "2024-12-20"))
            case 9: platform.append(repayment(reference, amount, type: "compensation")); bill.append(billLine(reference, amount))
            case 10: platform.append(repayment(reference, amount)); bill.append(billLine(reference, amount, type: "fee"))
            case 11: platform.append(repayment(reference, amount)); bill.append(billLine(reference, amount, day: "2024-12-19"))
            case 12:
                platform.append(repayment(reference, amount))
                bill += [billLine(reference, amount + 1), billLine(reference, amount + 2), billLine(reference, amount + 3)]
            case 13: bill.append(billLine(reference, amount, status: "failed"))  // a failed attempt alone
            default: platform.append(repayment(reference, amount)); bill.append(billLine(reference, amount))
            }
        }
        return (platform, bill)
    }

    static func insert(_ db: Database, partner: String, type: String, day: String, name: String, _ events: [Event]) throws {
        let first = (try Int64.fetchOne(db, sql: "SELECT max(id) FROM event") ?? 0) + 1
        try db.execute(sql: """
            INSERT INTO received_file (partner, file_type, business_date, name, size, sha256, status, received_at, first_event_id, last_event_id)
            VALUES (?, ?, ?, ?, 1, ?, 'posted', ?, ?, ?)
            """, arguments: [partner, type, day, name, "crafted " + name, day + "T15:30:00Z", first, first + Int64(events.count) - 1])
        let file = db.lastInsertedRowID
        let statement = try db.makeStatement(sql: """
            INSERT INTO event (id, file_id, line, kind, event_date, amount_minor, currency, reference, active, other_fields)
            VALUES (?, ?, ?, ?, ?, ?, 'CNY', ?, 1, ?)
            """)
        for (offset, event) in events.enumerated() {
            try statement.execute(arguments: [first + Int64(offset), file, offset + 2, event.kind, event.day, event.amount, event.reference, event.json])
        }
    }

    /// Everything the step wrote, its own timestamps left out, in the order it was written.
    static func dump(_ ledger: Ledger) throws -> String {
        try ledger.read { db in
            var lines: [String] = []
            func add(_ sql: String) throws {
                for row in try Row.fetchAll(db, sql: sql) {
                    lines.append(row.databaseValues.map { $0.isNull ? "∅" : String(describing: $0.storage) }.joined(separator: "|"))
                }
            }
            try add("""
                SELECT id, identity, rule, kind, status, business_date, found_on, updated_on, closed_on, match_key, amount_minor, fields, summary
                FROM recon_break ORDER BY id
                """)
            try add("SELECT break_id, side, ref, role, file_id, line FROM recon_break_item ORDER BY break_id, side, ref")
            try add("SELECT id, break_id, business_date, status, kind, what FROM recon_break_history ORDER BY id")
            try add("""
                SELECT rule, business_date, left_items, right_items, matched, matched_minor, pending, pending_minor, broken, broken_minor
                FROM recon_run ORDER BY rule, business_date
                """)
            try add("SELECT id, business_date, kind, subject, message, cleared_on FROM alert ORDER BY id")
            return lines.joined(separator: "\n")
        }
    }

    /// FNV-1a, 64 bits: a digest that is the same on every machine and run.
    static func digest(_ text: String) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x100_0000_01b3
        }
        return String(hash, radix: 16)
    }

    static func kinds(_ ledger: Ledger) throws -> [String] {
        try ledger.read { db in
            try Row.fetchAll(db, sql: "SELECT kind, status, count(*) FROM recon_break GROUP BY kind, status ORDER BY kind, status")
                .map { "\($0[0] as String) \($0[1] as String) \($0[2] as Int)" }
        }
    }

    @Test func theBreaksOfTwoCraftedDaysAreExactlyThoseTheStepAlwaysWrote() throws {
        let folder = try DayFolder(copy: false)
        let ledger = try folder.ledger()
        let (platform, bill) = Self.dayEvents()
        // More items a side than two of the step's batches (1,024 items).
        #expect(platform.count == 2_600 && bill.count == 2_756)
        try ledger.write { db in
            try Self.insert(db, partner: "platform", type: "repayments", day: "2024-12-18", name: "PLAT_REPAY_20241218.csv", platform)
            try Self.insert(db, partner: "channel", type: "bills", day: "2024-12-18", name: "PAY_BILL_20241218.csv", bill)
        }
        let reference = try ReferenceData.load(folder.config)
        let first = try #require(try ledger.runReconcileStep(date: Self.day, config: folder.config, reference: reference,
                                                             rule: "repayments-vs-bill").rules.first)
        // Compensations are left out on the left and fees on the right.
        #expect(first.leftItems == 2_548 && first.rightItems == 2_704)
        #expect(first.matched == 2_132 && first.matchedMinor == 111_548_180)
        #expect(first.pending == 208 && first.pendingMinor == 10_850_880 && first.broken == 416 && first.brokenMinor == 21_727_240)
        #expect(try Self.kinds(ledger) == [
            "ambiguous open 52", "amount open 104", "date open 52", "duplicate open 104", "missing_ours pending 104",
            "missing_theirs pending 104", "status open 104",
        ])

        // The next day: a late bill with the counterparts of some of the missing collections;
        // what still has none is a break.
        let late = (0..<Self.collections).filter { $0 % 50 == 0 && $0 % 200 == 0 }.map { index in
            Self.billLine("4200" + String(String((index * 7_919) % Self.collections + 100_000_000).dropFirst()),
                          Int64(10_000 + (index * 37) % 90_000), day: "2024-12-19")
        }
        try ledger.write { db in
            try Self.insert(db, partner: "channel", type: "bills", day: "2024-12-19", name: "PAY_BILL_20241219.csv", late)
        }
        let second = try #require(try ledger.runReconcileStep(date: Self.nextDay, config: folder.config, reference: reference,
                                                              rule: "repayments-vs-bill").rules.first)
        #expect(second.leftItems == 416 && second.rightItems == 585)
        #expect(second.matched == 13 && second.newBreaks == 299 && second.closedBreaks == 117 && second.broken == 611)
        #expect(try Self.kinds(ledger) == [
            "ambiguous open 52", "amount open 104", "date open 52", "duplicate closed 104", "missing_ours open 156",
            "missing_theirs closed 13", "missing_theirs open 143", "status open 104",
        ])
        let dump = try Self.dump(ledger)
        // 2,876 lines: every break, item, history step, run and alert.
        #expect(Self.digest(dump) == "a09217d2f3dab598", "\(dump.split(separator: "\n").count) lines")
    }
}
