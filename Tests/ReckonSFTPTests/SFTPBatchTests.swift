import Foundation
import Testing

let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .deletingLastPathComponent().deletingLastPathComponent().path

/// The `reckon` executable built beside this test bundle.
let reckonExecutable: String = {
    var folder = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
    for _ in 0..<3 {
        let candidate = folder.appendingPathComponent("reckon").path
        if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        folder = folder.deletingLastPathComponent()
    }
    return repositoryRoot + "/.build/debug/reckon"
}()

/// Runs `reckon`; its exit status and its standard output and error.
func reckon(_ arguments: [String], scratch: Scratch, environment: [String: String] = [:]) throws
    -> (status: Int32, output: String, errors: String) {
    let run = try reckonMeasured(arguments, scratch: scratch, environment: environment)
    return (run.status, run.output, run.errors)
}

/// Runs `reckon` and says, besides how it ended, its own peak memory. With `peakAt`, the run
/// is stopped at that crash point (`RECKON_STOP_AT`) and the peak is its VmHWM there: the
/// high-water mark of reckon's own memory since exec. Without it, ru_maxrss from wait4, which
/// also counts the test process's own peak: posix_spawn shares the parent's memory until the
/// exec, and the kernel keeps that high-water mark in the child's figure (a test process that
/// grew to 160 MiB in a full run makes every child look that big).
func reckonMeasured(_ arguments: [String], scratch: Scratch, environment: [String: String] = [:],
                    peakAt: String? = nil) throws
    -> (status: Int32, output: String, errors: String, peakKiB: Int) {
    let out = scratch.path + "/out-\(UUID().uuidString)", err = scratch.path + "/err-\(UUID().uuidString)"
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 1, out, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    posix_spawn_file_actions_addopen(&actions, 2, err, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    let argv = ([reckonExecutable] + arguments).map { strdup($0) } + [nil]
    var environment = environment
    if let peakAt { environment["RECKON_STOP_AT"] = peakAt }
    let merged = ProcessInfo.processInfo.environment.merging(environment) { $1 }
    let envp = merged.map { strdup("\($0.key)=\($0.value)") } + [nil]
    defer { argv.forEach { free($0) }; envp.forEach { free($0) } }
    var pid: pid_t = 0
    guard posix_spawn(&pid, reckonExecutable, &actions, nil, argv, envp) == 0 else { throw TestSetupError("cannot run reckon") }
    var status: Int32 = 0
    var usage = rusage()
    var ownPeakKiB: Int?
    while true {
        while wait4(pid, &status, peakAt == nil ? 0 : WUNTRACED, &usage) < 0 && errno == EINTR {}
        guard (status & 0xff) == 0x7f else { break }   // stopped at the crash point
        ownPeakKiB = highWaterKiB(of: pid)
        kill(pid, SIGCONT)
    }
    if let peakAt, ownPeakKiB == nil { throw TestSetupError("reckon never stopped at \(peakAt) to have its memory read") }
    let code = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
    return (code, try String(contentsOfFile: out, encoding: .utf8), try String(contentsOfFile: err, encoding: .utf8),
            ownPeakKiB ?? Int(usage.ru_maxrss))
}

/// A live process's VmHWM (peak resident memory of its own address space) in KiB.
private func highWaterKiB(of pid: pid_t) -> Int? {
    guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
          let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }) else { return nil }
    return Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "")
}

@Suite("reckon batch with an SFTP drop", .serialized, .enabled(if: TestSSHServer.unavailable == nil, "sshd is not installed"))
struct SFTPBatchTests {
    /// The repository's configuration in its own folder (its own ledger), files ready at
    /// once; `platformDrop` replaces the platform's `drop:` line.
    func workspace(_ scratch: Scratch, _ name: String, platformDrop: String) throws -> String {
        let folder = try scratch.folder(name)
        var yaml = try String(contentsOfFile: repositoryRoot + "/reckon.yaml", encoding: .utf8)
            .replacingOccurrences(of: "spec: mappings/", with: "spec: \(repositoryRoot)/mappings/")
            .replacingOccurrences(of: " data/", with: " \(repositoryRoot)/data/")
            .replacingOccurrences(of: "    drop: inbox/platform\n", with: platformDrop)
            .replacingOccurrences(of: "drop: inbox/", with: "drop: \(repositoryRoot)/inbox/")
        for type in ["loans", "repayments", "statements", "bills"] {
            yaml = yaml.replacingOccurrences(of: "      \(type):\n", with: "      \(type):\n        ready: {stable_seconds: 0}\n")
        }
        try yaml.write(toFile: folder + "/reckon.yaml", atomically: true, encoding: .utf8)
        return folder + "/reckon.yaml"
    }

