import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The `reckon` binary run as a child with its standard output in a file, so a test can
/// watch that file while the child runs, kill the child, and read its peak memory.
struct Child {
    let pid: pid_t
    let stdoutPath: String
    let stderrPath: String

    /// Starts `reckon arguments` (paths in them absolute), standard output to `stdoutPath`.
    static func start(_ arguments: [String], stdoutPath: String, stderrPath: String) throws -> Child {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 1, stdoutPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_addopen(&actions, 2, stderrPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        let argv = ([reckonExecutable] + arguments).map { strdup($0) } + [nil]
        let envp = ProcessInfo.processInfo.environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { (argv + envp).forEach { free($0) } }
        var pid: pid_t = 0
        let status = posix_spawn(&pid, reckonExecutable, &actions, nil, argv, envp)
        guard status == 0 else { throw POSIXError(POSIXErrorCode(rawValue: status) ?? .EIO) }
        return Child(pid: pid, stdoutPath: stdoutPath, stderrPath: stderrPath)
    }

    /// Waits for the child: how it ended, and its peak resident memory in KiB.
    func wait() -> (exitStatus: Int32?, signal: Int32?, peakKiB: Int) {
        var status: Int32 = 0
        var usage = rusage()
        while wait4(pid, &status, 0, &usage) < 0 && errno == EINTR {}
        let exited = status & 0x7F == 0
        return (exited ? (status >> 8) & 0xFF : nil, exited ? nil : status & 0x7F, usage.ru_maxrss)
    }

    var stdout: String { (try? String(contentsOfFile: stdoutPath, encoding: .utf8)) ?? "" }
    var stderr: String { (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? "" }
}

@Suite("reckon's own output: line by line, failures said, values escaped, help")
struct OutputTests {
    @Test func aKilledRunLeavesEveryLineItPrinted() throws {
        // Two files: the sample, then a FIFO nobody writes to, whose open blocks. The child
        // prints the sample's report and waits: everything it printed must be in the file
        // before it is killed, as a batch's log must be.
        let folder = ScratchFolder()
        let fifo = folder.path + "/never-written.txt"
        #expect(mkfifo(fifo, 0o600) == 0)
        let spec = repositoryRoot + "/mappings/bank-settlement.yaml"
        let sample = repositoryRoot + "/mappings/samples/partners/BANK_SETTLE_20241215.txt"
        let child = try Child.start(["spec", "check", spec, sample, fifo],
                                    stdoutPath: folder.path + "/out.log", stderrPath: folder.path + "/err.log")
        // Poll for the report's last line (no timing is asserted; the deadline only stops a
        // broken build from hanging the suite).
        let deadline = Date().addingTimeInterval(120)
        while !child.stdout.contains("verdict   ✓ clean\n") && Date() < deadline { usleep(10_000) }
        kill(child.pid, SIGKILL)
        let ended = child.wait()
        #expect(ended.signal == SIGKILL)
        let alone = try reckon("spec", "check", spec, sample)
        #expect(alone.stdout.hasSuffix("verdict   ✓ clean\n"))
        #expect(child.stdout == alone.stdout)
    }

    @Test func aFullDiskIsSaidInOneLine() throws {
        let folder = ScratchFolder()
        let child = try Child.start(["spec", "check", repositoryRoot + "/mappings/bank-settlement.yaml",
                                     repositoryRoot + "/mappings/samples/partners/BANK_SETTLE_20241215.txt"],
                                    stdoutPath: "/dev/full", stderrPath: folder.path + "/err.log")
        let ended = child.wait()
        #expect(ended.exitStatus == 1)
        #expect(child.stderr == "reckon: writing the output to /dev/full failed: No space left on device (the output is incomplete)\n")
    }

    @Test func controlBytesInAFileNeverReachTheTerminal() throws {
        let folder = ScratchFolder()
        let file = folder.write("repay.csv", """
            repay_id,loan_id,period,repay_type,paid_at,principal,interest,penalty,fee,total,channel,channel_order_no,status
            R1\u{1B}]0;owned\u{7},L202411150001,1,NORMAL,2024-12-15 09:12:03,959.42,90.00,0.00,0.00,1049.42,WXPAY,42,SUCCESS
            R2,L202411150002,1,NOR\u{0}MAL\u{1B}[2J,2024-12-15 09:30:44,3333.33,180.00,0.00,0.00,3513.33,WXPAY,43,SUCCESS
            #TOTAL,2,4562.75
            """)
        let result = try reckon("spec", "check", "mappings/platform-repayments.yaml", file, "--show", "1")
        #expect(result.status == 1)
        #expect(!result.stdout.unicodeScalars.contains { ($0.value < 0x20 && $0 != "\n") || (0x7F...0x9F).contains($0.value) })
        #expect(result.stdout.contains("line 3: repayment field 'repay_type' = 'NOR\\u{0}MAL\\u{1B}[2J': code 'NOR\\u{0}MAL\\u{1B}[2J' is not in the code map (COMP, EARLY, NORMAL, OVERDUE)"))
        #expect(result.stdout.contains("R1\\u{1B}]0;owned\\u{7}"))
        // JSON stays JSON, with the escapes JSON has.
        let json = try reckon("spec", "check", "--json", "mappings/platform-repayments.yaml", file)
        let objects = json.stdout.split(separator: "\n").map { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        #expect(objects.count == 3 && objects.allSatisfy { $0 != nil }, "\(json.stdout)")
        #expect(!json.stdout.unicodeScalars.contains { $0.value < 0x20 && $0 != "\n" })
        let record = try #require(objects.first??["fields"] as? [String: Any])
        #expect(record["repay_id"] as? String == "R1\u{1B}]0;owned\u{7}")
        let problem = try #require((objects.last??["problems"] as? [[String: Any]])?.first)
        #expect(problem["raw"] as? String == "NOR\\u{0}MAL\\u{1B}[2J")
        #expect(problem["reason"] as? String == "code 'NOR\\u{0}MAL\\u{1B}[2J' is not in the code map (COMP, EARLY, NORMAL, OVERDUE)")
    }

    @Test func hostileXMLIsRefusedInLittleMemory() throws {
        // Nine levels of ten entity references: three gigabytes if expanded. Refused (libxml2
        // stops the expansion); the child's peak memory (its own, from wait4) stays small.
        var entities = "<!ENTITY lol0 \"lol\">\n"
        for level in 1...9 {
            entities += "<!ENTITY lol\(level) \"" + String(repeating: "&lol\(level - 1);", count: 10) + "\">\n"
        }
        let folder = ScratchFolder()
        let file = folder.write("laughs.xml", "<?xml version=\"1.0\"?>\n<!DOCTYPE Document [\n\(entities)]>\n"
            + "<Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:camt.053.001.02\"><BkToCstmrStmt><Stmt><Id>&lol9;</Id></Stmt></BkToCstmrStmt></Document>")
        let child = try Child.start(["spec", "check", repositoryRoot + "/mappings/camt053.yaml", file],
                                    stdoutPath: folder.path + "/out.log", stderrPath: folder.path + "/err.log")
        let ended = child.wait()
        #expect(ended.exitStatus == 1)
        #expect(child.stdout.hasSuffix("  ✗ reading stopped: line 1: not well-formed XML: Detected an entity reference loop\n  verdict   ✗ unreadable\n"),
                "\(child.stdout)")
        #expect(ended.peakKiB > 0)
        #expect(ended.peakKiB < 256 * 1024, "peak \(ended.peakKiB) KiB")
    }

    @Test func helpStartsWithTheSamplePartners() throws {
        let result = try reckon("--help")
        #expect(result.status == 0)
        // The first example, as a shell reads it (a backslash continues the line).
        let examples = result.stdout.replacingOccurrences(of: "\\\n", with: "").split(separator: "\n")
            .filter { $0.hasPrefix("  reckon ") }
            .map { $0.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ") }
        #expect(examples.first == "reckon spec check mappings/bank-settlement.yaml inbox/bank/BANK_SETTLE_20241216.txt --show 5")
        #expect(examples.contains("reckon batch --date 2024-12-16"))
        // Nothing is wrapped: every line fits 80 columns.
        #expect(result.stdout.split(separator: "\n").allSatisfy { $0.count <= 80 })
        #expect(!result.stdout.contains("nacha") && !result.stdout.contains(".ach"))
        // The example works as written.
        let first = try reckon("spec", "check", "mappings/bank-settlement.yaml", "inbox/bank/BANK_SETTLE_20241216.txt", "--show", "5")
        #expect(first.status == 0, "\(first.stdout)")
    }
}
