import Foundation
import PropertyBased
import ReckonCore
import Testing

func day(_ text: String) -> CivilDate { CivilDate(iso: text)! }
func rate(_ text: String) -> Decimal { RateText.annualRate(text)! }

/// SCHEDULES.md §A: 12,000.00 at 9.00%, 12 months, disbursed 2024-11-15.
func vectorA(_ method: RepaymentMethod) -> PlanTerms {
    PlanTerms(principalMinor: 1_200_000, annualRate: rate("9%"), method: method, term: 12, startDate: day("2024-11-15"))
}

/// The shipped calendar and base-rate history, read from the repository.
enum ShippedData {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static func calendar() throws -> BusinessCalendar {
        let path = root.appendingPathComponent("data/calendar-cn.yaml").path
        return try BusinessCalendar.load(yaml: String(contentsOfFile: path, encoding: .utf8), origin: path)
    }

    /// §G's table, parsed plainly here (the ledger reads it through its spec).
    static func lpr() throws -> BaseRateTable {
        let text = try String(contentsOfFile: root.appendingPathComponent("data/lpr-history.csv").path, encoding: .utf8)
        var table = BaseRateTable()
        for line in text.split(separator: "\n").dropFirst() {
            let parts = line.split(separator: ",")
            table.add(.init(tenor: String(parts[1]), publishedOn: day(String(parts[0])), percent: Decimal(string: String(parts[2]))!))
        }
        return table
    }
}

@Suite("Repayment plans: SCHEDULES.md vectors")
struct PlanVectorTests {
    @Test func equalInstallmentTableA() throws {
        let plan = try PlanEngine.schedule(vectorA(.equalInstallment))
        #expect(plan.installmentMinor == 104_942)
        let expected: [(String, Int64, Int64, Int64)] = [
            ("2024-12-15", 95942, 9000, 1_104_058), ("2025-01-15", 96662, 8280, 1_007_396),
            ("2025-02-15", 97387, 7555, 910_009), ("2025-03-15", 98117, 6825, 811_892),
            ("2025-04-15", 98853, 6089, 713_039), ("2025-05-15", 99594, 5348, 613_445),
            ("2025-06-15", 100_341, 4601, 513_104), ("2025-07-15", 101_094, 3848, 412_010),
            ("2025-08-15", 101_852, 3090, 310_158), ("2025-09-15", 102_616, 2326, 207_542),
            ("2025-10-15", 103_385, 1557, 104_157), ("2025-11-15", 104_157, 781, 0),
        ]
        #expect(plan.lines.count == 12)
        for (line, (due, principal, interest, balance)) in zip(plan.lines, expected) {
            #expect(line.dueDate == day(due), "period \(line.period)")
            #expect(line.principalMinor == principal, "period \(line.period)")
            #expect(line.interestMinor == interest, "period \(line.period)")
            #expect(line.balanceMinor == balance, "period \(line.period)")
        }
        #expect(plan.lines.last!.totalMinor == 104_938)
        #expect(plan.principalMinor == 1_200_000)
        #expect(plan.interestMinor == 59300)
    }

    @Test func equalPrincipalA() throws {
        let plan = try PlanEngine.schedule(vectorA(.equalPrincipal))
        #expect(plan.lines.map(\.principalMinor) == Array(repeating: 100_000, count: 12))
        #expect(plan.lines.map(\.interestMinor) == [9000, 8250, 7500, 6750, 6000, 5250, 4500, 3750, 3000, 2250, 1500, 750])
        #expect(plan.lines.first!.totalMinor == 109_000 && plan.lines.last!.totalMinor == 100_750)
        #expect(plan.interestMinor == 58500)
    }

    @Test func interestOnlyAndFlatA() throws {
        let interestOnly = try PlanEngine.schedule(vectorA(.interestOnly))
        #expect(interestOnly.lines.allSatisfy { $0.interestMinor == 9000 })
        #expect(interestOnly.lines.dropLast().allSatisfy { $0.principalMinor == 0 })
        #expect(interestOnly.lines.last!.totalMinor == 1_209_000)
        #expect(interestOnly.interestMinor == 108_000)

        let flat = try PlanEngine.schedule(vectorA(.flat))
        #expect(flat.lines.allSatisfy { $0.principalMinor == 100_000 && $0.interestMinor == 9000 && $0.totalMinor == 109_000 })
        #expect(flat.interestMinor == 108_000)
    }

