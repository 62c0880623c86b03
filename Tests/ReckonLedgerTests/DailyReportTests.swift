import Foundation
import GRDB
import ReckonCore
import ReckonFiles
import ReckonLedger
import Testing

/// `reckon report`'s figures come from the ledger: the page and the CSV say what SQL sums
/// over `recon_run`, `recon_break` and `alert` say; ages count each rule's calendar; only
/// open breaks of days up to the report's count.
@Suite("The daily report from the ledger", .serialized)
struct DailyReportTests {
    static let december17 = CivilDate(year: 2024, month: 12, day: 17)!

    // MARK: The sample days through the real batch

    /// The sample day's history days, the day and the day after, run through `Batch.run`
    /// (collect, ingest, plan, reconcile) into a ledger of their own; built once.
    final class SampleBooks: @unchecked Sendable {
        let folder: DayFolder
        let reference: ReferenceData
        static let shared = Result<SampleBooks, any Error> { try SampleBooks() }

        private init() throws {
            folder = try DayFolder(readiness: DayOrderTests.allReady, copy: false, expectedFiles: true)
            let day = CivilDate(year: 2024, month: 12, day: 16)!
            let written = try SampleDay(date: day, loans: 20, mappings: repositoryRoot + "/mappings").write(into: folder.root + "/inbox")
            let ledger = try folder.ledger()
            for date in written.historyDays + [day, december17] {
                let report = try Batch.run(BatchOptions(date: date), config: folder.config, ledger: ledger)
                guard report.errors.isEmpty else { throw LedgerError("batch \(date): \(report.errors)") }
            }
            reference = try ReferenceData.load(folder.config)
        }

        func report(_ date: CivilDate) throws -> DailyReport {
            try Ledger(readingFrom: folder.config.databasePath)
                .dailyReport(date: date, currency: folder.config.currency, rules: folder.config.reconciliation.rules,
                             partners: folder.config.partners, calendar: reference.calendar, defaultCalendar: "cn")
        }

        func sql<T>(_ body: (Database) throws -> T) throws -> T {
            try DatabaseQueue(path: folder.config.databasePath).read(body)
        }
    }

