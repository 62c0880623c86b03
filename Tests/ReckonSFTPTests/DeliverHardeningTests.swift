import Foundation
import ReckonLedger
import ReckonSFTP
import Testing

/// The deliver step made sturdy: the remote folder made when missing (never through `..`),
/// uploads tried again with backoff when the server goes away, a name the server refuses
/// named with what it means, `reckon settle --deliver`, and a delivery killed at each of the
/// deliver step's crash points completed by the next run without a duplicate.
@Suite("Delivering outbound sets, hardened", .serialized, .enabled(if: TestSSHServer.unavailable == nil, "sshd is not installed"))
struct DeliverHardeningTests {
    let names = ["MANIFEST.json", "RECKON_20241216.done", "RECKON_ALERT_20241216.csv", "RECKON_RESULT_20241216.csv"]

    func json(_ text: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    }

    func files(_ folder: String) -> [String: Data] {
        var found: [String: Data] = [:]
        for name in (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? [] {
            found[name] = FileManager.default.contents(atPath: folder + "/" + name)
        }
        return found
    }

    @Test func aMissingRemoteFolderIsMadeAndAnUnsafeOneRefusedAtLoad() throws {
        let fixture = try SFTPFixture()
        let delivered = fixture.scratch.path + "/to-platform/2024/12"
        let config = try SFTPDeliveryTests().deliveringWorkspace(fixture, to: delivered)
        let run = try reckon(["batch", "--date", "2024-12-16", "--json", "--config", config], scratch: fixture.scratch)
        let delivery = try #require(try json(run.output)["delivery"] as? [String: Any], "\(run.output)\n\(run.errors)")
        #expect(delivery["summary"] as? String == "platform v1 (4 files uploaded)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: delivered).sorted() == names)

        let yaml = try String(contentsOfFile: config, encoding: .utf8)
        try yaml.replacingOccurrences(of: "deliver: {path: \(delivered)}", with: "deliver: {path: out/../../etc}")
            .write(toFile: config, atomically: true, encoding: .utf8)
        let refused = try reckon(["batch", "--date", "2024-12-16", "--config", config], scratch: fixture.scratch)
        #expect(refused.status == 2)
        #expect(refused.errors.contains("'out/../../etc' climbs with ..: give the folder on the SFTP server without .. parts"), "\(refused.errors)")
    }

    @Test func aFolderThatCannotBeMadeFailsTheRunSayingWhere() throws {
        let fixture = try SFTPFixture()
        let blocker = fixture.scratch.path + "/blocker"
        _ = FileManager.default.createFile(atPath: blocker, contents: Data("a file, not a folder\n".utf8))
        let config = try SFTPDeliveryTests().deliveringWorkspace(fixture, to: blocker + "/out")
        // The folders are made part by part (`/tmp//x` is `/tmp/x`).
        let made = "/" + blocker.split(separator: "/").joined(separator: "/")
        let run = try reckon(["batch", "--date", "2024-12-16", "--json", "--config", config], scratch: fixture.scratch)
        #expect(run.status == 1)
        let errors = try json(run.output)["errors"] as? [String] ?? []
        #expect(errors.contains { $0 == ("deliver step: platform 2024-12-16: the SFTP delivery folder \(blocker)/out cannot be made: "
                                               + "the SFTP server 127.0.0.1:\(fixture.server.port) refused making the folder \(made): "
                                               + "something that is not a folder has that name") },
                "\(errors)")
        #expect(try SFTPDeliveryTests().listed(config, fixture.scratch)
                == ["RECKON_ALERT_20241216.csv v1": "-", "RECKON_RESULT_20241216.csv v1": "-"])
    }

    /// The server is gone when the delivery starts and back after the first pause: the
    /// second try delivers everything (no test waits: the sleeper only records).
    @Test func anUploadIsTriedAgainWithBackoffWhenTheServerIsGone() throws {
        let fixture = try SFTPFixture()
        let local = fixture.local
        try Data("a\n".utf8).write(to: URL(fileURLWithPath: local + "/A.csv"))
        try Data("done\n".utf8).write(to: URL(fileURLWithPath: local + "/A.done"))
        let settings = try fixture.settings()
        fixture.server.stop()
        let sleeper = RecordingSleeper { _ in try? fixture.server.start() }
        var lines: [String] = []
        let delivery = SFTPSetDelivery(retry: RetryPolicy(maxAttempts: 3, initialDelaySeconds: 2), sleeper: sleeper) { lines.append($0) }
        var placed: [String] = []
        let result = delivery.deliver([SetFile(localPath: local + "/A.csv", name: "A.csv"), SetFile(localPath: local + "/A.done", name: "A.done")],
                                      to: fixture.remote + "/out", marker: "A.done", settings: settings) { placed.append($0) }
        #expect(result.problem == nil, "\(result.problem ?? "")")
        #expect(sleeper.pauses == [2])
        #expect(lines.contains { $0.hasPrefix("sftp: try 1 failed (cannot connect to the SFTP server 127.0.0.1:\(fixture.server.port): ") })
        #expect(placed == ["A.csv", "A.done"])
        #expect(result.remotePaths == ["A.csv": fixture.remote + "/out/A.csv", "A.done": fixture.remote + "/out/A.done"])
        #expect(try FileManager.default.contentsOfDirectory(atPath: fixture.remote + "/out").sorted() == ["A.csv", "A.done"])
    }

    /// A server that refuses what an upload needs (here: renames are denied) refuses it on
    /// every run: the error names the file, the server's reason, and says so.
    @Test func aNameTheServerRefusesIsAClearErrorNamingTheFile() throws {
        let fixture = try SFTPFixture(serverConfig: "ForceCommand internal-sftp -P rename,posix-rename")
        try Data("a\n".utf8).write(to: URL(fileURLWithPath: fixture.local + "/A.csv"))
        let result = SFTPSetDelivery(sleeper: RecordingSleeper())
            .deliver([SetFile(localPath: fixture.local + "/A.csv", name: "A.csv")], to: fixture.remote, marker: nil, settings: try fixture.settings())
        let problem = try #require(result.problem)
        #expect(problem.hasPrefix("the SFTP delivery of A.csv: the SFTP server 127.0.0.1:\(fixture.server.port) refused renaming \(fixture.remote)/.A.csv.partial"), "\(problem)")
        #expect(problem.hasSuffix("; A.csv and the files after it are not delivered, and every run fails the same way until the server "
                                  + "takes the name (ask the partner) or the file is named otherwise in reckon.yaml (outbound:)"), "\(problem)")
        #expect(result.remotePaths.isEmpty)
        // Nothing half-done is left on the server.
        #expect(try fixture.remoteNames() == [])

        // A name that could not be used safely is refused before anything is sent.
        let unsafe = SFTPSetDelivery(sleeper: RecordingSleeper())
            .deliver([SetFile(localPath: fixture.local + "/A.csv", name: "A.csv"), SetFile(localPath: fixture.local + "/A.csv", name: "../A.csv")],
                     to: fixture.remote, marker: nil, settings: try fixture.settings())
        #expect(unsafe.problem == "\(fixture.local)/A.csv cannot be delivered as ../A.csv: the remote name '../A.csv' is refused: "
                + "it is a path, not a plain file name (it could leave the drop folder); nothing of the set was sent")
        #expect(unsafe.remotePaths.isEmpty)
        // So is a folder that climbs (reckon.yaml refuses it at load; the deliverer again).
        let climbing = SFTPSetDelivery(sleeper: RecordingSleeper())
            .deliver([SetFile(localPath: fixture.local + "/A.csv", name: "A.csv")], to: "out/../../etc", marker: nil, settings: try fixture.settings())
        #expect(climbing.problem == "the SFTP delivery folder out/../../etc cannot be made: the remote name 'out/../../etc' is refused: "
                + "the folder's path climbs with ..")
    }

    /// The server refuses the set's marker (a folder stands where its temporary file goes):
    /// every file before it went up, but the set is not whole, so it is not recorded delivered
    /// and every run fails the same way (before, the next run found the listed files recorded
    /// and said "already delivered", the marker never on the server). Once the server takes
    /// it, the set goes whole and is recorded.
    @Test func aSetWhoseMarkerTheServerRefusesStaysDueAndFailsEveryRun() throws {
        let fixture = try SFTPFixture()
        let delivered = try fixture.scratch.folder("to-platform")
        let blocking = try fixture.scratch.folder("to-platform/.RECKON_20241216.done.partial")
        let config = try SFTPDeliveryTests().deliveringWorkspace(fixture, to: delivered)
        let refusal = "deliver step: platform 2024-12-16: the SFTP delivery of RECKON_20241216.done: the SFTP server "
            + "127.0.0.1:\(fixture.server.port) refused creating \(delivered)/.RECKON_20241216.done.partial: "
        for attempt in 1...2 {
            let run = try reckon(["batch", "--date", "2024-12-16", "--json", "--config", config], scratch: fixture.scratch)
            #expect(run.status == 1, "attempt \(attempt): \(run.output)")
            let errors = try json(run.output)["errors"] as? [String] ?? []
            #expect(errors.contains { $0.hasPrefix(refusal) && $0.hasSuffix("; RECKON_20241216.done and the files after it are not "
                + "delivered, and every run fails the same way until the server takes the name (ask the partner) or the file is "
                + "named otherwise in reckon.yaml (outbound:)") }, "attempt \(attempt): \(errors)")
            #expect(try SFTPDeliveryTests().listed(config, fixture.scratch)
                    == ["RECKON_ALERT_20241216.csv v1": "-", "RECKON_RESULT_20241216.csv v1": "-"], "attempt \(attempt)")
            #expect(try FileManager.default.contentsOfDirectory(atPath: delivered).sorted()
                    == [".RECKON_20241216.done.partial", "MANIFEST.json", "RECKON_ALERT_20241216.csv", "RECKON_RESULT_20241216.csv"])
        }
        try FileManager.default.removeItem(atPath: blocking)
        let fixed = try reckon(["batch", "--date", "2024-12-16", "--json", "--config", config], scratch: fixture.scratch)
        let delivery = try #require(try json(fixed.output)["delivery"] as? [String: Any], "\(fixed.output)")
        #expect(delivery["summary"] as? String == "platform v1 (4 files uploaded)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: delivered).sorted() == names)
        #expect(try SFTPDeliveryTests().listed(config, fixture.scratch)
                == ["RECKON_ALERT_20241216.csv v1": delivered + "/RECKON_ALERT_20241216.csv",
                    "RECKON_RESULT_20241216.csv v1": delivered + "/RECKON_RESULT_20241216.csv"])
    }

    /// An upload killed between moving the earlier file aside and renaming the new one in
    /// left `.NAME.replaced` on the server: the next upload of the name removes it.
    @Test func aFileMovedAsideByAKilledUploadIsRemovedByTheNext() throws {
        let fixture = try SFTPFixture()
        try Data("new\n".utf8).write(to: URL(fileURLWithPath: fixture.local + "/A.csv"))
        try fixture.put(".A.csv.replaced", Array("old\n".utf8))
        let result = SFTPSetDelivery(sleeper: RecordingSleeper())
            .deliver([SetFile(localPath: fixture.local + "/A.csv", name: "A.csv")], to: fixture.remote, marker: nil, settings: try fixture.settings())
        #expect(result.problem == nil)
        #expect(try fixture.remoteNames() == ["A.csv"])
        #expect(FileManager.default.contents(atPath: fixture.remote + "/A.csv") == Data("new\n".utf8))
    }

    @Test func settleDeliversWhenAsked() throws {
        let fixture = try SFTPFixture()
        let delivered = try fixture.scratch.folder("to-platform")
        let config = try SFTPDeliveryTests().deliveringWorkspace(fixture, to: delivered)
        let batch = try reckon(["batch", "--date", "2024-12-16", "--steps", "collect,ingest,plan,reconcile", "--config", config],
                               scratch: fixture.scratch)
        #expect(batch.status != 2, "\(batch.errors)")
        let settled = try reckon(["settle", "--date", "2024-12-16", "--partner", "platform", "--deliver", "--config", config],
                                 scratch: fixture.scratch)
        #expect(settled.status == 0, "\(settled.output)\n\(settled.errors)")
        #expect(settled.output.contains("delivery: platform v1 (4 files uploaded)\n"), "\(settled.output)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: delivered).sorted() == names)
        let again = try reckon(["settle", "--date", "2024-12-16", "--partner", "platform", "--deliver", "--json", "--config", config],
                               scratch: fixture.scratch)
        #expect(again.status == 0)
        #expect((try json(again.output)["delivery"] as? [String: Any])?["summary"] as? String == "platform v1 (already delivered)")
        let dry = try reckon(["settle", "--date", "2024-12-16", "--dry-run", "--deliver", "--config", config], scratch: fixture.scratch)
        #expect(dry.status == 2)
        #expect(dry.errors.contains("--deliver delivers installed sets; a dry run installs none"))
    }

    /// `reckon batch` killed at every deliver crash point (``CrashPoint``: a new `deliver-`
    /// point is covered without being listed here), at its first hit and its last: the next
    /// run delivers the set whole, the server holds each file once (no temporary or moved-aside
    /// copy), byte for byte the outbox's, and the ledger records each once.
    @Test func aDeliveryKilledAtEachCrashPointIsCompletedByTheNextRunWithoutDuplicates() throws {
        let points = CrashPoint.allCases.filter { $0.rawValue.hasPrefix("deliver-") }
        #expect(points.count == 3)
        let fixture = try SFTPFixture()
        let arguments = ["batch", "--date", "2024-12-16", "--config"]

        // A clean run, traced: how often each point is reached.
        let cleanTo = try fixture.scratch.folder("clean-to")
        let clean = try SFTPDeliveryTests().deliveringWorkspace(fixture, to: cleanTo)
        let trace = fixture.scratch.path + "/trace"
        let first = try reckon(arguments + [clean], scratch: fixture.scratch, environment: ["RECKON_CRASH_TRACE": trace])
        #expect(first.output.contains("delivery: platform v1 (4 files uploaded)\n"), "\(first.output)\n\(first.errors)")
        let expected = files(cleanTo)
        #expect(expected.keys.sorted() == names)
        let expectedRecords = try SFTPDeliveryTests().listed(clean, fixture.scratch)
        let hits = try String(contentsOfFile: trace, encoding: .utf8).split(separator: "\n").map(String.init)

        for point in points {
            let count = hits.filter { $0 == point.rawValue }.count
            #expect(count > 0, "a delivery never reaches \(point.rawValue)")
            for nth in Set([1, count]).sorted() where count > 0 {
                let label = "killed at \(point.rawValue):\(nth)"
                let scratch = try Scratch()
                let to = try scratch.folder("to")
                let local = try scratch.folder("local")
                let drop = try fixture.platformDrop().replacingOccurrences(of: "folder: \(fixture.local)\n", with: "folder: \(local)\n")
                var config = try SFTPBatchTests().workspace(scratch, "sftp", platformDrop: drop)
                let yaml = try String(contentsOfFile: config, encoding: .utf8)
                try yaml.replacingOccurrences(of: "      done: \"RECKON_{yyyyMMdd}.done\"\n\n  bank:",
                                              with: "      done: \"RECKON_{yyyyMMdd}.done\"\n      deliver: {path: \(to)}\n\n  bank:")
                    .write(toFile: config, atomically: true, encoding: .utf8)
                config = URL(fileURLWithPath: config).path
                let killed = try reckon(arguments + [config], scratch: scratch, environment: ["RECKON_CRASH_AT": "\(point.rawValue):\(nth)"])
                #expect(killed.status == 128 + SIGKILL, "\(label): not killed there: \(killed.output)\(killed.errors)")
                let rerun = try reckon(arguments + [config, "--json"], scratch: scratch)
                let rerunErrors = try json(rerun.output)["errors"] as? [String] ?? []
                #expect(!rerunErrors.contains { $0.hasPrefix("deliver") }, "\(label): \(rerunErrors)")
                // Each file once, whole; nothing temporary or moved aside left.
                #expect(files(to) == expected, "\(label): \(files(to).keys.sorted())")
                #expect(try SFTPDeliveryTests().listed(config, scratch) == expectedRecords.mapValues { $0.replacingOccurrences(of: cleanTo, with: to) },
                        "\(label)")
                // Killed after the record committed, the next run uploads nothing.
                if point == .deliverRecorded {
                    #expect((try json(rerun.output)["delivery"] as? [String: Any])?["uploaded"] as? Int == 0, "\(label)")
                }
            }
        }
    }
}
