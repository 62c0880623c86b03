import Foundation
import ReckonCore
import ReckonFiles
import ReckonSFTP
import Testing

/// reckon.yaml with one partner whose drop is on the fixture's server.
func sftpConfig(_ fixture: SFTPFixture, knownHosts: String, done: Bool) throws -> ReckonConfig {
    let yaml = """
    partners:
      platform:
        role: platform
        drop:
          folder: \(fixture.local)
          sftp:
            host: 127.0.0.1
            port: \(fixture.server.port)
            user: \(fixture.server.user)
            key: \(fixture.userKey.privatePath)
            known_hosts: \(knownHosts)
            path: \(fixture.remote)
    \(done ? "        done: done" : "")
        files:
          loans:
            spec: mappings/platform-loans.yaml
            name: "PLAT_LOAN_{yyyyMMdd}.csv"
            ready: {stable_seconds: 2}
          repayments:
            spec: mappings/platform-repayments.yaml
            name: "PLAT_REPAY_{yyyyMMdd}.csv"
            ready: {marker: "{name}.ok"}
    products:
      CASH:
        description: test
    """
    return try ConfigLoader.load(yaml: yaml, origin: fixture.scratch.path + "/reckon.yaml")
}

@Suite("SFTP drops fetched before the local collect", .serialized, .enabled(if: TestSSHServer.unavailable == nil, "sshd is not installed"))
struct SFTPDropFetcherTests {
    let day = CivilDate(year: 2024, month: 12, day: 16)!

