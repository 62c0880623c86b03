import Foundation
import GRDB
import ReckonCore
import ReckonFiles

/// What the plan step did for a business day.
public struct PlanStepReport: Sendable {
    /// Loans disbursed that day whose plans were made and stored.
    public var planned = 0
    /// Repayments of that day applied to plan lines.
    public var repaymentsApplied = 0
    /// Loans whose plan-line states were brought up to the day.
    public var loansRefreshed = 0
    public var overdueLines = 0
    /// Penalty interest accrued and not yet paid, on the loans refreshed.
    public var unpaidPenaltyMinor: Int64 = 0
    /// Differences between partners' plans and ours, found that day.
    public var differences = 0
    /// Alerts raised that day, described.
    public var alerts: [String] = []

    public var summary: String {
        "\(planned) planned, \(repaymentsApplied) repayments applied, \(loansRefreshed) loans brought to the day, "
            + "\(overdueLines) overdue lines, \(differences) plan differences, \(alerts.count) alerts"
    }
}

/// Which configured file types carry which events, and how their decimals are scaled:
/// a rate's units in `other_fields` mean something only with its spec's scale.
struct EventSources {
    struct FileType {
        let posts: Bool
        let events: Set<CanonicalEvent>
        /// Decimal scales by event and field name (`loan_disbursed.annual_rate`: 6).
        let scales: [String: Int]
    }

    private var types: [String: FileType] = [:]

    init(config: ReckonConfig) throws(LedgerError) {
        for partner in config.partners {
            for fileType in partner.files {
                let spec: MappingSpec
                do {
                    spec = try SpecFile.load(fileType.specPath)
                } catch {
                    throw LedgerError("\(error)")
                }
                var events = Set<CanonicalEvent>(), scales: [String: Int] = [:]
                for kind in spec.kinds {
                    guard let event = kind.event else { continue }
                    events.insert(event)
                    for field in kind.fields {
                        if case .decimal(let format) = field.type { scales["\(event.rawValue).\(field.name)"] = format.scale }
                    }
                }
                types["\(partner.id)/\(fileType.id)"] = FileType(posts: fileType.posts, events: events, scales: scales)
            }
        }
    }

    func type(_ partner: String, _ fileType: String) -> FileType? { types["\(partner)/\(fileType)"] }
}

/// A received file's event id range.
struct StoredFile {
    let id: Int64
    let partner: String
    let fileType: String
    let businessDate: String
    let name: String
    let firstEventID: Int64
    let lastEventID: Int64
}

/// The plan step of a business day D (issue 5):
///
/// 1. plans for the loans disbursed on D are made from their product's settings and stored,
///    with the contract they were made from;
/// 2. D's repayments are applied to plan lines (penalty, fee, interest, principal; early
///    settlements close the loan), and every loan with an open line due by D is brought to
///    D: overdue status and penalty interest;
/// 3. partners' plans received on D are compared with ours period by period, and every
///    difference is recorded; a loan disbursed on D − 1 without any partner plan raises an
///    alert (seed 000 §15 task f).
///
/// One transaction: a crash leaves the day as it was, and running the step again for the
/// same day gives the same rows.
struct PlanStep {
    let db: Database
    let config: ReckonConfig
    let sources: EventSources
    let date: CivilDate
    var reference: ReferenceData
    var report = PlanStepReport()
    /// Files whose repayments are ours (posting types), by id.
    private var postingFiles = Set<Int64>()

    init(db: Database, config: ReckonConfig, sources: EventSources, reference: ReferenceData, date: CivilDate) throws {
        self.db = db
        self.config = config
        self.sources = sources
        self.reference = reference
        self.date = date
        try addStoredBaseRates()
        for file in try files() where sources.type(file.partner, file.fileType)?.posts == true {
            postingFiles.insert(file.id)
        }
    }

    mutating func run() throws -> PlanStepReport {
        let today = try files(on: date)
        var touched = Set<String>()
        for file in today {
            guard let type = sources.type(file.partner, file.fileType) else { continue }
            if type.posts && type.events.contains(.loanDisbursed) {
                touched.formUnion(try planLoans(in: file, type: type))
            }
            if type.posts && type.events.contains(.repayment) {
                touched.formUnion(try repaymentLoans(in: file))
            }
        }
        // Every loan with a line due by D and not closed: its overdue status and penalty move on.
        for loan in try String.fetchAll(db, sql: """
            SELECT DISTINCT loan_id FROM plan_line WHERE status IN ('open', 'due', 'overdue') AND due_on <= ?
            """, arguments: [date.description]) {
            touched.insert(loan)
        }
        for loan in touched.sorted() {
            try refresh(loan)
        }
        for file in today where sources.type(file.partner, file.fileType)?.events.contains(.planLine) == true {
            try comparePlans(in: file)
        }
        try checkMissingPartnerPlans()
        return report
    }

