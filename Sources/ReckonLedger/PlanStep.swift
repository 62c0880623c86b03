import Crypto
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
    /// Loans whose plan-line states were brought up to the day: recomputed, or left as they
    /// were because nothing they are computed from has changed since.
    public var loansRefreshed: Int { loansRecomputed + loansUnchanged }
    /// Loans recomputed from their contract and repayments.
    public var loansRecomputed = 0
    /// Loans whose inputs (contract, day, repayments, reference data) are the ones their
    /// stored states were computed from: not recomputed (the result would be the same).
    public var loansUnchanged = 0
    public var overdueLines = 0
    /// Penalty interest accrued and not yet paid, on the loans refreshed.
    public var unpaidPenaltyMinor: Int64 = 0
    /// Differences between partners' plans and ours, found that day.
    public var differences = 0
    /// Alerts raised that day.
    public var alertCount = 0
    /// The first of them, described (all of them are in the ledger: `reckon plan alerts`).
    public var alerts: [String] = []
    static let describedAlerts = 100

    /// `20 planned, 1 repayment applied, …, 1 plan difference, 2 alerts`: counts grouped and
    /// in agreement with their nouns (``Plural``).
    public var summary: String {
        let count = AmountText.grouped
        return "\(count(planned)) planned, \(Plural.count(repaymentsApplied, "repayment")) applied, "
            + "\(Plural.count(loansRefreshed, "loan")) brought to the day "
            + "(\(count(loansRecomputed)) recomputed, \(count(loansUnchanged)) unchanged), "
            + "\(Plural.count(overdueLines, "overdue line")), \(Plural.count(differences, "plan difference")), "
            + Plural.count(alertCount, "alert")
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
    /// `posted`, or `superseded` by a corrected re-send (its events retired).
    let status: String
    let firstEventID: Int64
    let lastEventID: Int64
}

/// The plan step of a business day D (issue 5):
///
/// 1. plans for the loans disbursed on D are made from their product's settings and stored,
///    with the contract they were made from (a loan whose disbursement record was corrected
///    is planned again);
/// 2. every loan with a repayment in D's files, and every loan with a line due by D that is
///    not yet brought to D, is recomputed from its contract and all its repayments: plan
///    lines paid (penalty, fee, interest, principal), settled, overdue, penalty accrued;
/// 3. partners' plans received on D are compared with ours period by period (in SQL, so a
///    plan file of any size takes flat memory), and every difference is recorded; a loan
///    disbursed by D − 1 without any partner plan raises an alert (seed 000 §15 task f).
///
/// Files are read a page of events at a time. One transaction: a crash leaves the day as it
/// was, and running the step again for the same day gives the same rows.
struct PlanStep {
    let db: Database
    let config: ReckonConfig
    let sources: EventSources
    let date: CivilDate
    /// The latest business day the plan step has run for, this one included: every loan the
    /// step recomputes is brought to it, so an earlier day run late (a missed day caught up,
    /// days run backwards) leaves the states running the days in order leaves.
    private var ledgerDay: CivilDate
    var reference: ReferenceData
    var report = PlanStepReport()
    /// Hears each phase as it starts, and counts as they grow, a page at a time.
    var progress: (RunProgress) -> Void = { _ in }
    /// Asked at each phase and each page of events: true abandons the step (``Abandoned``),
    /// its transaction rolled back whole, so a graceful stop does not wait for a long day.
    var shouldStop: () -> Bool = { false }
    /// Files whose repayments are ours (posting types), by id.
    private var postingFiles = Set<Int64>()
    /// The per-period statements, bound through SQLite's C API (a day touches millions of lines).
    private let insertLine: Prepared
    private let updateLine: Prepared
    /// Rates as stored text, by value (a plan has one or a few).
    private var rateTexts: [Decimal: String] = [:]
    /// The reference data plans are made with (calendar, base rates, stored ones included),
    /// as a digest: part of every loan's inputs fingerprint.
    private var referenceFingerprint = ""

    /// Raise it when a change to the plan engine or the servicing rules changes what a
    /// stored loan's plan-line states would be: every loan's inputs fingerprint then
    /// changes, and the next plan step recomputes each loan it touches instead of keeping
    /// states the earlier rules made.
    static let computationRevision = 2

    /// Events read from a file at a time.
    static let pageRows = 1000
    /// How far back the missing-partner-plan check looks: a plan still missing after a
    /// month has had its alert for weeks.
    static let missingPlanWindowDays = 31

    init(db: Database, config: ReckonConfig, sources: EventSources, reference: ReferenceData, date: CivilDate) throws {
        self.db = db
        self.config = config
        self.sources = sources
        self.reference = reference
        self.date = date
        ledgerDay = date
        insertLine = try Prepared(db, """
            INSERT INTO plan_line (loan_id, period, accrual_start, scheduled_on, due_on, days, annual_rate,
                                   principal_minor, interest_minor, fee_minor, balance_minor, interest_due_minor, fee_due_minor, status)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'open')
            ON CONFLICT (loan_id, period) DO UPDATE SET
                accrual_start = excluded.accrual_start, scheduled_on = excluded.scheduled_on, due_on = excluded.due_on,
                days = excluded.days, annual_rate = excluded.annual_rate, principal_minor = excluded.principal_minor,
                interest_minor = excluded.interest_minor, fee_minor = excluded.fee_minor, balance_minor = excluded.balance_minor
            """)
        updateLine = try Prepared(db, """
            UPDATE plan_line SET interest_due_minor = ?, fee_due_minor = ?, paid_principal_minor = ?, paid_interest_minor = ?,
                paid_penalty_minor = ?, paid_fee_minor = ?, penalty_accrued_minor = ?, status = ?, closed_on = ?, overdue_days = ?
            WHERE loan_id = ? AND period = ?
            """)
        try addStoredBaseRates()
        referenceFingerprint = Self.fingerprint(of: self.reference)
        for file in try files() where sources.type(file.partner, file.fileType)?.posts == true {
            postingFiles.insert(file.id)
        }
    }