    @Test func earlySettlementA() throws {
        let plan = try PlanEngine.schedule(vectorA(.equalInstallment))
        let payments = [
            LoanPayment(id: 1, paidOn: day("2024-12-15"), amountMinor: 104_942, kind: .normal, period: 1),
            LoanPayment(id: 2, paidOn: day("2025-01-15"), amountMinor: 104_942, kind: .normal, period: 2),
        ]
        let quote = LoanServicing.payoff(plan: plan, servicing: ServicingTerms(), payments: payments, on: day("2025-02-03"))
        #expect(quote.currentPeriod == 3)
        #expect(quote.currentInterestMinor == 4785)     // 10073.96 × 19 × 0.09/360
        #expect(quote.totalMinor == 1_012_181)         // pay-off 10121.81

        let settled = LoanServicing.position(plan: plan, servicing: ServicingTerms(), payments: payments + [
            LoanPayment(id: 3, paidOn: day("2025-02-03"), amountMinor: 1_012_181, kind: .earlySettlement, period: 3),
        ], asOf: day("2025-06-30"))
        #expect(settled.settledOn == day("2025-02-03"))
        #expect(settled.lines[0].status == .paid && settled.lines[1].status == .paid)
        #expect(settled.lines[2...].allSatisfy { $0.status == .settled && $0.unpaidMinor == 0 })
        #expect(settled.lines[2].interestDueMinor == 4785)
        #expect(settled.lines[3...].allSatisfy { $0.interestDueMinor == 0 })
        #expect(settled.outstandingPrincipalMinor == 0 && settled.unapplied.isEmpty)
        #expect(settled.overdueLines.isEmpty)
    }

    @Test func shortEarlySettlementIsAPartialPayment() throws {
        let plan = try PlanEngine.schedule(vectorA(.equalInstallment))
        let position = LoanServicing.position(plan: plan, servicing: ServicingTerms(), payments: [
            LoanPayment(id: 1, paidOn: day("2024-12-10"), amountMinor: 500_000, kind: .earlySettlement),
        ], asOf: day("2024-12-10"))
        #expect(position.settledOn == nil)
        #expect(position.shortSettlements.count == 1)
        // The partial payment reached period 1 only (the first not yet due) and the rest is unapplied.
        #expect(position.lines[0].status == .paid)
        #expect(position.unapplied.map(\.amountMinor) == [500_000 - 104_942])
    }

