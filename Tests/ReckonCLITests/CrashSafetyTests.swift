import Foundation
import Testing

/// `reckon batch` killed with SIGKILL at random points over a multi-file day, then run
/// again: the ledger must end exactly as a clean run leaves it.
@Suite("Crash safety", .serialized)
struct CrashSafetyTests {
    static let day = "2024-12-16"

    func export(_ folder: ScratchFolder) throws -> String {
        let result = try reckon("ledger", "export", "--config", folder.path + "/reckon.yaml")
        #expect(result.status == 0, "\(result.stderr)")
        return result.stdout
    }

    @Test func killedBatchesLeaveTheSameLedgerAsACleanRun() throws {
        let inputs = ScratchFolder()
        let generated = try reckon("demo", "--date", Self.day, "--loans", "1500", "--into", inputs.path, "--mappings", repositoryRoot + "/mappings")
        #expect(generated.status == 0, "\(generated.stderr)")

        let clean = try workspace(inputs.path)
        let started = Date()
        let run = try reckon("batch", "--date", Self.day, "--config", clean.path + "/reckon.yaml")
        let duration = Date().timeIntervalSince(started)
        #expect(run.status == 0, "\(run.stdout)\(run.stderr)")
        let expected = try export(clean)
        #expect(expected.contains("# balances"))

        var generator = SystemRandomNumberGenerator()
        var killedMidway = 0
        for trial in 0..<24 {
            let folder = try workspace(inputs.path)
            let process = Process()
            process.executableURL = URL(fileURLWithPath: reckonExecutable)
            process.arguments = ["batch", "--date", Self.day, "--config", folder.path + "/reckon.yaml"]
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            // One kill in each of 24 equal slices of the clean run's time (at a random point
            // of its slice), so the kills cover the whole run, from opening the ledger to
            // the last commit.
            let delay = duration * 0.95 * (Double(trial) + Double.random(in: 0..<1, using: &generator)) / 24
            usleep(useconds_t(delay * 1_000_000))
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            if process.terminationReason == .uncaughtSignal { killedMidway += 1 }

            let rerun = try reckon("batch", "--date", Self.day, "--config", folder.path + "/reckon.yaml")
            #expect(rerun.status == 0, "trial \(trial): \(rerun.stdout)\(rerun.stderr)")
            let actual = try export(folder)
            #expect(actual == expected, "trial \(trial) (killed after \(String(format: "%.2f", delay)) s) left a different ledger")
            let verify = try reckon("ledger", "verify", "--config", folder.path + "/reckon.yaml")
            #expect(verify.status == 0, "trial \(trial): \(verify.stdout)")
        }
        // Most kills must land while the batch was working, or the test proves little.
        #expect(killedMidway >= 20)
    }
}
