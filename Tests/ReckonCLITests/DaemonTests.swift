import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing

/// `reckon run`, the daemon, through the built binary (issue 12, items 4, 7, 8 and 9): a
/// SIGTERM in the middle of a file abandons it whole and a restart ends where an
/// uninterrupted run does; files arriving at different times (one late, one a corrected
/// re-send) end as `reckon batch` on the same files. Nothing here waits for a time: the
/// daemon is stopped at a named hold point (`RECKON_HOLD_AT`), and files are dropped at the
/// idle points it reports (`RECKON_IDLE_MARKER`); the loops that wait for those have a
/// bound only so that a broken daemon fails the test instead of hanging it.
@Suite("The daemon", .serialized)
struct DaemonTests {
    static let day = "2024-12-16"
    static let earlierDays = ["2024-11-06", "2024-11-13", "2024-11-16"]

    /// The generated sample day's files (`reckon demo`, as the shipped inbox).
    static func sampleDay() throws -> ScratchFolder {
        let inputs = ScratchFolder()
        let generated = try reckon("demo", "--date", day, "--loans", "20", "--into", inputs.path, "--mappings", repositoryRoot + "/mappings")
        try #require(generated.status == 0, "\(generated.stderr)")
        return inputs
    }

    /// A workspace with drops of its own holding the earlier days' files, its earlier days
    /// run as batches; `daemon:` polls every second.
    static func workspace(from inputs: ScratchFolder, runEarlierDays: Bool = true) throws -> (folder: ScratchFolder, drops: String) {
        let drops = ScratchFolder()
        kept.append(drops)
        for partner in try FileManager.default.contentsOfDirectory(atPath: inputs.path) {
            try FileManager.default.createDirectory(atPath: drops.path + "/" + partner, withIntermediateDirectories: true)
        }
        for (partner, name) in try files(in: inputs) where !name.contains("20241216") {
            try drop(inputs.path + "/\(partner)/\(name)", into: drops.path + "/\(partner)/\(name)")
        }
        let folder = try ReckonCLITests.workspace(drops.path, expectedFiles: true)
        let config = folder.path + "/reckon.yaml"
        let yaml = try String(contentsOfFile: config, encoding: .utf8)
        try #require(yaml.contains("daemon:\n  poll_seconds: 5\n"))
        try yaml.replacingOccurrences(of: "daemon:\n  poll_seconds: 5\n", with: "daemon:\n  poll_seconds: 1\n")
            .write(toFile: config, atomically: true, encoding: .utf8)
        for earlier in earlierDays where runEarlierDays {
            let run = try cli(["batch", "--date", earlier, "--config", config])
            try #require(run.status == 0, "batch \(earlier): \(run.stdout)\(run.stderr)")
        }
        return (folder, drops.path)
    }

    /// Drop folders live as long as the test process (their workspaces refer to them).
    nonisolated(unsafe) static var kept: [ScratchFolder] = []

    /// (partner, name) of every file in a folder of partner folders.
    static func files(in folder: ScratchFolder) throws -> [(String, String)] {
        try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted().flatMap { partner in
            try FileManager.default.contentsOfDirectory(atPath: folder.path + "/" + partner).sorted().map { (partner, $0) }
        }
    }

    /// A file arrives whole: copied under a hidden name, then renamed into the drop.
    static func drop(_ source: String, into target: String, bytes: Data? = nil) throws {
        let folder = (target as NSString).deletingLastPathComponent, name = (target as NSString).lastPathComponent
        let hidden = folder + "/." + name + ".part"
        let data = try bytes ?? Data(contentsOf: URL(fileURLWithPath: source))
        try data.write(to: URL(fileURLWithPath: hidden))
        try #require(rename(hidden, target) == 0)
    }

    /// What the comparisons look at: the ledger export, the breaks, the bank's outbound set
    /// (the platform's alert file carries first-raise times, which differ by run).
    struct EndState: Equatable {
        var ledger: String
        var breaks: String
        var outbound: [String: Data]
    }

