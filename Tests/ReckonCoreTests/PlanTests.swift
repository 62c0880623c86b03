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
            // published_on,tenor,percent
            let parts = line.split(separator: ",").map(String.init)
            try #require(parts.count == 3, "lpr-history.csv: \(line)")
            table.add(.init(tenor: parts[1], publishedOn: try #require(CivilDate(iso: parts[0]), "\(line)"),
                            percent: try #require(RateText.exactDecimal(parts[2]), "\(line)")))
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
        #expect(try #require(plan.lines.last).totalMinor == 104_938)
        #expect(plan.principalMinor == 1_200_000)
        #expect(plan.interestMinor == 59300)
    }

    @Test func equalPrincipalA() throws {
        let plan = try PlanEngine.schedule(vectorA(.equalPrincipal))
        #expect(plan.lines.map(\.principalMinor) == Array(repeating: 100_000, count: 12))
        #expect(plan.lines.map(\.interestMinor) == [9000, 8250, 7500, 6750, 6000, 5250, 4500, 3750, 3000, 2250, 1500, 750])
        let (first, last) = (try #require(plan.lines.first), try #require(plan.lines.last))
        #expect(first.totalMinor == 109_000 && last.totalMinor == 100_750)
        #expect(plan.interestMinor == 58500)
    }

    @Test func interestOnlyAndFlatA() throws {
        let interestOnly = try PlanEngine.schedule(vectorA(.interestOnly))
        #expect(interestOnly.lines.allSatisfy { $0.interestMinor == 9000 })
        #expect(interestOnly.lines.dropLast().allSatisfy { $0.principalMinor == 0 })
        #expect(try #require(interestOnly.lines.last).totalMinor == 1_209_000)
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
        try #require(settled.lines.count == 12)
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
        #expect(try #require(position.lines.first).status == .paid)
        #expect(position.unapplied.map(\.amountMinor) == [500_000 - 104_942])
    }

    @Test func penaltyOnInstallmentOrPrincipal() throws {
        let plan = try PlanEngine.schedule(vectorA(.equalInstallment))
        let late = [LoanPayment(id: 1, paidOn: day("2024-12-25"), amountMinor: 104_942 + 394, kind: .overdue, period: 1)]
        let installment = LoanServicing.position(plan: plan, servicing: ServicingTerms(penaltyBase: .overdueInstallment),
                                                 payments: late, asOf: day("2024-12-25"))
        let paidLate = try #require(installment.lines.first)
        #expect(paidLate.penaltyAccruedMinor == 394)   // 1049.42 × 10 × 0.135/360
        #expect(paidLate.status == .paid)
        #expect(installment.allocations == [PaymentAllocation(paymentID: 1, period: 1, penaltyMinor: 394, feeMinor: 0,
                                                              interestMinor: 9000, principalMinor: 95942)])
        let principal = LoanServicing.position(plan: plan, servicing: ServicingTerms(penaltyBase: .overduePrincipal),
                                               payments: [], asOf: day("2024-12-25"))
        try #require(principal.lines.count == 12)
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
        let line = try #require(position.lines.first)
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
        let line = try #require(plan.lines.first)
        #expect(line.dueDate == day("2024-04-30") && line.days == 90)
        #expect(line.interestMinor == 22500 && line.principalMinor == 1_000_000)
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
        #expect(try #require(plan.lines.last).totalMinor == 1700)
        #expect(plan.interestMinor == 205)
    }

    @Test func lendicoD() throws {
        let plan = try PlanEngine.schedule(PlanTerms(principalMinor: 500_000, annualRate: rate("5%"), method: .equalInstallment,
                                                     term: 24, startDate: day("2024-01-01")))
        #expect(plan.installmentMinor == 21936)
        try #require(plan.lines.count == 24)
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
        try #require(kept.lines.count == 3)
        #expect(kept.lines[0].scheduledDate == day("2025-10-01") && kept.lines[0].dueDate == day("2025-10-09"))
        #expect(kept.lines[0].interestMinor == 9000)
        terms.nonWorkingDueDate = .nextWorkingDay(accrueExtraDays: true)
        let accrued = try PlanEngine.schedule(terms)
        try #require(accrued.lines.count == 3)
        // Eight more days at the daily rate: 12000 × (0.0075 + 8 × 0.09/360) = 90.00 + 24.00.
        #expect(accrued.lines[0].interestMinor == 11400 && accrued.lines[0].days == 38)
        // 2025-11-01 is a Saturday: period 2 runs from 2025-10-09 to 2025-11-03, 25 days: its month
        // (0.75%), two days more at its end, and the eight days period 1 charged given back:
        // 0.75% − 6 × 0.025% = 0.60%. Period 3 (to 2025-12-01, not moved) gives back those two:
        // 0.75% − 2 × 0.025% = 0.70%. The days add up to the 91 from 2025-09-01 to 2025-12-01.
        #expect(accrued.lines[1].dueDate == day("2025-11-03") && accrued.lines.map(\.days) == [38, 25, 28])
        #expect(accrued.lines[1].interestMinor == minor(Decimal(accrued.lines[0].balanceMinor) * rate("0.6%")))
        #expect(accrued.lines[2].interestMinor == minor(Decimal(accrued.lines[1].balanceMinor) * rate("0.7%")))
        #expect(kept.lines[1].interestMinor == minor(Decimal(kept.lines[0].balanceMinor) * rate("0.75%")))
        terms.nonWorkingDueDate = .keep
        #expect(try #require(PlanEngine.schedule(terms).lines.first).dueDate == day("2025-10-01"))
    }

    /// Issue 9 item 1: 12,000.00 at 9%, interest only, 4 months from 2024-12-01 under the China
    /// calendar, due dates moved to the next working day with the moved days accruing. Scheduled
    /// 2025-01-01 (New Year) moves to 01-02, 02-01 (Spring Festival) to 02-05, 03-01 (a Saturday)
    /// to 03-03; 04-01 stays. A day earns 12000 × 0.09/360 = 3.00, a month 12000 × 0.09/12 = 90.00.
    /// Each period accrues from the previous period's actual due date, so no day is charged twice.
    @Test func movedDueDatesAccrueEachDayOnce() throws {
        var terms = PlanTerms(principalMinor: 1_200_000, annualRate: rate("9%"), method: .interestOnly, term: 4,
                              startDate: day("2024-12-01"), calendar: try ShippedData.calendar(),
                              nonWorkingDueDate: .nextWorkingDay(accrueExtraDays: true))
        let monthly = try PlanEngine.schedule(terms)
        #expect(monthly.lines.map(\.dueDate) == ["2025-01-02", "2025-02-05", "2025-03-03", "2025-04-01"].map(day))
        #expect(monthly.lines.map(\.accrualStart) == ["2024-12-01", "2025-01-02", "2025-02-05", "2025-03-03"].map(day))
        // Monthly: a period's month (scheduled date to scheduled date) at annual/12, plus the days its
        // own due date moved, less the days the previous one moved (charged in the previous period):
        //   1: 12-01 → 01-02, 32 days: 90.00 + (1 − 0) × 3.00 = 93.00
        //   2: 01-02 → 02-05, 34 days: 90.00 + (4 − 1) × 3.00 = 99.00
        //   3: 02-05 → 03-03, 26 days: 90.00 + (2 − 4) × 3.00 = 84.00
        //   4: 03-03 → 04-01, 29 days: 90.00 + (0 − 2) × 3.00 = 84.00
        // 360.00 is four months; the days add up to the 121 from 2024-12-01 to 2025-04-01.
        #expect(monthly.lines.map(\.days) == [32, 34, 26, 29])
        #expect(monthly.lines.map(\.interestMinor) == [9300, 9900, 8400, 8400])
        #expect(monthly.interestMinor == 36000)
        // Actual days: 32, 34, 26 and 29 days × 3.00 = 96.00 + 102.00 + 78.00 + 87.00 = 363.00 (121 × 3.00).
        terms.dayCount = .actual360
        let actual = try PlanEngine.schedule(terms)
        #expect(actual.lines.map(\.days) == [32, 34, 26, 29])
        #expect(actual.lines.map(\.interestMinor) == [9600, 10200, 7800, 8700])
        #expect(actual.interestMinor == 36300)
        // Without accrual the moved days are not charged: whole months, counted scheduled to scheduled.
        terms.nonWorkingDueDate = .nextWorkingDay(accrueExtraDays: false)
        terms.dayCount = .monthly360
        let kept = try PlanEngine.schedule(terms)
        #expect(kept.lines.map(\.days) == [31, 31, 28, 31] && kept.lines.allSatisfy { $0.interestMinor == 9000 })
    }

    /// Issue 9 item 2: a bullet loan by months follows the day count. 12,000.00 at 9% for 12 months
    /// from 2024-11-15 (maturity 2025-11-15, 365 days).
    @Test func bulletByMonthsFollowsTheDayCount() throws {
        func interest(_ dayCount: DayCount?, dueDay: Int? = nil, start: String = "2024-11-15", nonWorking: NonWorkingDueDate = .keep) throws -> PlanLine {
            let terms = PlanTerms(principalMinor: 1_200_000, annualRate: rate("9%"), method: .bullet, term: 12,
                                  startDate: day(start), dueDay: dueDay, dayCount: dayCount,
                                  calendar: try ShippedData.calendar(), nonWorkingDueDate: nonWorking)
            return try #require(PlanEngine.schedule(terms).lines.first)
        }
        // monthly/360: twelve whole months at annual/12: 12 × 90.00.
        #expect(try interest(.monthly360).interestMinor == 108_000)
        // actual/360: 365 days × 3.00; actual/365: 365/365 of a year.
        #expect(try interest(.actual360).interestMinor == 109_500)
        #expect(try interest(.actual365).interestMinor == 108_000)
        // A broken part earns days: due on the 10th, 2025-11-10 is 11 months (to 2025-10-15) and
        // 26 days: 11 × 90.00 + 26 × 3.00 = 1,068.00; by actual days 360 × 3.00 = 1,080.00.
        #expect(try interest(.monthly360, dueDay: 10).interestMinor == 106_800)
        #expect(try interest(.actual360, dueDay: 10).interestMinor == 108_000)
        // A maturity moved off a holiday accrues its days: 2025-10-01 moves to 2025-10-09,
        // 12 × 90.00 + 8 × 3.00 = 1,104.00.
        let moved = try interest(.monthly360, start: "2024-10-01", nonWorking: .nextWorkingDay(accrueExtraDays: true))
        #expect(moved.dueDate == day("2025-10-09") && moved.days == 373 && moved.interestMinor == 110_400)
        // A bullet without a day count is counted by actual days (利随本清 is quoted by days).
        #expect(try interest(nil).interestMinor == 109_500)
        // By days the term is days whatever the day count (SCHEDULES §B: 90 days, 225.00).
        for dayCount in [DayCount.monthly360, .actual360] {
            let byDays = try PlanEngine.schedule(PlanTerms(principalMinor: 1_000_000, annualRate: rate("9%"), method: .bullet, term: 90,
                                                           termUnit: .days, startDate: day("2024-01-31"), dayCount: dayCount))
            let line = try #require(byDays.lines.first)
            #expect(line.interestMinor == 22500 && line.days == 90)
        }
    }

    @Test func actualDaysDayCount() throws {
        var terms = vectorA(.equalPrincipal)
        terms.dayCount = .actual360
        let plan = try PlanEngine.schedule(terms)
        try #require(plan.lines.count == 12)
        // Seed 004 §2.5.1: balance × actual days × annual/360. December has 30 days from the 15th, January 31.
        #expect(plan.lines[0].days == 30 && plan.lines[0].interestMinor == 9000)
        #expect(plan.lines[1].days == 31 && plan.lines[1].interestMinor == minor(Decimal(1_100_000) * 31 * rate("9%") / 360))
        terms.dayCount = .actual365
        #expect(try PlanEngine.schedule(terms).lines.element(at: 1).interestMinor == minor(Decimal(1_100_000) * 31 * rate("9%") / 365))
    }

    @Test func brokenFirstPeriod() throws {
        var terms = vectorA(.equalInstallment)
        terms.dueDay = 20
        let plan = try PlanEngine.schedule(terms)
        try #require(plan.lines.count == 12)
        // 2024-11-15 to 2024-12-20 is 35 days: interest by actual days at annual/360, 105.00.
        #expect(plan.lines[0].dueDate == day("2024-12-20") && plan.lines[0].days == 35)
        #expect(plan.lines[0].interestMinor == 10500)
        // The installment is solved on these periods, a factor of 1 + 35 × 0.09/360 = 1.00875 and
        // eleven of 1.0075: 12000 / (1/1.00875 × Σₖ₌₀…₁₁ 1.0075^−k) = 1,050.7197… → 1,050.72
        // (the textbook 1,049.42 assumes twelve whole months).
        #expect(plan.installmentMinor == 105_072)
        #expect(plan.lines[0].principalMinor == 105_072 - 10500)
        #expect(plan.lines[1].interestMinor == minor(Decimal(1_200_000 - (105_072 - 10500)) * rate("0.75%")))
        #expect(plan.lines.dropLast().allSatisfy { $0.principalMinor + $0.interestMinor == 105_072 })
        #expect(plan.lines[11].totalMinor == 105_073 && plan.interestMinor == 60865)
        #expect(plan.principalMinor == 1_200_000)
    }

    @Test func roundingModes() throws {
        // 10.00 at 3% earns 0.025 a month: exactly half a fen.
        var terms = PlanTerms(principalMinor: 1000, annualRate: rate("3%"), method: .interestOnly, term: 2, startDate: day("2024-01-10"))
        #expect(try #require(PlanEngine.schedule(terms).lines.first).interestMinor == 3)   // 2.5 fen, half-up
        terms.rounding = .halfEven
        #expect(try #require(PlanEngine.schedule(terms).lines.first).interestMinor == 2)   // 2.5 fen, half-even
        // 24.00 at 9.25% earns 18.5 fen a month, though 0.0925/12 never terminates: the
        // half must be seen as exactly half, not 18.4999….
        terms = PlanTerms(principalMinor: 2400, annualRate: rate("9.25%"), method: .interestOnly, term: 2, startDate: day("2024-01-10"))
        #expect(try #require(PlanEngine.schedule(terms).lines.first).interestMinor == 19)
        terms.rounding = .halfEven
        #expect(try #require(PlanEngine.schedule(terms).lines.first).interestMinor == 18)
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
        try #require(change.lines.count == 12)
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
        try #require(january.lines.count == 12)
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
        try #require(plan.lines.count == 12)
        let onTime = (0..<2).map { LoanPayment(id: Int64($0 + 1), paidOn: plan.lines[$0].dueDate, amountMinor: plan.lines[$0].totalMinor,
                                               kind: .normal, period: $0 + 1) }
        // Settling on 2025-02-03: period 3's interest by days and its fee; later fees waived.
        let quote = LoanServicing.payoff(plan: plan, servicing: ServicingTerms(), payments: onTime, on: day("2025-02-03"))
        #expect(quote.totalMinor == 1_012_181 + 3600)
        let settled = LoanServicing.position(plan: plan, servicing: ServicingTerms(), payments: onTime + [
            LoanPayment(id: 3, paidOn: day("2025-02-03"), amountMinor: quote.totalMinor, kind: .earlySettlement),
        ], asOf: day("2025-02-03"))
        #expect(settled.settledOn == day("2025-02-03") && settled.unapplied.isEmpty)
        try #require(settled.lines.count == 12)
        #expect(settled.lines[2].feeDueMinor == 3600 && settled.lines[3...].allSatisfy { $0.feeDueMinor == 0 })
        #expect(PeriodFee.fixed(500).perPeriodMinor(principalMinor: 1_200_000, rounding: .halfUp) == 500)
    }

    @Test func compensationPoint() throws {
        let plan = try PlanEngine.schedule(vectorA(.equalInstallment))
        let servicing = ServicingTerms(compensationDays: 3, compensationTime: TimeOfDay(hour: 17, minute: 30, second: 0)!)
        let position = LoanServicing.position(plan: plan, servicing: servicing, payments: [], asOf: day("2024-12-20"))
        #expect(try #require(position.lines.first).compensationPoint?.description.hasPrefix("2024-12-18T17:30:00") == true)
        let paid = LoanServicing.position(plan: plan, servicing: servicing, payments: [
            LoanPayment(id: 9, paidOn: day("2024-12-18"), amountMinor: 104_942 + 118, kind: .compensation, period: 1),
        ], asOf: day("2024-12-20"))
        let compensated = try #require(paid.lines.first)
        #expect(compensated.status == .compensated && compensated.closedOn == day("2024-12-18"))
        #expect(compensated.penaltyAccruedMinor == 118)           // 1049.42 × 3 × 0.135/360 = 1.18
    }

    @Test func badTermsAreRefused() {
        #expect(throws: PlanError("the principal 0.00 is out of range: a principal is more than 0.00 and at most 100,000,000,000.00")) {
            try PlanEngine.schedule(PlanTerms(principalMinor: 0, annualRate: 0, method: .flat, term: 3, startDate: day("2024-01-01")))
        }
        #expect(throws: PlanError("a term is 1 to 600 months, not 0")) {
            try PlanEngine.schedule(PlanTerms(principalMinor: 100, annualRate: 0, method: .flat, term: 0, startDate: day("2024-01-01")))
        }
        #expect(throws: PlanError("only bullet loans run for a number of days")) {
            try PlanEngine.schedule(PlanTerms(principalMinor: 100, annualRate: 0, method: .flat, term: 30, termUnit: .days, startDate: day("2024-01-01")))
        }
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