    // MARK: Reading the day's files

    func files(on day: CivilDate? = nil) throws -> [StoredFile] {
        var sql = """
            SELECT id, partner, file_type, business_date, name, first_event_id, last_event_id FROM received_file
            WHERE status = 'posted' AND first_event_id IS NOT NULL
            """
        var arguments: StatementArguments = []
        if let day {
            sql += " AND business_date = ?"
            arguments += [day.description]
        }
        return try Row.fetchAll(db, sql: sql + " ORDER BY id", arguments: arguments).map {
            StoredFile(id: $0[0], partner: $0[1], fileType: $0[2], businessDate: $0[3], name: $0[4],
                       firstEventID: $0[5], lastEventID: $0[6])
        }
    }

    static func fields(_ json: String?) -> [String: Any] {
        guard let json, let object = try? JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any] else { return [:] }
        return object
    }

    /// Base rates ingested from files (the core system's base-rate file) join the shipped
    /// history; a file's fixing for the same tenor and day wins.
    private mutating func addStoredBaseRates() throws {
        for file in try files() {
            guard let type = sources.type(file.partner, file.fileType), type.events.contains(.baseRate) else { continue }
            let scale = type.scales["base_rate.rate"] ?? 4
            for row in try Row.fetchAll(db, sql: """
                SELECT event_date, other_fields FROM event WHERE id BETWEEN ? AND ? AND kind = 'base_rate' AND active = 1
                """, arguments: [file.firstEventID, file.lastEventID]) {
                let fields = Self.fields(row[1])
                guard let published = CivilDate(iso: (row[0] as String?) ?? ""), let tenor = fields["tenor"] as? String,
                      let units = (fields["rate"] as? NSNumber)?.int64Value else { continue }
                reference.baseRates.add(.init(tenor: tenor, publishedOn: published,
                                              percent: DecimalAmount(units: units, scale: scale).decimal))
            }
        }
    }

    // MARK: 1. New plans

    /// Plans the file's loans that have no plan yet; returns their ids.
    private mutating func planLoans(in file: StoredFile, type: EventSources.FileType) throws -> [String] {
        var planned: [String] = []
        let rateScale = type.scales["loan_disbursed.annual_rate"] ?? 6
        for row in try Row.fetchAll(db, sql: """
            SELECT e.id, e.loan_id, e.principal_minor, e.currency, e.event_date, e.other_fields, e.line
            FROM event e WHERE e.id BETWEEN ? AND ? AND e.kind = 'loan_disbursed' AND e.active = 1
              AND NOT EXISTS (SELECT 1 FROM loan WHERE loan_id = e.loan_id)
            """, arguments: [file.firstEventID, file.lastEventID]) {
            let eventID: Int64 = row[0], loanID: String = row[1], line: Int = row[6]
            let fields = Self.fields(row[5])
            let product = fields["product"] as? String ?? ""
            do {
                guard let principal = row[2] as Int64?, let start = CivilDate(iso: (row[4] as String?) ?? "") else {
                    throw PlanError("the disbursement has no principal or day")
                }
                let term = (fields["term"] as? NSNumber)?.intValue ?? 0
                let statedRate = (fields["annual_rate"] as? NSNumber).map { DecimalAmount(units: $0.int64Value, scale: rateScale).decimal }
                let statedMethod = (fields["repay_method"] as? String).flatMap(RepaymentMethod.init(text:))
                let firstDue = (fields["first_due_on"] as? String).flatMap { CivilDate(iso: $0) }
                let settings = config.product(product)?.plan
                    ?? ProductPlanSettings(method: statedMethod ?? .equalInstallment, pricing: .contract)
                let contract = try LoanContract(settings: settings, principalMinor: principal, term: term, startDate: start,
                                                firstDueDate: nil, statedRate: statedRate)
                let plan = try PlanEngine.schedule(contract.planTerms(calendar: reference.calendar, baseRates: reference.baseRates))
                try db.execute(sql: """
                    INSERT INTO loan (loan_id, event_id, partner, product, currency, principal_minor, disbursed_on, contract,
                                      annual_rate, status, as_of, planned_on)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'active', ?, ?)
                    """, arguments: [loanID, eventID, file.partner, product, row[3] as String, principal, start.description,
                                     contract.json(), "\(plan.annualRate)", date.description, date.description])
                try store(plan.lines, loan: loanID)
                planned.append(loanID)
                report.planned += 1
                // What the disbursement record says against what the plan makes of it.
                if let statedRate, statedRate != plan.annualRate {
                    try recordDifference(partner: file.partner, loan: loanID, period: 0, field: "annual_rate",
                                         ours: RateText.percent(plan.annualRate), theirs: RateText.percent(statedRate), eventID: eventID)
                }
                if let firstDue, firstDue != plan.lines[0].dueDate {
                    try recordDifference(partner: file.partner, loan: loanID, period: 1, field: "due_on",
                                         ours: plan.lines[0].dueDate.description, theirs: firstDue.description, eventID: eventID)
                }
            } catch let error as PlanError {
                try raise("plan_failed", subject: loanID,
                          "\(file.partner)/\(file.name) line \(line): loan \(loanID) (product \(product)) cannot be planned: \(error)")
            }
        }
        return planned
    }

    private func store(_ lines: [PlanLine], loan: String) throws {
        let statement = try db.cachedStatement(sql: """
            INSERT INTO plan_line (loan_id, period, accrual_start, scheduled_on, due_on, days, annual_rate,
                                   principal_minor, interest_minor, balance_minor, interest_due_minor, status)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'open')
            ON CONFLICT (loan_id, period) DO UPDATE SET
                accrual_start = excluded.accrual_start, scheduled_on = excluded.scheduled_on, due_on = excluded.due_on,
                days = excluded.days, annual_rate = excluded.annual_rate, principal_minor = excluded.principal_minor,
                interest_minor = excluded.interest_minor, balance_minor = excluded.balance_minor
            """)
        for line in lines {
            try statement.execute(arguments: [loan, line.period, line.accrualStart.description, line.scheduledDate.description,
                                              line.dueDate.description, line.days, "\(line.annualRate)", line.principalMinor,
                                              line.interestMinor, line.balanceMinor, line.interestMinor])
        }
    }

    // MARK: 2. Repayments, overdue status and penalty

    /// The loans the file's repayments are for; a repayment for a loan without a plan
    /// raises an alert.
    private mutating func repaymentLoans(in file: StoredFile) throws -> Set<String> {
        var loans = Set<String>()
        for row in try Row.fetchAll(db, sql: """
            SELECT e.loan_id, e.line, e.reference, e.other_fields, EXISTS (SELECT 1 FROM loan WHERE loan_id = e.loan_id)
            FROM event e WHERE e.id BETWEEN ? AND ? AND e.kind = 'repayment' AND e.active = 1
            """, arguments: [file.firstEventID, file.lastEventID]) {
            guard let loan = row[0] as String? else { continue }
            if Self.fields(row[3])["status"] as? String == "failed" { continue }
            if row[4] as Bool {
                loans.insert(loan)
                report.repaymentsApplied += 1
            } else {
                try raise("repayment_without_plan", subject: "\(file.partner)/\(file.name):\(row[1] as Int)",
                          "\(file.partner)/\(file.name) line \(row[1] as Int): a repayment for loan \(loan), which has no plan here")
            }
        }
        return loans
    }

    /// The loan's repayments up to `day`, from the files that post (ours, not a partner's view).
    static func payments(_ db: Database, loan: String, through day: CivilDate, postingFiles: Set<Int64>) throws -> [LoanPayment] {
        try Row.fetchAll(db, sql: """
            SELECT id, file_id, event_date, period, principal_minor, interest_minor, penalty_minor, fee_minor, other_fields
            FROM event WHERE loan_id = ? AND kind = 'repayment' AND active = 1 AND event_date <= ?
            """, arguments: [loan, day.description]).compactMap { row -> LoanPayment? in
            guard postingFiles.contains(row[1]), let paidOn = CivilDate(iso: (row[2] as String?) ?? "") else { return nil }
            let fields = fields(row[8])
            guard fields["status"] as? String != "failed" else { return nil }
            let parts: [Int64] = [row[4] ?? 0, row[5] ?? 0, row[6] ?? 0, row[7] ?? 0]
            let kind = LoanPayment.Kind(rawValue: fields["repay_type"] as? String ?? "normal") ?? .normal
            return LoanPayment(id: row[0], paidOn: paidOn, amountMinor: parts.reduce(0, +), kind: kind,
                               period: (row[3] as Int64?).map { Int($0) })
        }
    }

    /// Recomputes a loan's plan-line states as of the day and stores them.
    private mutating func refresh(_ loan: String) throws {
        guard let row = try Row.fetchOne(db, sql: "SELECT contract FROM loan WHERE loan_id = ?", arguments: [loan]) else { return }
        let contract = try LoanContract.from(json: row[0])
        // Made again from the stored contract: the same plan, but a floating rate takes any
        // base rate published since.
        let plan = try PlanEngine.schedule(contract.planTerms(calendar: reference.calendar, baseRates: reference.baseRates))
        try store(plan.lines, loan: loan)
        let payments = try Self.payments(db, loan: loan, through: date, postingFiles: postingFiles)
        let position = LoanServicing.position(plan: plan, servicing: contract.servicing, payments: payments, asOf: date)
        let update = try db.cachedStatement(sql: """
            UPDATE plan_line SET interest_due_minor = ?, paid_principal_minor = ?, paid_interest_minor = ?, paid_penalty_minor = ?,
                paid_fee_minor = ?, penalty_accrued_minor = ?, status = ?, closed_on = ?, overdue_days = ?
            WHERE loan_id = ? AND period = ?
            """)
        for state in position.lines {
            try update.execute(arguments: [state.interestDueMinor, state.paidPrincipalMinor, state.paidInterestMinor,
                                           state.paidPenaltyMinor, state.paidFeeMinor, state.penaltyAccruedMinor,
                                           state.status.rawValue, state.closedOn?.description, state.overdueDays,
                                           loan, state.line.period])
        }
        try db.execute(sql: "DELETE FROM repayment_allocation WHERE loan_id = ?", arguments: [loan])
        let allocate = try db.cachedStatement(sql: """
            INSERT INTO repayment_allocation (event_id, period, loan_id, penalty_minor, fee_minor, interest_minor, principal_minor)
            VALUES (?, ?, ?, ?, ?, ?, ?)
            """)
        for allocation in position.allocations {
            try allocate.execute(arguments: [allocation.paymentID, allocation.period, loan, allocation.penaltyMinor,
                                             allocation.feeMinor, allocation.interestMinor, allocation.principalMinor])
        }
        for (paymentID, amount) in position.unapplied {
            let place = try self.place(ofEvent: paymentID)
            try raise("repayment_unapplied", subject: place,
                      "\(place): loan \(loan) was paid \(DecimalAmount(units: amount, scale: 2)) more than it owed")
        }
        for (paymentID, payoff, paid) in position.shortSettlements {
            let place = try self.place(ofEvent: paymentID)
            try raise("early_settlement_short", subject: place,
                      "\(place): loan \(loan)'s early settlement paid \(DecimalAmount(units: paid, scale: 2)), the pay-off was \(DecimalAmount(units: payoff, scale: 2)); applied as a partial payment")
        }
        let closed = position.lines.allSatisfy(\.isClosed)
        let closedOn = position.settledOn ?? (closed ? position.lines.compactMap(\.closedOn).max() : nil)
        try db.execute(sql: "UPDATE loan SET status = ?, settled_on = ?, as_of = ? WHERE loan_id = ?",
                       arguments: [closed ? "settled" : "active", closedOn?.description, date.description, loan])
        report.loansRefreshed += 1
        report.overdueLines += position.overdueLines.count
        report.unpaidPenaltyMinor += position.unpaidPenaltyMinor
    }

    /// Where an event came from, by file and line (no row ids: re-runs give the same text).
    private func place(ofEvent id: Int64) throws -> String {
        guard let row = try Row.fetchOne(db, sql: """
            SELECT f.partner, f.name, e.line FROM event e JOIN received_file f ON e.file_id = f.id WHERE e.id = ?
            """, arguments: [id]) else { return "event \(id)" }
        return "\(row[0] as String)/\(row[1] as String) line \(row[2] as Int)"
    }

    // MARK: 3. Plan checks

    /// Compares a partner's plan lines with ours, loan by loan and period by period.
    private mutating func comparePlans(in file: StoredFile) throws {
        var theirs: [String: [(period: Int, due: String?, principal: Int64?, interest: Int64?, eventID: Int64)]] = [:]
        for row in try Row.fetchAll(db, sql: """
            SELECT id, loan_id, period, event_date, principal_minor, interest_minor FROM event
            WHERE id BETWEEN ? AND ? AND kind = 'plan_line' AND active = 1
            """, arguments: [file.firstEventID, file.lastEventID]) {
            guard let loan = row[1] as String?, let period = row[2] as Int64? else { continue }
            theirs[loan, default: []].append((Int(period), row[3], row[4], row[5], row[0]))
        }
        for (loan, lines) in theirs.sorted(by: { $0.key < $1.key }) {
            try db.execute(sql: "DELETE FROM plan_difference WHERE partner = ? AND loan_id = ? AND field <> 'annual_rate'",
                           arguments: [file.partner, loan])
            try db.execute(sql: "UPDATE alert SET cleared_on = ? WHERE kind = 'missing_partner_plan' AND subject = ? AND cleared_on IS NULL",
                           arguments: [date.description, loan])
            let ours = try Row.fetchAll(db, sql: """
                SELECT period, due_on, principal_minor, interest_minor FROM plan_line WHERE loan_id = ? ORDER BY period
                """, arguments: [loan])
            guard !ours.isEmpty else {
                try recordDifference(partner: file.partner, loan: loan, period: 0, field: "plan",
                                     ours: nil, theirs: "\(lines.count) periods", eventID: lines[0].eventID)
                continue
            }
            var byPeriod: [Int: Row] = [:]
            for row in ours { byPeriod[row[0]] = row }
            var seen = Set<Int>()
            for line in lines.sorted(by: { $0.period < $1.period }) {
                seen.insert(line.period)
                guard let our = byPeriod[line.period] else {
                    try recordDifference(partner: file.partner, loan: loan, period: line.period, field: "period",
                                         ours: nil, theirs: "present", eventID: line.eventID)
                    continue
                }
                let money = { (minor: Int64?) in minor.map { DecimalAmount(units: $0, scale: 2).description } }
                let comparisons: [(String, String?, String?)] = [
                    ("due_on", our[1], line.due),
                    ("principal", money(our[2]), money(line.principal)),
                    ("interest", money(our[3]), money(line.interest)),
                ]
                for (field, mine, partner) in comparisons where mine != partner {
                    try recordDifference(partner: file.partner, loan: loan, period: line.period, field: field,
                                         ours: mine, theirs: partner, eventID: line.eventID)
                }
            }
            for period in byPeriod.keys.sorted() where !seen.contains(period) {
                try recordDifference(partner: file.partner, loan: loan, period: period, field: "period",
                                     ours: "present", theirs: nil, eventID: nil)
            }
        }
    }

    private mutating func recordDifference(partner: String, loan: String, period: Int, field: String,
                                           ours: String?, theirs: String?, eventID: Int64?) throws {
        try db.execute(sql: """
            INSERT INTO plan_difference (business_date, partner, loan_id, period, field, ours, theirs, event_id, found_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT (partner, loan_id, period, field) DO UPDATE SET
                ours = excluded.ours, theirs = excluded.theirs, event_id = excluded.event_id
            """, arguments: [date.description, partner, loan, period, field, ours, theirs, eventID, timestamp()])
        report.differences += 1
    }

    /// Seed 000 §15 f: the day after a loan is disbursed, its plan should have come from a
    /// partner. Only when some configured file type carries plans.
    private mutating func checkMissingPartnerPlans() throws {
        guard config.partners.contains(where: { partner in
            partner.files.contains { sources.type(partner.id, $0.id)?.events.contains(.planLine) == true }
        }), let yesterday = date.adding(days: -1) else { return }
        for loan in try String.fetchAll(db, sql: """
            SELECT l.loan_id FROM loan l WHERE l.disbursed_on <= ? AND l.planned_on < ?
              AND NOT EXISTS (SELECT 1 FROM event e WHERE e.loan_id = l.loan_id AND e.kind = 'plan_line' AND e.active = 1)
              AND NOT EXISTS (SELECT 1 FROM alert a WHERE a.kind = 'missing_partner_plan' AND a.subject = l.loan_id)
            ORDER BY l.loan_id
            """, arguments: [yesterday.description, date.description]) {
            try raise("missing_partner_plan", subject: loan,
                      "loan \(loan) was disbursed on or before \(yesterday) and no partner has sent its plan")
        }
    }

    /// Raises an alert once per kind and subject.
    private mutating func raise(_ kind: String, subject: String, _ message: String) throws {
        try db.execute(sql: """
            INSERT INTO alert (business_date, kind, subject, message, raised_at) VALUES (?, ?, ?, ?, ?)
            ON CONFLICT (kind, subject) DO NOTHING
            """, arguments: [date.description, kind, subject, message, timestamp()])
        if db.changesCount > 0 { report.alerts.append("\(kind): \(message)") }
    }
}

