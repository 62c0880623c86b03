import CLibZip
import Foundation
import GRDB
import ReckonCore
import ReckonFiles
import ReckonLedger
import Testing

/// A partner's zip archives in its drop (`archives:`), unpacked by the collect step into the
/// drop, their entries then collected and posted as the partner's files; hostile or broken
/// archives refused whole, quarantined with a report, an alert raised and the run failed.
/// Every archive here is built by libzip in the test.
@Suite("Inbound archives", .serialized)
struct InboundArchiveTests {
    static let settlement = "BANK_SETTLE_20241215.txt"

    /// The sample configuration with the bank dropping `BANK_{yyyyMMdd}.zip` (ready at once),
    /// and nothing in the drops.
    func day(limits: String = "", ready: String = "{stable_seconds: 0}") throws -> DayFolder {
        try DayFolder(copy: false) { yaml in
            yaml.replacingOccurrences(of: "    drop: inbox/bank\n", with: """
                    drop: inbox/bank
                    archives:
                      daily: {name: "BANK_{yyyyMMdd}.zip", ready: \(ready)\(limits)}

                """)
        }
    }

    enum Entry {
        case file(String, [UInt8])
        case link(String, target: String)
    }

    /// A zip holding the entries as given, names unchecked (as an attacker would send them).
    static func zip(_ entries: [Entry], at path: String) throws {
        var code: Int32 = 0
        let archive = try #require(zip_open(path, ZIP_CREATE | ZIP_TRUNCATE, &code))
        for entry in entries {
            let (name, bytes, mode): (String, [UInt8], UInt32) = switch entry {
            case .file(let name, let bytes): (name, bytes, 0o100644)
            case .link(let name, let target): (name, Array(target.utf8), 0o120777)
            }
            let copy = UnsafeMutableRawPointer.allocate(byteCount: max(bytes.count, 1), alignment: 1)
            bytes.withUnsafeBytes { copy.copyMemory(from: $0.baseAddress!, byteCount: bytes.count) }
            let source = try #require(zip_source_buffer(archive, copy, zip_uint64_t(bytes.count), 1))
            let index = zip_file_add(archive, name, source, zip_flags_t(ZIP_FL_ENC_UTF_8))
            try #require(index >= 0, "\(String(cString: zip_strerror(archive)))")
            zip_file_set_external_attributes(archive, zip_uint64_t(index), 0, zip_uint8_t(ZIP_OPSYS_UNIX), mode << 16)
        }
        try #require(zip_close(archive) == 0)
    }

    static func fixture(_ name: String) throws -> [UInt8] {
        Array(try Data(contentsOf: URL(fileURLWithPath: repositoryRoot + "/mappings/samples/partners/" + name)))
    }

    func run(_ day: DayFolder) throws -> BatchReport {
        try Batch.run(BatchOptions(date: sampleDay, steps: [.collect, .ingest], maximumWaitSeconds: 0), config: day.config,
                      ledger: try day.ledger())
    }