@Suite("Repayment plans: every period has something due")
struct PlanNothingDueTests {
    /// Issue 9 item 3: 868,769.38 at 23.99%, 51 months from 2021-10-24, due on the 4th. The
    /// first period is broken, 11 days: 868,769.38 × 11 × 0.2399/360 = 6,368.3208… → 6,368.32.
    /// The textbook installment (51 whole months at 23.99%/12) is 27,325.37: with so little
    /// interest in period 1 it repaid the loan in period 50 and left period 51 with 0.00. Solved
    /// on the periods as they are (a factor of 1 + 11 × 0.2399/360, then fifty of
    /// 1 + 0.2399/12), the installment is 26,986.1758… → 26,986.18, paid fifty times; the
    /// last period pays the rest, 26,985.76 (figures from an independent exact computation).
    @Test func aShortBrokenFirstPeriodStillRepaysInTheLastPeriod() throws {
        let plan = try PlanEngine.schedule(PlanTerms(principalMinor: 86_876_938, annualRate: rate("23.99%"), method: .equalInstallment,
                                                     term: 51, startDate: day("2021-10-24"), dueDay: 4))
        #expect(plan.installmentMinor == 2_698_618)
        try #require(plan.lines.count == 51)
        let first = plan.lines[0]
        #expect(first.dueDate == day("2021-11-04") && first.days == 11 && first.interestMinor == 636_832 && first.principalMinor == 2_061_786)
        #expect(plan.lines.dropLast().allSatisfy { $0.totalMinor == 2_698_618 })
        let last = plan.lines[50]
        #expect(last.dueDate == day("2026-01-04") && last.principalMinor == 2_645_684 && last.interestMinor == 52_892)
        #expect(last.totalMinor == 2_698_576 && plan.interestMinor == 50_752_538)
        #expect(plan.lines.allSatisfy { $0.principalMinor > 0 })
    }

