import CLibZip
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// How much an inbound archive may unpack to. The sizes are checked against the bytes
/// actually written while streaming, never against what the archive's headers claim.
public struct UnzipLimits: Sendable, Equatable {
    public var maxEntries: Int
    public var maxEntryBytes: Int
    public var maxTotalBytes: Int
    /// Uncompressed bytes per compressed byte, per entry, once an entry is past
    /// `ratioCheckedAboveBytes` (small files compress well and mean no harm).
    public var maxCompressionRatio: Int
    public var ratioCheckedAboveBytes: Int

    public init(maxEntries: Int = 10_000, maxEntryBytes: Int = 2 << 30, maxTotalBytes: Int = 8 << 30,
                maxCompressionRatio: Int = 200, ratioCheckedAboveBytes: Int = 1 << 20) {
        self.maxEntries = maxEntries
        self.maxEntryBytes = maxEntryBytes
        self.maxTotalBytes = maxTotalBytes
        self.maxCompressionRatio = maxCompressionRatio
        self.ratioCheckedAboveBytes = ratioCheckedAboveBytes
    }
}

/// One file an archive unpacked to.
public struct UnpackedEntry: Sendable, Equatable {
    /// Its name in the archive (a relative path).
    public let name: String
    public let path: String
    public let sizeBytes: Int
}

/// Unpacks an untrusted zip (a partner's inbound archive) into a new folder, in bounded
/// memory (one 64 KiB buffer): every name is checked before anything is written (no `..`,
/// no absolute path, no NUL or backslash, no empty part), symlinks and other special
/// entries are refused, and each entry's bytes are counted as they are written against
/// the limits. On any refusal the folder is removed: an archive unpacks whole or not at all.
public enum SafeUnzip {
    public static func unpack(_ archivePath: String, into folder: String, limits: UnzipLimits = UnzipLimits()) throws(ZipError) -> [UnpackedEntry] {
        var code: Int32 = 0
        guard let archive = zip_open(archivePath, ZIP_RDONLY | ZIP_CHECKCONS, &code) else {
            throw ZipError(archive: archivePath, reason: "cannot be opened as a zip: \(DayZip.libzipReason(code))")
        }
        defer { zip_discard(archive) }
        let entries = try checkedEntries(archive, archivePath, limits)
        guard mkdir(folder, 0o755) == 0 else {
            throw ZipError(archive: archivePath, reason: "\(folder) cannot be made to unpack into: \(String(cString: strerror(errno)))")
        }
        do {
            var unpacked: [UnpackedEntry] = []
            var totalBytes = 0
            for entry in entries {
                let path = folder + "/" + entry.name
                if entry.isFolder {
                    try makeFolders(path, archivePath, entry.name)
                    continue
                }
                try makeFolders((path as NSString).deletingLastPathComponent, archivePath, entry.name)
                let size = try extract(archive, entry, to: path, archivePath, limits, totalBytes: &totalBytes)
                unpacked.append(UnpackedEntry(name: entry.name, path: path, sizeBytes: size))
            }
            return unpacked
        } catch {
            try? FileManager.default.removeItem(atPath: folder)
            throw error
        }
    }

    struct Entry {
        let index: zip_uint64_t
        let name: String
        let isFolder: Bool
        let compressedBytes: Int
    }

