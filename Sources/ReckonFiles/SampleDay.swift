import Foundation
import ReckonCore

/// Writes a realistic business day for the sample partners, through their specs: the
/// platform's disbursements and repayments (normal, early settlements, overdue with
/// penalty, compensation by the guarantor), the bank's plans, settlement file and camt.053
/// statement, and the payment channel's bill with a handful of deliberate differences
/// (a missing line, an amount a cent off, a line unknown to the platform, a failed
/// collection) for reconciliation to find. The same date and size always give the same
/// bytes.
public struct SampleDay {
    public let date: CivilDate
    public let loans: Int
    /// The folder holding the specs (`mappings/`).
    public let mappings: String

    public init(date: CivilDate, loans: Int, mappings: String) {
        precondition(loans >= 1)
        self.date = date
        self.loans = loans
        self.mappings = mappings
    }

    /// What was written, by partner folder and file name.
    public struct Written: Sendable {
        public var files: [String] = []
        public var disbursed = 0
        public var repayments = 0
        /// The earlier business days written for the repaid loans, oldest first: run them
        /// before the day itself.
        public var historyDays: [CivilDate] = []
    }

    /// Writes `<folder>/platform`, `<folder>/bank` and `<folder>/channel` files for the day.
    ///
    /// Loans and repayments are drawn from a seeded generator as each file is written, never
    /// held: every file is a pass over the same draws (a copy of the generator's state), so
    /// memory stays flat whatever the size of the day.
    public func write(into folder: String) throws -> Written {
        var written = Written()
        let seed = SplitMix64(seed: UInt64(date.year * 10000 + date.month * 100 + date.day) &* 2_654_435_761 &+ UInt64(loans))
        let today = LoanDraws(day: self, random: seed)
        let repayments = RepaymentDraws(day: self, random: today.generatorAfterLast())
        let stamp = compact(date)
        written.disbursed = loans
        var historyDays = Set<CivilDate>(), collected = 0
        for repayment in repayments.withoutAmounts {
            written.repayments += 1
            historyDays.insert(repayment.loan.disbursedOn)
            if repayment.type != .compensation { collected += 1 }
        }

        let platform = folder + "/platform", bank = folder + "/bank", channel = folder + "/channel", core = folder + "/core"
        // The files made of repayments are written in one pass over them (a repayment's
        // amounts come from its loan's plan, worked out once).
        let repaymentsFile = try repaymentsFile(to: "\(platform)/PLAT_REPAY_\(stamp).csv")
        let settlementFile = try settlementFile(to: "\(bank)/BANK_SETTLE_\(stamp).txt")
        let (billFile, settledToBank) = try billFile(collectedCount: collected, to: "\(channel)/PAY_BILL_\(stamp).csv")
        let loanLedgerFile = try loanLedgerFile(today, to: "\(core)/CORE_LOAN_\(stamp).txt")
        let byRepayment = [repaymentsFile, settlementFile, billFile, loanLedgerFile]
        for repayment in repayments {
            for file in byRepayment { try file.add(repayment) }
        }
        written.files.append(try writeLoans(today, to: "\(platform)/PLAT_LOAN_\(stamp).csv"))
        written.files.append(try repaymentsFile.finish())
        written.files.append(try writePlans(today, day: date, deliberate: true, to: "\(bank)/BANK_PLAN_\(stamp).txt"))
        written.files.append(try settlementFile.finish())
        written.files.append(try billFile.finish())
        written.files.append(try writeStatement(today, settled: settledToBank(), to: "\(bank)/BANK_STMT_\(stamp).xml"))
        written.files.append(try writeInstitutions(to: "\(core)/CORE_ORG_\(stamp).txt"))
        written.files.append(try writeBaseRates(to: "\(core)/CORE_RATE_\(stamp).txt"))
        written.files.append(try loanLedgerFile.finish())

        // The earlier days the repaid loans were disbursed on: their loans and the bank's plans.
        for day in historyDays.sorted() {
            let loans = repayments.withoutAmounts.lazy.map(\.loan).filter { $0.disbursedOn == day }
            written.files.append(try writeLoans(loans, to: "\(platform)/PLAT_LOAN_\(compact(day)).csv"))
            written.files.append(try writePlans(loans, day: day, deliberate: false, to: "\(bank)/BANK_PLAN_\(compact(day)).txt"))
            written.historyDays.append(day)
        }
        return written
    }

