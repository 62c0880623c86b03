import Foundation
import ReckonCore
#if canImport(Glibc)
import Glibc
#endif

/// What unpacking one inbound archive into its drop did.
public struct UnpackedArchive: Sendable, Equatable {
    /// The entries, by name, in the archive's order.
    public let entries: [String]
    /// Those that were already in the drop with the same bytes (an earlier run unpacked them).
    public let alreadyThere: [String]
}

/// Unpacks a partner's inbound zip into its drop folder, whole or not at all, never over a
/// different file. The archive is unpacked by ``SafeUnzip`` (its limits: entry count, entry
/// and total size counted as written, compression ratio; no `..`, absolute names or links)
/// into a hidden staging folder in the drop (`.unpack-NAME-PID`, which the collect rules never
/// see), then each entry is linked into the drop under its name: `link(2)` never replaces a
/// file, and the staged file is complete before its name appears. An entry whose name is in
/// the drop already with the same bytes is left alone (a re-run, or a run killed half way);
/// with other bytes the archive is refused before any entry is placed.
public enum InboundArchive {
    public static func unpack(_ archivePath: String, into drop: String, limits: ArchiveLimits) throws(ZipError) -> UnpackedArchive {
        let name = (archivePath as NSString).lastPathComponent
        removeStaging(of: name, in: drop)
        let staging = drop + "/.unpack-" + name + "-\(getpid())"
        let unzipLimits = UnzipLimits(maxEntries: limits.maxEntries, maxEntryBytes: limits.maxEntryBytes,
                                      maxTotalBytes: limits.maxTotalBytes, maxCompressionRatio: limits.maxCompressionRatio)
        let unpacked = try SafeUnzip.unpack(archivePath, into: staging, limits: unzipLimits)
        defer { try? FileManager.default.removeItem(atPath: staging) }
        // A drop is one flat folder of a partner's files: an entry is a plain, visible name.
        var entries: [String] = []
        for entry in unpacked {
            if entry.name.contains("/") {
                throw ZipError(archive: archivePath, entry: entry.name, reason: "is in a folder; an inbound archive's entries are plain file names")
            }
            if entry.name.hasPrefix(".") {
                throw ZipError(archive: archivePath, entry: entry.name, reason: "its name is hidden (starts with .)")
            }
            if entry.name == name {
                throw ZipError(archive: archivePath, entry: entry.name, reason: "has the archive's own name")
            }
            entries.append(entry.name)
        }
        var alreadyThere: [String] = []
        for entry in entries {
            switch try compare(staging + "/" + entry, drop + "/" + entry, archivePath, entry) {
            case .absent: break
            case .same: alreadyThere.append(entry)
            case .different:
                throw ZipError(archive: archivePath, entry: entry,
                               reason: "a different file of that name is already in the drop (\(drop)/\(entry)); nothing was unpacked over it")
            }
        }
        for entry in entries where !alreadyThere.contains(entry) {
            let target = drop + "/" + entry
            guard link(staging + "/" + entry, target) != 0 else { continue }
            let code = errno
            // Someone put the name there since the check: the same bytes are fine.
            if code == EEXIST, case .same = try compare(staging + "/" + entry, target, archivePath, entry) { continue }
            throw ZipError(archive: archivePath, entry: entry, reason: "\(target) cannot be made: \(String(cString: strerror(code)))")
        }
        flush(drop)
        return UnpackedArchive(entries: entries, alreadyThere: alreadyThere)
    }

    /// Removes what an earlier unpacking of `name` left behind (a process killed half way);
    /// a live process's staging folder (a dry run beside a real one) is its own.
    static func removeStaging(of name: String, in drop: String) {
        let prefix = ".unpack-" + name + "-"
        for leftover in (try? FileManager.default.contentsOfDirectory(atPath: drop)) ?? [] where leftover.hasPrefix(prefix) {
            if let pid = Int32(leftover.dropFirst(prefix.count)), pid > 0, pid != getpid(), kill(pid, 0) == 0 || errno == EPERM { continue }
            try? FileManager.default.removeItem(atPath: drop + "/" + leftover)
        }
    }

    enum Comparison { case absent, same, different }

    /// Whether `target` is missing, holds the staged file's bytes, or others (compared in
    /// chunks: memory stays flat).
    static func compare(_ staged: String, _ target: String, _ archivePath: String, _ entry: String) throws(ZipError) -> Comparison {
        var status = stat()
        guard lstat(target, &status) == 0 else {
            if errno == ENOENT { return .absent }
            throw ZipError(archive: archivePath, entry: entry, reason: "\(target) cannot be read: \(String(cString: strerror(errno)))")
        }
        guard status.st_mode & S_IFMT == S_IFREG else { return .different }
        guard let a = FileHandle(forReadingAtPath: staged), let b = FileHandle(forReadingAtPath: target) else {
            throw ZipError(archive: archivePath, entry: entry, reason: "\(target) cannot be read to compare it")
        }
        defer { try? a.close(); try? b.close() }
        while true {
            let left = ((try? a.read(upToCount: 1 << 20)) ?? nil) ?? Data()
            let right = ((try? b.read(upToCount: 1 << 20)) ?? nil) ?? Data()
            if left != right { return .different }
            if left.isEmpty { return .same }
        }
    }

    private static func flush(_ folder: String) {
        let descriptor = open(folder, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return }
        fsync(descriptor)
        close(descriptor)
    }
}