    @Test func penaltyOnInstallmentOrPrincipal() throws {
        let plan = try PlanEngine.schedule(vectorA(.equalInstallment))
        let late = [LoanPayment(id: 1, paidOn: day("2024-12-25"), amountMinor: 104_942 + 394, kind: .overdue, period: 1)]
        let installment = LoanServicing.position(plan: plan, servicing: ServicingTerms(penaltyBase: .overdueInstallment),
                                                 payments: late, asOf: day("2024-12-25"))
        #expect(installment.lines[0].penaltyAccruedMinor == 394)   // 1049.42 × 10 × 0.135/360
        #expect(installment.lines[0].status == .paid)
        #expect(installment.allocations == [PaymentAllocation(paymentID: 1, period: 1, penaltyMinor: 394, feeMinor: 0,
                                                              interestMinor: 9000, principalMinor: 95942)])
        let principal = LoanServicing.position(plan: plan, servicing: ServicingTerms(penaltyBase: .overduePrincipal),
                                               payments: [], asOf: day("2024-12-25"))
        #expect(principal.lines[0].penaltyAccruedMinor == 360)     // 959.42 × 10 × 0.135/360
        #expect(principal.lines[0].status == .overdue && principal.lines[0].overdueDays == 10)
        #expect(principal.lines[1].status == .open)
    }

    @Test func partialPaymentGoesPenaltyFeeInterestPrincipal() throws {
        let plan = try PlanEngine.schedule(vectorA(.equalInstallment))
        // 10 days late, 50.00 paid: penalty 3.94 first, then 46.06 of the 90.00 interest.
        let position = LoanServicing.position(plan: plan, servicing: ServicingTerms(), payments: [
            LoanPayment(id: 7, paidOn: day("2024-12-25"), amountMinor: 5000, kind: .overdue, period: 1),
        ], asOf: day("2025-01-04"))
        #expect(position.allocations == [PaymentAllocation(paymentID: 7, period: 1, penaltyMinor: 394, feeMinor: 0,
                                                           interestMinor: 4606, principalMinor: 0)])
        let line = position.lines[0]
        #expect(line.status == .overdue && line.overdueDays == 20)
        // The next ten days accrue on what was left, 959.42 + 43.94: 393.5325 + 376.26 fen, rounded once.
        #expect(line.penaltyAccruedMinor == minor(Decimal(104_942) * 10 * rate("13.5%") / 360 + Decimal(100_336) * 10 * rate("13.5%") / 360))
        #expect(line.penaltyAccruedMinor == 770)
        #expect(line.unpaidInterestMinor == 4394)
    }

    @Test func bulletB() throws {
        let plan = try PlanEngine.schedule(PlanTerms(principalMinor: 1_000_000, annualRate: rate("9%"), method: .bullet,
                                                     term: 3, startDate: day("2024-01-31")))
        #expect(plan.lines.count == 1)
        #expect(plan.lines[0].dueDate == day("2024-04-30") && plan.lines[0].days == 90)
        #expect(plan.lines[0].interestMinor == 22500 && plan.lines[0].principalMinor == 1_000_000)
        // The same loan written as 90 days.
        let byDays = try PlanEngine.schedule(PlanTerms(principalMinor: 1_000_000, annualRate: rate("9%"), method: .bullet,
                                                       term: 90, termUnit: .days, startDate: day("2024-01-31")))
        #expect(byDays.lines == plan.lines)
    }

    @Test func fineractC() throws {
        let plan = try PlanEngine.schedule(PlanTerms(principalMinor: 10000, annualRate: rate("7%"), method: .equalInstallment,
                                                     term: 6, startDate: day("2024-01-01")))
        #expect(plan.installmentMinor == 1701)
        #expect(plan.lines.map(\.interestMinor) == [58, 49, 39, 29, 20, 10])
        #expect(plan.lines.map(\.principalMinor) == [1643, 1652, 1662, 1672, 1681, 1690])
        #expect(plan.lines.last!.totalMinor == 1700)
        #expect(plan.interestMinor == 205)
    }

    @Test func lendicoD() throws {
        let plan = try PlanEngine.schedule(PlanTerms(principalMinor: 500_000, annualRate: rate("5%"), method: .equalInstallment,
                                                     term: 24, startDate: day("2024-01-01")))
        #expect(plan.installmentMinor == 21936)
        #expect(plan.lines[0].interestMinor == 2083 && plan.lines[0].principalMinor == 19853 && plan.lines[0].balanceMinor == 480_147)
        #expect(plan.lines[23].interestMinor == 91 && plan.lines[23].principalMinor == 21837 && plan.lines[23].totalMinor == 21928)
        #expect(plan.interestMinor == 26456)
    }

    @Test func lprMortgageE() throws {
        let floating = FloatingRate(tenor: "5y", spreadBasisPoints: Decimal(string: "73.7")!, repricing: nil,
                                    baseRates: BaseRateTable([.init(tenor: "5y", publishedOn: day("2019-09-20"), percent: Decimal(string: "4.80")!)]))
        #expect(floating.annualRate(on: day("2019-12-01")) == Decimal(string: "0.05537"))
        var terms = PlanTerms(principalMinor: 60_000_000, annualRate: 0, method: .equalInstallment, term: 240,
                              startDate: day("2019-12-01"))
        terms.floating = floating
        let plan = try PlanEngine.schedule(terms)
        #expect(plan.installmentMinor == 413_987)
        #expect(plan.annualRate == Decimal(string: "0.05537"))
        #expect(plan.principalMinor == 60_000_000)
    }

    @Test func monthEndDueDatesF() throws {
        func dues(anchor: Int, first: String) throws -> [String] {
            let terms = PlanTerms(principalMinor: 1_300_000, annualRate: rate("6%"), method: .equalPrincipal, term: 14,
                                  startDate: day(first).addingMonths(-1)!, dueDay: anchor, firstDueDate: day(first))
            return try PlanEngine.schedule(terms).lines.map(\.dueDate.description)
        }
        #expect(try dues(anchor: 31, first: "2023-01-31") == [
            "2023-01-31", "2023-02-28", "2023-03-31", "2023-04-30", "2023-05-31", "2023-06-30", "2023-07-31",
            "2023-08-31", "2023-09-30", "2023-10-31", "2023-11-30", "2023-12-31", "2024-01-31", "2024-02-29",
        ])
        let thirty = try dues(anchor: 30, first: "2023-01-30")
        #expect(Array(thirty.prefix(4)) == ["2023-01-30", "2023-02-28", "2023-03-30", "2023-04-30"])
        #expect(Array(thirty.suffix(2)) == ["2024-01-30", "2024-02-29"])
        // Counted from the contract day, never a month at a time: a loan of 31 January.
        let plan = try PlanEngine.schedule(PlanTerms(principalMinor: 100_000, annualRate: rate("6%"), method: .equalInstallment,
                                                     term: 4, startDate: day("2024-01-31")))
        #expect(plan.lines.map(\.dueDate.description) == ["2024-02-29", "2024-03-31", "2024-04-30", "2024-05-31"])
        #expect(plan.lines.allSatisfy { $0.interestMinor > 0 })
    }

    @Test func lprTableG() throws {
        let table = try ShippedData.lpr()
        #expect(table.rate(tenor: "1y", on: day("2024-10-21"))?.percent == Decimal(string: "3.35"))
        #expect(table.rate(tenor: "1y", on: day("2024-10-22"))?.percent == Decimal(string: "3.10"))
        #expect(table.rate(tenor: "5y", on: day("2025-12-01"))?.percent == Decimal(string: "3.50"))
        #expect(table.rate(tenor: "1y", on: day("2019-08-20")) == nil)
        // §A's rate: the 1-year LPR on 2024-11-15 (3.10%) + 590 bp.
        let floating = FloatingRate(tenor: "1y", spreadBasisPoints: 590, repricing: nil, baseRates: table)
        #expect(floating.annualRate(on: day("2024-11-15")) == rate("9%"))
        var terms = vectorA(.equalInstallment)
        terms.floating = floating
        #expect(try PlanEngine.schedule(terms).lines == PlanEngine.schedule(vectorA(.equalInstallment)).lines)
    }

    @Test func calendarH() throws {
        let calendar = try ShippedData.calendar()
        #expect(calendar.workingDay(after: day("2025-10-01")) == day("2025-10-09"))
        #expect(calendar.workingDay(after: day("2026-02-15")) == day("2026-02-24"))
        #expect(calendar.isWorkingDay(day("2026-02-14")))           // a Saturday, made up
        #expect(!calendar.isWorkingDay(day("2024-02-12")))          // a Monday in the Spring Festival
        // LPR publication: the 20th or the next working day.
        #expect(calendar.workingDay(onOrAfter: day("2024-01-20")) == day("2024-01-22"))
        #expect(calendar.workingDay(onOrAfter: day("2025-09-20")) == day("2025-09-22"))
        #expect(calendar.covers(day("2026-12-31")) && !calendar.covers(day("2027-01-04")))
        // 2021-02-20, a make-up Saturday, is outside the file's years: only weekdays count there.
        #expect(!calendar.isWorkingDay(day("2021-02-20")))
    }
}