    mutating func run() throws -> PlanStepReport {
        try db.execute(sql: "INSERT OR IGNORE INTO plan_step_day (business_date) VALUES (?)", arguments: [date.description])
        ledgerDay = try Self.latestDay(db) ?? date
        let today = try files(on: date)
        for file in today {
            guard let type = sources.type(file.partner, file.fileType), type.posts, type.events.contains(.loanDisbursed) else { continue }
            try stage("new loans of \(file.partner)/\(file.name)")
            if file.status == "posted" {
                try planLoans(in: file, type: type)
            } else {
                try withdrawPlans(in: file)
            }
        }
        // A superseded repayment file's loans are recomputed too: they lose what it paid.
        for file in today {
            guard let type = sources.type(file.partner, file.fileType), type.posts, type.events.contains(.repayment) else { continue }
            try stage("repayments of \(file.partner)/\(file.name)")
            try refreshRepaidLoans(in: file)
        }
        try stage("loans with a period due by \(date)")
        try refreshDueLoans()
        for file in today where file.status == "posted" {
            guard sources.type(file.partner, file.fileType)?.events.contains(.planLine) == true else { continue }
            try stage("\(file.partner)/\(file.name) compared with our plans")
            try comparePlans(in: file)
        }
        try stage("loans without a partner plan")
        try checkMissingPartnerPlans()
        return report
    }

    private func stage(_ text: String) throws(Abandoned) {
        if shouldStop() { throw Abandoned() }
        progress(RunProgress(.plan, "plan \(date): \(text)", isStage: true))
    }

    /// How far the step has come, after each page of events; where a stop is heard.
    private func counted() throws(Abandoned) {
        if shouldStop() { throw Abandoned() }
        progress(RunProgress(.plan, "plan \(date): \(AmountText.grouped(report.planned)) planned, "
                             + "\(Plural.count(report.repaymentsApplied, "repayment")) applied, "
                             + "\(Plural.count(report.loansRefreshed, "loan")) brought to the day", isStage: false))
    }

    /// The latest business day the plan step has run for.
    static func latestDay(_ db: Database) throws -> CivilDate? {
        try String.fetchOne(db, sql: "SELECT max(business_date) FROM plan_step_day").flatMap { CivilDate(iso: $0) }
    }

    // MARK: Reading files

    func files(on day: CivilDate? = nil) throws -> [StoredFile] {
        var sql = """
            SELECT id, partner, file_type, business_date, name, status, first_event_id, last_event_id FROM received_file
            WHERE first_event_id IS NOT NULL
            """
        var arguments: StatementArguments = []
        if let day {
            sql += " AND business_date = ? AND status IN ('posted', 'superseded')"
            arguments += [day.description]
        } else {
            sql += " AND status = 'posted'"
        }
        return try Row.fetchAll(db, sql: sql + " ORDER BY id", arguments: arguments).map {
            StoredFile(id: $0[0], partner: $0[1], fileType: $0[2], businessDate: $0[3], name: $0[4], status: $0[5],
                       firstEventID: $0[6], lastEventID: $0[7])
        }
    }

    /// A file's events of one kind, a page at a time in file order: active ones, or, for a
    /// superseded file, the ones it retired.
    func forEachPage(of file: StoredFile, kind: CanonicalEvent, columns: String, _ body: ([Row]) throws -> Void) throws {
        let statement = try db.cachedStatement(sql: """
            SELECT id, \(columns) FROM event WHERE id > ? AND id <= ? AND kind = ? AND active = ? ORDER BY id LIMIT ?
            """)
        var after = file.firstEventID - 1
        while true {
            let rows = try Row.fetchAll(statement, arguments: [after, file.lastEventID, kind.rawValue,
                                                               file.status == "posted" ? 1 : 0, Self.pageRows])
            guard let last = rows.last else { return }
            try body(rows)
            after = last[0]
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
            try forEachPage(of: file, kind: .baseRate, columns: "event_date, other_fields") { rows in
                for row in rows {
                    let fields = Self.fields(row[2])
                    guard let published = CivilDate(iso: (row[1] as String?) ?? ""), let tenor = fields["tenor"] as? String,
                          let units = (fields["rate"] as? NSNumber)?.int64Value else { continue }
                    reference.baseRates.add(.init(tenor: tenor, publishedOn: published,
                                                  percent: DecimalAmount(units: units, scale: scale).decimal))
                }
            }
        }
    }

    // MARK: 1. New plans

    /// Plans the file's loans that have no plan yet, or whose disbursement record was
    /// corrected since they were planned.
    private mutating func planLoans(in file: StoredFile, type: EventSources.FileType) throws {
        let rateScale = type.scales["loan_disbursed.annual_rate"] ?? 6
        let plannedFrom = try db.cachedStatement(sql: "SELECT event_id FROM loan WHERE loan_id = ?")
        try forEachPage(of: file, kind: .loanDisbursed, columns: "loan_id, principal_minor, currency, event_date, other_fields, line") { rows in
            for row in rows {
                let eventID: Int64 = row[0]
                guard let loanID = row[1] as String? else { continue }
                if let earlier = try Int64.fetchOne(plannedFrom, arguments: [loanID]) {
                    if earlier == eventID { continue }
                    // Planned from a record a corrected re-send has since retired: plan it again.
                    guard try Bool.fetchOne(db, sql: "SELECT active FROM event WHERE id = ?", arguments: [earlier]) != true else { continue }
                    for table in ["repayment_allocation", "settlement_quote", "plan_line", "loan"] {
                        try db.execute(sql: "DELETE FROM \(table) WHERE loan_id = ?", arguments: [loanID])
                    }
                }
                try plan(loanID, eventID: eventID, row: row, file: file, rateScale: rateScale)
            }
            try counted()
        }
    }