extension PlanStep {
    /// A loan's plan and its position as of `day`, computed the way the step computes it.
    func view(_ loan: String, asOf day: CivilDate?) throws -> Ledger.LoanPlanView? {
        guard let row = try Row.fetchOne(db, sql: """
            SELECT contract, product, partner, currency, disbursed_on, status, as_of FROM loan WHERE loan_id = ?
            """, arguments: [loan]) else { return nil }
        let contract = try LoanContract.from(json: row[0])
        let asOf = day ?? CivilDate(iso: row[6] as String) ?? date
        let plan = try PlanEngine.schedule(contract.planTerms(calendar: reference.calendar, baseRates: reference.baseRates))
        let payments = try Self.payments(db, loan: loan, through: asOf, postingFiles: postingFiles)
        let position = LoanServicing.position(plan: plan, servicing: contract.servicing, payments: payments, asOf: asOf)
        return Ledger.LoanPlanView(loanID: loan, product: row[1], partner: row[2], currency: row[3],
                                   disbursedOn: row[4], contract: contract, plan: plan, position: position, payments: payments)
    }
}

extension Ledger {
    /// Runs the plan step for a business day in one transaction (see ``PlanStep``).
    public func runPlanStep(date: CivilDate, config: ReckonConfig, reference: ReferenceData) throws(LedgerError) -> PlanStepReport {
        let sources = try EventSources(config: config)
        return try write { db in
            var step = try PlanStep(db: db, config: config, sources: sources, reference: reference, date: date)
            return try step.run()
        }
    }