    @Test func theDaysCompleteFilesAreFetchedThenCollectedLocally() throws {
        let fixture = try SFTPFixture()
        let config = try sftpConfig(fixture, knownHosts: try fixture.server.knownHosts(), done: true)
        try fixture.put("PLAT_LOAN_20241216.csv", sampleBytes(5000))
        try fixture.put("PLAT_LOAN_20241215.csv", sampleBytes(10))
        try fixture.put("PLAT_REPAY_20241216.csv", sampleBytes(700))
        try fixture.put("PLAT_REPAY_20241216.csv.ok", [])
        let time = TestClock()
        let sleeper = RecordingSleeper { time.advance(seconds: $0) }
        let fetcher = SFTPDropFetcher(config: config, clock: time.clock, sleeper: sleeper, environment: [:])

        let report = fetcher.fetch(date: day)
        #expect(report.problems == [])
        #expect(report.fetched.map { ($0.localPath as NSString).lastPathComponent }
            == ["PLAT_LOAN_20241216.csv", "PLAT_REPAY_20241216.csv", "PLAT_REPAY_20241216.csv.ok"])
        #expect(sleeper.pauses == [2])
        #expect(report.movedToDone == ["PLAT_LOAN_20241216.csv", "PLAT_REPAY_20241216.csv", "PLAT_REPAY_20241216.csv.ok"]
            .map { fixture.remote + "/done/" + $0 })
        #expect(try fixture.remoteNames() == ["PLAT_LOAN_20241215.csv", "done"])
        #expect(try fixture.localNames() == ["PLAT_LOAN_20241216.csv", "PLAT_REPAY_20241216.csv", "PLAT_REPAY_20241216.csv.ok"])

        // The local collect rules then take them as from any drop.
        let ticks = TestClock()
        let collected = Collector(config: config, maximumWaitSeconds: 30) { ticks.advance(seconds: 1); return ticks.clock.nowNanoseconds() }
            .collect(date: day)
        #expect(collected.ready.map(\.fileType) == ["loans", "repayments"])
        #expect(collected.waiting.isEmpty)

        // Fetched once: the next look finds nothing new.
        #expect(fetcher.fetch(date: day).fetched.isEmpty)
    }

    @Test func theSameFileIsNotFetchedTwiceButANewVersionIs() throws {
        let fixture = try SFTPFixture()
        let config = try sftpConfig(fixture, knownHosts: try fixture.server.knownHosts(), done: false)
        try fixture.put("PLAT_REPAY_20241216.csv", sampleBytes(700))
        try fixture.put("PLAT_REPAY_20241216.csv.ok", [])
        let fetcher = SFTPDropFetcher(config: config, sleeper: RecordingSleeper(), environment: [:])
        #expect(fetcher.fetch(date: day).fetched.count == 2)
        #expect(fetcher.fetch(date: day).fetched.isEmpty)
        // A corrected re-send: as many bytes, another time.
        let corrected = sampleBytes(700, seed: 99)
        try fixture.put("PLAT_REPAY_20241216.csv", corrected)
        var times = [timespec(tv_sec: 1_900_000_000, tv_nsec: 0), timespec(tv_sec: 1_900_000_000, tv_nsec: 0)]
        utimensat(AT_FDCWD, fixture.remote + "/PLAT_REPAY_20241216.csv", &times, 0)
        #expect(fetcher.fetch(date: day).fetched.map(\.remotePath) == [fixture.remote + "/PLAT_REPAY_20241216.csv"])
        #expect(Array(try Data(contentsOf: URL(fileURLWithPath: fixture.local + "/PLAT_REPAY_20241216.csv"))) == corrected)
    }

    /// A look at a drop whose files of the day were all fetched already waits for nothing:
    /// before, every file still on the server was watched again for its stable seconds at
    /// each look (2 s a partner per daemon tick, whatever came).
    @Test func aFileFetchedBeforeIsNotWatchedAgain() throws {
        let fixture = try SFTPFixture()
        let config = try sftpConfig(fixture, knownHosts: try fixture.server.knownHosts(), done: false)
        try fixture.put("PLAT_LOAN_20241216.csv", sampleBytes(5000))
        let time = TestClock()
        let sleeper = RecordingSleeper { time.advance(seconds: $0) }
        let fetcher = SFTPDropFetcher(config: config, clock: time.clock, sleeper: sleeper, environment: [:])
        #expect(fetcher.fetch(date: day).fetched.map(\.remotePath) == [fixture.remote + "/PLAT_LOAN_20241216.csv"])
        #expect(sleeper.pauses == [2])

        let again = fetcher.fetch(date: day)
        #expect(again.fetched.isEmpty)
        #expect(again.waiting.isEmpty)
        #expect(sleeper.pauses == [2])

        // A changed copy on the server is watched (and fetched) as a new one.
        try fixture.put("PLAT_LOAN_20241216.csv", sampleBytes(6000))
        #expect(fetcher.fetch(date: day).fetched.map(\.remotePath) == [fixture.remote + "/PLAT_LOAN_20241216.csv"])
        #expect(sleeper.pauses == [2, 2])
    }

    @Test func aRefusedServerIsAProblemOfTheRunAndNotRetried() throws {
        let fixture = try SFTPFixture()
        let impostor = try KeyPair(in: fixture.scratch.folder("other"), name: "other_host")
        let knownHosts = try fixture.server.knownHosts(pinning: impostor)
        let config = try sftpConfig(fixture, knownHosts: knownHosts, done: false)
        try fixture.put("PLAT_REPAY_20241216.csv", sampleBytes(700))
        let sleeper = RecordingSleeper()
        let report = SFTPDropFetcher(config: config, sleeper: sleeper, environment: [:]).fetch(date: day)
        let presented = try fixture.server.hostKey.fingerprint
        let pinned = try impostor.fingerprint
        #expect(report.problems == ["the SFTP drop of platform: the SFTP server 127.0.0.1:\(fixture.server.port) presented the host "
            + "key \(presented) (ssh-ed25519), but known_hosts (\(knownHosts)) pins \(pinned) for it; refused: the server's key "
            + "changed or someone is in between; confirm with the partner"])
        #expect(report.fetched.isEmpty)
        #expect(sleeper.pauses.isEmpty)
        #expect(try fixture.localNames() == [])
    }

    /// Partners fetched several at a time (as the daemon and `reckon batch` do) give the
    /// report one after the other would: every partner's files, the partners in reckon.yaml's
    /// order, a refused server among them its own problem only.
    @Test func partnersFetchedAtOnceReportAsOneAfterTheOther() throws {
        let fixture = try SFTPFixture()
        let pinned = try fixture.server.knownHosts()
        let impostor = try KeyPair(in: fixture.scratch.folder("other"), name: "other_host")
        let refused = try fixture.server.knownHosts(pinning: impostor)
        let partners = (0..<7).map { "p\($0)" }
        var yaml = "partners:\n"
        for (index, partner) in partners.enumerated() {
            let remote = try fixture.scratch.folder("remote-" + partner)
            for (name, bytes) in [("PLAT_REPAY_20241216.csv", sampleBytes(300 + index, seed: UInt64(index))),
                                  ("PLAT_REPAY_20241216.csv.ok", [])] {
                try Data(bytes).write(to: URL(fileURLWithPath: remote + "/" + name))
            }
            yaml += """
              \(partner):
                role: platform
                drop:
                  folder: \(fixture.local)/\(partner)
                  sftp: {host: 127.0.0.1, port: \(fixture.server.port), user: \(fixture.server.user), key: \(fixture.userKey.privatePath), known_hosts: \(partner == "p3" ? refused : pinned), path: \(remote)}
                files:
                  repayments: {spec: mappings/platform-repayments.yaml, name: "PLAT_REPAY_{yyyyMMdd}.csv", ready: {marker: "{name}.ok"}}

            """
        }
        let config = try ConfigLoader.load(yaml: yaml, origin: fixture.scratch.path + "/reckon.yaml")
        func fetch(_ atOnce: Int) -> SFTPFetchReport {
            for partner in partners { try? FileManager.default.removeItem(atPath: fixture.local + "/" + partner) }
            var fetcher = SFTPDropFetcher(config: config, environment: [:])
            fetcher.partnersAtOnce = atOnce
            return fetcher.fetch(date: day)
        }
        let fetchedAtOnce = fetch(4)
        let oneByOne = fetch(1)
        let accepted = partners.filter { $0 != "p3" }
        let names = ["PLAT_REPAY_20241216.csv", "PLAT_REPAY_20241216.csv.ok"]
        let expectedPaths: [String] = accepted.flatMap { (partner: String) -> [String] in
            names.map { (name: String) -> String in fixture.local + "/" + partner + "/" + name }
        }
        for report in [fetchedAtOnce, oneByOne] {
            #expect(report.fetchedPartners == accepted)
            #expect(report.hostKeyRefusals.map(\.partner) == ["p3"])
            #expect(report.problems.count == 1 && report.problems[0].hasPrefix("the SFTP drop of p3: "))
            #expect(report.fetched.map(\.localPath) == expectedPaths)
        }
        #expect(fetchedAtOnce.problems == oneByOne.problems)
        let copy = try Data(contentsOf: URL(fileURLWithPath: fixture.local + "/p6/PLAT_REPAY_20241216.csv"))
        #expect(Array(copy) == sampleBytes(306, seed: 6))
    }
}