@Suite("Repayment plans: settings")
struct PlanSettingTests {
    @Test func dueDateOnAHolidayMovesAndMayAccrue() throws {
        let calendar = try ShippedData.calendar()
        // A loan of 2025-09-01 falls due first on 2025-10-01, in the National Day holiday.
        var terms = PlanTerms(principalMinor: 1_200_000, annualRate: rate("9%"), method: .equalInstallment, term: 3,
                              startDate: day("2025-09-01"), calendar: calendar, nonWorkingDueDate: .nextWorkingDay(accrueExtraDays: false))
        let kept = try PlanEngine.schedule(terms)
        #expect(kept.lines[0].scheduledDate == day("2025-10-01") && kept.lines[0].dueDate == day("2025-10-09"))
        #expect(kept.lines[0].interestMinor == 9000)
        terms.nonWorkingDueDate = .nextWorkingDay(accrueExtraDays: true)
        let accrued = try PlanEngine.schedule(terms)
        // Eight more days at the daily rate: 12000 × (0.0075 + 8 × 0.09/360) = 90.00 + 24.00.
        #expect(accrued.lines[0].interestMinor == 11400 && accrued.lines[0].days == 38)
        // 2025-11-01 is a Saturday: two more days on period 2, which is still a whole month.
        #expect(accrued.lines[1].dueDate == day("2025-11-03"))
        #expect(accrued.lines[1].interestMinor == minor(Decimal(accrued.lines[0].balanceMinor) * (rate("0.75%") + 2 * rate("9%") / 360)))
        #expect(kept.lines[1].interestMinor == minor(Decimal(kept.lines[0].balanceMinor) * rate("0.75%")))
        terms.nonWorkingDueDate = .keep
        #expect(try PlanEngine.schedule(terms).lines[0].dueDate == day("2025-10-01"))
    }