    /// A loan a corrected re-send no longer has was not disbursed: its plan is withdrawn.
    private mutating func withdrawPlans(in file: StoredFile) throws {
        let planned = try db.cachedStatement(sql: """
            SELECT 1 FROM loan l WHERE l.loan_id = ? AND l.event_id = ?
              AND NOT EXISTS (SELECT 1 FROM event e WHERE e.loan_id = l.loan_id AND e.kind = 'loan_disbursed' AND e.active = 1)
            """)
        try forEachPage(of: file, kind: .loanDisbursed, columns: "loan_id, line") { rows in
            for row in rows {
                guard let loan = row[1] as String?, try Bool.fetchOne(planned, arguments: [loan, row[0] as Int64]) == true else { continue }
                for table in ["repayment_allocation", "settlement_quote", "plan_line", "loan"] {
                    try db.execute(sql: "DELETE FROM \(table) WHERE loan_id = ?", arguments: [loan])
                }
                try raise(.planWithdrawn, subject: loan,
                          "\(file.partner)/\(file.name) line \(row[2] as Int): loan \(loan) is not in the corrected re-send of the file; its plan is withdrawn")
            }
            try counted()
        }
    }

    private mutating func plan(_ loanID: String, eventID: Int64, row: Row, file: StoredFile, rateScale: Int) throws {
        let fields = Self.fields(row[5])
        let product = fields["product"] as? String ?? ""
        let line: Int = row[6]
        do {
            guard let principal = row[2] as Int64?, let start = CivilDate(iso: (row[4] as String?) ?? "") else {
                throw PlanError("the disbursement has no principal or day")
            }
            let term = (fields["term"] as? NSNumber)?.intValue ?? 0
            let statedRate = (fields["annual_rate"] as? NSNumber).map { DecimalAmount(units: $0.int64Value, scale: rateScale).decimal }
            let statedMethod = (fields["repay_method"] as? String).flatMap(RepaymentMethod.init(text:))
            let statedFirstDue = (fields["first_due_on"] as? String).flatMap { CivilDate(iso: $0) }
            // A product without plan settings: the loan's own record says how it is repaid.
            let settings = config.product(product)?.plan
                ?? ProductPlanSettings(method: statedMethod ?? .equalInstallment, pricing: .contract)
            let contract = try LoanContract(settings: settings, principalMinor: principal, term: term, startDate: start,
                                            firstDueDate: nil, statedRate: statedRate)
            let plan = try PlanEngine.schedule(contract.planTerms(calendar: reference.calendar, baseRates: reference.baseRates))
            try db.cachedStatement(sql: """
                INSERT INTO loan (loan_id, event_id, partner, product, currency, principal_minor, disbursed_on, contract,
                                  annual_rate, status, as_of, planned_on)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'active', ?, ?)
                """).execute(arguments: [loanID, eventID, file.partner, product, row[3] as String, principal, start.description,
                                         contract.json(), "\(plan.annualRate)", date.description, date.description])
            try store(plan.lines, loan: loanID)
            report.planned += 1
            // What the disbursement record says against what the plan makes of it.
            if let statedRate, statedRate != plan.annualRate {
                try recordDifference(partner: file.partner, loan: loanID, period: 0, field: "annual_rate",
                                     ours: RateText.percent(plan.annualRate), theirs: RateText.percent(statedRate), eventID: eventID)
            }
            if let statedFirstDue, statedFirstDue != plan.lines[0].dueDate {
                try recordDifference(partner: file.partner, loan: loanID, period: 1, field: "first_due_on",
                                     ours: plan.lines[0].dueDate.description, theirs: statedFirstDue.description, eventID: eventID)
            }
            // What came for the loan before its plan (a day run out of order, a late
            // disbursement file): its repayments are applied and their alerts cleared, its
            // partners' plans compared. A loan whose first due date has passed (planned late,
            // or later days already run) is brought to the ledger's day now.
            if try hasEventsFromOtherDays(loanID) {
                try clearRepaymentsWithoutPlan(loanID)
                try compareStoredPartnerPlans(loanID)
                try refresh(loanID)
            } else if plan.lines[0].dueDate <= ledgerDay {
                try refresh(loanID)
            }
        } catch let error as PlanError {
            try raise(.planFailed, subject: loanID,
                      "\(file.partner)/\(file.name) line \(line): loan \(loanID) (product \(product)) cannot be planned: \(error)")
        }
    }

    /// Whether the loan has repayments or partner plan lines from the files of another day
    /// than this one (this day's are applied and compared by the rest of the step).
    private func hasEventsFromOtherDays(_ loan: String) throws -> Bool {
        try Bool.fetchOne(db.cachedStatement(sql: """
            SELECT 1 FROM event e JOIN received_file f ON f.id = e.file_id
            WHERE e.loan_id = ? AND e.kind IN ('repayment', 'plan_line') AND e.active = 1 AND f.business_date <> ? LIMIT 1
            """), arguments: [loan, date.description]) ?? false
    }

    /// A loan planned now has its plan: the alerts of repayments that came before it are
    /// cleared (kept, as every alert is: they say what came first).
    private func clearRepaymentsWithoutPlan(_ loan: String) throws {
        try db.cachedStatement(sql: """
            UPDATE alert SET cleared_on = ?2 WHERE kind = 'repayment_without_plan' AND cleared_on IS NULL AND subject IN (
                SELECT f.partner || '/' || f.name || ':' || e.line FROM event e JOIN received_file f ON f.id = e.file_id
                WHERE e.loan_id = ?1 AND e.kind = 'repayment')
            """).execute(arguments: [loan, date.description])
    }

    private mutating func store(_ lines: [PlanLine], loan: String) throws {
        for line in lines {
            let rate: String
            if let known = rateTexts[line.annualRate] {
                rate = known
            } else {
                rate = "\(line.annualRate)"
                rateTexts[line.annualRate] = rate
            }
            insertLine.bind(1, loan)
            insertLine.bind(2, line.period)
            insertLine.bind(3, line.accrualStart.description)
            insertLine.bind(4, line.scheduledDate.description)
            insertLine.bind(5, line.dueDate.description)
            insertLine.bind(6, line.days)
            insertLine.bind(7, rate)
            insertLine.bind(8, line.principalMinor)
            insertLine.bind(9, line.interestMinor)
            insertLine.bind(10, line.feeMinor)
            insertLine.bind(11, line.balanceMinor)
            insertLine.bind(12, line.interestMinor)
            insertLine.bind(13, line.feeMinor)
            try insertLine.run()
        }
    }

