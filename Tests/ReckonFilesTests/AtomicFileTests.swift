import Foundation
import ReckonFiles
import Testing

/// An outbound file is written whole or not at all, and what a killed writer left behind
/// does not stay on disk.
@Suite("Atomic files")
struct AtomicFileTests {
    let folder: String

    init() throws {
        folder = NSTemporaryDirectory() + "reckon-atomic-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    }

    func names() throws -> [String] { try FileManager.default.contentsOfDirectory(atPath: folder).sorted() }

    /// A process id that is not running: a child that has exited.
    func deadPID() throws -> Int32 {
        let gone = Process()
        gone.executableURL = URL(fileURLWithPath: "/bin/true")
        try gone.run()
        gone.waitUntilExit()
        return gone.processIdentifier
    }

    @Test func aCommittedFileReplacesTheOldOneAndAnAbandonedOneLeavesItAsItWas() throws {
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let path = folder + "/2024-12-16.jsonl"
        let first = try AtomicFile(path: path)
        try first.write("one\n")
        try first.commit()
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "one\n")
        do {
            let second = try AtomicFile(path: path)
            try second.write("two\n")
            let during = try names()
            withExtendedLifetime(second) {}
            #expect(during == ["2024-12-16.jsonl", "2024-12-16.jsonl.partial-\(getpid())"])
        }
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "one\n")
        #expect(try names() == ["2024-12-16.jsonl"])
    }

    @Test func theNextWriterRemovesWhatAKilledWriterLeftAndNothingElse() throws {
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let path = folder + "/2024-12-16.jsonl"
        let dead = try deadPID(), alive = getppid()
        for name in ["2024-12-16.jsonl.partial-\(dead)", "2024-12-16.jsonl.partial-\(alive)",
                     "2024-12-17.jsonl.partial-\(dead)", "2024-12-16.jsonl.partial-notapid"] {
            _ = FileManager.default.createFile(atPath: folder + "/" + name, contents: Data("half".utf8))
        }
        let file = try AtomicFile(path: path)
        try file.write("whole\n")
        try file.commit()
        // The dead writer's half file of this name went; another name's, a live writer's and
        // a name that is not a writer's stay.
        #expect(try names() == ["2024-12-16.jsonl", "2024-12-16.jsonl.partial-\(alive)", "2024-12-16.jsonl.partial-notapid",
                                "2024-12-17.jsonl.partial-\(dead)"])
    }
}