    // MARK: The draws

    /// The loans disbursed on the day. The first three are pinned to figures worked by hand
    /// (one per shipped method, `pinnedPlans`), so the end-to-end tests compare the plan
    /// engine with something it did not make; the rest are drawn.
    struct LoanDraws: Sequence, IteratorProtocol {
        let day: SampleDay
        var random: SplitMix64
        var index = 0

        mutating func next() -> Loan? {
            guard index < day.loans else { return nil }
            defer { index += 1 }
            let id = "L\(day.compact(day.date))\(day.pad(index + 1, 4))"
            let disbursedAt = index * 97 + 9 * 3600
            // Every loan but the first draws a product and an amount, the pinned ones too (and
            // drop them), so the draws after them stay where they were before they were pinned.
            let product = index == 0 ? Product.cl12 : Product.all[Int(random.next() % 3)]
            let principal = index == 0 ? 0 : Int64(5_000 + random.next() % 451 * 100) * 100
            if index < SampleDay.pinnedPlans.count {
                let pinned = SampleDay.pinnedPlans[index]
                return Loan(id: id, product: pinned.product, principal: pinned.principal, disbursedOn: day.date,
                            disbursedAt: disbursedAt, pinned: pinned.lines)
            }
            return Loan(id: id, product: product, principal: principal, disbursedOn: day.date, disbursedAt: disbursedAt)
        }

        /// The generator as it is once every loan is drawn: where the repayments' draws start.
        func generatorAfterLast() -> SplitMix64 {
            var copy = self
            while copy.next() != nil {}
            return copy.random
        }
    }

    /// Repayments on the day, of the first period of loans disbursed a month before its due
    /// date: on time (due today), ten days late with penalty, or paid by the guarantor three
    /// days late. Those loans are written as the earlier days' files (the history the ledger
    /// needs to plan them), so the day's repayments meet their plans.
    struct RepaymentDraws: Sequence, IteratorProtocol {
        let day: SampleDay
        var random: SplitMix64
        var index = 0
        var drawn = 0
        /// Whether each repayment's amounts are worked out (from its loan's plan): passes that
        /// only need the loans and kinds skip that work.
        var amounts = true

        /// The same draws without their amounts (every amount 0).
        var withoutAmounts: RepaymentDraws {
            var copy = self
            copy.amounts = false
            return copy
        }

        mutating func next() -> Repayment? {
            while index < day.loans {
                let index = self.index
                self.index += 1
                let product = Product.all[Int(random.next() % 3)]
                let principal = Int64(5_000 + random.next() % 451 * 100) * 100
                // The first repayments of a day are one of each kind; the rest are drawn.
                let forced: [UInt64] = [0, 8, 13]
                let roll = drawn < forced.count ? forced[drawn] : random.next() % 100
                let type: RepaymentType = roll < 6 ? .early : roll < 12 ? .overdue : roll < 15 ? .compensation : .normal
                let daysLate = type == .overdue ? 10 : type == .compensation ? 3 : 0
                // A due date the month-end rule would move (the 29th to 31st) has no such loan.
                guard let due = day.date.adding(days: -daysLate), let disbursed = due.addingMonths(-1),
                      disbursed.addingMonths(1) == due else { continue }
                let loan = Loan(id: "L\(day.compact(disbursed))\(day.pad(900 + index, 4))", product: product, principal: principal,
                                disbursedOn: disbursed, disbursedAt: 10 * 3600 + index * 61)
                var repayment = Repayment(id: "R\(day.compact(day.date))\(day.pad(index + 1, 6))", loan: loan, period: 1,
                                          type: type, principal: 0, interest: 0, penalty: 0, paidAt: 8 * 3600 + index * 131 % 50_000)
                drawn += 1
                guard amounts else { return repayment }
                let plan = loan.plan()
                let line = plan[0]
                repayment.principal = line.principal
                repayment.interest = line.interest
                repayment.balanceAfter = line.balance
                repayment.nextDue = plan.count > 1 ? plan[1].due : nil
                switch type {
                case .early:
                    // Early settlement on the due date: the period's installment and all the
                    // remaining principal (no interest runs on the next period yet).
                    repayment.principal = principal
                case .overdue, .compensation:
                    // Penalty on the installment at 1.5 × the contract rate, by days/360.
                    let installment = Decimal(line.principal + line.interest)
                    repayment.penalty = RoundingRule.halfUp.round(installment * product.rate * Decimal(string: "1.5")! * Decimal(daysLate) / 360)
                case .normal:
                    break
                }
                return repayment
            }
            return nil
        }
    }

