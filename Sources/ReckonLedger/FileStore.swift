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
/// overwriting a different file.
public enum FileStore {
    /// Copies `path` into `folder` under its own name and returns the copy's path. An
    /// existing copy with the same digest is reused; a different file of the same name gets
    /// the digest's start appended, so nothing kept is ever replaced.
    public static func keep(_ path: String, digest: FileDigest, in folder: String) throws -> String {
        let place = try placement(of: path, digest: digest, in: folder)
        if !place.exists { try copy(path, to: place.path, digest: digest) }
        return place.path
    }

    /// Where ``keep(_:digest:in:)`` puts the copy, and whether it is there already.
    public static func placement(of path: String, digest: FileDigest, in folder: String) throws -> (path: String, exists: Bool) {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        removeLeftovers(in: folder)
        let name = (path as NSString).lastPathComponent
        let target = folder + "/" + name
        guard FileManager.default.fileExists(atPath: target) else { return (target, false) }
        if (try? FileDigest(path: target)) == digest { return (target, true) }
        let renamed = folder + "/" + name + "." + digest.hex.prefix(12)
        return (renamed, FileManager.default.fileExists(atPath: renamed))
    }

    /// Copies `path` to `target` through a temporary name, checks that the copy has
    /// `digest` (the bytes that were read are the bytes kept), flushes it and renames it
    /// into place.
    public static func copy(_ path: String, to target: String, digest: FileDigest) throws {
        try FileManager.default.createDirectory(atPath: (target as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        let temporary = target + ".partial-\(getpid())"
        try? FileManager.default.removeItem(atPath: temporary)
        try FileManager.default.copyItem(atPath: path, toPath: temporary)
        let copied = try FileDigest(path: temporary)
        guard copied == digest else {
            try? FileManager.default.removeItem(atPath: temporary)
            throw FileAccessError(path: path, reason: "changed while it was being received (SHA-256 \(digest.hex.prefix(12))…, the copy has \(copied.hex.prefix(12))…)")
        }
        try sync(temporary)
        CrashPoints.hit(.copyUnrenamed)
        try rename(temporary, to: target)
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

    /// Writes text to a temporary name, flushes it, and renames it into place.
    public static func writeAtomically(_ path: String, _ text: String) throws {
        let folder = (path as NSString).deletingLastPathComponent
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let temporary = path + ".partial-\(getpid())"
        guard FileManager.default.createFile(atPath: temporary, contents: Data(text.utf8)) else {
            throw FileAccessError(path: temporary, reason: "cannot be created")
        }
        try sync(temporary)
        try rename(temporary, to: path)
    }

    private static func sync(_ path: String) throws {
        let descriptor = open(path, O_RDONLY)
        guard descriptor >= 0 else { throw FileAccessError(path: path, reason: "cannot be opened to flush") }
        defer { close(descriptor) }
        guard fsync(descriptor) == 0 else { throw FileAccessError(path: path, reason: "fsync failed") }
    }

    private static func rename(_ from: String, to: String) throws {
        guard Foundation.rename(from, to) == 0 else {
            throw FileAccessError(path: to, reason: "rename failed: \(String(cString: strerror(errno)))")
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