    public struct LoanPlanView: Sendable {
        public let loanID: String
        public let product: String
        public let partner: String
        public let currency: String
        public let disbursedOn: String
        public let contract: LoanContract
        public let plan: RepaymentPlan
        public let position: LoanPosition
        public let payments: [LoanPayment]
    }

    /// A stored loan's plan with its position as of `asOf` (default: the day of the last
    /// plan step that touched it); nil when the ledger has no plan for the loan.
    public func loanPlan(_ loan: String, asOf: CivilDate?, config: ReckonConfig,
                         reference: ReferenceData) throws(LedgerError) -> LoanPlanView? {
        let sources = try EventSources(config: config)
        return try read { db in
            let step = try PlanStep(db: db, config: config, sources: sources, reference: reference, date: asOf ?? CivilDate(year: 2000, month: 1, day: 1)!)
            return try step.view(loan, asOf: asOf)
        }
    }

    public struct Alert: Sendable {
        public let businessDate: String
        public let kind: String
        public let subject: String
        public let message: String
        public let clearedOn: String?
    }

    /// Alerts, oldest first; of one business day when given.
    public func alerts(date: CivilDate? = nil) throws(LedgerError) -> [Alert] {
        try read { db in
            try Row.fetchAll(db, sql: """
                SELECT business_date, kind, subject, message, cleared_on FROM alert
                WHERE ?1 IS NULL OR business_date = ?1 ORDER BY business_date, kind, subject
                """, arguments: [date?.description]).map {
                Alert(businessDate: $0[0], kind: $0[1], subject: $0[2], message: $0[3], clearedOn: $0[4])
            }
        }
    }

    public struct PlanDifference: Sendable {
        public let businessDate: String
        public let partner: String
        public let loanID: String
        public let period: Int
        public let field: String
        public let ours: String?
        public let theirs: String?
    }

    /// Differences between partners' plans (and disbursement records) and ours.
    public func planDifferences(date: CivilDate? = nil, loan: String? = nil) throws(LedgerError) -> [PlanDifference] {
        try read { db in
            try Row.fetchAll(db, sql: """
                SELECT business_date, partner, loan_id, period, field, ours, theirs FROM plan_difference
                WHERE (?1 IS NULL OR business_date = ?1) AND (?2 IS NULL OR loan_id = ?2)
                ORDER BY business_date, partner, loan_id, period, field
                """, arguments: [date?.description, loan]).map {
                PlanDifference(businessDate: $0[0], partner: $0[1], loanID: $0[2], period: $0[3], field: $0[4],
                               ours: $0[5], theirs: $0[6])
            }
        }
    }
}
