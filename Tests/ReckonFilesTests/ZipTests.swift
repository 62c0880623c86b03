import CLibZip
import Foundation
import ReckonCore
import ReckonFiles
import Testing

/// The day's zip read back by the system's unzip, byte-identical when written again; and
/// the reader of inbound archives refusing what could hurt: traversal, absolute names,
/// NUL, links, too many entries, and a zip bomb (refused in bounded memory).
@Suite("Zip archives")
struct ZipTests {
    static let date = CivilDate(year: 2024, month: 12, day: 16)!

    /// Runs a system tool; its standard output as bytes and its exit status.
    func run(_ tool: String, _ arguments: [String]) throws -> (status: Int32, output: Data) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tool)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        try process.run()
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, output)
    }

    @Test func theDayZipReadsBackWithTheSystemUnzipAndIsTheSameBytesWhenWrittenAgain() throws {
        let scratch = ScratchFolder()
        let settlement = scratch.write("settlement.txt", "H|结算|2\nD|1|100.00\nT|100.00\n")
        let plans = scratch.write("plans.csv", String(repeating: "L1,1,1000.00\n", count: 5000))
        let entries = [(name: "settlement.txt", path: settlement), (name: "plans.csv", path: plans)]
        try DayZip.write(entries: entries, to: scratch.path + "/a.zip", date: Self.date)
        // The sources' times change; the archive must not.
        try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSince1970: 0)], ofItemAtPath: plans)
        try DayZip.write(entries: entries, to: scratch.path + "/b.zip", date: Self.date)
        let first = try Data(contentsOf: URL(fileURLWithPath: scratch.path + "/a.zip"))
        #expect(first == (try Data(contentsOf: URL(fileURLWithPath: scratch.path + "/b.zip"))))
        #expect(first.count < 2000, "deflated: \(first.count) bytes for 65,000 of plans")

        let test = try run("/usr/bin/unzip", ["-t", scratch.path + "/a.zip"])
        #expect(test.status == 0)
        #expect(String(decoding: test.output, as: UTF8.self).contains("No errors detected in compressed data"))
        #expect(try run("/usr/bin/unzip", ["-p", scratch.path + "/a.zip", "settlement.txt"]).output
                == (try Data(contentsOf: URL(fileURLWithPath: settlement))))
        #expect(try run("/usr/bin/unzip", ["-p", scratch.path + "/a.zip", "plans.csv"]).output
                == (try Data(contentsOf: URL(fileURLWithPath: plans))))
        let listing = String(decoding: try run("/usr/bin/unzip", ["-l", scratch.path + "/a.zip"]).output, as: UTF8.self)
        #expect(listing.contains("2024-12-16 00:00   settlement.txt") && listing.contains("2024-12-16 00:00   plans.csv"), "\(listing)")
        // Entries in the order given, no temporary file left.
        #expect(listing.range(of: "settlement.txt")!.lowerBound < listing.range(of: "plans.csv")!.lowerBound)
        #expect(try FileManager.default.contentsOfDirectory(atPath: scratch.path).sorted() == ["a.zip", "b.zip", "plans.csv", "settlement.txt"])

        let unpacked = try SafeUnzip.unpack(scratch.path + "/a.zip", into: scratch.path + "/out")
        #expect(unpacked.map(\.name) == ["settlement.txt", "plans.csv"] && unpacked.map(\.sizeBytes) == [31, 65_000])
        #expect(FileManager.default.contents(atPath: scratch.path + "/out/plans.csv") == FileManager.default.contents(atPath: plans))
    }

    @Test func dosTimesSayTheBusinessDay() throws {
        let scratch = ScratchFolder()
        let file = scratch.write("x.txt", "x\n")
        try DayZip.write(entries: [(name: "x.txt", path: file)], to: scratch.path + "/x.zip", date: CivilDate(year: 2031, month: 2, day: 28)!)
        let listing = String(decoding: try run("/usr/bin/unzip", ["-l", scratch.path + "/x.zip"]).output, as: UTF8.self)
        #expect(listing.contains("2031-02-28 00:00   x.txt"), "\(listing)")
    }

    // MARK: Hostile archives, built here through libzip

    enum Entry {
        case file(String, [UInt8])
        case link(String, target: String)
    }

    /// A zip holding the entries as given, names unchecked (what an attacker would send).
    func hostile(_ entries: [Entry], at path: String) throws {
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

    func refusal(_ archive: String, limits: UnzipLimits = UnzipLimits()) -> ZipError? {
        let folder = archive + ".out"
        do {
            _ = try SafeUnzip.unpack(archive, into: folder, limits: limits)
            return nil
        } catch {
            #expect(!FileManager.default.fileExists(atPath: folder), "a refused archive leaves nothing unpacked")
            return error
        }
    }

    @Test func namesThatLeaveTheFolderAreRefusedBeforeAnythingIsWritten() throws {
        let scratch = ScratchFolder()
        for (name, reason) in [("../x", "its name climbs out of the folder (..)"), ("a/../../x", "its name climbs out of the folder (..)"),
                               ("/etc/x", "its name is an absolute path"), ("a\\..\\x", "its name holds a backslash"),
                               ("a//x", "its name has an empty or . part")] {
            let archive = scratch.path + "/bad.zip"
            try hostile([.file("fine.txt", Array("ok\n".utf8)), .file(name, Array("x\n".utf8))], at: archive)
            #expect(refusal(archive) == ZipError(archive: archive, entry: name, reason: reason))
        }
    }

    @Test func aSymbolicLinkEntryIsRefused() throws {
        let scratch = ScratchFolder()
        let archive = scratch.path + "/link.zip"
        try hostile([.link("passwd", target: "/etc/passwd")], at: archive)
        #expect(refusal(archive) == ZipError(archive: archive, entry: "passwd", reason: "is a symbolic link; links are never unpacked"))
    }

    @Test func aNameHoldingNULIsRefused() throws {
        let scratch = ScratchFolder()
        let archive = scratch.path + "/nul.zip"
        try hostile([.file("evil.txtQ.sh", Array("x\n".utf8))], at: archive)
        // The Q becomes NUL in the local header and the central directory (names are not in the CRC).
        var bytes = try Data(contentsOf: URL(fileURLWithPath: archive))
        let name = Data("evil.txtQ.sh".utf8)
        var from = bytes.startIndex
        while let found = bytes.range(of: name, in: from..<bytes.endIndex) {
            bytes[found.lowerBound + 8] = 0
            from = found.upperBound
        }
        try bytes.write(to: URL(fileURLWithPath: archive))
        let error = try #require(refusal(archive))
        #expect(error.reason == "its name holds a NUL byte", "\(error)")
    }

    @Test func tooManyEntriesAreRefused() throws {
        let scratch = ScratchFolder()
        let archive = scratch.path + "/many.zip"
        try hostile((1...5).map { .file("f\($0).txt", Array("x\n".utf8)) }, at: archive)
        #expect(refusal(archive, limits: UnzipLimits(maxEntries: 4)) == ZipError(archive: archive, reason: "has 5 entries, more than the 4 allowed"))
        #expect(try SafeUnzip.unpack(archive, into: scratch.path + "/five", limits: UnzipLimits(maxEntries: 5)).count == 5)
    }

    @Test func entryAndTotalSizesAreCountedAsWritten() throws {
        let scratch = ScratchFolder()
        let archive = scratch.path + "/big.zip"
        // Pseudo-random bytes, so the ratio limit is not what stops them.
        var state: UInt64 = 42
        let bytes = (0..<300_000).map { _ -> UInt8 in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return UInt8(truncatingIfNeeded: state >> 33)
        }
        try hostile([.file("a.bin", bytes), .file("b.bin", bytes)], at: archive)
        #expect(refusal(archive, limits: UnzipLimits(maxEntryBytes: 200_000))
                == ZipError(archive: archive, entry: "a.bin", reason: "unpacks to more than 200000 bytes, the most one entry may"))
        #expect(refusal(archive, limits: UnzipLimits(maxTotalBytes: 500_000))
                == ZipError(archive: archive, entry: "b.bin", reason: "the archive unpacks to more than 500000 bytes, the most it may"))
        #expect(try SafeUnzip.unpack(archive, into: scratch.path + "/ok").map(\.sizeBytes) == [300_000, 300_000])
    }

    /// 200 MB of zeros deflated to a few hundred KB: refused once the bytes written pass
    /// the ratio limit, with the process's peak memory growing by far less than the bomb.
    @Test func aZipBombIsRefusedInBoundedMemory() throws {
        let scratch = ScratchFolder()
        let zeros = scratch.path + "/zeros.bin"
        _ = FileManager.default.createFile(atPath: zeros, contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: zeros))
        try handle.truncate(atOffset: 200 << 20)   // sparse: no disk, all zeros
        try handle.close()
        let archive = scratch.path + "/bomb.zip"
        var before = rusage()
        getrusage(RUSAGE_SELF.rawValue, &before)
        try DayZip.write(entries: [(name: "zeros.bin", path: zeros)], to: archive, date: Self.date)
        let compressed = try #require(try FileManager.default.attributesOfItem(atPath: archive)[.size] as? Int)
        #expect(compressed < 1 << 20, "200 MB of zeros deflate to \(compressed) bytes")
        let error = try #require(refusal(archive))
        #expect(error.entry == "zeros.bin")
        #expect(error.reason.hasPrefix("unpacks to more than 200 times its ") && error.reason.hasSuffix(" compressed bytes (a zip bomb?)"), "\(error)")
        var after = rusage()
        getrusage(RUSAGE_SELF.rawValue, &after)
        // ru_maxrss is the process's peak in KiB: writing and refusing the bomb added < 64 MiB.
        #expect(after.ru_maxrss - before.ru_maxrss < 64 << 10, "peak grew by \(after.ru_maxrss - before.ru_maxrss) KiB")
    }

    @Test func somethingThatIsNotAZipSaysSo() throws {
        let scratch = ScratchFolder()
        let path = scratch.write("not.zip", "hello\n")
        #expect(refusal(path) == ZipError(archive: path, reason: "cannot be opened as a zip: Not a zip archive"))
    }
}
