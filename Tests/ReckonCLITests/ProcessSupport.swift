import Foundation
import Testing

/// How a `reckon` process ended, with what it printed.
struct Finished {
    let status: Int32
    let stdout: String
    let stderr: String
    /// Killed by a signal (`status` is the signal's number).
    let signalled: Bool
    /// Still running when its time was up, and killed for it.
    let timedOut: Bool
}

/// Kills a process that is still running when its time is up, and remembers doing so.
private final class Deadline: @unchecked Sendable {
    private let lock = NSLock()
    private var done = false
    private(set) var fired = false

    init(_ process: Process, seconds: Double) {
        let pid = process.processIdentifier
        DispatchQueue.global().asyncAfter(deadline: .now() + seconds) { [self] in
            lock.lock()
            defer { lock.unlock() }
            guard !done else { return }
            fired = true
            kill(pid, SIGKILL)
        }
    }

    /// The process has ended: the deadline no longer applies.
    func finish() -> Bool {
        lock.lock()
        defer { lock.unlock() }
        done = true
        return fired
    }
}

/// Runs `reckon` with extra environment variables, as another user when `user` is given
/// (through setpriv: tests may run as root, whom no file permission stops). A process still
/// running after `timeoutSeconds` is killed and reported as timed out, so a regression that
/// makes a command wait fails the test instead of hanging it; the bound is a safety net,
/// never an assertion about speed.
func runReckon(_ arguments: [String], environment: [String: String] = [:], timeoutSeconds: Double = 600,
               user: String? = nil) throws -> Finished {
    let process = Process()
    if let user {
        process.executableURL = URL(fileURLWithPath: "/usr/bin/setpriv")
        process.arguments = try asUser(user) + [reckonExecutable] + arguments
    } else {
        process.executableURL = URL(fileURLWithPath: reckonExecutable)
        process.arguments = arguments
    }
    process.currentDirectoryURL = URL(fileURLWithPath: repositoryRoot)
    process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
    let out = Pipe(), err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    let deadline = Deadline(process, seconds: timeoutSeconds)
    // Both pipes are drained before waiting, so a large output cannot stall the child.
    let errors = PipeReader(err)
    let stdout = out.fileHandleForReading.readDataToEndOfFile()
    let stderr = errors.wait()
    process.waitUntilExit()
    let timedOut = deadline.finish()
    return Finished(status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
                    stderr: String(decoding: stderr, as: UTF8.self),
                    signalled: process.terminationReason == .uncaughtSignal, timedOut: timedOut)
}

/// Reads a pipe to its end on a thread of its own.
private final class PipeReader: @unchecked Sendable {
    private let group = DispatchGroup()
    private var data = Data()

    init(_ pipe: Pipe) {
        group.enter()
        DispatchQueue.global().async { [self] in
            data = pipe.fileHandleForReading.readDataToEndOfFile()
            group.leave()
        }
    }

    func wait() -> Data {
        group.wait()
        return data
    }
}

/// Starts `reckon` and returns once it has stopped itself at a crash point
/// (`RECKON_STOP_AT`), holding whatever it held there; the caller kills it.
func startStoppedReckon(_ arguments: [String], stopAt point: String, timeoutSeconds: Double = 600) throws -> Process {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: reckonExecutable)
    process.arguments = arguments
    process.currentDirectoryURL = URL(fileURLWithPath: repositoryRoot)
    process.environment = ProcessInfo.processInfo.environment.merging(["RECKON_STOP_AT": point]) { $1 }
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle.nullDevice
    try process.run()
    // Waits for a state, not for a time: the bound only keeps a broken run from hanging.
    let limit = Date().addingTimeInterval(timeoutSeconds)
    while process.isRunning && processState(process.processIdentifier) != "T" && Date() < limit {
        usleep(10_000)
    }
    return process
}

/// The state letter in /proc/<pid>/stat (`T`: stopped), nil when it cannot be read.
func processState(_ pid: Int32) -> Character? {
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
          let close = stat.lastIndex(of: ")") else { return nil }
    return stat[stat.index(after: close)...].first { $0 != " " }
}

/// setpriv's arguments to run a command as `user` (and the user's own group).
func asUser(_ user: String) throws -> [String] {
    guard let entry = getpwnam(user) else { throw CocoaError(.userCancelled, userInfo: [NSLocalizedDescriptionKey: "no user \(user)"]) }
    return ["--reuid=\(entry.pointee.pw_uid)", "--regid=\(entry.pointee.pw_gid)", "--clear-groups"]
}

/// Whether file permissions can be tested here: as a user they apply to us; as root they
/// do not, so the commands must run as `nobody` through setpriv, and `nobody` must be able
/// to run the built `reckon` and read the repository (a clone in a private home folder
/// cannot be). Tests that need it are skipped, with this reason, where it is false.
let permissionsCanBeTested: Bool = {
    guard geteuid() == 0 else { return true }
    guard FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv"), let user = try? asUser("nobody") else { return false }
    let probe = Process()
    probe.executableURL = URL(fileURLWithPath: "/usr/bin/setpriv")
    probe.arguments = user + [reckonExecutable, "spec", "check", repositoryRoot + "/mappings/platform-loans.yaml",
                              repositoryRoot + "/mappings/samples/partners/PLAT_LOAN_20241115.csv"]
    probe.currentDirectoryURL = URL(fileURLWithPath: NSTemporaryDirectory())
    probe.standardOutput = FileHandle.nullDevice
    probe.standardError = FileHandle.nullDevice
    guard (try? probe.run()) != nil else { return false }
    probe.waitUntilExit()
    return probe.terminationReason == .exit && probe.terminationStatus == 0
}()

/// Whether a small tmpfs can be mounted here (root, on a machine or in a container that
/// allows mounts): the only portable way to give a test a disk that really fills up.
let tmpfsCanBeMounted: Bool = {
    guard geteuid() == 0, FileManager.default.isExecutableFile(atPath: "/bin/mount") else { return false }
    let point = NSTemporaryDirectory() + "reckon-mount-probe-" + UUID().uuidString
    guard (try? FileManager.default.createDirectory(atPath: point, withIntermediateDirectories: true)) != nil else { return false }
    defer { try? FileManager.default.removeItem(atPath: point) }
    func run(_ tool: String, _ arguments: [String]) -> Bool {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tool)
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return false }
        process.waitUntilExit()
        return process.terminationReason == .exit && process.terminationStatus == 0
    }
    guard run("/bin/mount", ["-t", "tmpfs", "-o", "size=1m", "tmpfs", point]) else { return false }
    return run("/bin/umount", [point])
}()