    @Test func thePagesFiguresAreTheLedgers() throws {
        let books = try SampleBooks.shared.get()
        let report = try books.report(Self.december17)
        let page = ReportHTML.page(report)
        let day = Self.december17.description
        #expect(report.notReconciled.isEmpty)

        // What each rule's run of the day counted.
        let rules = try figures(page, section: "rules")
        let runs = try books.sql { db in
            try Row.fetchAll(db, sql: """
                SELECT rule, matched, matched_minor, pending, pending_minor, broken, broken_minor FROM recon_run WHERE business_date = ?
                """, arguments: [day])
        }
        #expect(runs.count == 6, "every shipped rule ran")
        #expect(Set(rules.keys) == Set(runs.map { $0[0] as String }))
        for run in runs {
            let cells = try #require(rules[run[0]])
            #expect(try printedCount(cells["matched"]) == run[1] as Int, "\(run)")
            #expect(try printedAmount(cells["matched-amount"]) == run[2] as Int64, "\(run)")
            #expect(try printedCount(cells["pending"]) == run[3] as Int, "\(run)")
            #expect(try printedAmount(cells["pending-amount"]) == run[4] as Int64, "\(run)")
            #expect(try printedCount(cells["broken"]) == run[5] as Int, "\(run)")
            #expect(try printedAmount(cells["broken-amount"]) == run[6] as Int64, "\(run)")
            let considered = (run[1] as Int) + (run[3] as Int) + (run[5] as Int)
            // Rounded down to a tenth of a percent: checked by multiplying back.
            let rate = try #require(cells["match-rate"])
            if considered == 0 {
                #expect(rate == "–")
            } else {
                let permille = try #require(Int(rate.dropLast().replacingOccurrences(of: ".", with: "")), "\(rate)")
                #expect(permille * considered <= (run[1] as Int) * 1000 && (run[1] as Int) * 1000 < (permille + 1) * considered, "\(rate)")
            }
        }

        // Open breaks by rule, from any day up to the report's.
        let ages = try figures(page, section: "ages")
        let open = try books.sql { db in
            try Row.fetchAll(db, sql: """
                SELECT rule, count(*), sum(amount_minor), min(business_date) FROM recon_break
                WHERE status = 'open' AND business_date <= ? GROUP BY rule
                """, arguments: [day])
        }
        let openByRule = Dictionary(uniqueKeysWithValues: open.map { ($0[0] as String, (count: $0[1] as Int, amount: $0[2] as Int64)) })
        // The figures the brief states for the sample days.
        #expect(openByRule["repayments-vs-bill"]?.count == 4)
        #expect(openByRule["bank-plans"]?.count == 2)
        for (rule, cells) in ages where rule != "all" {
            let expected = openByRule[rule] ?? (0, 0)
            #expect(try printedCount(cells["open"]) == expected.count, "\(rule)")
            #expect(try printedAmount(cells["open-amount"]) == expected.amount, "\(rule)")
            let buckets = try AgeBucket.allCases.map { try printedCount(cells["age-\($0.key)"]) }
            #expect(buckets.reduce(0, +) == expected.count, "\(rule): \(buckets)")
        }
        // Every open break is of the 16th or the 17th: at most one working day old.
        #expect(open.allSatisfy { ($0[3] as String) >= "2024-12-16" })
        let total = try #require(ages["all"])
        #expect(try printedCount(total["open"]) == open.reduce(0) { $0 + ($1[1] as Int) })
        #expect(try printedCount(total["age-0-1"]) == open.reduce(0) { $0 + ($1[1] as Int) })
        #expect(try printedAmount(total["open-amount"]) == open.reduce(Int64(0)) { $0 + ($1[2] as Int64) })

        // Open breaks by kind.
        let kinds = try figures(page, section: "kinds")
        let byKind = try books.sql { db in
            try Row.fetchAll(db, sql: """
                SELECT rule, kind, count(*), sum(amount_minor) FROM recon_break
                WHERE status = 'open' AND business_date <= ? GROUP BY rule, kind
                """, arguments: [day])
        }
        #expect(kinds.count == byKind.count)
        for row in byKind {
            let cells = try #require(kinds["\(row[0] as String)|\(row[1] as String)"], "\(row)")
            #expect(try printedCount(cells["breaks"]) == row[2] as Int)
            #expect(try printedAmount(cells["amount"]) == row[3] as Int64)
        }

        // The day's alerts by severity.
        let alerts = try books.sql { db in
            try Row.fetchAll(db, sql: "SELECT severity, count(*), sum(cleared_on IS NULL) FROM alert WHERE business_date = ? GROUP BY severity",
                             arguments: [day])
        }
        #expect(!alerts.isEmpty, "the day after has its missing-plan alerts")
        let severities = try figures(page, section: "alerts", key: "data-severity")
        for row in alerts {
            let cells = try #require(severities[row[0]])
            #expect(try printedCount(cells["alerts"]) == row[1] as Int)
            #expect(try printedCount(cells["uncleared"]) == row[2] as Int)
        }
        #expect(severities.values.reduce(0) { $0 + ((try? printedCount($1["alerts"])) ?? -1) } == alerts.reduce(0) { $0 + ($1[1] as Int) })
    }