    // MARK: 2. Repayments, overdue status and penalty

    /// Recomputes the loans the file's repayments are for; a repayment for a loan without a
    /// plan raises an alert.
    private mutating func refreshRepaidLoans(in file: StoredFile) throws {
        let known = try db.cachedStatement(sql: "SELECT 1 FROM loan WHERE loan_id = ?")
        try forEachPage(of: file, kind: .repayment, columns: "loan_id, line, other_fields") { rows in
            var loans: [String] = []
            for row in rows {
                guard let loan = row[1] as String? else { continue }
                if Self.fields(row[3])["status"] as? String == "failed" { continue }
                if try Bool.fetchOne(known, arguments: [loan]) == true {
                    loans.append(loan)
                    if file.status == "posted" { report.repaymentsApplied += 1 }
                } else if file.status == "posted" {
                    try raise(.repaymentWithoutPlan, subject: "\(file.partner)/\(file.name):\(row[2] as Int)",
                              "\(file.partner)/\(file.name) line \(row[2] as Int): a repayment for loan \(loan), which has no plan here")
                }
            }
            // A loan repaid twice in a page is recomputed once.
            for loan in Set(loans).sorted() { try refresh(loan) }
            try counted()
        }
    }

    /// Loans with a line due by the ledger's day (D, or a later day already run) that are not
    /// yet brought to it, a page at a time; each one recomputed leaves the query (its `as_of`
    /// becomes that day).
    private mutating func refreshDueLoans() throws {
        let statement = try db.cachedStatement(sql: """
            SELECT DISTINCT p.loan_id FROM plan_line p JOIN loan l ON l.loan_id = p.loan_id
            WHERE p.status IN ('open', 'due', 'overdue') AND p.due_on <= ?1 AND l.as_of < ?1 LIMIT ?2
            """)
        while true {
            let loans = try String.fetchAll(statement, arguments: [ledgerDay.description, Self.pageRows])
            if loans.isEmpty { return }
            for loan in loans { try refresh(loan) }
            try counted()
        }
    }

    /// The loan's repayments up to `day`, from the files that post (ours, not a partner's view).
    static func payments(_ db: Database, loan: String, through day: CivilDate, postingFiles: Set<Int64>) throws -> [LoanPayment] {
        payments(from: try paymentRows(db, loan: loan, through: day, postingFiles: postingFiles))
    }

    /// The rows of the loan's repayments up to `day` from the files that post, as stored.
    static func paymentRows(_ db: Database, loan: String, through day: CivilDate, postingFiles: Set<Int64>) throws -> [Row] {
        let statement = try db.cachedStatement(sql: """
            SELECT id, file_id, event_date, period, principal_minor, interest_minor, penalty_minor, fee_minor, other_fields
            FROM event WHERE loan_id = ? AND kind = 'repayment' AND active = 1 AND event_date <= ? ORDER BY id
            """)
        return try Row.fetchAll(statement, arguments: [loan, day.description]).filter { postingFiles.contains($0[1]) }
    }

    static func payments(from rows: [Row]) -> [LoanPayment] {
        rows.compactMap { row -> LoanPayment? in
            guard let paidOn = CivilDate(iso: (row[2] as String?) ?? "") else { return nil }
            let fields = fields(row[8])
            guard fields["status"] as? String != "failed" else { return nil }
            let parts: [Int64] = [row[4] ?? 0, row[5] ?? 0, row[6] ?? 0, row[7] ?? 0]
            let kind = LoanPayment.Kind(rawValue: fields["repay_type"] as? String ?? "normal") ?? .normal
            return LoanPayment(id: row[0], paidOn: paidOn, amountMinor: parts.reduce(0, +), kind: kind,
                               period: (row[3] as Int64?).map { Int($0) })
        }
    }

