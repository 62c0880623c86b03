import Foundation
import ReckonSFTP

/// A scratch folder removed when the value goes.
final class Scratch {
    let path: String

    init() throws {
        var template = Array((NSTemporaryDirectory() + "/reckon-sftp-XXXXXX").utf8CString)
        guard let made = mkdtemp(&template) else { throw TestSetupError("mkdtemp failed: \(String(cString: strerror(errno)))") }
        path = String(cString: made)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    /// Makes `name` (a folder) inside and returns its path.
    func folder(_ name: String) throws -> String {
        let folder = path + "/" + name
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        return folder
    }
}

struct TestSetupError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// A child process started with posix_spawn, its output to a file. (Foundation's Process
/// is not used: it takes a child's closing of inherited descriptors for its exit, and sshd
/// closes them at once, which leaves Foundation's monitor blocked on it.)
struct Spawned {
    let pid: pid_t

    init(_ executable: String, _ arguments: [String], outputPath: String) throws {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outputPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, executable, &actions, nil, argv, environ)
        guard result == 0 else { throw TestSetupError("cannot start \(executable): \(String(cString: strerror(result)))") }
        self.pid = pid
    }

    /// Waits for the exit; the exit status (128 + signal when killed).
    @discardableResult
    func wait() -> Int32 {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        return (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
    }

    /// Whether it is still running (reaping it if not).
    func isRunning() -> Bool {
        var status: Int32 = 0
        return waitpid(pid, &status, WNOHANG) == 0
    }
}

/// Runs a command to its end; its output, or an error with what it said.
@discardableResult
func run(_ executable: String, _ arguments: [String]) throws -> String {
    let outputPath = NSTemporaryDirectory() + "/reckon-sftp-run-\(UUID().uuidString)"
    defer { unlink(outputPath) }
    let status = try Spawned(executable, arguments, outputPath: outputPath).wait()
    let text = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
    guard status == 0 else {
        throw TestSetupError("\(executable) \(arguments.joined(separator: " ")) failed (\(status)): \(text)")
    }
    return text
}

/// A key pair made with ssh-keygen.
struct KeyPair {
    let privatePath: String
    var publicPath: String { privatePath + ".pub" }

    /// `type` is `ed25519` or `rsa`; an empty passphrase leaves the key unencrypted.
    init(in folder: String, name: String, type: String = "ed25519", passphrase: String = "") throws {
        privatePath = folder + "/" + name
        var arguments = ["-q", "-t", type, "-N", passphrase, "-C", "reckon-test-\(name)", "-f", privatePath]
        if type == "rsa" { arguments += ["-b", "2048"] }
        try run(TestSSHServer.keygen, arguments)
    }

    var publicLine: String {
        get throws { try String(contentsOfFile: publicPath, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines) }
    }

    /// The fingerprint as OpenSSH prints it (`SHA256:…`), by ssh-keygen: the independent
    /// oracle for the client's own.
    var fingerprint: String {
        get throws {
            let line = try run(TestSSHServer.keygen, ["-l", "-E", "sha256", "-f", publicPath])
            return String(line.split(separator: " ")[1])
        }
    }
}

/// A real OpenSSH sshd on 127.0.0.1 for one test, on a free port, with a generated ed25519
/// host key, accepting the given user keys for the current user, serving SFTP. Runs as the
/// current user (as root too: then the privilege-separation folder /run/sshd must exist,
/// and is made). Stopped (with every process it forked) by `stop()` or when it goes.
final class TestSSHServer {
    static let sshd = "/usr/sbin/sshd"
    static let keygen = "/usr/bin/ssh-keygen"
    /// Why the tests cannot run here, or nil when they can.
    static var unavailable: String? {
        if !FileManager.default.isExecutableFile(atPath: sshd) { return "no \(sshd): install openssh-server (make test does)" }
        if !FileManager.default.isExecutableFile(atPath: keygen) { return "no \(keygen): install openssh-client" }
        return nil
    }

    let scratch: Scratch
    let port: Int
    let hostKey: KeyPair
    let user: String
    private let configPath: String
    private let logPath: String
    private var process: Spawned?

    var endpoint: SFTPEndpoint { SFTPEndpoint(host: "127.0.0.1", port: port) }

