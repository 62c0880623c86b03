import Crypto
import Foundation
import ReckonCore
import ReckonFiles

/// A file's SHA-256 and size, read in chunks.
public struct FileDigest: Sendable, Equatable {
    public let hex: String
    public let size: Int64

    public init(path: String) throws(FileAccessError) {
        var hasher = SHA256()
        var size: Int64 = 0
        try FileByteSource(path: path).forEachChunk(chunkBytes: 1 << 20) { chunk in
            hasher.update(bufferPointer: chunk)
            size += Int64(chunk.count)
        }
        hex = hasher.finalize().map { String(format: "%02x", $0) }.joined()
        self.size = size
    }
}

/// Keeping copies of files (archive, quarantine) and writing reports: atomically, never
/// overwriting a different file. A write that fails throws a ``FileWriteError``: one line
/// naming what was being written ("the archive copy"), where, and strerror's reason.
public enum FileStore {
    /// Copies `path` into `folder` under its own name and returns the copy's path. An
    /// existing copy with the same digest is reused; a different file of the same name gets
    /// the digest's start appended, so nothing kept is ever replaced. `what` names the copy
    /// in errors ("the quarantine copy").
    public static func keep(_ path: String, digest: FileDigest, in folder: String, what: String = "the copy") throws -> String {
        let place = try placement(of: path, digest: digest, in: folder, what: what)
        if !place.exists { try copy(path, to: place.path, digest: digest, what: what) }
        return place.path
    }

    /// Where ``keep(_:digest:in:what:)`` puts the copy, and whether it is there already.
    public static func placement(of path: String, digest: FileDigest, in folder: String,
                                 what: String = "the copy") throws -> (path: String, exists: Bool) {
        let name = (path as NSString).lastPathComponent
        do {
            try makeFolders(folder)
        } catch {
            throw FileWriteError(path: folder + "/" + name, what: what, errno: error.code)
        }
        removeLeftovers(in: folder)
        let target = folder + "/" + name
        guard FileManager.default.fileExists(atPath: target) else { return (target, false) }
        if (try? FileDigest(path: target)) == digest { return (target, true) }
        let renamed = folder + "/" + name + "." + digest.hex.prefix(12)
        return (renamed, FileManager.default.fileExists(atPath: renamed))
    }

    /// Copies `path` to `target` through a temporary name, checks that the copy has
    /// `digest` (the bytes that were read are the bytes kept), flushes it and renames it
    /// into place. A copy cut short (a full disk) leaves no temporary file behind.
    public static func copy(_ path: String, to target: String, digest: FileDigest, what: String = "the copy") throws {
        let temporary = target + ".partial-\(getpid())"
        do {
            try makeFolders((target as NSString).deletingLastPathComponent)
        } catch {
            throw FileWriteError(path: target, what: what, errno: error.code)
        }
        do {
            try? FileManager.default.removeItem(atPath: temporary)
            try FileManager.default.copyItem(atPath: path, toPath: temporary)
        } catch {
            try? FileManager.default.removeItem(atPath: temporary)
            throw FileWriteError(path: target, what: what, error: error)
        }
        let copied = try FileDigest(path: temporary)
        guard copied == digest else {
            try? FileManager.default.removeItem(atPath: temporary)
            throw FileAccessError(path: path, reason: "changed while it was being received (SHA-256 \(digest.hex.prefix(12))…, the copy has \(copied.hex.prefix(12))…)")
        }
        do {
            try sync(temporary)
        } catch {
            try? FileManager.default.removeItem(atPath: temporary)
            throw FileWriteError(path: target, what: what, errno: error.code)
        }
        CrashPoints.hit(.copyUnrenamed)
        try rename(temporary, to: target, what: what)
    }

    /// Where the report of a refused file's copy goes: `NAME.report.txt` for the first
    /// attempt, `NAME.report-2.txt` for the second, and so on (every attempt keeps its own).
    public static func reportPath(for copy: String, attempt: Int) -> String {
        attempt <= 1 ? copy + ".report.txt" : copy + ".report-\(attempt).txt"
    }

