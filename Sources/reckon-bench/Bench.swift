#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import Foundation
import ReckonCore
import ReckonFiles

@main
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reckon-bench",
        abstract: "Throughput and memory benchmarks for reckon (not part of `make test`).",
        subcommands: [ParseBench.self, IngestBench.self, PlanBench.self, ReconcileBench.self, SettleBench.self, DaemonBench.self, Measure.self, MeasureSettle.self, MeasureIngest.self, MeasurePlan.self,
                      MeasureReconcile.self]
    )
}

/// `reckon-bench parse`: generates repayment files in the sample layouts and measures
/// parsing and validation against a plain newline scan of the same bytes.
struct ParseBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "parse",
        abstract: "Parse-and-validate throughput of the fixed-width and CSV repayment layouts.",
        discussion: """
            Writes N repayment records in the bank's fixed-width settlement layout \
            (mappings/bank-settlement.yaml) and in the platform's CSV repayment layout \
            (mappings/platform-repayments.yaml), then, each in a fresh child process so peak \
            memory is its own: a memchr line scan of the file (the ceiling), and reading every \
            record through the spec with full validation and control totals. A camt.053 \
            statement with a tenth as many entries measures the XML reader the same way. With \
            --scale-check the fixed-width file is also written ten times larger, to show that \
            peak memory does not grow with the file.
            """
    )

    @Option(help: "Records per file.")
    var records = 1_000_000

    @Option(help: "Folder for the generated files.")
    var workDir = "/tmp/reckon-bench"

    @Option(help: "The folder holding the specs.")
    var mappings = "mappings"

    @Option(help: "Timed runs per measurement; the best is reported.")
    var runs = 3

    @Flag(inversion: .prefixedNo, help: "Also measure a file ten times larger (peak memory must stay flat).")
    var scaleCheck = true

    func run() throws {
        mkdir(workDir, 0o755)
        let fixedSpec = try loadSpec("\(mappings)/bank-settlement.yaml")
        let csvSpec = try loadSpec("\(mappings)/platform-repayments.yaml")
        print(MachineInfo.describe())
        print("records per file: \(records.formatted())\n")

        var rows: [ResultRow] = []
        let fixedPath = "\(workDir)/settlement-\(records).txt"
        try Generator.write(fixedPath, spec: fixedSpec, records: records)
        rows += try measurePair(label: "fixed-width", spec: fixedSpec, path: fixedPath)

        let csvPath = "\(workDir)/repayments-\(records).csv"
        try Generator.write(csvPath, spec: csvSpec, records: records)
        rows += try measurePair(label: "csv", spec: csvSpec, path: csvPath)

        let xmlSpec = try loadSpec("\(mappings)/camt053.yaml")
        let xmlPath = "\(workDir)/statement-\(records / 10).xml"
        try Generator.writeStatement(xmlPath, entries: records / 10)
        rows += try measurePair(label: "camt.053 xml", spec: xmlSpec, path: xmlPath)

        if scaleCheck {
            let bigPath = "\(workDir)/settlement-\(records * 10).txt"
            try Generator.write(bigPath, spec: fixedSpec, records: records * 10)
            rows += try measurePair(label: "fixed-width ×10", spec: fixedSpec, path: bigPath, runs: 1)
            unlink(bigPath)
        }
        print(ResultRow.table(rows))
    }

    private func loadSpec(_ path: String) throws -> MappingSpec {
        do { return try SpecFile.load(path) } catch {
            throw ValidationError("\(error)")
        }
    }

    private func measurePair(label: String, spec: MappingSpec, path: String, runs: Int? = nil) throws -> [ResultRow] {
        let runs = runs ?? self.runs
        let scan = try (0..<runs).map { _ in try Child.measure(["measure", "--mode", "scan", path]) }.min { $0.seconds < $1.seconds }!
        let parse = try (0..<runs).map { _ in try Child.measure(["measure", "--mode", "parse", "--spec", spec.origin, path]) }.min { $0.seconds < $1.seconds }!
        return [
            ResultRow(file: label, task: "line scan (memchr)", measurement: scan, ceiling: nil),
            ResultRow(file: label, task: "parse + validate", measurement: parse, ceiling: scan),
        ]
    }
}

/// What one child process measured.
struct Measurement {
    var seconds: Double
    var bytes: Int64
    var records: Int64
    var peakRSSKiB: Int64
}

struct ResultRow {
    let file: String
    let task: String
    let measurement: Measurement
    let ceiling: Measurement?

    static func table(_ rows: [ResultRow]) -> String {
        var lines = ["| file | task | size | records/s | MB/s | time ÷ line scan | peak RSS |", "|---|---|---|---|---|---|---|"]
        for row in rows {
            let m = row.measurement
            let mbps = Double(m.bytes) / m.seconds / 1_000_000
            let ratio = row.ceiling.map { String(format: "%.1f×", m.seconds / $0.seconds) } ?? "—"
            lines.append("| \(row.file) | \(row.task) | \(String(format: "%.0f MB", Double(m.bytes) / 1_000_000)) | "
                + "\(Int64(Double(m.records) / m.seconds).formatted()) | \(String(format: "%.0f", mbps)) | \(ratio) | "
                + "\(String(format: "%.1f MiB", Double(m.peakRSSKiB) / 1024)) |")
        }
        return lines.joined(separator: "\n")
    }
}