@Suite("SFTP drops in reckon.yaml")
struct SFTPDropConfigTests {
    func load(_ sftp: String) throws(SpecError) -> ReckonConfig {
        try ConfigLoader.load(yaml: """
        partners:
          platform:
            role: platform
            drop:
              folder: inbox/platform
              sftp:
        \(sftp.split(separator: "\n").map { "        " + $0 }.joined(separator: "\n"))
        products:
          CASH:
            description: test
        """, origin: "/etc/reckon/reckon.yaml")
    }

    @Test func theSafeDefaultsAndPathsFromTheConfigurationsFolder() throws {
        let config = try load("""
        host: sftp.platform.example
        user: reckon
        key: keys/platform_ed25519
        known_hosts: keys/known_hosts
        passphrase: {env: RECKON_PLATFORM_KEY_PASSPHRASE}
        """)
        let partner = try #require(config.partner("platform"))
        #expect(partner.drop == "/etc/reckon/inbox/platform")
        #expect(partner.sftp == SFTPDropConfig(host: "sftp.platform.example", port: 22, user: "reckon",
                                               keyPath: "/etc/reckon/keys/platform_ed25519",
                                               knownHostsPath: "/etc/reckon/keys/known_hosts", remotePath: ".",
                                               passphrase: .environment("RECKON_PLATFORM_KEY_PASSPHRASE"), doneFolder: nil,
                                               connectTimeoutSeconds: 15, readTimeoutSeconds: 30))
    }

    @Test func whatIsRefusedAtLoad() {
        let base = "host: h.example\nuser: reckon\nkey: k\nknown_hosts: kh\n"
        let cases: [(String, String)] = [
            (base + "passphrase: hunter2", "/etc/reckon/reckon.yaml:11: partners.platform.drop.sftp.passphrase: a passphrase is never "
                + "written in reckon.yaml: give {file: PATH} or {env: NAME}"),
            (base + "password: hunter2", "/etc/reckon/reckon.yaml:11: partners.platform.drop.sftp.password: unknown key 'password'; "
                + "allowed here: host, port, user, key, known_hosts, path, passphrase, done, connect_timeout_seconds, read_timeout_seconds"),
            ("host: h.example\nuser: reckon\nkey: k", "/etc/reckon/reckon.yaml:7: partners.platform.drop.sftp: 'known_hosts' is required here"),
            (base + "passphrase: {env: 1BAD}", "/etc/reckon/reckon.yaml:11: partners.platform.drop.sftp.passphrase.env: '1BAD' is not an "
                + "environment variable name"),
            (base + "done: ../x", "/etc/reckon/reckon.yaml:11: partners.platform.drop.sftp.done: '../x' is not a folder name (one name, "
                + "under the drop's path)"),
            (base + "port: 70000", "/etc/reckon/reckon.yaml:11: partners.platform.drop.sftp.port: 70000 is out of range (1…65535)"),
        ]
        for (sftp, message) in cases {
            #expect(throws: SpecError.self, "\(sftp)") { try load(sftp) }
            do {
                _ = try load(sftp)
            } catch {
                #expect(error.description == message)
            }
        }
    }
}

