import Foundation
import GRDB
import ReckonCore
import ReckonFiles

/// The steps of a business day that exist so far, in their order.
public enum BatchStep: String, Sendable, CaseIterable {
    case collect, ingest, plan
}

public struct BatchOptions: Sendable {
    public var date: CivilDate
    public var steps: [BatchStep]
    public var partner: String?
    /// Collect and read the files, post nothing, record nothing.
    public var dryRun: Bool
    public var maximumWaitSeconds: Double

    public init(date: CivilDate, steps: [BatchStep] = BatchStep.allCases, partner: String? = nil,
                dryRun: Bool = false, maximumWaitSeconds: Double = 30) {
        self.date = date
        self.steps = steps
        self.partner = partner
        self.dryRun = dryRun
        self.maximumWaitSeconds = maximumWaitSeconds
    }
}

/// What a batch run did.
public struct BatchReport: Sendable {
    public var runID: Int64?
    public var collected = Collector.Result()
    public var ingested: [IngestResult] = []
    /// Dry runs: the files as read, without posting.
    public var checked: [FileReport] = []
    /// Files that could not be taken in at all (unreadable, no spec), with why.
    public var errors: [String] = []
    /// The plan step's outcome, when it ran.
    public var plans: PlanStepReport?

    /// Nothing was rejected and nothing failed. Waiting files do not make a run fail: they
    /// are collected by a later run.
    public var succeeded: Bool {
        errors.isEmpty && !ingested.contains { $0.outcome == .rejected } && checked.allSatisfy(\.isClean)
    }
}

/// Runs a business day's steps: collect the partners' complete files from their drops,
/// then ingest each into the ledger in configuration order. Every run and step is recorded
/// in the ledger; running the same day again posts nothing twice.
public enum Batch {
    public static func run(_ options: BatchOptions, config: ReckonConfig, ledger: Ledger,
                           progress: @escaping @Sendable (String) -> Void = { _ in }) throws(LedgerError) -> BatchReport {
        var report = BatchReport()
        let runID = options.dryRun ? nil : try ledger.startRun(options)
        report.runID = runID
        do {
            let collectStep = runID == nil ? nil : try ledger.startStep(runID!, .collect)
            report.collected = Collector(config: config, maximumWaitSeconds: options.maximumWaitSeconds)
                .collect(date: options.date, partner: options.partner)
            if let collectStep {
                try ledger.finishStep(collectStep, status: "succeeded", detail: describe(report.collected))
            }

            if options.steps.contains(.ingest) {
                let ingestStep = runID == nil ? nil : try ledger.startStep(runID!, .ingest)
                for file in report.collected.ready {
                    guard let partner = config.partner(file.partner), let type = partner.fileType(file.fileType) else { continue }
                    progress("\(options.dryRun ? "reading" : "ingesting") \(file.path)")
                    if options.dryRun {
                        do {
                            report.checked.append(PartnerFile.check(file.path, spec: try SpecFile.load(type.specPath)))
                        } catch {
                            report.errors.append("\(error)")
                        }
                        continue
                    }
                    do {
                        report.ingested.append(try ledger.ingest(IngestRequest(path: file.path, partner: partner, fileType: type,
                                                                               businessDate: options.date), config: config) { stored in
                            progress("ingesting \(file.path): \(stored.formatted()) records")
                        })
                    } catch {
                        report.errors.append("\(file.path): \(error)")
                    }
                }
                if let ingestStep {
                    let succeeded = report.errors.isEmpty && !report.ingested.contains { $0.outcome == .rejected }
                    try ledger.finishStep(ingestStep, status: succeeded ? "succeeded" : "failed",
                                          detail: report.ingested.map { "\($0.outcome.rawValue) \($0.file)" }.joined(separator: "\n"))
                }
            }

            // Plans are made from what the ledger holds, so a rejected file does not stop
            // them: the day's other loans and repayments still move on.
            if options.steps.contains(.plan), let runID {
                let planStep = try ledger.startStep(runID, .plan)
                progress("planning \(options.date)")
                do {
                    let reference = try ReferenceData.load(config)
                    let plans = try ledger.runPlanStep(date: options.date, config: config, reference: reference)
                    report.plans = plans
                    try ledger.finishStep(planStep, status: "succeeded", detail: plans.summary)
                } catch {
                    report.errors.append("plan step: \(error)")
                    try ledger.finishStep(planStep, status: "failed", detail: "\(error)")
                }
            }
        } catch {
            if let runID { try? ledger.finishRun(runID, status: "failed", summary: "\(error)") }
            throw error
        }
        if let runID {
            try ledger.finishRun(runID, status: report.succeeded ? "succeeded" : "failed", summary: summary(report))
        }
        return report
    }