    /// Every entry's name and kind checked, before anything is written.
    static func checkedEntries(_ archive: OpaquePointer, _ archivePath: String, _ limits: UnzipLimits) throws(ZipError) -> [Entry] {
        let count = Int(zip_get_num_entries(archive, 0))
        guard count <= limits.maxEntries else {
            throw ZipError(archive: archivePath, reason: "has \(count) entries, more than the \(limits.maxEntries) allowed")
        }
        let rawNames = try ZipCentralDirectory.rawNames(archivePath, maxEntries: limits.maxEntries)
        guard rawNames.count == count else {
            throw ZipError(archive: archivePath, reason: "its central directory lists \(rawNames.count) entries, libzip reads \(count)")
        }
        var entries: [Entry] = []
        var seen = Set<String>()
        for index in 0..<zip_uint64_t(count) {
            var status = zip_stat_t()
            guard zip_stat_index(archive, index, zip_flags_t(ZIP_FL_ENC_RAW), &status) == 0, let raw = status.name else {
                throw ZipError(archive: archivePath, reason: "entry \(index) cannot be read: \(String(cString: zip_strerror(archive)))")
            }
            let name = String(decoding: UnsafeRawBufferPointer(start: raw, count: strlen(raw)), as: UTF8.self)
            if rawNames[Int(index)].contains(0) {
                throw ZipError(archive: archivePath, entry: name, reason: "its name holds a NUL byte")
            }
            if let problem = nameProblem(name) {
                throw ZipError(archive: archivePath, entry: name, reason: problem)
            }
            var system: zip_uint8_t = 0
            var attributes: zip_uint32_t = 0
            zip_file_get_external_attributes(archive, index, 0, &system, &attributes)
            let isFolder = name.hasSuffix("/")
            if system == zip_uint8_t(ZIP_OPSYS_UNIX) {
                let type = (attributes >> 16) & zip_uint32_t(S_IFMT)
                if type == zip_uint32_t(S_IFLNK) {
                    throw ZipError(archive: archivePath, entry: name, reason: "is a symbolic link; links are never unpacked")
                }
                if type != 0 && type != zip_uint32_t(S_IFREG) && !(isFolder && type == zip_uint32_t(S_IFDIR)) {
                    throw ZipError(archive: archivePath, entry: name, reason: "is not a regular file (mode \(String(attributes >> 16, radix: 8)))")
                }
            }
            let key = name.hasSuffix("/") ? String(name.dropLast()) : name
            guard seen.insert(key).inserted else { throw ZipError(archive: archivePath, entry: name, reason: "appears twice in the archive") }
            let compressed = status.valid & zip_uint64_t(ZIP_STAT_COMP_SIZE) != 0 ? Int(clamping: status.comp_size) : 0
            entries.append(Entry(index: index, name: name, isFolder: isFolder, compressedBytes: compressed))
        }
        return entries
    }

    /// Why an entry's name cannot be unpacked, if it cannot.
    static func nameProblem(_ name: String) -> String? {
        if name.isEmpty { return "its name is empty" }
        if name.utf8.contains(0) { return "its name holds a NUL byte" }
        if name.hasPrefix("/") { return "its name is an absolute path" }
        if name.contains("\\") { return "its name holds a backslash" }
        let parts = (name.hasSuffix("/") ? String(name.dropLast()) : name).split(separator: "/", omittingEmptySubsequences: false)
        if parts.contains("..") { return "its name climbs out of the folder (..)" }
        if parts.contains(where: { $0.isEmpty || $0 == "." }) { return "its name has an empty or . part" }
        return nil
    }

    private static func makeFolders(_ path: String, _ archivePath: String, _ entry: String) throws(ZipError) {
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        } catch {
            throw ZipError(archive: archivePath, entry: entry, reason: "its folder cannot be made: \(FileErrorText.reason(error))")
        }
    }

    /// Streams one entry into a new file (never following or replacing anything),
    /// counting the bytes against the limits as they come.
    private static func extract(_ archive: OpaquePointer, _ entry: Entry, to path: String, _ archivePath: String,
                                _ limits: UnzipLimits, totalBytes: inout Int) throws(ZipError) -> Int {
        func refuse(_ reason: String) -> ZipError { ZipError(archive: archivePath, entry: entry.name, reason: reason) }
        guard let file = zip_fopen_index(archive, entry.index, 0) else {
            throw refuse("cannot be read: \(String(cString: zip_strerror(archive)))")
        }
        defer { zip_fclose(file) }
        let output = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o644)
        guard output >= 0 else { throw refuse("\(path) cannot be created: \(String(cString: strerror(errno)))") }
        defer { close(output) }
        let bufferBytes = 64 << 10
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: bufferBytes, alignment: 16)
        defer { buffer.deallocate() }
        var written = 0
        while true {
            let count = zip_fread(file, buffer, zip_uint64_t(bufferBytes))
            if count < 0 { throw refuse("cannot be unpacked: \(String(cString: zip_file_strerror(file)))") }
            if count == 0 { break }
            written += Int(count)
            totalBytes += Int(count)
            if written > limits.maxEntryBytes {
                throw refuse("unpacks to more than \(limits.maxEntryBytes) bytes, the most one entry may")
            }
            if totalBytes > limits.maxTotalBytes {
                throw refuse("the archive unpacks to more than \(limits.maxTotalBytes) bytes, the most it may")
            }
            if written > limits.ratioCheckedAboveBytes && written / max(entry.compressedBytes, 1) > limits.maxCompressionRatio {
                throw refuse("unpacks to more than \(limits.maxCompressionRatio) times its \(entry.compressedBytes) compressed bytes (a zip bomb?)")
            }
            var offset = 0
            while offset < Int(count) {
                let done = Glibc.write(output, buffer + offset, Int(count) - offset)
                if done < 0 && errno == EINTR { continue }
                guard done > 0 else { throw refuse("writing \(path) failed: \(String(cString: strerror(errno)))") }
                offset += done
            }
        }
        return written
    }
}
