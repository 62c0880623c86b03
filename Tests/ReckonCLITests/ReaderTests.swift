import Foundation
import Testing

/// The commands that only look at the ledger (`status`, `ledger balance|verify|export`,
/// `plan show`) open it read-only: they never wait for a writer (issue 9, item 6) and they
/// work when the ledger's folder cannot be written (item 11), just when they are needed.
@Suite("Readers", .serialized)
struct ReaderTests {
    static let day = "2024-12-16"
    /// Long enough for any machine; a reader that waits for the writer's transaction (which
    /// is never released here) fails at this bound instead of hanging the suite.
    static let readerTimeoutSeconds = 30.0

    /// A working folder with the day's generated files (`loans`) and its ledger, after the
    /// earlier day `planned` has been run (its loans have plans).
    func ledgerFolder(loans: Int = 20, planned: String = "2024-11-16") throws -> (inputs: ScratchFolder, folder: ScratchFolder, config: String) {
        let inputs = ScratchFolder()
        let generated = try reckon("demo", "--date", Self.day, "--loans", "\(loans)", "--into", inputs.path,
                                   "--mappings", repositoryRoot + "/mappings")
        try #require(generated.status == 0, "\(generated.stderr)")
        let folder = try workspace(inputs.path)
        let config = folder.path + "/reckon.yaml"
        let earlier = try reckon("batch", "--date", planned, "--config", config)
        try #require(earlier.status == 0, "\(earlier.stdout)\(earlier.stderr)")
        return (inputs, folder, config)
    }

    /// What the reading commands print, each required to answer in time and succeed.
    func look(_ config: String, loan: String, user: String? = nil) throws -> [String: String] {
        var seen: [String: String] = [:]
        for command in [["status"], ["ledger", "balance"], ["ledger", "verify"], ["ledger", "export", "--runs"],
                        ["plan", "show", loan]] {
            let name = command.joined(separator: " ")
            let run = try runReckon(command + ["--config", config], timeoutSeconds: Self.readerTimeoutSeconds, user: user)
            #expect(!run.timedOut, "reckon \(name) waited for the writer for \(Self.readerTimeoutSeconds) s")
            #expect(run.status == 0 && !run.signalled, "reckon \(name): \(run.stderr)")
            seen[name] = run.stdout
        }
        return seen
    }

