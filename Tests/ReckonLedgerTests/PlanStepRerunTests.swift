import Foundation
import GRDB
import ReckonCore
import ReckonFiles
@testable import ReckonLedger
import Testing

/// A re-run of the plan step skips the loans whose inputs have not changed (issue 9, item
/// 19), and gives exactly what recomputing every loan gives: after each change below, the
/// ledger is compared with the same step run again with every fingerprint forgotten.
@Suite("Re-running the plan step", .serialized)
struct PlanStepRerunTests {
    let day = CivilDate(year: 2024, month: 12, day: 16)!
    static let allReady = ["loans": "{stable_seconds: 0}", "repayments": "{stable_seconds: 0}",
                           "statements": "{stable_seconds: 0}", "bills": "{stable_seconds: 0}"]

    /// The generated sample day (20 loans) after its history days and the day itself.
    func sampleLedger() throws -> (DayFolder, Ledger, BatchReport) {
        let folder = try DayFolder(readiness: Self.allReady, copy: false)
        let written = try SampleDay(date: day, loans: 20, mappings: repositoryRoot + "/mappings").write(into: folder.root + "/inbox")
        let ledger = try folder.ledger()
        for earlier in written.historyDays {
            _ = try Batch.run(BatchOptions(date: earlier), config: folder.config, ledger: ledger)
        }
        let report = try Batch.run(BatchOptions(date: day), config: folder.config, ledger: ledger)
        #expect(report.succeeded, "\(report.errors)")
        return (folder, ledger, report)
    }

    /// Runs the plan step of `date` again with every loan's fingerprint forgotten (so every
    /// loan it touches is recomputed) and expects the ledger it leaves to be the one it found.
    func expectAFullRecomputeChangesNothing(_ ledger: Ledger, _ folder: DayFolder, _ date: CivilDate,
                                            sourceLocation: SourceLocation = #_sourceLocation) throws {
        let skipped = try ledger.export()
        try ledger.write { try $0.execute(sql: "UPDATE loan SET inputs_sha256 = NULL") }
        let full = try ledger.runPlanStep(date: date, config: folder.config, reference: try ReferenceData.load(folder.config))
        #expect(full.loansRecomputed > 0, sourceLocation: sourceLocation)
        #expect(try ledger.export() == skipped, "skipping unchanged loans left another ledger than recomputing them", sourceLocation: sourceLocation)
    }