    @Test func actualDaysDayCount() throws {
        var terms = vectorA(.equalPrincipal)
        terms.dayCount = .actual360
        let plan = try PlanEngine.schedule(terms)
        // Seed 004 §2.5.1: balance × actual days × annual/360. December has 30 days from the 15th, January 31.
        #expect(plan.lines[0].days == 30 && plan.lines[0].interestMinor == 9000)
        #expect(plan.lines[1].days == 31 && plan.lines[1].interestMinor == minor(Decimal(1_100_000) * 31 * rate("9%") / 360))
        terms.dayCount = .actual365
        #expect(try PlanEngine.schedule(terms).lines[1].interestMinor == minor(Decimal(1_100_000) * 31 * rate("9%") / 365))
    }

    @Test func brokenFirstPeriod() throws {
        var terms = vectorA(.equalInstallment)
        terms.dueDay = 20
        let plan = try PlanEngine.schedule(terms)
        // 2024-11-15 to 2024-12-20 is 35 days: interest by actual days at annual/360.
        #expect(plan.lines[0].dueDate == day("2024-12-20") && plan.lines[0].days == 35)
        #expect(plan.lines[0].interestMinor == 10500)
        #expect(plan.lines[0].principalMinor == 104_942 - 10500)
        #expect(plan.lines[1].interestMinor == minor(Decimal(1_200_000 - (104_942 - 10500)) * rate("0.75%")))
        #expect(plan.principalMinor == 1_200_000)
    }

    @Test func roundingModes() throws {
        // 10.00 at 3% earns 0.025 a month: exactly half a fen.
        var terms = PlanTerms(principalMinor: 1000, annualRate: rate("3%"), method: .interestOnly, term: 2, startDate: day("2024-01-10"))
        #expect(try PlanEngine.schedule(terms).lines[0].interestMinor == 3)   // 2.5 fen, half-up
        terms.rounding = .halfEven
        #expect(try PlanEngine.schedule(terms).lines[0].interestMinor == 2)   // 2.5 fen, half-even
        // 24.00 at 9.25% earns 18.5 fen a month, though 0.0925/12 never terminates: the
        // half must be seen as exactly half, not 18.4999….
        terms = PlanTerms(principalMinor: 2400, annualRate: rate("9.25%"), method: .interestOnly, term: 2, startDate: day("2024-01-10"))
        #expect(try PlanEngine.schedule(terms).lines[0].interestMinor == 19)
        terms.rounding = .halfEven
        #expect(try PlanEngine.schedule(terms).lines[0].interestMinor == 18)
    }

