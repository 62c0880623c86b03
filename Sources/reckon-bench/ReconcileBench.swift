#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import Foundation
import ReckonCore
import ReckonFiles
import ReckonLedger

/// `reckon-bench reconcile`: the reconcile step's rule `repayments-vs-bill` over N platform
/// repayments and N channel bill lines already in the ledger, next to the same comparison
/// done the way people do it by hand (pandas, DuckDB).
struct ReconcileBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reconcile",
        abstract: "Reconcile-step time and memory against pandas and DuckDB doing the same comparison.",
        discussion: """
            For each --size N: writes N platform repayments (PLAT_REPAY_*.csv) and N channel bill \
            lines (PAY_BILL_*.csv, GBK) for one day through the shipped specs, 0.05% of each \
            side missing on the other and 0.1% of the pairs a different amount, and ingests \
            both into a ledger with the repository's reckon.yaml (kept between runs, as the \
            files are). Then, each in a fresh process on a fresh copy of that ledger, the \
            reconcile step runs the rule repayments-vs-bill and its time, peak memory and \
            findings are checked. In the same run, the same data as plain UTF-8 CSV goes to \
            scripts/bench_reconcile.py: pandas reading both, outer-merging on the reference \
            and comparing amount and status; DuckDB doing the same full outer join straight \
            from the CSVs; and DuckDB's join alone over tables loaded beforehand. pandas and \
            DuckDB come from PyPI into a virtual environment made on first use (--python to \
            use another). Each task runs --runs times; the median is reported.
            """
    )

    @Option(name: .customLong("size"), help: "Items on each side (a multiple of 2,000); repeat to measure several sizes.")
    var sizes: [Int] = [1_000_000]

    @Option(help: "Folder for the generated files and ledgers.")
    var workDir = "/tmp/reckon-bench"

    @Option(help: "The folder holding the specs.")
    var mappings = "mappings"

    @Option(help: "Timed runs of each task; the median is reported.")
    var runs = 3

    @Option(help: "The Python with pandas and duckdb (default: a virtual environment in .build/bench-venv, made when missing).")
    var python: String?

    @Flag(help: "Measure the reconcile step only.")
    var noBaselines = false

    static let rule = "repayments-vs-bill"

    func run() throws {
        let sets = try sizes.map(ReconcileData.init(size:))
        let python = noBaselines ? nil : try self.python ?? Self.virtualEnvironment()
        print(MachineInfo.describe(cores: "reckon's step reads each side on a thread of its own and pairs them on a third; pandas runs on one thread; DuckDB on every core"))
        print("load average at the start (other work on the machine slows every figure): \(Self.loadAverage())")
        var rows: [(size: Int, task: String, measurement: Measurement)] = []
        for data in sets {
            let size = data.size
            let folder = "\(workDir)/reconcile-\(size)"
            let paths = try data.write(into: folder, mappings: mappings)
            let config = try prepareLedger(folder: folder, data: data, paths: paths)
            rows.append((size, "reckon reconcile step (\(Self.rule)), from the ledger", try IngestBench.median(of: runs) {
                try freshCopy(config)
                return try Child.measure(["measure-reconcile", "--config", config.path, "--size", String(size)])
            }))
            if let python {
                for (mode, task) in [("pandas", "pandas: read both CSVs, outer merge, compare"),
                                     ("duckdb", "DuckDB: full outer join from the CSVs"),
                                     ("duckdb-join", "DuckDB: the join alone, tables loaded")] {
                    rows.append((size, task, try IngestBench.median(of: runs) {
                        try Self.baseline(python: python, mode: mode, paths: paths, data: data)
                    }))
                }
            }
        }
        print(Self.table(rows))
    }

    // MARK: The ledger

    /// A configuration and its ledger: the prepared copy and the one each run works on.
    struct PreparedLedger {
        let path: String
        let ledger: String
        let pristine: String
    }

    /// The repository's reckon.yaml with absolute paths and its ledger in `folder`, the day's
    /// two files ingested once (the ledger is kept as `prepared.sqlite` for later runs).
    private func prepareLedger(folder: String, data: ReconcileData, paths: ReconcileData.Paths) throws -> PreparedLedger {
        let root = FileManager.default.currentDirectoryPath
        let yaml = try String(contentsOfFile: root + "/reckon.yaml", encoding: .utf8)
            .replacingOccurrences(of: "spec: mappings/", with: "spec: \(root)/\(mappings)/")
            .replacingOccurrences(of: " data/", with: " \(root)/data/")
            .replacingOccurrences(of: "drop: inbox/", with: "drop: \(folder)/inbox/")
        let configPath = folder + "/reckon.yaml"
        try yaml.write(toFile: configPath, atomically: true, encoding: .utf8)
        let loaded = try ConfigFile.load(configPath)
        let prepared = PreparedLedger(path: configPath, ledger: loaded.databasePath, pristine: folder + "/prepared.sqlite")
        if access(prepared.pristine, R_OK) == 0 {
            // A ledger prepared by an earlier reckon is brought to this one's schema once
            // here, not by every timed run's process (its migrations took longer than the step).
            do { _ = try Ledger(path: prepared.pristine) }
            return prepared
        }

        Self.removeLedger(prepared.ledger)
        try? FileManager.default.removeItem(atPath: folder + "/var")
        let started = Clock.now()
        do {
            let ledger = try Ledger(path: prepared.ledger)
            try ledger.register(loaded.partners)
            for (partner, type, path) in [("platform", "repayments", paths.repayments), ("channel", "bills", paths.bill)] {
                let partnerConfig = loaded.partner(partner)!
                let result = try ledger.ingest(IngestRequest(path: path, partner: partnerConfig, fileType: partnerConfig.fileType(type)!,
                                                             businessDate: data.day), config: loaded)
                guard result.outcome == .posted, result.events == data.size else {
                    throw ValidationError("\(path) was \(result.outcome.rawValue) with \(result.events) events")
                }
            }
        }  // the ledger closes here: its log is checkpointed into the file
        print("ledger prepared for \(data.size.formatted()) a side in \(String(format: "%.0f", Clock.now() - started)) s (not measured)")
        try FileManager.default.copyItem(atPath: prepared.ledger, toPath: prepared.pristine + ".partial")
        rename(prepared.pristine + ".partial", prepared.pristine)
        return prepared
    }

    /// Every run starts from the prepared ledger, so none sees another's breaks.
    private func freshCopy(_ prepared: PreparedLedger) throws {
        Self.removeLedger(prepared.ledger)
        try FileManager.default.copyItem(atPath: prepared.pristine, toPath: prepared.ledger)
    }

    private static func removeLedger(_ path: String) {
        for suffix in ["", "-wal", "-shm"] { unlink(path + suffix) }
    }

    // MARK: pandas and DuckDB

    /// `.build/bench-venv` with pandas and duckdb, made when missing.
    static func virtualEnvironment() throws -> String {
        let folder = FileManager.default.currentDirectoryPath + "/.build/bench-venv"
        let python = folder + "/bin/python"
        if access(python, X_OK) == 0,
           (try? run(python, ["-c", "import pandas, duckdb"], quiet: true)) != nil { return python }
        print("making \(folder) with pandas and duckdb from PyPI (for the benchmark only)")
        do {
            try run("/usr/bin/env", ["python3", "-m", "venv", folder])
            try run(python, ["-m", "pip", "install", "--quiet", "--disable-pip-version-check", "pandas", "duckdb"])
        } catch {
            throw ValidationError("could not make \(folder) with pandas and duckdb (python3 with venv, and PyPI, are needed): \(error); "
                                  + "--python names a Python that has them, --no-baselines measures reckon alone")
        }
        return python
    }

    @discardableResult
    private static func run(_ executable: String, _ arguments: [String], quiet: Bool = false) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        if quiet { process.standardError = FileHandle.nullDevice }
        do { try process.run() } catch { throw ValidationError("cannot run \(executable): \(error.localizedDescription)") }
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw ValidationError("\(executable) \(arguments.joined(separator: " ")) exited with \(process.terminationStatus)")
        }
        return output
    }

    /// One run of scripts/bench_reconcile.py; it prints seconds, peak RSS and what it found,
    /// which must be what was generated.
    static func baseline(python: String, mode: String, paths: ReconcileData.Paths, data: ReconcileData) throws -> Measurement {
        let output = try run(python, ["scripts/bench_reconcile.py", mode, paths.repaymentsCSV, paths.billCSV])
        let parts = output.split(whereSeparator: \.isWhitespace)
        guard parts.count == 6, let seconds = Double(parts[0]), let peak = Int64(parts[1]) else {
            throw ValidationError("bench_reconcile.py \(mode) printed: \(output)")
        }
        let found = parts[2...].compactMap { Int($0) }
        let expected = [data.size - data.missingPerSide - data.amountDifferences, data.missingPerSide, data.missingPerSide, data.amountDifferences]
        guard found == expected else {
            throw ValidationError("bench_reconcile.py \(mode) found matched, left only, right only, amount differences \(found); expected \(expected)")
        }
        return Measurement(seconds: seconds, bytes: 0, records: Int64(2 * data.size), peakRSSKiB: peak)
    }

    /// The 1, 5 and 15 minute load averages.
    static func loadAverage() -> String {
        let text = (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8)) ?? ""
        return text.split(separator: " ").prefix(3).joined(separator: " ")
    }

    // MARK: The table

    static func table(_ rows: [(size: Int, task: String, measurement: Measurement)]) -> String {
        var lines = ["| items a side | task | seconds | ÷ pandas | ÷ DuckDB from CSV | peak RSS |", "|---|---|---|---|---|---|"]
        for row in rows {
            let pandas = rows.first { $0.size == row.size && $0.task.hasPrefix("pandas") }?.measurement
            let duckdb = rows.first { $0.size == row.size && $0.task.hasPrefix("DuckDB: full") }?.measurement
            func ratio(_ base: Measurement?) -> String { base.map { String(format: "%.2f×", row.measurement.seconds / $0.seconds) } ?? "—" }
            lines.append("| \(row.size.formatted()) | \(row.task) | \(String(format: "%.2f", row.measurement.seconds)) | \(ratio(pandas)) | "
                + "\(ratio(duckdb)) | \(String(format: "%.1f MiB", Double(row.measurement.peakRSSKiB) / 1024)) |")
        }
        return lines.joined(separator: "\n")
    }
}

