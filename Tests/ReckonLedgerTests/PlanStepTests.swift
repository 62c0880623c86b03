import Foundation
import ReckonCore
import ReckonFiles
import ReckonLedger
import Testing

/// The plan step of `reckon batch` on the generated sample day and its history.
@Suite("The plan step", .serialized)
struct PlanStepTests {
    let day = CivilDate(year: 2024, month: 12, day: 16)!
    static let allReady = ["loans": "{stable_seconds: 0}", "repayments": "{stable_seconds: 0}",
                           "statements": "{stable_seconds: 0}", "bills": "{stable_seconds: 0}"]

    /// A ledger that has run the sample day's history days and the day itself.
    func sampleLedger(loans: Int = 20) throws -> (DayFolder, Ledger, SampleDay.Written, BatchReport) {
        let folder = try DayFolder(readiness: Self.allReady, copy: false)
        let written = try SampleDay(date: day, loans: loans, mappings: repositoryRoot + "/mappings").write(into: folder.root + "/inbox")
        let ledger = try folder.ledger()
        for earlier in written.historyDays {
            let report = try Batch.run(BatchOptions(date: earlier), config: folder.config, ledger: ledger)
            #expect(report.succeeded, "\(earlier): \(report.errors)")
        }
        let report = try Batch.run(BatchOptions(date: day), config: folder.config, ledger: ledger)
        #expect(report.succeeded, "\(report.errors)")
        return (folder, ledger, written, report)
    }

    func view(_ ledger: Ledger, _ folder: DayFolder, _ loan: String, asOf: CivilDate? = nil) throws -> Ledger.LoanPlanView {
        try #require(try ledger.loanPlan(loan, asOf: asOf, config: folder.config, reference: try ReferenceData.load(folder.config)))
    }

    @Test func theDaysRepaymentsMeetTheirPlans() throws {
        let (folder, ledger, written, report) = try sampleLedger()
        let plans = try #require(report.plans)
        #expect(plans.planned == 20)
        #expect(plans.repaymentsApplied == written.repayments)
        #expect(plans.alerts.isEmpty, "\(plans.alerts)")
        // Every repayment of the day went to plan lines, in full.
        let repayments = try String(contentsOfFile: folder.root + "/inbox/platform/PLAT_REPAY_20241216.csv", encoding: .utf8)
            .split(separator: "\n").dropFirst().filter { !$0.hasPrefix("#") }.map { $0.split(separator: ",").map(String.init) }
        #expect(repayments.count == written.repayments)
        var kinds = Set<String>()
        for fields in repayments {
            // repay_id, loan_id, period, repay_type, paid_at, principal, interest, penalty, fee, total, …
            try #require(fields.count >= 10, "\(fields)")
            let (loan, type) = (fields[1], fields[3])
            let total = try #require(RateText.amountMinor(fields[9])), penalty = try #require(RateText.amountMinor(fields[7]))
            let loanView = try view(ledger, folder, loan)
            #expect(loanView.position.unapplied.isEmpty, "\(loan)")
            #expect(loanView.position.allocations.reduce(0) { $0 + $1.totalMinor } == total, "\(loan)")
            let first = try #require(loanView.position.lines.first)
            kinds.insert(type)
            switch type {
            case "EARLY":
                #expect(loanView.position.settledOn == day, "\(loan)")
                #expect(first.status == .paid && loanView.position.lines.dropFirst().allSatisfy { $0.status == .settled })
                #expect(loanView.position.outstandingPrincipalMinor == 0)
            case "OVERDUE":
                // Ten days late: the penalty the platform charged is the one we accrued.
                #expect(first.status == .paid && first.penaltyAccruedMinor == penalty && penalty > 0, "\(loan)")
            case "COMP":
                #expect(first.status == .compensated && first.closedOn == day, "\(loan)")
                #expect(first.compensationPoint?.date == first.line.dueDate.adding(days: 3))
            default:
                #expect(first.status == .paid && first.penaltyAccruedMinor == 0, "\(loan)")
            }
        }
        #expect(kinds == ["NORMAL", "EARLY", "OVERDUE", "COMP"])
    }

