import Foundation
import GRDB
import ReckonCore

/// An expected file of a business day that has not come.
public struct ExpectedFile: Sendable, Equatable, CustomStringConvertible {
    public let partner: String
    public let fileType: String
    /// The name it would have (`PLAT_REPAY_20241217.csv`).
    public let name: String
    /// When its type is expected (`every day`, `on working days from 2024-12-16`).
    public let rule: String

    /// `platform/repayments PLAT_REPAY_20241217.csv (expected every day)`
    public var description: String { "\(partner)/\(fileType) \(name) (expected \(rule))" }
}

/// A file of the day that needs an operator: refused (and not posted since), or an earlier
/// version sent again after its correction.
public struct AwaitingFile: Sendable, Equatable, CustomStringConvertible {
    public let fileID: Int64
    public let partner: String
    public let fileType: String
    public let name: String
    public let sha256: String
    public let receivedAt: String
    /// `rejected` or `stale`.
    public let status: String
    public let reportPath: String?

    public var description: String {
        var text = "#\(fileID) \(partner)/\(fileType) \(name) (SHA-256 \(sha256.prefix(12))…, received \(receivedAt))"
        if status == "stale" {
            text += ": an earlier version sent again; reckon files reinstate \(fileID) or reckon files set-aside \(fileID), with --reason"
        } else {
            text += ": refused; fix and re-run the day, or reckon files set-aside \(fileID) --reason …"
            if let reportPath { text += " (report: \(reportPath))" }
        }
        return text
    }
}

/// Where a business day's files stand: what was expected and has not come, what was
/// refused or sent again and waits for an operator, what an operator set aside.
public struct DayFiles: Sendable {
    public let date: CivilDate
    /// Expected files that have not come (nor been set aside).
    public var missing: [ExpectedFile] = []
    /// Refused files not posted since and not set aside.
    public var refused: [AwaitingFile] = []
    /// Earlier versions sent again, not yet decided.
    public var stale: [AwaitingFile] = []
    /// Operators' set-asides for the day.
    public var setAside: [FileAction] = []
    /// Expected files past their deadline, not come (their `file_late` alert is open).
    public var late: [LateFile] = []
    /// Slots (`partner/type`) of the day that were posted or set aside: their missing-file and
    /// incomplete-repayment alerts are cleared.
    var settled: [String] = []

    /// Nothing missing, nothing waiting for an operator.
    public var isComplete: Bool { missing.isEmpty && refused.isEmpty && stale.isEmpty }
}

extension Ledger {
    /// Where the day's files stand, for every configured partner (or one). Reads only.
    public func dayFiles(_ date: CivilDate, config: ReckonConfig, calendar: BusinessCalendar?,
                         partner only: String? = nil) throws(LedgerError) -> DayFiles {
        try read { db in
            var day = DayFiles(date: date)
            let partners = config.partners.filter { only == nil || $0.id == only }
            let ids = Set(partners.map(\.id))
            let rows = try Row.fetchAll(db, sql: """
                SELECT id, partner, file_type, name, sha256, received_at, status, report_path FROM received_file
                WHERE business_date = ? ORDER BY id
                """, arguments: [date.description]).filter { ids.contains($0[1]) }
            let actions = try Row.fetchAll(db, sql: """
                SELECT action, file_id, partner, file_type, business_date, reason, actor, acted_at FROM file_action
                WHERE business_date = ? AND action = 'set_aside' ORDER BY id
                """, arguments: [date.description]).map(Self.action).filter { ids.contains($0.partner) }
            day.setAside = actions
            let setAsideFiles = Set(actions.compactMap(\.fileID))

            func slot(_ row: Row) -> String { "\(row[1] as String)/\(row[2] as String)" }
            var lastPosted: [String: Int64] = [:]
            for row in rows where ["posted", "superseded"].contains(row[6] as String) { lastPosted[slot(row)] = row[0] }
            // Per slot, the latest refusal (each attempt refuses the one before it) and the
            // latest earlier version sent again, unless a later delivery posted or an
            // operator set it aside.
            var latest: [String: Row] = [:]
            for row in rows where row[6] == "rejected" || row[6] == "stale" { latest["\(slot(row))/\(row[6] as String)"] = row }
            for row in rows where latest["\(slot(row))/\(row[6] as String)"].map({ $0[0] as Int64 }) == row[0] as Int64? {
                guard !setAsideFiles.contains(row[0]), (lastPosted[slot(row)] ?? 0) < row[0] as Int64 else { continue }
                let file = AwaitingFile(fileID: row[0], partner: row[1], fileType: row[2], name: row[3], sha256: row[4],
                                        receivedAt: row[5], status: row[6], reportPath: row[7])
                if file.status == "rejected" { day.refused.append(file) } else { day.stale.append(file) }
            }
            let came = Set(rows.filter { ["posted", "superseded", "rejected"].contains($0[6] as String) }.map(slot))
            let setAsideSlots = Set(actions.map { "\($0.partner)/\($0.fileType)" })
            let awaiting = Set((day.refused + day.stale).map { "\($0.partner)/\($0.fileType)" })
            day.settled = Array(Set(lastPosted.keys).union(setAsideSlots).subtracting(awaiting)).sorted()
            for partner in partners {
                for type in partner.files where type.expected.isExpected(on: date, isWorkingDay: { calendar?.isWorkingDay($0) ?? true }) {
                    let key = "\(partner.id)/\(type.id)"
                    guard !came.contains(key), !setAsideSlots.contains(key) else { continue }
                    day.missing.append(ExpectedFile(partner: partner.id, fileType: type.id, name: type.name.name(for: date),
                                                    rule: type.expected.description))
                }
            }
            day.late = try lateFiles(db, date: date, config: config, calendar: calendar).filter { ids.contains($0.partner) }
            return day
        }
    }