    /// Recomputes a loan's plan-line states from its contract and all its repayments, as of
    /// the ledger's day (the latest day run; states never go back), and
    /// stores them, with the fingerprint of what they were computed from. A loan whose
    /// fingerprint is the stored one is left as it is: recomputing it would give the same
    /// rows (a re-run of an unchanged day; a corrected file, a new repayment, a base rate
    /// or calendar change, a new day all change the fingerprint).
    private mutating func refresh(_ loan: String) throws {
        guard let row = try Row.fetchOne(db.cachedStatement(sql: "SELECT contract, as_of, inputs_sha256, planned_on FROM loan WHERE loan_id = ?"),
                                         arguments: [loan]) else { return }
        let contractText: String = row[0]
        let asOf = max(ledgerDay, CivilDate(iso: row[1] as String) ?? ledgerDay)
        let paymentRows = try Self.paymentRows(db, loan: loan, through: asOf, postingFiles: postingFiles)
        let fingerprint = inputsFingerprint(contract: contractText, asOf: asOf, payments: paymentRows)
        if fingerprint == row[2] as String? {
            try countUnchanged(loan)
            return
        }
        let contract = try LoanContract.from(json: contractText)
        let plan = try PlanEngine.schedule(contract.planTerms(calendar: reference.calendar, baseRates: reference.baseRates))
        // A floating rate takes the base rates published since the plan was made.
        if contract.baseTenor != nil { try store(plan.lines, loan: loan) }
        let payments = Self.payments(from: paymentRows)
        let position = LoanServicing.position(plan: plan, servicing: contract.servicing, payments: payments, asOf: asOf)
        for state in position.lines {
            updateLine.bind(1, state.interestDueMinor)
            updateLine.bind(2, state.feeDueMinor)
            updateLine.bind(3, state.paidPrincipalMinor)
            updateLine.bind(4, state.paidInterestMinor)
            updateLine.bind(5, state.paidPenaltyMinor)
            updateLine.bind(6, state.paidFeeMinor)
            updateLine.bind(7, state.penaltyAccruedMinor)
            updateLine.bind(8, state.status.rawValue)
            if let closedOn = state.closedOn { updateLine.bind(9, closedOn.description) } else { updateLine.bindNull(9) }
            updateLine.bind(10, state.overdueDays)
            updateLine.bind(11, loan)
            updateLine.bind(12, state.line.period)
            try updateLine.run()
        }
        try db.cachedStatement(sql: "DELETE FROM repayment_allocation WHERE loan_id = ?").execute(arguments: [loan])
        let allocate = try db.cachedStatement(sql: """
            INSERT INTO repayment_allocation (event_id, period, loan_id, penalty_minor, fee_minor, interest_minor, principal_minor)
            VALUES (?, ?, ?, ?, ?, ?, ?)
            """)
        for allocation in position.allocations {
            try allocate.execute(arguments: [allocation.paymentID, allocation.period, loan, allocation.penaltyMinor,
                                             allocation.feeMinor, allocation.interestMinor, allocation.principalMinor])
        }
        try db.cachedStatement(sql: "DELETE FROM settlement_quote WHERE loan_id = ?").execute(arguments: [loan])
        for (paymentID, payoff) in position.settlementQuotes {
            try db.cachedStatement(sql: "INSERT INTO settlement_quote (event_id, loan_id, quote_minor) VALUES (?, ?, ?)")
                .execute(arguments: [paymentID, loan, payoff])
        }
        // An alert about a payment is dated by the payment's file, whichever day's step finds it.
        for (paymentID, amount) in position.unapplied {
            let (place, day) = try self.place(ofEvent: paymentID)
            try raise(.repaymentUnapplied, subject: place, on: day,
                      "\(place): loan \(loan) was paid \(DecimalAmount(units: amount, scale: 2)) more than it owed")
        }
        for (paymentID, payoff, paid) in position.shortSettlements {
            let (place, day) = try self.place(ofEvent: paymentID)
            try raise(.earlySettlementShort, subject: place, on: day,
                      "\(place): loan \(loan)'s early settlement paid \(DecimalAmount(units: paid, scale: 2)), the pay-off was \(DecimalAmount(units: payoff, scale: 2)); applied as a partial payment")
        }
        let closed = position.lines.allSatisfy(\.isClosed)
        let closedOn = position.settledOn ?? (closed ? position.lines.compactMap(\.closedOn).max() : nil)
        // Run in order, the days bring a loan to each day something changes for it; a loan
        // recomputed for a later day than this one (an earlier day run late) is as of the
        // last day run on which its states changed, as it would be then.
        let statesDay = date < asOf
            ? try lastDayStatesChanged(position, plan: plan, servicing: contract.servicing, payments: payments,
                                       since: CivilDate(iso: row[3] as String) ?? date)
            : asOf
        try db.cachedStatement(sql: "UPDATE loan SET status = ?, settled_on = ?, as_of = ?, inputs_sha256 = ? WHERE loan_id = ?")
            .execute(arguments: [closed ? "settled" : "active", closedOn?.description, statesDay.description, fingerprint, loan])
        report.loansRecomputed += 1
        report.overdueLines += position.overdueLines.count
        report.unpaidPenaltyMinor += position.unpaidPenaltyMinor
    }

    /// The last day run (from `since`, the day the loan was planned, to the position's day) on
    /// which the loan's states changed. A loan with a line due or overdue changes every day;
    /// otherwise states only move forward with the days (payments are added, lines fall due
    /// and close), so the days run on which they are already the position's are the latest
    /// ones, and a binary search finds the first of them.
    private func lastDayStatesChanged(_ position: LoanPosition, plan: RepaymentPlan, servicing: ServicingTerms,
                                      payments: [LoanPayment], since: CivilDate) throws -> CivilDate {
        if position.lines.contains(where: { $0.status == .due || $0.status == .overdue }) { return position.asOf }
        func states(_ position: LoanPosition) -> [AnyHashable] {
            position.lines.map { state -> AnyHashable in
                [AnyHashable(state.interestDueMinor), state.feeDueMinor, state.paidPrincipalMinor, state.paidInterestMinor,
                 state.paidPenaltyMinor, state.paidFeeMinor, state.penaltyAccruedMinor, state.status.rawValue,
                 state.closedOn?.description, state.overdueDays]
            } + position.allocations.map(AnyHashable.init) + [AnyHashable(position.settledOn?.description)]
        }
        let now = states(position)
        let earlier = try String.fetchAll(db.cachedStatement(sql: """
            SELECT business_date FROM plan_step_day WHERE business_date >= ? AND business_date < ? ORDER BY business_date DESC
            """), arguments: [since.description, position.asOf.description]).compactMap { CivilDate(iso: $0) }
        // The states as of earlier[i] are the position's for every i below `low`.
        var low = 0, high = earlier.count
        while low < high {
            let middle = (low + high) / 2
            if states(LoanServicing.position(plan: plan, servicing: servicing, payments: payments, asOf: earlier[middle])) == now {
                low = middle + 1
            } else {
                high = middle
            }
        }
        return low == 0 ? position.asOf : earlier[low - 1]
    }

    /// A loan left as it was counts in the report as its stored lines say.
    private mutating func countUnchanged(_ loan: String) throws {
        let row = try Row.fetchOne(db.cachedStatement(sql: """
            SELECT sum(CASE WHEN status = 'overdue' THEN 1 ELSE 0 END), sum(penalty_accrued_minor - paid_penalty_minor)
            FROM plan_line WHERE loan_id = ?
            """), arguments: [loan])
        report.loansUnchanged += 1
        report.overdueLines += row?[0] ?? 0
        report.unpaidPenaltyMinor += row?[1] ?? 0
    }