    /// 1,000.00 at 23.5067% over 55 months from 2025-07-07, first due 2025-09-07 (62 days),
    /// half-even: period 1's interest, 1000 × 62 × 0.235067/360 = 40.4837… → 40.48, is more
    /// than the installment the formula gives (30.48), so period 1 repays nothing and the
    /// balance does not grow as the formula assumes: with 30.48 the last period paid 1.47.
    /// Found by running the periods instead: 30.17, the last paying 30.42 — the nearest of any
    /// installment (checked by trying every one from 25.00 to 35.00 in exact arithmetic).
    @Test func aFirstPeriodWhoseInterestPassesTheInstallment() throws {
        let plan = try PlanEngine.schedule(PlanTerms(principalMinor: 100_000, annualRate: rate("23.5067%"), method: .equalInstallment,
                                                     term: 55, startDate: day("2025-07-07"), firstDueDate: day("2025-09-07"),
                                                     rounding: .halfEven))
        #expect(plan.installmentMinor == 3017)
        try #require(plan.lines.count == 55)
        #expect(plan.lines[0].interestMinor == 4048 && plan.lines[0].principalMinor == 0 && plan.lines[0].totalMinor == 4048)
        #expect(plan.lines[1...53].allSatisfy { $0.totalMinor == 3017 })
        #expect(plan.lines[54].totalMinor == 3042 && plan.interestMinor == 66991)
    }

