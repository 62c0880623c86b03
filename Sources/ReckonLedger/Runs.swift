import Foundation
import GRDB
import ReckonCore
#if canImport(Glibc)
import Glibc
#endif

/// The one writer of a ledger: a lock on a file beside it (`reckon.sqlite.writer`), held by
/// a batch run (or an operator's command) from start to end. The kernel lets it go when the
/// process ends, however it ends, so a run row still `running` while nobody holds the lock
/// belongs to a process that is gone.
///
/// The lock file also keeps a run's last words: when a run cannot record its own end in the
/// ledger (a full disk), it writes them here, into space reserved when the lock was taken,
/// and the next run records them. After them, the holder: its pid, host, since when and
/// what it is (`reckon files set-aside`, the daemon), so that a refused writer names it,
/// batch run or not.
///
/// A second writer waits a bounded time for the lock when asked (`--wait-for-lock`),
/// polling it, then refuses naming the holder. A lock left by a killed process is no lock:
/// the kernel let it go with the process, and the next writer takes it at once and records
/// the dead run as interrupted.
public final class WriterLock: @unchecked Sendable {
    public let path: String
    private var descriptor: Int32

    /// Space reserved for last words.
    static let noteBytes = 4096
    /// Space after it for the holder's record.
    static let holderBytes = 512
    /// How often a waiting writer tries the lock again.
    public static let pollSeconds = 0.1

    // Open file description locks: owned by this open file, not the process, so a second
    // Ledger in the same process conflicts, and closing another descriptor of the file does
    // not release them. (Linux values; glibc names them only under _GNU_SOURCE.)
    private static let getLock: Int32 = 36
    private static let setLock: Int32 = 37

    public static func path(forLedger ledgerPath: String) -> String { ledgerPath + ".writer" }

    private init(path: String, descriptor: Int32) {
        self.path = path
        self.descriptor = descriptor
    }