    @Test func aRerunOfAnUnchangedDayRecomputesNothing() throws {
        let (folder, ledger, first) = try sampleLedger()
        // The day's 20 repayments, one per loan.
        let plans = try #require(first.plans)
        #expect(plans.loansRecomputed == 20 && plans.loansUnchanged == 0, "\(plans.summary)")
        let export = try ledger.export()
        let again = try #require(try Batch.run(BatchOptions(date: day), config: folder.config, ledger: ledger).plans)
        #expect(again.summary == "0 planned, 20 repayments applied, 20 loans brought to the day (0 recomputed, 20 unchanged), "
                + "0 overdue lines, 0 plan differences, 0 alerts")
        #expect(try ledger.export() == export)
        try expectAFullRecomputeChangesNothing(ledger, folder, day)
    }

    @Test func aCorrectedReSendOfAnEarlierDayIsTakenIntoAccount() throws {
        let (folder, ledger, _) = try sampleLedger()
        let next = day.adding(days: 1)!
        _ = try Batch.run(BatchOptions(date: next), config: folder.config, ledger: ledger)
        let loan = "L202411160905"
        let before = try #require(try ledger.loanPlan(loan, asOf: nil, config: folder.config, reference: try ReferenceData.load(folder.config)))
        #expect(before.position.lines.first?.status == .paid)

        // The platform re-sends the day's repayments: loan L202411160905 paid 100.00 less.
        let path = folder.root + "/inbox/platform/PLAT_REPAY_20241216.csv"
        var lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let index = try #require(lines.firstIndex { $0.contains(",\(loan),1,NORMAL,") })
        lines[index] = lines[index].replacingOccurrences(of: ",1159.30,108.75,0.00,0.00,1268.05,", with: ",1059.30,108.75,0.00,0.00,1168.05,")
        let trailer = try #require(lines.firstIndex { $0.hasPrefix("#TOTAL,") })
        var fields = lines[trailer].split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        let total = try #require(RateText.amountMinor(try fields.element(at: 2)))
        fields[2] = PlanText.money(total - 10_000).replacingOccurrences(of: ",", with: "")
        lines[trailer] = fields.joined(separator: ",")
        try lines.joined(separator: "\n").write(toFile: path, atomically: true, encoding: .utf8)

        let corrected = try Batch.run(BatchOptions(date: day), config: folder.config, ledger: ledger)
        #expect(corrected.ingested.contains { $0.superseded != nil }, "\(corrected.ingested.map(\.outcome))")
        let plans = try #require(corrected.plans)
        // Every repayment of either file is visited (the retired ones first): each loan's
        // repayments are new events, so each is recomputed once and then found unchanged.
        #expect(plans.loansRecomputed == 20 && plans.loansUnchanged == 20, "\(plans.summary)")
        // The ledger has run the day after already: the loan, short of its first
        // installment, is brought to that day at once, overdue, as running the corrected
        // day and then the day after would leave it.
        let after = try #require(try ledger.loanPlan(loan, asOf: nil, config: folder.config, reference: try ReferenceData.load(folder.config)))
        let first = try #require(after.position.lines.first)
        #expect(after.position.asOf == next)
        #expect(first.status == .overdue && first.overdueDays == 1 && first.paidPrincipalMinor == 105_930)
        // As of the day itself, it was due.
        let onTheDay = try #require(try ledger.loanPlan(loan, asOf: day, config: folder.config, reference: try ReferenceData.load(folder.config)))
        #expect(onTheDay.position.lines.first?.status == .due)
        try expectAFullRecomputeChangesNothing(ledger, folder, day)

        // The day after, again: nothing left to recompute, the loan is still overdue.
        let nextAgain = try #require(try Batch.run(BatchOptions(date: next), config: folder.config, ledger: ledger).plans)
        #expect(nextAgain.loansRecomputed == 0, "\(nextAgain.summary)")
        let late = try #require(try ledger.loanPlan(loan, asOf: nil, config: folder.config, reference: try ReferenceData.load(folder.config)))
        #expect(late.position.lines.first?.status == .overdue && late.position.lines.first?.overdueDays == 1)
        // The day's step again, once the loans were brought to the next day.
        try expectAFullRecomputeChangesNothing(ledger, folder, day)
    }

    @Test func aBaseRateFileCorrectedLaterIsTakenIntoAccount() throws {
        let (folder, ledger, _) = try sampleLedger()
        // The core system corrects the day's base-rate file: a 1-year LPR of 3.00% from 2024-11-02.
        let path = folder.root + "/inbox/core/CORE_RATE_20241216.txt"
        let text = try String(contentsOfFile: path, encoding: .utf8)
            .replacingOccurrences(of: "DLPR   1Y 00000310002024102120241022", with: "DLPR   1Y 00000300002024110120241102")
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        let run = try Batch.run(BatchOptions(date: day), config: folder.config, ledger: ledger)
        #expect(run.ingested.contains { $0.fileType == "base_rates" && $0.superseded != nil }, "\(run.ingested.map { "\($0.file) \($0.outcome)" })")
        let again = try #require(run.plans)
        #expect(again.loansRecomputed == 20 && again.loansUnchanged == 0, "\(again.summary)")
        try expectAFullRecomputeChangesNothing(ledger, folder, day)
    }

    @Test func theReferenceFingerprintFollowsTheCalendarAndTheBaseRates() {
        let holiday = CivilDate(year: 2025, month: 1, day: 1)!, makeUp = CivilDate(year: 2025, month: 1, day: 26)!
        func reference(off: [CivilDate], work: [CivilDate], rates: [BaseRateTable.Fixing]) -> ReferenceData {
            ReferenceData(calendar: BusinessCalendar(name: "CN", years: [2025], offDays: off, workDays: work), baseRates: BaseRateTable(rates))
        }
        let lpr = BaseRateTable.Fixing(tenor: "1Y", publishedOn: CivilDate(year: 2024, month: 10, day: 21)!, percent: Decimal(string: "3.1")!)
        let base = PlanStep.fingerprint(of: reference(off: [holiday], work: [makeUp], rates: [lpr]))
        #expect(PlanStep.fingerprint(of: reference(off: [holiday], work: [makeUp], rates: [lpr])) == base)
        let changed = [
            reference(off: [], work: [makeUp], rates: [lpr]),
            reference(off: [holiday], work: [], rates: [lpr]),
            reference(off: [holiday], work: [makeUp], rates: []),
            reference(off: [holiday], work: [makeUp], rates: [.init(tenor: "1Y", publishedOn: lpr.publishedOn, percent: Decimal(string: "3.0")!)]),
            ReferenceData(calendar: BusinessCalendar(name: "CN", years: [2025, 2026], offDays: [holiday], workDays: [makeUp]), baseRates: BaseRateTable([lpr])),
            ReferenceData(calendar: nil, baseRates: BaseRateTable([lpr])),
        ].map(PlanStep.fingerprint(of:))
        #expect(Set(changed + [base]).count == changed.count + 1)
    }
}