    /// 1,000.00 at 12% over 360 months: the textbook installment 10.2861… rounds to 10.29, and
    /// that cent a month, compounding at 1% for 30 years, repays the loan in period 359. It is
    /// lowered to 10.28, the largest that leaves period 360 something to repay: 31.16 and
    /// 0.31 interest, 31.47.
    @Test func anInstallmentThatWouldRepayEarlyIsLowered() throws {
        let plan = try PlanEngine.schedule(PlanTerms(principalMinor: 100_000, annualRate: rate("12%"), method: .equalInstallment,
                                                     term: 360, startDate: day("2024-01-15")))
        #expect(plan.installmentMinor == 1028)
        try #require(plan.lines.count == 360)
        #expect(plan.lines.dropLast().allSatisfy { $0.totalMinor == 1028 })
        #expect(plan.lines[359].principalMinor == 3116 && plan.lines[359].totalMinor == 3147)
        // Without interest the same: 1,000.01 over 600 months is 1.6667 a month; 1.67 would be
        // repaid in period 599, so 1.66, and the last repays 1,000.01 − 599 × 1.66 = 5.67.
        let free = try PlanEngine.schedule(PlanTerms(principalMinor: 100_001, annualRate: 0, method: .equalInstallment,
                                                     term: 600, startDate: day("2024-01-15")))
        #expect(free.installmentMinor == 166)
        #expect(try free.lines.element(at: 599).totalMinor == 567)
    }