    /// Raises an alert for each missing file, and, when the day's plans were made, one for
    /// each repayments file that is refused or missing (`repaymentTypes`: the `partner/type`
    /// slots whose files carry the repayments the plans apply); clears the alerts of files
    /// that came or were set aside since. Returns the day's incomplete repayments, described.
    @discardableResult
    func recordDayAlerts(_ day: DayFiles, repaymentTypes: Set<String>, planned: Bool) throws(LedgerError) -> [String] {
        try write { db in
            let date = day.date.description
            for slot in day.settled {
                try AlertBook.clear(db, .fileMissing, subject: "\(slot)/\(date)", day: date)
                try AlertBook.clear(db, .repaymentsIncomplete, subject: "\(slot)/\(date)", day: date)
            }
            for file in day.missing {
                try AlertBook.raise(db, .fileMissing, subject: "\(file.partner)/\(file.fileType)/\(date)", day: date,
                                    message: "\(file.partner)/\(file.fileType) \(date): \(file.name) has not come (expected \(file.rule))",
                                    reopening: true)
            }
            var incomplete: [String] = []
            guard planned else { return incomplete }
            let plansMade = "the plans, overdue status and penalty as of \(date) were worked out without it and may change"
            for file in day.refused where repaymentTypes.contains("\(file.partner)/\(file.fileType)") {
                let text = "\(file.partner)/\(file.fileType) \(date): the day's repayments are incomplete: \(file.name) "
                    + "(file #\(file.fileID), SHA-256 \(file.sha256.prefix(12))…) was refused"
                    + (file.reportPath.map { " (report: \($0))" } ?? "") + "; \(plansMade) when it is posted"
                incomplete.append(text)
                try AlertBook.raise(db, .repaymentsIncomplete, subject: "\(file.partner)/\(file.fileType)/\(date)", day: date,
                                    message: text, reopening: true)
            }
            for file in day.missing where repaymentTypes.contains("\(file.partner)/\(file.fileType)") {
                let text = "\(file.partner)/\(file.fileType) \(date): the day's repayments are incomplete: \(file.name) has not come; "
                    + "\(plansMade) when it comes"
                incomplete.append(text)
                try AlertBook.raise(db, .repaymentsIncomplete, subject: "\(file.partner)/\(file.fileType)/\(date)", day: date,
                                    message: text, reopening: true)
            }
            return incomplete
        }
    }

    /// Open incomplete-repayment alerts of a partner's files on or before `day`: a loan of
    /// that partner may change when they are posted.
    public func incompleteRepayments(partner: String, through day: CivilDate?) throws(LedgerError) -> [Alert] {
        try read { db in
            try Row.fetchAll(db, sql: """
                SELECT \(Self.alertColumns) FROM alert
                WHERE kind = ? AND cleared_on IS NULL AND subject LIKE ? ESCAPE '\\' AND (?3 IS NULL OR business_date <= ?3)
                ORDER BY business_date, subject
                """, arguments: [AlertCode.repaymentsIncomplete.rawValue, Self.likePrefix(partner) + "/%", day?.description]).map(Self.alert)
        }
    }
}
