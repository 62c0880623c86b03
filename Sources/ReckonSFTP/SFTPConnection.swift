import CLibSSH2
import Foundation

/// libssh2's process-wide start, once, before the first session.
private let libssh2Started: Int32 = libssh2_init(0)

/// One SSH session with SFTP started on it, over a non-blocking socket. A libssh2 call that
/// would block returns EAGAIN; the connection then waits on the socket with poll(2) in the
/// directions libssh2 names, for at most the deadline: the connect deadline while
/// connecting, the read deadline for each reply after that. Used from one thread at a time.
final class SFTPConnection {
    let endpoint: SFTPEndpoint
    private(set) var hostKeyFingerprint: String
    private let timeouts: SFTPTimeouts
    private let clock: MonotonicClock
    private var socket: Int32
    private var session: OpaquePointer
    private(set) var sftp: OpaquePointer?
    /// While connecting, when the connect deadline ends (a monotonic reading).
    private var connectDeadline: UInt64?
    var sessionPointer: OpaquePointer { session }
    /// False once an error left the session in an unknown state.
    var isUsable = true

    /// Whether the socket sends each request at once (TCP_NODELAY; see ``TCPConnect``).
    var sendsWithoutDelay: Bool {
        var value: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        return getsockopt(socket, Int32(IPPROTO_TCP), TCP_NODELAY, &value, &length) == 0 && value != 0
    }

    /// Connects, checks the host key against known_hosts, logs in with the key and starts
    /// SFTP, all within the connect deadline.
    init(settings: SFTPSettings, passphrase: Passphrase?, clock: MonotonicClock) throws(SFTPError) {
        _ = libssh2Started
        endpoint = settings.endpoint
        timeouts = settings.timeouts
        self.clock = clock
        let deadline = clock.nowNanoseconds() + UInt64(settings.timeouts.connectTimeoutSeconds * 1e9)
        connectDeadline = deadline
        socket = try TCPConnect.open(settings.endpoint, deadline: deadline, clock: clock,
                                     timeoutSeconds: settings.timeouts.connectTimeoutSeconds)
        guard let session = libssh2_session_init_ex(nil, nil, nil, nil) else {
            Glibc.close(socket)
            throw .connectFailed(endpoint: settings.endpoint.description, reason: "libssh2 could not start a session")
        }
        self.session = session
        hostKeyFingerprint = ""
        libssh2_session_set_blocking(session, 0)
        if let algorithms = HostKeyCheck.pinnedAlgorithms(session: session, endpoint: endpoint, knownHostsPath: settings.knownHostsPath) {
            _ = libssh2_session_method_pref(session, LIBSSH2_METHOD_HOSTKEY, algorithms)
        }
        do throws(SFTPError) {
            let handshake = try call("doing the SSH handshake") { libssh2_session_handshake(session, socket) }
            guard handshake == 0 else {
                throw SFTPError.connectFailed(endpoint: endpoint.description, reason: "the SSH handshake failed: \(lastErrorMessage())")
            }
            hostKeyFingerprint = try HostKeyCheck.verify(session: session, endpoint: endpoint, knownHostsPath: settings.knownHostsPath)
            try authenticate(settings.credentials, passphrase: passphrase)
            guard let sftp = try callPointer("starting SFTP", { libssh2_sftp_init(session) }) else {
                throw SFTPError.connectFailed(endpoint: endpoint.description, reason: "the server would not start SFTP: \(lastErrorMessage())")
            }
            self.sftp = sftp
        } catch {
            isUsable = false
            close()
            throw error
        }
        connectDeadline = nil
    }

    deinit { close() }