    /// 1,000.01 over 600 months, equal principal at 6%: 1,000.01/600 = 1.6667 → 1.67, but
    /// 599 × 1.67 = 1,000.33 is more than the loan and ended the plan with 0.00 lines. Rounded
    /// down to 1.66 instead; the last repays 1,000.01 − 599 × 1.66 = 5.67 (interest 0.03).
    /// Flat, interest is 1,000.01 × 0.5% = 5.00 every period, never on a repaid balance.
    @Test func longEqualPrincipalAndFlatRepayEveryPeriod() throws {
        var terms = PlanTerms(principalMinor: 100_001, annualRate: rate("6%"), method: .equalPrincipal, term: 600, startDate: day("2024-01-15"))
        let plan = try PlanEngine.schedule(terms)
        try #require(plan.lines.count == 600)
        #expect(plan.lines.dropLast().allSatisfy { $0.principalMinor == 166 } && plan.lines[599].principalMinor == 567)
        #expect(plan.lines[0].interestMinor == 500 && plan.lines[599].interestMinor == 3 && plan.interestMinor == 150_852)
        #expect(plan.lines.allSatisfy { $0.totalMinor > 0 })
        terms.method = .flat
        let flat = try PlanEngine.schedule(terms)
        #expect(flat.lines.map(\.principalMinor) == plan.lines.map(\.principalMinor))
        #expect(flat.lines.allSatisfy { $0.interestMinor == 500 })
        #expect(try flat.lines.element(at: 598).balanceMinor == 567)
        // Fewer cents than periods cannot repay a cent a period.
        terms.principalMinor = 500
        #expect(throws: PlanError("a flat plan of 600 periods repays at least 0.01 a period, so its principal is at least 6.00, not 5.00")) {
            try PlanEngine.schedule(terms)
        }
    }

    @Test func aPlanWithAPeriodWithNothingDueIsRefused() throws {
        let free = PlanTerms(principalMinor: 1_200_000, annualRate: 0, method: .interestOnly, term: 12, startDate: day("2024-11-15"))
        #expect(throws: PlanError("period 1 would have nothing due: it repays no principal and its interest rounds to 0.00 "
                                  + "(12,000.00 at 0.00% over 12 periods)")) { try PlanEngine.schedule(free) }
        // A fee is something due.
        var withFee = free
        withFee.feePerPeriodMinor = 500
        #expect(try PlanEngine.schedule(withFee).lines.allSatisfy { $0.totalMinor >= 500 })
    }

    /// Issue 9 item 5: the installment is the equal payment the plan was solved for, whatever
    /// the number of periods: every period but the last pays it, and a one-period loan's is
    /// its one payment.
    @Test func theInstallmentIsThePaymentThePlanWasSolvedFor() throws {
        func plan(term: Int, dueDay: Int? = nil) throws -> RepaymentPlan {
            try PlanEngine.schedule(PlanTerms(principalMinor: 1_200_000, annualRate: rate("9%"), method: .equalInstallment, term: term,
                                              startDate: day("2024-11-15"), dueDay: dueDay))
        }
        // One whole month: 12,000.00 + 90.00.
        #expect(try plan(term: 1).installmentMinor == 1_209_000)
        // One broken period of 35 days: 12,000.00 + 105.00 — the same definition, not a textbook EMI.
        let broken = try plan(term: 1, dueDay: 20)
        #expect(broken.installmentMinor == 1_210_500 && broken.lines.map(\.totalMinor) == [1_210_500])
        // Two periods, the first broken: 12000 × 1.00875 × 1.0075 / (1 + 1.0075) = 6,075.1120… → 6,075.11;
        // period 1 pays it, period 2 the rest: 6,029.89 + 45.22 = 6,075.11.
        let two = try plan(term: 2, dueDay: 20)
        #expect(two.installmentMinor == 607_511 && two.lines.map(\.totalMinor) == [607_511, 607_511])
        // Whole months: the textbook EMI (SCHEDULES §A).
        #expect(try plan(term: 12).installmentMinor == 104_942)
    }
}