    /// Plans worked by hand, one per shipped method, for the day's first three loans: each
    /// period's interest is the balance × the annual rate / 12, rounded half-up once; the
    /// equal installment is SCHEDULES.md §A's table.
    static let pinnedPlans: [(product: Product, principal: Int64, lines: [(principal: Int64, interest: Int64)])] = [
        // 12,000.00 at 9.00% (LPR 3.10% + 590 bp), 12 months, equal installments of 1,049.42
        // (SCHEDULES.md §A), the last 1,049.38.
        (Product.cl12, 1_200_000, [
            (95942, 9000), (96662, 8280), (97387, 7555), (98117, 6825), (98853, 6089), (99594, 5348),
            (100341, 4601), (101094, 3848), (101852, 3090), (102616, 2326), (103385, 1557), (104157, 781),
        ]),
        // 6,000.00 at 10.80% (LPR 3.10% + 770 bp), 6 months, equal principal: 1,000.00 a month,
        // interest 0.9% of 6,000.00, 5,000.00, … 1,000.00.
        (Product.cl06, 600_000, [(100000, 5400), (100000, 4500), (100000, 3600), (100000, 2700), (100000, 1800), (100000, 900)]),
        // 10,000.00 at 7.20% fixed, 3 months, interest first: 0.6% of 10,000.00 a month, the
        // principal with the last.
        (Product.cl03, 1_000_000, [(0, 6000), (0, 6000), (1_000_000, 6000)]),
    ]

    // MARK: The model

    struct Product {
        let code: String
        let method: String
        let term: Int
        let rate: Decimal

        static let cl12 = Product(code: "CL12", method: "EI", term: 12, rate: Decimal(string: "0.09")!)
        static let cl06 = Product(code: "CL06", method: "EP", term: 6, rate: Decimal(string: "0.108")!)
        static let cl03 = Product(code: "CL03", method: "IO", term: 3, rate: Decimal(string: "0.072")!)
        static let all = [cl12, cl06, cl03]
    }

    struct Loan {
        let id: String
        let product: Product
        let principal: Int64
        let disbursedOn: CivilDate
        let disbursedAt: Int
        /// Principal and interest per period worked by hand, for the pinned loans.
        var pinned: [(principal: Int64, interest: Int64)]? = nil

        /// The schedule: the hand-worked one of a pinned loan, or the plan engine's with the
        /// contract defaults (monthly rate annual/12, half-up once per period, the last
        /// period takes the residue).
        func plan() -> [PlanLine] {
            if let pinned {
                var balance = principal
                return pinned.enumerated().map { index, part in
                    balance -= part.principal
                    return PlanLine(period: index + 1, due: disbursedOn.addingMonths(index + 1)!, principal: part.principal,
                                    interest: part.interest, balance: balance)
                }
            }
            let method: RepaymentMethod = product.method == "EI" ? .equalInstallment : product.method == "EP" ? .equalPrincipal : .interestOnly
            let terms = PlanTerms(principalMinor: principal, annualRate: product.rate, method: method, term: product.term,
                                  startDate: disbursedOn)
            // The sample's terms are always valid: a positive principal and a term of 3 to 12 months.
            let plan = try! PlanEngine.schedule(terms)
            return plan.lines.map {
                PlanLine(period: $0.period, due: $0.dueDate, principal: $0.principalMinor, interest: $0.interestMinor,
                         balance: $0.balanceMinor)
            }
        }
    }

    struct PlanLine {
        let period: Int
        let due: CivilDate
        let principal: Int64
        var interest: Int64
        let balance: Int64
    }