/// Hidden: the reconcile step of the benchmark's day with the rule repayments-vs-bill, timed
/// in a process of its own; what it found is checked against what was generated.
struct MeasureReconcile: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "measure-reconcile", shouldDisplay: false)

    @Option var config: String
    @Option var size: Int

    func run() throws {
        let data = try ReconcileData(size: size)
        let loaded = try ConfigFile.load(config)
        let ledger = try Ledger(path: loaded.databasePath)
        let reference = try ReferenceData.load(loaded)
        let started = Clock.now()
        let report = try ledger.runReconcileStep(date: data.day, config: loaded, reference: reference, rule: ReconcileBench.rule)
        let seconds = Clock.now() - started
        guard let outcome = report.rules.first, report.rules.count == 1 else { throw ValidationError("no outcome") }
        // Missing items wait a working day (pending_days: 1) before they are breaks.
        let found = [outcome.leftItems, outcome.rightItems, outcome.matched, outcome.pending, outcome.broken]
        let expected = [data.size, data.size, data.size - data.missingPerSide - data.amountDifferences, 2 * data.missingPerSide,
                        data.amountDifferences]
        guard found == expected else {
            throw ValidationError("the step found left, right, matched, pending, broken \(found); expected \(expected)")
        }
        print("\(seconds) 0 \(outcome.leftItems + outcome.rightItems) \(PeakMemory.kibibytes())")
    }
}
