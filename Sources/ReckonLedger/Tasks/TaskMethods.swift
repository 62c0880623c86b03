import Foundation
import GRDB
import ReckonCore
import ReckonFiles

/// What a task's method did: success or not, and one line saying what.
struct TaskMethodOutcome: Sendable {
    let succeeded: Bool
    let text: String
}

/// The methods a task can have (``TaskMethod``), each working on the business day of the
/// run's `now` (less `days_back` where the method takes it).
struct TaskMethods {
    let config: ReckonConfig
    let ledger: Ledger
    let hooks: TaskHooks
    let calendar: BusinessCalendar
    /// The daemon's graceful stop, handed to the batches.
    var shouldStop: (@Sendable () -> Bool)?

    func run(_ task: TaskConfig, day: CivilDate, now: Date) throws -> TaskMethodOutcome {
        let target = day.adding(days: -task.daysBack) ?? day
        switch task.method {
        case .settleDay:
            return try batch(target, [.settle, .deliver], partner: task.parameter("partner"))
        case .pullBills:
            return try batch(target, [.collect, .ingest], partner: task.parameter("partner"))
        case .verifyBills:
            return try batch(target, [.reconcile], partner: nil)
        case .missingPlanCheck:
            // The plan step of the day raises missing_partner_plan for loans disbursed the day
            // before without a partner plan; where a reconciliation rule compares plans, the
            // reconcile step does.
            let steps: [BatchStep] = config.reconciliation.comparesPlans(on: day) ? [.plan, .reconcile] : [.plan]
            var outcome = try batch(day, steps, partner: nil)
            let open = try ledger.database.read { db in
                try Int.fetchOne(db, sql: """
                    SELECT count(*) FROM alert WHERE kind = 'missing_partner_plan' AND cleared_on IS NULL AND business_date <= ?
                    """, arguments: [day.description]) ?? 0
            }
            outcome = TaskMethodOutcome(succeeded: outcome.succeeded,
                                        text: outcome.text + "; \(Plural.count(open, "loan")) without a partner plan (missing_partner_plan)")
            return outcome
        case .calendarReminder:
            return try calendarReminder(day)
        case .lprReminder:
            return try lprReminder(day)
        case .balanceCheck:
            return try balanceCheck(task, day: day, now: now)
        }
    }

    // MARK: Batches

    private func batch(_ date: CivilDate, _ steps: [BatchStep], partner: String?) throws -> TaskMethodOutcome {
        var options = hooks.makeBatchOptions(date, steps, partner)
        if let shouldStop { options.shouldStop = shouldStop }
        let report = try Batch.run(options, config: config, ledger: ledger)
        let what = "batch run #\(report.runID ?? 0) for \(date) (\(options.steps.map(\.rawValue).joined(separator: ",")))"
        var summary = Batch.summary(report)
        // The files' counts say nothing of a batch that took in no files.
        if !steps.contains(.collect) && !steps.contains(.ingest), let cut = summary.range(of: "; ") {
            summary = String(summary[cut.upperBound...])
        }
        var text = "\(what): \(report.outcome.rawValue): " + summary
        let errors = report.errors.filter { !text.contains($0) }
        if !errors.isEmpty { text += "; " + errors.joined(separator: "; ") }
        return TaskMethodOutcome(succeeded: report.outcome == .succeeded, text: text)
    }

    // MARK: Reminders

    /// Next year's holidays missing from the calendar: an alert (the State Council's notice
    /// comes out in November).
    private func calendarReminder(_ day: CivilDate) throws -> TaskMethodOutcome {
        guard let path = config.calendarPath else {
            return TaskMethodOutcome(succeeded: false, text: "reckon.yaml names no working-day calendar (calendar: data/calendar-cn.yaml)")
        }
        // Read now, not at start-up: the operator adds the year while the daemon runs.
        guard let calendar = try TaskRunner.loadCalendar(config) else { return TaskMethodOutcome(succeeded: false, text: "no calendar") }
        let next = day.year + 1
        let subject = String(next)
        if calendar.years.contains(next) {
            try ledger.database.write { db in try AlertBook.clear(db, .calendarNextYearMissing, subject: subject, day: day.description) }
            return TaskMethodOutcome(succeeded: true, text: "the calendar \(path) has \(next)")
        }
        let message = "the working-day calendar \(path) has no holidays for \(next): add them from the State Council's notice"
        _ = try ledger.database.write { db in
            try AlertBook.raise(db, .calendarNextYearMissing, subject: subject, day: day.description, message: message)
        }
        return TaskMethodOutcome(succeeded: true, text: "the calendar \(path) lacks \(next): calendar_next_year_missing raised")
    }

