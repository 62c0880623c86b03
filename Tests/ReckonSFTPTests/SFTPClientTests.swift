import Foundation
import ReckonSFTP
import Testing
import CLibSSH2

let libssh2SignsRSAWithSHA1 = libssh2_version(0x010B00) == nil

/// A server, a user key and a client for one test, with the client's log kept.
final class SFTPFixture {
    let scratch: Scratch
    let userKey: KeyPair
    let server: TestSSHServer
    /// The server's side: a partner's drop.
    let remote: String
    /// reckon's side: the local drop folder.
    let local: String
    private(set) var logLines: [String] = []

    init(keyType: String = "ed25519", passphrase: String = "", serverConfig: String = "") throws {
        scratch = try Scratch()
        let keys = try scratch.folder("keys")
        userKey = try KeyPair(in: keys, name: "reckon_\(keyType)", type: keyType, passphrase: passphrase)
        server = try TestSSHServer(scratch: scratch, userKeys: [userKey], extraConfig: serverConfig)
        remote = try scratch.folder("remote")
        local = try scratch.folder("local")
    }

    func settings(knownHosts: String? = nil, passphrase: PassphraseSource? = nil,
                  timeouts: SFTPTimeouts = SFTPTimeouts(connectTimeoutSeconds: 10, readTimeoutSeconds: 10)) throws -> SFTPSettings {
        SFTPSettings(endpoint: server.endpoint,
                     credentials: SFTPCredentials(user: server.user, privateKeyPath: userKey.privatePath, passphrase: passphrase),
                     knownHostsPath: try knownHosts ?? server.knownHosts(), timeouts: timeouts)
    }

    func client(_ settings: SFTPSettings? = nil, chunkBytes: Int = 64 * 1024, environment: [String: String] = [:],
                clock: MonotonicClock = .system) throws -> SFTPClient {
        SFTPClient(settings: try settings ?? self.settings(), chunkBytes: chunkBytes, environment: environment, clock: clock) {
            [self] line in logLines.append(line)
        }
    }

    /// The platform's `drop:` in reckon.yaml, fetching from this server with `knownHosts`
    /// pinned (the server's own key by default).
    func platformDrop(knownHosts: String? = nil) throws -> String {
        """
                drop:
                  folder: \(local)
                  sftp:
                    host: 127.0.0.1
                    port: \(server.port)
                    user: \(server.user)
                    key: \(userKey.privatePath)
                    known_hosts: \(try knownHosts ?? server.knownHosts())
                    path: \(remote)

            """
    }

    /// Writes a file on the server's side.
    func put(_ name: String, _ bytes: [UInt8]) throws {
        try Data(bytes).write(to: URL(fileURLWithPath: remote + "/" + name))
    }

    func localNames() throws -> [String] { try FileManager.default.contentsOfDirectory(atPath: local).sorted() }
    func remoteNames() throws -> [String] { try FileManager.default.contentsOfDirectory(atPath: remote).sorted() }
}

/// Deterministic bytes of any length (not compressible to nothing, not all alike).
func sampleBytes(_ count: Int, seed: UInt64 = 7) -> [UInt8] {
    var state = seed
    return (0..<count).map { _ in
        state = state &* 6364136223846793005 &+ 1442695040888963407
        return UInt8(truncatingIfNeeded: state >> 56)
    }
}