/// The lines a fetcher logs, kept for the test to read.
final class LoggedLines: @unchecked Sendable {
    private let lock = NSLock()
    private var lines: [String] = []
    func append(_ line: String) { lock.withLock { lines.append(line) } }
    var all: [String] { lock.withLock { lines } }
    func count(containing text: String) -> Int { all.filter { $0.contains(text) }.count }
}

extension SFTPDropFetcherTests {
    /// The daemon's fetches (issue 12, item 10) keep each partner's connection between looks:
    /// one login serves them all. A server restarted between two looks (its sessions killed)
    /// is found to have closed the kept connection before anything is sent on it; the next
    /// look connects again at once, with no retry and no pause, and fetches as before.
    /// Closing the sessions (the daemon's stop) ends the connection: the next look logs in anew.
    @Test func theDaemonsLooksKeepOneConnectionAndMakeItAgainAfterARestart() throws {
        let fixture = try SFTPFixture()
        let config = try sftpConfig(fixture, knownHosts: try fixture.server.knownHosts(), done: false)
        let lines = LoggedLines()
        let sleeper = RecordingSleeper()
        let sessions = SFTPSessions()
        var fetcher = SFTPDropFetcher(config: config, sleeper: sleeper, environment: [:], log: { lines.append($0) })
        fetcher.sessions = sessions
        let logins = { lines.count(containing: ": connected as ") }

        #expect(fetcher.fetch(date: day).fetchedPartners == ["platform"])
        try fixture.put("PLAT_REPAY_20241216.csv", sampleBytes(700))
        try fixture.put("PLAT_REPAY_20241216.csv.ok", [])
        #expect(fetcher.fetch(date: day).fetched.map(\.remotePath)
            == ["PLAT_REPAY_20241216.csv", "PLAT_REPAY_20241216.csv.ok"].map { fixture.remote + "/" + $0 })
        #expect(fetcher.fetch(date: day).fetched.isEmpty)
        #expect(logins() == 1)
        #expect(sessions.count == 1)

        fixture.server.stop()
        try fixture.server.start()
        let corrected = sampleBytes(700, seed: 7)
        try fixture.put("PLAT_REPAY_20241216.csv", corrected)
        var times = [timespec(tv_sec: 1_900_000_000, tv_nsec: 0), timespec(tv_sec: 1_900_000_000, tv_nsec: 0)]
        utimensat(AT_FDCWD, fixture.remote + "/PLAT_REPAY_20241216.csv", &times, 0)
        let afterRestart = fetcher.fetch(date: day)
        #expect(afterRestart.problems == [])
        #expect(afterRestart.fetched.map(\.remotePath) == [fixture.remote + "/PLAT_REPAY_20241216.csv"])
        #expect(Array(try Data(contentsOf: URL(fileURLWithPath: fixture.local + "/PLAT_REPAY_20241216.csv"))) == corrected)
        #expect(sleeper.pauses.isEmpty)
        #expect(lines.count(containing: "sftp 127.0.0.1:\(fixture.server.port): the server closed the connection kept open; connecting again") == 1)
        #expect(logins() == 2)

