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

/// Runs `reckon` with arguments in `directory` (the repository root by default).
func reckon(_ arguments: [String], in directory: String = repositoryRoot) throws -> RunResult {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: reckonExecutable)
    process.arguments = arguments
    process.currentDirectoryURL = URL(fileURLWithPath: directory)
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

/// Runs `reckon` with arguments, its output discarded, and returns its exit status and its
/// peak resident memory in KiB (the kernel's count for that one process, from wait4).
func reckonPeakMemory(_ arguments: [String]) throws -> (status: Int32, peakKiB: Int) {
    var pid: pid_t = 0
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
    let argv = ([reckonExecutable] + arguments).map { strdup($0) } + [nil]
    defer { argv.forEach { free($0) } }
    let spawned = repositoryRoot.withCString { _ in posix_spawn(&pid, reckonExecutable, &actions, nil, argv, environ) }
    guard spawned == 0 else { throw POSIXError(POSIXErrorCode(rawValue: spawned) ?? .EINVAL) }
    var status: Int32 = 0
    var usage = rusage()
    while wait4(pid, &status, 0, &usage) < 0 && errno == EINTR {}
    let exited = status & 0x7f == 0
    return (exited ? (status >> 8) & 0xff : -1, usage.ru_maxrss)
}
