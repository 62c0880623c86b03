#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// A local OpenSSH sshd for `reckon-bench daemon`, as scripts/demo-sftp.sh starts one: on
/// 127.0.0.1 at a free port, a generated ed25519 host key pinned in a known_hosts file, a
/// generated user key for the current user, SFTP served. Stopped, with the sessions it
/// forked, by `stop()`.
final class BenchSSHServer {
    static let sshd = "/usr/sbin/sshd"
    static let keygen = "/usr/bin/ssh-keygen"

    /// Why no server can be started here, or nil.
    static var unavailable: String? {
        if access(sshd, X_OK) != 0 { return "no \(sshd) (install openssh-server)" }
        if access(keygen, X_OK) != 0 { return "no \(keygen) (install openssh-client)" }
        return nil
    }

    let port: Int
    let user: String
    let userKeyPath: String
    let knownHostsPath: String
    private var pid: pid_t = 0

    /// Makes the keys and configuration in `folder` and starts the server.
    init(folder: String) throws {
        mkdir(folder, 0o700)
        let hostKey = folder + "/host_ed25519"
        userKeyPath = folder + "/user_ed25519"
        for path in [hostKey, userKeyPath] {
            unlink(path)
            unlink(path + ".pub")
            try Self.runToEnd(Self.keygen, ["-q", "-t", "ed25519", "-N", "", "-C", "reckon-bench", "-f", path], log: folder + "/keygen.log")
        }
        user = String(cString: getpwuid(getuid())!.pointee.pw_name)
        port = try Self.freePort()
        let authorized = folder + "/authorized_keys"
        try String(contentsOfFile: userKeyPath + ".pub", encoding: .utf8).write(toFile: authorized, atomically: true, encoding: .utf8)
        let config = folder + "/sshd_config"
        try """
            Port \(port)
            ListenAddress 127.0.0.1
            HostKey \(hostKey)
            PidFile \(folder)/sshd.pid
            AuthorizedKeysFile \(authorized)
            StrictModes no
            UsePAM no
            PasswordAuthentication no
            KbdInteractiveAuthentication no
            PubkeyAuthentication yes
            PermitRootLogin prohibit-password
            Subsystem sftp internal-sftp
            MaxStartups 100:30:200
            LogLevel ERROR

            """.write(toFile: config, atomically: true, encoding: .utf8)
        knownHostsPath = folder + "/known_hosts"
        let hostLine = try String(contentsOfFile: hostKey + ".pub", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        try "[127.0.0.1]:\(port) \(hostLine)\n".write(toFile: knownHostsPath, atomically: true, encoding: .utf8)
        if getuid() == 0 { mkdir("/run/sshd", 0o755) }
        pid = try Self.spawn(Self.sshd, ["-D", "-e", "-f", config], output: folder + "/sshd.log")
        let deadline = Clock.now() + 10
        while Clock.now() < deadline {
            var status: Int32 = 0
            if waitpid(pid, &status, WNOHANG) == pid {
                pid = 0
                let log = (try? String(contentsOfFile: folder + "/sshd.log", encoding: .utf8)) ?? ""
                throw ValidationErrorText("sshd exited at once: \(log.trimmingCharacters(in: .whitespacesAndNewlines))")
            }
            if Self.accepts(port) { return }
            usleep(20_000)
        }
        stop()
        throw ValidationErrorText("sshd did not accept connections on 127.0.0.1:\(port) within 10 s")
    }

    deinit { stop() }

    /// Kills sshd and the sessions it forked.
    func stop() {
        guard pid > 0 else { return }
        for child in ProcessTree.descendants(of: pid) + [pid] { kill(child, SIGKILL) }
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        pid = 0
    }

    /// Starts `executable` with standard input from /dev/null and both outputs to `output`.
    static func spawn(_ executable: String, _ arguments: [String], output: String) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, output, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, executable, &actions, nil, argv, environ)
        guard result == 0 else { throw ValidationErrorText("cannot start \(executable): \(String(cString: strerror(result)))") }
        return pid
    }

    private static func runToEnd(_ executable: String, _ arguments: [String], log: String) throws {
        let pid = try spawn(executable, arguments, output: log)
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        guard status == 0 else {
            throw ValidationErrorText("\(executable) failed: \((try? String(contentsOfFile: log, encoding: .utf8)) ?? "")")
        }
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
        guard bound else { throw ValidationErrorText("no free port: \(String(cString: strerror(errno)))") }
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

/// A process's descendants, from /proc.
enum ProcessTree {
    static func descendants(of root: pid_t) -> [pid_t] {
        var children: [pid_t: [pid_t]] = [:]
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
            guard let pid = pid_t(entry), let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { continue }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            if fields.count > 1, let parent = pid_t(fields[1]) { children[parent, default: []].append(pid) }
        }
        var found: [pid_t] = []
        var queue = [root]
        while let pid = queue.popLast() {
            for child in children[pid] ?? [] {
                found.append(child)
                queue.append(child)
            }
        }
        return found
    }
}

struct ValidationErrorText: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