@Suite("SFTP against a real sshd", .serialized, .enabled(if: TestSSHServer.unavailable == nil, "sshd is not installed"))
struct SFTPClientTests {
    @Test func pullsAFile() throws {
        let fixture = try SFTPFixture()
        let bytes = sampleBytes(300_000)
        try fixture.put("PLAT_REPAY_20241216.csv", bytes)
        try fixture.put("notes.txt", Array("hello\n".utf8))
        try FileManager.default.createDirectory(atPath: fixture.remote + "/done", withIntermediateDirectories: true)
        let client = try fixture.client()

        let listing = try client.list(folder: fixture.remote)
        #expect(listing.files.map(\.name) == ["PLAT_REPAY_20241216.csv", "notes.txt"])
        #expect(listing.files.map(\.sizeBytes) == [300_000, 6])
        #expect(listing.refused.isEmpty)

        let file = try client.download("PLAT_REPAY_20241216.csv", from: fixture.remote, into: fixture.local)
        #expect(file == DownloadedFile(remotePath: fixture.remote + "/PLAT_REPAY_20241216.csv",
                                       localPath: fixture.local + "/PLAT_REPAY_20241216.csv", sizeBytes: 300_000))
        #expect(Array(try Data(contentsOf: URL(fileURLWithPath: file.localPath))) == bytes)
        #expect(try fixture.localNames() == ["PLAT_REPAY_20241216.csv"])
    }

    @Test func pushesAFileUnderATemporaryNameThenRenamesIt() throws {
        let fixture = try SFTPFixture()
        let first = sampleBytes(200_000, seed: 1)
        let source = fixture.local + "/SETTLE_20241216.csv"
        try Data(first).write(to: URL(fileURLWithPath: source))
        let client = try fixture.client()

        let uploaded = try client.upload(source, to: fixture.remote, as: "SETTLE_20241216.csv")
        #expect(uploaded == UploadedFile(remotePath: fixture.remote + "/SETTLE_20241216.csv", sizeBytes: 200_000))
        #expect(Array(try Data(contentsOf: URL(fileURLWithPath: uploaded.remotePath))) == first)
        #expect(try fixture.remoteNames() == ["SETTLE_20241216.csv"])

        // A second version replaces the first whole (OpenSSH will not rename onto a name).
        let second = sampleBytes(123_456, seed: 2)
        try Data(second).write(to: URL(fileURLWithPath: source))
        _ = try client.upload(source, to: fixture.remote, as: "SETTLE_20241216.csv")
        #expect(Array(try Data(contentsOf: URL(fileURLWithPath: uploaded.remotePath))) == second)
        #expect(try fixture.remoteNames() == ["SETTLE_20241216.csv"])
    }

    @Test func anUploadIsNotVisibleUnderItsNameUntilComplete() throws {
        let fixture = try SFTPFixture()
        let source = fixture.local + "/OUT.csv"
        try Data(sampleBytes(1_000_000)).write(to: URL(fileURLWithPath: source))
        let client = try fixture.client()
        var seen: [[String]] = []
        _ = try client.upload(source, to: fixture.remote, as: "OUT.csv") { _ in
            if seen.count < 2 { seen.append((try? fixture.remoteNames()) ?? []) }
        }
        #expect(seen == [[".OUT.csv.partial"], [".OUT.csv.partial"]])
        #expect(try fixture.remoteNames() == ["OUT.csv"])
    }

    @Test func anotherHostKeyIsRefusedNamingBothFingerprints() throws {
        let fixture = try SFTPFixture()
        let impostor = try KeyPair(in: fixture.scratch.folder("other"), name: "other_host")
        let knownHosts = try fixture.server.knownHosts(pinning: impostor)
        let client = try fixture.client(fixture.settings(knownHosts: knownHosts))
        let port = fixture.server.port
        let error = try #require(throws: SFTPError.self) { try client.list(folder: fixture.remote) }
        let presented = try fixture.server.hostKey.fingerprint
        let pinned = try impostor.fingerprint
        #expect(error == .hostKeyMismatch(endpoint: "127.0.0.1:\(port)", pinned: pinned, presented: presented,
                                          keyType: "ssh-ed25519", knownHosts: knownHosts))
        #expect(error.description == "the SFTP server 127.0.0.1:\(port) presented the host key \(presented) (ssh-ed25519), "
            + "but known_hosts (\(knownHosts)) pins \(pinned) for it; refused: the server's key changed or someone is in between; "
            + "confirm with the partner")
        #expect(!error.isRetryable)
    }

    @Test func anUnknownHostIsRefused() throws {
        let fixture = try SFTPFixture()
        // known_hosts knows this key, but for another host.
        let knownHosts = try fixture.server.knownHosts(host: "127.0.0.2")
        let client = try fixture.client(fixture.settings(knownHosts: knownHosts))
        let error = try #require(throws: SFTPError.self) { try client.list(folder: fixture.remote) }
        let presented = try fixture.server.hostKey.fingerprint
        #expect(error.description == "the SFTP server 127.0.0.1:\(fixture.server.port) presented the host key \(presented) "
            + "(ssh-ed25519), which is not in known_hosts (\(knownHosts)); refused: add the server's key there once its "
            + "fingerprint is confirmed with the partner")

        let missing = fixture.scratch.path + "/no_known_hosts"
        let without = try fixture.client(fixture.settings(knownHosts: missing))
        #expect(throws: SFTPError.knownHostsUnreadable(path: missing, reason: "no such file")) { try without.list(folder: fixture.remote) }
    }

    @Test func aHostKeyPinnedInHashedFormIsAccepted() throws {
        let fixture = try SFTPFixture()
        let knownHosts = try fixture.server.knownHosts()
        try run(TestSSHServer.keygen, ["-H", "-f", knownHosts])
        #expect(try String(contentsOfFile: knownHosts, encoding: .utf8).hasPrefix("|1|"))
        let client = try fixture.client(fixture.settings(knownHosts: knownHosts))
        #expect(try client.list(folder: fixture.remote).files.isEmpty)
    }

    @Test func logsInWithAnRSAKey() throws {
        // libssh2 1.10 (Debian 12) signs with RSA keys as ssh-rsa (SHA-1), which OpenSSH 8.8
        // and later accept only when told to.
        let fixture = try SFTPFixture(keyType: "rsa", serverConfig: "PubkeyAcceptedAlgorithms +ssh-rsa")
        try fixture.put("a.csv", Array("x\n".utf8))
        let client = try fixture.client()
        #expect(try client.list(folder: fixture.remote).files.map(\.name) == ["a.csv"])
    }

    @Test func anRSAKeyRefusedForSHA1SaysWhy() throws {
        let fixture = try SFTPFixture(keyType: "rsa")
        let client = try fixture.client()
        if libssh2SignsRSAWithSHA1 {
            let error = try #require(throws: SFTPError.self) { try client.list(folder: fixture.remote) }
            #expect(error.description == "the SFTP server 127.0.0.1:\(fixture.server.port) did not accept \(fixture.server.user) "
                + "with the key \(fixture.userKey.privatePath): the server refused the key (libssh2 before 1.11 signs with RSA "
                + "keys as ssh-rsa, with SHA-1, which OpenSSH 8.8 and later refuse by default: use an ed25519 key, or have the "
                + "server accept ssh-rsa)")
        } else {
            #expect(try client.list(folder: fixture.remote).files.isEmpty)
        }
    }
}
