import GRDB
import ReckonCore
import ReckonFiles

/// The platform's result file: every record of the partner's files of the day, with what
/// became of it. A record in a break says so (pending, or `break` while open, with the
/// break's number, kind and summary; a break matched, resolved or closed since makes the
/// record `matched`, naming the break). Otherwise a record that a reconciliation rule of the
/// day compares is `matched`, and any other posted record `posted`. A refused file's
/// records are `refused`: each record problem with its line and reason (read again from the
/// stored copy), and a line 0 for the file as a whole with why it was refused.
struct ResultContent: OutboundContent {
    let partner: PartnerConfig
    let date: CivilDate
    let config: ReckonConfig

    func records(_ db: Database, emit: ([String: FieldValue]) throws -> Void) throws {
        let compared = try comparedSlots(db)
        let files = try Row.fetchAll(db, sql: """
            SELECT id, name, file_type, status, archive_path, report_path FROM received_file
            WHERE partner = ? AND business_date = ? AND status IN ('posted', 'rejected', 'stale') ORDER BY name, id
            """, arguments: [partner.id, date.description])
        for file in files {
            let id: Int64 = file[0], name: String = file[1], fileType: String = file[2], status: String = file[3]
            if status == "posted" {
                try posted(db, fileID: id, name: name, compared: compared.contains("\(partner.id)/\(fileType)"), emit: emit)
            } else {
                try refused(name: name, fileType: fileType, stale: status == "stale", copy: file[4], report: file[5], emit: emit)
            }
        }
    }

    /// The partner's file types some rule reconciled on the day (its records are matched
    /// unless a break holds them).
    private func comparedSlots(_ db: Database) throws -> Set<String> {
        let ran = Set(try String.fetchAll(db, sql: "SELECT rule FROM recon_run WHERE business_date = ?", arguments: [date.description]))
        var slots = Set<String>()
        for rule in config.reconciliation.rules where ran.contains(rule.name) {
            guard let sources = rule.sources else { continue }
            for source in [sources.left, sources.right] {
                if case .events(_, let partner, let fileType) = source.origin { slots.insert("\(partner)/\(fileType)") }
            }
        }
        return slots
    }

    private func posted(_ db: Database, fileID: Int64, name: String, compared: Bool, emit: ([String: FieldValue]) throws -> Void) throws {
        // The break a record is in: an outstanding one first, else the latest.
        let rows = try Row.fetchCursor(db, sql: """
            SELECT e.line, e.kind, e.loan_id, e.reference, e.amount_minor, b.id, b.status, b.kind, b.summary, b.reason
            FROM received_file f JOIN event e ON e.id BETWEEN f.first_event_id AND f.last_event_id
            LEFT JOIN recon_break b ON b.id = (
                SELECT i.break_id FROM recon_break_item i JOIN recon_break x ON x.id = i.break_id
                WHERE i.ref IN ('e' || e.id, 'a' || e.id)
                ORDER BY x.status IN ('pending', 'open') DESC, x.id DESC LIMIT 1)
            WHERE f.id = ? AND e.active = 1 ORDER BY e.line
            """, arguments: [fileID])
        while let row = try rows.next() {
            var status = compared ? "matched" : "posted", reason: String?
            let breakID: Int64? = row[5]
            if let breakID {
                let breakStatus: String = row[6], kind: String = row[7], summary: String = row[8]
                switch breakStatus {
                case "pending": status = "pending"; reason = "\(kind): \(summary)"
                case "open": status = "break"; reason = "\(kind): \(summary)"
                default:
                    status = "matched"
                    reason = "break #\(breakID) \(breakStatus)" + ((row[9] as String?).map { " (\($0))" } ?? "")
                }
            }
            try emit([
                "file": .text(name), "line": .integer(row[0]), "record_kind": .text(row[1]), "loan_id": OutboundValue.text(row[2]),
                "reference": OutboundValue.text(row[3]), "amount": OutboundValue.money(row[4]), "status": .text(status),
                "break_id": OutboundValue.integer(breakID), "reason": OutboundValue.text(reason),
            ])
        }
    }

    /// A refused file: its record problems, read again from the stored copy through its
    /// spec, then the file's own line.
    private func refused(name: String, fileType: String, stale: Bool, copy: String?, report: String?,
                         emit: ([String: FieldValue]) throws -> Void) throws {
        func line(_ number: Int, kind: String, reason: String) throws {
            try emit(["file": .text(name), "line": .integer(Int64(number)), "record_kind": .text(kind), "loan_id": .empty,
                      "reference": .empty, "amount": .empty, "status": .text("refused"), "break_id": .empty, "reason": .text(reason)])
        }
        if stale {
            try line(0, kind: "file", reason: "an earlier version of the day's \(fileType) file sent again: nothing from it was posted")
            return
        }
        var why = "the file was refused: nothing from it was posted"
        if let copy, let type = partner.fileType(fileType), let spec = try? SpecFile.load(type.specPath) {
            let checked = PartnerFile.check(copy, spec: spec)
            for problem in checked.problems {
                try line(problem.location.line, kind: problem.kind ?? "record", reason: problem.problem.description)
            }
            if let failure = checked.failure {
                why += " (\(failure.reason))"
            } else if let control = checked.controls.first(where: { !$0.holds }) {
                why += " (\(control.control): declared \(control.declared.map { "\($0)" } ?? "nowhere"), actual \(control.actual))"
            } else if checked.problemsOmitted > 0 {
                why += " (\(Plural.count(checked.problemsOmitted, "more problem")) not listed: see the report)"
            }
        }
        if let report { why += "; report: \(report)" }
        try line(0, kind: "file", reason: why)
    }
}
