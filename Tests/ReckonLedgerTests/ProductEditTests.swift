import Foundation
import ReckonCore
import ReckonFiles
import ReckonLedger
import Testing

/// Editing a product in reckon.yaml never rewrites a stored plan (issue 9, item 24): a loan
/// keeps the contract it was planned with, whatever the product says later; a loan
/// disbursed after the edit takes the new settings.
@Suite("Editing a product", .serialized)
struct ProductEditTests {
    static let day = CivilDate(year: 2024, month: 12, day: 16)!
    static let newLoansDay = CivilDate(year: 2025, month: 1, day: 20)!
    /// The days run after the edit: the day again, the day after, a day with new loans, and
    /// a day when the sample day's unpaid first installments are twelve days overdue.
    static let laterDays = [day, day.adding(days: 1)!, newLoansDay, CivilDate(year: 2025, month: 1, day: 28)!]
    static let allReady = ["loans": "{stable_seconds: 0}", "repayments": "{stable_seconds: 0}",
                           "statements": "{stable_seconds: 0}", "bills": "{stable_seconds: 0}"]

    /// Every plan setting of every shipped product changed: rates (fixed and floating),
    /// a fee, the day count, the rounding, the penalty and the guarantor's days.
    static func edit(_ yaml: String) -> String {
        let edits = [
            // CL12: a fixed 12% instead of LPR + 590 bp, a 0.3% monthly fee, a higher penalty on the principal.
            ("    rate: {base: 1y, spread_bp: 590}\n", "    rate: \"12%\"\n    fee: {monthly_rate: \"0.3%\"}\n"),
            ("    penalty: {factor: \"1.5\", base: overdue-installment}\n", "    penalty: {factor: \"2\", base: overdue-principal}\n"),
            // CL06: LPR + 890 bp by actual days over 365.
            ("    rate: {base: 1y, spread_bp: 770}\n", "    rate: {base: 1y, spread_bp: 890}\n    day_count: actual/365\n"),
            // CL03: 9% instead of 7.2%, rounded half-even.
            ("    rate: \"7.2%\"\n", "    rate: \"9%\"\n    rounding: half-even\n"),
            // The guarantor pays five days after a due date instead of three.
            ("    compensation: {days: 3, at: \"17:30\"}\n", "    compensation: {days: 5, at: \"17:30\"}\n"),
        ]
        var edited = yaml
        for (old, new) in edits {
            precondition(edited.contains(old), "reckon.yaml no longer has \(old)")
            edited = edited.replacingOccurrences(of: old, with: new)
        }
        return edited
    }

    /// The sample day's history days and the day run with the shipped products; then, with
    /// the products edited (or not), the later days, one of them bringing new loans. The
    /// export before the edit, the export at the end, and the folder.
    func run(editing: Bool) throws -> (before: String, after: String, folder: DayFolder, config: ReckonConfig, ledger: Ledger) {
        let folder = try DayFolder(readiness: Self.allReady, copy: false)
        let written = try SampleDay(date: Self.day, loans: 20, mappings: repositoryRoot + "/mappings").write(into: folder.root + "/inbox")
        let ledger = try folder.ledger()
        for day in written.historyDays + [Self.day] {
            #expect(try Batch.run(BatchOptions(date: day), config: folder.config, ledger: ledger).succeeded)
        }
        let before = try ledger.export()
        // The new loans of a later day: the generator's first three, one per product.
        let scratch = NSTemporaryDirectory() + "reckon-new-loans-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        _ = try SampleDay(date: Self.newLoansDay, loans: 3, mappings: repositoryRoot + "/mappings").write(into: scratch)
        try FileManager.default.copyItem(atPath: scratch + "/platform/PLAT_LOAN_20250120.csv",
                                        toPath: folder.root + "/inbox/platform/PLAT_LOAN_20250120.csv")
        var config = folder.config
        if editing {
            let path = folder.root + "/reckon.yaml"
            try Self.edit(try String(contentsOfFile: path, encoding: .utf8)).write(toFile: path, atomically: true, encoding: .utf8)
            config = try ConfigFile.load(path)
        }
        for day in Self.laterDays {
            let report = try Batch.run(BatchOptions(date: day), config: config, ledger: ledger)
            #expect(report.errors.isEmpty && report.ingested.allSatisfy { $0.outcome != .rejected }, "\(day): \(report.errors)")
        }
        return (before, try ledger.export(), folder, config, ledger)
    }

    /// The export's lines of a section.
    func section(_ name: String, of export: String) -> [String] {
        guard let start = export.range(of: "# \(name)\n") else { return [] }
        return export[start.upperBound...].split(separator: "\n").prefix { !$0.hasPrefix("# ") }.map(String.init)
    }