    @Test func theCSVsFiguresAreTheLedgers() throws {
        let books = try SampleBooks.shared.get()
        let report = try books.report(Self.december17)
        let rows = csvRows(ReportCSV.text(report))
        #expect(rows.first == ReportCSV.header.split(separator: ",").map(String.init))
        #expect(rows.dropFirst().allSatisfy { $0.count == 8 && $0[0] == "2024-12-17" })
        func value(_ section: String, _ rule: String, _ item: String) -> [String]? {
            rows.first { $0[1] == section && $0[3] == rule && $0[4] == item }
        }
        let day = Self.december17.description
        try books.sql { db in
            for run in try Row.fetchAll(db, sql: """
                SELECT rule, matched, matched_minor, pending, pending_minor, broken, broken_minor, left_items, right_items
                FROM recon_run WHERE business_date = ?
                """, arguments: [day]) {
                let rule: String = run[0]
                for (item, countColumn, amountColumn) in [("matched", 1, 2), ("pending", 3, 4), ("broken", 5, 6)] {
                    let row = try #require(value("run", rule, item), "\(rule) \(item)")
                    #expect(Int(row[5]) == run[countColumn] as Int, "\(rule) \(item)")
                    #expect(AmountText.minor(row[6]) == .success(run[amountColumn] as Int64), "\(rule) \(item)")
                }
                #expect(Int(try #require(value("run", rule, "left_items"))[5]) == run[7] as Int)
                #expect(Int(try #require(value("run", rule, "right_items"))[5]) == run[8] as Int)
                let open = try Row.fetchOne(db, sql: """
                    SELECT count(*), coalesce(sum(amount_minor), 0) FROM recon_break WHERE rule = ? AND status = 'open' AND business_date <= ?
                    """, arguments: [rule, day])!
                let ages = rows.filter { $0[1] == "open_by_age" && $0[3] == rule }
                #expect(ages.map { $0[4] } == ["0-1", "2-3", "4-7", "8-30", "over-30"])
                #expect(ages.reduce(0) { $0 + Int($1[5])! } == open[0] as Int, "\(rule)")
                #expect(ages.reduce(Int64(0)) { $0 + ((try? AmountText.minor($1[6]).get()) ?? .min) } == open[1] as Int64, "\(rule)")
                // The match-rate history: a row per day the rule ran in the last 30.
                let days = try String.fetchAll(db, sql: """
                    SELECT business_date FROM recon_run WHERE rule = ? AND business_date BETWEEN '2024-11-18' AND ? ORDER BY business_date
                    """, arguments: [rule, day])
                #expect(rows.filter { $0[1] == "match_rate" && $0[3] == rule }.map { $0[4] } == days, "\(rule)")
            }
            for alert in try Row.fetchAll(db, sql: "SELECT severity, count(*) FROM alert WHERE business_date = ? GROUP BY severity",
                                          arguments: [day]) {
                #expect(Int(try #require(value("alerts", "", alert[0]))[5]) == alert[1] as Int)
            }
        }
    }

    @Test func anUnchangedLedgerGivesTheSameBytes() throws {
        let books = try SampleBooks.shared.get()
        let first = try books.report(Self.december17), second = try books.report(Self.december17)
        #expect(first == second)
        #expect(Array(ReportHTML.page(first).utf8) == Array(ReportHTML.page(second).utf8))
        #expect(Array(ReportCSV.text(first).utf8) == Array(ReportCSV.text(second).utf8))
    }

    // MARK: Crafted breaks

    /// A ledger holding only the rows written here, under the shipped rules (bank-plans
    /// counted in weekdays, statement-vs-channel-settlement in calendar days, the others in
    /// the configured calendar, CN).
    func craftedLedger(_ rows: (Database) throws -> Void) throws -> DailyReportSource {
        let folder = try DayFolder(copy: false) { yaml in
            yaml.replacingOccurrences(of: "    bank-plans:\n", with: "    bank-plans:\n      calendar: weekdays\n")
                .replacingOccurrences(of: "    statement-vs-channel-settlement:\n",
                                      with: "    statement-vs-channel-settlement:\n      calendar: calendar-days\n")
        }
        _ = try folder.ledger()
        try DatabaseQueue(path: folder.config.databasePath).write(rows)
        return DailyReportSource(folder: folder, reference: try ReferenceData.load(folder.config))
    }

    struct DailyReportSource {
        /// Kept while the source is: its folder goes with it.
        let folder: DayFolder
        let reference: ReferenceData
        var config: ReckonConfig { folder.config }