@Suite("Repayment plans: properties")
struct PlanPropertyTests {
    static let methods = RepaymentMethod.allCases

    static let calendar = try! ShippedData.calendar()

    /// Every plan, checked against `PlanOracle`: dates, days adding up to the span, each
    /// period's interest recomputed exactly from its balance, rate and days, principal by the
    /// method's rule (equal parts within a cent of principal/n, the installment within half a
    /// cent of the exact annuity of the periods as they are, the last payment within what a
    /// cent a period grows to), and no line with nothing due.
    @Test func plansKeepTheRulesTheREADMEStates() async {
        await propertyCheck(count: 400, input: Gen.int(in: 100_000...50_000_000), Gen.int(in: 10_000...360_000), Gen.int(in: 1...60),
                            Gen.int(in: 0..<5), Gen.uint64()) { principal, rateMillionths, term, method, seed in
            // The conventions drawn too: start day (2023–2026, where the calendar has holidays),
            // day count, rounding, a due day or a first due date (broken first periods), the
            // rule for due dates on holidays, and a zero rate for the methods that repay principal.
            var random = SplitMix64(seed: seed)
            let method = Self.methods[method]
            let zero = method != .interestOnly && method != .bullet && random.next() % 8 == 0
            var terms = Self.terms(principal: Int64(principal), rate: zero ? 0 : Decimal(rateMillionths) / 1_000_000,
                                   method: method, term: term, random: &random)
            if method == .bullet && random.next() % 3 == 0 {
                terms.termUnit = .days
                terms.term = 1 + Int(random.next() % 400)
            }
            Self.expectThePlanKeepsTheRules(terms)
        }
    }

