import Foundation
import ReckonCore
import ReckonFiles
@testable import ReckonLedger
import Testing

/// Keeping copies of received files and writing reports. A copy or report that cannot be
/// written (issue 9, item 13) says so in one line naming the received file, what was being
/// written, where, and the reason in strerror's words — never a Foundation error dump
/// naming the source — and leaves nothing half-written behind.
@Suite("Keeping files", .serialized)
struct FileStoreTests {
    /// The archive keeps the bytes that were hashed: a file that changed in between is
    /// refused, and no partial copy is left behind.
    @Test func aCopyThatDiffersFromTheDigestIsRefused() throws {
        let folder = NSTemporaryDirectory() + "reckon-keep-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let original = folder + "/BANK_SETTLE_20241215.txt"
        try "first version\n".write(toFile: original, atomically: true, encoding: .utf8)
        let digest = try FileDigest(path: original)
        try "second version\n".write(toFile: original, atomically: true, encoding: .utf8)

        let changed = try FileDigest(path: original)
        let error = try #require(throws: FileAccessError.self) {
            try FileStore.copy(original, to: folder + "/archive/BANK_SETTLE_20241215.txt", digest: digest)
        }
        #expect(error.description == "\(original): changed while it was being received "
                + "(SHA-256 \(digest.hex.prefix(12))…, the copy has \(changed.hex.prefix(12))…)")
        let archive = try? FileManager.default.contentsOfDirectory(atPath: folder + "/archive")
        #expect((archive ?? []).isEmpty)

        // Unchanged bytes are kept, under the file's name, and found again by placement.
        let kept = try FileStore.keep(original, digest: try FileDigest(path: original), in: folder + "/archive")
        #expect(kept == folder + "/archive/BANK_SETTLE_20241215.txt")
        #expect(try FileStore.placement(of: original, digest: try FileDigest(path: original), in: folder + "/archive") == (kept, true))
    }

    /// A tmpfs of one page mounted for the test, filled so that nothing more fits: a real
    /// full disk. Only root (CAP_SYS_ADMIN) can mount one.
    final class FullDisk {
        let path: String

        init() throws {
            path = NSTemporaryDirectory() + "reckon-full-" + UUID().uuidString
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
            guard Self.run("/bin/mount", ["-t", "tmpfs", "-o", "size=4k", "tmpfs", path]) == 0 else {
                throw FileAccessError(path: path, reason: "mount -t tmpfs failed")
            }
            // Fill it: a filler file takes every block there is.
            let filler = open(path + "/filler", O_WRONLY | O_CREAT, 0o644)
            let block = [UInt8](repeating: 0, count: 1024)
            while write(filler, block, block.count) > 0 {}
            close(filler)
        }

        deinit {
            _ = Self.run("/bin/umount", [path])
            try? FileManager.default.removeItem(atPath: path)
        }

        @discardableResult
        static func run(_ tool: String, _ arguments: [String]) -> Int32 {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: tool)
            process.arguments = arguments
            process.standardError = FileHandle.nullDevice
            guard (try? process.run()) != nil else { return -1 }
            process.waitUntilExit()
            return process.terminationStatus
        }

        /// Whether this process may mount a tmpfs (root in a namespace that allows it).
        static let mountable: Bool = getuid() == 0 && ((try? FullDisk()) != nil)
    }

    /// The sample day's files, with the archive (or quarantine) in `folder`.
    func day(archive: String? = nil, quarantine: String? = nil) throws -> DayFolder {
        try DayFolder(readiness: PlanStepTests.allReady) { yaml in
            var yaml = yaml
            if let archive { yaml = yaml.replacingOccurrences(of: "  archive: var/archive\n", with: "  archive: \(archive)\n") }
            if let quarantine { yaml = yaml.replacingOccurrences(of: "  quarantine: var/quarantine\n", with: "  quarantine: \(quarantine)\n") }
            return yaml
        }
    }

    @Test(.enabled(if: FullDisk.mountable, "mounting a tmpfs to fill needs root; the ENOTDIR cases below run anywhere"))
    func aFullDiskDuringABatchSaysWhichCopyCouldNotBeWrittenAndWhy() throws {
        let disk = try FullDisk()
        let folder = try day(archive: disk.path)
        let ledger = try folder.ledger()
        let report = try Batch.run(BatchOptions(date: disbursementDay, partner: "platform"), config: folder.config, ledger: ledger)
        #expect(report.outcome == .failed)
        let loans = folder.root + "/inbox/platform/PLAT_LOAN_20241115.csv"
        #expect(report.errors == ["\(loans): writing the archive copy to \(disk.path)/2024-11-15/platform/PLAT_LOAN_20241115.csv "
                                  + "failed: No space left on device"])
        // Nothing was posted, and no partial copy is left on the full disk.
        #expect(try ledger.verify().entries == 0)
        #expect(try FileManager.default.subpathsOfDirectory(atPath: disk.path).filter { $0.contains(".partial-") }.isEmpty)
    }

    @Test func anArchiveThatIsNotAFolderSaysSo() throws {
        let space = try Workspace()
        // The archive's day folder is a file: the copy cannot be made (ENOTDIR).
        try FileManager.default.createDirectory(atPath: space.folder + "/var/archive", withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: space.folder + "/var/archive/2024-11-15", contents: Data("x".utf8))
        let loans = try space.file("platform/PLAT_LOAN_20241115.csv")
        let error = try #require(throws: LedgerError.self) { try space.ingest(loans, "platform", "loans") }
        #expect(error.message == "\(loans): writing the archive copy to \(space.folder)/var/archive/2024-11-15/platform/PLAT_LOAN_20241115.csv "
                + "failed: Not a directory")
        #expect(try space.ledger.verify().entries == 0 && space.ledger.receivedFiles().isEmpty)
    }

    /// A file refused for an unknown repayment type goes to quarantine.
    func refused(_ space: Workspace) throws -> String {
        try space.file("platform/PLAT_REPAY_20241215.csv") { text in
            text.replacingOccurrences(of: "R202412150003,L202411150003,1,NORMAL", with: "R202412150003,L202411150003,1,SOMETIMES")
        }
    }

    @Test func aQuarantineCopyOrReportThatCannotBeWrittenSaysWhichAndWhy() throws {
        let space = try Workspace()
        let quarantine = space.folder + "/var/quarantine/2024-12-15/platform"
        // The partner's quarantine folder is a file: the copy cannot be made.
        try FileManager.default.createDirectory(atPath: space.folder + "/var/quarantine/2024-12-15", withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: quarantine, contents: Data("x".utf8))
        let bad = try refused(space)
        let copy = try #require(throws: LedgerError.self) { try space.ingest(bad, "platform", "repayments") }
        #expect(copy.message == "\(bad): writing the quarantine copy to \(quarantine)/repayments/PLAT_REPAY_20241215.csv failed: Not a directory")

        // A folder where the report goes: the copy is made, the report cannot take its name (EISDIR).
        try FileManager.default.removeItem(atPath: quarantine)
        let reportPath = quarantine + "/repayments/PLAT_REPAY_20241215.csv.report.txt"
        try FileManager.default.createDirectory(atPath: reportPath, withIntermediateDirectories: true)
        let report = try #require(throws: LedgerError.self) { try space.ingest(bad, "platform", "repayments") }
        #expect(report.message == "\(bad): writing the quarantine report to \(reportPath) failed: Is a directory")
        #expect(FileManager.default.fileExists(atPath: quarantine + "/repayments/PLAT_REPAY_20241215.csv"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: quarantine + "/repayments").sorted()
                == ["PLAT_REPAY_20241215.csv", "PLAT_REPAY_20241215.csv.report.txt"])
        // Once the way is clear, the same bytes are refused and quarantined with their report.
        try FileManager.default.removeItem(atPath: reportPath)
        let again = try space.ingest(bad, "platform", "repayments")
        #expect(again.outcome == .rejected && again.reportPath == reportPath)
    }

    @Test func aReportWriteThatFailsNamesTheReportAndTheReason() throws {
        let folder = NSTemporaryDirectory() + "reckon-report-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: folder) }
        // Through a file where a folder should be (ENOTDIR), and onto a folder (EISDIR).
        _ = FileManager.default.createFile(atPath: folder, contents: nil)
        let through = try #require(throws: FileWriteError.self) {
            try FileStore.writeAtomically(folder + "/q/r.txt", "text", what: "the quarantine report")
        }
        #expect(through.description == "writing the quarantine report to \(folder)/q/r.txt failed: Not a directory")
        try FileManager.default.removeItem(atPath: folder)
        try FileManager.default.createDirectory(atPath: folder + "/r.txt", withIntermediateDirectories: true)
        let error = try #require(throws: FileWriteError.self) { try FileStore.writeAtomically(folder + "/r.txt", "text", what: "the report") }
        #expect(error.description == "writing the report to \(folder)/r.txt failed: Is a directory")
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder) == ["r.txt"])
    }
}