    /// `extraConfig`: more sshd_config lines (`PubkeyAcceptedAlgorithms +ssh-rsa`).
    init(scratch: Scratch, userKeys: [KeyPair], extraConfig: String = "") throws {
        self.scratch = scratch
        let folder = try scratch.folder("sshd")
        hostKey = try KeyPair(in: folder, name: "host_ed25519")
        user = String(cString: getpwuid(getuid())!.pointee.pw_name)
        port = try Self.freePort()
        let authorized = folder + "/authorized_keys"
        try userKeys.map { try $0.publicLine }.joined(separator: "\n").appending("\n")
            .write(toFile: authorized, atomically: true, encoding: .utf8)
        configPath = folder + "/sshd_config"
        logPath = folder + "/sshd.log"
        try """
        Port \(port)
        ListenAddress 127.0.0.1
        HostKey \(hostKey.privatePath)
        PidFile \(folder)/sshd.pid
        AuthorizedKeysFile \(authorized)
        StrictModes no
        UsePAM no
        PasswordAuthentication no
        KbdInteractiveAuthentication no
        PubkeyAuthentication yes
        PermitRootLogin prohibit-password
        Subsystem sftp internal-sftp
        LogLevel ERROR
        \(extraConfig)

        """.write(toFile: configPath, atomically: true, encoding: .utf8)
        if getuid() == 0 && !FileManager.default.fileExists(atPath: "/run/sshd") {
            try FileManager.default.createDirectory(atPath: "/run/sshd", withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: 0o755])
        }
        try start()
    }

    deinit { stop() }

    /// A known_hosts file pinning `key` for this server's host and port.
    func knownHosts(pinning key: KeyPair? = nil, host: String? = nil) throws -> String {
        let path = scratch.path + "/known_hosts-\(UUID().uuidString.prefix(8))"
        let entry = "[\(host ?? "127.0.0.1")]:\(port) " + (try (key ?? hostKey).publicLine)
        try (entry + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// Starts sshd and waits (briefly, polling) until it accepts connections.
    func start() throws {
        let process = try Spawned(Self.sshd, ["-D", "-e", "-f", configPath], outputPath: logPath)
        self.process = process
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            if !process.isRunning() {
                self.process = nil
                throw TestSetupError("sshd exited: \((try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "")")
            }
            if Self.accepts(port) { return }
            usleep(10_000)
        }
        throw TestSetupError("sshd did not accept connections on 127.0.0.1:\(port) within 10 s")
    }

    /// Kills sshd and every process it forked (the sessions), at once: a server gone
    /// without a word, as when its machine fails.
    func stop() {
        guard let process else { return }
        let pids = Self.descendants(of: process.pid) + [process.pid]
        for pid in pids { kill(pid, SIGKILL) }
        process.wait()
        self.process = nil
        // The sessions are not this process's children: wait (bounded) until each has
        // exited, so its connections are closed when stop() returns.
        let deadline = Date().addingTimeInterval(5)
        for pid in pids where pid != process.pid {
            while Self.isAlive(pid) && Date() < deadline { usleep(1_000) }
        }
    }

    /// Still running (not gone, not a zombie whose descriptors are closed).
    private static func isAlive(_ pid: Int32) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8), let close = stat.lastIndex(of: ")") else { return false }
        return stat[stat.index(after: close)...].split(separator: " ").first != "Z"
    }

    /// Stops (SIGSTOP) every session the server forked: connections stay open, nothing
    /// answers.
    func pauseSessions() {
        guard let process else { return }
        for pid in Self.descendants(of: process.pid) { kill(pid, SIGSTOP) }
    }

    func resumeSessions() {
        guard let process else { return }
        for pid in Self.descendants(of: process.pid) { kill(pid, SIGCONT) }
    }

    private static func descendants(of root: Int32) -> [Int32] {
        var children: [Int32: [Int32]] = [:]
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
            guard let pid = Int32(entry), let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { continue }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            if fields.count > 1, let parent = Int32(fields[1]) { children[parent, default: []].append(pid) }
        }
        var found: [Int32] = []
        var queue = [root]
        while let pid = queue.popLast() {
            for child in children[pid] ?? [] {
                found.append(child)
                queue.append(child)
            }
        }
        return found
    }

    private static func freePort() throws -> Int {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, length) == 0 && getsockname(descriptor, $0, &length) == 0 }
        }
        guard bound else { throw TestSetupError("no free port: \(String(cString: strerror(errno)))") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    private static func accepts(_ port: Int) -> Bool {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
    }
}

/// A test clock: time moves only when the test (or its sleeper) moves it.
final class TestClock: @unchecked Sendable {
    private let lock = NSLock()
    private var nanoseconds: UInt64 = 1_000_000_000

    var clock: MonotonicClock { MonotonicClock { [self] in lock.withLock { nanoseconds } } }

    func advance(seconds: Double) {
        lock.withLock { nanoseconds += UInt64(seconds * 1e9) }
    }
}

/// A sleeper that never waits: it records each pause, and does what the test wants done
/// "while" it sleeps (move the test clock, append to a file, restart a server).
final class RecordingSleeper: Sleeper {
    private(set) var pauses: [Double] = []
    let during: (Double) -> Void

    init(during: @escaping (Double) -> Void = { _ in }) {
        self.during = during
    }

    func sleep(seconds: Double) {
        pauses.append(seconds)
        during(seconds)
    }
}