    @Test func storedPlansKeepTheirContractWhateverTheProductSaysLater() throws {
        let edited = try run(editing: true)
        let unedited = try run(editing: false)
        let old = { (line: String) in line.hasPrefix("L2024") }
        // The day's loans, planned before the edit: contracts and plan lines byte for byte as
        // they were planned (the loan rows' states move on with the days, not their terms).
        let loansBefore = section("loans", of: edited.before).filter(old)
        #expect(loansBefore.count == 40)   // 20 of the history days, 20 of the day
        let contract = { (line: String) in line.split(separator: "\t").prefix(8).joined(separator: "\t") }
        #expect(section("loans", of: edited.after).filter(old).map(contract) == loansBefore.map(contract))
        // A plan line's terms: period, dates, days, rate, principal, interest, balance and fee.
        let terms = { (line: String) throws -> String in
            let fields = line.split(separator: "\t", omittingEmptySubsequences: false)
            return (fields.prefix(10) + [try fields.element(at: 19)]).joined(separator: "\t")
        }
        let linesBefore = section("plan lines", of: edited.before).filter(old)
        #expect(linesBefore.count == 297)
        #expect(try section("plan lines", of: edited.after).filter(old).map(terms) == linesBefore.map(terms))
        // And everything about them — states, penalty at the old factor, allocations,
        // differences, alerts, entries, balances — is what the same days leave without the edit.
        let withoutNewLoans = { (export: String) in
            export.split(separator: "\n").filter { !$0.contains("L20250120") }.joined(separator: "\n")
        }
        #expect(exportDifference(withoutNewLoans(unedited.after), withoutNewLoans(edited.after)).isEmpty)
        // Twelve days late, the penalty is the contract's: 1,049.42 × 12 × 9% × 1.5 / 360 = 4.72
        // (the edited product would charge 959.42 × 12 × 12% × 2 / 360 = 7.68).
        #expect(edited.after.contains("L202412160001\t1\t2024-12-16\t2025-01-16\t2025-01-16\t31\t0.09\t95942\t9000\t1104058\t9000\t0\t0\t0\t0\t472\toverdue\t-\t12\t0\t0"))
    }

    @Test func aLoanDisbursedAfterTheEditTakesTheNewSettings() throws {
        let edited = try run(editing: true)
        let reference = try ReferenceData.load(edited.config)
        func plan(_ loan: String) throws -> Ledger.LoanPlanView {
            try #require(try edited.ledger.loanPlan(loan, asOf: nil, config: edited.config, reference: reference))
        }
        // CL12: 12,000.00 at a fixed 12% over 12 months: 1,066.19 a month, 120.00 of interest
        // first, and a fee of 36.00 (0.3%) each period; the penalty is twice the rate, on the principal.
        let cl12 = try plan("L202501200001")
        #expect(cl12.contract.annualRate == "0.12" && cl12.contract.baseTenor == nil)
        #expect(cl12.contract.feePerPeriodMinor == 3600)
        #expect(cl12.contract.penaltyFactor == "2" && cl12.contract.penaltyBase == "overdue-principal")
        #expect(cl12.contract.compensationDays == 5)
        let first12 = try #require(cl12.plan.lines.first)
        #expect(cl12.plan.installmentMinor == 106_619)
        #expect(first12.interestMinor == 12000 && first12.principalMinor == 106_619 - 12000 && first12.feeMinor == 3600)
        #expect(cl12.plan.lines.allSatisfy { $0.feeMinor == 3600 } && cl12.plan.lines.count == 12)
        // CL06: 6,000.00 at LPR 3.10% + 890 bp = 12% by actual days over 365: 31 days to
        // 2025-02-20 earn 6,000.00 × 12% × 31/365 = 61.15.
        let cl06 = try plan("L202501200002")
        #expect(cl06.contract.spreadBasisPoints == "890" && cl06.contract.dayCount == "actual/365")
        #expect(cl06.plan.annualRate == Decimal(string: "0.12"))
        let first06 = try #require(cl06.plan.lines.first)
        #expect(first06.days == 31 && first06.interestMinor == 6115 && first06.principalMinor == 100_000)
        // CL03: 10,000.00 at 9%, interest first: 75.00 a month, rounded half-even.
        let cl03 = try plan("L202501200003")
        #expect(cl03.contract.annualRate == "0.09" && cl03.contract.rounding == "half-even")
        #expect(cl03.plan.lines.map(\.interestMinor) == [7500, 7500, 7500])

        // Without the edit, the same loans take the shipped settings (9%, no fee; 10.8%; 7.2%).
        let unedited = try run(editing: false)
        let shipped = try #require(try unedited.ledger.loanPlan("L202501200001", asOf: nil, config: unedited.config,
                                                                reference: try ReferenceData.load(unedited.config)))
        #expect(shipped.plan.lines.first?.interestMinor == 9000 && shipped.contract.feePerPeriodMinor == nil)
    }
}