    @Test func readersAnswerWhileAWriterHoldsItsTransaction() throws {
        let (inputs, folder, config) = try ledgerFolder()
        defer { withExtendedLifetime(inputs) {} }
        let loan = "L202411160900"
        let before = try look(config, loan: loan)
        #expect(before["plan show \(loan)"]?.contains("loan L202411160900") == true, "\(before["plan show \(loan)"] ?? "")")

        // The day's batch, stopped with its first file's rows written and not committed:
        // it holds the ledger's write lock for as long as the test wants.
        let writer = try startStoppedReckon(["batch", "--date", Self.day, "--config", config], stopAt: "file-commit-before")
        defer {
            kill(writer.processIdentifier, SIGKILL)
            writer.waitUntilExit()
        }
        try #require(processState(writer.processIdentifier) == "T", "the batch did not stop at file-commit-before")
        #expect(FileManager.default.fileExists(atPath: folder.path + "/var/reckon.sqlite-wal"))

        let during = try look(config, loan: loan)
        // Readers see what is committed: the run that started, not the file being posted.
        #expect(during["status"]?.contains("batch run #2 for 2024-12-16 (collect,ingest,plan,reconcile,settle,deliver): running") == true, "\(during["status"] ?? "")")
        #expect(during["status"]?.contains("PLAT_LOAN_20241216.csv") == false)
        for name in ["ledger balance", "ledger verify", "plan show \(loan)"] {
            #expect(during[name] == before[name], "\(name) changed while nothing was committed")
        }
        // The export differs from before only by the run log's new line.
        #expect(during["ledger export --runs"] == (before["ledger export --runs"] ?? "")
                + "2024-12-16\tcollect,ingest,plan,reconcile,settle,deliver\t-\trunning\tcollect succeeded, ingest running\t-\n")
    }

    @Test(.enabled(if: permissionsCanBeTested, "as root, nobody must be able to run reckon from this checkout (setpriv)"))
    func diagnosisWorksWhenTheLedgersFolderCannotBeWritten() throws {
        let (inputs, folder, config) = try ledgerFolder()
        defer { withExtendedLifetime(inputs) {} }
        let loan = "L202411160900"
        let dayRun = try reckon("batch", "--date", Self.day, "--config", config)
        #expect(dayRun.status == 0, "\(dayRun.stdout)\(dayRun.stderr)")
        let var_ = folder.path + "/var"
        let asWritten = try look(config, loan: loan)
        // A writer that changes nothing (a file received before) and closes the ledger
        // cleanly, as the last connection: the write-ahead log is folded in and removed.
        let repeated = try reckon("ingest", inputs.path + "/platform/PLAT_LOAN_20241216.csv", "--partner", "platform",
                                  "--type", "loans", "--config", config)
        #expect(repeated.status == 0 && repeated.stdout.contains("repeated delivery"), "\(repeated.stdout)\(repeated.stderr)")
        #expect(!FileManager.default.fileExists(atPath: var_ + "/reckon.sqlite-wal"))
        try assertReadOnlyLooksTheSame(var_, config: config, loan: loan, expected: asWritten)

        // After a crash: the writer died once its run was committed, leaving its log
        // (`-wal`, with commits not yet in the database file) and shared memory behind.
        try setWritable(var_, true)
        let crashed = try runReckon(["batch", "--date", "2024-12-17", "--config", config],
                                    environment: ["RECKON_CRASH_AT": "run-finished"])
        #expect(crashed.signalled && crashed.status == SIGKILL, "\(crashed.stdout)\(crashed.stderr)")
        #expect(FileManager.default.fileExists(atPath: var_ + "/reckon.sqlite-wal"))
        let afterCrash = try look(config, loan: loan)
        #expect(afterCrash["ledger export --runs"]?.contains("2024-12-17\tcollect,ingest,plan,reconcile,settle,deliver\t-\tsucceeded") == true)
        try assertReadOnlyLooksTheSame(var_, config: config, loan: loan, expected: afterCrash)
        try setWritable(var_, true)
    }

    /// With `var/` and everything in it read-only, the reading commands print what they
    /// printed before. Tests may run as root, whom no permission stops: then the commands
    /// run as `nobody` (through setpriv), for whom the folder is truly read-only.
    func assertReadOnlyLooksTheSame(_ folder: String, config: String, loan: String, expected: [String: String]) throws {
        let names = try FileManager.default.contentsOfDirectory(atPath: folder).sorted()
        try setWritable(folder, false)
        defer { try? setWritable(folder, true) }
        var user: String?
        if geteuid() == 0 {
            try #require(FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv"),
                         "the tests run as root: setpriv (util-linux) is needed to read the ledger as a user who cannot write")
            user = "nobody"
            // The proof that the folder really is read-only for the reader.
            let probe = Process()
            probe.executableURL = URL(fileURLWithPath: "/usr/bin/setpriv")
            probe.arguments = try asUser("nobody") + ["/usr/bin/touch", folder + "/probe"]
            probe.standardError = FileHandle.nullDevice
            try probe.run()
            probe.waitUntilExit()
            try #require(probe.terminationStatus != 0, "nobody can write into \(folder)")
        }
        let seen = try look(config, loan: loan, user: user)
        for (name, text) in expected {
            #expect(seen[name] == text, "reckon \(name) printed something else with a read-only ledger folder")
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder).sorted() == names)
    }

    /// Makes `folder` and every file and folder in it writable, or read-only, for everyone
    /// (and readable by everyone, so another user can look).
    func setWritable(_ folder: String, _ writable: Bool) throws {
        let manager = FileManager.default
        var paths = [folder]
        if let enumerator = manager.enumerator(atPath: folder) {
            paths += enumerator.compactMap { $0 as? String }.map { folder + "/" + $0 }
        }
        for path in paths {
            var isFolder: ObjCBool = false
            _ = manager.fileExists(atPath: path, isDirectory: &isFolder)
            let mode: Int16 = isFolder.boolValue ? (writable ? 0o777 : 0o555) : (writable ? 0o666 : 0o444)
            try manager.setAttributes([.posixPermissions: mode], ofItemAtPath: path)
        }
        // The folders above must let another user through.
        var parent = (folder as NSString).deletingLastPathComponent
        while parent.hasPrefix(NSTemporaryDirectory()) && parent.count > NSTemporaryDirectory().count {
            try manager.setAttributes([.posixPermissions: Int16(0o755)], ofItemAtPath: parent)
            parent = (parent as NSString).deletingLastPathComponent
        }
    }
}