    /// SHA-256 of everything a loan's states are computed from: the computation's revision
    /// and the reference data, the stored contract, the day, and each repayment row as
    /// stored (so any change to one, or a repayment added or retired, changes it). Values
    /// go in tagged, so no two different inputs give the same bytes.
    private func inputsFingerprint(contract: String, asOf: CivilDate, payments: [Row]) -> String {
        var hasher = SHA256()
        func add(_ tag: UInt8, _ text: String) {
            var text = text
            hasher.update(data: [tag])
            add(Int64(text.utf8.count))
            text.withUTF8 { hasher.update(bufferPointer: UnsafeRawBufferPointer($0)) }
        }
        func add(_ number: Int64) {
            withUnsafeBytes(of: number.littleEndian) { hasher.update(bufferPointer: $0) }
        }
        add(UInt8(ascii: "r"), referenceFingerprint)
        add(UInt8(ascii: "c"), contract)
        add(UInt8(ascii: "a"), asOf.description)
        for row in payments {
            hasher.update(data: [UInt8(ascii: "p")])
            for column in 0..<row.count {
                let value: DatabaseValue = row[column]
                switch value.storage {
                case .null: hasher.update(data: [UInt8(ascii: "n")])
                case .int64(let number):
                    hasher.update(data: [UInt8(ascii: "i")])
                    add(number)
                case .double(let number): add(UInt8(ascii: "d"), "\(number)")
                case .string(let text): add(UInt8(ascii: "s"), text)
                case .blob(let bytes):
                    hasher.update(data: [UInt8(ascii: "b")])
                    add(Int64(bytes.count))
                    hasher.update(data: bytes)
                }
            }
        }
        return Self.hex(hasher.finalize())
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)

    static func hex(_ digest: some Sequence<UInt8>) -> String {
        var text: [UInt8] = []
        text.reserveCapacity(64)
        for byte in digest {
            text.append(hexDigits[Int(byte >> 4)])
            text.append(hexDigits[Int(byte & 0x0F)])
        }
        return String(decoding: text, as: UTF8.self)
    }

    /// The reference data as a digest: the calendar's years and every day it makes
    /// different from the weekday rule, and every base-rate fixing.
    static func fingerprint(of reference: ReferenceData) -> String {
        var text = "computation revision \(computationRevision)\n"
        if let calendar = reference.calendar {
            text += "calendar \(calendar.name), years \(calendar.years.sorted())\n"
            for year in calendar.years.sorted() {
                guard var day = CivilDate(year: year, month: 1, day: 1) else { continue }
                while day.year == year {
                    let working = calendar.isWorkingDay(day)
                    if working != (day.isoWeekday <= 5) { text += "\(day) \(working ? "work" : "off")\n" }
                    guard let next = day.adding(days: 1) else { break }
                    day = next
                }
            }
        } else {
            text += "no calendar\n"
        }
        for fixing in reference.baseRates.fixings {
            text += "base rate \(fixing.tenor) \(fixing.publishedOn) \(fixing.percent)\n"
        }
        return hex(SHA256.hash(data: Array(text.utf8)))
    }

    /// Where an event came from, by file and line (no row ids: re-runs give the same text),
    /// and its file's business day.
    private func place(ofEvent id: Int64) throws -> (place: String, day: String?) {
        guard let row = try Row.fetchOne(db, sql: """
            SELECT f.partner, f.name, e.line, f.business_date FROM event e JOIN received_file f ON e.file_id = f.id WHERE e.id = ?
            """, arguments: [id]) else { return ("event \(id)", nil) }
        return ("\(row[0] as String)/\(row[1] as String) line \(row[2] as Int)", row[3])
    }

    // MARK: 3. Plan checks

    /// An integer of minor units as decimal text in SQL (`5461` → `54.61`), without floating point.
    private static func moneyText(_ column: String) -> String {
        "CASE WHEN \(column) IS NULL THEN NULL ELSE (CASE WHEN \(column) < 0 THEN '-' ELSE '' END) || (abs(\(column)) / 100) || '.' || substr('0' || (abs(\(column)) % 100), -2) END"
    }

