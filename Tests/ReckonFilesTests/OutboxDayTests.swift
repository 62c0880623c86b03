import Foundation
import ReckonCore
import ReckonFiles
import Testing

/// A partner-day's outbound set on real folders: installed whole, unchanged bytes leaving
/// everything untouched, a change making a new version with the old one archived, the
/// manifest's exact bytes, and staged files checked against what their writer said.
@Suite("Outbox day")
struct OutboxDayTests {
    static let date = CivilDate(year: 2024, month: 12, day: 16)!

    /// A scratch root with `outbox/` and `var/archive/outbound/`.
    struct Place {
        let scratch = ScratchFolder()
        var day: OutboxDay {
            OutboxDay(outboxRoot: scratch.path + "/outbox", archiveRoot: scratch.path + "/var/archive/outbound",
                      partner: "bank", date: OutboxDayTests.date)
        }

        /// Writes each file's bytes at its staging path, as a renderer would, and describes it.
        func stage(_ files: [(name: String, text: String)]) throws -> [StagedFile] {
            try files.map { file in
                let path = try day.stagingPath(for: file.name)
                try Data(file.text.utf8).write(to: URL(fileURLWithPath: path))
                let lines = file.text.filter { $0 == "\n" }.count
                return StagedFile(fileName: file.name, fileType: String(file.name.prefix { $0 != "_" }), spec: "fixture", path: path,
                                  sizeBytes: file.text.utf8.count, recordCount: lines,
                                  controlTotals: [ControlTotalValue(name: "total_amount", value: "12,000.00")],
                                  sha256Hex: OutboxDigest.sha256Hex(Array(file.text.utf8)))
            }
        }

        func install(_ files: [(name: String, text: String)], reason: String = "settle 2024-12-16",
                     options: OutboxOptions = OutboxOptions(zipName: "bank_20241216.zip", doneMarkerName: ".done")) throws -> OutboxInstall {
            try day.install(try stage(files), options: options, reason: reason)
        }

        /// Every file under the scratch root by relative path, with its bytes.
        func tree() -> [String: Data] {
            var found: [String: Data] = [:]
            let root = scratch.path
            for case let name as String in FileManager.default.enumerator(atPath: root) ?? .init() {
                var isFolder: ObjCBool = false
                if FileManager.default.fileExists(atPath: root + "/" + name, isDirectory: &isFolder), !isFolder.boolValue {
                    found[name] = FileManager.default.contents(atPath: root + "/" + name)
                }
            }
            return found
        }
    }

    static let first: [(name: String, text: String)] = [("settlement_20241216.txt", "H|2\nD|1|100.00\nD|2|200.00\nT|300.00\n"),
                                                          ("plans_20241216.csv", "loan,period\nL1,1\n")]

