import ArgumentParser
import Foundation
import ReckonCore
import ReckonFiles
import ReckonLedger

struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "The daily reconciliation report: per partner and rule, matched, pending, broken, open breaks by age and kind, alerts.",
        discussion: """
            Reads the ledger (read-only: it never waits for a batch) and prints, per partner and \
            rule, what the rule's run of the day counted — matched, pending and broken, with \
            their amounts and the match rate, matched ÷ (matched + pending + broken) — the \
            breaks open from any day up to the day by age in working days of the rule's \
            calendar (0–1, 2–3, 4–7, 8–30, over 30) and by kind, and the day's alerts by \
            severity. The same report is written to <outbox>/reports/D.html, a page with charts \
            (breaks by kind and age, each rule's match rate over the last 30 days) that needs \
            nothing but a browser, and to <outbox>/reports/D.csv, one figure per row (README, \
            "The daily report"). Both are written whole or not at all, and the same ledger \
            gives the same bytes.

            Exit status: 0 reported; 1 the ledger cannot be read or a report file cannot be \
            written; 2 the configuration cannot be used; 3 reported, but a rule that applies on \
            the day has not reconciled it (run reckon reconcile --date D).
            """
    )

    @Option(help: "The business date, 2024-12-15 or 20241215.")
    var date: BusinessDate

    @Flag(help: "Print one JSON object: business_date, currency, reconciled_at, latest_reconciled_day, rules (each: partner, partner_name, rule, configured, standing, run (left_items, right_items, matched, matched_minor, pending, pending_minor, broken, broken_minor, match_rate_permille, ran_at) or null, open_breaks, open_breaks_minor, open_by_age (bucket, count, amount_minor), open_by_kind (kind, count, amount_minor), match_rate_history (business_date, matched, considered, match_rate_permille)), open_breaks, open_breaks_minor, alerts (severity, count, uncleared), alert_codes (severity, code, count, uncleared), not_reconciled, html, csv.")
    var json = false

    @OptionGroup var options: ConfigOptions

    func run() throws {
        let config = try options.load()
        let ledger = try options.readingLedger(config)
        let report: DailyReport
        do {
            let reference = try ReferenceData.load(config)
            report = try ledger.dailyReport(date: date.date, currency: config.currency, rules: config.reconciliation.rules,
                                            partners: config.partners, calendar: reference.calendar,
                                            defaultCalendar: BreakAge.defaultCalendar(calendarPath: config.calendarPath))
        } catch {
            printError("reckon: \(error)")
            throw ExitCode.failure
        }
        let folder = (config.outboxFolder as NSString).appendingPathComponent("reports")
        let html = (folder as NSString).appendingPathComponent("\(date.date).html")
        let csv = (folder as NSString).appendingPathComponent("\(date.date).csv")
        var failure: String?
        do {
            try write(ReportHTML.page(report), to: html)
            try write(ReportCSV.text(report), to: csv)
        } catch {
            failure = "\(error)"
        }
        if json {
            print(DailyReportText.json(report, html: failure == nil ? html : nil, csv: failure == nil ? csv : nil))
        } else {
            DailyReportText.show(report)
            if failure == nil { for line in wrapped("written: \(html), \(csv)") { print(line) } }
        }
        if let failure {
            printError("reckon: \(failure)")
            throw ExitCode.failure
        }
        let missing = report.notReconciled
        if !missing.isEmpty {
            printError("reckon: \(date.date) is not reconciled by \(missing.map(\.name).joined(separator: ", ")): reckon reconcile --date \(date.date)")
            throw ExitCode(3)
        }
    }

    private func write(_ text: String, to path: String) throws {
        do {
            let file = try AtomicFile(path: path)
            try file.write(text)
            try file.commit()
        } catch {
            throw FileWriteError(path: path, what: "the daily report", error: error)
        }
    }
}