/// A received file's name is the partner's: control bytes in it are escaped wherever it is
/// shown (issue 9, item 13), as the file's own raw values are (see ``DisplayText``).
@Suite("Received names shown", .serialized)
struct ReceivedNameTests {
    /// ESC [2J clears a terminal, BEL rings it.
    static let name = "PLAT_LOAN_\u{1B}[2J\u{07}.csv", shown = "PLAT_LOAN_\\u{1B}[2J\\u{7}.csv"

    @Test func aNameWithControlBytesIsShownEscaped() throws {
        let space = try Workspace()
        let path = try space.file("platform/PLAT_LOAN_20241115.csv", named: Self.name)
        let shownPath = space.folder + "/incoming/" + Self.shown
        // No date in the name: the refusal names the file escaped.
        let undated = try #require(throws: LedgerError.self) { try space.ingest(path, "platform", "loans") }
        #expect(undated.message == "\(shownPath): no business date: the name does not fit PLAT_LOAN_{yyyyMMdd}.csv and no --date was given")
        // Posted: what is printed of the result names it escaped; the ledger keeps it as it came.
        let posted = try space.ingest(path, "platform", "loans", date: disbursementDay).escapedForDisplay
        #expect(posted.file == shownPath)
        #expect(posted.archivePath == space.folder + "/var/archive/2024-11-15/platform/" + Self.shown)
        #expect(try space.ledger.receivedFiles().map(\.name) == [Self.name])
        let version = FileVersion(fileID: 1, name: Self.name, sha256: String(repeating: "0", count: 64), receivedAt: "2024-11-15T09:00:00Z",
                                  archivePath: nil)
        #expect(version.description == "\(Self.shown) (file #1, SHA-256 000000000000…, received 2024-11-15T09:00:00Z)")
    }

