#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import Foundation
import ReckonCore
import ReckonFiles
import ReckonSFTP

/// `reckon-bench daemon`: partners' files arriving over SFTP through a day, and the
/// release `reckon run` taking them in; how long from a file's completion on the server
/// to its posting, and the daemon's memory over the run.
struct DaemonBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "daemon",
        abstract: "Latency from a file's arrival over SFTP to its posting by `reckon run`, and the daemon's memory.",
        discussion: """
            Starts a local OpenSSH sshd (127.0.0.1, generated host and user keys; skipped with a \
            message when it cannot start), writes a reckon.yaml with one SFTP drop per partner and \
            one file type per file of the day (the bank settlement layout, posting; ready by a marker \
            file, or when the trailer is in with --ready trailer), and runs `reckon run --date D --json` \
            (the binary beside reckon-bench) with daemon.poll_seconds as given. Each file (distinct \
            records, written by the generator) is uploaded at its time — seeded random times over \
            --span-seconds — to a temporary name then renamed on the server, then its marker the \
            same way: its completion is the marker's rename (the file's with --ready trailer). A file's \
            latency is from the end of its upload to the daemon's "file posted" log line for it, \
            as this process reads it. The daemon's resident memory is sampled from /proc through \
            the run; its peak is VmHWM at the end.
            """
    )

    @Option(help: "Partners, each with its own SFTP drop.")
    var partners = 100

    @Option(help: "Files per partner in the day (each its own file type).")
    var files = 10

    @Option(help: "Records per file.")
    var records = 10_000

    @Option(help: "How long the day of arrivals lasts, in seconds.")
    var spanSeconds = 600.0

    @Option(help: "Seed of the arrival times.")
    var seed: UInt64 = 1

    @Option(help: "The daemon's daemon.poll_seconds (the look interval; a marker file waits half of it on average).")
    var pollSeconds = 0.5

    @Option(help: "The file types' ready rule: trailer (the file is fetched once its size holds 2 s on the server, then its trailer read) or marker (an empty {name}.ok uploaded after the file; its rename is the completion; the goal's measure).")
    var ready: ReadyRule = .marker

    enum ReadyRule: String, ExpressibleByArgument, CaseIterable {
        case trailer, marker
    }

    @Option(help: "Folder for the generated files, the server's folders and the ledger.")
    var workDir = "/tmp/reckon-bench-daemon"

    @Option(help: "The folder holding the specs.")
    var mappings = "mappings"

    @Option(help: "Seconds to wait after the last upload for the last posting.")
    var drainSeconds = 300.0

    static let businessDay = "2024-12-15"  // the generator's business day
    static let dayStamp = "20241215"

    func run() throws {
        if let reason = BenchSSHServer.unavailable {
            print("reckon-bench daemon: skipped, no SSH server can be started here: \(reason)")
            return
        }
        let reckon = (Child.selfPath() as NSString).deletingLastPathComponent + "/reckon"
        guard access(reckon, X_OK) == 0 else {
            throw ValidationError("no reckon binary beside reckon-bench (\(reckon)): swift build -c release --product reckon")
        }
        let specPath = mappings.hasPrefix("/") ? mappings + "/bank-settlement.yaml"
            : FileManager.default.currentDirectoryPath + "/" + mappings + "/bank-settlement.yaml"
        let spec = try SpecFile.load(specPath)

        try FileManager.default.createDirectory(atPath: workDir, withIntermediateDirectories: true)
        let run = workDir + "/run"
        try? FileManager.default.removeItem(atPath: run)
        try FileManager.default.createDirectory(atPath: run, withIntermediateDirectories: true)

        print(MachineInfo.describe(cores: "the daemon, sshd and this process share them"))
        print("partners: \(partners), files each: \(files), records a file: \(records.formatted()), "
            + "day of arrivals: \(String(format: "%.0f", spanSeconds)) s, poll: \(DaemonConfig.secondsText(pollSeconds)) s, ready rule: \(ready.rawValue), seed: \(seed)")

        let arrivals = schedule()
        let generated = workDir + "/files-\(files)x\(records)"  // the records' keys depend on both
        try FileManager.default.createDirectory(atPath: generated, withIntermediateDirectories: true)
        let generateStart = Clock.now()
        for arrival in arrivals {
            try Generator.write(generated + "/" + arrival.name, spec: spec, records: records,
                                firstIndex: (arrival.partner * files + arrival.file) * records)
        }
        print("files generated in \(String(format: "%.1f", Clock.now() - generateStart)) s")

        let server: BenchSSHServer
        do {
            server = try BenchSSHServer(folder: run + "/sshd")
        } catch {
            print("reckon-bench daemon: skipped, the local sshd would not start: \(error)")
            return
        }
        defer { server.stop() }
        for partner in 0..<partners {
            try FileManager.default.createDirectory(atPath: remoteFolder(run, partner), withIntermediateDirectories: true)
            try FileManager.default.createDirectory(atPath: run + "/inbox/" + partnerID(partner), withIntermediateDirectories: true)
        }
        let configPath = try writeConfig(run: run, server: server, specPath: specPath)

        let daemon = try DaemonProcess(reckon: reckon, arguments: ["run", "--date", Self.businessDay, "--json", "--config", configPath],
                                       stdoutPath: run + "/daemon.out", logPath: run + "/daemon.log")
        defer { daemon.terminate() }
        let sampler = MemorySampler(pid: daemon.pid)
        sampler.start()
        usleep(1_000_000)  // the daemon opens its ledger and makes its first look

        let client = SFTPClient(settings: SFTPSettings(
            endpoint: SFTPEndpoint(host: "127.0.0.1", port: server.port),
            credentials: SFTPCredentials(user: server.user, privateKeyPath: server.userKeyPath),
            knownHostsPath: server.knownHostsPath))
        defer { client.close() }

        let emptyFile = run + "/empty"
        try Data().write(to: URL(fileURLWithPath: emptyFile))
        let start = Clock.now()
        var completed: [String: Double] = [:]
        var completedWall: [(key: String, seconds: Double)] = []
        var lateStarts = 0
        for arrival in arrivals {
            let due = start + arrival.offsetSeconds
            let now = Clock.now()
            if due > now { usleep(useconds_t((due - now) * 1e6)) } else if now - due > 1 { lateStarts += 1 }
            do {
                _ = try client.upload(generated + "/" + arrival.name, to: remoteFolder(run, arrival.partner), as: arrival.name)
                if ready == .marker {
                    _ = try client.upload(emptyFile, to: remoteFolder(run, arrival.partner), as: arrival.name + ".ok")
                }
            } catch {
                throw ValidationError("upload of \(arrival.name) failed: \(error)")
            }
            completed[arrival.key] = Clock.now()
            completedWall.append((arrival.key, Date().timeIntervalSince1970))
            if !daemon.isRunning { throw ValidationError("the daemon stopped: \(daemon.log.lastLines())") }
        }
        let uploadsEnd = Clock.now()
        // Each file's completion on the wall clock, to be read beside the daemon's log times
        // (where a file's latency went: the look that found it, its run's start, its posting).
        let completions = completedWall.map { "\($0.key)\t" + String(format: "%.3f", $0.seconds) + "\n" }.joined()
        try completions.write(toFile: run + "/completions.tsv", atomically: true, encoding: .utf8)
        let drainDeadline = uploadsEnd + drainSeconds
        while daemon.log.postedCount < arrivals.count && Clock.now() < drainDeadline && daemon.isRunning {
            usleep(100_000)
        }
        let end = Clock.now()
        let peakKiB = MemorySampler.field("VmHWM", pid: daemon.pid)
        let cpuSeconds = MemorySampler.cpuSeconds(pid: daemon.pid)
        sampler.stop()
        daemon.terminate()

        report(arrivals: arrivals, completed: completed, posted: daemon.log.posted(), start: start, end: end,
               samples: sampler.samples(), peakKiB: peakKiB, lateStarts: lateStarts, uploadsSeconds: uploadsEnd - start,
               errors: daemon.log.errors(), cpuSeconds: cpuSeconds)
    }

    // MARK: The day

    struct Arrival {
        let partner: Int
        let file: Int
        let offsetSeconds: Double
        let name: String
        var key: String { "\(partnerID(partner))/\(name)" }
    }

    /// Every file's arrival, at seeded random times over the span, earliest first.
    private func schedule() -> [Arrival] {
        var random = SplitMix64(seed: seed)
        var arrivals: [Arrival] = []
        for partner in 0..<partners {
            for file in 0..<files {
                let offset = Double(random.next() >> 11) / Double(1 << 53) * spanSeconds
                arrivals.append(Arrival(partner: partner, file: file, offsetSeconds: offset,
                                        name: fileName(partner, file).replacingOccurrences(of: "{yyyyMMdd}", with: Self.dayStamp)))
            }
        }
        return arrivals.sorted { $0.offsetSeconds < $1.offsetSeconds }
    }

    private func fileName(_ partner: Int, _ file: Int) -> String {
        "\(partnerID(partner).uppercased())_S\(file + 1)_{yyyyMMdd}.txt"
    }

    private func remoteFolder(_ run: String, _ partner: Int) -> String { run + "/remote/" + partnerID(partner) }

    private func writeConfig(run: String, server: BenchSSHServer, specPath: String) throws -> String {
        var yaml = """
            timezone: Asia/Shanghai
            ledger:
              database: \(run)/ledger.sqlite
              currency: CNY
            folders:
              archive: \(run)/archive
              quarantine: \(run)/quarantine
              outbox: \(run)/outbox
            daemon:
              poll_seconds: \(DaemonConfig.secondsText(pollSeconds))
            partners:

            """
        for partner in 0..<partners {
            let id = partnerID(partner)
            yaml += """
                  \(id):
                    role: bank
                    drop:
                      folder: \(run)/inbox/\(id)
                      sftp: {host: 127.0.0.1, port: \(server.port), user: \(server.user), key: \(server.userKeyPath), known_hosts: \(server.knownHostsPath), path: \(remoteFolder(run, partner))}
                    files:

                """
            for file in 0..<files {
                yaml += "      s\(file + 1): {spec: \(specPath), name: \"\(fileName(partner, file))\", ready: \(ready == .marker ? "{marker: \"{name}.ok\"}" : "{trailer: true}"), post: true}\n"
            }
        }
        let path = run + "/reckon.yaml"
        try yaml.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    // MARK: The figures

    private func report(arrivals: [Arrival], completed: [String: Double], posted: [String: Double], start: Double, end: Double,
                        samples: [(seconds: Double, kib: Int64)], peakKiB: Int64, lateStarts: Int, uploadsSeconds: Double,
                        errors: [String], cpuSeconds: (user: Double, system: Double)?) {
        var latencies: [Double] = []
        var missing: [String] = []
        for arrival in arrivals {
            guard let done = completed[arrival.key], let at = posted[arrival.key] else {
                missing.append(arrival.key)
                continue
            }
            latencies.append(at - done)
        }
        latencies.sort()
        func percentile(_ p: Double) -> String {
            guard !latencies.isEmpty else { return "—" }
            let index = min(latencies.count - 1, Int((p * Double(latencies.count)).rounded(.up)) - 1)
            return String(format: "%.2f s", latencies[max(0, index)])
        }
        func mib(_ kib: Int64) -> String { kib < 0 ? "—" : String(format: "%.1f MiB", Double(kib) / 1024) }
        func rss(at fraction: Double) -> String {
            let target = start + fraction * (end - start)
            let near = samples.min { abs($0.seconds - target) < abs($1.seconds - target) }
            return near.map { mib($0.kib) } ?? "—"
        }
        print("uploads: \(arrivals.count) in \(String(format: "%.1f", uploadsSeconds)) s"
            + (lateStarts > 0 ? " (\(lateStarts) started over 1 s after their time)" : ""))
        print("load average (1, 5, 15 min) at the end: \(ReconcileBench.loadAverage())")
        if let cpuSeconds {
            print(String(format: "the daemon's CPU time over the run: %.1f s user + %.1f s system", cpuSeconds.user, cpuSeconds.system))
        }
        print("")
        print("| files posted | completion → posting: median | p99 | max | daemon RSS at 10% / 50% / 90% of the run | peak RSS (VmHWM) |")
        print("|---|---|---|---|---|---|")
        print("| \(latencies.count) of \(arrivals.count) | \(percentile(0.5)) | \(percentile(0.99)) | "
            + "\(latencies.last.map { String(format: "%.2f s", $0) } ?? "—") | "
            + "\(rss(at: 0.1)) / \(rss(at: 0.5)) / \(rss(at: 0.9)) | \(mib(peakKiB)) |")
        if !missing.isEmpty {
            print("\nnot posted within \(String(format: "%.0f", drainSeconds)) s of the last upload: \(missing.count), e.g. \(missing.prefix(3).joined(separator: ", "))")
        }
        if !errors.isEmpty {
            print("\nthe daemon logged \(errors.count) error(s), e.g.:\n" + errors.prefix(3).joined(separator: "\n"))
        }
    }
}