    enum RepaymentType: String {
        case normal = "NORMAL", early = "EARLY", overdue = "OVERDUE", compensation = "COMP"

        var canonical: String {
            switch self {
            case .normal: return "normal"
            case .early: return "early_settlement"
            case .overdue: return "overdue"
            case .compensation: return "compensation"
            }
        }
    }

    struct Repayment {
        let id: String
        let loan: Loan
        let period: Int
        var type: RepaymentType
        var principal: Int64
        var interest: Int64
        var penalty: Int64
        let paidAt: Int
        /// What the loan's plan leaves after the period, and when the next one is due.
        var balanceAfter: Int64 = 0
        var nextDue: CivilDate? = nil
        var total: Int64 { principal + interest + penalty }
        var reference: String { "4200" + id.dropFirst() }
    }

    // MARK: Files

    private func renderer(_ spec: String) throws -> (MappingSpec, RecordRenderer) {
        let loaded = try SpecFile.load(mappings + "/" + spec)
        return (loaded, try RecordRenderer(spec: loaded))
    }

    private func render(_ spec: MappingSpec, _ renderer: RecordRenderer, _ kind: String, _ values: [String: FieldValue]) throws -> [UInt8] {
        let recordKind = spec.kind(named: kind)!
        return try renderer.render(recordKind, recordKind.fields.map { values[$0.name] ?? .empty })
    }

    private func money(_ minor: Int64) -> FieldValue { .decimal(DecimalAmount(units: minor, scale: 2)) }
    private func at(_ day: CivilDate, _ second: Int) -> FieldValue {
        .dateTime(DateTime(date: day, time: TimeOfDay(hour: second / 3600 % 24, minute: second / 60 % 60, second: second % 60)!))
    }

    private func writeLoans(_ loans: some Sequence<Loan>, to path: String) throws -> String {
        let (spec, renderer) = try renderer("platform-loans.yaml")
        let file = try RecordFile(path, separator: [0x0A])
        try file.add(renderer.header()!)
        var count = 0, principalTotal: Int64 = 0
        for loan in loans {
            count += 1
            principalTotal += loan.principal
            try file.add(try render(spec, renderer, "loan", [
                "loan_id": .text(loan.id), "contract_no": .text("C" + loan.id.dropFirst()), "product": .text(loan.product.code),
                "borrower_name": .text(Self.names[abs(loan.id.hashValueStable) % Self.names.count]),
                "id_no_masked": .text("110101********\(pad(Int(loan.principal / 100 % 10000), 4))"),
                "principal": money(loan.principal), "currency": .text("CNY"),
                "annual_rate": .decimal(DecimalAmount(units: Int64(truncating: (loan.product.rate * 1_000_000) as NSNumber), scale: 6)),
                "term": .integer(Int64(loan.product.term)),
                "repay_method": .text(["EI": "equal_installment", "EP": "equal_principal", "IO": "interest_only"][loan.product.method]!),
                "disbursed_at": at(loan.disbursedOn, loan.disbursedAt),
                "first_due_on": .date(loan.disbursedOn.addingMonths(1)!), "channel": .text("APP"),
            ]))
        }
        try file.add(try render(spec, renderer, "total", ["record_count": .integer(Int64(count)),
                                                          "principal_total": money(principalTotal)]))
        return try file.commit()
    }

    /// A file made of the day's repayments, fed one at a time: all of them are written in
    /// one pass over the draws.
    private struct RepaymentWriter {
        let add: (Repayment) throws -> Void
        let finish: () throws -> String
    }

    private func repaymentsFile(to path: String) throws -> RepaymentWriter {
        let (spec, renderer) = try renderer("platform-repayments.yaml")
        let file = try RecordFile(path, separator: [0x0A])
        try file.add(renderer.header()!)
        var count = 0, totalAmount: Int64 = 0
        return RepaymentWriter(add: { repayment in
            count += 1
            totalAmount += repayment.total
            try file.add(try render(spec, renderer, "repayment", [
                "repay_id": .text(repayment.id), "loan_id": .text(repayment.loan.id), "period": .integer(Int64(repayment.period)),
                "repay_type": .text(repayment.type.canonical), "paid_at": at(date, repayment.paidAt),
                "principal": money(repayment.principal), "interest": money(repayment.interest), "penalty": money(repayment.penalty),
                "fee": money(0), "total": money(repayment.total), "channel": .text("WXPAY"),
                "channel_reference": .text(repayment.reference), "status": .text("success"),
            ]))
        }, finish: {
            try file.add(try render(spec, renderer, "total", ["record_count": .integer(Int64(count)),
                                                              "total_amount": money(totalAmount)]))
            return try file.commit()
        })
    }

