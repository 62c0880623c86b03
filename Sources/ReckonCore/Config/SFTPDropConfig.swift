/// A partner's SFTP drop (`drop: {folder: …, sftp: {…}}` in reckon.yaml): the server the
/// partner puts files on, fetched into the partner's local drop folder before the local
/// collect rules run. There is no setting that trusts an unknown host key or takes a
/// password or passphrase written in the file.
public struct SFTPDropConfig: Sendable, Equatable {
    /// Where a key's passphrase is read from.
    public enum PassphraseSource: Sendable, Equatable {
        case file(String)
        case environment(String)
    }

    public let host: String
    public let port: Int
    public let user: String
    /// The private key (ed25519 recommended; RSA and ECDSA are read too).
    public let keyPath: String
    /// The OpenSSH known_hosts file that pins the server's host key.
    public let knownHostsPath: String
    /// The folder on the server the partner's files are in.
    public let remotePath: String
    public let passphrase: PassphraseSource?
    /// A folder under `remotePath` picked files are moved to once fetched; nil leaves them.
    public let doneFolder: String?
    public let connectTimeoutSeconds: Int
    public let readTimeoutSeconds: Int

    public init(host: String, port: Int = 22, user: String, keyPath: String, knownHostsPath: String, remotePath: String = ".",
                passphrase: PassphraseSource? = nil, doneFolder: String? = nil, connectTimeoutSeconds: Int = 15,
                readTimeoutSeconds: Int = 30) {
        self.host = host
        self.port = port
        self.user = user
        self.keyPath = keyPath
        self.knownHostsPath = knownHostsPath
        self.remotePath = remotePath
        self.passphrase = passphrase
        self.doneFolder = doneFolder
        self.connectTimeoutSeconds = connectTimeoutSeconds
        self.readTimeoutSeconds = readTimeoutSeconds
    }
}

extension SFTPDropConfig {
    static let keys = ["host", "port", "user", "key", "known_hosts", "path", "passphrase", "done",
                       "connect_timeout_seconds", "read_timeout_seconds"]

    /// The `sftp:` mapping of a partner's drop, checked; paths resolved by `path`.
    static func load(_ node: SpecNode, path: (String) -> String) throws(SpecError) -> SFTPDropConfig {
        let map = try node.mapping(allowed: keys)
        let hostNode = try map.required("host")
        let host = try hostNode.string()
        guard !host.isEmpty, !host.contains(where: { $0.isWhitespace || $0 == "/" || $0 == "@" }) else {
            throw hostNode.error("'\(host)' is not a host name or address")
        }
        let userNode = try map.required("user")
        let user = try userNode.string()
        guard !user.isEmpty, !user.contains(where: { $0.isWhitespace || $0 == "@" || $0 == ":" }) else {
            throw userNode.error("'\(user)' is not a user name")
        }
        var passphrase: PassphraseSource?
        if let node = map["passphrase"] {
            guard !node.isScalar else {
                throw node.error("a passphrase is never written in reckon.yaml: give {file: PATH} or {env: NAME}")
            }
            let source = try node.mapping(allowed: ["file", "env"])
            switch (source["file"], source["env"]) {
            case (let file?, nil): passphrase = .file(path(try file.string()))
            case (nil, let env?):
                let name = try env.string()
                guard let first = name.first, first == "_" || (first.isASCII && first.isLetter),
                      name.allSatisfy({ $0 == "_" || ($0.isASCII && ($0.isLetter || $0.isNumber)) }) else {
                    throw env.error("'\(name)' is not an environment variable name")
                }
                passphrase = .environment(name)
            default: throw node.error("give one of file: PATH or env: NAME")
            }
        }
        var done: String?
        if let node = map["done"] {
            let name = try node.string()
            guard !name.isEmpty, name != ".", name != "..", !name.contains("/") else {
                throw node.error("'\(name)' is not a folder name (one name, under the drop's path)")
            }
            done = name
        }
        return SFTPDropConfig(host: host, port: try map["port"]?.int(in: 1...65_535) ?? 22, user: user,
                              keyPath: path(try map.required("key").string()),
                              knownHostsPath: path(try map.required("known_hosts").string()),
                              remotePath: try map["path"]?.string() ?? ".", passphrase: passphrase, doneFolder: done,
                              connectTimeoutSeconds: try map["connect_timeout_seconds"]?.int(in: 1...3600) ?? 15,
                              readTimeoutSeconds: try map["read_timeout_seconds"]?.int(in: 1...3600) ?? 30)
    }
}
