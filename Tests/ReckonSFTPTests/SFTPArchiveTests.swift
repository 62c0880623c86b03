import Foundation
import ReckonCore
import ReckonFiles
import Testing

/// A partner's day zipped on its SFTP server (`archives:`): fetched by the readiness rules,
/// unpacked into the local drop and posted as its files would be; a zip bomb fetched the same
/// way is refused in bounded memory and quarantined whole.
@Suite("reckon batch with archives on an SFTP drop", .serialized, .enabled(if: TestSSHServer.unavailable == nil, "sshd is not installed"))
struct SFTPArchiveTests {
    static let date = CivilDate(year: 2024, month: 12, day: 16)!

    func workspace(_ fixture: SFTPFixture) throws -> String {
        let drop = try fixture.platformDrop()
            + "    archives:\n      daily: {name: \"PLAT_{yyyyMMdd}.zip\", ready: {stable_seconds: 0}}\n"
        return try SFTPBatchTests().workspace(fixture.scratch, "sftp", platformDrop: drop)
    }

    func json(_ text: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    }

    @Test func aZippedDayIsFetchedUnpackedAndPostsAsTheFilesWould() throws {
        let fixture = try SFTPFixture()
        let names = ["PLAT_LOAN_20241216.csv", "PLAT_REPAY_20241216.csv"]
        try DayZip.write(entries: names.map { (name: $0, path: repositoryRoot + "/inbox/platform/" + $0) },
                         to: fixture.remote + "/PLAT_20241216.zip", date: Self.date)
        let config = try workspace(fixture)
        let local = try SFTPBatchTests().workspace(fixture.scratch, "by-folder", platformDrop: "    drop: inbox/platform\n")

        let arguments = ["batch", "--date", "2024-12-16", "--steps", "collect,ingest"]
        let bySFTP = try reckon(arguments + ["--json", "--config", config], scratch: fixture.scratch)
        let byFolder = try reckon(arguments + ["--config", local], scratch: fixture.scratch)
        #expect(bySFTP.status == byFolder.status, "\(bySFTP.output)\n\(bySFTP.errors)")
        let archives = try #require(try json(bySFTP.output)["archives"] as? [String: Any], "\(bySFTP.output)")
        let unpacked = try #require(archives["unpacked"] as? [[String: Any]])
        #expect(unpacked.count == 1)
        #expect(unpacked.first?["path"] as? String == fixture.local + "/PLAT_20241216.zip")
        #expect(unpacked.first?["entries"] as? [String] == names)
        #expect((archives["refused"] as? [Any])?.isEmpty == true)
        // The archive came over SFTP; its entries are in the drop and were posted.
        #expect(bySFTP.errors.contains("downloaded \(fixture.remote)/PLAT_20241216.zip"), "\(bySFTP.errors)")
        #expect(try fixture.localNames() == ["PLAT_20241216.zip"] + names)
        let exportBySFTP = try reckon(["ledger", "export", "--config", config], scratch: fixture.scratch)
        let exportByFolder = try reckon(["ledger", "export", "--config", local], scratch: fixture.scratch)
        #expect(exportBySFTP.output.contains("PLAT_REPAY_20241216.csv"))
        #expect(exportBySFTP.output == exportByFolder.output)

        // Again: nothing fetched (the same file is there) and nothing unpacked again.
        let again = try reckon(arguments + ["--json", "--config", config], scratch: fixture.scratch)
        let againUnpacked = try #require((try json(again.output)["archives"] as? [String: Any])?["unpacked"] as? [[String: Any]])
        #expect(againUnpacked.first?["earlier"] as? Bool == true)
        #expect(!again.errors.contains("downloaded"), "\(again.errors)")
    }

