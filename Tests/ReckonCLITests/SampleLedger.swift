import Foundation
import Testing

/// The time zone the CLI tests run reckon in (POSIX form: UTC+8, no zone files needed), so
/// that local times are stated exactly: `2024-12-16 09:00:01 +08:00`.
let testTimeZone = ["TZ": "CST-8"]

/// Runs `reckon` (in the repository root) in the tests' time zone.
func cli(_ arguments: [String]) throws -> Finished {
    try runReckon(arguments, environment: testTimeZone)
}

/// A JSON object from a command's output.
func jsonObject(_ text: String) throws -> [String: Any] {
    try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any], "not a JSON object: \(text)")
}

/// JSON lines, each an object.
func jsonLines(_ text: String) throws -> [[String: Any]] {
    try text.split(separator: "\n").map { try jsonObject(String($0)) }
}

/// The generated sample day (`reckon demo --date 2024-12-16 --loans 20`, as the shipped
/// inbox) in a workspace configured as shipped, expected files included; the days its
/// repaid loans were disbursed on, the day itself and the day after (nothing came) run as
/// batches. Built once for every test that only reads it; nothing may write to it.
final class SampleLedger: @unchecked Sendable {
    let inputs: ScratchFolder
    let folder: ScratchFolder
    let config: String
    /// `reckon demo … --json`.
    let demo: Finished
    /// The day's batch and the next day's, as they ran.
    let day: Finished
    let dayAfter: Finished

    static let shared = Result<SampleLedger, any Error> { try SampleLedger() }

    private init() throws {
        inputs = ScratchFolder()
        // Shared for the whole run, so never released: removed when the process exits.
        sampleFolders.append(inputs.path)
        atexit { for path in sampleFolders { try? FileManager.default.removeItem(atPath: path) } }
        demo = try cli(["demo", "--date", "2024-12-16", "--loans", "20", "--into", inputs.path,
                        "--mappings", repositoryRoot + "/mappings", "--json"])
        guard demo.status == 0 else { throw SampleLedgerError("reckon demo: \(demo.stderr)") }
        folder = try workspace(inputs.path, expectedFiles: true)
        sampleFolders.append(folder.path)
        config = folder.path + "/reckon.yaml"
        for earlier in ["2024-11-06", "2024-11-13", "2024-11-16"] {
            let run = try cli(["batch", "--date", earlier, "--config", config])
            guard run.status == 0 else { throw SampleLedgerError("batch \(earlier): \(run.stdout)\(run.stderr)") }
        }
        day = try cli(["batch", "--date", "2024-12-16", "--config", config])
        dayAfter = try cli(["batch", "--date", "2024-12-17", "--config", config])
    }

    /// `reckon ARGUMENTS --config …` on the sample ledger.
    func run(_ arguments: String...) throws -> Finished {
        try cli(arguments + ["--config", config])
    }

    /// The CSV file of the day in the generated inputs, as rows of fields (header first).
    func csv(_ path: String) throws -> [[String]] {
        try String(contentsOfFile: inputs.path + "/" + path, encoding: .utf8)
            .split(separator: "\n").map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
    }
}

/// The shared ledger's folders (written once, while it is built under `SampleLedger.shared`'s
/// one-time initialisation).
nonisolated(unsafe) private var sampleFolders: [String] = []

struct SampleLedgerError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Text with every run of spaces and line breaks made one space: prose that reckon wraps at
/// 120 columns reads as one line again.
func squeezed(_ text: String) -> String {
    text.split(whereSeparator: { $0 == " " || $0 == "\n" }).joined(separator: " ")
}