    @Test func repricingAppliesFromTheNextPeriod() throws {
        let table = try ShippedData.lpr()
        // 1-year LPR + 100 bp, contracted 2024-06-15 at 3.45% + 1% = 4.45%. Changes take effect on
        // 2024-07-23 (3.35%), 2024-10-22 (3.10%) and 2025-05-21 (3.00%).
        func plan(_ rule: RepricingRule) throws -> RepaymentPlan {
            var terms = PlanTerms(principalMinor: 1_200_000, annualRate: 0, method: .equalInstallment, term: 12, startDate: day("2024-06-15"))
            terms.floating = FloatingRate(tenor: "1y", spreadBasisPoints: 100, repricing: rule, baseRates: table)
            return try PlanEngine.schedule(terms)
        }
        let change = try plan(.baseRateChange)
        #expect(change.lines[0].annualRate == rate("4.45%") && change.lines[1].annualRate == rate("4.45%"))
        // Period 3 starts 2024-08-15, the first after 2024-07-23: 3.35% + 1%.
        #expect(change.lines[2].annualRate == rate("4.35%"))
        // Period 6 starts 2024-11-15, the first after 2024-10-22; the last (from 2025-05-15) starts before 2025-05-21.
        #expect(change.lines[4].annualRate == rate("4.35%") && change.lines[5].annualRate == rate("4.10%"))
        #expect(change.lines[11].annualRate == rate("4.10%"))
        #expect(change.principalMinor == 1_200_000)
        // The installment is recomputed on the remaining balance when the rate changes.
        #expect(change.lines[2].totalMinor != change.lines[1].totalMinor)

        let january = try plan(.januaryFirst)
        #expect(january.lines[6].annualRate == rate("4.45%"))      // starts 2024-12-15
        #expect(january.lines[7].annualRate == rate("4.10%"))      // starts 2025-01-15, after 1 January
        let anniversary = try plan(.anniversary)
        #expect(anniversary.lines.allSatisfy { $0.annualRate == rate("4.45%") })
    }

    @Test func aServiceFeeIsChargedEachPeriodAndWaivedAfterASettlement() throws {
        var terms = vectorA(.equalInstallment)
        terms.feePerPeriodMinor = PeriodFee.principalRate(rate("0.3%")).perPeriodMinor(principalMinor: 1_200_000, rounding: .halfUp)
        let plan = try PlanEngine.schedule(terms)
        #expect(plan.lines.allSatisfy { $0.feeMinor == 3600 } && plan.installmentMinor == 104_942)
        #expect(plan.feeMinor == 43200 && plan.totalMinor == 1_200_000 + 59300 + 43200)
        let onTime = (0..<2).map { LoanPayment(id: Int64($0 + 1), paidOn: plan.lines[$0].dueDate, amountMinor: plan.lines[$0].totalMinor,
                                               kind: .normal, period: $0 + 1) }
        // Settling on 2025-02-03: period 3's interest by days and its fee; later fees waived.
        let quote = LoanServicing.payoff(plan: plan, servicing: ServicingTerms(), payments: onTime, on: day("2025-02-03"))
        #expect(quote.totalMinor == 1_012_181 + 3600)
        let settled = LoanServicing.position(plan: plan, servicing: ServicingTerms(), payments: onTime + [
            LoanPayment(id: 3, paidOn: day("2025-02-03"), amountMinor: quote.totalMinor, kind: .earlySettlement),
        ], asOf: day("2025-02-03"))
        #expect(settled.settledOn == day("2025-02-03") && settled.unapplied.isEmpty)
        #expect(settled.lines[2].feeDueMinor == 3600 && settled.lines[3...].allSatisfy { $0.feeDueMinor == 0 })
        #expect(PeriodFee.fixed(500).perPeriodMinor(principalMinor: 1_200_000, rounding: .halfUp) == 500)
    }

