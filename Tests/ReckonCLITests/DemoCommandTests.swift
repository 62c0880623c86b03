import Foundation
import Testing

/// `reckon demo`: a business day of any size, never written over files a batch would take
/// as corrected re-sends, in flat memory.
@Suite("reckon demo")
struct DemoCommandTests {
    @Test func withoutIntoTheDayGoesToAFreshFolderAndSaysWhere() throws {
        let work = ScratchFolder()
        let run = try reckon(["demo", "--date", "2024-12-16", "--loans", "5", "--mappings", repositoryRoot + "/mappings"], in: work.path)
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.hasPrefix("a business day 2024-12-16 in var/demo/2024-12-16-5-loans: 5 loans disbursed"), "\(run.stdout)")
        #expect(FileManager.default.fileExists(atPath: work.path + "/var/demo/2024-12-16-5-loans/platform/PLAT_LOAN_20241216.csv"))
        #expect(!FileManager.default.fileExists(atPath: work.path + "/inbox"))
    }

    @Test func aDayIsNeverWrittenOverOtherFilesWithoutReplace() throws {
        let work = ScratchFolder()
        func demo(_ loans: Int, _ extra: String...) throws -> RunResult {
            try reckon(["demo", "--date", "2024-12-16", "--loans", String(loans), "--into", work.path,
                        "--mappings", repositoryRoot + "/mappings"] + extra)
        }
        #expect(try demo(5).status == 0)
        let loans = work.path + "/platform/PLAT_LOAN_20241216.csv"
        let before = try Data(contentsOf: URL(fileURLWithPath: loans))
        // The same day again is the same bytes: nothing to refuse.
        #expect(try demo(5).status == 0)

        let bigger = try demo(8)
        #expect(bigger.status == 1)
        #expect(bigger.stderr.hasPrefix("reckon: \(work.path) already holds "), "\(bigger.stderr)")
        #expect(bigger.stderr.contains("platform/PLAT_LOAN_20241216.csv"))
        #expect(bigger.stderr.contains("a batch would take them as corrected re-sends. Nothing was written"))
        #expect(try Data(contentsOf: URL(fileURLWithPath: loans)) == before)
        // No staging folder is left behind.
        #expect(try FileManager.default.contentsOfDirectory(atPath: work.path).sorted() == ["bank", "channel", "core", "platform"])

        #expect(try demo(8, "--replace").status == 0)
        #expect(try Data(contentsOf: URL(fileURLWithPath: loans)) != before)
    }

    /// Six times the loans, about the same peak memory: the day is streamed to its files.
    /// (It held every line of every file before: about 4 KiB a loan.)
    @Test func aDayIsWrittenInFlatMemory() throws {
        let work = ScratchFolder()
        func peak(_ loans: Int) throws -> Int {
            let run = try reckonPeakMemory(["demo", "--date", "2024-12-16", "--loans", String(loans),
                                            "--into", work.path + "/\(loans)", "--mappings", repositoryRoot + "/mappings"])
            #expect(run.status == 0)
            return run.peakKiB
        }
        let small = try peak(1_000), large = try peak(6_000)
        #expect(large < small + 8 * 1024, "1,000 loans: \(small) KiB at peak, 6,000 loans: \(large) KiB")
    }
}