    static func endState(_ folder: ScratchFolder) throws -> EndState {
        let config = folder.path + "/reckon.yaml"
        let export = try cli(["ledger", "export", "--config", config])
        try #require(export.status == 0, "\(export.stderr)")
        let breaks = try cli(["breaks", "list", "--json", "--config", config])
        try #require(breaks.status == 0, "\(breaks.stderr)")
        return EndState(ledger: export.stdout, breaks: breaks.stdout,
                        outbound: CrashSafetyTests.files(under: folder.path + "/outbox/bank/" + day))
    }

    @Test func aDaemonStoppedBySIGTERMInTheMiddleOfAFileAbandonsItWholeAndARestartEndsAsAnUninterruptedRun() throws {
        let inputs = try Self.sampleDay()
        let (clean, cleanDrops) = try Self.workspace(from: inputs)
        let (stopped, stoppedDrops) = try Self.workspace(from: inputs)
        for (partner, name) in try Self.files(in: inputs) where name.contains("20241216") {
            try Self.drop(inputs.path + "/\(partner)/\(name)", into: cleanDrops + "/\(partner)/\(name)")
            try Self.drop(inputs.path + "/\(partner)/\(name)", into: stoppedDrops + "/\(partner)/\(name)")
        }
        // Its log as JSON lines: each line one object, the file's partner, type and day as fields.
        let uninterrupted = try cli(["run", "--date", Self.day, "--exit-when-idle", "--json", "--config", clean.path + "/reckon.yaml"])
        #expect(uninterrupted.status == 0, "\(uninterrupted.stderr)")
        let lines = try jsonLines(uninterrupted.stderr)
        #expect(lines.first?["message"] as? String == "daemon started" && lines.last?["message"] as? String == "daemon stopped")
        #expect(lines.contains { $0["message"] as? String == "idle: every complete file present is processed" })
        let loans = try #require(lines.first { ($0["file"] as? String)?.hasSuffix("/platform/PLAT_LOAN_20241216.csv") == true },
                                 "\(uninterrupted.stderr)")
        #expect(loans["message"] as? String == "file posted" && loans["level"] as? String == "info")
        #expect(loans["partner"] as? String == "platform" && loans["file_type"] as? String == "loans"
                && loans["business_date"] as? String == Self.day)
        #expect(loans["events"] as? String == "20" && loans["entries"] as? String == "34")

        // Held inside the second file's transaction (every row written, not committed), then
        // SIGTERM: the file is rolled back whole and the daemon stops.
        let marker = stopped.path + "/held"
        let daemon = try DaemonProcess(["run", "--date", Self.day, "--config", stopped.path + "/reckon.yaml"],
                                       environment: ["RECKON_HOLD_AT": "file-commit-before:2", "RECKON_HOLD_MARKER": marker])
        try #require(daemon.waitFor { FileManager.default.fileExists(atPath: marker) }, "never held: \(daemon.finish().stderr)")
        #expect(try String(contentsOfFile: marker, encoding: .utf8) == "file-commit-before\n")
        daemon.signal(SIGTERM)
        let ended = daemon.finish()
        #expect(ended.status == 0 && !ended.signalled, "\(ended.stderr)")
        #expect(ended.stderr.contains("stop asked: finishing or abandoning the current file"), "\(ended.stderr)")
        #expect(ended.stderr.contains("run incomplete: 1 posted, 0 repeated, 0 rejected, 0 failed, 0 waiting; "
                                      + "stopped before the end (asked to stop); the next run takes up the rest"), "\(ended.stderr)")
        #expect(ended.stderr.contains("daemon stopped"), "\(ended.stderr)")
        // The first file of the day posted; the second, held, is not in the ledger at all.
        let status = try jsonObject(try cli(["status", "--json", "--config", stopped.path + "/reckon.yaml"]).stdout)
        let received = try #require(status["files"] as? [[String: Any]]).compactMap { $0["name"] as? String }
        #expect(received.contains("PLAT_LOAN_20241216.csv") && !received.contains("PLAT_REPAY_20241216.csv"), "\(received)")
        let verify = try cli(["ledger", "verify", "--config", stopped.path + "/reckon.yaml"])
        #expect(verify.status == 0, "\(verify.stdout)")

        let restarted = try cli(["run", "--date", Self.day, "--exit-when-idle", "--config", stopped.path + "/reckon.yaml"])
        #expect(restarted.status == 0, "\(restarted.stderr)")
        let cleanState = try Self.endState(clean), stoppedState = try Self.endState(stopped)
        #expect(stoppedState.ledger == cleanState.ledger)
        #expect(stoppedState.breaks == cleanState.breaks)
    }

    @Test func aDaemonStoppedBetweenStepsRunsTheRestOfTheDayOnRestartAndAFinishedDayNotAgain() throws {
        let inputs = try Self.sampleDay()
        let (clean, cleanDrops) = try Self.workspace(from: inputs)
        let (stopped, stoppedDrops) = try Self.workspace(from: inputs)
        for (partner, name) in try Self.files(in: inputs) where name.contains("20241216") {
            try Self.drop(inputs.path + "/\(partner)/\(name)", into: cleanDrops + "/\(partner)/\(name)")
            try Self.drop(inputs.path + "/\(partner)/\(name)", into: stoppedDrops + "/\(partner)/\(name)")
        }
        let uninterrupted = try cli(["run", "--date", Self.day, "--exit-when-idle", "--config", clean.path + "/reckon.yaml"])
        #expect(uninterrupted.status == 0, "\(uninterrupted.stderr)")
        let cleanState = try Self.endState(clean)
        // Started again over a day that succeeded: every file is known to the ledger, no run.
        let again = try cli(["run", "--date", Self.day, "--exit-when-idle", "--config", clean.path + "/reckon.yaml"])
        #expect(again.status == 0 && !again.stderr.contains("run started"), "\(again.stderr)")
        #expect(try Self.endState(clean) == cleanState)

        // The new files are posted by a run of their own (collect, ingest: steps 1 and 2), then
        // the day's steps run (collect, ingest, plan: 3 to 5). Held as the plan step starts,
        // then SIGTERM: the plan step finishes, reconcile does not run.
        let marker = stopped.path + "/held"
        let daemon = try DaemonProcess(["run", "--date", Self.day, "--config", stopped.path + "/reckon.yaml"],
                                       environment: ["RECKON_HOLD_AT": "step-started:5", "RECKON_HOLD_MARKER": marker])
        try #require(daemon.waitFor { FileManager.default.fileExists(atPath: marker) }, "never held: \(daemon.finish().stderr)")
        daemon.signal(SIGTERM)
        let ended = daemon.finish()
        #expect(ended.status == 0 && ended.stderr.contains("run succeeded: 9 posted"), "\(ended.stderr)")
        #expect(ended.stderr.contains("run incomplete: 0 posted"), "\(ended.stderr)")
        #expect(!ended.stderr.contains("reconciled:"), "\(ended.stderr)")
        #expect(try Self.endState(stopped) != cleanState)

        // Every file is in the ledger, but the day's last run did not succeed: it runs again.
        let restarted = try cli(["run", "--date", Self.day, "--exit-when-idle", "--config", stopped.path + "/reckon.yaml"])
        #expect(restarted.status == 0 && restarted.stderr.contains("run succeeded: 0 posted, 9 repeated"), "\(restarted.stderr)")
        #expect(try Self.endState(stopped) == cleanState)
    }

    @Test func withoutAPinnedDayEveryDayWithFilesInTheDropsIsPostedThenPlannedOnceInDateOrder() throws {
        let inputs = try Self.sampleDay()
        let (daemonFolder, daemonDrops) = try Self.workspace(from: inputs, runEarlierDays: false)
        let (batchFolder, batchDrops) = try Self.workspace(from: inputs, runEarlierDays: false)
        for (partner, name) in try Self.files(in: inputs) where name.contains("20241216") {
            try Self.drop(inputs.path + "/\(partner)/\(name)", into: daemonDrops + "/\(partner)/\(name)")
            try Self.drop(inputs.path + "/\(partner)/\(name)", into: batchDrops + "/\(partner)/\(name)")
        }
        // Today (2026 or later) has no files; the sample's days are earlier days whose files came.
        let daemon = try cli(["run", "--exit-when-idle", "--config", daemonFolder.path + "/reckon.yaml"])
        #expect(daemon.status == 0, "\(daemon.stderr)")
        let started = daemon.stderr.split(separator: "\n").filter { $0.hasSuffix("run started") }
            .compactMap { $0.split(separator: " ").first { $0.hasPrefix("business_date=") } }
        // Each day's files posted once, oldest day first, then each day's plan and reconcile
        // steps once, in the same order.
        let days = ["business_date=2024-11-06", "business_date=2024-11-13", "business_date=2024-11-16", "business_date=2024-12-16"]
        #expect(started.map(String.init) == days + days, "\(daemon.stderr)")
        for day in Self.earlierDays + [Self.day] {
            let batch = try cli(["batch", "--date", day, "--steps", "collect,ingest,plan,reconcile", "--config", batchFolder.path + "/reckon.yaml"])
            #expect(batch.status == 0, "\(day): \(batch.stdout)")
        }
        let daemonState = try Self.endState(daemonFolder), batchState = try Self.endState(batchFolder)
        #expect(daemonState.ledger == batchState.ledger)
        #expect(daemonState.breaks == batchState.breaks)
    }

    @Test func filesArrivingAtDifferentTimesEndAsTheBatchOnTheSameFiles() throws {
        let inputs = try Self.sampleDay()
        let (daemonFolder, daemonDrops) = try Self.workspace(from: inputs)
        let (batchFolder, batchDrops) = try Self.workspace(from: inputs)
        // The platform's repayments first come with a wrong payment time (a valid file),
        // then corrected; the bank's settlement file comes late.
        let repayments = "platform/PLAT_REPAY_20241216.csv", late = "bank/BANK_SETTLE_20241216.txt"
        let corrected = try Data(contentsOf: URL(fileURLWithPath: inputs.path + "/" + repayments))
        let original = Data(String(decoding: corrected, as: UTF8.self)
            .replacingOccurrences(of: "2024-12-16 08:00:00", with: "2024-12-16 07:59:59").utf8)
        try #require(original != corrected)
        let stages: [[(String, Data?)]] = [
            try Self.files(in: inputs).map { "\($0.0)/\($0.1)" }.filter { $0.contains("20241216") && $0 != late }
                .map { ($0, $0 == repayments ? original : nil) },
            [(repayments, corrected)],
            [(late, nil)],
        ]
        func arrive(_ stage: [(String, Data?)], into drops: String) throws {
            for (path, bytes) in stage { try Self.drop(inputs.path + "/" + path, into: drops + "/" + path, bytes: bytes) }
        }

        // The daemon: each stage dropped while it holds at an idle point, then let go. The
        // batch on the same files as they arrived: the day's steps after each arrival,
        // everything (settle included) after the last. At each idle point the two ledgers
        // and their breaks are the same.
        let config = daemonFolder.path + "/reckon.yaml", batchConfig = batchFolder.path + "/reckon.yaml"
        let idle = daemonFolder.path + "/idle"
        try arrive(stages[0], into: daemonDrops)
        let daemon = try DaemonProcess(["run", "--date", Self.day, "--settle", "--config", config],
                                       environment: ["RECKON_IDLE_MARKER": idle])
        for (number, stage) in stages.enumerated() {
            let last = number + 1 == stages.count
            try arrive(stage, into: batchDrops)
            let batch = try cli(["batch", "--date", Self.day, "--config", batchConfig] + (last ? [] : ["--steps", "collect,ingest,plan,reconcile"]))
            #expect(batch.status == (last ? 0 : 3), "stage \(number + 1): \(batch.stdout)")
            try #require(daemon.waitFor { (try? String(contentsOfFile: idle, encoding: .utf8)) == "\(number + 1)\n" },
                         "no idle point \(number + 1): \(daemon.finish().stderr)")
            let daemonState = try Self.endState(daemonFolder), batchState = try Self.endState(batchFolder)
            #expect(daemonState.ledger == batchState.ledger, "stage \(number + 1): the ledgers differ")
            #expect(daemonState.breaks == batchState.breaks, "stage \(number + 1): the breaks differ")
            if !last {
                try arrive(stages[number + 1], into: daemonDrops)
                try FileManager.default.removeItem(atPath: idle)
            }
        }
        daemon.signal(SIGTERM)
        let ended = daemon.finish()
        #expect(ended.status == 0, "\(ended.stderr)")
        // Settled once, when the late file had made the day complete.
        #expect(ended.stderr.components(separatedBy: "steps=settle").count == 2, "\(ended.stderr)")
        let daemonState = try Self.endState(daemonFolder), batchState = try Self.endState(batchFolder)
        #expect(!daemonState.outbound.isEmpty && daemonState.outbound == batchState.outbound,
                "\(daemonState.outbound.keys.sorted()) against \(batchState.outbound.keys.sorted())")
        #expect(daemonState.ledger.contains("superseded"), "the corrected re-send superseded nothing")
    }
    /// The daemon runs each enabled task whose time has come, once, and only enabled ones:
    /// a task enabled long ago (its next time long past) runs at the first tick; a disabled
    /// one never does.
    @Test func theDaemonRunsTheEnabledTasksThatAreDue() throws {
        let inputs = try Self.sampleDay()
        let (folder, _) = try Self.workspace(from: inputs)
        let config = folder.path + "/reckon.yaml"
        let enabled = try cli(["tasks", "enable", "calendar_next_year", "--as", "ops", "--now", "2025-11-01T00:00:00Z", "--config", config])
        try #require(enabled.status == 0, "\(enabled.stdout)\(enabled.stderr)")
        let run = try cli(["run", "--date", Self.day, "--exit-when-idle", "--config", config])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stderr.contains("task=calendar_next_year"), "\(run.stderr)")
        #expect(!run.stderr.contains("task=balance_check"), "a disabled task ran: \(run.stderr)")
        let listed = try cli(["tasks", "list", "--json", "--config", config])
        let tasks = try #require(try JSONSerialization.jsonObject(with: Data(listed.stdout.utf8)) as? [String: Any])["tasks"] as? [[String: Any]]
        let task = try #require(tasks?.first { $0["id"] as? String == "calendar_next_year" })
        #expect((task["successes"] as? Int ?? 0) + (task["failures"] as? Int ?? 0) == 1, "\(task)")
        let balance = try #require(tasks?.first { $0["id"] as? String == "balance_check" })
        #expect(balance["successes"] as? Int == 0 && balance["failures"] as? Int == 0, "\(balance)")
        // Run once: a second daemon run finds it done until its next time.
        let again = try cli(["run", "--date", Self.day, "--exit-when-idle", "--config", config])
        #expect(again.status == 0 && !again.stderr.contains("task=calendar_next_year"), "\(again.stderr)")
    }

    /// `daemon: {http: …}`: while the daemon runs, /healthz says it is well and /metrics counts
    /// the files it posted, by partner and type, over HTTP on the loopback address.
    @Test func theDaemonServesItsHealthAndMetricsOnTheLoopbackAddress() throws {
        let inputs = try Self.sampleDay()
        let (folder, drops) = try Self.workspace(from: inputs)
        let config = folder.path + "/reckon.yaml", idle = folder.path + "/idle"
        let port = try #require(freeLoopbackPort())
        let yaml = try String(contentsOfFile: config, encoding: .utf8)
        try yaml.replacingOccurrences(of: "daemon:\n  poll_seconds: 1\n",
                                      with: "daemon:\n  poll_seconds: 1\n  http: {address: 127.0.0.1, port: \(port)}\n")
            .write(toFile: config, atomically: true, encoding: .utf8)
        for (partner, name) in try Self.files(in: inputs) where name.contains("20241216") {
            try Self.drop(inputs.path + "/\(partner)/\(name)", into: drops + "/\(partner)/\(name)")
        }
        let daemon = try DaemonProcess(["run", "--date", Self.day, "--config", config], environment: ["RECKON_IDLE_MARKER": idle])
        try #require(daemon.waitFor { FileManager.default.fileExists(atPath: idle) }, "no idle point: \(daemon.finish().stderr)")
        var health: (status: Int, body: String)?
        // The server may still be starting when the first tick ends: asked until it answers.
        #expect(daemon.waitFor {
            health = httpGet("http://127.0.0.1:\(port)/healthz")
            return health != nil
        }, "nothing answered on port \(port): \(daemon.finish().stderr)")
        #expect(health?.status == 200)
        #expect(health?.body.hasPrefix(#"{"status":"ok","ledger":""#) == true, "\(health?.body ?? "")")
        let metrics = httpGet("http://127.0.0.1:\(port)/metrics")
        #expect(metrics?.status == 200)
        let lines = Set((metrics?.body ?? "").split(separator: "\n").map(String.init))
        #expect(lines.contains(#"reckon_files_received_total{partner="platform",type="loans"} 1"#), "\(metrics?.body ?? "")")
        #expect(lines.contains(#"reckon_records_posted_total{partner="platform",type="loans"} 20"#), "\(metrics?.body ?? "")")
        daemon.signal(SIGTERM)
        let ended = daemon.finish()
        #expect(ended.status == 0, "\(ended.stderr)")
        #expect(ended.stderr.contains("serving /healthz and /metrics"), "\(ended.stderr)")
    }
}