    @Test func aRefusedFilesReportAndPathsNameItEscaped() throws {
        let space = try Workspace()
        let path = try space.file("platform/PLAT_REPAY_20241215.csv", named: "PLAT_REPAY_20241215\u{1B}[2J.csv") { text in
            text.replacingOccurrences(of: "R202412150003,L202411150003,1,NORMAL", with: "R202412150003,L202411150003,1,SOMETIMES")
        }
        let refused = try space.ingest(path, "platform", "repayments", date: sampleDay)
        #expect(refused.outcome == .rejected)
        let quarantine = space.folder + "/var/quarantine/2024-12-15/platform/repayments/PLAT_REPAY_20241215\\u{1B}[2J.csv"
        let shown = refused.escapedForDisplay
        #expect(shown.file == space.folder + "/incoming/PLAT_REPAY_20241215\\u{1B}[2J.csv")
        #expect(shown.quarantinePath == quarantine && shown.reportPath == quarantine + ".report.txt")
        let report = try String(contentsOfFile: try #require(refused.reportPath), encoding: .utf8)
        #expect(report.hasPrefix("reckon refused \(space.folder)/incoming/PLAT_REPAY_20241215\\u{1B}[2J.csv\n"))
        #expect(!report.contains("\u{1B}"))
    }
}