    @Test func partnerPlansAreComparedAndAMissingOneRaisesAnAlertTheDayAfter() throws {
        let (folder, ledger, _, report) = try sampleLedger()
        // The bank's plan has one deliberate cent and misses the last loan's plan. From
        // 2024-12-16 the bank-plans rule compares them (the plan step leaves it to the rule):
        // the cent is a plan mismatch, shown among the plan differences too; the missing plan
        // is pending on the day.
        #expect(report.plans?.differences == 0)
        let differences = try ledger.planDifferences()
        #expect(differences.map { "\($0.partner) \($0.loanID) \($0.period) \($0.field) \($0.ours ?? "-") \($0.theirs ?? "-")" }
                == ["bank L202412160002 3 interest 36.00 36.01"])
        #expect(try ledger.alerts().map { "\($0.kind) \($0.subject)" }
                == ["breaks_found bank-plans 2024-12-16", "breaks_found repayments-vs-bill 2024-12-16"])
        let next = try Batch.run(BatchOptions(date: day.adding(days: 1)!), config: folder.config, ledger: ledger)
        #expect(next.reconciliation?.rules.first { $0.rule == "bank-plans" }?.newBreaks == 1)
        let missing = try ledger.alerts().filter { $0.kind == "missing_partner_plan" }
        #expect(missing.map { "\($0.businessDate) \($0.subject)" } == ["2024-12-17 L202412160020"])
        // Raised once: the day after that adds nothing but its own missing files.
        func reconciliationAlerts() throws -> [String] {
            try ledger.alerts().filter { !["file_missing", "repayments_incomplete"].contains($0.kind) }.map { "\($0.kind) \($0.subject)" }
        }
        let before = try reconciliationAlerts()
        let later = try Batch.run(BatchOptions(date: day.adding(days: 2)!), config: folder.config, ledger: ledger)
        #expect(later.reconciliation?.newAlerts == 0)
        #expect(try reconciliationAlerts() == before)
    }

    @Test func overdueStatusAndPenaltyAccrueAsOfTheDay() throws {
        let (folder, ledger, _, _) = try sampleLedger(loans: 3)
        // SCHEDULES.md §A's loan, first due 2025-01-16 and unpaid: ten days later.
        let late = try Batch.run(BatchOptions(date: CivilDate(year: 2025, month: 1, day: 26)!), config: folder.config, ledger: ledger)
        #expect(late.plans?.overdueLines ?? 0 >= 1)
        let late15 = try view(ledger, folder, "L202412160001")
        #expect(late15.position.asOf == CivilDate(year: 2025, month: 1, day: 26))
        let first = try #require(late15.position.lines.first)
        #expect(first.status == .overdue && first.overdueDays == 10)
        #expect(first.penaltyAccruedMinor == 394)     // 1049.42 × 10 × 0.135/360
        // The stored lines say the same as the view.
        let export = try ledger.export()
        #expect(export.contains("L202412160001\t1\t2024-12-16\t2025-01-16\t2025-01-16\t31\t0.09\t95942\t9000\t1104058\t9000\t0\t0\t0\t0\t394\toverdue\t-\t10\t0\t0"))
        // Asked about an earlier day, the same loan is not yet late.
        let before = try view(ledger, folder, "L202412160001", asOf: CivilDate(year: 2025, month: 1, day: 10)!)
        #expect(before.position.lines.first?.status == .open && before.position.lines.first?.penaltyAccruedMinor == 0)
    }

    @Test func runningThePlanStepAgainChangesNothing() throws {
        let (folder, ledger, _, _) = try sampleLedger()
        let export = try ledger.export()
        #expect(export.contains("# plan lines") && export.contains("# allocations"))
        let again = try Batch.run(BatchOptions(date: day), config: folder.config, ledger: ledger)
        #expect(again.succeeded)
        #expect(try ledger.export() == export)
    }

    @Test func aLoanOutsideItsProductIsRefusedAtIngest() throws {
        let folder = try DayFolder(readiness: Self.allReady)
        let path = folder.root + "/inbox/platform/PLAT_LOAN_20241115.csv"
        let text = try String(contentsOfFile: path, encoding: .utf8)
            .replacingOccurrences(of: "CL03,王芳,440305********2468,15000.00,CNY,0.072000,3,IO",
                                  with: "CL03,王芳,440305********2468,60000.00,CNY,0.072000,3,IO")
            .replacingOccurrences(of: "CL06,李娜,310104********5678,20000.00,CNY,0.108000,6,EP",
                                  with: "CL06,李娜,310104********5678,20000.00,CNY,0.108000,9,EP")
            .replacingOccurrences(of: "#TOTAL,3,47000.00", with: "#TOTAL,3,92000.00")
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        let ledger = try folder.ledger()
        let report = try Batch.run(BatchOptions(date: disbursementDay), config: folder.config, ledger: ledger)
        let result = try #require(report.ingested.first { $0.file.hasSuffix("PLAT_LOAN_20241115.csv") })
        #expect(result.outcome == .rejected)
        let problems = try #require(result.report).problems.map { "\($0)" }
        #expect(problems.contains { $0.contains("line 3") && $0.contains("'term'") && $0.contains("the term of 9 months is outside product CL06's range 6–6 months") }, "\(problems)")
        #expect(problems.contains { $0.contains("line 4") && $0.contains("'principal'") && $0.contains("the principal 60,000.00 is outside product CL03's range 1,000.00–50,000.00") }, "\(problems)")
        // Nothing of the file was planned.
        #expect(report.plans?.planned == 0)
    }

    func lines(_ ledger: Ledger, _ loan: String) throws -> [String] {
        try ledger.export().split(separator: "\n").filter { $0.hasPrefix(loan + "\t") }.map(String.init)
    }

    @Test func anIngestedBaseRateFilePricesLaterContracts() throws {
        let folder = try DayFolder(readiness: Self.allReady)
        // The core system publishes a 1-year LPR of 3.00% on 2024-11-01 (effective 11-02).
        let path = folder.root + "/inbox/core/CORE_RATE_20241215.txt"
        let text = try String(contentsOfFile: path, encoding: .utf8)
            .replacingOccurrences(of: "DLPR   1Y 00000310002024102120241022", with: "DLPR   1Y 00000300002024110120241102")
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        let ledger = try folder.ledger()
        _ = try Batch.run(BatchOptions(date: sampleDay), config: folder.config, ledger: ledger)
        let report = try Batch.run(BatchOptions(date: disbursementDay), config: folder.config, ledger: ledger)
        #expect(report.plans?.planned == 3)
        // CL12 and CL06 price off the LPR (+590 and +770 bp); CL03 has a fixed 7.2%.
        let differences = try ledger.planDifferences(date: disbursementDay)
        #expect(differences.filter { $0.field == "annual_rate" }.map { "\($0.loanID) \($0.ours ?? "-") \($0.theirs ?? "-")" } == [
            "L202411150001 8.90% 9.00%", "L202411150002 10.70% 10.80%",
        ])
        // And the bank's plan, made at the stated rates, differs from ours period by period.
        #expect(differences.contains { $0.loanID == "L202411150001" && $0.period == 1 && $0.field == "interest"
            && $0.ours == "89.00" && $0.theirs == "90.00" })
        #expect(!differences.contains { $0.loanID == "L202411150003" })
        let view = try view(ledger, folder, "L202411150001")
        #expect(view.plan.annualRate == Decimal(string: "0.089"))
        #expect(view.plan.lines.first?.interestMinor == 8900)       // 12000 × 8.9% / 12
    }

    @Test func aCorrectedDisbursementFileIsPlannedAgain() throws {
        let folder = try DayFolder(readiness: Self.allReady)
        let ledger = try folder.ledger()
        _ = try Batch.run(BatchOptions(date: disbursementDay), config: folder.config, ledger: ledger)
        #expect(try view(ledger, folder, "L202411150001").plan.principalMinor == 1_200_000)
        let path = folder.root + "/inbox/platform/PLAT_LOAN_20241115.csv"
        // The re-send corrects loan 1's principal and no longer has loan 3.
        let corrected = try String(contentsOfFile: path, encoding: .utf8)
            .replacingOccurrences(of: "CL12,张伟,110101********1234,12000.00", with: "CL12,张伟,110101********1234,13000.00")
            .split(separator: "\n").filter { !$0.hasPrefix("L202411150003,") }.joined(separator: "\n")
            .replacingOccurrences(of: "#TOTAL,3,47000.00", with: "#TOTAL,2,33000.00") + "\n"
        try corrected.write(toFile: path, atomically: true, encoding: .utf8)
        let again = try Batch.run(BatchOptions(date: disbursementDay), config: folder.config, ledger: ledger)
        #expect(again.ingested.first?.superseded != nil)
        // Every loan of the re-send is planned from its new record (loan 2's plan is the same).
        #expect(again.plans?.planned == 2)
        let replanned = try view(ledger, folder, "L202411150001")
        #expect(replanned.plan.principalMinor == 1_300_000)
        #expect(try lines(ledger, "L202411150001").count == 1 + 12)   // one loan row, twelve plan lines
        #expect(try ledger.loanPlan("L202411150003", asOf: nil, config: folder.config, reference: ReferenceData.load(folder.config)) == nil)
        #expect(try lines(ledger, "L202411150003").isEmpty)
        #expect(try ledger.alerts().map { "\($0.kind) \($0.subject)" } == ["plan_withdrawn L202411150003"])
    }

    @Test func aCorrectedRepaymentFileTakesBackWhatTheOldOnePaid() throws {
        let folder = try DayFolder(readiness: Self.allReady)
        let ledger = try folder.ledger()
        _ = try Batch.run(BatchOptions(date: disbursementDay), config: folder.config, ledger: ledger)
        _ = try Batch.run(BatchOptions(date: sampleDay), config: folder.config, ledger: ledger)
        #expect(try view(ledger, folder, "L202411150003").position.lines.first?.status == .paid)
        // The platform re-sends the day without loan 3's payment.
        let path = folder.root + "/inbox/platform/PLAT_REPAY_20241215.csv"
        let corrected = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
            .filter { !$0.hasPrefix("R202412150003,") }.joined(separator: "\n")
            .replacingOccurrences(of: "#TOTAL,5,9753.71", with: "#TOTAL,4,9663.71") + "\n"
        try corrected.write(toFile: path, atomically: true, encoding: .utf8)
        let again = try Batch.run(BatchOptions(date: sampleDay), config: folder.config, ledger: ledger)
        #expect(again.ingested.contains { $0.superseded != nil })
        let view = try view(ledger, folder, "L202411150003")
        #expect(view.position.lines.first?.status == .due && view.position.allocations.isEmpty)
        #expect(try lines(ledger, "L202411150003").contains { $0.contains("\t1\t") && $0.contains("\tdue\t-\t0\t") })
    }

    @Test func aProductFeeIsPlannedChargedAndCompared() throws {
        // CL12 charges 0.3% of the principal a period (36.00 on 12,000.00); the bank's plan has no fees.
        let folder = try DayFolder(readiness: Self.allReady) { yaml in
            yaml.replacingOccurrences(of: "    rate: {base: 1y, spread_bp: 590}\n",
                                      with: "    rate: {base: 1y, spread_bp: 590}\n    fee: {monthly_rate: \"0.3%\"}\n")
        }
        let ledger = try folder.ledger()
        _ = try Batch.run(BatchOptions(date: disbursementDay), config: folder.config, ledger: ledger)
        let plan = try view(ledger, folder, "L202411150001").plan
        #expect(plan.lines.allSatisfy { $0.feeMinor == 3600 } && plan.feeMinor == 43200)
        #expect(try #require(plan.lines.first).totalMinor == 104_942 + 3600)
        let fees = try ledger.planDifferences().filter { $0.field == "fee" }
        #expect(fees.count == 12 && fees.allSatisfy { $0.loanID == "L202411150001" && $0.ours == "36.00" && $0.theirs == "0.00" })
        // The platform's first payment (the installment without the fee) pays the fee before
        // interest and principal, and leaves 36.00 of principal due.
        _ = try Batch.run(BatchOptions(date: sampleDay), config: folder.config, ledger: ledger)
        let repaid = try view(ledger, folder, "L202411150001"), position = repaid.position
        #expect(repaid.payments.count == 1)
        let payment = try #require(repaid.payments.first).id
        #expect(position.allocations == [PaymentAllocation(paymentID: payment, period: 1, penaltyMinor: 0,
                                                           feeMinor: 3600, interestMinor: 9000, principalMinor: 95942 - 3600)])
        #expect(position.lines.first?.status == .due && position.lines.first?.unpaidMinor == 3600)
    }
}
