import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A file written whole or not at all: bytes go through a buffer to a temporary name in the
/// target's folder; `commit()` flushes them to disk, renames the file into place and flushes
/// the folder, so a reader (or a crash) sees the old file or the new one, never half of
/// one. Memory is the buffer, whatever the file's size.
public final class AtomicFile {
    public let path: String
    private let temporary: String
    private var descriptor: Int32
    private var buffer: [UInt8] = []
    private static let bufferBytes = 1 << 20
    /// Bytes written so far.
    public private(set) var size = 0

    /// Opens a temporary file beside `path` (its folder is made when missing).
    public init(path: String) throws(FileAccessError) {
        self.path = path
        let folder = (path as NSString).deletingLastPathComponent
        if !folder.isEmpty {
            do {
                try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            } catch {
                throw FileAccessError(path: folder, reason: "the folder cannot be made: \(error.localizedDescription)")
            }
        }
        temporary = path + ".partial-\(getpid())"
        Self.removeAbandoned(of: path, in: folder)
        descriptor = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw FileAccessError.fromErrno(temporary, "creating") }
        buffer.reserveCapacity(Self.bufferBytes)
    }

    /// Removes the temporary files of `path` that writers killed before they committed left
    /// behind (their process is gone): a day's alert file killed halfway is gigabytes that
    /// would otherwise stay on disk for good. (Names are `<name>.partial-<pid>`, one folder.)
    private static func removeAbandoned(of path: String, in folder: String) {
        let prefix = (path as NSString).lastPathComponent + ".partial-"
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder.isEmpty ? "." : folder) else { return }
        for name in names where name.hasPrefix(prefix) {
            guard let pid = Int32(name.dropFirst(prefix.count)), pid > 0, pid != getpid(),
                  kill(pid, 0) != 0, errno == ESRCH else { continue }
            unlink(folder.isEmpty ? name : folder + "/" + name)
        }
    }

    deinit {
        // Never committed: the temporary file goes, the target is untouched.
        if descriptor >= 0 {
            close(descriptor)
            unlink(temporary)
        }
    }

    public func write(_ bytes: some Collection<UInt8>) throws(FileAccessError) {
        buffer.append(contentsOf: bytes)
        size += bytes.count
        if buffer.count >= Self.bufferBytes { try flush() }
    }

    public func write(_ text: String) throws(FileAccessError) { try write(text.utf8) }

    private func flush() throws(FileAccessError) {
        var offset = 0
        while offset < buffer.count {
            let written = buffer.withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress! + offset, $0.count - offset) }
            if written < 0 && errno == EINTR { continue }
            guard written > 0 else { throw FileAccessError.fromErrno(temporary, "writing") }
            offset += written
        }
        buffer.removeAll(keepingCapacity: true)
    }

    /// Flushes the bytes to disk and renames the file into place.
    public func commit() throws(FileAccessError) {
        try flush()
        guard fsync(descriptor) == 0 else { throw FileAccessError.fromErrno(temporary, "flushing") }
        close(descriptor)
        descriptor = -1
        guard rename(temporary, path) == 0 else {
            let error = FileAccessError.fromErrno(path, "renaming \(temporary) to")
            unlink(temporary)
            throw error
        }
        let folder = open((path as NSString).deletingLastPathComponent.isEmpty ? "." : (path as NSString).deletingLastPathComponent, O_RDONLY)
        if folder >= 0 {
            fsync(folder)
            close(folder)
        }
    }
}