    /// Removes the temporary copies (`*.partial-<pid>`) a process that is gone left in
    /// `folder` when it died mid-copy. A live process's copies are its own business; a
    /// removal that fails is left for the next time. Returns the names removed.
    @discardableResult
    public static func removeLeftovers(in folder: String) -> [String] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder) else { return [] }
        var removed: [String] = []
        for name in names.sorted() {
            guard let marker = name.range(of: ".partial-", options: .backwards),
                  let pid = Int32(name[marker.upperBound...]), pid > 0, !ProcessState.isAlive(pid) else { continue }
            if (try? FileManager.default.removeItem(atPath: folder + "/" + name)) != nil { removed.append(name) }
        }
        return removed
    }

    /// Writes text to a temporary name, flushes it, and renames it into place. `what` names
    /// the text in errors ("the quarantine report").
    public static func writeAtomically(_ path: String, _ text: String, what: String = "the file") throws {
        let temporary = path + ".partial-\(getpid())"
        do {
            try makeFolders((path as NSString).deletingLastPathComponent)
            try write(Array(text.utf8), to: temporary)
        } catch {
            try? FileManager.default.removeItem(atPath: temporary)
            throw FileWriteError(path: path, what: what, errno: error.code)
        }
        try rename(temporary, to: path, what: what)
    }

    /// An errno from a POSIX call.
    struct SystemError: Error {
        let code: Int32
    }

    /// Creates `folder` and the folders above it, as `mkdir -p` does, failing with mkdir's
    /// errno (Foundation's `createDirectory` says only "the operation could not be
    /// completed" on Linux); a file where a folder should be is ENOTDIR.
    static func makeFolders(_ folder: String) throws(SystemError) {
        guard !folder.isEmpty else { return }   // the current folder
        var path = folder.hasPrefix("/") ? "/" : ""
        for component in folder.split(separator: "/") {
            path += (path.isEmpty || path.hasSuffix("/") ? "" : "/") + component
            if mkdir(path, 0o755) != 0 && errno != EEXIST { throw SystemError(code: errno) }
        }
        var info = stat()
        guard stat(folder, &info) == 0 else { throw SystemError(code: errno) }
        guard info.st_mode & S_IFMT == S_IFDIR else { throw SystemError(code: ENOTDIR) }
    }

    /// Creates (or truncates) `path`, writes `bytes` and flushes them to disk; a short write
    /// (a full disk) is an error, with its errno.
    private static func write(_ bytes: [UInt8], to path: String) throws(SystemError) {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw SystemError(code: errno) }
        var written = 0
        while written < bytes.count {
            let count = bytes.withUnsafeBytes { Foundation.write(descriptor, $0.baseAddress! + written, $0.count - written) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else {
                let code = count < 0 ? errno : ENOSPC
                close(descriptor)
                throw SystemError(code: code)
            }
            written += count
        }
        guard fsync(descriptor) == 0 else {
            let code = errno
            close(descriptor)
            throw SystemError(code: code)
        }
        guard close(descriptor) == 0 else { throw SystemError(code: errno) }
    }

    private static func sync(_ path: String) throws(SystemError) {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw SystemError(code: errno) }
        defer { close(descriptor) }
        guard fsync(descriptor) == 0 else { throw SystemError(code: errno) }
    }

    private static func rename(_ from: String, to: String, what: String) throws {
        guard Foundation.rename(from, to) == 0 else {
            let code = errno
            try? FileManager.default.removeItem(atPath: from)
            throw FileWriteError(path: to, what: what, errno: code)
        }
        // The rename itself is durable once the folder is flushed.
        let folder = open((to as NSString).deletingLastPathComponent, O_RDONLY)
        if folder >= 0 {
            fsync(folder)
            close(folder)
        }
    }
}

/// Work on a thread of its own, waited for later: the archive copy of a file is made while
/// the file is read and posted.
final class BackgroundWork: @unchecked Sendable {
    private let condition = NSCondition()
    private var result: Result<Void, any Error>?

    init(name: String, _ work: @escaping @Sendable () throws -> Void) {
        let thread = Thread { [self] in
            let outcome = Result { try work() }
            condition.lock()
            result = outcome
            condition.broadcast()
            condition.unlock()
        }
        thread.name = name
        thread.start()
    }

    /// Waits for the work to end; rethrows its error.
    func wait() throws {
        condition.lock()
        while result == nil { condition.wait() }
        let outcome = result!
        condition.unlock()
        try outcome.get()
    }
}

/// Processes on this host, by id.
enum ProcessState {
    /// Whether a process with this id is running on this host. (A process of another user
    /// answers EPERM: it is alive.)
    static func isAlive(_ pid: Int32) -> Bool {
        if pid == getpid() { return true }
        return kill(pid, 0) == 0 || errno == EPERM
    }

    /// This host's name, as runs record it.
    static let hostName: String = {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "unknown" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }()
}