private func partnerID(_ partner: Int) -> String {
    let digits = String(partner + 1)
    return "p" + String(repeating: "0", count: max(0, 3 - digits.count)) + digits
}

/// A small seeded generator (SplitMix64): the same seed, the same day.
struct SplitMix64 {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// `reckon run` as a child process, its JSON log lines on standard error read as they
/// come, each timed by this process's clock when read.
final class DaemonProcess {
    let pid: pid_t
    let log: DaemonLog
    private var exited = false

    /// Standard error's lines are also copied to `logPath`.
    init(reckon: String, arguments: [String], stdoutPath: String, logPath: String) throws {
        var pipeEnds: [Int32] = [0, 0]
        guard pipe(&pipeEnds) == 0 else { throw ValidationError("pipe failed") }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, stdoutPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_adddup2(&actions, pipeEnds[1], 2)
        posix_spawn_file_actions_addclose(&actions, pipeEnds[0])
        let argv = ([reckon] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, reckon, &actions, nil, argv, environ)
        close(pipeEnds[1])
        guard result == 0 else { throw ValidationError("cannot start \(reckon): \(String(cString: strerror(result)))") }
        self.pid = pid
        log = DaemonLog(descriptor: pipeEnds[0], copyPath: logPath)
        log.start()
    }

    var isRunning: Bool {
        if exited { return false }
        var status: Int32 = 0
        if waitpid(pid, &status, WNOHANG) == pid { exited = true }
        return !exited
    }

