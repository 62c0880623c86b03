import Crypto
import Foundation
import ReckonCore
import ReckonFiles

/// A file's SHA-256 and size, read in chunks.
public struct FileDigest: Sendable, Equatable {
    public let hex: String
    public let size: Int64

    public init(path: String) throws(FileAccessError) {
        let source = try FileByteSource(path: path)
        var hasher = SHA256()
        var size: Int64 = 0
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let count: Int
            do {
                count = try chunk.withUnsafeMutableBytes { try source.read(into: $0) }
            } catch let error as FileAccessError {
                throw error
            } catch {
                throw FileAccessError(path: path, reason: "\(error)")
            }
            if count == 0 { break }
            chunk.withUnsafeBytes { hasher.update(bufferPointer: UnsafeRawBufferPointer(rebasing: $0[0..<count])) }
            size += Int64(count)
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
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let name = (path as NSString).lastPathComponent
        var target = folder + "/" + name
        if FileManager.default.fileExists(atPath: target) {
            if (try? FileDigest(path: target)) == digest { return target }
            target = folder + "/" + name + "." + digest.hex.prefix(12)
            if FileManager.default.fileExists(atPath: target) { return target }
        }
        let temporary = target + ".partial-\(getpid())"
        try? FileManager.default.removeItem(atPath: temporary)
        try FileManager.default.copyItem(atPath: path, toPath: temporary)
        try sync(temporary)
        try rename(temporary, to: target)
        return target
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
