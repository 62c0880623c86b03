import Foundation
import ReckonCore
import ReckonFiles
import ReckonLedger
import Testing

/// The ledger's record of outbound files (migration 013): a row per file of each installed
/// version, recorded once however often the same install is recorded again.
@Suite("Outbound files")
struct OutboundFilesTests {
    static let date = CivilDate(year: 2024, month: 12, day: 16)!

    func install(version: Int, files: [(String, String)], reason: String, changed: Bool = true) -> OutboxInstall {
        OutboxInstall(partner: "bank", date: Self.date, version: version, changed: changed, reason: reason,
                      files: files.map { name, sha in
                          InstalledFile(fileName: name, fileType: "settlement", spec: "bank-settlement", sizeBytes: 120, recordCount: 3,
                                        controlTotals: [ControlTotalValue(name: "total_amount", value: "12,000.00"),
                                                        ControlTotalValue(name: "count", value: "3")],
                                        sha256Hex: sha, path: "/outbox/bank/2024-12-16/" + name)
                      },
                      manifestPath: "/outbox/bank/2024-12-16/MANIFEST.json", zipPath: nil, doneMarkerPath: nil, archivedPaths: [])
    }

    @Test func recordingTheSameInstallAgainKeepsTheFirstRow() throws {
        let folder = NSTemporaryDirectory() + "reckon-outbound-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let ledger = try Ledger(path: folder + "/reckon.sqlite")

        let first = install(version: 1, files: [("SETTLE.txt", "aa"), ("PLANS.txt", "bb")], reason: "settle")
        try OutboundFiles.record(first, in: ledger, writtenAt: "2024-12-16T01:00:00Z")
        // A crash after the install, before its record: the next run's install is unchanged
        // and records it again.
        try OutboundFiles.record(first, in: ledger, writtenAt: "2024-12-16T02:00:00Z")
        var rows = try OutboundFiles.list(in: ledger)
        #expect(rows.map { "\($0.name) v\($0.version) \($0.writtenAt) \($0.isCurrent)" }
                == ["PLANS.txt v1 2024-12-16T01:00:00Z true", "SETTLE.txt v1 2024-12-16T01:00:00Z true"])
        #expect(rows[1].controlTotals == [ControlTotalValue(name: "total_amount", value: "12,000.00"), ControlTotalValue(name: "count", value: "3")])
        #expect(rows[1].deliveredAt == nil && rows[1].remoteName == nil && rows[1].reason == "settle" && rows[1].spec == "bank-settlement")

        try OutboundFiles.record(install(version: 2, files: [("SETTLE.txt", "cc")], reason: "break B1 resolved"), in: ledger,
                                 writtenAt: "2024-12-17T01:00:00Z")
        rows = try OutboundFiles.list(in: ledger, date: Self.date, partner: "bank")
        #expect(rows.map { "\($0.name) v\($0.version) \($0.sha256Hex) \($0.isCurrent) \($0.reason)" }
                == ["PLANS.txt v1 bb false settle", "SETTLE.txt v1 aa false settle", "SETTLE.txt v2 cc true break B1 resolved"])
        #expect(try OutboundFiles.list(in: ledger, partner: "platform").isEmpty)
        // Version 2 again with other bytes: refused, nothing recorded.
        let error = try #require(throws: LedgerError.self) {
            try OutboundFiles.record(install(version: 2, files: [("SETTLE.txt", "dd")], reason: "again"), in: ledger)
        }
        #expect(error.message == "outbound file bank 2024-12-16 SETTLE.txt v2 is recorded with SHA-256 cc, but the installed one "
                + "has dd: was the day's outbox folder removed by hand?")
        #expect(try OutboundFiles.list(in: ledger).count == 3)
        #expect(try OutboundFiles.list(in: ledger, date: CivilDate(year: 2024, month: 12, day: 17)!).isEmpty)
    }
}
