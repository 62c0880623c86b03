import Foundation
import ReckonFiles
import Testing

@Suite("File errors said in one line")
struct FileErrorTests {
    @Test func aFullDiskFromFoundation() throws {
        // /dev/full refuses every write with ENOSPC, as a full disk does.
        do {
            try Data("report".utf8).write(to: URL(fileURLWithPath: "/dev/full"))
            Issue.record("writing to /dev/full succeeded")
        } catch {
            #expect(FileErrorText.reason(error) == "No space left on device")
            #expect(FileWriteError(path: "/dev/full", what: "the quarantine report", error: error).description
                    == "writing the quarantine report to /dev/full failed: No space left on device")
            #expect(FileErrorText.line(for: error) == "/dev/full: No space left on device")
        }
    }

    @Test func aMissingFolderFromFileManager() throws {
        let folder = ScratchFolder()
        let source = folder.write("a.txt", "x")
        let target = folder.path + "/no/such/folder/a.txt"
        do {
            try FileManager.default.copyItem(atPath: source, toPath: target)
            Issue.record("the copy succeeded")
        } catch {
            // The copy names its destination: that is where writing failed.
            #expect(FileErrorText.reason(error) == "No such file or directory")
            #expect(FileErrorText.line(for: error) == "\(target): No such file or directory")
        }
    }

    @Test func reckonsOwnErrorsKeepTheirWords() {
        let own = FileAccessError(path: "x", reason: "is a directory")
        #expect(FileErrorText.reason(own) == "is a directory")
        #expect(FileErrorText.line(for: own) == nil)
        #expect(FileWriteError(path: "/var/archive/f", what: "the archive copy", errno: ENOSPC).description
                == "writing the archive copy to /var/archive/f failed: No space left on device")
    }
}