    private func authenticate(_ credentials: SFTPCredentials, passphrase: Passphrase?) throws(SFTPError) {
        let user = credentials.user
        func refused(_ reason: String) -> SFTPError {
            .authenticationFailed(endpoint: endpoint.description, user: user, keyPath: credentials.privateKeyPath, reason: reason)
        }
        guard FileManager.default.isReadableFile(atPath: credentials.privateKeyPath) else { throw refused("the key file cannot be read") }
        let session = self.session
        let result = try call("logging in") {
            if let passphrase {
                return passphrase.withCString {
                    libssh2_userauth_publickey_fromfile_ex(session, user, UInt32(user.utf8.count), credentials.publicKeyPath,
                                                           credentials.privateKeyPath, $0)
                }
            }
            return libssh2_userauth_publickey_fromfile_ex(session, user, UInt32(user.utf8.count), credentials.publicKeyPath,
                                                          credentials.privateKeyPath, nil)
        }
        switch result {
        case 0: return
        case LIBSSH2_ERROR_FILE:
            throw refused(passphrase == nil
                ? "the key cannot be read (it needs a passphrase, or is not an ed25519, ECDSA or RSA private key)"
                : "the key cannot be unlocked (a wrong passphrase, or not an ed25519, ECDSA or RSA private key)")
        case LIBSSH2_ERROR_AUTHENTICATION_FAILED, LIBSSH2_ERROR_PUBLICKEY_UNVERIFIED:
            throw refused("the server refused the key" + (Self.signsRSAWithSHA1(credentials) ? Self.rsaSHA1Hint : ""))
        default:
            throw failure(result, doing: "logging in")
        }
    }

    /// libssh2 before 1.11 (Debian 12 ships 1.10) signs with an RSA key as `ssh-rsa`
    /// (SHA-1), which OpenSSH 8.8 and later refuse unless told otherwise.
    static let rsaSHA1Hint = " (libssh2 before 1.11 signs with RSA keys as ssh-rsa, with SHA-1, which OpenSSH 8.8 and later "
        + "refuse by default: use an ed25519 key, or have the server accept ssh-rsa)"

    private static func signsRSAWithSHA1(_ credentials: SFTPCredentials) -> Bool {
        guard libssh2_version(0x010B00) == nil else { return false }
        let publicKey = credentials.publicKeyPath ?? credentials.privateKeyPath + ".pub"
        guard let handle = FileHandle(forReadingAtPath: publicKey) else { return false }
        defer { try? handle.close() }
        return (try? handle.read(upToCount: 8)).map { $0 == Data("ssh-rsa ".utf8) } ?? false
    }

    /// Ends the session: politely when it is healthy (bounded by a short wait), then the
    /// socket is shut so nothing libssh2 still sends can block, and everything is freed.
    func close() {
        guard socket >= 0 else { return }
        if isUsable {
            connectDeadline = clock.nowNanoseconds() + 1_000_000_000
            if let sftp {
                _ = try? call("closing SFTP") { libssh2_sftp_shutdown(sftp) }
            }
            _ = try? call("disconnecting") { libssh2_session_disconnect_ex(session, SSH_DISCONNECT_BY_APPLICATION, "done", "") }
        }
        sftp = nil
        shutdown(socket, Int32(SHUT_RDWR))
        // With the socket shut, nothing it sends can wait; EAGAIN is not expected, but bounded.
        var tries = 0
        while libssh2_session_free(session) == LIBSSH2_ERROR_EAGAIN && tries < 8 { tries += 1 }
        Glibc.close(socket)
        socket = -1
    }

