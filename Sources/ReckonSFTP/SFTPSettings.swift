import Foundation

/// An SFTP server: its host and port as they are pinned in known_hosts.
public struct SFTPEndpoint: Sendable, Equatable, CustomStringConvertible {
    public let host: String
    public let port: Int

    public init(host: String, port: Int = 22) {
        self.host = host
        self.port = port
    }

    /// `host:port` (`[::1]:22` for an IPv6 address), as log lines and errors name it.
    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}

/// Where a private key's passphrase comes from: a file (its first line) or an environment
/// variable. Never the command line, where every user of the machine can read it.
public enum PassphraseSource: Sendable, Equatable, CustomStringConvertible {
    case file(String)
    case environment(String)

    /// Where it is, never what it is: `the file /etc/reckon/key.pass`.
    public var description: String {
        switch self {
        case .file(let path): return "the file \(path)"
        case .environment(let name): return "the environment variable \(name)"
        }
    }
}

/// Who reckon logs in as and with which key.
public struct SFTPCredentials: Sendable, Equatable {
    public let user: String
    /// An OpenSSH or PEM private key (ed25519 or RSA).
    public let privateKeyPath: String
    /// The public key beside it; nil lets libssh2 derive it from the private key.
    public let publicKeyPath: String?
    /// Nil for a key without a passphrase.
    public let passphrase: PassphraseSource?

    public init(user: String, privateKeyPath: String, publicKeyPath: String? = nil, passphrase: PassphraseSource? = nil) {
        self.user = user
        self.privateKeyPath = privateKeyPath
        self.publicKeyPath = publicKeyPath
        self.passphrase = passphrase
    }
}

/// How long reckon waits on an SFTP server before giving up on it.
public struct SFTPTimeouts: Sendable, Equatable {
    /// For the whole of connecting: TCP, the SSH handshake, the host key, logging in and
    /// starting SFTP.
    public var connectTimeoutSeconds: Double
    /// For any one reply once connected: a server silent for this long is taken as gone.
    public var readTimeoutSeconds: Double
    /// A connection left unused for this long is closed and made again before the next
    /// request (firewalls and NAT drop quiet connections without telling either side).
    public var idleTimeoutSeconds: Double

    public init(connectTimeoutSeconds: Double = 15, readTimeoutSeconds: Double = 30, idleTimeoutSeconds: Double = 60) {
        self.connectTimeoutSeconds = connectTimeoutSeconds
        self.readTimeoutSeconds = readTimeoutSeconds
        self.idleTimeoutSeconds = idleTimeoutSeconds
    }
}

/// Everything needed to reach one partner's SFTP drop safely.
public struct SFTPSettings: Sendable, Equatable {
    public let endpoint: SFTPEndpoint
    public let credentials: SFTPCredentials
    /// The OpenSSH known_hosts file that pins the server's host key. There is no "accept
    /// any key" setting: an unknown or changed key is refused.
    public let knownHostsPath: String
    public var timeouts: SFTPTimeouts

    public init(endpoint: SFTPEndpoint, credentials: SFTPCredentials, knownHostsPath: String,
                timeouts: SFTPTimeouts = SFTPTimeouts()) {
        self.endpoint = endpoint
        self.credentials = credentials
        self.knownHostsPath = knownHostsPath
        self.timeouts = timeouts
    }
}

/// The monotonic clock deadlines and waits are measured on (never the wall clock, which
/// jumps); tests give their own.
public struct MonotonicClock: Sendable {
    public let nowNanoseconds: @Sendable () -> UInt64

    public init(nowNanoseconds: @escaping @Sendable () -> UInt64) {
        self.nowNanoseconds = nowNanoseconds
    }

    public static let system = MonotonicClock { DispatchTime.now().uptimeNanoseconds }

    /// Seconds from `start` (a reading of this clock) to now.
    public func secondsSince(_ start: UInt64) -> Double {
        let now = nowNanoseconds()
        return now >= start ? Double(now - start) / 1e9 : 0
    }
}