    /// The bank's plans for a day's loans; for the sample day itself, with two deliberate
    /// differences for the plan checks: the second loan's third period charges a cent more
    /// interest, and the last loan's plan is missing (an alert the day after).
    private func writePlans(_ loans: some Sequence<Loan>, day: CivilDate, deliberate: Bool, to path: String) throws -> String {
        let (spec, renderer) = try renderer("bank-plan.yaml")
        let file = try RecordFile(path, separator: [0x0D, 0x0A])
        try file.add(try render(spec, renderer, "header", ["file_type": .text("PLAN"), "bank_code": .text("BKCN0001"),
                                                           "business_date": .date(day), "created_at": at(day, 22 * 3600)]))
        var count = 0, principal: Int64 = 0, interest: Int64 = 0
        for (index, loan) in loans.enumerated() where !deliberate || self.loans < 3 || index < self.loans - 1 {
            for var line in loan.plan() {
                if deliberate && index == 1 && line.period == 3 { line.interest += 1 }
                try file.add(try render(spec, renderer, "plan_line", [
                    "loan_id": .text(loan.id), "borrower_name": .text(Self.names[abs(loan.id.hashValueStable) % Self.names.count]),
                    "period": .integer(Int64(line.period)), "due_on": .date(line.due), "principal": money(line.principal),
                    "interest": money(line.interest), "fee": money(0), "total": money(line.principal + line.interest),
                    "balance": money(line.balance), "status": .text("open"),
                ]))
                count += 1
                principal += line.principal
                interest += line.interest
            }
        }
        try file.add(try render(spec, renderer, "trailer", ["record_count": .integer(Int64(count)), "principal_total": money(principal),
                                                            "interest_total": money(interest)]))
        return try file.commit()
    }

    private func settlementFile(to path: String) throws -> RepaymentWriter {
        let (spec, renderer) = try renderer("bank-settlement.yaml")
        let file = try RecordFile(path, separator: [0x0D, 0x0A])
        try file.add(try render(spec, renderer, "header", ["file_type": .text("SETTLE"), "bank_code": .text("BKCN0001"),
                                                           "business_date": .date(date), "created_at": at(date, 23 * 3600),
                                                           "currency": .text("CNY")]))
        var count = 0, total: Int64 = 0, principal: Int64 = 0, interest: Int64 = 0, penalty: Int64 = 0
        return RepaymentWriter(add: { repayment in
            let index = count
            count += 1
            total += repayment.total
            principal += repayment.principal
            interest += repayment.interest
            penalty += repayment.penalty
            try file.add(try render(spec, renderer, "repayment", [
                "sequence": .integer(Int64(index + 1)), "loan_id": .text(repayment.loan.id), "period": .integer(Int64(repayment.period)),
                "repay_type": .text(repayment.type.canonical), "paid_on": .date(date), "principal": money(repayment.principal),
                "interest": money(repayment.interest), "penalty": money(repayment.penalty), "fee": money(0),
                "total": money(repayment.total), "currency": .text("CNY"), "channel_reference": .text(repayment.reference),
                "status": .text("settled"),
                "remark": repayment.type == .early ? .text("提前结清") : repayment.type == .overdue ? .text("逾期还款")
                    : repayment.type == .compensation ? .text("担保代偿") : .empty,
            ]))
        }, finish: {
            try file.add(try render(spec, renderer, "trailer", [
                "record_count": .integer(Int64(count)), "total_amount": money(total), "principal_total": money(principal),
                "interest_total": money(interest), "penalty_total": money(penalty), "fee_total": money(0),
            ]))
            return try file.commit()
        })
    }