    @Test func compensationPoint() throws {
        let plan = try PlanEngine.schedule(vectorA(.equalInstallment))
        let servicing = ServicingTerms(compensationDays: 3, compensationTime: TimeOfDay(hour: 17, minute: 30, second: 0)!)
        let position = LoanServicing.position(plan: plan, servicing: servicing, payments: [], asOf: day("2024-12-20"))
        #expect(position.lines[0].compensationPoint?.description.hasPrefix("2024-12-18T17:30:00") == true)
        let paid = LoanServicing.position(plan: plan, servicing: servicing, payments: [
            LoanPayment(id: 9, paidOn: day("2024-12-18"), amountMinor: 104_942 + 118, kind: .compensation, period: 1),
        ], asOf: day("2024-12-20"))
        #expect(paid.lines[0].status == .compensated && paid.lines[0].closedOn == day("2024-12-18"))
        #expect(paid.lines[0].penaltyAccruedMinor == 118)           // 1049.42 × 3 × 0.135/360 = 1.18
    }

    @Test func badTermsAreRefused() {
        #expect(throws: PlanError.self) { try PlanEngine.schedule(PlanTerms(principalMinor: 0, annualRate: 0, method: .flat, term: 3, startDate: day("2024-01-01"))) }
        #expect(throws: PlanError.self) { try PlanEngine.schedule(PlanTerms(principalMinor: 100, annualRate: 0, method: .flat, term: 0, startDate: day("2024-01-01"))) }
        #expect(throws: PlanError.self) { try PlanEngine.schedule(PlanTerms(principalMinor: 100, annualRate: 0, method: .flat, term: 30, termUnit: .days, startDate: day("2024-01-01"))) }
        var terms = vectorA(.flat)
        terms.floating = FloatingRate(tenor: "1y", spreadBasisPoints: 0, repricing: nil, baseRates: BaseRateTable())
        #expect(throws: PlanError("no 1y base rate was in effect on 2024-11-15")) { try PlanEngine.schedule(terms) }
    }

    @Test func rateText() {
        #expect(RateText.annualRate("9%") == Decimal(string: "0.09"))
        #expect(RateText.annualRate("0.09") == Decimal(string: "0.09"))
        #expect(RateText.annualRate("9") == nil)
        #expect(RateText.annualRate("9e-2") == nil)
        #expect(RateText.basisPoints("73.7bp") == Decimal(string: "73.7"))
        #expect(RateText.percent(Decimal(string: "0.05537")!) == "5.537%")
        #expect(RateText.percent(Decimal(string: "0.09")!) == "9.00%")
        #expect(DayCount(text: "ACT/365") == .actual365 && DayCount(text: "monthly/360") == .monthly360 && DayCount(text: "x") == nil)
        #expect(RepaymentMethod(text: "equal_installment") == .equalInstallment)
    }
}

@Suite("Repayment plans: properties")
struct PlanPropertyTests {
    static let methods = RepaymentMethod.allCases

    static let calendar = try! ShippedData.calendar()

