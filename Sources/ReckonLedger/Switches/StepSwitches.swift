import Foundation
import GRDB
import ReckonCore

/// A step's console switch (seed 000 §17, "开启/暂停"): running, or paused by someone, when
/// and why. A step never switched runs.
public struct StepSwitch: Sendable, Equatable, CustomStringConvertible {
    public let step: BatchStep
    public let paused: Bool
    /// Who changed it last, when (UTC, `2026-12-01T02:10:00Z`) and why; nil for a step never
    /// switched.
    public let changedBy: String?
    public let changedAt: String?
    public let note: String?

    public init(step: BatchStep, paused: Bool, changedBy: String?, changedAt: String?, note: String?) {
        self.step = step
        self.paused = paused
        self.changedBy = changedBy
        self.changedAt = changedAt
        self.note = note
    }

    /// `ingest: paused by alice at 2026-12-01T02:10:00Z (bank file late)`, `plan: running`.
    public var description: String {
        guard let changedBy, let changedAt else { return "\(step.rawValue): running" }
        let note = self.note.map { " (\($0))" } ?? ""
        return "\(step.rawValue): \(paused ? "paused" : "running, resumed") by \(changedBy) at \(changedAt)\(note)"
    }
}

/// One pause or resume, as kept in the switches' history.
public struct StepSwitchChange: Sendable, Equatable, CustomStringConvertible {
    public enum Action: String, Sendable { case pause, resume }

    public let id: Int64
    public let step: BatchStep
    public let action: Action
    public let actor: String
    public let changedAt: String
    public let note: String?

    /// `#3 2026-12-01T02:10:00Z alice paused ingest (bank file late)`
    public var description: String {
        "#\(id) \(changedAt) \(actor) \(action == .pause ? "paused" : "resumed") \(step.rawValue)" + (note.map { " (\($0))" } ?? "")
    }
}

extension Ledger {
    /// The steps paused now. Read on a reader connection: cheap, and never waits for a writer,
    /// so a run asks at every file boundary.
    public func pausedSteps() throws(LedgerError) -> Set<BatchStep> {
        Set(try stepSwitches().filter(\.paused).map(\.step))
    }

    /// Every step's switch, in the steps' order.
    public func stepSwitches() throws(LedgerError) -> [StepSwitch] {
        let rows = try read { db in
            try Row.fetchAll(db, sql: "SELECT step, paused, changed_by, changed_at, note FROM step_switch")
        }
        var byStep: [String: Row] = [:]
        for row in rows { byStep[row[0]] = row }
        return BatchStep.allCases.map { step in
            guard let row = byStep[step.rawValue] else {
                return StepSwitch(step: step, paused: false, changedBy: nil, changedAt: nil, note: nil)
            }
            return StepSwitch(step: step, paused: row[1] as Bool, changedBy: row[2], changedAt: row[3], note: row[4])
        }
    }

    /// The switches' history, newest first.
    public func stepSwitchChanges(limit: Int = 50) throws(LedgerError) -> [StepSwitchChange] {
        try read { db in
            try Row.fetchAll(db, sql: """
                SELECT id, step, action, actor, changed_at, note FROM step_switch_change ORDER BY id DESC LIMIT ?
                """, arguments: [limit]).compactMap { row in
                guard let step = BatchStep(rawValue: row[1]), let action = StepSwitchChange.Action(rawValue: row[2]) else { return nil }
                return StepSwitchChange(id: row[0], step: step, action: action, actor: row[3], changedAt: row[4], note: row[5])
            }
        }
    }

    /// Pauses or resumes a step, kept in the history with who, when and why. A switch already
    /// in that position is left as it is (nothing recorded): the result is nil, and the
    /// switch says since when and by whom. Needs no writer lock: a running batch is what it
    /// is meant to stop, and it reads the switches at its next file boundary.
    @discardableResult
    public func setStep(_ step: BatchStep, paused: Bool, actor: String, note: String?,
                        at stated: String? = nil) throws(LedgerError) -> StepSwitchChange? {
        let time = stated ?? timestamp()
        let note = note.flatMap { $0.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty ? nil : $0 }
        return try write { db in
            let current = try Bool.fetchOne(db, sql: "SELECT paused FROM step_switch WHERE step = ?", arguments: [step.rawValue]) ?? false
            guard current != paused else { return nil }
            try db.execute(sql: """
                INSERT INTO step_switch (step, paused, changed_by, changed_at, note) VALUES (?, ?, ?, ?, ?)
                ON CONFLICT (step) DO UPDATE SET paused = excluded.paused, changed_by = excluded.changed_by,
                    changed_at = excluded.changed_at, note = excluded.note
                """, arguments: [step.rawValue, paused, actor, time, note])
            let action: StepSwitchChange.Action = paused ? .pause : .resume
            try db.execute(sql: "INSERT INTO step_switch_change (step, action, actor, changed_at, note) VALUES (?, ?, ?, ?, ?)",
                           arguments: [step.rawValue, action.rawValue, actor, time, note])
            return StepSwitchChange(id: db.lastInsertedRowID, step: step, action: action, actor: actor, changedAt: time, note: note)
        }
    }
}