    /// The channel collects every repayment but the guarantor's. Deliberate differences: the
    /// first collection is missing, the second is a cent off, a failed attempt and a
    /// collection the platform does not know are added.
    private func billFile(collectedCount: Int, to path: String) throws -> (RepaymentWriter, settledMinor: () -> Int64) {
        let (spec, renderer) = try renderer("channel-bill.yaml")
        let file = try RecordFile(path, separator: [0x0D, 0x0A])
        try file.add(renderer.header()!)
        var count = 0, amount: Int64 = 0, fees: Int64 = 0, settled: Int64 = 0
        func line(_ order: String, _ reference: String, _ second: Int, _ collected: Int64, status: String) throws {
            // A failed collection moved no money: nothing charged, nothing settled.
            let fee = status == "success" ? (collected + 500) / 1000 : 0
            let paidOut = status == "success" ? collected - fee : 0
            try file.add(try render(spec, renderer, "transaction", [
                "occurred_at": at(date, second), "merchant_id": .text("1900000109"), "merchant_order": .text(order),
                "reference": .text(reference), "type": .text("collection"), "status": .text(status),
                "amount": money(collected), "fee": money(fee), "settled": money(paidOut), "remark": .text("还款"),
            ]))
            count += 1
            amount += collected
            fees += fee
            settled += paidOut
        }
        var index = 0
        let writer = RepaymentWriter(add: { repayment in
            guard repayment.type != .compensation else { return }
            defer { index += 1 }
            if index == 0 && collectedCount > 2 { return }
            try line(repayment.id, repayment.reference, repayment.paidAt, repayment.total + (index == 1 ? 1 : 0), status: "success")
        }, finish: {
            try line("R\(compact(date))FAILED", "4200\(compact(date))FAILED", 12 * 3600, 10000, status: "failed")
            try line("R\(compact(date))UNKNOWN", "4200\(compact(date))UNKNOWN", 13 * 3600, 2500, status: "success")
            // The summary title line is an ignored kind: written as the channel writes it.
            try file.add(TextEncoder.encode("总交易单数,总交易金额,总手续费,总结算金额", as: .gbk)!)
            try file.add(try render(spec, renderer, "summary", ["record_count": .integer(Int64(count)), "total_amount": money(amount),
                                                                "fee_total": money(fees), "settled_total": money(settled)]))
            return try file.commit()
        })
        return (writer, { settled })
    }