    /// An entry named `../…` in an archive fetched from the server: refused before anything
    /// is written, nothing above the drop, the archive quarantined whole.
    @Test func aTraversalArchiveOnTheServerIsRefused() throws {
        let fixture = try SFTPFixture()
        let climbing = "../../PLAT_LOAN_20241216.csv"
        try DayZip.write(entries: [(name: "PLAT_REPAY_20241216.csv", path: repositoryRoot + "/inbox/platform/PLAT_REPAY_20241216.csv"),
                                   (name: climbing, path: repositoryRoot + "/inbox/platform/PLAT_LOAN_20241216.csv")],
                         to: fixture.remote + "/PLAT_20241216.zip", date: Self.date)
        let config = try workspace(fixture)
        let above = try FileManager.default.contentsOfDirectory(atPath: fixture.scratch.path).sorted()
        let run = try reckon(["batch", "--date", "2024-12-16", "--steps", "collect,ingest", "--json", "--config", config],
                             scratch: fixture.scratch)
        #expect(run.status == 1, "\(run.output)\n\(run.errors)")
        let workspace = URL(fileURLWithPath: config).deletingLastPathComponent().path
        let quarantined = workspace + "/var/quarantine/2024-12-16/platform/archives/PLAT_20241216.zip"
        #expect(try json(run.output)["errors"] as? [String] == [
            "inbound archive \(fixture.local)/PLAT_20241216.zip refused: entry \"\(climbing)\": its name climbs out of the folder (..); "
                + "quarantined whole as \(quarantined) with its report \(quarantined).report.txt"])
        #expect(try fixture.localNames() == ["PLAT_20241216.zip"])
        // Nothing new above the drop but the run's own output files.
        let added = Set(try FileManager.default.contentsOfDirectory(atPath: fixture.scratch.path)).subtracting(above)
        #expect(added.allSatisfy { $0.hasPrefix("out-") || $0.hasPrefix("err-") }, "\(added.sorted())")
        #expect(FileManager.default.contents(atPath: quarantined) == FileManager.default.contents(atPath: fixture.remote + "/PLAT_20241216.zip"))
    }

    @Test func aZipBombOnTheServerIsRefusedInBoundedMemoryAndQuarantinedWhole() throws {
        let fixture = try SFTPFixture()
        let zeros = fixture.scratch.path + "/zeros.bin"
        _ = FileManager.default.createFile(atPath: zeros, contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: zeros))
        try handle.truncate(atOffset: 300 << 20)   // sparse: all zeros, no disk
        try handle.close()
        let bomb = fixture.remote + "/PLAT_20241216.zip"
        try DayZip.write(entries: [(name: "PLAT_LOAN_20241216.csv", path: zeros)], to: bomb, date: Self.date)
        try FileManager.default.removeItem(atPath: zeros)
        let config = try workspace(fixture)

        let run = try reckonMeasured(["batch", "--date", "2024-12-16", "--steps", "collect,ingest", "--json", "--config", config],
                                     scratch: fixture.scratch, peakAt: "run-finished")
        #expect(run.status == 1, "\(run.output)\n\(run.errors)")
        let report = try json(run.output)
        let refused = try #require((report["archives"] as? [String: Any])?["refused"] as? [[String: Any]], "\(run.output)")
        #expect(refused.count == 1)
        #expect(refused.first?["entry"] as? String == "PLAT_LOAN_20241216.csv")
        let reason = refused.first?["reason"] as? String ?? ""
        #expect(reason.hasPrefix("unpacks to more than 200 times its ") && reason.hasSuffix(" compressed bytes (a zip bomb?)"), "\(reason)")
        let workspace = URL(fileURLWithPath: config).deletingLastPathComponent().path
        let quarantined = workspace + "/var/quarantine/2024-12-16/platform/archives/PLAT_20241216.zip"
        #expect(refused.first?["quarantine"] as? String == quarantined)
        #expect(FileManager.default.contents(atPath: quarantined) == FileManager.default.contents(atPath: bomb))
        #expect(FileManager.default.fileExists(atPath: quarantined + ".report.txt"))
        #expect((report["errors"] as? [String] ?? []).contains { $0.hasPrefix("inbound archive \(fixture.local)/PLAT_20241216.zip refused: ") })
        // Nothing of it in the drop; the run's peak memory far below the 300 MiB it unpacks to.
        #expect(try fixture.localNames() == ["PLAT_20241216.zip"])
        #expect(run.peakKiB < 160 << 10, "the run's peak was \(run.peakKiB) KiB")
        let alerts = try reckon(["alerts", "list", "--date", "2024-12-16", "--code", "inbound_archive_refused", "--json", "--config", config],
                                scratch: fixture.scratch)
        let listed = try #require(try json(alerts.output)["alerts"] as? [[String: Any]])
        #expect(listed.map { $0["subject"] as? String } == ["platform/PLAT_20241216.zip"])
    }
}