/// A port nothing listens on now, from the kernel (bound to port 0, then let go).
func freeLoopbackPort() -> Int? {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0
        }
    }
    return bound ? Int(UInt16(bigEndian: address.sin_port)) : nil
}

/// One GET through URLSession: the status and body, or nil when nothing answered.
func httpGet(_ url: String) -> (status: Int, body: String)? {
    let done = DispatchSemaphore(value: 0)
    nonisolated(unsafe) var reply: (Int, String)?
    URLSession.shared.dataTask(with: URL(string: url)!) { data, response, _ in
        if let response = response as? HTTPURLResponse {
            reply = (response.statusCode, String(decoding: data ?? Data(), as: UTF8.self))
        }
        done.signal()
    }.resume()
    done.wait()
    return reply
}

/// A `reckon` process left running (the daemon), its output in files, signalled by the test.
final class DaemonProcess {
    let process = Process()
    private let output: ScratchFolder

    init(_ arguments: [String], environment: [String: String] = [:]) throws {
        output = ScratchFolder()
        process.executableURL = URL(fileURLWithPath: reckonExecutable)
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: repositoryRoot)
        process.environment = ProcessInfo.processInfo.environment.merging(testTimeZone.merging(environment) { $1 }) { $1 }
        _ = output.write("stdout", "")
        _ = output.write("stderr", "")
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: output.path + "/stdout"))
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: output.path + "/stderr"))
        try process.run()
    }

    /// Waits for a state the daemon reaches (a marker file), not for a time; false when the
    /// process ended first or the safety bound passed.
    func waitFor(_ condition: () -> Bool, boundSeconds: Double = 300) -> Bool {
        let limit = Date().addingTimeInterval(boundSeconds)
        while Date() < limit {
            if condition() { return true }
            if !process.isRunning { return condition() }
            usleep(20_000)
        }
        return false
    }

    func signal(_ number: Int32) {
        kill(process.processIdentifier, number)
    }

    /// Waits for the process to end (killing it after the safety bound) and returns how.
    func finish(boundSeconds: Double = 300) -> Finished {
        if !waitFor({ !process.isRunning }, boundSeconds: boundSeconds) { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        let read = { (name: String) in (try? String(contentsOfFile: self.output.path + "/" + name, encoding: .utf8)) ?? "" }
        return Finished(status: process.terminationStatus, stdout: read("stdout"), stderr: read("stderr"),
                        signalled: process.terminationReason == .uncaughtSignal, timedOut: false)
    }
}