    /// Takes the ledger's writer lock, or says who holds it. With `waitSeconds`, a lock held
    /// by another writer is tried again every ``pollSeconds`` until it is free or the time
    /// (on the monotonic clock) is up. `purpose` is what the holder's record says it is;
    /// `whileBusy` is called each time the lock was found held and is waited for (tests).
    public static func acquire(_ ledger: Ledger, waitSeconds: Double = 0, purpose: String = WriterLock.commandPurpose,
                               whileBusy: (() -> Void)? = nil) throws(LedgerError) -> WriterLock {
        let path = path(forLedger: ledger.path)
        let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            throw LedgerError("cannot open the ledger's writer lock \(path): \(String(cString: strerror(errno)))")
        }
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: .milliseconds(Int64((max(0, waitSeconds) * 1000).rounded())))
        while true {
            var lock = Self.wholeFile(F_WRLCK)
            if fcntl(descriptor, setLock, &lock) == 0 { break }
            let reason = errno
            guard reason == EAGAIN || reason == EACCES else {
                close(descriptor)
                throw LedgerError("cannot lock the ledger's writer lock \(path): \(String(cString: strerror(reason)))")
            }
            if clock.now < deadline {
                whileBusy?()
                usleep(useconds_t(pollSeconds * 1_000_000))
                continue
            }
            close(descriptor)
            let waited = waitSeconds > 0 ? "it still held the lock after \(secondsText(waitSeconds)) s of waiting; " : ""
            throw LedgerError("another reckon process is writing the ledger \(ledger.path)\(holderText(ledger)); "
                              + "one writer at a time: \(waited)try again when it ends")
        }
        let held = WriterLock(path: path, descriptor: descriptor)
        held.reserveNoteSpace()
        held.writeHolder(Holder(pid: Int64(getpid()), host: ProcessState.hostName, since: timestamp(), purpose: purpose))
        return held
    }

    /// ` (batch run #7 for 2024-12-16, pid 4242 on host, started …)` when the holder is a
    /// batch run, ` (reckon files set-aside, pid 4242 on host, since …)` for another holder;
    /// empty when the holder cannot be told (it has only just taken the lock).
    static func holderText(_ ledger: Ledger) -> String {
        let holder = Self.holder(ledgerPath: ledger.path)
        if let run = (try? ledger.runningRun()).flatMap({ $0 }),
           holder == nil || (holder?.pid == run.pid && holder?.host == run.host) {
            return " (batch run #\(run.id) for \(run.businessDate), pid \(run.pid.map(String.init) ?? "?") on \(run.host ?? "?"), started \(run.startedAt))"
        }
        guard let holder else { return "" }
        // A record left by a process that is gone: the new holder has not written its own yet.
        if holder.host == ProcessState.hostName && !ProcessState.isAlive(Int32(truncatingIfNeeded: holder.pid)) { return "" }
        return " (\(holder.purpose), pid \(holder.pid) on \(holder.host), since \(holder.since))"
    }

    /// `2`, `1.5`: seconds as given.
    static func secondsText(_ seconds: Double) -> String {
        seconds == seconds.rounded() ? String(Int64(seconds)) : String(seconds)
    }

    /// What this process is, for the holder's record: `reckon files set-aside`, the command's
    /// leading words (never its arguments or options: nothing secret goes in the file).
    public static var commandPurpose: String {
        let words = CommandLine.arguments.dropFirst()
            .prefix { word in !word.isEmpty && word.allSatisfy { ("a"..."z").contains($0) || $0 == "-" } && !word.hasPrefix("-") }.prefix(2)
        return (["reckon"] + words).joined(separator: " ")
    }

    /// Lets the lock go (also when the value is released).
    public func release() {
        guard descriptor >= 0 else { return }
        clearHolder()
        // Unlocked before closing: a child process being spawned by another thread holds a
        // copy of this descriptor until it execs, and with it the lock, had it only been
        // closed here (the next writer of the ledger would find it taken).
        var unlock = Self.wholeFile(F_UNLCK)
        _ = fcntl(descriptor, Self.setLock, &unlock)
        close(descriptor)
        descriptor = -1
    }

    deinit { release() }

    /// Whether some process holds the ledger's writer lock. Asks without taking it, so a
    /// reader never gets in a writer's way.
    public static func isHeld(ledgerPath: String) -> Bool {
        let descriptor = open(path(forLedger: ledgerPath), O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return false }
        defer { close(descriptor) }
        var lock = wholeFile(F_WRLCK)
        guard fcntl(descriptor, getLock, &lock) == 0 else { return false }
        return lock.l_type != Int16(F_UNLCK)
    }

    private static func wholeFile(_ type: Int32) -> flock {
        var lock = flock()
        lock.l_type = Int16(type)
        lock.l_whence = Int16(SEEK_SET)
        lock.l_start = 0
        lock.l_len = 0
        lock.l_pid = 0
        return lock
    }

    // MARK: The holder

    /// Who holds the lock: written when it is taken, cleared when it is let go (a killed
    /// holder's record stays, and is told apart by its pid).
    public struct Holder: Sendable, Equatable {
        public let pid: Int64
        public let host: String
        /// UTC, as recorded (`2026-12-01T02:10:00Z`).
        public let since: String
        public let purpose: String
    }

    private func writeHolder(_ holder: Holder) {
        let line = [String(holder.pid), holder.host, holder.since, holder.purpose]
            .map { $0.map { $0 == "\n" || $0 == "\t" ? " " : $0 } }.map { String($0) }.joined(separator: "\t")
        var bytes = Array(line.utf8.prefix(Self.holderBytes - 1))
        bytes += [UInt8](repeating: 0, count: Self.holderBytes - bytes.count)
        _ = bytes.withUnsafeBytes { pwrite(descriptor, $0.baseAddress, $0.count, off_t(Self.noteBytes)) }
    }

    private func clearHolder() {
        let zeros = [UInt8](repeating: 0, count: Self.holderBytes)
        _ = zeros.withUnsafeBytes { pwrite(descriptor, $0.baseAddress, $0.count, off_t(Self.noteBytes)) }
    }

    /// The holder's record in a ledger's lock file, if any. (It says who took the lock last;
    /// whether the lock is held is ``isHeld(ledgerPath:)``'s to say.)
    public static func holder(ledgerPath: String) -> Holder? {
        let descriptor = open(path(forLedger: ledgerPath), O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        var bytes = [UInt8](repeating: 0, count: holderBytes)
        let count = bytes.withUnsafeMutableBytes { pread(descriptor, $0.baseAddress, $0.count, off_t(noteBytes)) }
        guard count > 0 else { return nil }
        let text = String(decoding: bytes.prefix(count).prefix { $0 != 0 }, as: UTF8.self)
        let parts = text.split(separator: "\t", maxSplits: 3, omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 4, let pid = Int64(parts[0]) else { return nil }
        return Holder(pid: pid, host: parts[1], since: parts[2], purpose: parts[3])
    }

    // MARK: Last words

    /// What a run could not record in the ledger as it ended.
    public struct Note: Sendable, Equatable {
        public let runID: Int64
        public let status: String
        public let reason: String
    }

    /// Makes sure the note's space is allocated now, while the disk has room; an earlier
    /// note stays until the next run has read it.
    private func reserveNoteSpace() {
        var status = stat()
        guard fstat(descriptor, &status) == 0, status.st_size < Self.noteBytes else { return }
        let zeros = [UInt8](repeating: 0, count: Self.noteBytes - Int(status.st_size))
        _ = zeros.withUnsafeBytes { pwrite(descriptor, $0.baseAddress, $0.count, off_t(status.st_size)) }
        fsync(descriptor)
    }

    /// Writes a run's last words over the reserved space. Returns whether they were kept.
    @discardableResult
    public func writeNote(_ note: Note) -> Bool {
        let line = "\(note.runID)\t\(note.status)\t" + note.reason.map { $0 == "\n" || $0 == "\t" ? " " : $0 }
        var bytes = Array(line.utf8.prefix(Self.noteBytes - 1))
        bytes += [UInt8](repeating: 0, count: Self.noteBytes - bytes.count)
        let written = bytes.withUnsafeBytes { pwrite(descriptor, $0.baseAddress, $0.count, 0) }
        return written == bytes.count && fsync(descriptor) == 0
    }

    func clearNote() {
        let zeros = [UInt8](repeating: 0, count: Self.noteBytes)
        _ = zeros.withUnsafeBytes { pwrite(descriptor, $0.baseAddress, $0.count, 0) }
    }

    /// The last words kept beside a ledger, if any.
    public static func note(ledgerPath: String) -> Note? {
        guard let data = FileManager.default.contents(atPath: path(forLedger: ledgerPath)) else { return nil }
        let text = String(decoding: data.prefix { $0 != 0 }, as: UTF8.self)
        let parts = text.split(separator: "\t", maxSplits: 2, omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 3, let id = Int64(parts[0]) else { return nil }
        return Note(runID: id, status: parts[1], reason: parts[2])
    }
}

extension Ledger {
    /// The run row still marked running, if any (for saying who holds the writer lock).
    func runningRun() throws(LedgerError) -> BatchRun? {
        try batchRuns(limit: 1, status: "running").first
    }

    /// Run rows still `running` when a new run holds the writer lock belong to processes
    /// that are gone: each is marked interrupted (or failed, with the last words its process
    /// left beside the ledger), its running step too. Returns, per run, what was recovered:
    /// the step it died in and the files it had not taken in, which `date`'s run takes again
    /// when they are its own.
    func recoverInterruptedRuns(lock: WriterLock, date: CivilDate) throws(LedgerError) -> [String] {
        let note = WriterLock.note(ledgerPath: path)
        let messages: [String] = try write { db in
            var messages: [String] = []
            for row in try Row.fetchAll(db, sql: """
                SELECT id, business_date, pid, host, started_at, steps FROM batch_run WHERE status = 'running' ORDER BY id
                """) {
                let id: Int64 = row[0], day: String = row[1], startedAt: String = row[4]
                let process = "pid \((row[2] as Int64?).map(String.init) ?? "?") on \((row[3] as String?) ?? "?")"
                let step = try String.fetchOne(db, sql: """
                    SELECT step FROM batch_step WHERE run_id = ? ORDER BY id DESC LIMIT 1
                    """, arguments: [id])
                if let note, note.runID == id {
                    let summary = note.reason + " (recorded by the next run: the ledger could not be written as the run ended)"
                    try db.execute(sql: "UPDATE batch_run SET status = ?, finished_at = ?, summary = ? WHERE id = ?",
                                   arguments: [note.status, timestamp(), summary, id])
                    try db.execute(sql: "UPDATE batch_step SET status = 'failed', finished_at = ? WHERE run_id = ? AND status = 'running'",
                                   arguments: [timestamp(), id])
                    messages.append("run \(id) of \(day) (\(process), started \(startedAt)) \(note.status): \(note.reason)")
                    continue
                }
                var text = "run \(id) of \(day) was interrupted \(step.map { "during \($0)" } ?? "before its first step") "
                    + "(\(process), started \(startedAt))"
                let sameDay = day == date.description
                let untaken = try Self.filesNotTakenIn(db, run: id, day: day)
                if !untaken.isEmpty {
                    let files = untaken.count == 1 ? "its file \(untaken[0]) was" : "its files \(untaken.joined(separator: ", ")) were"
                    text += "; \(files) not posted and " + (sameDay ? "\(untaken.count == 1 ? "is" : "are") taken again"
                                                             : "\(untaken.count == 1 ? "waits" : "wait") for `reckon batch --date \(day)`")
                } else if step == "plan" {
                    text += sameDay ? "; its plan step runs again" : "; its plan step waits for `reckon batch --date \(day)`"
                }
                try db.execute(sql: "UPDATE batch_run SET status = 'interrupted', finished_at = ?, summary = ? WHERE id = ?",
                               arguments: [timestamp(), text, id])
                try db.execute(sql: "UPDATE batch_step SET status = 'interrupted', finished_at = ? WHERE run_id = ? AND status = 'running'",
                               arguments: [timestamp(), id])
                messages.append(text)
            }
            return messages
        }
        if note != nil { lock.clearNote() }
        return messages
    }

    /// The files a run found ready that it did not take in: no row of that run, and not
    /// posted before it either.
    private static func filesNotTakenIn(_ db: Database, run: Int64, day: String) throws -> [String] {
        guard let detail = try String.fetchOne(db, sql: """
            SELECT detail FROM batch_step WHERE run_id = ? AND step = 'collect' AND detail IS NOT NULL
            """, arguments: [run]) else { return [] }
        let taken = Set(try String.fetchAll(db, sql: """
            SELECT partner || '/' || file_type || '/' || name FROM received_file WHERE run_id = ? OR (business_date = ? AND status = 'posted')
            """, arguments: [run, day]))
        return detail.split(separator: "\n").compactMap { line -> String? in
            let parts = line.split(separator: "\t").map(String.init)
            guard parts.count >= 3, parts[0] == "ready" else { return nil }
            let name = (parts[2] as NSString).lastPathComponent
            return taken.contains(parts[1] + "/" + name) ? nil : name
        }
    }
}
