import Foundation
import ReckonSFTP
import Testing

@Suite("SFTP failures against a real sshd", .serialized, .enabled(if: TestSSHServer.unavailable == nil, "sshd is not installed"))
struct SFTPFailureTests {
    @Test func theServerStoppedMidTransferThenTheRetryFetchesTheWholeFile() throws {
        let fixture = try SFTPFixture()
        let bytes = sampleBytes(3_000_000)
        try fixture.put("PLAT_REPAY_20241216.csv", bytes)
        let client = try fixture.client(chunkBytes: 64 * 1024)
        var killed = false
        var localAtRetry: [String] = []
        // "While sleeping" before the retry: note what the drop holds, start the server again.
        let sleeper = RecordingSleeper { _ in
            localAtRetry = (try? fixture.localNames()) ?? ["?"]
            try? fixture.server.start()
        }
        var failures: [SFTPError] = []
        let policy = RetryPolicy(maxAttempts: 3, initialDelaySeconds: 1, multiplier: 2, maxDelaySeconds: 8)
        let file = try policy.run(sleeper: sleeper, onRetry: { _, error, _ in failures.append(error) }) { _ throws(SFTPError) in
            try client.download("PLAT_REPAY_20241216.csv", from: fixture.remote, into: fixture.local) { _ in
                // After the first chunk: the server goes, with every session it had.
                if !killed {
                    killed = true
                    fixture.server.stop()
                }
            }
        }
        #expect(killed)
        #expect(failures.count == 1)
        // The connection breaks ("Failure while draining incoming flow"), or the read ends
        // early and the size check catches it; either is tried again.
        let endpoint = fixture.server.endpoint.description
        #expect(failures.allSatisfy { error in
            if case .connectionLost(endpoint, "downloading", _) = error { return true }
            if case .sizeMismatch(endpoint, _, 3_000_000, _) = error { return true }
            return false
        }, "\(failures)")
        #expect(sleeper.pauses == [1])
        // Nothing under the final name, and no temporary file, after the broken try.
        #expect(localAtRetry == [])
        #expect(file.sizeBytes == 3_000_000)
        #expect(Array(try Data(contentsOf: URL(fileURLWithPath: file.localPath))) == bytes)
        #expect(try fixture.localNames() == ["PLAT_REPAY_20241216.csv"])
    }

    @Test func aFileThatShrinksWhileDownloadingIsNotTaken() throws {
        let fixture = try SFTPFixture()
        let name = "PLAT_REPAY_20241216.csv"
        try fixture.put(name, sampleBytes(4_000_000))
        let client = try fixture.client(chunkBytes: 64 * 1024)
        var cut = false
        let error = try #require(throws: SFTPError.self) {
            try client.download(name, from: fixture.remote, into: fixture.local) { _ in
                // The partner rewrites the file under reckon's feet.
                if !cut {
                    cut = true
                    truncate(fixture.remote + "/" + name, 1_000_000)
                }
            }
        }
        guard case .sizeMismatch(let endpoint, let path, let expected, let transferred) = error else {
            Issue.record("\(error)")
            return
        }
        #expect(endpoint == fixture.server.endpoint.description)
        #expect(path == fixture.remote + "/" + name)
        #expect(expected == 4_000_000)
        #expect(transferred < expected)
        #expect(error.isRetryable)
        #expect(try fixture.localNames() == [])
    }

    @Test func aSilentServerTimesOutTheHandshake() throws {
        // A port that accepts connections (the kernel's backlog) but never says a word.
        let listener = try SilentListener()
        let fixture = try SFTPFixture()
        var settings = try fixture.settings()
        settings = SFTPSettings(endpoint: SFTPEndpoint(host: "127.0.0.1", port: listener.port), credentials: settings.credentials,
                                knownHostsPath: settings.knownHostsPath,
                                timeouts: SFTPTimeouts(connectTimeoutSeconds: 0.2, readTimeoutSeconds: 10))
        let client = try fixture.client(settings)
        #expect(throws: SFTPError.timedOut(endpoint: "127.0.0.1:\(listener.port)", doing: "doing the SSH handshake", seconds: 0.2)) {
            try client.list(folder: fixture.remote)
        }
        #expect(SFTPError.timedOut(endpoint: "127.0.0.1:1", doing: "doing the SSH handshake", seconds: 0.2).description
            == "the SFTP server 127.0.0.1:1 did not answer within 0.2 s while doing the SSH handshake")
    }

    @Test func aServerThatStopsAnsweringTimesOutTheRead() throws {
        let fixture = try SFTPFixture()
        let client = try fixture.client(fixture.settings(timeouts: SFTPTimeouts(connectTimeoutSeconds: 10, readTimeoutSeconds: 0.2)))
        #expect(try client.list(folder: fixture.remote).files.isEmpty)
        fixture.server.pauseSessions()
        defer { fixture.server.resumeSessions() }
        let error = try #require(throws: SFTPError.self) { try client.list(folder: fixture.remote) }
        #expect(error == .timedOut(endpoint: fixture.server.endpoint.description, doing: "listing", seconds: 0.2))
        #expect(error.isRetryable)
    }

    @Test func aServerSilentMidDownloadTimesOutAndLeavesNoFile() throws {
        let fixture = try SFTPFixture()
        try fixture.put("BIG.csv", sampleBytes(2_000_000))
        let client = try fixture.client(fixture.settings(timeouts: SFTPTimeouts(connectTimeoutSeconds: 10, readTimeoutSeconds: 0.2)),
                                        chunkBytes: 64 * 1024)
        var paused = false
        defer { fixture.server.resumeSessions() }
        let error = try #require(throws: SFTPError.self) {
            try client.download("BIG.csv", from: fixture.remote, into: fixture.local) { _ in
                if !paused {
                    paused = true
                    fixture.server.pauseSessions()
                }
            }
        }
        #expect(error == .timedOut(endpoint: fixture.server.endpoint.description, doing: "downloading \(fixture.remote)/BIG.csv",
                                   seconds: 0.2))
        #expect(try fixture.localNames() == [])
        // The next request connects again (the server answers again by then).
        fixture.server.resumeSessions()
        #expect(try client.list(folder: fixture.remote).files.map(\.name) == ["BIG.csv"])
        #expect(fixture.logLines.filter { $0.contains(": connected as ") }.count == 2)
    }

    @Test func aConnectionIdlePastItsDeadlineIsMadeAgain() throws {
        let fixture = try SFTPFixture()
        let time = TestClock()
        let client = try fixture.client(fixture.settings(timeouts: SFTPTimeouts(idleTimeoutSeconds: 60)), clock: time.clock)
        func connections() -> Int { fixture.logLines.filter { $0.contains(": connected as ") }.count }
        _ = try client.list(folder: fixture.remote)
        time.advance(seconds: 60)
        _ = try client.list(folder: fixture.remote)
        #expect(connections() == 1)
        time.advance(seconds: 60.5)
        _ = try client.list(folder: fixture.remote)
        #expect(connections() == 2)
    }

    @Test func remoteNamesThatWouldLeaveTheDropAreRefused() throws {
        let fixture = try SFTPFixture()
        // On the server, a file beside the drop folder, which "../" would reach.
        try Data("secret\n".utf8).write(to: URL(fileURLWithPath: fixture.scratch.path + "/secret.csv"))
        let client = try fixture.client()
        let cases: [(String, SFTPError)] = [
            ("../secret.csv", .unsafeRemoteName(name: "../secret.csv",
                                                reason: "it is a path, not a plain file name (it could leave the drop folder)")),
            ("/etc/passwd", .unsafeRemoteName(name: "/etc/passwd", reason: "it is an absolute path")),
            ("..", .unsafeRemoteName(name: "..", reason: "it names a folder, not a file")),
            ("a\u{0}b.csv", .unsafeRemoteName(name: "a\\u{0}b.csv", reason: "it contains a control character")),
            ("x\ny.csv", .unsafeRemoteName(name: "x\\u{A}y.csv", reason: "it contains a control character")),
            ("", .unsafeRemoteName(name: "", reason: "it is empty")),
        ]
        for (name, expected) in cases {
            #expect(throws: expected) { try client.download(name, from: fixture.remote, into: fixture.local) }
        }
        #expect(SFTPError.unsafeRemoteName(name: "../secret.csv", reason: "it is a path, not a plain file name (it could leave "
            + "the drop folder)").description == "the remote name '../secret.csv' is refused: it is a path, not a plain file "
            + "name (it could leave the drop folder)")
        #expect(try fixture.localNames() == [])
        #expect(!FileManager.default.fileExists(atPath: fixture.local + "/../secret.csv.copy"))
    }

    @Test func aListingKeepsUnsafeNamesApartAndLeavesLinksOut() throws {
        let fixture = try SFTPFixture()
        try fixture.put("good.csv", Array("a\n".utf8))
        try fixture.put("evil\nname.csv", Array("b\n".utf8))
        // A name that is not UTF-8, made with the raw bytes.
        let raw = Array((fixture.remote + "/bad").utf8) + [0xFF] + Array(".csv".utf8) + [0]
        let descriptor = raw.withUnsafeBufferPointer { open(UnsafeRawPointer($0.baseAddress!).assumingMemoryBound(to: CChar.self), O_CREAT | O_WRONLY, 0o644) }
        close(descriptor)
        try FileManager.default.createSymbolicLink(atPath: fixture.remote + "/link.csv", withDestinationPath: "/etc/passwd")
        try FileManager.default.createDirectory(atPath: fixture.remote + "/done", withIntermediateDirectories: true)
        let listing = try fixture.client().list(folder: fixture.remote)
        #expect(listing.files.map(\.name) == ["good.csv"])
        #expect(Set(listing.refused.map(\.description)) == [
            "the remote name 'evil\\u{A}name.csv' is refused: it contains a control character",
            "the remote name 'bad\\xFF.csv' is refused: it is not UTF-8",
        ])
    }

    @Test func pickedFilesMoveToDone() throws {
        let fixture = try SFTPFixture()
        try fixture.put("A.csv", Array("one\n".utf8))
        let client = try fixture.client()
        #expect(try client.moveToDone("A.csv", in: fixture.remote) == fixture.remote + "/done/A.csv")
        // The same name sent again and picked again: the earlier one stays.
        try fixture.put("A.csv", Array("two\n".utf8))
        let second = try client.moveToDone("A.csv", in: fixture.remote)
        #expect(second.hasPrefix(fixture.remote + "/done/A.csv.") && second.hasSuffix("Z"))
        #expect(try fixture.remoteNames() == ["done"])
        #expect(try String(contentsOfFile: fixture.remote + "/done/A.csv", encoding: .utf8) == "one\n")
        #expect(try String(contentsOfFile: second, encoding: .utf8) == "two\n")
    }
}