    @Test func principalSumsNothingNegativeSameInputsSamePlan() async {
        await propertyCheck(count: 400, input: Gen.int(in: 1...50_000_000), Gen.int(in: 0...360_000), Gen.int(in: 1...60),
                            Gen.int(in: 0..<5), Gen.uint64()) { principal, rateMillionths, term, method, seed in
            // The conventions drawn too: start day (2023–2026, where the calendar has holidays),
            // day count, rounding, a fixed due day, and the rule for due dates on holidays.
            var random = SplitMix64(seed: seed)
            let rules: [NonWorkingDueDate] = [.keep, .nextWorkingDay(accrueExtraDays: false), .nextWorkingDay(accrueExtraDays: true)]
            let terms = PlanTerms(principalMinor: Int64(principal), annualRate: Decimal(rateMillionths) / 1_000_000,
                                  method: Self.methods[method], term: term,
                                  startDate: day("2023-01-01").adding(days: Int(random.next() % 1400))!,
                                  dueDay: random.next() % 2 == 0 ? nil : 1 + Int(random.next() % 31),
                                  dayCount: [.monthly360, DayCount(.monthly, yearDays: 365), .actual360, .actual365][Int(random.next() % 4)],
                                  rounding: random.next() % 2 == 0 ? .halfUp : .halfEven, calendar: Self.calendar,
                                  nonWorkingDueDate: rules[Int(random.next() % 3)])
            guard let plan = try? PlanEngine.schedule(terms) else {
                Issue.record("no plan for \(terms)")
                return
            }
            #expect(plan.principalMinor == Int64(principal))
            #expect(plan.lines.allSatisfy { $0.principalMinor >= 0 && $0.interestMinor >= 0 && $0.balanceMinor >= 0 })
            #expect(plan.lines.last!.balanceMinor == 0)
            #expect(zip(plan.lines, plan.lines.dropFirst()).allSatisfy { $0.dueDate < $1.dueDate })
            let again = try? PlanEngine.schedule(terms)
            #expect(again?.lines == plan.lines)
        }
    }

    @Test func exactIntegerInterestAgreesWithDecimalArithmetic() async {
        await propertyCheck(count: 2000, input: Gen.int(in: 0...100_000_000_000), Gen.int(in: 0...360_000_000), Gen.int(in: 0...400),
                            Gen.int(in: 0...9), Gen.bool) { base, rateBillionths, days, extra, halfEven in
            let rate = Decimal(rateBillionths) / 1_000_000_000
            let rounding: RoundingRule = halfEven ? .halfEven : .halfUp
            for yearDays in [360, 365] {
                #expect(Interest.rounded(base: Int64(base), rate: rate, days: days, yearDays: yearDays, rounding: rounding)
                        == Interest.decimal(base: Int64(base), rate: rate, days: days, yearDays: yearDays, rounding: rounding))
                #expect(Interest.rounded(base: Int64(base), rate: rate, monthsPlusDays: extra, yearDays: yearDays, rounding: rounding)
                        == Interest.decimal(base: Int64(base), rate: rate, monthsPlusDays: extra, yearDays: yearDays, rounding: rounding))
            }
        }
        // Past 128 bits the Decimal arithmetic answers.
        #expect(Interest.rounded(base: .max / 2, rate: Decimal(string: "0.123456789012345678")!, days: 3000, yearDays: 365, rounding: .halfUp)
                == Interest.decimal(base: .max / 2, rate: Decimal(string: "0.123456789012345678")!, days: 3000, yearDays: 365, rounding: .halfUp))
    }

    @Test func fullPaymentOnTimeLeavesNothingOwed() async {
        await propertyCheck(count: 150, input: Gen.int(in: 100...10_000_000), Gen.int(in: 0...240_000), Gen.int(in: 1...36),
                            Gen.int(in: 0..<5)) { principal, rateMillionths, term, method in
            let terms = PlanTerms(principalMinor: Int64(principal), annualRate: Decimal(rateMillionths) / 1_000_000,
                                  method: Self.methods[method], term: term, startDate: day("2024-03-31"))
            guard let plan = try? PlanEngine.schedule(terms) else { return }
            let payments = plan.lines.map {
                LoanPayment(id: Int64($0.period), paidOn: $0.dueDate, amountMinor: $0.totalMinor, kind: .normal, period: $0.period)
            }
            let position = LoanServicing.position(plan: plan, servicing: ServicingTerms(), payments: payments,
                                                  asOf: plan.maturityDate.adding(days: 30)!)
            #expect(position.lines.allSatisfy { $0.status == .paid && $0.penaltyAccruedMinor == 0 })
            #expect(position.unapplied.isEmpty && position.outstandingPrincipalMinor == 0)
            #expect(position.allocations.reduce(0) { $0 + $1.totalMinor } == plan.totalMinor)
        }
    }
}

/// An exact decimal amount of minor units, rounded half-up: the expectations' arithmetic.
func minor(_ exact: Decimal) -> Int64 { RoundingRule.halfUp.round(exact) }
