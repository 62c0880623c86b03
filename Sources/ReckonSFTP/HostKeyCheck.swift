import CLibSSH2
import Crypto
import Foundation

/// The server's host key checked against known_hosts, as OpenSSH checks it: the entry for
/// `host` (port 22) or `[host]:port`, plain or hashed. A match passes; no entry, or an
/// entry with another key, is refused — there is no "accept new keys" mode.
enum HostKeyCheck {
    /// The presented key's fingerprint when known_hosts pins exactly it.
    static func verify(session: OpaquePointer, endpoint: SFTPEndpoint, knownHostsPath: String) throws(SFTPError) -> String {
        var length = 0
        var type: Int32 = 0
        guard let key = libssh2_session_hostkey(session, &length, &type), length > 0 else {
            throw .connectFailed(endpoint: endpoint.description, reason: "the server presented no host key")
        }
        let presented = fingerprint(UnsafeRawBufferPointer(start: key, count: length))
        let hosts = try readKnownHosts(session: session, path: knownHostsPath)
        defer { libssh2_knownhost_free(hosts) }
        let typemask = LIBSSH2_KNOWNHOST_TYPE_PLAIN | LIBSSH2_KNOWNHOST_KEYENC_RAW | knownHostKeyBits(type)
        var entry: UnsafeMutablePointer<libssh2_knownhost>?
        let result = libssh2_knownhost_checkp(hosts, endpoint.host, Int32(endpoint.port), key, length, typemask, &entry)
        switch result {
        case LIBSSH2_KNOWNHOST_CHECK_MATCH:
            return presented
        case LIBSSH2_KNOWNHOST_CHECK_MISMATCH:
            let pinned = entry.flatMap { $0.pointee.key }.flatMap { Data(base64Encoded: String(cString: $0)) }
                .map { data in data.withUnsafeBytes { fingerprint($0) } } ?? "another key"
            throw .hostKeyMismatch(endpoint: endpoint.description, pinned: pinned, presented: presented,
                                   keyType: keyTypeName(type), knownHosts: knownHostsPath)
        case LIBSSH2_KNOWNHOST_CHECK_NOTFOUND:
            throw .hostKeyUnknown(endpoint: endpoint.description, presented: presented, keyType: keyTypeName(type),
                                  knownHosts: knownHostsPath)
        default:
            throw .knownHostsUnreadable(path: knownHostsPath, reason: "the host key could not be checked against it")
        }
    }

    /// The host key algorithms known_hosts has plain entries of for this endpoint, to ask
    /// the server for one of those (a server with several keys otherwise offers the one
    /// libssh2 likes best, which may not be the pinned one); nil when it has none.
    static func pinnedAlgorithms(session: OpaquePointer, endpoint: SFTPEndpoint, knownHostsPath: String) -> String? {
        guard let hosts = try? readKnownHosts(session: session, path: knownHostsPath) else { return nil }
        defer { libssh2_knownhost_free(hosts) }
        let names: Set<String> = endpoint.port == 22 ? [endpoint.host, "[\(endpoint.host)]:22"] : ["[\(endpoint.host)]:\(endpoint.port)"]
        var algorithms: [String] = []
        var previous: UnsafeMutablePointer<libssh2_knownhost>?
        var current: UnsafeMutablePointer<libssh2_knownhost>?
        while libssh2_knownhost_get(hosts, &current, previous) == 0, let entry = current {
            if let name = entry.pointee.name, names.contains(String(cString: name)) {
                for algorithm in algorithmNames(knownHostTypemask: entry.pointee.typemask) where !algorithms.contains(algorithm) {
                    algorithms.append(algorithm)
                }
            }
            previous = entry
        }
        return algorithms.isEmpty ? nil : algorithms.joined(separator: ",")
    }

    /// OpenSSH's form: `SHA256:` and the digest in base64 without padding.
    static func fingerprint(_ keyBlob: UnsafeRawBufferPointer) -> String {
        let digest = Data(SHA256.hash(data: keyBlob))
        var text = digest.base64EncodedString()
        while text.hasSuffix("=") { text.removeLast() }
        return "SHA256:" + text
    }

    private static func readKnownHosts(session: OpaquePointer, path: String) throws(SFTPError) -> OpaquePointer {
        guard FileManager.default.isReadableFile(atPath: path) else {
            throw .knownHostsUnreadable(path: path, reason: FileManager.default.fileExists(atPath: path) ? "permission denied" : "no such file")
        }
        guard let hosts = libssh2_knownhost_init(session) else {
            throw .knownHostsUnreadable(path: path, reason: "libssh2 could not start reading it")
        }
        if libssh2_knownhost_readfile(hosts, path, LIBSSH2_KNOWNHOST_FILE_OPENSSH) < 0 {
            libssh2_knownhost_free(hosts)
            throw .knownHostsUnreadable(path: path, reason: "a line in it is not a host key libssh2 reads (ssh-ed25519, ecdsa-sha2-*, ssh-rsa)")
        }
        return hosts
    }

    private static func knownHostKeyBits(_ hostKeyType: Int32) -> Int32 {
        switch hostKeyType {
        case LIBSSH2_HOSTKEY_TYPE_RSA: return LIBSSH2_KNOWNHOST_KEY_SSHRSA
        case LIBSSH2_HOSTKEY_TYPE_DSS: return LIBSSH2_KNOWNHOST_KEY_SSHDSS
        case LIBSSH2_HOSTKEY_TYPE_ECDSA_256: return LIBSSH2_KNOWNHOST_KEY_ECDSA_256
        case LIBSSH2_HOSTKEY_TYPE_ECDSA_384: return LIBSSH2_KNOWNHOST_KEY_ECDSA_384
        case LIBSSH2_HOSTKEY_TYPE_ECDSA_521: return LIBSSH2_KNOWNHOST_KEY_ECDSA_521
        case LIBSSH2_HOSTKEY_TYPE_ED25519: return LIBSSH2_KNOWNHOST_KEY_ED25519
        default: return LIBSSH2_KNOWNHOST_KEY_UNKNOWN
        }
    }

    static func keyTypeName(_ hostKeyType: Int32) -> String {
        switch hostKeyType {
        case LIBSSH2_HOSTKEY_TYPE_RSA: return "ssh-rsa"
        case LIBSSH2_HOSTKEY_TYPE_DSS: return "ssh-dss"
        case LIBSSH2_HOSTKEY_TYPE_ECDSA_256: return "ecdsa-sha2-nistp256"
        case LIBSSH2_HOSTKEY_TYPE_ECDSA_384: return "ecdsa-sha2-nistp384"
        case LIBSSH2_HOSTKEY_TYPE_ECDSA_521: return "ecdsa-sha2-nistp521"
        case LIBSSH2_HOSTKEY_TYPE_ED25519: return "ssh-ed25519"
        default: return "an unknown key type"
        }
    }

    private static func algorithmNames(knownHostTypemask: Int32) -> [String] {
        switch knownHostTypemask & LIBSSH2_KNOWNHOST_KEY_MASK {
        case LIBSSH2_KNOWNHOST_KEY_ED25519: return ["ssh-ed25519"]
        case LIBSSH2_KNOWNHOST_KEY_ECDSA_256: return ["ecdsa-sha2-nistp256"]
        case LIBSSH2_KNOWNHOST_KEY_ECDSA_384: return ["ecdsa-sha2-nistp384"]
        case LIBSSH2_KNOWNHOST_KEY_ECDSA_521: return ["ecdsa-sha2-nistp521"]
        case LIBSSH2_KNOWNHOST_KEY_SSHRSA: return ["rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"]
        default: return []
        }
    }
}
