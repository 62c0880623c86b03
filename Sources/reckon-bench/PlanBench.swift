#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import Foundation
import ReckonCore
import ReckonFiles
import ReckonLedger

/// `reckon-bench plan`: the plan engine and loan servicing on their own, then the plan step
/// of a generated business day in a ledger.
struct PlanBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plan",
        abstract: "Plan engine, servicing and plan-step throughput.",
        discussion: """
            First the pure core on one thread: N plans made from seeded random terms (every \
            method, 3 to 36 months, 3% to 24%), then each loan's position after its first period \
            is paid. Then the plan step on a day made by `reckon demo --loans L`: the earlier days \
            its repaid loans were disbursed on are run as batches, then the day itself is \
            collected and ingested, and its plan step (L new plans, L repayments applied, the \
            bank's plans compared) is timed in a child process, whose peak memory is reported.
            """
    )

    @Option(help: "Plans for the engine measurement.")
    var plans = 200_000

    @Option(help: "Loans (and repayments) of the generated day for the plan step.")
    var loans = 100_000

    @Option(help: "Folder for the generated day and its ledger.")
    var workDir = "/tmp/reckon-bench"

    @Option(help: "Timed runs of the engine measurements; the median is reported.")
    var runs = 3

    func run() throws {
        print(MachineInfo.describe())
        var lines = ["| task | per second | µs each | seconds | peak RSS |", "|---|---|---|---|---|"]
        let terms = Self.randomTerms(plans)
        var made: [RepaymentPlan] = []
        let engine = try Self.median(runs) {
            made = try terms.map { try PlanEngine.schedule($0) }
        }
        let periods = made.reduce(0) { $0 + $1.lines.count }
        lines.append(row("plans made (\(plans.formatted()), \(periods.formatted()) periods)", count: plans, seconds: engine))
        let servicing = try Self.median(runs) {
            for plan in made {
                let first = plan.lines[0]
                let payment = LoanPayment(id: 1, paidOn: first.dueDate, amountMinor: first.totalMinor, kind: .normal, period: 1)
                let position = LoanServicing.position(plan: plan, servicing: ServicingTerms(), payments: [payment], asOf: first.dueDate)
                precondition(position.lines[0].status == .paid)
            }
        }
        lines.append(row("positions after a payment", count: plans, seconds: servicing))

        let day = CivilDate(year: 2024, month: 12, day: 16)!
        let folder = "\(workDir)/plan-day"
        try? FileManager.default.removeItem(atPath: folder)
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let written = try SampleDay(date: day, loans: loans, mappings: "mappings").write(into: folder + "/inbox")
        let config = try writeConfig(folder)
        sync()
        let step = try Child.measure(["measure-plan", "--config", config, "--date", day.description]
                                     + written.historyDays.flatMap { ["--before", $0.description] })
        lines.append(row("plan step: \(loans.formatted()) loans planned, \(written.repayments.formatted()) repayments applied",
                         count: loans, seconds: step.seconds, peakKiB: step.peakRSSKiB))
        print(lines.joined(separator: "\n"))
    }

    private func row(_ label: String, count: Int, seconds: Double, peakKiB: Int64 = -1) -> String {
        "| \(label) | \(Int(Double(count) / seconds).formatted()) | \(String(format: "%.1f", seconds / Double(count) * 1e6)) | "
            + "\(String(format: "%.2f", seconds)) | \(peakKiB < 0 ? "—" : String(format: "%.1f MiB", Double(peakKiB) / 1024)) |"
    }

    static func median(_ runs: Int, _ body: () throws -> Void) throws -> Double {
        var times: [Double] = []
        for _ in 0..<max(1, runs) {
            let started = Clock.now()
            try body()
            times.append(Clock.now() - started)
        }
        return times.sorted()[times.count / 2]
    }

    static func randomTerms(_ count: Int) -> [PlanTerms] {
        var random = SplitMix64(seed: 20_241_216)
        let start = CivilDate(year: 2024, month: 1, day: 1)!
        return (0..<count).map { _ in
            let method = RepaymentMethod.allCases[Int(random.next() % 5)]
            return PlanTerms(principalMinor: Int64(100_000 + random.next() % 49_900_000),
                             annualRate: Decimal(30_000 + Int(random.next() % 210_000)) / 1_000_000,
                             method: method, term: 3 + Int(random.next() % 34),
                             startDate: start.adding(days: Int(random.next() % 366))!)
        }
    }

    /// The repository's configuration with absolute paths, its drops in `folder`, files
    /// ready as soon as they are there.
    private func writeConfig(_ folder: String) throws -> String {
        let root = FileManager.default.currentDirectoryPath
        var yaml = try String(contentsOfFile: root + "/reckon.yaml", encoding: .utf8)
            .replacingOccurrences(of: "spec: mappings/", with: "spec: \(root)/mappings/")
            .replacingOccurrences(of: " data/", with: " \(root)/data/")
            .replacingOccurrences(of: "drop: inbox/", with: "drop: \(folder)/inbox/")
        for type in ["loans", "repayments", "statements", "bills"] {
            yaml = yaml.replacingOccurrences(of: "      \(type):\n", with: "      \(type):\n        ready: {stable_seconds: 0}\n")
        }
        try yaml.write(toFile: folder + "/reckon.yaml", atomically: true, encoding: .utf8)
        return folder + "/reckon.yaml"
    }
}

/// Hidden: runs the days before, then the day's collect and ingest, and times its plan step
/// (for `reckon-bench plan`, in a process of its own).
struct MeasurePlan: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "measure-plan", shouldDisplay: false)

    @Option var config: String
    @Option var date: String
    @Option var before: [String] = []

    func run() throws {
        let loaded = try ConfigFile.load(config)
        let ledger = try Ledger(path: loaded.databasePath)
        try ledger.register(loaded.partners)
        guard let day = CivilDate(iso: date) else { throw ValidationError("--date: yyyy-MM-dd") }
        for earlier in before.compactMap({ CivilDate(iso: $0) }) {
            _ = try Batch.run(BatchOptions(date: earlier), config: loaded, ledger: ledger)
        }
        _ = try Batch.run(BatchOptions(date: day, steps: [.collect, .ingest]), config: loaded, ledger: ledger)
        let reference = try ReferenceData.load(loaded)
        let started = Clock.now()
        let report = try ledger.runPlanStep(date: day, config: loaded, reference: reference)
        let seconds = Clock.now() - started
        print("\(seconds) 0 \(report.planned) \(PeakMemory.kibibytes())")
    }
}
