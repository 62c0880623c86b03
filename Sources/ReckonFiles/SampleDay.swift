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
    public func write(into folder: String) throws -> Written {
        var written = Written()
        var random = SplitMix64(seed: UInt64(date.year * 10000 + date.month * 100 + date.day) &* 2_654_435_761 &+ UInt64(loans))
        let stamp = compact(date)

        // Loans disbursed today. The first is SCHEDULES.md §A's: 12,000.00 at 9% over 12 months.
        var today: [Loan] = []
        for index in 0..<loans {
            let product = index == 0 ? Product.cl12 : Product.all[Int(random.next() % 3)]
            let principal = index == 0 ? 1_200_000 : Int64(5_000 + random.next() % 451 * 100) * 100
            today.append(Loan(id: "L\(stamp)\(pad(index + 1, 4))", product: product, principal: principal,
                              disbursedOn: date, disbursedAt: index * 97 + 9 * 3600))
        }
        written.disbursed = today.count

        // Repayments today, of the first period of loans disbursed a month before its due
        // date: on time (due today), ten days late with penalty, or paid by the guarantor
        // three days late. Those loans are written as the earlier days' files (the history
        // the ledger needs to plan them), so today's repayments meet their plans.
        var repayments: [Repayment] = []
        for index in 0..<loans {
            let product = Product.all[Int(random.next() % 3)]
            let principal = Int64(5_000 + random.next() % 451 * 100) * 100
            // The first repayments of a day are one of each kind; the rest are drawn.
            let forced: [UInt64] = [0, 8, 13]
            let roll = repayments.count < forced.count ? forced[repayments.count] : random.next() % 100
            let type: RepaymentType = roll < 6 ? .early : roll < 12 ? .overdue : roll < 15 ? .compensation : .normal
            let daysLate = type == .overdue ? 10 : type == .compensation ? 3 : 0
            // A due date the month-end rule would move (the 29th to 31st) has no such loan.
            guard let due = date.adding(days: -daysLate), let disbursed = due.addingMonths(-1),
                  disbursed.addingMonths(1) == due else { continue }
            let loan = Loan(id: "L\(compact(disbursed))\(pad(900 + index, 4))", product: product, principal: principal,
                            disbursedOn: disbursed, disbursedAt: 10 * 3600 + index * 61)
            let line = loan.plan()[0]
            var repayment = Repayment(id: "R\(stamp)\(pad(index + 1, 6))", loan: loan, period: line.period, type: type,
                                      principal: line.principal, interest: line.interest, penalty: 0,
                                      paidAt: 8 * 3600 + index * 131 % 50_000)
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
            repayments.append(repayment)
        }
        written.repayments = repayments.count

        let platform = folder + "/platform", bank = folder + "/bank", channel = folder + "/channel"
        for path in [platform, bank, channel] {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        }
        written.files.append(try writeLoans(today, to: "\(platform)/PLAT_LOAN_\(stamp).csv"))
        written.files.append(try writeRepayments(repayments, to: "\(platform)/PLAT_REPAY_\(stamp).csv"))
        written.files.append(try writePlans(today, day: date, deliberate: true, to: "\(bank)/BANK_PLAN_\(stamp).txt"))
        written.files.append(try writeSettlement(repayments, to: "\(bank)/BANK_SETTLE_\(stamp).txt"))
        let (billPath, settledToBank) = try writeBill(repayments, to: "\(channel)/PAY_BILL_\(stamp).csv")
        written.files.append(billPath)
        written.files.append(try writeStatement(today, settled: settledToBank, to: "\(bank)/BANK_STMT_\(stamp).xml"))
        let core = folder + "/core"
        try FileManager.default.createDirectory(atPath: core, withIntermediateDirectories: true)
        written.files.append(try writeInstitutions(to: "\(core)/CORE_ORG_\(stamp).txt"))
        written.files.append(try writeBaseRates(to: "\(core)/CORE_RATE_\(stamp).txt"))
        written.files.append(try writeLoanLedger(today, repayments, to: "\(core)/CORE_LOAN_\(stamp).txt"))

        // The earlier days the repaid loans were disbursed on: their loans and the bank's plans.
        let history = Dictionary(grouping: repayments.map(\.loan), by: \.disbursedOn)
        for day in history.keys.sorted() {
            let loans = history[day]!.sorted { $0.id < $1.id }
            written.files.append(try writeLoans(loans, to: "\(platform)/PLAT_LOAN_\(compact(day)).csv"))
            written.files.append(try writePlans(loans, day: day, deliberate: false, to: "\(bank)/BANK_PLAN_\(compact(day)).txt"))
            written.historyDays.append(day)
        }
        return written
    }

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

        /// The schedule, by the plan engine with the contract defaults (monthly rate
        /// annual/12, half-up once per period, the last period takes the residue).
        func plan() -> [PlanLine] {
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

    private func writeLoans(_ loans: [Loan], to path: String) throws -> String {
        let (spec, renderer) = try renderer("platform-loans.yaml")
        var lines = [renderer.header()!]
        for loan in loans {
            lines.append(try render(spec, renderer, "loan", [
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
        lines.append(try render(spec, renderer, "total", ["record_count": .integer(Int64(loans.count)),
                                                          "principal_total": money(loans.reduce(0) { $0 + $1.principal })]))
        return try write(lines, separator: [0x0A], to: path)
    }

    private func writeRepayments(_ repayments: [Repayment], to path: String) throws -> String {
        let (spec, renderer) = try renderer("platform-repayments.yaml")
        var lines = [renderer.header()!]
        for repayment in repayments {
            lines.append(try render(spec, renderer, "repayment", [
                "repay_id": .text(repayment.id), "loan_id": .text(repayment.loan.id), "period": .integer(Int64(repayment.period)),
                "repay_type": .text(repayment.type.canonical), "paid_at": at(date, repayment.paidAt),
                "principal": money(repayment.principal), "interest": money(repayment.interest), "penalty": money(repayment.penalty),
                "fee": money(0), "total": money(repayment.total), "channel": .text("WXPAY"),
                "channel_reference": .text(repayment.reference), "status": .text("success"),
            ]))
        }
        lines.append(try render(spec, renderer, "total", ["record_count": .integer(Int64(repayments.count)),
                                                          "total_amount": money(repayments.reduce(0) { $0 + $1.total })]))
        return try write(lines, separator: [0x0A], to: path)
    }

    /// The bank's plans for a day's loans; for the sample day itself, with two deliberate
    /// differences for the plan checks: the second loan's third period charges a cent more
    /// interest, and the last loan's plan is missing (an alert the day after).
    private func writePlans(_ loans: [Loan], day: CivilDate, deliberate: Bool, to path: String) throws -> String {
        let (spec, renderer) = try renderer("bank-plan.yaml")
        var lines = [try render(spec, renderer, "header", ["file_type": .text("PLAN"), "bank_code": .text("BKCN0001"),
                                                           "business_date": .date(day), "created_at": at(day, 22 * 3600)])]
        var count = 0, principal: Int64 = 0, interest: Int64 = 0
        for (index, loan) in loans.enumerated() where !deliberate || loans.count < 3 || index < loans.count - 1 {
            for var line in loan.plan() {
                if deliberate && index == 1 && line.period == 3 { line.interest += 1 }
                lines.append(try render(spec, renderer, "plan_line", [
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
        lines.append(try render(spec, renderer, "trailer", ["record_count": .integer(Int64(count)), "principal_total": money(principal),
                                                            "interest_total": money(interest)]))
        return try write(lines, separator: [0x0D, 0x0A], to: path)
    }

    private func writeSettlement(_ repayments: [Repayment], to path: String) throws -> String {
        let (spec, renderer) = try renderer("bank-settlement.yaml")
        var lines = [try render(spec, renderer, "header", ["file_type": .text("SETTLE"), "bank_code": .text("BKCN0001"),
                                                           "business_date": .date(date), "created_at": at(date, 23 * 3600),
                                                           "currency": .text("CNY")])]
        for (index, repayment) in repayments.enumerated() {
            lines.append(try render(spec, renderer, "repayment", [
                "sequence": .integer(Int64(index + 1)), "loan_id": .text(repayment.loan.id), "period": .integer(Int64(repayment.period)),
                "repay_type": .text(repayment.type.canonical), "paid_on": .date(date), "principal": money(repayment.principal),
                "interest": money(repayment.interest), "penalty": money(repayment.penalty), "fee": money(0),
                "total": money(repayment.total), "currency": .text("CNY"), "channel_reference": .text(repayment.reference),
                "status": .text("settled"),
                "remark": repayment.type == .early ? .text("提前结清") : repayment.type == .overdue ? .text("逾期还款")
                    : repayment.type == .compensation ? .text("担保代偿") : .empty,
            ]))
        }
        func sum(_ part: (Repayment) -> Int64) -> FieldValue { money(repayments.reduce(0) { $0 + part($1) }) }
        lines.append(try render(spec, renderer, "trailer", [
            "record_count": .integer(Int64(repayments.count)), "total_amount": sum(\.total), "principal_total": sum(\.principal),
            "interest_total": sum(\.interest), "penalty_total": sum(\.penalty), "fee_total": money(0),
        ]))
        return try write(lines, separator: [0x0D, 0x0A], to: path)
    }

    /// The channel collects every repayment but the guarantor's. Deliberate differences: the
    /// first collection is missing, the second is a cent off, a failed attempt and a
    /// collection the platform does not know are added.
    private func writeBill(_ repayments: [Repayment], to path: String) throws -> (String, Int64) {
        let (spec, renderer) = try renderer("channel-bill.yaml")
        var lines = [renderer.header()!]
        var count = 0, amount: Int64 = 0, fees: Int64 = 0, settled: Int64 = 0
        func line(_ order: String, _ reference: String, _ second: Int, _ collected: Int64, status: String) throws {
            // A failed collection moved no money: nothing charged, nothing settled.
            let fee = status == "success" ? (collected + 500) / 1000 : 0
            let paidOut = status == "success" ? collected - fee : 0
            lines.append(try render(spec, renderer, "transaction", [
                "occurred_at": at(date, second), "merchant_id": .text("1900000109"), "merchant_order": .text(order),
                "reference": .text(reference), "type": .text("collection"), "status": .text(status),
                "amount": money(collected), "fee": money(fee), "settled": money(paidOut), "remark": .text("还款"),
            ]))
            count += 1
            amount += collected
            fees += fee
            settled += paidOut
        }
        let collected = repayments.filter { $0.type != .compensation }
        for (index, repayment) in collected.enumerated() {
            if index == 0 && collected.count > 2 { continue }
            try line(repayment.id, repayment.reference, repayment.paidAt, repayment.total + (index == 1 ? 1 : 0), status: "success")
        }
        try line("R\(compact(date))FAILED", "4200\(compact(date))FAILED", 12 * 3600, 10000, status: "failed")
        try line("R\(compact(date))UNKNOWN", "4200\(compact(date))UNKNOWN", 13 * 3600, 2500, status: "success")
        // The summary title line is an ignored kind: written as the channel writes it.
        lines.append(TextEncoder.encode("总交易单数,总交易金额,总手续费,总结算金额", as: .gbk)!)
        lines.append(try render(spec, renderer, "summary", ["record_count": .integer(Int64(count)), "total_amount": money(amount),
                                                            "fee_total": money(fees), "settled_total": money(settled)]))
        return (try write(lines, separator: [0x0D, 0x0A], to: path), settled)
    }

    /// The bank's statement of its lending account: the day's disbursements out, the
    /// channel's settlement in.
    private func writeStatement(_ loans: [Loan], settled: Int64, to path: String) throws -> String {
        // The lending account holds enough for the day: at least 5,000,000.00, rounded up.
        let disbursed = loans.reduce(0) { $0 + $1.principal }
        let opening = max(500_000_000, (disbursed * 12 / 10 / 100_000_000 + 1) * 100_000_000)
        let closing = opening - disbursed + settled
        func amount(_ minor: Int64) -> String { DecimalAmount(units: abs(minor), scale: 2).description }
        func direction(_ minor: Int64) -> String { minor < 0 ? "DBIT" : "CRDT" }
        var xml = """
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

            """
        for (index, loan) in loans.enumerated() {
            xml += """
                      <Ntry><NtryRef>\(loan.id)</NtryRef><Amt Ccy="CNY">\(amount(loan.principal))</Amt><CdtDbtInd>DBIT</CdtDbtInd>\
                <Sts><Cd>BOOK</Cd></Sts><BookgDt><Dt>\(date)</Dt></BookgDt><ValDt><Dt>\(date)</Dt></ValDt>\
                <AcctSvcrRef>BK\(compact(date))\(pad(index + 1, 6))</AcctSvcrRef>\
                <NtryDtls><TxDtls><Refs><EndToEndId>C\(loan.id.dropFirst())</EndToEndId></Refs><RmtInf><Ustrd>放款 \(loan.id)</Ustrd></RmtInf></TxDtls></NtryDtls></Ntry>

                """
        }
        xml += """
                  <Ntry><NtryRef>WXPAY-\(compact(date))</NtryRef><Amt Ccy="CNY">\(amount(settled))</Amt><CdtDbtInd>CRDT</CdtDbtInd>\
            <Sts><Cd>BOOK</Cd></Sts><BookgDt><Dt>\(date)</Dt></BookgDt><ValDt><Dt>\(date)</Dt></ValDt>\
            <AcctSvcrRef>BK\(compact(date))SETTLE</AcctSvcrRef><NtryDtls><TxDtls><RmtInf><Ustrd>WXPAY 结算</Ustrd></RmtInf></TxDtls></NtryDtls></Ntry>
                </Stmt>
              </BkToCstmrStmt>
            </Document>

            """
        return try write([Array(xml.utf8)], separator: [], to: path)
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
        var lines = [try header(spec, renderer, "ORG")]
        for (code, name, parent, level, region) in institutions {
            lines.append(try render(spec, renderer, "institution", [
                "code": .text(code), "name": .text(name), "parent_code": parent.map(FieldValue.text) ?? .empty,
                "level": .text(level), "region_code": .text(region), "status": .text("active"),
                "effective_on": .date(CivilDate(year: 2022, month: 9, day: 21)!),
            ]))
        }
        lines.append(try render(spec, renderer, "trailer", ["record_count": .integer(Int64(institutions.count))]))
        return try write(lines, separator: [0x0D, 0x0A], to: path)
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
        var lines = [try header(spec, renderer, "RATE")]
        for (tenor, rate) in [("1y", oneYear), ("5y", fiveYear)] {
            lines.append(try render(spec, renderer, "rate", [
                "rate_type": .text("lpr"), "tenor": .text(tenor), "rate": .decimal(DecimalAmount(units: rate, scale: 4)),
                "published_on": .date(publishedOn), "effective_on": .date(effectiveOn),
            ]))
        }
        lines.append(try render(spec, renderer, "trailer", ["record_count": .integer(2)]))
        return try write(lines, separator: [0x0D, 0x0A], to: path)
    }

    /// The core system's view of the loans the day touched: today's disbursements in full,
    /// and the repaid loans with what remains after today's payment.
    private func writeLoanLedger(_ loans: [Loan], _ repayments: [Repayment], to path: String) throws -> String {
        let (spec, renderer) = try renderer("core-loan-ledger.yaml")
        var lines = [try header(spec, renderer, "LOANLDGR")]
        var outstandingTotal: Int64 = 0
        func snapshot(_ loan: Loan, outstanding: Int64, nextDue: CivilDate?, status: String) throws {
            outstandingTotal += outstanding
            lines.append(try render(spec, renderer, "loan", [
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
        for repayment in repayments {
            let plan = repayment.loan.plan()
            let remaining = repayment.type == .early ? 0 : plan[repayment.period - 1].balance
            let next = remaining == 0 || repayment.period >= plan.count ? nil : plan[repayment.period].due
            try snapshot(repayment.loan, outstanding: remaining, nextDue: next, status: remaining == 0 ? "settled" : "normal")
        }
        lines.append(try render(spec, renderer, "trailer", ["record_count": .integer(Int64(loans.count + repayments.count)),
                                                            "outstanding_total": money(outstandingTotal)]))
        return try write(lines, separator: [0x0D, 0x0A], to: path)
    }

    private func write(_ lines: [[UInt8]], separator: [UInt8], to path: String) throws -> String {
        var bytes: [UInt8] = []
        for line in lines { bytes += line + separator }
        let temporary = path + ".partial"
        guard FileManager.default.createFile(atPath: temporary, contents: Data(bytes)) else {
            throw FileAccessError(path: path, reason: "cannot be written")
        }
        guard rename(temporary, path) == 0 else { throw FileAccessError(path: path, reason: "cannot be renamed into place") }
        return path
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