    /// Long terms and small principals, where a cent compounds: 600 periods, broken first
    /// periods, principals from 0.01. A plan is made and keeps the rules, or is refused for
    /// a reason the test checks by its own arithmetic.
    @Test func longTermsAndSmallPrincipalsNeverLeaveAPeriodWithNothingDue() async {
        await propertyCheck(count: 80, input: Gen.int(in: 1...999), Gen.int(in: 0...4), Gen.int(in: 0...360_000), Gen.int(in: 120...600),
                            Gen.int(in: 0..<3), Gen.uint64()) { digits, scale, rateMillionths, term, method, seed in
            // Principals from 0.01 to 9,990,000.00, as many of each size.
            let principal = digits * [1, 10, 100, 1000, 10000][scale]
            var random = SplitMix64(seed: seed)
            let terms = Self.terms(principal: Int64(principal), rate: Decimal(rateMillionths) / 1_000_000,
                                   method: [.equalInstallment, .equalPrincipal, .flat][method], term: term, random: &random)
            Self.expectThePlanKeepsTheRules(terms)
        }
    }

    static func terms(principal: Int64, rate: Decimal, method: RepaymentMethod, term: Int, random: inout SplitMix64) -> PlanTerms {
        let rules: [NonWorkingDueDate] = [.keep, .nextWorkingDay(accrueExtraDays: false), .nextWorkingDay(accrueExtraDays: true)]
        let start = day("2023-01-01").adding(days: Int(random.next() % 1400))!
        var terms = PlanTerms(principalMinor: principal, annualRate: rate, method: method, term: term, startDate: start,
                              dueDay: random.next() % 2 == 0 ? nil : 1 + Int(random.next() % 31),
                              dayCount: [.monthly360, DayCount(.monthly, yearDays: 365), .actual360, .actual365][Int(random.next() % 4)],
                              rounding: random.next() % 2 == 0 ? .halfUp : .halfEven, calendar: Self.calendar,
                              nonWorkingDueDate: rules[Int(random.next() % 3)])
        if method != .bullet && terms.dueDay == nil && random.next() % 3 == 0 {
            // A first due date from the day after the start to a month and 31 days after it.
            terms.firstDueDate = start.adding(days: 1 + Int(random.next() % UInt64(start.days(to: start.addingMonths(1)!) + 31)))
        }
        return terms
    }

