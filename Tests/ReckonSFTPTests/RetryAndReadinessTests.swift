import Foundation
import ReckonCore
import ReckonSFTP
import Testing

@Suite("Retry policy")
struct RetryPolicyTests {
    let lost = SFTPError.connectionLost(endpoint: "h:22", doing: "downloading", reason: "gone")

    @Test func pausesGrowExponentiallyUpToTheCap() {
        let policy = RetryPolicy(maxAttempts: 6, initialDelaySeconds: 2, multiplier: 2, maxDelaySeconds: 10)
        #expect((1...7).map { policy.delaySeconds(beforeAttempt: $0) } == [nil, 2, 4, 8, 10, 10, nil])
    }

    @Test func retriesWhatMaySucceedAndStops() throws {
        let policy = RetryPolicy(maxAttempts: 4, initialDelaySeconds: 1, multiplier: 3, maxDelaySeconds: 60)
        let sleeper = RecordingSleeper()
        var attempts: [Int] = []
        let result = try policy.run(sleeper: sleeper) { attempt throws(SFTPError) -> String in
            attempts.append(attempt)
            if attempt < 3 { throw lost }
            return "done"
        }
        #expect(result == "done")
        #expect(attempts == [1, 2, 3])
        #expect(sleeper.pauses == [1, 3])

        let exhausted = RecordingSleeper()
        #expect(throws: lost) { try policy.run(sleeper: exhausted) { _ throws(SFTPError) in throw lost } }
        #expect(exhausted.pauses == [1, 3, 9])
    }

    @Test func neverRetriesAHostKeyOrALogin() {
        let sleeper = RecordingSleeper()
        let refused = SFTPError.hostKeyMismatch(endpoint: "h:22", pinned: "SHA256:a", presented: "SHA256:b", keyType: "ssh-ed25519",
                                                knownHosts: "/k")
        var attempts = 0
        #expect(throws: refused) {
            try RetryPolicy().run(sleeper: sleeper) { _ throws(SFTPError) in
                attempts += 1
                throw refused
            }
        }
        #expect(attempts == 1)
        #expect(sleeper.pauses.isEmpty)
    }
}

@Suite("A remote listing")
struct RemoteListingTests {
    @Test func aFileIsFoundByNameWhateverOrderTheServerGaveThem() {
        let names = ["b.csv.ok", "a.csv", "中.csv", "b.csv", "A.csv", "a.csv.ok", "z"]
        let listing = RemoteListing(files: names.enumerated().map { RemoteFile(name: $1, sizeBytes: Int64($0), modifiedSeconds: 0) })
        #expect(listing.files.map(\.name) == names.sorted())
        for (size, name) in names.enumerated() {
            #expect(listing.file(named: name)?.sizeBytes == Int64(size), "\(name)")
        }
        for absent in ["", "a", "b.csv.o", "zz", "中", "0"] {
            #expect(listing.file(named: absent) == nil, "\(absent)")
        }
        #expect(RemoteListing().file(named: "a.csv") == nil)
    }
}

@Suite("SFTP readiness against a real sshd", .serialized, .enabled(if: TestSSHServer.unavailable == nil, "sshd is not installed"))
struct RemoteReadinessTests {
    let day = CivilDate(year: 2024, month: 12, day: 16)!
    let pattern = try! FileNamePattern("PLAT_REPAY_{yyyyMMdd}.csv")

    @Test func aFileStillGrowingIsNotTakenEarly() throws {
        let fixture = try SFTPFixture()
        let name = "PLAT_REPAY_20241216.csv"
        try fixture.put(name, sampleBytes(1000))
        try fixture.put("PLAT_REPAY_20241215.csv", sampleBytes(10))
        let client = try fixture.client()
        let time = TestClock()
        // While reckon waits, the partner's upload goes on.
        let growing = RecordingSleeper { seconds in
            time.advance(seconds: seconds)
            let handle = FileHandle(forWritingAtPath: fixture.remote + "/" + name)!
            handle.seekToEndOfFile()
            handle.write(Data(sampleBytes(500, seed: 3)))
            try? handle.close()
        }
        let watching = RemoteReadiness(clock: time.clock, sleeper: growing)
        let first = try watching.decide(name: pattern, readiness: .stable(seconds: 5), date: day) { () throws(SFTPError) in
            try client.list(folder: fixture.remote)
        }
        #expect(first.ready.isEmpty)
        #expect(first.waiting.map(\.file.name) == [name])
        #expect(first.waiting.map(\.reason) == ["its size or time is still changing on the server (they must stay the same for 5 s)"])
        #expect(growing.pauses == [5])

        // The upload has ended: the next look finds it the same after 5 s, and takes it.
        let still = RecordingSleeper { time.advance(seconds: $0) }
        let second = try RemoteReadiness(clock: time.clock, sleeper: still)
            .decide(name: pattern, readiness: .stable(seconds: 5), date: day) { () throws(SFTPError) in try client.list(folder: fixture.remote) }
        #expect(second.ready.map(\.name) == [name])
        #expect(second.ready.map(\.sizeBytes) == [1500])
        #expect(second.waiting.isEmpty)
    }

    @Test func aChangedTimeOrTooShortAWaitHoldsItBack() throws {
        let fixture = try SFTPFixture()
        let name = "PLAT_REPAY_20241216.csv"
        try fixture.put(name, sampleBytes(100))
        let client = try fixture.client()
        let time = TestClock()
        // Rewritten in place with as many bytes: only its time says so.
        let touched = RecordingSleeper { seconds in
            time.advance(seconds: seconds)
            var times = [timespec(tv_sec: 2_000_000_000, tv_nsec: 0), timespec(tv_sec: 2_000_000_000, tv_nsec: 0)]
            utimensat(AT_FDCWD, fixture.remote + "/" + name, &times, 0)
        }
        let list = { () throws(SFTPError) in try client.list(folder: fixture.remote) }
        #expect(try RemoteReadiness(clock: time.clock, sleeper: touched).decide(name: pattern, readiness: .stable(seconds: 5), date: day,
                                                                              list: list).ready.isEmpty)
        // A sleeper woken early: 4 s of the 5 have passed.
        let early = RecordingSleeper { _ in time.advance(seconds: 4) }
        #expect(try RemoteReadiness(clock: time.clock, sleeper: early).decide(name: pattern, readiness: .stable(seconds: 5), date: day,
                                                                            list: list).ready.isEmpty)
    }

    @Test func theMarkerRuleWantsItsMarkerInTheListing() throws {
        let fixture = try SFTPFixture()
        let name = "PLAT_REPAY_20241216.csv"
        try fixture.put(name, sampleBytes(100))
        let client = try fixture.client()
        let sleeper = RecordingSleeper()
        var listings = 0
        let list = { () throws(SFTPError) -> RemoteListing in
            listings += 1
            return try client.list(folder: fixture.remote)
        }
        let readiness = RemoteReadiness(sleeper: sleeper)
        let without = try readiness.decide(name: pattern, readiness: .marker("{name}.ok"), date: day, list: list)
        #expect(without.waiting == [RemoteReadiness.Waiting(file: RemoteFile(name: name, sizeBytes: 100, modifiedSeconds: without.waiting[0].file.modifiedSeconds),
                                                            reason: "no marker file \(name).ok on the server yet")])
        try fixture.put(name + ".ok", [])
        let with = try readiness.decide(name: pattern, readiness: .marker("{name}.ok"), date: day, list: list)
        #expect(with.ready.map(\.name) == [name])
        #expect(listings == 2)
        #expect(sleeper.pauses.isEmpty)
    }
}