        sessions.closeAll()
        #expect(sessions.count == 0)
        #expect(fetcher.fetch(date: day).fetchedPartners == ["platform"])
        #expect(logins() == 3)
    }
}

extension SFTPDropFetcherTests {
    /// With the daemon's kept sessions a `stable` file is judged over successive fetches
    /// instead of by a wait inside one: nothing is slept (a partner's new file no longer
    /// holds up the other partners' fetches for its seconds), the file waits until its
    /// size and time have held for the rule's seconds on the monotonic clock, and a file
    /// that grew between two looks starts its wait again.
    @Test func theDaemonsLooksJudgeAStableFileAcrossLooksWithoutWaiting() throws {
        let fixture = try SFTPFixture()
        let config = try sftpConfig(fixture, knownHosts: try fixture.server.knownHosts(), done: false)
        let time = TestClock()
        let sleeper = RecordingSleeper()
        var fetcher = SFTPDropFetcher(config: config, clock: time.clock, sleeper: sleeper, environment: [:])
        fetcher.sessions = SFTPSessions()
        let settling = "its size or time is still changing on the server (they must stay the same for 2 s)"

        try fixture.put("PLAT_LOAN_20241216.csv", sampleBytes(5000))
        let first = fetcher.fetch(date: day)
        #expect(first.fetched.isEmpty)
        #expect(first.waiting.map { "\($0.partner) \($0.fileType) \($0.name): \($0.reason)" }
            == ["platform loans PLAT_LOAN_20241216.csv: \(settling)"])
        #expect(first.settling == 1)

        // Still growing at the next look, 1.5 s later: its wait starts again.
        time.advance(seconds: 1.5)
        try fixture.put("PLAT_LOAN_20241216.csv", sampleBytes(6000))
        #expect(fetcher.fetch(date: day).settling == 1)
        time.advance(seconds: 1.5)
        #expect(fetcher.fetch(date: day).fetched.isEmpty)
        time.advance(seconds: 0.5)
        let ready = fetcher.fetch(date: day)
        #expect(ready.fetched.map(\.remotePath) == [fixture.remote + "/PLAT_LOAN_20241216.csv"])
        #expect(ready.settling == 0)
        #expect(Array(try Data(contentsOf: URL(fileURLWithPath: fixture.local + "/PLAT_LOAN_20241216.csv"))) == sampleBytes(6000))
        #expect(sleeper.pauses.isEmpty)
    }
}

extension SFTPDropFetcherTests {
    /// A kept connection does not outlive its pin: once known_hosts changes (here: it pins
    /// another key for the server), the next look connects anew, checks the host key again,
    /// and is refused naming both fingerprints, though the old connection still worked.
    @Test func aKeptConnectionIsCheckedAgainWhenKnownHostsChanges() throws {
        let fixture = try SFTPFixture()
        let knownHosts = try fixture.server.knownHosts()
        let config = try sftpConfig(fixture, knownHosts: knownHosts, done: false)
        let lines = LoggedLines()
        var fetcher = SFTPDropFetcher(config: config, sleeper: RecordingSleeper(), environment: [:], log: { lines.append($0) })
        fetcher.sessions = SFTPSessions()
        #expect(fetcher.fetch(date: day).fetchedPartners == ["platform"])
        #expect(fetcher.fetch(date: day).fetchedPartners == ["platform"])
        #expect(lines.count(containing: ": connected as ") == 1)

        let impostor = try KeyPair(in: fixture.scratch.folder("other"), name: "other_host")
        try FileManager.default.removeItem(atPath: knownHosts)
        try FileManager.default.copyItem(atPath: try fixture.server.knownHosts(pinning: impostor), toPath: knownHosts)
        let refused = fetcher.fetch(date: day)
        #expect(refused.fetchedPartners.isEmpty)
        #expect(refused.hostKeyRefusals.map(\.partner) == ["platform"])
        #expect(refused.problems.first?.contains("pins \(try impostor.fingerprint) for it; refused") == true, "\(refused.problems)")
    }
}