    public static func summary(_ report: BatchReport) -> String {
        func count(_ outcome: IngestResult.Outcome) -> Int { report.ingested.filter { $0.outcome == outcome }.count }
        let posted = count(.posted), repeated = count(.repeated), rejected = count(.rejected)
        let files = "\(posted) posted, \(repeated) repeated, \(rejected) rejected, \(report.collected.waiting.count) waiting"
        return report.plans.map { files + "; " + $0.summary } ?? files
    }

    /// The collect step's record: one line per file, waiting ones with the rule holding them.
    static func describe(_ result: Collector.Result) -> String {
        (result.ready.map { "ready\t\($0.partner)/\($0.fileType)\t\($0.path)" }
            + result.waiting.map { "waiting\t\($0.partner)/\($0.fileType)\t\($0.path)\t\($0.reason)" }
            + result.unknown.map { "unknown\t-\t\($0)" }).joined(separator: "\n")
    }
}

extension Ledger {
    func startRun(_ options: BatchOptions) throws(LedgerError) -> Int64 {
        try write(crashAfter: .runStarted) { db in
            try db.execute(sql: """
                INSERT INTO batch_run (business_date, steps, partner, dry_run, status, started_at) VALUES (?, ?, ?, 0, 'running', ?)
                """, arguments: [options.date.description, options.steps.map(\.rawValue).joined(separator: ","), options.partner, timestamp()])
            return db.lastInsertedRowID
        }
    }

    func finishRun(_ id: Int64, status: String, summary: String) throws(LedgerError) {
        try write(crashAfter: .runFinished) { db in
            try db.execute(sql: "UPDATE batch_run SET status = ?, finished_at = ?, summary = ? WHERE id = ?",
                           arguments: [status, timestamp(), summary, id])
        }
    }

    func startStep(_ run: Int64, _ step: BatchStep) throws(LedgerError) -> Int64 {
        try write(crashAfter: .stepStarted) { db in
            try db.execute(sql: "INSERT INTO batch_step (run_id, step, status, started_at) VALUES (?, ?, 'running', ?)",
                           arguments: [run, step.rawValue, timestamp()])
            return db.lastInsertedRowID
        }
    }

    func finishStep(_ id: Int64, status: String, detail: String) throws(LedgerError) {
        try write(crashAfter: .stepFinished) { db in
            try db.execute(sql: "UPDATE batch_step SET status = ?, finished_at = ?, detail = ? WHERE id = ?",
                           arguments: [status, timestamp(), detail, id])
        }
    }

    public struct BatchRun: Sendable {
        public let id: Int64
        public let businessDate: String
        public let steps: String
        public let status: String
        public let startedAt: String
        public let finishedAt: String?
        public let summary: String?
        /// From the collect step: files still waiting, with the rule that holds each.
        public let waiting: [String]
    }

    /// The latest batch runs, newest first.
    public func batchRuns(limit: Int = 5) throws(LedgerError) -> [BatchRun] {
        try read { db in
            try Row.fetchAll(db, sql: """
                SELECT r.id, r.business_date, r.steps, r.status, r.started_at, r.finished_at, r.summary,
                       (SELECT detail FROM batch_step WHERE run_id = r.id AND step = 'collect')
                FROM batch_run r ORDER BY r.id DESC LIMIT ?
                """, arguments: [limit]).map { row in
                let detail: String = row[7] ?? ""
                let waiting = detail.split(separator: "\n").filter { $0.hasPrefix("waiting\t") }.map { line -> String in
                    let parts = line.split(separator: "\t").map(String.init)
                    return parts.count >= 4 ? "\(parts[2]): \(parts[3])" : String(line)
                }
                return BatchRun(id: row[0], businessDate: row[1], steps: row[2], status: row[3], startedAt: row[4],
                                finishedAt: row[5], summary: row[6], waiting: waiting)
            }
        }
    }
}