    @Test func theFirstSetIsInstalledWholeWithItsManifestZipAndMarker() throws {
        let place = Place()
        let install = try place.install(Self.first)
        #expect(install.version == 1 && install.changed && install.archivedPaths.isEmpty)
        #expect(install.files.map(\.fileName) == ["plans_20241216.csv", "settlement_20241216.txt"])
        #expect(place.tree().keys.sorted() == ["outbox/bank/.2024-12-16.lock", "outbox/bank/2024-12-16/.done", "outbox/bank/2024-12-16/MANIFEST.json",
                                               "outbox/bank/2024-12-16/bank_20241216.zip", "outbox/bank/2024-12-16/plans_20241216.csv",
                                               "outbox/bank/2024-12-16/settlement_20241216.txt"])
        // The SHA-256s are sha256sum's of the two texts.
        let manifest = try String(contentsOfFile: install.manifestPath, encoding: .utf8)
        #expect(manifest == """
            {
              "business_date" : "2024-12-16",
              "done_marker" : ".done",
              "files" : [
                {
                  "control_totals" : [
                    {
                      "name" : "total_amount",
                      "value" : "12,000.00"
                    }
                  ],
                  "file_type" : "plans",
                  "name" : "plans_20241216.csv",
                  "record_count" : 2,
                  "sha256" : "153d1aa39d1131d38e567d009f59cfa841b13688b398651e0e6ea61df575c7c1",
                  "size_bytes" : 17,
                  "spec" : "fixture"
                },
                {
                  "control_totals" : [
                    {
                      "name" : "total_amount",
                      "value" : "12,000.00"
                    }
                  ],
                  "file_type" : "settlement",
                  "name" : "settlement_20241216.txt",
                  "record_count" : 4,
                  "sha256" : "c58263735890808efe354bcd92a1733c308c3507a986ed924a4c3947a20d7eb2",
                  "size_bytes" : 35,
                  "spec" : "fixture"
                }
              ],
              "format" : 1,
              "partner" : "bank",
              "reason" : "settle 2024-12-16",
              "version" : 1,
              "zip" : "bank_20241216.zip"
            }

            """)
        #expect(try place.day.installedManifest()?.version == 1)
    }

    @Test func theSameBytesAgainTouchNothing() throws {
        let place = Place()
        _ = try place.install(Self.first)
        let before = place.tree()
        let inode = try FileManager.default.attributesOfItem(atPath: place.day.manifestPath)[.systemFileNumber] as? Int
        let again = try place.install(Self.first, reason: "a rerun")
        #expect(again.version == 1 && !again.changed && again.reason == "settle 2024-12-16")
        #expect(place.tree() == before, "a rerun changes no byte and leaves no staging folder behind")
        #expect(try FileManager.default.attributesOfItem(atPath: place.day.manifestPath)[.systemFileNumber] as? Int == inode)
    }

    @Test func changedBytesAreANewVersionAndTheOldOneIsArchived() throws {
        let place = Place()
        let first = try place.install(Self.first)
        let old = place.tree()
        var changed = Self.first
        changed[0].text = "H|2\nD|1|100.00\nD|2|250.00\nT|350.00\n"
        let second = try place.install(changed, reason: "break B1 resolved")
        #expect(second.version == 2 && second.changed && second.reason == "break B1 resolved")
        let archive = "var/archive/outbound/bank/2024-12-16/"
        #expect(second.archivedPaths.map { ($0 as NSString).lastPathComponent }
                == ["bank_20241216.zip.v1", "plans_20241216.csv.v1", "settlement_20241216.txt.v1", "MANIFEST.json.v1"],
                "the manifest last: while it is in the staging folder, the folder is known as a replaced set")
        let tree = place.tree()
        for name in ["MANIFEST.json", "bank_20241216.zip", "plans_20241216.csv", "settlement_20241216.txt"] {
            #expect(tree[archive + name + ".v1"] == old["outbox/bank/2024-12-16/" + name], "\(name) archived as it was")
        }
        #expect(tree["outbox/bank/2024-12-16/settlement_20241216.txt"] == Data(changed[0].text.utf8))
        let manifest = try #require(try place.day.installedManifest())
        #expect(manifest.version == 2 && manifest.reason == "break B1 resolved")
        #expect(manifest.files.map(\.sha256) == second.files.map(\.sha256Hex))
        #expect(first.files[1].sha256Hex != second.files[1].sha256Hex)
        // A third set: version 3, the second one archived beside the first.
        changed[1].text = "loan,period\nL1,1\nL1,2\n"
        let third = try place.install(changed, reason: "plans corrected")
        #expect(third.version == 3)
        #expect(place.tree().keys.filter { $0.hasPrefix(archive) }.count == 8)
        #expect(place.tree()[archive + "settlement_20241216.txt.v2"] == Data(changed[0].text.utf8))
    }

    @Test func aSetWithoutZipOrMarkerHasNone() throws {
        let place = Place()
        let install = try place.install(Self.first, options: OutboxOptions())
        #expect(install.zipPath == nil && install.doneMarkerPath == nil)
        #expect(place.tree().keys.sorted() == ["outbox/bank/.2024-12-16.lock", "outbox/bank/2024-12-16/MANIFEST.json",
                                               "outbox/bank/2024-12-16/plans_20241216.csv",
                                               "outbox/bank/2024-12-16/settlement_20241216.txt"])
        // Asking for a zip the next time is a different set: a new version.
        #expect(try place.install(Self.first).version == 2)
    }

    @Test func aStagedFileIsCheckedAgainstWhatItsWriterSaid() throws {
        let place = Place()
        var files = try place.stage(Self.first)
        files[0].sizeBytes += 1
        #expect(throws: OutboxError(partner: "bank", date: "2024-12-16", path: files[0].path,
                                    reason: "the staged file has 35 bytes, its writer said 36")) {
            try place.day.install(files, options: OutboxOptions(), reason: "r")
        }
        files[0].sizeBytes -= 1
        files[0].sha256Hex = String(repeating: "0", count: 64)
        let actual = OutboxDigest.sha256Hex(Array(Self.first[0].text.utf8))
        #expect(throws: OutboxError(partner: "bank", date: "2024-12-16", path: files[0].path,
                                    reason: "the staged file's SHA-256 is \(actual), its writer said \(files[0].sha256Hex)")) {
            try place.day.install(files, options: OutboxOptions(), reason: "r")
        }
        #expect(!FileManager.default.fileExists(atPath: place.day.dayFolder), "nothing was installed")
    }

    @Test func namesThatCannotBeOneFileOfTheSetAreRefused() throws {
        let place = Place()
        for (name, reason) in [("../x", "it holds a / or NUL"), ("MANIFEST.json", "it is the manifest's name"),
                               (".hidden", "it starts with a dot"), (".done", "it starts with a dot"), ("..", "it names a folder"),
                               ("", "it is empty")] {
            #expect(throws: OutboxError(partner: "bank", date: "2024-12-16", path: place.day.stagingFolder,
                                        reason: "an outbound file's name \"\(name)\" cannot be used: \(reason)")) {
                _ = try place.day.stagingPath(for: name)
            }
        }
        let files = try place.stage(Self.first)
        #expect(throws: OutboxError(partner: "bank", date: "2024-12-16", path: place.day.stagingFolder,
                                    reason: "the zip or marker name plans_20241216.csv is also a file's")) {
            try place.day.install(files, options: OutboxOptions(zipName: "plans_20241216.csv"), reason: "r")
        }
        #expect(throws: OutboxError(partner: "bank", date: "2024-12-16", path: place.day.stagingFolder,
                                    reason: "the set's zip name \".bank.zip\" cannot be used: it starts with a dot")) {
            try place.day.install(files, options: OutboxOptions(zipName: ".bank.zip"), reason: "r")
        }
        // A marker may start with a dot.
        let install = try place.day.install(files, options: OutboxOptions(doneMarkerName: ".ready"), reason: "r")
        #expect(FileManager.default.fileExists(atPath: try #require(install.doneMarkerPath)))
    }

    @Test func strayFilesInTheStagingFolderNeverReachTheSet() throws {
        let place = Place()
        let files = try place.stage(Self.first)
        _ = FileManager.default.createFile(atPath: place.day.stagingFolder + "/left_over.txt", contents: Data("old".utf8))
        _ = try place.day.install(files, options: OutboxOptions(), reason: "r")
        #expect(!FileManager.default.fileExists(atPath: place.day.dayFolder + "/left_over.txt"))
    }

    @Test func aDayFolderReckonDidNotInstallIsRefusedNotReplaced() throws {
        let place = Place()
        try FileManager.default.createDirectory(atPath: place.day.dayFolder, withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: place.day.dayFolder + "/by_hand.txt", contents: Data("x".utf8))
        #expect(throws: OutboxError(partner: "bank", date: "2024-12-16", path: place.day.dayFolder,
                                    reason: "the folder has no MANIFEST.json, so it is no set reckon installed; move it away to install one")) {
            _ = try place.install(Self.first)
        }
        #expect(FileManager.default.fileExists(atPath: place.day.dayFolder + "/by_hand.txt"))
    }

    @Test func aSetCutShortIsInstalledAgainAsANewVersion() throws {
        let place = Place()
        _ = try place.install(Self.first)
        try FileManager.default.removeItem(atPath: place.day.dayFolder + "/plans_20241216.csv")
        let again = try place.install(Self.first, reason: "reinstalled")
        #expect(again.version == 2 && again.changed)
        #expect(FileManager.default.fileExists(atPath: place.day.dayFolder + "/plans_20241216.csv"))
    }

    /// /dev/shm is a tmpfs, another file system than the scratch folder's when it exists.
    static let otherFileSystem: String? = {
        var shm = stat(), temporary = stat()
        guard stat("/dev/shm", &shm) == 0, stat(NSTemporaryDirectory(), &temporary) == 0, shm.st_dev != temporary.st_dev,
              access("/dev/shm", W_OK) == 0 else { return nil }
        return "/dev/shm"
    }()

    @Test(.enabled(if: otherFileSystem != nil, "needs a writable /dev/shm on another file system"))
    func anArchiveOnAnotherFileSystemGetsCopiesFlushedAndRenamed() throws {
        let place = Place()
        let archiveRoot = try #require(Self.otherFileSystem) + "/reckon-outbox-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: archiveRoot) }
        let day = OutboxDay(outboxRoot: place.scratch.path + "/outbox", archiveRoot: archiveRoot, partner: "bank", date: Self.date)
        _ = try day.install(try place.stage(Self.first), options: OutboxOptions(), reason: "first")
        let old = try Data(contentsOf: URL(fileURLWithPath: day.dayFolder + "/settlement_20241216.txt"))
        var changed = Self.first
        changed[0].text = "other\n"
        let second = try day.install(try place.stage(changed), options: OutboxOptions(), reason: "second")
        #expect(second.version == 2)
        #expect(try FileManager.default.contentsOfDirectory(atPath: day.archiveFolder).sorted()
                == ["MANIFEST.json.v1", "plans_20241216.csv.v1", "settlement_20241216.txt.v1"])
        #expect(try Data(contentsOf: URL(fileURLWithPath: day.archiveFolder + "/settlement_20241216.txt.v1")) == old)
        #expect(!FileManager.default.fileExists(atPath: day.stagingFolder))
    }

    /// The state a kill right after the swap leaves (the new set in place, the replaced one
    /// in the staging folder), made by hand: the next call archives the replaced set first.
    @Test func aReplacedSetLeftInTheStagingFolderIsArchivedByTheNextCall() throws {
        let place = Place()
        _ = try place.install(Self.first)
        let saved = place.scratch.path + "/v1"
        try FileManager.default.copyItem(atPath: place.day.dayFolder, toPath: saved)
        var changed = Self.first
        changed[0].text = "other\n"
        _ = try place.install(changed, reason: "second")
        let archived = place.tree().filter { $0.key.hasPrefix("var/") }
        try FileManager.default.removeItem(atPath: place.scratch.path + "/var")
        try FileManager.default.moveItem(atPath: saved, toPath: place.day.stagingFolder)

        try place.day.discardStaging()
        #expect(place.tree().filter { $0.key.hasPrefix("var/") } == archived)
        #expect(!FileManager.default.fileExists(atPath: place.day.stagingFolder))
        #expect(try place.day.installedManifest()?.version == 2)
    }

    @Test func discardingTheStagingFolderLeavesTheInstalledSet() throws {
        let place = Place()
        _ = try place.install(Self.first)
        let before = place.tree()
        _ = try place.stage([("settlement_20241216.txt", "other\n")])
        try place.day.discardStaging()
        #expect(place.tree() == before)
        #expect(!FileManager.default.fileExists(atPath: place.day.stagingFolder))
    }
}