    /// SIGTERM (a graceful stop), then waits for the exit.
    func terminate() {
        guard isRunning else { return }
        kill(pid, SIGTERM)
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        exited = true
    }
}

/// The daemon's log as it comes: when each "file posted" line was read (by partner and file
/// name), and the error lines.
final class DaemonLog: @unchecked Sendable {
    private let descriptor: Int32
    private let lock = NSLock()
    private var postedAt: [String: Double] = [:]
    private var errorLines: [String] = []
    private var recent: [String] = []

    private let copy: Int32

    init(descriptor: Int32, copyPath: String) {
        self.descriptor = descriptor
        copy = open(copyPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    }

    func start() {
        let thread = Thread { [self] in read() }
        thread.start()
    }

    var postedCount: Int { lock.withLock { postedAt.count } }
    func posted() -> [String: Double] { lock.withLock { postedAt } }
    func errors() -> [String] { lock.withLock { errorLines } }
    func lastLines() -> String { lock.withLock { recent.joined(separator: "\n") } }

    private func read() {
        var pending: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while true {
            let count = Glibc.read(descriptor, &chunk, chunk.count)
            if count <= 0 { break }
            let now = Clock.now()
            if copy >= 0 { _ = write(copy, chunk, count) }
            pending += chunk[0..<count]
            while let newline = pending.firstIndex(of: 0x0A) {
                take(Array(pending[..<newline]), at: now)
                pending.removeSubrange(...newline)
            }
        }
        close(descriptor)
        if copy >= 0 { close(copy) }
    }

    private func take(_ line: [UInt8], at now: Double) {
        let text = String(decoding: line, as: UTF8.self)
        guard let object = try? JSONSerialization.jsonObject(with: Data(line)) as? [String: Any] else {
            lock.withLock { remember(text) }
            return
        }
        let message = object["message"] as? String ?? ""
        let level = object["level"] as? String ?? ""
        lock.withLock {
            remember(text)
            if message == "file posted" || message == "file posted in part",
               let partner = object["partner"] as? String, let file = object["file"] as? String {
                postedAt["\(partner)/\((file as NSString).lastPathComponent)"] = now
            }
            if level == "error" || level == "critical" { errorLines.append(text) }
        }
    }

    private func remember(_ text: String) {
        recent.append(text)
        if recent.count > 20 { recent.removeFirst() }
    }
}

/// The daemon's resident memory (VmRSS), sampled every quarter second.
final class MemorySampler: @unchecked Sendable {
    let pid: pid_t
    private let lock = NSLock()
    private var taken: [(seconds: Double, kib: Int64)] = []
    private var stopped = false

    init(pid: pid_t) { self.pid = pid }

    func start() {
        let thread = Thread { [self] in
            while !lock.withLock({ stopped }) {
                let kib = Self.field("VmRSS", pid: pid)
                if kib >= 0 { lock.withLock { taken.append((Clock.now(), kib)) } }
                usleep(250_000)
            }
        }
        thread.start()
    }

    func stop() { lock.withLock { stopped = true } }
    func samples() -> [(seconds: Double, kib: Int64)] { lock.withLock { taken } }

    /// The process's user and system CPU time so far (/proc/PID/stat), or nil.
    static func cpuSeconds(pid: pid_t) -> (user: Double, system: Double)? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8), let close = stat.lastIndex(of: ")") else { return nil }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        // After the name: state is field 3 of stat(5); utime and stime are 14 and 15.
        guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return nil }
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        return (user / ticks, system / ticks)
    }

    /// A `Vm…:` field of /proc/PID/status in KiB, or -1.
    static func field(_ name: String, pid: pid_t) -> Int64 {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix(name + ":") }) else { return -1 }
        return Int64(line.split(separator: " ").dropFirst().first ?? "") ?? -1
    }
}
