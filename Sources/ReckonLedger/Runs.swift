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
/// and the next run records them.
public final class WriterLock: @unchecked Sendable {
    public let path: String
    private var descriptor: Int32

    /// Space reserved for last words.
    static let noteBytes = 4096

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

    /// Takes the ledger's writer lock, or says who holds it.
    public static func acquire(_ ledger: Ledger) throws(LedgerError) -> WriterLock {
        let path = path(forLedger: ledger.path)
        let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            throw LedgerError("cannot open the ledger's writer lock \(path): \(String(cString: strerror(errno)))")
        }
        var lock = Self.wholeFile(F_WRLCK)
        guard fcntl(descriptor, setLock, &lock) == 0 else {
            let reason = errno
            close(descriptor)
            if reason == EAGAIN || reason == EACCES {
                let holder = (try? ledger.runningRun()).flatMap { $0 }
                    .map { " (batch run #\($0.id) for \($0.businessDate), pid \($0.pid.map(String.init) ?? "?") on \($0.host ?? "?"), started \($0.startedAt))" } ?? ""
                throw LedgerError("another reckon process is writing the ledger \(ledger.path)\(holder); one writer at a time: try again when it ends")
            }
            throw LedgerError("cannot lock the ledger's writer lock \(path): \(String(cString: strerror(reason)))")
        }
        let held = WriterLock(path: path, descriptor: descriptor)
        held.reserveNoteSpace()
        return held
    }

    /// Lets the lock go (also when the value is released).
    public func release() {
        guard descriptor >= 0 else { return }
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