    static func expectThePlanKeepsTheRules(_ terms: PlanTerms) {
        let plan: RepaymentPlan
        do {
            plan = try PlanEngine.schedule(terms)
        } catch {
            // Refused only when the principal is fewer cents than periods: then an equal part
            // cannot be a cent, and an equal installment that repays a cent a period would
            // repay it early (with a cent, n − 1 periods repay at most n − 1 cents).
            let n = terms.method == .bullet ? 1 : terms.term
            #expect(terms.principalMinor < Int64(n), "\(error) for \(terms)")
            switch terms.method {
            case .equalPrincipal, .flat:
                #expect(error.message == "a \(terms.method.rawValue) plan of \(n) periods repays at least 0.01 a period, so its principal is at least "
                        + "\(PlanText.money(Int64(n))), not \(PlanText.money(terms.principalMinor))")
            default:
                #expect(error.message.contains("would have nothing due"), "\(error) for \(terms)")
            }
            return
        }
        let problems = PlanOracle.problems(plan)
        #expect(problems.isEmpty, "\(problems) for \(terms)")
        #expect((try? PlanEngine.schedule(terms))?.lines == plan.lines)
    }

    /// The engine's integer interest against the oracle, which never divides: each result
    /// multiplied back must bracket the exact base × rate × (months/12 + days/year).
    @Test func exactIntegerInterestIsTheRoundedRatio() async {
        await propertyCheck(count: 1000, input: Gen.int(in: 0...100_000_000_000), Gen.int(in: 0...360_000_000), Gen.int(in: 0...400),
                            Gen.int(in: -30...9), Gen.bool) { base, rateBillionths, days, extra, halfEven in
            let rate = Decimal(rateBillionths) / 1_000_000_000
            let rounding: RoundingRule = halfEven ? .halfEven : .halfUp
            for yearDays in [360, 365] {
                let byDays = Interest.rounded(base: Int64(base), rate: rate, days: days, yearDays: yearDays, rounding: rounding)
                #expect(ExactRatio.interest(base: Int64(base), rate: rate, months: 0, days: days, yearDays: yearDays)!.rounds(to: byDays, rounding),
                        "\(base) × \(rate) × \(days)/\(yearDays) gave \(byDays)")
                let month = Interest.rounded(base: Int64(base), rate: rate, months: 1, days: extra, yearDays: yearDays, rounding: rounding)
                #expect(ExactRatio.interest(base: Int64(base), rate: rate, months: 1, days: extra, yearDays: yearDays)!.rounds(to: month, rounding),
                        "\(base) × \(rate) × (1/12 + \(extra)/\(yearDays)) gave \(month)")
            }
        }
    }

    /// Past 128 bits: inputs whose numerator (base × days × the rate's digits) needs more than
    /// 128 bits, checked against the oracle, which must also refuse the neighbours of the
    /// answer (so a result off by a fen would fail).
    @Test func interestPast128BitsIsExact() {
        let cases: [(base: Int64, rate: String, days: Int, yearDays: Int)] = [
            (.max / 2, "0.123456789012345678", 3000, 365),
            (.max / 4, "0.299999999999999999", 3660, 360),
            (1_000_000_000_000_000_000, "0.111111111111111111", 3660, 365),
            (9_000_000_000_000_000_000, "0.333333333333333333", 200, 360),
            // 614370837554160786 × 3659 × 0.987654321987654307 / 360 is 6,167,305,615,601,528,024.5
            // and 18/(360 × 10^18) more: above the half. Its 40 digits before the division
            // are more than `Decimal` keeps, and `Decimal` arithmetic sees an exact half (and
            // rounds it half-even down to …024).
            (614_370_837_554_160_786, "0.987654321987654307", 3659, 360),
        ]
        for item in cases {
            let rate = Decimal(string: item.rate)!
            let exact = ExactRatio.interest(base: item.base, rate: rate, months: 0, days: item.days, yearDays: item.yearDays)!
            // base × days × rate's digits needs more than 128 bits.
            #expect(!(exact.numerator < BigNat.power2(128)), "\(item) fits in 128 bits")
            for rounding in [RoundingRule.halfUp, .halfEven] {
                let result = Interest.rounded(base: item.base, rate: rate, days: item.days, yearDays: item.yearDays, rounding: rounding)
                #expect(exact.rounds(to: result, rounding), "\(item) gave \(result)")
                #expect(!exact.rounds(to: result + 1, rounding) && !exact.rounds(to: result - 1, rounding))
            }
        }
        let nearHalf = (base: Int64(614_370_837_554_160_786), rate: Decimal(string: "0.987654321987654307")!)
        #expect(Interest.rounded(base: nearHalf.base, rate: nearHalf.rate, days: 3659, yearDays: 360, rounding: .halfEven) == 6_167_305_615_601_528_025)
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