/// The measured work, run in a child so its peak memory is its own.
struct Measure: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "measure", shouldDisplay: false)

    @Option var mode: String
    @Option var spec: String?
    @Argument var file: String

    func run() throws {
        let start = Clock.now()
        var records: Int64 = 0
        var bytes: Int64 = 0
        switch mode {
        case "scan":
            (records, bytes) = try LineScan.count(file)
        case "parse":
            let loaded = try SpecFile.load(spec!)
            let report = PartnerFile.check(file, spec: loaded)
            guard report.isClean else {
                throw ValidationError("the generated file did not read clean: \(report.problems.first.map(String.init(describing:)) ?? report.failure.map(String.init(describing:)) ?? "controls")")
            }
            records = Int64(report.recordsRead)
            var status = stat()
            stat(file, &status)
            bytes = Int64(status.st_size)
        default:
            throw ValidationError("unknown mode \(mode)")
        }
        let seconds = Clock.now() - start
        print("\(seconds) \(bytes) \(records) \(PeakMemory.kibibytes())")
    }
}

enum Clock {
    static func now() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }
}

/// The ceiling: read the file in 1 MiB chunks and count newlines with memchr.
enum LineScan {
    static func count(_ path: String) throws -> (Int64, Int64) {
        let descriptor = open(path, O_RDONLY)
        guard descriptor >= 0 else { throw ValidationError("cannot open \(path)") }
        defer { close(descriptor) }
        let size = 1 << 20
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 16)
        defer { buffer.deallocate() }
        var lines: Int64 = 0
        var bytes: Int64 = 0
        while true {
            let count = read(descriptor, buffer, size)
            if count <= 0 { break }
            bytes += Int64(count)
            var cursor = UnsafeRawPointer(buffer)
            var left = count
            while left > 0, let found = memchr(cursor, 0x0A, left) {
                lines += 1
                let step = cursor.distance(to: UnsafeRawPointer(found)) + 1
                cursor += step
                left -= step
            }
        }
        return (lines, bytes)
    }
}

/// Runs `reckon-bench <arguments>` as a child process and reads its figures and peak RSS.
enum Child {
    static func measure(_ arguments: [String]) throws -> Measurement {
        var pipeEnds: [Int32] = [0, 0]
        pipe(&pipeEnds)
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        posix_spawn_file_actions_adddup2(&actions, pipeEnds[1], STDOUT_FILENO)
        posix_spawn_file_actions_addclose(&actions, pipeEnds[0])
        let executable = selfPath()
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let status = posix_spawn(&pid, executable, &actions, nil, argv, environ)
        posix_spawn_file_actions_destroy(&actions)
        close(pipeEnds[1])
        guard status == 0 else { throw ValidationError("could not start \(executable)") }
        var output: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = read(pipeEnds[0], &chunk, chunk.count)
            if count <= 0 { break }
            output += chunk[0..<count]
        }
        close(pipeEnds[0])
        var exitStatus: Int32 = 0
        waitpid(pid, &exitStatus, 0)
        let parts = String(decoding: output, as: UTF8.self).split(whereSeparator: { $0 == " " || $0 == "\n" })
        guard exitStatus == 0, parts.count == 4, let seconds = Double(parts[0]),
              let bytes = Int64(parts[1]), let records = Int64(parts[2]), let peak = Int64(parts[3]) else {
            throw ValidationError("measurement \(arguments.joined(separator: " ")) failed")
        }
        return Measurement(seconds: seconds, bytes: bytes, records: records, peakRSSKiB: peak)
    }

    static func selfPath() -> String {
        var buffer = [CChar](repeating: 0, count: 4096)
        let count = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard count > 0 else { return CommandLine.arguments[0] }
        return String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// The process's own peak resident memory. Read from /proc rather than taken from the
/// parent's rusage: a posix_spawn child shares the parent's address space until exec, and
/// Linux counts that toward the child's high-water mark.
enum PeakMemory {
    static func kibibytes() -> Int64 {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }) else { return -1 }
        return Int64(line.split(separator: " ").dropFirst().first ?? "") ?? -1
    }
}

enum MachineInfo {
    static func describe(cores used: String = "one core used") -> String {
        var model = "unknown CPU"
        if let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
           let line = text.split(separator: "\n").first(where: { $0.hasPrefix("model name") }) {
            model = line.split(separator: ":", maxSplits: 1).last.map { $0.trimmingCharacters(in: .whitespaces) } ?? model
        }
        let cores = sysconf(Int32(_SC_NPROCESSORS_ONLN))
        let memory = Double(sysconf(Int32(_SC_PHYS_PAGES))) * Double(sysconf(Int32(_SC_PAGESIZE))) / 1_073_741_824
        return "machine: \(model), \(cores) cores, \(String(format: "%.0f", memory)) GiB; \(used)"
    }
}