    @Test func theSampleDaysPlatformFilesOverSFTPPostAsFromALocalDrop() throws {
        let fixture = try SFTPFixture()
        for name in try FileManager.default.contentsOfDirectory(atPath: repositoryRoot + "/inbox/platform") {
            try FileManager.default.copyItem(atPath: repositoryRoot + "/inbox/platform/" + name, toPath: fixture.remote + "/" + name)
        }
        let local = try workspace(fixture.scratch, "by-folder", platformDrop: "    drop: inbox/platform\n")
        let overSFTP = try workspace(fixture.scratch, "sftp", platformDrop: try fixture.platformDrop())
        let arguments = ["batch", "--date", "2024-12-16", "--steps", "collect,ingest"]
        let byFolder = try reckon(arguments + ["--config", local], scratch: fixture.scratch)
        let bySFTP = try reckon(arguments + ["--config", overSFTP], scratch: fixture.scratch)
        #expect(bySFTP.status == byFolder.status, "\(bySFTP.output)\n\(bySFTP.errors)")
        #expect(bySFTP.errors.contains("sftp 127.0.0.1:\(fixture.server.port): downloaded \(fixture.remote)/PLAT_LOAN_20241216.csv"))
        let fetched = try fixture.localNames()
        #expect(fetched == ["PLAT_LOAN_20241216.csv", "PLAT_REPAY_20241216.csv"], "\(fetched)")
        let exportByFolder = try reckon(["ledger", "export", "--config", local], scratch: fixture.scratch)
        let exportBySFTP = try reckon(["ledger", "export", "--config", overSFTP], scratch: fixture.scratch)
        #expect(exportByFolder.status == 0)
        #expect(exportBySFTP.output.contains("PLAT_REPAY_20241216.csv"))
        #expect(exportBySFTP.output == exportByFolder.output)
    }

    @Test func aRefusedHostKeyFailsTheRunSayingWhy() throws {
        let fixture = try SFTPFixture()
        let impostor = try KeyPair(in: fixture.scratch.folder("other"), name: "other_host")
        let wrongPin = try fixture.server.knownHosts(pinning: impostor)
        let config = try workspace(fixture.scratch, "sftp", platformDrop: try fixture.platformDrop(knownHosts: wrongPin))
        let run = try reckon(["batch", "--date", "2024-12-16", "--steps", "collect,ingest", "--config", config], scratch: fixture.scratch)
        #expect(run.status == 1)
        #expect(run.output.contains("the SFTP drop of platform: the SFTP server 127.0.0.1:\(fixture.server.port) presented the host key "
            + "\(try fixture.server.hostKey.fingerprint) (ssh-ed25519), but known_hosts"), "\(run.output)")

        // It is an alert of the day too, naming the host and both fingerprints; a later
        // fetch with the right key pinned clears it.
        func alerts() throws -> [[String: Any]] {
            let listed = try reckon(["alerts", "list", "--date", "2024-12-16", "--code", "sftp_host_key_refused", "--json",
                                     "--config", config], scratch: fixture.scratch)
            let object = try JSONSerialization.jsonObject(with: Data(listed.output.utf8)) as? [String: Any]
            return object?["alerts"] as? [[String: Any]] ?? []
        }
        let raised = try alerts()
        #expect(raised.count == 1)
        #expect(raised.first?["severity"] as? String == "critical")
        #expect(raised.first?["subject"] as? String == "platform/sftp")
        let message = raised.first?["message"] as? String ?? ""
        let presented = try fixture.server.hostKey.fingerprint, pinnedBefore = try impostor.fingerprint
        #expect(message.contains("127.0.0.1:\(fixture.server.port)") && message.contains(presented) && message.contains(pinnedBefore),
                "\(message)")
        #expect(raised.first?["cleared_on"] is NSNull)

        let yaml = try String(contentsOfFile: config, encoding: .utf8)
        #expect(yaml.contains("known_hosts: \(wrongPin)\n"))
        try yaml.replacingOccurrences(of: "known_hosts: \(wrongPin)\n", with: "known_hosts: \(try fixture.server.knownHosts())\n")
            .write(toFile: config, atomically: true, encoding: .utf8)
        let again = try reckon(["batch", "--date", "2024-12-16", "--steps", "collect,ingest", "--config", config], scratch: fixture.scratch)
        #expect(!again.output.contains("host key"), "\(again.output)")
        #expect(try alerts().first?["cleared_on"] as? String == "2024-12-16")
    }
}
