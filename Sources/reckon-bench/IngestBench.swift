#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import Foundation
import ReckonCore
import ReckonFiles
import ReckonLedger

/// `reckon-bench ingest`: 1,000,000 repayments in the bank's fixed-width settlement layout,
/// taken into a fresh ledger end to end, next to the sqlite3 shell importing the same
/// records as CSV into a table with the same key and indexes.
struct IngestBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ingest",
        abstract: "Ingest throughput against the sqlite3 shell's .import of the same records.",
        discussion: """
            Writes N repayments in the bank settlement layout (mappings/bank-settlement.yaml) and \
            the same records as CSV. Then, each in a fresh process: reckon ingests the file into an \
            empty ledger (read, validate, store the events; and again with the file type posting \
            journal entries), and `sqlite3` runs `.import` of the CSV into a table keyed like \
            reckon's events (unique record key, index on loan_id) — the yardstick. With \
            --scale-check the file is also written ten times larger, to show that peak memory \
            does not grow with it. Each task runs --runs times (after a sync, into a fresh ledger or \
            database) and the median is reported.
            """
    )

    @Option(help: "Records in the file.")
    var records = 1_000_000

    @Option(help: "Folder for the generated files and ledgers.")
    var workDir = "/tmp/reckon-bench"

    @Option(help: "The folder holding the specs.")
    var mappings = "mappings"

    @Flag(inversion: .prefixedNo, help: "Also ingest a file ten times larger (peak memory must stay flat).")
    var scaleCheck = false

    @Option(help: "Runs of each task at the base size, each into a fresh ledger; the median is reported (the larger file runs once).")
    var runs = 3

    func run() throws {
        mkdir(workDir, 0o755)
        let spec = try SpecFile.load("\(mappings)/bank-settlement.yaml")
        print(MachineInfo.describe(cores: "reckon reads on one thread and writes on another (a third copies the archive); sqlite3 runs on one"))
        print("records: \(records.formatted())\n")
        var rows: [(String, Measurement)] = []
        for count in scaleCheck ? [records, records * 10] : [records] {
            let fixed = "\(workDir)/settlement-\(count).txt"
            try Generator.write(fixed, spec: spec, records: count)
            let csv = "\(workDir)/settlement-\(count).csv"
            try Self.writeCSV(from: fixed, spec: spec, to: csv)
            let label = count == records ? "" : " ×10"
            let runs = count == records ? max(1, self.runs) : 1
            rows.append(("sqlite3 .import (CSV)\(label)", try Self.median(of: runs) { try sqliteImport(csv: csv, count: count) }))
            for posts in [false, true] {
                rows.append(("reckon ingest, \(posts ? "posting entries" : "events only (as configured)")\(label)",
                             try Self.median(of: runs) {
                                 try Child.measure(["measure-ingest", "--config", try writeConfig(posts: posts), fixed])
                             }))
            }
        }
        var lines = ["| task | records/s | MB/s | seconds | ÷ sqlite3 import | peak RSS |", "|---|---|---|---|---|---|"]
        var yardstick: Measurement?
        for (label, m) in rows {
            if label.hasPrefix("sqlite3") { yardstick = m }
            let ratio = yardstick.map { String(format: "%.2f×", m.seconds / $0.seconds) } ?? "—"
            lines.append("| \(label) | \(Int64(Double(m.records) / m.seconds).formatted()) | \(String(format: "%.0f", Double(m.bytes) / m.seconds / 1e6)) | "
                + "\(String(format: "%.2f", m.seconds)) | \(ratio) | \(m.peakRSSKiB < 0 ? "—" : String(format: "%.1f MiB", Double(m.peakRSSKiB) / 1024)) |")
        }
        print(lines.joined(separator: "\n"))
    }

    /// The run with the median time of `runs`. Each starts after `sync()`, so no run pays
    /// for another's writes still on their way to disk.
    static func median(of runs: Int, _ measure: () throws -> Measurement) throws -> Measurement {
        var measured: [Measurement] = []
        for _ in 0..<runs {
            sync()
            measured.append(try measure())
        }
        return measured.sorted { $0.seconds < $1.seconds }[runs / 2]
    }

    /// A configuration with one partner whose settlement files post or not, and a fresh ledger.
    private func writeConfig(posts: Bool) throws -> String {
        let folder = "\(workDir)/ledger-\(posts ? "posting" : "events")"
        try? FileManager.default.removeItem(atPath: folder)
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let specPath = FileManager.default.currentDirectoryPath + "/" + mappings + "/bank-settlement.yaml"
        let yaml = """
            partners:
              bank:
                role: bank
                files:
                  settlements: {spec: "\(specPath)", name: "settlement-*.txt", post: \(posts)}
            """
        try yaml.write(toFile: folder + "/reckon.yaml", atomically: true, encoding: .utf8)
        return folder + "/reckon.yaml"
    }

    /// The same records as CSV, with the columns reckon keys and indexes on.
    static func writeCSV(from fixed: String, spec: MappingSpec, to csv: String) throws {
        if access(csv, R_OK) == 0 { return }
        let output = try AtomicFile(path: csv)
        let kind = spec.kind(named: "repayment")!
        try output.write(Array((kind.fields.map(\.name).joined(separator: ",") + "\n").utf8))
        var failure: Error?
        _ = PartnerFile.check(fixed, spec: spec) { record in
            guard record.kind.name == "repayment", failure == nil else { return }
            let line = (0..<record.count).map { record[$0].description }.joined(separator: ",") + "\n"
            do { try output.write(Array(line.utf8)) } catch { failure = error }
        }
        if let failure { throw failure }
        try output.commit()
    }

    /// Times the sqlite3 shell importing the CSV into a fresh database.
    private func sqliteImport(csv: String, count: Int) throws -> Measurement {
        let database = "\(workDir)/sqlite-import.db"
        try? FileManager.default.removeItem(atPath: database)
        let script = """
            CREATE TABLE repayment (sequence INTEGER, loan_id TEXT NOT NULL, period INTEGER, repay_type TEXT, paid_on TEXT,
              principal INTEGER, interest INTEGER, penalty INTEGER, fee INTEGER, total INTEGER, currency TEXT,
              channel_reference TEXT, status TEXT, remark TEXT);
            CREATE UNIQUE INDEX repayment_key ON repayment(loan_id, period, paid_on, channel_reference);
            CREATE INDEX repayment_loan ON repayment(loan_id);
            .import --csv --skip 1 \(csv) repayment
            SELECT count(*) FROM repayment;
            """
        let scriptPath = "\(workDir)/import.sql"
        try script.write(toFile: scriptPath, atomically: true, encoding: .utf8)
        let start = Clock.now()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/sqlite3")
        process.arguments = [database, ".read \(scriptPath)"]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        let seconds = Clock.now() - start
        guard process.terminationStatus == 0, Int(output.trimmingCharacters(in: .whitespacesAndNewlines)) == count else {
            throw ValidationError("sqlite3 .import failed: \(output)")
        }
        var status = stat()
        stat(csv, &status)
        return Measurement(seconds: seconds, bytes: Int64(status.st_size), records: Int64(count), peakRSSKiB: -1)
    }
}

/// The measured ingest, in a child process of its own.
struct MeasureIngest: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "measure-ingest", shouldDisplay: false)

    @Option var config: String
    @Argument var file: String

    func run() throws {
        let loaded = try ConfigFile.load(config)
        let partner = loaded.partners[0]
        let ledger = try Ledger(path: loaded.databasePath)
        let start = Clock.now()
        let result = try ledger.ingest(IngestRequest(path: file, partner: partner, fileType: partner.files[0],
                                                     businessDate: CivilDate(year: 2024, month: 12, day: 15)), config: loaded)
        let seconds = Clock.now() - start
        guard result.outcome == .posted else { throw ValidationError("the file was \(result.outcome.rawValue)") }
        var status = stat()
        stat(file, &status)
        print("\(seconds) \(status.st_size) \(result.events) \(PeakMemory.kibibytes())")
    }
}