@Suite("SFTP keys and secrets against a real sshd", .serialized, .enabled(if: TestSSHServer.unavailable == nil, "sshd is not installed"))
struct SFTPSecretTests {
    static let passphrase = "correct horse 7 battery"

    @Test func aPassphraseFromTheEnvironment() throws {
        let fixture = try SFTPFixture(passphrase: Self.passphrase)
        let client = try fixture.client(fixture.settings(passphrase: .environment("RECKON_SFTP_KEY_PASSPHRASE")),
                                        environment: ["RECKON_SFTP_KEY_PASSPHRASE": Self.passphrase])
        #expect(try client.list(folder: fixture.remote).files.isEmpty)
        #expect(!fixture.logLines.isEmpty)
        #expect(fixture.logLines.allSatisfy { !$0.contains(Self.passphrase) })
    }

    @Test func aPassphraseFromAFile() throws {
        let fixture = try SFTPFixture(passphrase: Self.passphrase)
        let file = fixture.scratch.path + "/key.passphrase"
        try (Self.passphrase + "\n").write(toFile: file, atomically: true, encoding: .utf8)
        let client = try fixture.client(fixture.settings(passphrase: .file(file)))
        #expect(try client.list(folder: fixture.remote).files.isEmpty)
    }

    @Test func noSecretInAnErrorOrALogLine() throws {
        let fixture = try SFTPFixture(passphrase: Self.passphrase)
        let wrong = "not-the-passphrase-42"
        let client = try fixture.client(fixture.settings(passphrase: .environment("PASS")), environment: ["PASS": wrong])
        let error = try #require(throws: SFTPError.self) { try client.list(folder: fixture.remote) }
        #expect(error == .authenticationFailed(endpoint: fixture.server.endpoint.description, user: fixture.server.user,
                                               keyPath: fixture.userKey.privatePath,
                                               reason: "the key cannot be unlocked (a wrong passphrase, or not an ed25519, ECDSA or RSA private key)"))
        // The key file's lines (its base64 body) and either passphrase appear nowhere.
        let keyLines = try String(contentsOfFile: fixture.userKey.privatePath, encoding: .utf8)
            .split(separator: "\n").filter { !$0.hasPrefix("-----") }.map(String.init)
        #expect(keyLines.count > 3)
        let said = [error.description, String(reflecting: error)] + fixture.logLines
        for text in said {
            #expect(!text.contains(wrong) && !text.contains(Self.passphrase))
            for line in keyLines { #expect(!text.contains(line)) }
        }

        let unset = try fixture.client(fixture.settings(passphrase: .environment("RECKON_UNSET_PASSPHRASE")))
        #expect(throws: SFTPError.passphraseUnavailable(source: "the environment variable RECKON_UNSET_PASSPHRASE", reason: "it is not set")) {
            try unset.list(folder: fixture.remote)
        }
    }

    @Test func aKeyWithoutItsPassphraseIsRefusedSayingSo() throws {
        let fixture = try SFTPFixture(passphrase: Self.passphrase)
        let error = try #require(throws: SFTPError.self) { try fixture.client().list(folder: fixture.remote) }
        #expect(error.description == "the SFTP server \(fixture.server.endpoint) did not accept \(fixture.server.user) with the key "
            + "\(fixture.userKey.privatePath): the key cannot be read (it needs a passphrase, or is not an ed25519, ECDSA or RSA private key)")
        #expect(!error.isRetryable)
    }
}

/// A TCP port on 127.0.0.1 that takes connections into its backlog and never answers.
final class SilentListener {
    let descriptor: Int32
    let port: Int

    init() throws {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        self.descriptor = descriptor
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ready = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(descriptor, $0, length) == 0 && listen(descriptor, 4) == 0 && getsockname(descriptor, $0, &length) == 0
            }
        }
        guard ready else { throw TestSetupError("no listener: \(String(cString: strerror(errno)))") }
        port = Int(UInt16(bigEndian: address.sin_port))
    }

    deinit { close(descriptor) }
}