        func report(_ date: CivilDate) throws -> DailyReport {
            try Ledger(readingFrom: config.databasePath)
                .dailyReport(date: date, currency: config.currency, rules: config.reconciliation.rules,
                             partners: config.partners, calendar: reference.calendar, defaultCalendar: "cn")
        }
    }

    static func insertBreak(_ db: Database, _ rule: String, partner: String = "channel", _ kind: String, _ status: String,
                            _ day: String, _ amountMinor: Int64) throws {
        try db.execute(sql: """
            INSERT INTO recon_break (identity, rule, partner, kind, status, business_date, found_on, updated_on, match_key,
                amount_minor, currency, summary) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'k', ?, 'CNY', 'crafted')
            """, arguments: ["\(rule)|\(kind)|\(status)|\(day)|\(amountMinor)", rule, partner, kind, status, day, day, day, amountMinor])
    }

    static func insertRun(_ db: Database, _ rule: String, partner: String, _ day: String, matched: (Int, Int64), pending: (Int, Int64),
                          broken: (Int, Int64), at: String = "2024-12-17T01:00:00Z") throws {
        try db.execute(sql: """
            INSERT INTO recon_run (rule, business_date, partner, ran_at, left_items, right_items, matched, matched_minor,
                pending, pending_minor, broken, broken_minor) VALUES (?, ?, ?, ?, 10, 9, ?, ?, ?, ?, ?, ?)
            """, arguments: [rule, day, partner, at, matched.0, matched.1, pending.0, pending.1, broken.0, broken.1])
    }

    static func insertAlert(_ db: Database, _ day: String, _ severity: String, _ code: String, _ subject: String, cleared: String? = nil) throws {
        try db.execute(sql: """
            INSERT INTO alert (business_date, kind, subject, message, raised_at, cleared_on, severity) VALUES (?, ?, ?, ?, ?, ?, ?)
            """, arguments: [day, code, subject, "\(code) about \(subject)", "\(day)T01:00:00Z", cleared, severity])
    }