    /// Whether the server has closed the connection while it sat unused (restarted, or its
    /// own idle limit reached): the socket reads end-of-file or reports an error or hang-up,
    /// seen without sending anything, so a kept connection found dead is made again before a
    /// request goes out on it. Bytes waiting unread (an SSH message) leave it to libssh2.
    var closedByPeer: Bool {
        guard socket >= 0 else { return true }
        let readHangUp: Int16 = 0x2000  // POLLRDHUP (Linux; Glibc exports it only with _GNU_SOURCE)
        let closed: Int16 = Int16(POLLERR) | Int16(POLLHUP) | Int16(POLLNVAL) | readHangUp
        var descriptor = pollfd(fd: socket, events: Int16(POLLIN) | readHangUp, revents: 0)
        var ready: Int32
        repeat { ready = poll(&descriptor, 1, 0) } while ready < 0 && errno == EINTR
        guard ready > 0 else { return ready < 0 }
        if descriptor.revents & closed != 0 { return true }
        var byte: UInt8 = 0
        var received: Int
        repeat { received = recv(socket, &byte, 1, Int32(MSG_PEEK | MSG_DONTWAIT)) } while received < 0 && errno == EINTR
        return received == 0 || (received < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
    }

    // MARK: Calls that may block

    /// `body` until it stops answering EAGAIN, waiting on the socket in between.
    func call(_ doing: String, _ body: () -> Int32) throws(SFTPError) -> Int32 {
        while true {
            let result = body()
            guard result == LIBSSH2_ERROR_EAGAIN else { return result }
            try waitForSocket(doing: doing)
        }
    }

    /// The same for calls that return a byte count.
    func callCount(_ doing: String, _ body: () -> Int) throws(SFTPError) -> Int {
        while true {
            let result = body()
            guard result == Int(LIBSSH2_ERROR_EAGAIN) else { return result }
            try waitForSocket(doing: doing)
        }
    }

    /// The same for calls that return a handle (nil and EAGAIN as the session's last error).
    func callPointer(_ doing: String, _ body: () -> OpaquePointer?) throws(SFTPError) -> OpaquePointer? {
        while true {
            if let pointer = body() { return pointer }
            guard libssh2_session_last_errno(session) == LIBSSH2_ERROR_EAGAIN else { return nil }
            try waitForSocket(doing: doing)
        }
    }

    private func waitForSocket(doing: String) throws(SFTPError) {
        let timeoutSeconds: Double
        if let connectDeadline {
            let now = clock.nowNanoseconds()
            guard now < connectDeadline else {
                isUsable = false
                throw .timedOut(endpoint: endpoint.description, doing: doing, seconds: timeouts.connectTimeoutSeconds)
            }
            timeoutSeconds = Double(connectDeadline - now) / 1e9
        } else {
            timeoutSeconds = timeouts.readTimeoutSeconds
        }
        let directions = libssh2_session_block_directions(session)
        var events: Int16 = 0
        if directions & LIBSSH2_SESSION_BLOCK_INBOUND != 0 { events |= Int16(POLLIN) }
        if directions & LIBSSH2_SESSION_BLOCK_OUTBOUND != 0 { events |= Int16(POLLOUT) }
        if events == 0 { events = Int16(POLLIN) }
        var descriptor = pollfd(fd: socket, events: events, revents: 0)
        let start = clock.nowNanoseconds()
        while true {
            let remaining = timeoutSeconds - Double(clock.nowNanoseconds() &- start) / 1e9
            let ready = poll(&descriptor, 1, Int32(max(0, (remaining * 1000).rounded(.up))))
            if ready > 0 { return }
            if ready < 0 && errno == EINTR { continue }
            // Whatever was under way is left half done: nothing more is asked of this session.
            isUsable = false
            if ready < 0 {
                throw .connectionLost(endpoint: endpoint.description, doing: doing, reason: String(cString: strerror(errno)))
            }
            throw .timedOut(endpoint: endpoint.description, doing: doing,
                            seconds: connectDeadline == nil ? timeouts.readTimeoutSeconds : timeouts.connectTimeoutSeconds)
        }
    }

    // MARK: Errors

    /// libssh2's own words for the last error (never secrets: it does not repeat them).
    func lastErrorMessage() -> String {
        var message: UnsafeMutablePointer<CChar>?
        var length: Int32 = 0
        _ = libssh2_session_last_error(session, &message, &length, 0)
        guard let message, length > 0 else { return "no reason given" }
        return String(cString: message)
    }

    /// A failed call as an error: the server's SFTP status for a refused request, a lost
    /// connection otherwise (which also marks this connection unusable).
    func failure(_ code: Int32, doing: String, path: String = "") -> SFTPError {
        if code == LIBSSH2_ERROR_SFTP_PROTOCOL, let sftp {
            return .remoteFailed(endpoint: endpoint.description, doing: doing, path: path,
                                 reason: Self.statusText(libssh2_sftp_last_error(sftp)))
        }
        isUsable = false
        return .connectionLost(endpoint: endpoint.description, doing: doing, reason: lastErrorMessage())
    }

    /// The last SFTP status code, when the last failure was one.
    var lastStatus: UInt {
        guard let sftp, libssh2_session_last_errno(session) == LIBSSH2_ERROR_SFTP_PROTOCOL else { return 0 }
        return libssh2_sftp_last_error(sftp)
    }

    static func statusText(_ status: UInt) -> String {
        switch status {
        case UInt(LIBSSH2_FX_NO_SUCH_FILE), UInt(LIBSSH2_FX_NO_SUCH_PATH): return "no such file or folder"
        case UInt(LIBSSH2_FX_PERMISSION_DENIED): return "permission denied"
        case UInt(LIBSSH2_FX_FILE_ALREADY_EXISTS): return "the file already exists"
        case UInt(LIBSSH2_FX_NO_SPACE_ON_FILESYSTEM): return "no space left on the server"
        case UInt(LIBSSH2_FX_QUOTA_EXCEEDED): return "quota exceeded"
        case UInt(LIBSSH2_FX_OP_UNSUPPORTED): return "the server does not support it"
        case UInt(LIBSSH2_FX_WRITE_PROTECT): return "the server's file system is read-only"
        case UInt(LIBSSH2_FX_NOT_A_DIRECTORY): return "not a folder"
        case UInt(LIBSSH2_FX_FAILURE): return "failure (SFTP status 4)"
        default: return "SFTP status \(status)"
        }
    }
}

/// A TCP connection opened without blocking past the deadline, to the first of the host's
/// addresses that answers.
enum TCPConnect {
    static func open(_ endpoint: SFTPEndpoint, deadline: UInt64, clock: MonotonicClock, timeoutSeconds: Double) throws(SFTPError) -> Int32 {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        let resolved = getaddrinfo(endpoint.host, String(endpoint.port), &hints, &list)
        guard resolved == 0, let first = list else {
            throw .connectFailed(endpoint: endpoint.description, reason: "the host name cannot be resolved: \(String(cString: gai_strerror(resolved)))")
        }
        defer { freeaddrinfo(list) }
        var reason = "no address to connect to"
        var address: UnsafeMutablePointer<addrinfo>? = first
        while let current = address {
            address = current.pointee.ai_next
            let descriptor = socket(current.pointee.ai_family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            guard descriptor >= 0 else { reason = String(cString: strerror(errno)); continue }
            _ = fcntl(descriptor, F_SETFL, fcntl(descriptor, F_GETFL) | O_NONBLOCK)
            // SFTP's requests are small packets sent while earlier ones are unanswered: with
            // Nagle's algorithm each waited for the server's delayed ACK (up to 40 ms), and a
            // 2 MB download took 26 to 107 ms on loopback instead of 20.
            var noDelay: Int32 = 1
            _ = setsockopt(descriptor, Int32(IPPROTO_TCP), TCP_NODELAY, &noDelay, socklen_t(MemoryLayout<Int32>.size))
            if connect(descriptor, current.pointee.ai_addr, current.pointee.ai_addrlen) == 0 { return descriptor }
            guard errno == EINPROGRESS else {
                reason = String(cString: strerror(errno))
                Glibc.close(descriptor)
                continue
            }
            var waiting = pollfd(fd: descriptor, events: Int16(POLLOUT), revents: 0)
            while true {
                let now = clock.nowNanoseconds()
                guard now < deadline else {
                    Glibc.close(descriptor)
                    throw .timedOut(endpoint: endpoint.description, doing: "connecting", seconds: timeoutSeconds)
                }
                let ready = poll(&waiting, 1, Int32(((Double(deadline - now) / 1e6)).rounded(.up)))
                if ready < 0 && errno == EINTR { continue }
                break
            }
            var error: Int32 = 0
            var length = socklen_t(MemoryLayout<Int32>.size)
            if getsockopt(descriptor, SOL_SOCKET, SO_ERROR, &error, &length) == 0, error == 0, waiting.revents & Int16(POLLOUT) != 0 {
                return descriptor
            }
            reason = String(cString: strerror(error == 0 ? ETIMEDOUT : error))
            Glibc.close(descriptor)
        }
        throw .connectFailed(endpoint: endpoint.description, reason: reason)
    }
}