    /// The bank's statement of its lending account: the day's disbursements out, the
    /// channel's settlement in.
    private func writeStatement(_ loans: LoanDraws, settled: Int64, to path: String) throws -> String {
        // The lending account holds enough for the day: at least 5,000,000.00, rounded up.
        let disbursed = loans.reduce(0) { $0 + $1.principal }
        let opening = max(500_000_000, (disbursed * 12 / 10 / 100_000_000 + 1) * 100_000_000)
        let closing = opening - disbursed + settled
        func amount(_ minor: Int64) -> String { DecimalAmount(units: abs(minor), scale: 2).description }
        func direction(_ minor: Int64) -> String { minor < 0 ? "DBIT" : "CRDT" }
        let file = try AtomicFile(path: path)
        try file.write("""
            <?xml version="1.0" encoding="UTF-8"?>
            <Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08">
              <BkToCstmrStmt>
                <GrpHdr>
                  <MsgId>BKCN0001-STMT-\(compact(date))</MsgId>
                  <CreDtTm>\(date)T23:30:00+08:00</CreDtTm>
                </GrpHdr>
                <Stmt>
                  <Id>STMT-6222020000001234-\(compact(date))</Id>
                  <CreDtTm>\(date)T23:30:00+08:00</CreDtTm>
                  <FrToDt><FrDtTm>\(date)T00:00:00+08:00</FrDtTm><ToDtTm>\(date)T23:59:59+08:00</ToDtTm></FrToDt>
                  <Acct><Id><Othr><Id>6222020000001234</Id></Othr></Id><Ccy>CNY</Ccy><Ownr><Nm>合作放款专户</Nm></Ownr></Acct>
                  <Bal><Tp><CdOrPrtry><Cd>OPBD</Cd></CdOrPrtry></Tp><Amt Ccy="CNY">\(amount(opening))</Amt><CdtDbtInd>\(direction(opening))</CdtDbtInd><Dt><Dt>\(date)</Dt></Dt></Bal>
                  <Bal><Tp><CdOrPrtry><Cd>CLBD</Cd></CdOrPrtry></Tp><Amt Ccy="CNY">\(amount(closing))</Amt><CdtDbtInd>\(direction(closing))</CdtDbtInd><Dt><Dt>\(date)</Dt></Dt></Bal>

            """)
        for (index, loan) in loans.enumerated() {
            try file.write("""
                      <Ntry><NtryRef>\(loan.id)</NtryRef><Amt Ccy="CNY">\(amount(loan.principal))</Amt><CdtDbtInd>DBIT</CdtDbtInd>\
                <Sts><Cd>BOOK</Cd></Sts><BookgDt><Dt>\(date)</Dt></BookgDt><ValDt><Dt>\(date)</Dt></ValDt>\
                <AcctSvcrRef>BK\(compact(date))\(pad(index + 1, 6))</AcctSvcrRef>\
                <NtryDtls><TxDtls><Refs><EndToEndId>C\(loan.id.dropFirst())</EndToEndId></Refs><RmtInf><Ustrd>放款 \(loan.id)</Ustrd></RmtInf></TxDtls></NtryDtls></Ntry>

                """)
        }
        try file.write("""
                  <Ntry><NtryRef>WXPAY-\(compact(date))</NtryRef><Amt Ccy="CNY">\(amount(settled))</Amt><CdtDbtInd>CRDT</CdtDbtInd>\
            <Sts><Cd>BOOK</Cd></Sts><BookgDt><Dt>\(date)</Dt></BookgDt><ValDt><Dt>\(date)</Dt></ValDt>\
            <AcctSvcrRef>BK\(compact(date))SETTLE</AcctSvcrRef><NtryDtls><TxDtls><RmtInf><Ustrd>WXPAY 结算</Ustrd></RmtInf></TxDtls></NtryDtls></Ntry>
                </Stmt>
              </BkToCstmrStmt>
            </Document>

            """)
        try file.commit()
        return path
    }

    // MARK: The core system's reference files (seed 003)

    private func header(_ spec: MappingSpec, _ renderer: RecordRenderer, _ type: String) throws -> [UInt8] {
        try render(spec, renderer, "header", ["file_type": .text(type), "business_date": .date(date)])
    }

    private func writeInstitutions(to path: String) throws -> String {
        let (spec, renderer) = try renderer("core-institutions.yaml")
        let institutions: [(String, String, String?, String, String)] = [
            ("440000000001", "广东省农村信用社联合社", nil, "head_office", "440000"),
            ("440600000001", "佛山农村商业银行", "440000000001", "branch", "440600"),
            ("440600000101", "佛山农村商业银行禅城支行", "440600000001", "sub_branch", "440604"),
            ("440600000102", "佛山农村商业银行南海支行", "440600000001", "sub_branch", "440605"),
        ]
        let file = try RecordFile(path, separator: [0x0D, 0x0A])
        try file.add(try header(spec, renderer, "ORG"))
        for (code, name, parent, level, region) in institutions {
            try file.add(try render(spec, renderer, "institution", [
                "code": .text(code), "name": .text(name), "parent_code": parent.map(FieldValue.text) ?? .empty,
                "level": .text(level), "region_code": .text(region), "status": .text("active"),
                "effective_on": .date(CivilDate(year: 2022, month: 9, day: 21)!),
            ]))
        }
        try file.add(try render(spec, renderer, "trailer", ["record_count": .integer(Int64(institutions.count))]))
        return try file.commit()
    }