    @Test func openBreaksByAgeInTheirRulesCalendarAndKind() throws {
        let source = try craftedLedger { db in
            let rule = "repayments-vs-bill"
            try Self.insertBreak(db, rule, "amount", "open", "2024-12-17", 100)          // 0 working days
            try Self.insertBreak(db, rule, "missing_theirs", "open", "2024-12-16", 200)  // 1
            try Self.insertBreak(db, rule, "missing_theirs", "open", "2024-12-13", 300)  // 2: Monday, Tuesday
            try Self.insertBreak(db, rule, "status", "open", "2024-12-09", 400)          // 6
            try Self.insertBreak(db, rule, "amount", "open", "2024-11-29", 500)          // 12
            try Self.insertBreak(db, rule, "duplicate", "open", "2024-09-27", 600)
            try Self.insertBreak(db, rule, "amount", "open", "2024-09-30", 700)
            // Not open, or of a later day: left out.
            try Self.insertBreak(db, rule, "amount", "closed", "2024-12-16", 7_000)
            try Self.insertBreak(db, rule, "amount", "pending", "2024-12-17", 8_000)
            try Self.insertBreak(db, rule, "amount", "matched", "2024-12-10", 8_100)
            try Self.insertBreak(db, rule, "amount", "resolved", "2024-12-10", 8_200)
            try Self.insertBreak(db, rule, "amount", "open", "2024-12-18", 9_000)
            try Self.insertBreak(db, "bank-plans", partner: "bank", "plan_mismatch", "open", "2024-09-27", 21)
            try Self.insertBreak(db, "statement-vs-channel-settlement", partner: "bank", "amount", "open", "2024-09-27", 31)
            // A rule reckon.yaml no longer names.
            try Self.insertBreak(db, "old-bill-rule", "amount", "open", "2024-12-16", 50)
        }
        let report = try source.report(Self.december17)
        #expect(report.rules.map(\.name) == ["repayments-vs-our-plan", "bank-plans", "statement-vs-channel-settlement", "bank-statement",
                                             "disbursements-vs-statement", "repayments-vs-bill", "old-bill-rule"],
                "partner by partner as reckon.yaml lists them; a rule it does not name last")
        let bill = try #require(report.rules.first { $0.name == "repayments-vs-bill" })
        #expect(bill.openByAge == [Tally(count: 2, amountMinor: 300), Tally(count: 1, amountMinor: 300), Tally(count: 1, amountMinor: 400),
                                   Tally(count: 1, amountMinor: 500), Tally(count: 2, amountMinor: 1_300)])
        #expect(bill.openByKind == [KindTally(kind: "amount", tally: Tally(count: 3, amountMinor: 1_300)),
                                    KindTally(kind: "missing_theirs", tally: Tally(count: 2, amountMinor: 500)),
                                    KindTally(kind: "duplicate", tally: Tally(count: 1, amountMinor: 600)),
                                    KindTally(kind: "status", tally: Tally(count: 1, amountMinor: 400))])
        let old = try #require(report.rules.last)
        #expect(!old.configured && old.partner == "channel" && old.standing == "not in reckon.yaml")
        #expect(old.openByAge[0] == Tally(count: 1, amountMinor: 50))
        #expect(report.openBreaks == Tally(count: 10, amountMinor: 2_902))

        // Before the National Day holiday (1–7 October, 29 September a make-up working day),
        // each rule in its own calendar.
        let october = try source.report(CivilDate(year: 2024, month: 10, day: 8)!)
        func ages(_ rule: String) -> [Int] { october.rules.first { $0.name == rule }!.openByAge.map(\.count) }
        // CN: 27 Sep → 29 Sep, 30 Sep, 8 Oct: 3; 30 Sep → 8 Oct: 1.
        #expect(ages("repayments-vs-bill") == [1, 1, 0, 0, 0])
        // Weekdays: 30 Sep, 1–4 Oct, 7, 8 Oct: 7.
        #expect(ages("bank-plans") == [0, 0, 1, 0, 0])
        // Calendar days: 11.
        #expect(ages("statement-vs-channel-settlement") == [0, 0, 0, 1, 0])
        #expect(october.notReconciled.isEmpty, "no rule applies before 2024-12-16")
        #expect(october.rules.first { $0.name == "bank-plans" }?.standing == "not applied yet (from 2024-12-16)")
    }

    @Test func runsOfTheDayHistoryAndAlerts() throws {
        let source = try craftedLedger { db in
            try Self.insertRun(db, "repayments-vs-bill", partner: "channel", "2024-12-17", matched: (7, 70_000), pending: (1, 800), broken: (2, 1_500))
            try Self.insertRun(db, "repayments-vs-bill", partner: "channel", "2024-12-10", matched: (3, 300), pending: (0, 0), broken: (1, 5))
            try Self.insertRun(db, "repayments-vs-bill", partner: "channel", "2024-11-17", matched: (1, 1), pending: (0, 0), broken: (0, 0))
            try Self.insertRun(db, "bank-plans", partner: "bank", "2024-12-17", matched: (5, 5_000), pending: (0, 0), broken: (0, 0),
                               at: "2024-12-17T01:00:05Z")
            try Self.insertAlert(db, "2024-12-17", "critical", "balance_below_warning", "B")
            try Self.insertAlert(db, "2024-12-17", "critical", "balance_below_warning", "A", cleared: "2024-12-17")
            try Self.insertAlert(db, "2024-12-17", "warning", "breaks_found", "C")
            try Self.insertAlert(db, "2024-12-16", "info", "breaks_found", "D")
        }
        let report = try source.report(Self.december17)
        let bill = try #require(report.rules.first { $0.name == "repayments-vs-bill" })
        #expect(bill.run == RuleRun(leftItems: 10, rightItems: 9, matched: Tally(count: 7, amountMinor: 70_000), pending: Tally(count: 1, amountMinor: 800),
                                    broken: Tally(count: 2, amountMinor: 1_500), ranAt: "2024-12-17T01:00:00Z"))
        #expect(bill.run?.matchRate.text == "70.0%")
        // The 30 days are 18 November to 17 December.
        #expect(bill.history == [DayRate(date: CivilDate(year: 2024, month: 12, day: 10)!, rate: MatchRate(matched: 3, pending: 0, broken: 1)),
                                 DayRate(date: Self.december17, rate: MatchRate(matched: 7, pending: 1, broken: 2))])
        #expect(report.reconciledAt == "2024-12-17T01:00:05Z")
        #expect(report.notReconciled.map(\.name) == ["repayments-vs-our-plan", "statement-vs-channel-settlement", "bank-statement",
                                                     "disbursements-vs-statement"])
        #expect(report.alerts == [AlertTally(severity: "critical", code: "balance_below_warning", count: 2, uncleared: 1),
                                  AlertTally(severity: "warning", code: "breaks_found", count: 1, uncleared: 1)])
        #expect(report.alertLines.map(\.subject) == ["A", "B", "C"])
        #expect(report.alertLinesLeftOut == 0)
        #expect(report.alertsBySeverity.map { "\($0.severity) \($0.count) \($0.uncleared)" } == ["critical 2 1", "warning 1 1", "info 0 0"])

        let nextDay = try source.report(CivilDate(year: 2024, month: 12, day: 18)!)
        #expect(nextDay.notReconciled.count == 6, "every rule applies and none ran")
        #expect(nextDay.rules.allSatisfy { $0.run == nil && $0.standing == "not reconciled" })
    }
}

