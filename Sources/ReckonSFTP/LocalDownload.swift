import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A downloaded file on its way into a drop folder: written under a hidden temporary name
/// beside its final one (`.NAME.sftp-partial`, which no file type's pattern matches and the
/// collect step ignores), then flushed to disk, renamed into place and the folder flushed,
/// as ``AtomicFile`` does — a reader sees no file or the whole file. Bytes go straight from
/// the transfer's buffer to the file, so memory does not grow with the file. Dropped
/// uncommitted, the temporary file is removed.
final class LocalDownload {
    let path: String
    let temporaryPath: String
    private var descriptor: Int32
    private(set) var sizeBytes: Int64 = 0

    init(folder: String, name: String) throws(SFTPError) {
        path = folder + "/" + name
        temporaryPath = folder + "/." + name + ".sftp-partial"
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder, isDirectory: &isFolder), isFolder.boolValue else {
            throw .localFailed(path: folder, reason: "the drop folder does not exist")
        }
        descriptor = Glibc.open(temporaryPath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0o644)
        guard descriptor >= 0 else { throw Self.failed(temporaryPath, "creating") }
    }

    deinit {
        if descriptor >= 0 {
            Glibc.close(descriptor)
            unlink(temporaryPath)
        }
    }

    func write(_ bytes: UnsafeRawBufferPointer) throws(SFTPError) {
        var offset = 0
        while offset < bytes.count {
            let written = Glibc.write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
            if written < 0 && errno == EINTR { continue }
            guard written > 0 else { throw Self.failed(temporaryPath, "writing") }
            offset += written
        }
        sizeBytes += Int64(bytes.count)
    }

    /// Flushes, renames into place and flushes the folder. `modifiedSeconds` (the server's
    /// time for the file) becomes the local file's, so a later look can tell the same file
    /// from a new one of the same name and size.
    func commit(modifiedSeconds: Int64? = nil) throws(SFTPError) {
        if let modifiedSeconds {
            var times = [timespec(tv_sec: Int(modifiedSeconds), tv_nsec: 0), timespec(tv_sec: Int(modifiedSeconds), tv_nsec: 0)]
            _ = futimens(descriptor, &times)
        }
        guard fsync(descriptor) == 0 else { throw Self.failed(temporaryPath, "flushing") }
        Glibc.close(descriptor)
        descriptor = -1
        guard rename(temporaryPath, path) == 0 else {
            let error = Self.failed(path, "renaming \(temporaryPath) to")
            unlink(temporaryPath)
            throw error
        }
        let folder = Glibc.open((path as NSString).deletingLastPathComponent, O_RDONLY | O_CLOEXEC)
        if folder >= 0 {
            fsync(folder)
            Glibc.close(folder)
        }
    }

    private static func failed(_ path: String, _ action: String) -> SFTPError {
        .localFailed(path: path, reason: "\(action) failed: \(String(cString: strerror(errno)))")
    }
}