extension SFTPDropFetcherTests {
    /// A daemon's look at a folder whose time has not moved since a listing that proved it
    /// reads only that time (issue 12, item 10: a hundred quiet folders looked at every half
    /// second). The test holds the folder's time still, as a server that keeps none would:
    /// a file that came then is not seen until the folder's ten-second listing, which finds
    /// the time untrustworthy, says so once, and lists the folder at every look from then
    /// on. A folder whose time moves is listed at the next look, and its files fetched.
    @Test func aQuietFolderIsListedAgainWhenItsTimeMovesAndAtLeastEveryTenSeconds() throws {
        let fixture = try SFTPFixture()
        let config = try sftpConfig(fixture, knownHosts: try fixture.server.knownHosts(), done: false)
        let time = TestClock()
        let lines = LoggedLines()
        var fetcher = SFTPDropFetcher(config: config, clock: time.clock, sleeper: RecordingSleeper(), environment: [:],
                                      log: { lines.append($0) })
        fetcher.sessions = SFTPSessions()
        func holdFolderTime(_ seconds: Int) {
            var times = [timespec(tv_sec: seconds, tv_nsec: 0), timespec(tv_sec: seconds, tv_nsec: 0)]
            #expect(utimensat(AT_FDCWD, fixture.remote, &times, 0) == 0)
        }
        let repayments = ["PLAT_REPAY_20241216.csv", "PLAT_REPAY_20241216.csv.ok"]
        let loans = "PLAT_LOAN_20241216.csv"
        let untrusted = "changed though its time did not; it is listed at every look from now on"

        holdFolderTime(1_900_000_000)
        #expect(fetcher.fetch(date: day).fetchedPartners == ["platform"])
        time.advance(seconds: 2)
        #expect(fetcher.fetch(date: day).fetchedPartners == ["platform"])   // proves the folder's time

        // Names came and the time moved: the next look lists and fetches them.
        time.advance(seconds: 0.5)
        try fixture.put(repayments[0], sampleBytes(700))
        try fixture.put(repayments[1], [])
        holdFolderTime(1_900_000_005)
        #expect(fetcher.fetch(date: day).fetched.map(\.remotePath) == repayments.map { fixture.remote + "/" + $0 })
        time.advance(seconds: 2)
        #expect(fetcher.fetch(date: day).fetched.isEmpty)

        // A name came and the time stayed: the folder's last listing stands for it...
        try fixture.put(loans, sampleBytes(5000))
        holdFolderTime(1_900_000_005)
        time.advance(seconds: 0.5)
        let quiet = fetcher.fetch(date: day)
        #expect(quiet.fetchedPartners == ["platform"])
        #expect(quiet.waiting.isEmpty)
        #expect(quiet.fetched.isEmpty)
        time.advance(seconds: 9)
        #expect(fetcher.fetch(date: day).waiting.isEmpty)
        #expect(lines.count(containing: untrusted) == 0)

        // ...until its listing ten seconds after the last: the file is found (and watched,
        // under its stable rule), the time distrusted, and every look lists from now on.
        time.advance(seconds: 1)
        let listed = fetcher.fetch(date: day)
        #expect(listed.waiting.map(\.name) == [loans])
        #expect(listed.settling == 1)
        #expect(lines.count(containing: untrusted) == 1)
        time.advance(seconds: 2)
        #expect(fetcher.fetch(date: day).fetched.map(\.remotePath) == [fixture.remote + "/" + loans])
        time.advance(seconds: 3)
        try fixture.put("PLAT_REPAY_20241217.csv", sampleBytes(70))
        holdFolderTime(1_900_000_005)
        #expect(fetcher.fetch(date: CivilDate(year: 2024, month: 12, day: 17)!).waiting.map(\.name) == ["PLAT_REPAY_20241217.csv"])
        try fixture.put("PLAT_REPAY_20241217.csv.ok", [])
        holdFolderTime(1_900_000_005)
        time.advance(seconds: 0.5)
        #expect(fetcher.fetch(date: CivilDate(year: 2024, month: 12, day: 17)!).fetched.count == 2)
        #expect(lines.count(containing: untrusted) == 1)
    }
}