    /// Compares a partner's plan lines with ours, loan by loan and period by period: due
    /// date, principal, interest and fee to the cent; periods on one side only; plans for loans
    /// we do not have. Earlier differences for the file's loans are replaced; they are dated
    /// the file's day. `loan` compares that loan only (planned after its partners' plans came).
    private mutating func comparePlans(in file: StoredFile, loan: String? = nil) throws {
        // A reconciliation rule that compares this file type's plans with ours owns the check.
        if let day = CivilDate(iso: file.businessDate),
           config.reconciliation.comparesPlans(on: day, partner: file.partner, fileType: file.fileType) { return }
        let range = "e.id BETWEEN :first AND :last AND e.kind = 'plan_line' AND e.active = 1" + (loan == nil ? "" : " AND e.loan_id = :loan")
        let loansInFile = "SELECT e.loan_id FROM event e WHERE \(range)"
        // Named, so each statement takes the ones it uses.
        let values: [String: (any DatabaseValueConvertible)?] = ["first": file.firstEventID, "last": file.lastEventID, "loan": loan,
                                                                 "partner": file.partner, "day": file.businessDate, "now": timestamp()]
        func arguments(_ sql: String) -> StatementArguments {
            StatementArguments(values.filter { sql.contains(":" + $0.key) })
        }
        let forget = """
            DELETE FROM plan_difference WHERE partner = :partner AND field IN ('plan', 'period', 'due_on', 'principal', 'interest', 'fee')
              AND loan_id IN (\(loansInFile))
            """
        try db.execute(sql: forget, arguments: arguments(forget))
        // A plan came on the file's day: the missing-plan alert is cleared then (the first
        // such day, whichever is run first).
        let clear = """
            UPDATE alert SET cleared_on = :day WHERE kind = 'missing_partner_plan' AND (cleared_on IS NULL OR cleared_on > :day)
              AND subject IN (\(loansInFile))
            """
        try db.execute(sql: clear, arguments: arguments(clear))
        let insert = """
            INSERT INTO plan_difference (business_date, partner, loan_id, period, field, ours, theirs, event_id, found_at)
            """
        let upsert = "ON CONFLICT (partner, loan_id, period, field) DO UPDATE SET ours = excluded.ours, theirs = excluded.theirs, event_id = excluded.event_id"
        let ours = "EXISTS (SELECT 1 FROM loan l WHERE l.loan_id = e.loan_id)"
        var statements = [
            // A plan for a loan we have no plan for.
            """
            \(insert) SELECT :day, :partner, e.loan_id, 0, 'plan', NULL, count(*) || ' periods', min(e.id), :now
            FROM event e WHERE \(range) AND NOT \(ours) GROUP BY e.loan_id \(upsert)
            """,
            // Their periods we do not have.
            """
            \(insert) SELECT :day, :partner, e.loan_id, e.period, 'period', NULL, 'present', e.id, :now
            FROM event e WHERE \(range) AND \(ours)
              AND NOT EXISTS (SELECT 1 FROM plan_line p WHERE p.loan_id = e.loan_id AND p.period = e.period) \(upsert)
            """,
            // Our periods they do not have.
            """
            \(insert) SELECT :day, :partner, p.loan_id, p.period, 'period', 'present', NULL, NULL, :now
            FROM plan_line p WHERE p.loan_id IN (\(loansInFile))
              AND NOT EXISTS (SELECT 1 FROM event e WHERE \(range) AND e.loan_id = p.loan_id AND e.period = p.period) \(upsert)
            """,
        ]
        // A partner's plan without a fee column (NULL) agrees with a plan without fees.
        for (field, mine, theirs) in [("due_on", "p.due_on", "e.event_date"),
                                      ("principal", "p.principal_minor", "e.principal_minor"),
                                      ("interest", "p.interest_minor", "e.interest_minor"),
                                      ("fee", "p.fee_minor", "coalesce(e.fee_minor, 0)")] {
            let text = field == "due_on" ? { (column: String) in column } : Self.moneyText
            statements.append("""
                \(insert) SELECT :day, :partner, e.loan_id, e.period, '\(field)', \(text(mine)), \(text(theirs)), e.id, :now
                FROM event e JOIN plan_line p ON p.loan_id = e.loan_id AND p.period = e.period
                WHERE \(range) AND \(mine) IS NOT \(theirs) \(upsert)
                """)
        }
        for sql in statements {
            if shouldStop() { throw Abandoned() }
            try db.execute(sql: sql, arguments: arguments(sql))
            report.differences += db.changesCount
        }
    }

    /// A loan planned after partner plans for it came on other days (a day run after later
    /// ones): they are compared now, as they would have been on their days, in that order
    /// (this day's plans are compared by the step itself).
    private mutating func compareStoredPartnerPlans(_ loan: String) throws {
        let files = try Row.fetchAll(db.cachedStatement(sql: """
            SELECT DISTINCT f.id, f.partner, f.file_type, f.business_date, f.name, f.status, f.first_event_id, f.last_event_id
            FROM event e JOIN received_file f ON f.id = e.file_id
            WHERE e.loan_id = ? AND e.kind = 'plan_line' AND e.active = 1 AND f.business_date <> ? ORDER BY f.business_date, f.id
            """), arguments: [loan, date.description])
        for row in files {
            try comparePlans(in: StoredFile(id: row[0], partner: row[1], fileType: row[2], businessDate: row[3], name: row[4],
                                            status: row[5], firstEventID: row[6], lastEventID: row[7]), loan: loan)
        }
    }

    private mutating func recordDifference(partner: String, loan: String, period: Int, field: String,
                                           ours: String?, theirs: String?, eventID: Int64?) throws {
        try db.cachedStatement(sql: """
            INSERT INTO plan_difference (business_date, partner, loan_id, period, field, ours, theirs, event_id, found_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT (partner, loan_id, period, field) DO UPDATE SET
                ours = excluded.ours, theirs = excluded.theirs, event_id = excluded.event_id
            """).execute(arguments: [date.description, partner, loan, period, field, ours, theirs, eventID, timestamp()])
        report.differences += 1
    }