    /// No LPR fixing published this month in the shipped history or an ingested base-rate
    /// file: an alert.
    private func lprReminder(_ day: CivilDate) throws -> TaskMethodOutcome {
        let month = String(day.description.prefix(7))
        let rateTypes = try fileTypes(with: .baseRate)
        guard config.baseRateHistoryPath != nil || !rateTypes.isEmpty else {
            return TaskMethodOutcome(succeeded: false, text: "reckon.yaml names no base-rate history (base_rates:) and no file type carries base rates")
        }
        let shipped = try ReferenceData.load(config).baseRates.fixings.filter { $0.publishedOn.description.hasPrefix(month) }
        let ingested = try ledger.database.read { db in
            try events(db, of: rateTypes, kind: .baseRate, columns: "e.event_date")
                .compactMap { $0[0] as String? }.filter { $0.hasPrefix(month) }
        }
        let subject = month
        if !shipped.isEmpty || !ingested.isEmpty {
            try ledger.database.write { db in try AlertBook.clear(db, .lprFixingMissing, subject: subject, day: day.description) }
            let days = Set(shipped.map(\.publishedOn.description) + ingested).sorted()
            return TaskMethodOutcome(succeeded: true, text: "the LPR of \(month) is in the base-rate history (published \(days.joined(separator: ", ")))")
        }
        let message = "no LPR fixing of \(month) is in the base-rate history: add it (\(config.baseRateHistoryPath ?? "base_rates: history")) or ingest the base-rate file"
        _ = try ledger.database.write { db in
            try AlertBook.raise(db, .lprFixingMissing, subject: subject, day: day.description, message: message)
        }
        return TaskMethodOutcome(succeeded: true, text: "no LPR fixing of \(month) yet: lpr_fixing_missing raised")
    }

    // MARK: Balances

    /// The latest statement balance of every account (or those `accounts` names) against
    /// the warning line; one below raises `balance_below_warning`, as the reconcile step does
    /// for the day's statement (the same subject: account and statement day).
    private func balanceCheck(_ task: TaskConfig, day: CivilDate, now: Date) throws -> TaskMethodOutcome {
        let line: Int64
        if let text = task.parameter("warning_line") {
            guard case .success(let amount) = AmountText.minor(text) else {
                return TaskMethodOutcome(succeeded: false, text: "warning_line '\(text)' is not an amount")
            }
            line = amount
        } else {
            line = config.balanceWarning.rescaled(to: 2)?.units ?? 50_000_000
        }
        let wanted = task.parameter("accounts").map { Set($0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }) }
        let types = try fileTypes(with: .balance)
        var latest: [String: (day: String, id: Int64, amount: Int64)] = [:]
        try ledger.database.read { db in
            for row in try events(db, of: types, kind: .balance,
                                  columns: "e.id, e.event_date, e.amount_minor, json_extract(e.other_fields, '$.account')") {
                guard let account = row[3] as String?, let balanceDay = row[1] as String?, let amount = row[2] as Int64? else { continue }
                let id: Int64 = row[0]
                if wanted.map({ !$0.contains(account) }) ?? false { continue }
                if let seen = latest[account], (seen.day, seen.id) > (balanceDay, id) { continue }
                latest[account] = (balanceDay, id, amount)
            }
        }
        if let wanted, let missing = wanted.subtracting(latest.keys).sorted().first {
            return TaskMethodOutcome(succeeded: false, text: "no statement balance of account \(missing) in the ledger")
        }
        guard !latest.isEmpty else {
            return TaskMethodOutcome(succeeded: true, text: "no statement balances in the ledger yet: nothing to check")
        }
        let below = latest.filter { $0.value.amount < line }.sorted { $0.key < $1.key }
        let at = StoredTime.text(now)
        try ledger.database.write { db in
            for (account, balance) in below {
                try AlertBook.raise(db, .balanceBelowWarning, subject: "\(account) \(balance.day)", day: balance.day,
                                    message: "account \(account): latest closing balance \(AmountText.printed(units: balance.amount)) (of \(balance.day)) "
                                        + "is below the warning line \(AmountText.printed(units: line))",
                                    at: at)
            }
        }
        var text = "\(Plural.count(latest.count, "account")) checked against \(AmountText.printed(units: line)): "
        text += below.isEmpty ? "none below"
            : "\(AmountText.grouped(below.count)) below (" + below.map { "\($0.key) \(AmountText.printed(units: $0.value.amount))" }.joined(separator: ", ")
                + "): balance_below_warning raised"
        return TaskMethodOutcome(succeeded: true, text: text)
    }

    // MARK: Events

    /// The partner file types whose spec gives `kind` events.
    private func fileTypes(with kind: CanonicalEvent) throws -> [(partner: String, fileType: String)] {
        let sources = try EventSources(config: config)
        return config.partners.flatMap { partner in
            partner.files.filter { sources.type(partner.id, $0.id)?.events.contains(kind) == true }.map { (partner.id, $0.id) }
        }
    }

    /// The current (posted files') events of `kind` in files of those types.
    private func events(_ db: Database, of types: [(partner: String, fileType: String)], kind: CanonicalEvent,
                        columns: String) throws -> [Row] {
        var rows: [Row] = []
        for type in types {
            rows += try Row.fetchAll(db, sql: """
                SELECT \(columns) FROM received_file f JOIN event e ON e.id BETWEEN f.first_event_id AND f.last_event_id
                WHERE f.partner = ? AND f.file_type = ? AND f.status = 'posted' AND e.kind = ? AND e.active = 1
                ORDER BY e.id
                """, arguments: [type.partner, type.fileType, kind.rawValue])
        }
        return rows
    }
}

extension TaskRunner {
    /// The working-day calendar reckon.yaml names, read now; nil when it names none.
    static func loadCalendar(_ config: ReckonConfig) throws -> BusinessCalendar? {
        guard let path = config.calendarPath else { return nil }
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw FileAccessError(path: path, reason: "cannot be read (the working-day calendar reckon.yaml names)")
        }
        return try BusinessCalendar.load(yaml: text, origin: path)
    }
}