/// The daily report on the terminal and as JSON.
enum DailyReportText {
    static func show(_ report: DailyReport) {
        var title = "reconciliation report of \(report.date), amounts in \(report.currency)"
        if let at = report.reconciledAt { title += "; reconciled \(TimeText.local(at))" }
        print(title)
        showRules(report)
        print("")
        showAges(report)
        print("")
        showKinds(report)
        print("")
        showAlerts(report)
    }

    /// A table of the rules partner by partner, each partner's rules indented under a line
    /// naming it (outside the columns, so a long name does not widen them); `footer` rows
    /// after the rules.
    private static func printGrouped(_ report: DailyReport, _ table: TextTable, footer: [[String]] = [],
                                     _ cells: (RuleReport) -> [String]) {
        let lines = table.render(report.rules.map { ["  " + DisplayText.escaped($0.name)] + cells($0) } + footer)
        print(lines[0])
        var partner: String?
        for (index, rule) in report.rules.enumerated() {
            if rule.partner != partner {
                partner = rule.partner
                print(DisplayText.escaped(rule.partner) + (rule.partnerName.map { ": " + DisplayText.escaped($0) } ?? ""))
            }
            print(lines[index + 1])
        }
        for line in lines.dropFirst(report.rules.count + 1) { print(line) }
    }

    private static func showRules(_ report: DailyReport) {
        let table = TextTable([("rule", false), ("matched", true), ("amount", true), ("pending", true), ("amount", true),
                               ("broken", true), ("amount", true), ("match rate", true)])
        printGrouped(report, table) { rule in
            guard let run = rule.run else { return Array(repeating: "–", count: 7) }
            return [AmountText.grouped(run.matched.count), AmountText.printed(units: run.matched.amountMinor),
                    AmountText.grouped(run.pending.count), AmountText.printed(units: run.pending.amountMinor),
                    AmountText.grouped(run.broken.count), AmountText.printed(units: run.broken.amountMinor), run.matchRate.text]
        }
        // The rules without a run of the day, by why.
        var standings: [String: [String]] = [:], order: [String] = []
        for rule in report.rules {
            guard let standing = rule.standing else { continue }
            if standings[standing] == nil { order.append(standing) }
            standings[standing, default: []].append(DisplayText.escaped(rule.name))
        }
        for standing in order {
            for line in wrapped("\(standing): \(standings[standing]!.joined(separator: ", "))") { print(line) }
        }
    }

    private static func showAges(_ report: DailyReport) {
        if let standing = report.breaksStanding { print(standing) }
        print("open breaks by age (working days of each rule's calendar up to \(report.date))")
        let table = TextTable([("rule", false)] + AgeBucket.allCases.map { ($0.label, true) } + [("open", true), ("amount", true)])
        func cells(_ ages: [Tally], _ open: Tally) -> [String] {
            ages.map { AmountText.grouped($0.count) } + [AmountText.grouped(open.count), AmountText.printed(units: open.amountMinor)]
        }
        printGrouped(report, table, footer: [["all rules"] + cells(report.openByAge, report.openBreaks)]) { cells($0.openByAge, $0.openBreaks) }
    }

    private static func showKinds(_ report: DailyReport) {
        guard report.openBreaks.count > 0 else {
            print("no open breaks")
            return
        }
        print("open breaks by kind")
        let table = TextTable([("partner", false), ("rule", false), ("kind", false), ("breaks", true), ("amount", true)])
        var rows: [[String]] = []
        for rule in report.rules {
            for kind in rule.openByKind {
                rows.append([DisplayText.escaped(rule.partner), DisplayText.escaped(rule.name), DisplayText.escaped(kind.label),
                             AmountText.grouped(kind.tally.count), AmountText.printed(units: kind.tally.amountMinor)])
            }
        }
        for line in table.render(rows) { print(line) }
        print("breaks: reckon breaks list --date \(report.date)")
    }