    func names(_ folder: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).sorted()
    }

    func alerts(_ day: DayFolder) throws -> [String] {
        let queue = try DatabaseQueue(path: day.config.databasePath)
        return try queue.read { db in
            try String.fetchAll(db, sql: "SELECT kind || ' ' || severity || ' ' || subject || ': ' || message FROM alert ORDER BY kind, subject")
        }
    }

    @Test func aGoodArchiveIsUnpackedOnceAndItsEntriesPostAsTheBanksFiles() throws {
        let day = try day()
        let drop = day.root + "/inbox/bank"
        try Self.zip([.file(Self.settlement, try Self.fixture(Self.settlement))], at: drop + "/BANK_20241215.zip")

        let first = try run(day)
        #expect(first.archives?.unpacked == [.init(path: drop + "/BANK_20241215.zip", partner: "bank", archiveType: "daily",
                                                   entries: [Self.settlement], earlier: false)])
        #expect(first.archives?.refused.isEmpty == true)
        #expect(first.ingested.map { "\($0.file) \($0.outcome.rawValue)" } == ["\(drop)/\(Self.settlement) posted"])
        #expect(first.collected.unknown.isEmpty, "the archive is the bank's: \(first.collected.unknown)")
        #expect(first.outcome == .succeeded, "\(first.errors)")
        #expect(Batch.summary(first).hasPrefix("1 posted, 0 repeated, 0 rejected, 0 failed, 0 waiting; 1 archive unpacked"))
        // The entry is in the drop, byte for byte; no staging folder is left.
        #expect(names(drop) == ["BANK_20241215.zip", Self.settlement])
        #expect(FileManager.default.contents(atPath: drop + "/" + Self.settlement) == Data(try Self.fixture(Self.settlement)))

        // Run again: the archive is not unpacked again, its file is a repeat.
        let again = try run(day)
        #expect(again.archives?.unpacked.map(\.earlier) == [true])
        #expect(again.ingested.map(\.outcome) == [.repeated])
        #expect(again.outcome == .succeeded)
        #expect(!Batch.summary(again).contains("unpacked"))

        // A killed run's leftovers: the entry already there with the same bytes, a staging
        // folder of a dead process. A new archive (other bytes, same entry) unpacks over
        // neither: the same entry is left alone and the staging folder goes.
        try FileManager.default.createDirectory(atPath: drop + "/.unpack-BANK_20241215.zip-999999", withIntermediateDirectories: true)
        try Self.zip([.file(Self.settlement, try Self.fixture(Self.settlement)), .file("README.txt", Array("hello\n".utf8))],
                     at: drop + "/BANK_20241215.zip")
        let third = try run(day)
        #expect(third.archives?.unpacked.map(\.entries) == [[Self.settlement, "README.txt"]])
        #expect(names(drop) == ["BANK_20241215.zip", Self.settlement, "README.txt"])
        #expect(third.collected.unknown == [drop + "/README.txt"])
    }

    @Test func anArchiveWaitsForItsMarkerAsAFileWould() throws {
        let day = try day(ready: #"{marker: "{name}.ok"}"#)
        let drop = day.root + "/inbox/bank"
        try Self.zip([.file(Self.settlement, try Self.fixture(Self.settlement))], at: drop + "/BANK_20241215.zip")
        let waiting = try run(day)
        #expect(waiting.archives == nil)
        #expect(waiting.collected.waiting.map { "\($0.path) \($0.partner)/\($0.fileType): \($0.reason)" }
                == ["\(drop)/BANK_20241215.zip bank/daily: no marker file BANK_20241215.zip.ok yet"])
        #expect(waiting.collected.unknown.isEmpty)
        #expect(names(drop) == ["BANK_20241215.zip"])
        day.write("inbox/bank/BANK_20241215.zip.ok", "")
        let ready = try run(day)
        #expect(ready.archives?.unpacked.map(\.entries) == [[Self.settlement]])
        #expect(ready.ingested.map(\.outcome) == [.posted])
        #expect(ready.collected.unknown.isEmpty, "the marker is the archive's: \(ready.collected.unknown)")
    }

    @Test func aDryRunUnpacksButRecordsAndQuarantinesNothing() throws {
        let day = try day()
        let drop = day.root + "/inbox/bank"
        try Self.zip([.file(Self.settlement, try Self.fixture(Self.settlement))], at: drop + "/BANK_20241215.zip")
        let ledger = try day.ledger()
        let dry = try Batch.run(BatchOptions(date: sampleDay, steps: [.collect, .ingest], dryRun: true, maximumWaitSeconds: 0),
                                config: day.config, ledger: ledger)
        #expect(dry.archives?.unpacked.map(\.entries) == [[Self.settlement]])
        #expect(dry.checked.map(\.isClean) == [true])
        let queue = try DatabaseQueue(path: day.config.databasePath)
        #expect(try queue.read { try Int.fetchOne($0, sql: "SELECT count(*) FROM inbound_archive") } == 0)
        // The real run finds the entry there, the same bytes, and records the archive.
        let real = try run(day)
        #expect(real.archives?.unpacked.map(\.earlier) == [false])
        #expect(real.ingested.map(\.outcome) == [.posted])
        #expect(try queue.read { try String.fetchAll($0, sql: "SELECT name || ' ' || status || ' ' || entries FROM inbound_archive") }
                == ["BANK_20241215.zip unpacked \(Self.settlement)"])

        // A refused archive in a dry run: said, not quarantined.
        try Self.zip([.file("../x", Array("x\n".utf8))], at: drop + "/BANK_20241215.zip")
        let refused = try Batch.run(BatchOptions(date: sampleDay, steps: [.collect, .ingest], dryRun: true, maximumWaitSeconds: 0),
                                    config: day.config, ledger: ledger)
        #expect(refused.errors == ["inbound archive \(drop)/BANK_20241215.zip refused: entry \"../x\": its name climbs out of the folder (..)"])
        #expect(refused.outcome == .failed)
        #expect(!FileManager.default.fileExists(atPath: day.config.quarantineFolder))
    }

    /// Refused archives, each checked the same way: the reason as the report and the run
    /// say it, the archive quarantined whole with its report, nothing of it in the drop, the
    /// alert, a failed run; and a re-run names it again without quarantining it twice.
    func expectRefused(_ day: DayFolder, entry: String?, reason: String, file: String = "BANK_20241215.zip") throws {
        let drop = day.root + "/inbox/bank"
        let archive = drop + "/" + file
        let before = names(drop)
        let report = try run(day)
        let quarantined = day.config.quarantineFolder + "/2024-12-15/bank/archives/" + file
        let refused = InboundArchivesReport.Refused(path: archive, partner: "bank", archiveType: "daily", entry: entry, reason: reason,
                                                    quarantinePath: quarantined, reportPath: quarantined + ".report.txt", earlier: false)
        #expect(report.archives?.refused == [refused])
        #expect(report.archives?.unpacked.isEmpty == true)
        #expect(report.outcome == .failed)
        let line = "inbound archive \(archive) refused: " + (entry.map { "entry \"\($0)\": " } ?? "") + reason
            + "; quarantined whole as \(quarantined) with its report \(quarantined).report.txt"
        #expect(report.errors == [line])
        #expect(Batch.summary(report).contains("; 1 archive refused"))
        // Nothing of it reached the drop (nor above it), and nothing was posted.
        #expect(names(drop) == before)
        #expect(names(day.root + "/inbox") == ["bank", "channel", "core", "platform"])
        #expect(report.ingested.isEmpty)
        // Quarantined whole, with its report.
        #expect(FileManager.default.contents(atPath: quarantined) == FileManager.default.contents(atPath: archive))
        let text = try String(contentsOfFile: quarantined + ".report.txt", encoding: .utf8)
        #expect(text.hasPrefix("inbound archive refused: \(archive)\npartner: bank (archives: daily, BANK_{yyyyMMdd}.zip)\n"
                               + "business date: 2024-12-15\n"), "\(text)")
        #expect(text.contains((entry.map { "entry: \"\($0)\"\n" } ?? "") + "reason: \(reason)\n"), "\(text)")
        #expect(try alerts(day) == ["inbound_archive_refused critical bank/\(file): \(line)"])

        // Again: named again (the run fails while it is in the drop), not quarantined twice.
        let again = try run(day)
        #expect(again.outcome == .failed)
        #expect(again.errors == ["inbound archive \(archive) refused on an earlier run: " + (entry.map { "entry \"\($0)\": " } ?? "")
                                 + reason + "; quarantined whole as \(quarantined) with its report \(quarantined).report.txt"])
        #expect(names(day.config.quarantineFolder + "/2024-12-15/bank/archives") == [file, file + ".report.txt"])
        #expect(try alerts(day).count == 1)
    }

    /// 200 MB of zeros deflated to a few hundred KB: refused once the bytes written pass the
    /// ratio limit, the process's peak memory growing by far less than the bomb.
    @Test func aZipBombIsRefusedInBoundedMemoryAndQuarantinedWhole() throws {
        let day = try day()
        let zeros = day.root + "/zeros.bin"
        _ = FileManager.default.createFile(atPath: zeros, contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: zeros))
        try handle.truncate(atOffset: 200 << 20)   // sparse: all zeros, no disk
        try handle.close()
        let archive = day.root + "/inbox/bank/BANK_20241215.zip"
        try DayZip.write(entries: [(name: Self.settlement, path: zeros)], to: archive, date: sampleDay)
        try FileManager.default.removeItem(atPath: zeros)
        var before = rusage()
        getrusage(RUSAGE_SELF.rawValue, &before)
        try expectRefused(day, entry: Self.settlement,
                          reason: "unpacks to more than 200 times its \(Self.compressedBytes(archive)) compressed bytes (a zip bomb?)")
        var after = rusage()
        getrusage(RUSAGE_SELF.rawValue, &after)
        // ru_maxrss is the peak in KiB: refusing the bomb added less than 64 MiB.
        #expect(after.ru_maxrss - before.ru_maxrss < 64 << 10, "peak grew by \(after.ru_maxrss - before.ru_maxrss) KiB")
    }

    /// The compressed size of an archive's first entry, as libzip reads it.
    static func compressedBytes(_ archive: String) -> Int {
        var code: Int32 = 0
        guard let zip = zip_open(archive, ZIP_RDONLY, &code) else { return -1 }
        defer { zip_discard(zip) }
        var status = zip_stat_t()
        zip_stat_index(zip, 0, 0, &status)
        return Int(status.comp_size)
    }

    @Test func anEntryClimbingOutOfTheDropIsRefused() throws {
        let day = try day()
        try Self.zip([.file(Self.settlement, try Self.fixture(Self.settlement)), .file("../EVIL.txt", Array("x\n".utf8))],
                     at: day.root + "/inbox/bank/BANK_20241215.zip")
        try expectRefused(day, entry: "../EVIL.txt", reason: "its name climbs out of the folder (..)")
    }

    @Test func anAbsoluteNameIsRefused() throws {
        let day = try day()
        try Self.zip([.file(day.root + "/EVIL.txt", Array("x\n".utf8))], at: day.root + "/inbox/bank/BANK_20241215.zip")
        try expectRefused(day, entry: day.root + "/EVIL.txt", reason: "its name is an absolute path")
    }

    @Test func aSymbolicLinkEntryIsRefused() throws {
        let day = try day()
        try Self.zip([.link(Self.settlement, target: "/etc/passwd")], at: day.root + "/inbox/bank/BANK_20241215.zip")
        try expectRefused(day, entry: Self.settlement, reason: "is a symbolic link; links are never unpacked")
    }

    @Test func tooManyEntriesAreRefusedByTheConfiguredLimit() throws {
        let day = try day(limits: ", limits: {max_entries: 4}")
        try Self.zip((1...5).map { .file("F\($0).txt", Array("x\n".utf8)) }, at: day.root + "/inbox/bank/BANK_20241215.zip")
        try expectRefused(day, entry: nil, reason: "has 5 entries, more than the 4 allowed")
    }

    @Test func anEntryInAFolderIsRefused() throws {
        let day = try day()
        try Self.zip([.file("sub/" + Self.settlement, try Self.fixture(Self.settlement))], at: day.root + "/inbox/bank/BANK_20241215.zip")
        try expectRefused(day, entry: "sub/" + Self.settlement, reason: "is in a folder; an inbound archive's entries are plain file names")
    }

    @Test func anArchiveNeverReplacesADifferentFileInTheDrop() throws {
        let day = try day()
        let drop = day.root + "/inbox/bank"
        day.write("inbox/bank/README.txt", "ours\n")
        try Self.zip([.file(Self.settlement, try Self.fixture(Self.settlement)), .file("README.txt", Array("theirs\n".utf8))],
                     at: drop + "/BANK_20241215.zip")
        try expectRefused(day, entry: "README.txt",
                          reason: "a different file of that name is already in the drop (\(drop)/README.txt); nothing was unpacked over it")
        #expect(FileManager.default.contents(atPath: drop + "/README.txt") == Data("ours\n".utf8))
    }

    @Test func archivesAreCheckedAtLoad() throws {
        func refusal(_ archives: String) -> String? {
            let yaml = try! String(contentsOfFile: repositoryRoot + "/reckon.yaml", encoding: .utf8)
                .replacingOccurrences(of: "    drop: inbox/bank\n", with: "    drop: inbox/bank\n    archives:\n      daily: \(archives)\n")
            do {
                _ = try ConfigLoader.load(yaml: yaml, origin: "reckon.yaml")
                return nil
            } catch {
                return error.message
            }
        }
        #expect(refusal(#"{name: "BANK_{yyyyMMdd}.zip"}"#) == nil)
        #expect(refusal(#"{name: "BANK_{yyyyMMdd}.zip", ready: {trailer: true}}"#)
                == "unknown key 'trailer'; allowed here: marker, stable_seconds")
        #expect(refusal(#"{name: "BANK_{yyyyMMdd}.zip", limits: {max_entries: 0}}"#) == "0 is out of range (1…100000)")
        #expect(refusal(#"{name: "BANK_{yyyyMMdd}.zip", limits: {max_ratio: 5}}"#)?.hasPrefix("unknown key 'max_ratio'") == true)
    }
}
