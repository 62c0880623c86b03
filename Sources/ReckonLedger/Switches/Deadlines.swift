import Foundation
import GRDB
import ReckonCore
import ReckonFiles

/// An expected file past its deadline (`expected: {…, by: "08:30"}`) and not received
/// complete: a `file_late` alert, and `late` in the day's status.
public struct LateFile: Sendable, Equatable, CustomStringConvertible {
    public let partner: String
    public let fileType: String
    /// The business day the file is for.
    public let date: CivilDate
    /// The name it would have (`PLAT_REPAY_20241217.csv`).
    public let name: String
    /// `2024-12-17 08:30 Asia/Shanghai`
    public let deadline: String
    /// Raised by this check (not open before it).
    public var isNew = false

    /// `platform/repayments/2024-12-17`: the alert's subject.
    public var slot: String { "\(partner)/\(fileType)/\(date)" }

    /// `platform/repayments 2024-12-17: PLAT_REPAY_20241217.csv was expected by 2024-12-17 08:30 Asia/Shanghai and has not come complete`
    public var description: String {
        "\(partner)/\(fileType) \(date): \(name) was expected by \(deadline) and has not come complete"
    }
}

extension Ledger {
    /// How far back deadlines are looked for: a day whose deadline passed longer ago than
    /// this is not raised again (its alert, once raised, stays open until the file comes).
    /// Long enough for China's week-long holidays with their weekends.
    public static let deadlineLookbackDays = 10

    /// Raises `file_late` (a warning naming partner, type and day) for each expected file of
    /// a type with a deadline that passed before `now` without the file received (posted,
    /// refused or set aside: it came), and clears the alerts of files that have come since.
    /// Days are the configuration's time zone's; working days the calendar's. Returns the
    /// files late now, oldest day first. Writes alerts: the caller holds the writer lock (a
    /// batch calls it at its end, the daemon each tick).
    @discardableResult
    public func checkDeadlines(config: ReckonConfig, reference: ReferenceData, now: Date) throws(LedgerError) -> [LateFile] {
        let zone = config.timeZone
        let calendar = reference.calendar
        let isWorkingDay = { (day: CivilDate) in calendar?.isWorkingDay(day) ?? true }
        guard let today = FileDeadline.localDay(of: now, timeZone: zone) else { return [] }
        let oldest = now.addingTimeInterval(-Double(Self.deadlineLookbackDays) * 86_400)
        // (Business day, partner, type) whose deadline passed within the look-back.
        var due: [(CivilDate, PartnerConfig, FileTypeConfig)] = []
        for back in (0...(Self.deadlineLookbackDays + 2)).reversed() {
            guard let day = today.adding(days: -back) else { continue }
            for partner in config.partners {
                for type in partner.files {
                    guard let by = type.expected.by, type.expected.isExpected(on: day, isWorkingDay: isWorkingDay),
                          let instant = by.instant(for: day, isWorkingDay: isWorkingDay, timeZone: zone),
                          instant <= now, instant > oldest else { continue }
                    due.append((day, partner, type))
                }
            }
        }
        return try write { db in
            var late: [LateFile] = []
            for (day, partner, type) in due where !(try Self.fileCame(db, partner: partner.id, type: type.id, day: day)) {
                var file = LateFile(partner: partner.id, fileType: type.id, date: day, name: type.name.name(for: day),
                                    deadline: type.expected.by!.text(for: day, isWorkingDay: isWorkingDay, timeZone: zone))
                file.isNew = try AlertBook.raise(db, .fileLate, subject: file.slot, day: day.description, message: file.description)
                late.append(file)
            }
            // Every open late alert whose file has come since is cleared, however old.
            for row in try Row.fetchAll(db, sql: "SELECT subject, business_date FROM alert WHERE kind = ? AND cleared_on IS NULL",
                                        arguments: [AlertCode.fileLate.rawValue]) {
                let subject: String = row[0]
                let parts = subject.split(separator: "/").map(String.init)
                guard parts.count == 3, let day = CivilDate(iso: parts[2]),
                      try Self.fileCame(db, partner: parts[0], type: parts[1], day: day) else { continue }
                try AlertBook.clear(db, .fileLate, subject: subject, day: row[1])
            }
            return late
        }
    }

    /// Whether a day's file of a partner's type has come (posted, superseded, refused) or an
    /// operator set it aside.
    static func fileCame(_ db: Database, partner: String, type: String, day: CivilDate) throws -> Bool {
        try Bool.fetchOne(db, sql: """
            SELECT EXISTS (SELECT 1 FROM received_file WHERE partner = ?1 AND file_type = ?2 AND business_date = ?3
                             AND status IN ('posted', 'superseded', 'rejected'))
                OR EXISTS (SELECT 1 FROM file_action WHERE partner = ?1 AND file_type = ?2 AND business_date = ?3
                             AND action = 'set_aside')
            """, arguments: [partner, type, day.description]) ?? false
    }

    /// The files of `date` whose late alert is open, for the day's status.
    func lateFiles(_ db: Database, date: CivilDate, config: ReckonConfig, calendar: BusinessCalendar?) throws -> [LateFile] {
        let subjects = try String.fetchAll(db, sql: """
            SELECT subject FROM alert WHERE kind = ? AND business_date = ? AND cleared_on IS NULL ORDER BY subject
            """, arguments: [AlertCode.fileLate.rawValue, date.description])
        return subjects.compactMap { subject in
            let parts = subject.split(separator: "/").map(String.init)
            guard parts.count == 3, let type = config.partner(parts[0])?.fileType(parts[1]) else { return nil }
            let deadline = type.expected.by?.text(for: date, isWorkingDay: { calendar?.isWorkingDay($0) ?? true },
                                                  timeZone: config.timeZone) ?? "its deadline"
            return LateFile(partner: parts[0], fileType: parts[1], date: date, name: type.name.name(for: date), deadline: deadline)
        }
    }
}

extension Batch {
    /// The deadlines at the end of a run, against its clock; a check that cannot be made (an
    /// unreadable calendar) is an error of the run.
    static func checkDeadlines(_ options: BatchOptions, config: ReckonConfig, reference: Result<ReferenceData, any Error>,
                               ledger: Ledger, report: inout BatchReport) {
        guard config.partners.contains(where: { $0.files.contains { $0.expected.by != nil } }) else { return }
        do {
            report.lateFiles = try ledger.checkDeadlines(config: config, reference: try reference.get(), now: options.now())
                .filter { options.partner == nil || $0.partner == options.partner }
            // The day's files were judged before the check: its late ones are the check's.
            report.day?.late = report.lateFiles.filter { $0.date == options.date }
        } catch {
            report.errors.append("deadlines: \(error)")
        }
    }
}