    /// `alerts of 2024-12-17: 0 critical, 11 warning, 0 info`, then the codes.
    private static func showAlerts(_ report: DailyReport) {
        let severities = report.alertsBySeverity
        print("alerts of \(report.date): " + severities.map { "\(AmountText.grouped($0.count)) \(DisplayText.escaped($0.severity))" }
            .joined(separator: ", "))
        guard !report.alerts.isEmpty else { return }
        let table = TextTable([("severity", false), ("code", false), ("alerts", true), ("not cleared", true)])
        let rows = report.alerts.map {
            [DisplayText.escaped($0.severity), DisplayText.escaped($0.code), AmountText.grouped($0.count), AmountText.grouped($0.uncleared)]
        }
        for line in table.render(rows, indent: "  ") { print(line) }
        print("alerts: reckon alerts list --date \(report.date)")
    }

    static func json(_ report: DailyReport, html: String?, csv: String?) -> String {
        typealias J = JSONShape
        return J.object([
            ("business_date", J.string(report.date.description)),
            ("currency", J.string(report.currency)),
            ("reconciled_at", J.string(report.reconciledAt)),
            ("latest_reconciled_day", J.string(report.latestReconciledDay?.description)),
            ("rules", J.array(report.rules.map(rule))),
            ("open_breaks", J.number(report.openBreaks.count)),
            ("open_breaks_minor", J.number(report.openBreaks.amountMinor)),
            ("alerts", J.array(report.alertsBySeverity.map { severity, count, uncleared in
                J.object([("severity", J.string(severity)), ("count", J.number(count)), ("uncleared", J.number(uncleared))])
            })),
            ("alert_codes", J.array(report.alerts.map {
                J.object([("severity", J.string($0.severity)), ("code", J.string($0.code)), ("count", J.number($0.count)),
                          ("uncleared", J.number($0.uncleared))])
            })),
            ("not_reconciled", J.strings(report.notReconciled.map(\.name))),
            ("html", J.string(html)),
            ("csv", J.string(csv)),
        ])
    }

    private static func rule(_ rule: RuleReport) -> String {
        typealias J = JSONShape
        func tally(_ members: [(String, String)], _ tally: Tally) -> String {
            J.object(members + [("count", J.number(tally.count)), ("amount_minor", J.number(tally.amountMinor))])
        }
        let run = rule.run.map { run in
            J.object([
                ("left_items", J.number(run.leftItems)), ("right_items", J.number(run.rightItems)),
                ("matched", J.number(run.matched.count)), ("matched_minor", J.number(run.matched.amountMinor)),
                ("pending", J.number(run.pending.count)), ("pending_minor", J.number(run.pending.amountMinor)),
                ("broken", J.number(run.broken.count)), ("broken_minor", J.number(run.broken.amountMinor)),
                ("match_rate_permille", J.number(run.matchRate.permille)), ("ran_at", J.string(run.ranAt)),
            ])
        } ?? "null"
        return J.object([
            ("partner", J.string(rule.partner)), ("partner_name", J.string(rule.partnerName)), ("rule", J.string(rule.name)), ("configured", J.bool(rule.configured)),
            ("standing", J.string(rule.standing)), ("run", run),
            ("open_breaks", J.number(rule.openBreaks.count)), ("open_breaks_minor", J.number(rule.openBreaks.amountMinor)),
            ("open_by_age", J.array(AgeBucket.allCases.map { tally([("bucket", J.string($0.key))], rule.openByAge[$0.rawValue]) })),
            ("open_by_kind", J.array(rule.openByKind.map { tally([("kind", J.string($0.kind))], $0.tally) })),
            ("match_rate_history", J.array(rule.history.map { day in
                J.object([("business_date", J.string(day.date.description)), ("matched", J.number(day.rate.matched)),
                          ("considered", J.number(day.rate.considered)), ("match_rate_permille", J.number(day.rate.permille))])
            })),
        ])
    }
}
