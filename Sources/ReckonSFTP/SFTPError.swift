import Foundation

/// Why an SFTP exchange failed, in one line a log can carry: the server (`host:port`), what
/// was being done, the remote or local name, and the reason. No error ever holds a
/// passphrase or a key's contents; remote names are shown escaped (control bytes as
/// `\u{…}`), so a hostile name cannot forge log lines.
public enum SFTPError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The server's host key is not in known_hosts for this host and port.
    case hostKeyUnknown(endpoint: String, presented: String, keyType: String, knownHosts: String)
    /// known_hosts pins another key for this host and port.
    case hostKeyMismatch(endpoint: String, pinned: String, presented: String, keyType: String, knownHosts: String)
    /// The known_hosts file cannot be read (missing, unreadable, malformed).
    case knownHostsUnreadable(path: String, reason: String)
    /// No TCP connection, or the SSH handshake failed.
    case connectFailed(endpoint: String, reason: String)
    /// The server did not answer in time.
    case timedOut(endpoint: String, doing: String, seconds: Double)
    /// The server refused the key, or the key cannot be read or unlocked.
    case authenticationFailed(endpoint: String, user: String, keyPath: String, reason: String)
    /// The key's passphrase cannot be had from where the configuration says it is.
    case passphraseUnavailable(source: String, reason: String)
    /// The connection broke while something was under way.
    case connectionLost(endpoint: String, doing: String, reason: String)
    /// The server answered a request with a failure (no such file, permission denied, …).
    case remoteFailed(endpoint: String, doing: String, path: String, reason: String)
    /// A download or upload ended with another size than the other side has.
    case sizeMismatch(endpoint: String, path: String, expectedBytes: Int64, transferredBytes: Int64)
    /// A remote name that would leave the local drop folder or cannot be shown safely.
    case unsafeRemoteName(name: String, reason: String)
    /// A local file cannot be read or written.
    case localFailed(path: String, reason: String)

    public var description: String {
        switch self {
        case .hostKeyUnknown(let endpoint, let presented, let keyType, let knownHosts):
            return "the SFTP server \(endpoint) presented the host key \(presented) (\(keyType)), which is not in known_hosts "
                + "(\(knownHosts)); refused: add the server's key there once its fingerprint is confirmed with the partner"
        case .hostKeyMismatch(let endpoint, let pinned, let presented, let keyType, let knownHosts):
            return "the SFTP server \(endpoint) presented the host key \(presented) (\(keyType)), but known_hosts (\(knownHosts)) "
                + "pins \(pinned) for it; refused: the server's key changed or someone is in between; confirm with the partner"
        case .knownHostsUnreadable(let path, let reason):
            return "the known_hosts file \(path) cannot be read: \(reason); no SFTP server is trusted without it"
        case .connectFailed(let endpoint, let reason):
            return "cannot connect to the SFTP server \(endpoint): \(reason)"
        case .timedOut(let endpoint, let doing, let seconds):
            return "the SFTP server \(endpoint) did not answer within \(Self.seconds(seconds)) s while \(doing)"
        case .authenticationFailed(let endpoint, let user, let keyPath, let reason):
            return "the SFTP server \(endpoint) did not accept \(user) with the key \(keyPath): \(reason)"
        case .passphraseUnavailable(let source, let reason):
            return "the private key's passphrase cannot be read from \(source): \(reason)"
        case .connectionLost(let endpoint, let doing, let reason):
            return "the connection to the SFTP server \(endpoint) broke while \(doing): \(reason)"
        case .remoteFailed(let endpoint, let doing, let path, let reason):
            return "the SFTP server \(endpoint) refused \(doing) \(path): \(reason)"
        case .sizeMismatch(let endpoint, let path, let expected, let transferred):
            return "\(path) on the SFTP server \(endpoint) has \(expected) bytes but \(transferred) were transferred; "
                + "the file was not taken"
        case .unsafeRemoteName(let name, let reason):
            return "the remote name '\(name)' is refused: \(reason)"
        case .localFailed(let path, let reason):
            return "\(path): \(reason)"
        }
    }

    /// Whether trying again later may succeed: the network and the server's state, yes;
    /// host keys, logins, unsafe names and missing passphrases, no (they need a person).
    public var isRetryable: Bool {
        switch self {
        case .connectFailed, .timedOut, .connectionLost, .sizeMismatch: return true
        case .hostKeyUnknown, .hostKeyMismatch, .knownHostsUnreadable, .authenticationFailed,
             .passphraseUnavailable, .remoteFailed, .unsafeRemoteName, .localFailed: return false
        }
    }

    /// Whether the connection this error came from can be used again.
    var leavesConnectionUsable: Bool {
        switch self {
        case .remoteFailed, .unsafeRemoteName, .localFailed: return true
        default: return false
        }
    }

    private static func seconds(_ value: Double) -> String {
        value == value.rounded() ? String(Int(value)) : String(format: "%.1f", value)
    }
}