    /// Seed 000 §15 f: the day after a loan is disbursed, its plan should have come from a
    /// partner. Only when some configured file type carries plans.
    ///
    /// The alert belongs to the first day run after the loan was disbursed and planned
    /// (within a month of the disbursement) by which no partner plan had come, and is dated
    /// that day; a plan that came later clears it on the plan's day. So it is the same
    /// whichever order the days are run in: this day may be that first day for loans
    /// disbursed in the month before it, and a loan planned now may have it on a later day
    /// already run.
    private mutating func checkMissingPartnerPlans() throws {
        // The rule's missing-on-their-side break (and its alert) says it then, whichever day
        // it applies from (the alert's day would otherwise depend on the order days run in).
        if config.reconciliation.comparesPlans(on: CivilDate(year: 9999, month: 12, day: 31)!) { return }
        guard config.partners.contains(where: { partner in
            partner.files.contains { sources.type(partner.id, $0.id)?.events.contains(.planLine) == true }
        }), let yesterday = date.adding(days: -1), let earliest = date.adding(days: -Self.missingPlanWindowDays) else { return }
        // Loans disbursed in the month before this day, and (later days already run) up to
        // the day before the ledger's day, whose first day run after they were disbursed and
        // planned had no partner plan by then; an alert dated on or before this day stays.
        let latest = max(yesterday, ledgerDay.adding(days: -1) ?? yesterday)
        let candidates = try Row.fetchAll(db, sql: """
            SELECT loan_id, disbursed_on, first_day FROM (
                SELECT l.loan_id, l.disbursed_on,
                       (SELECT min(d.business_date) FROM plan_step_day d WHERE d.business_date > max(l.disbursed_on, l.planned_on)) AS first_day
                FROM loan l WHERE l.disbursed_on BETWEEN ?1 AND ?2
                  AND NOT EXISTS (SELECT 1 FROM alert a WHERE a.kind = 'missing_partner_plan' AND a.subject = l.loan_id
                                    AND a.business_date <= ?3)
            ) c WHERE first_day IS NOT NULL AND NOT EXISTS (
                SELECT 1 FROM event e JOIN received_file f ON f.id = e.file_id
                WHERE e.loan_id = c.loan_id AND e.kind = 'plan_line' AND e.active = 1 AND f.business_date <= c.first_day)
            ORDER BY loan_id
            """, arguments: [earliest.description, latest.description, date.description])
        let planCame = try db.cachedStatement(sql: """
            SELECT min(f.business_date) FROM event e JOIN received_file f ON f.id = e.file_id
            WHERE e.loan_id = ? AND e.kind = 'plan_line' AND e.active = 1
            """)
        for (index, row) in candidates.enumerated() {
            if index % Self.pageRows == 0, shouldStop() { throw Abandoned() }
            let loan: String = row[0]
            guard let disbursed = CivilDate(iso: row[1] as String), let firstText = row[2] as String?,
                  let first = CivilDate(iso: firstText), let deadline = disbursed.adding(days: Self.missingPlanWindowDays),
                  first <= deadline, let dayBefore = first.adding(days: -1) else { continue }
            // A plan that came after that day (run before it) clears the alert on its day.
            try raise(.missingPartnerPlan, subject: loan, on: firstText, cleared: try String.fetchOne(planCame, arguments: [loan]),
                      "loan \(loan) was disbursed on or before \(dayBefore) and no partner has sent its plan")
        }
    }

    /// Raises an alert (``AlertBook``) dated `day` (default: the step's day), and cleared on
    /// `cleared` when what it is about has already come; the first ones are described in the
    /// report. Raised again for an earlier day (a day run after later ones), an alert not yet
    /// cleared takes the earlier day, and is counted once.
    private mutating func raise(_ code: AlertCode, subject: String, on day: String? = nil, cleared: String? = nil, _ message: String) throws {
        guard try AlertBook.raise(db, code, subject: subject, day: day ?? date.description, message: message, cleared: cleared) else { return }
        report.alertCount += 1
        if report.alerts.count < PlanStepReport.describedAlerts { report.alerts.append("\(code.rawValue): \(message)") }
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
    /// `progress` hears each phase as it starts and the counts as they grow.
    /// `shouldStop`, asked at each phase and page, abandons the step when it turns true: its
    /// transaction is rolled back whole and the error's ``LedgerError/abandoned`` is true.
    public func runPlanStep(date: CivilDate, config: ReckonConfig, reference: ReferenceData,
                            progress: @escaping (RunProgress) -> Void = { _ in },
                            shouldStop: @escaping () -> Bool = { false }) throws(LedgerError) -> PlanStepReport {
        let sources = try EventSources(config: config)
        return try write(crashBefore: .planCommitBefore, crashAfter: .planCommitAfter) { db in
            var step = try PlanStep(db: db, config: config, sources: sources, reference: reference, date: date)
            step.progress = progress
            step.shouldStop = shouldStop
            do {
                return try step.run()
            } catch is Abandoned {
                throw LedgerError.stepAbandoned(.plan, date: date)
            }
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

    public struct PlanDifference: Sendable {
        public let businessDate: String
        public let partner: String
        public let loanID: String
        public let period: Int
        public let field: String
        public let ours: String?
        public let theirs: String?
    }

    /// Differences between partners' plans (and disbursement records) and ours: those the
    /// plan step found, and the plan mismatches of reconciliation rules that compare plans
    /// (not yet closed).
    public func planDifferences(date: CivilDate? = nil, loan: String? = nil) throws(LedgerError) -> [PlanDifference] {
        try read { db in
            var differences = try Row.fetchAll(db, sql: """
                SELECT business_date, partner, loan_id, period, field, ours, theirs FROM plan_difference
                WHERE (?1 IS NULL OR business_date = ?1) AND (?2 IS NULL OR loan_id = ?2)
                """, arguments: [date?.description, loan]).map {
                PlanDifference(businessDate: $0[0], partner: $0[1], loanID: $0[2], period: $0[3], field: $0[4],
                               ours: $0[5], theirs: $0[6])
            }
            // The break's key is `loan / period`; its fields say what differs.
            guard try db.tableExists("recon_break") else { return differences }
            for row in try Row.fetchAll(db, sql: """
                SELECT business_date, partner, match_key, fields FROM recon_break
                WHERE kind = 'plan_mismatch' AND status IN ('pending', 'open') AND (?1 IS NULL OR business_date = ?1)
                """, arguments: [date?.description]) {
                let parts = (row[2] as String).components(separatedBy: " / ")
                guard parts.count == 2, let period = Int(parts[1]), loan == nil || parts[0] == loan,
                      let data = (row[3] as String?)?.data(using: .utf8),
                      let fields = try? JSONSerialization.jsonObject(with: data) as? [[String: Any]] else { continue }
                func text(_ value: Any?, kind: String?) -> String? {
                    if let minor = value as? Int64 ?? (value as? Int).map(Int64.init) {
                        return kind == "amount" ? DecimalAmount(units: minor, scale: 2).description : String(minor)
                    }
                    return value as? String
                }
                for field in fields where field["holds"] as? Bool == false {
                    differences.append(PlanDifference(businessDate: row[0], partner: row[1], loanID: parts[0], period: period,
                                                      field: field["name"] as? String ?? "", ours: text(field["left"], kind: field["kind"] as? String),
                                                      theirs: text(field["right"], kind: field["kind"] as? String)))
                }
            }
            return differences.sorted {
                ($0.businessDate, $0.partner, $0.loanID, $0.period, $0.field) < ($1.businessDate, $1.partner, $1.loanID, $1.period, $1.field)
            }
        }
    }
}
