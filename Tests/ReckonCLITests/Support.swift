import Foundation
import Testing

let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .deletingLastPathComponent().deletingLastPathComponent().path

/// The `reckon` executable built beside this test bundle.
let reckonExecutable: String = {
    let bundle = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
    var folder = bundle.deletingLastPathComponent()
    // `swift test` runs …/debug/reckonPackageTests.xctest; the CLI sits next to it.
    for _ in 0..<3 {
        let candidate = folder.appendingPathComponent("reckon").path
        if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        folder = folder.deletingLastPathComponent()
    }
    return repositoryRoot + "/.build/debug/reckon"
}()

struct RunResult {
    let status: Int32
    let stdout: String
    let stderr: String
}

/// Runs `reckon` with arguments in the repository root.
func reckon(_ arguments: String...) throws -> RunResult {
    try reckon(arguments)
}

func reckon(_ arguments: [String]) throws -> RunResult {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: reckonExecutable)
    process.arguments = arguments
    process.currentDirectoryURL = URL(fileURLWithPath: repositoryRoot)
    let out = Pipe(), err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    // Read before waiting, so a large output cannot fill the pipe and stall the child.
    let stdout = out.fileHandleForReading.readDataToEndOfFile()
    let stderr = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return RunResult(status: process.terminationStatus,
                     stdout: String(decoding: stdout, as: UTF8.self),
                     stderr: String(decoding: stderr, as: UTF8.self))
}

/// A scratch folder, removed when the value is released.
final class ScratchFolder {
    let path: String

    init() {
        path = NSTemporaryDirectory() + "reckon-cli-" + UUID().uuidString
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    func write(_ name: String, _ text: String) -> String {
        let file = path + "/" + name
        _ = FileManager.default.createFile(atPath: file, contents: Data(text.utf8))
        return file
    }
}

/// A working folder whose configuration (the repository's, with its specs and data) reads
/// partner files from the drops under `drops` and keeps its own ledger. The shipped
/// expected files are left out unless `expectedFiles`.
func workspace(_ drops: String, expectedFiles: Bool = false) throws -> ScratchFolder {
    let folder = ScratchFolder()
    var yaml = try String(contentsOfFile: repositoryRoot + "/reckon.yaml", encoding: .utf8)
        .replacingOccurrences(of: "spec: mappings/", with: "spec: \(repositoryRoot)/mappings/")
        .replacingOccurrences(of: " data/", with: " \(repositoryRoot)/data/")
        .replacingOccurrences(of: "drop: inbox/", with: "drop: \(drops)/")
    if !expectedFiles {
        yaml = yaml.split(separator: "\n", omittingEmptySubsequences: false)
            .filter { !$0.hasPrefix("        expected: ") }.joined(separator: "\n")
    }
    for type in ["loans", "repayments", "statements", "bills"] {
        yaml = yaml.replacingOccurrences(of: "      \(type):\n", with: "      \(type):\n        ready: {stable_seconds: 0}\n")
    }
    _ = folder.write("reckon.yaml", yaml)
    return folder
}