    /// The latest LPR fixing published on or before the day (SCHEDULES.md §G), effective the
    /// day after publication.
    private func writeBaseRates(to path: String) throws -> String {
        let fixings: [(String, Int64, Int64)] = [
            ("2023-08-21", 34500, 42000), ("2024-02-20", 34500, 39500), ("2024-07-22", 33500, 38500),
            ("2024-10-21", 31000, 36000), ("2025-05-20", 30000, 35000),
        ]
        let (published, oneYear, fiveYear) = fixings.last { $0.0 <= date.description } ?? fixings[0]
        let parts = published.split(separator: "-").compactMap { Int($0) }
        let publishedOn = CivilDate(year: parts[0], month: parts[1], day: parts[2])!
        let effectiveOn = CivilDate(year: parts[0], month: parts[1], day: parts[2] + 1) ?? publishedOn.addingMonths(1)!
        let (spec, renderer) = try renderer("core-base-rates.yaml")
        let file = try RecordFile(path, separator: [0x0D, 0x0A])
        try file.add(try header(spec, renderer, "RATE"))
        for (tenor, rate) in [("1y", oneYear), ("5y", fiveYear)] {
            try file.add(try render(spec, renderer, "rate", [
                "rate_type": .text("lpr"), "tenor": .text(tenor), "rate": .decimal(DecimalAmount(units: rate, scale: 4)),
                "published_on": .date(publishedOn), "effective_on": .date(effectiveOn),
            ]))
        }
        try file.add(try render(spec, renderer, "trailer", ["record_count": .integer(2)]))
        return try file.commit()
    }

    /// The core system's view of the loans the day touched: today's disbursements in full,
    /// and the repaid loans with what remains after today's payment.
    private func loanLedgerFile(_ loans: LoanDraws, to path: String) throws -> RepaymentWriter {
        let (spec, renderer) = try renderer("core-loan-ledger.yaml")
        let file = try RecordFile(path, separator: [0x0D, 0x0A])
        try file.add(try header(spec, renderer, "LOANLDGR"))
        var count = 0, outstandingTotal: Int64 = 0
        func snapshot(_ loan: Loan, outstanding: Int64, nextDue: CivilDate?, status: String) throws {
            count += 1
            outstandingTotal += outstanding
            try file.add(try render(spec, renderer, "loan", [
                "loan_id": .text(loan.id), "customer_name": .text(Self.names[abs(loan.id.hashValueStable) % Self.names.count]),
                "product": .text(loan.product.code), "institution": .text("440600000101"), "principal": money(loan.principal),
                "outstanding_principal": money(outstanding), "outstanding_interest": money(0), "overdue_principal": money(0),
                "overdue_days": .integer(0), "status": .text(status), "as_of": .date(date),
                "next_due_on": nextDue.map(FieldValue.date) ?? .empty,
            ]))
        }
        for loan in loans {
            try snapshot(loan, outstanding: loan.principal, nextDue: loan.disbursedOn.addingMonths(1), status: "normal")
        }
        return RepaymentWriter(add: { repayment in
            let remaining = repayment.type == .early ? 0 : repayment.balanceAfter
            let next = remaining == 0 ? nil : repayment.nextDue
            try snapshot(repayment.loan, outstanding: remaining, nextDue: next, status: remaining == 0 ? "settled" : "normal")
        }, finish: {
            try file.add(try render(spec, renderer, "trailer", ["record_count": .integer(Int64(count)),
                                                                "outstanding_total": money(outstandingTotal)]))
            return try file.commit()
        })
    }

    /// One of the day's files, record by record, written atomically.
    private final class RecordFile {
        let file: AtomicFile
        let separator: [UInt8]

        init(_ path: String, separator: [UInt8]) throws {
            file = try AtomicFile(path: path)
            self.separator = separator
        }

        func add(_ record: [UInt8]) throws {
            try file.write(record)
            try file.write(separator)
        }

        func commit() throws -> String {
            try file.commit()
            return file.path
        }
    }

    static let names = ["张伟", "王芳", "李娜", "刘洋", "陈静", "杨帆", "赵磊", "黄敏", "周杰", "吴婷", "徐强", "孙丽"]

    private func compact(_ day: CivilDate) -> String { String(day.year) + pad(day.month, 2) + pad(day.day, 2) }
    private func pad(_ value: Int, _ width: Int) -> String {
        let digits = String(value)
        return String(repeating: "0", count: max(0, width - digits.count)) + digits
    }
}

extension String {
    /// A hash that is the same in every run (Swift's `hashValue` is seeded per process).
    var hashValueStable: Int {
        var hash: UInt64 = 1_469_598_103_934_665_603
        for byte in utf8 { hash = (hash ^ UInt64(byte)) &* 1_099_511_628_211 }
        return Int(truncatingIfNeeded: hash >> 1)
    }
}
