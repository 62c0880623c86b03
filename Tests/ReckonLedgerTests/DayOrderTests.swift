import Foundation
import ReckonCore
import ReckonFiles
import ReckonLedger
import Testing

/// The ledger a set of business days leaves does not depend on the order they are run in
/// (issue 9, item 24): a missed day caught up, days run backwards or shuffled end where
/// running them in order ends.
///
/// Everything `ledger export` holds is compared — received files, events, entries, loans
/// (with the day each was brought to), plan lines, allocations, plan differences, alerts and
/// balances — except what says in what order things came, which legitimately differs:
/// - the run log (`ledger export --runs`, not compared): which run came when;
/// - alerts raised because a day had not been run yet, and cleared when it was: a
///   repayment run before its loan's disbursement day raises `repayment_without_plan`,
///   cleared (kept, as every alert is) on the day the loan is planned. Running in order
///   never raises them; every other alert is the same row.
@Suite("The order days are run in", .serialized)
struct DayOrderTests {
    static let day = CivilDate(year: 2024, month: 12, day: 16)!
    static let allReady = ["loans": "{stable_seconds: 0}", "repayments": "{stable_seconds: 0}",
                           "statements": "{stable_seconds: 0}", "bills": "{stable_seconds: 0}"]

    /// The sample day's history days, the day, the day after (the missing-plan alert) and a
    /// day six weeks on (unpaid first installments overdue, penalty accrued), run in `order`
    /// in a ledger of their own; its export.
    func export(running order: ([CivilDate]) -> [CivilDate]) throws -> (days: [CivilDate], export: String) {
        let folder = try DayFolder(readiness: Self.allReady, copy: false)
        let written = try SampleDay(date: Self.day, loans: 20, mappings: repositoryRoot + "/mappings").write(into: folder.root + "/inbox")
        let days = order(written.historyDays + [Self.day, Self.day.adding(days: 1)!, CivilDate(year: 2025, month: 1, day: 28)!])
        let ledger = try folder.ledger()
        var run = Set<CivilDate>()
        for day in days {
            let report = try Batch.run(BatchOptions(date: day), config: folder.config, ledger: ledger)
            let outcome: IngestResult.Outcome = run.insert(day).inserted ? .posted : .repeated
            #expect(report.ingested.allSatisfy { $0.outcome == outcome }, "\(day): \(report.ingested.map { "\($0.file) \($0.outcome)" })")
            #expect(report.errors.isEmpty, "\(day): \(report.errors)")
        }
        let verification = try ledger.verify()
        #expect(verification.ok, "\(days): \(verification.unbalancedEntries) \(verification.balanceMismatches)")
        return (days, try ledger.export())
    }

    /// The export without the alerts `repayment_without_plan` cleared since (see the suite's
    /// comment), and those alerts as `subject loan cleared_on`.
    func withoutAlertsOfOrder(_ export: String) -> (export: String, alerts: [String]) {
        var kept: [String] = [], alerts: [String] = []
        for line in export.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) {
            let fields = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            // A rule's breaks found while a day's loans were not there yet, closed once they
            // were: their alert says what came first.
            if fields.count == 5, fields[1] == "breaks_found", fields[4] != "-" { continue }
            if fields.count == 5, fields[1] == "repayment_without_plan", fields[4] != "-",
               let loan = fields[3].split(separator: " ").first(where: { $0.hasPrefix("L2024") }) {
                alerts.append("\(fields[2]) \(loan.trimmingCharacters(in: .punctuationCharacters)) \(fields[4])")
            } else {
                kept.append(line)
            }
        }
        return (kept.joined(separator: "\n"), alerts)
    }

    @Test func daysRunBackwardsOrShuffledLeaveTheLedgerDaysRunInOrderLeave() throws {
        let inOrder = try export { $0 }
        // What the comparison covers: loans of every day, overdue lines, the alert of the day after.
        #expect(inOrder.export.contains("# plan lines\nL202411060901\t1\t"))
        #expect(inOrder.export.contains("\toverdue\t"))
        #expect(inOrder.export.contains("\tmargin_release\t"))
        #expect(inOrder.export.contains("2024-12-17\tmissing_partner_plan\tL202412160020\t"))
        #expect(!inOrder.export.contains("repayment_without_plan"))

        // Backwards, every repayment of the day is run before its loan is disbursed.
        let backwards = try export { $0.reversed() }
        let (kept, alerts) = withoutAlertsOfOrder(backwards.export)
        #expect(exportDifference(inOrder.export, kept).isEmpty, "\(backwards.days)")
        // One alert per repayment of the day (the 20 loans were disbursed on the history
        // days), each cleared on the day its loan was planned.
        #expect(alerts.count == 20)
        for alert in alerts {
            let parts = alert.split(separator: " ").map(String.init)
            #expect(parts.count == 3 && parts[1].dropFirst().prefix(8) == parts[2].replacingOccurrences(of: "-", with: "").prefix(8), "\(alert)")
        }

        // Shuffled with a fixed seed: the later days first, then the rest in order.
        var random = SplitMix64(seed: 20_241_216)
        let shuffled = try export { $0.shuffled(using: &random) }
        #expect(shuffled.days.map(\.description) == ["2025-01-28", "2024-12-17", "2024-11-06", "2024-11-13", "2024-11-16", "2024-12-16"])
        #expect(exportDifference(inOrder.export, shuffled.export).isEmpty, "\(shuffled.days)")

        // Every day run twice, each time in another order: the second runs find nothing new.
        let twice = try export { $0.shuffled(using: &random) + $0.shuffled(using: &random) }
        #expect(twice.days.count == 12)
        let (keptTwice, _) = withoutAlertsOfOrder(twice.export)
        #expect(exportDifference(inOrder.export, keptTwice).isEmpty, "\(twice.days)")
    }
}

/// What differs between two exports, section by section: the first lines only one of them
/// has, in order; empty when they are the same text. (A failed comparison of whole exports
/// would print both.)
func exportDifference(_ expected: String, _ actual: String) -> String {
    guard expected != actual else { return "" }
    func sections(_ export: String) -> [(name: String, lines: [String])] {
        var sections: [(name: String, lines: [String])] = []
        for line in export.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) {
            if line.hasPrefix("# ") || sections.isEmpty { sections.append((String(line.dropFirst(2)), [])) } else { sections[sections.count - 1].lines.append(line) }
        }
        return sections
    }
    let a = sections(expected), b = Dictionary(sections(actual).map { ($0.name, $0.lines) }, uniquingKeysWith: { $0 + $1 })
    let names = Set(a.map(\.name))
    var text = sections(actual).filter { !names.contains($0.name) }.map { "section \($0.name) only in the second" }
    for (name, lines) in a {
        let other = b[name] ?? []
        guard lines != other else { continue }
        let onlyExpected = lines.filter { !other.contains($0) }, onlyActual = other.filter { !lines.contains($0) }
        text.append("\(name): only in the first\n  " + onlyExpected.prefix(5).joined(separator: "\n  ")
                    + "\n  only in the second\n  " + onlyActual.prefix(5).joined(separator: "\n  ")
                    + (onlyExpected.isEmpty && onlyActual.isEmpty ? "\n  (the same lines in another order)" : ""))
    }
    return text.isEmpty ? "the same lines, differently joined" : text.joined(separator: "\n")
}