// MARK: Reading the page and the CSV back

/// The figures of a section's rows of the page: key (the row's `data-rule`, `data-total`,
/// `rule|kind` for kinds, or the attribute named) → metric → the cell's text.
func figures(_ page: String, section: String, key: String = "data-rule") throws -> [String: [String: String]] {
    let start = try #require(page.range(of: "<section id=\"\(section)\">"), "no section \(section)")
    let end = try #require(page.range(of: "</section>", range: start.upperBound..<page.endIndex))
    var result: [String: [String: String]] = [:]
    for row in page[start.upperBound..<end.lowerBound].components(separatedBy: "<tr ").dropFirst() {
        func attribute(_ name: String) -> String? {
            guard let range = row.range(of: " \(name)=\"") ?? (row.hasPrefix("\(name)=\"") ? row.range(of: "\(name)=\"") : nil) else { return nil }
            return String(row[range.upperBound...].prefix { $0 != "\"" })
        }
        guard var name = attribute(key) ?? attribute("data-total") else { continue }
        if let kind = attribute("data-kind") { name += "|" + kind }
        var metrics: [String: String] = [:]
        for cell in row.components(separatedBy: "data-metric=\"").dropFirst() {
            let metric = String(cell.prefix { $0 != "\"" })
            metrics[metric] = String(cell.drop { $0 != ">" }.dropFirst().prefix { $0 != "<" })
        }
        result[name] = metrics
    }
    return result
}

/// A count as printed (`1,234`).
func printedCount(_ text: String?) throws -> Int {
    let text = try #require(text, "no such cell")
    return try #require(Int(text.replacingOccurrences(of: ",", with: "")), "'\(text)' is not a count")
}

/// An amount as printed (`12,000.00`), in minor units.
func printedAmount(_ text: String?) throws -> Int64 {
    let text = try #require(text, "no such cell")
    return try AmountText.minor(text).get()
}

/// RFC 4180 rows, read independently of the writer.
func csvRows(_ text: String) -> [[String]] {
    var rows: [[String]] = [], row: [String] = [], field = ""
    var quoted = false, afterQuote = false
    for character in text {
        if quoted {
            if character == "\"" { quoted = false; afterQuote = true } else { field.append(character) }
            continue
        }
        switch character {
        case "\"":
            if afterQuote { field.append("\"") }
            quoted = true
            afterQuote = false
        case ",":
            row.append(field); field = ""; afterQuote = false
        case "\n":
            row.append(field); rows.append(row); row = []; field = ""; afterQuote = false
        default:
            field.append(character); afterQuote = false
        }
    }
    return rows
}
