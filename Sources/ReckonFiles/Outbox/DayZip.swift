import CLibZip
import Foundation
import ReckonCore
#if canImport(Glibc)
import Glibc
#endif

/// Something wrong with a zip archive, in one line: the archive, the entry when one is to
/// blame, and why.
public struct ZipError: Error, Sendable, Equatable, CustomStringConvertible {
    public let archive: String
    public let entry: String?
    public let reason: String

    public init(archive: String, entry: String? = nil, reason: String) {
        self.archive = archive
        self.entry = entry
        self.reason = reason
    }

    public var description: String {
        entry.map { "\(archive): entry \"\($0)\": \(reason)" } ?? "\(archive): \(reason)"
    }
}

/// The zip of a partner-day's files, written through libzip so a rerun gives the same
/// bytes: entries in the order given, each deflated at level 6, dated the business day at
/// 00:00 (DOS time, no time zone, no clock), Unix mode 0644, no extra fields. libzip reads
/// each file while it writes the archive, so memory stays flat whatever the files' sizes.
public enum DayZip {
    /// Writes `entries` (name in the archive, file on disk) into a zip at `path`: under a
    /// temporary name in its folder, flushed, renamed into place, the folder flushed.
    public static func write(entries: [(name: String, path: String)], to path: String, date: CivilDate) throws(ZipError) {
        let temporary = path + ".partial-\(getpid())"
        unlink(temporary)
        var code: Int32 = 0
        guard let archive = zip_open(temporary, ZIP_CREATE | ZIP_TRUNCATE, &code) else {
            throw ZipError(archive: path, reason: "cannot be created: \(libzipReason(code))")
        }
        let (dosTime, dosDate) = dosTimestamp(date)
        for entry in entries {
            guard let source = zip_source_file(archive, entry.path, 0, -1) else {
                let reason = String(cString: zip_strerror(archive))
                zip_discard(archive)
                throw ZipError(archive: path, entry: entry.name, reason: "\(entry.path) cannot be read: \(reason)")
            }
            let index = zip_file_add(archive, entry.name, source, zip_flags_t(ZIP_FL_ENC_UTF_8))
            guard index >= 0 else {
                let reason = String(cString: zip_strerror(archive))
                zip_source_free(source)
                zip_discard(archive)
                throw ZipError(archive: path, entry: entry.name, reason: "cannot be added: \(reason)")
            }
            let at = zip_uint64_t(index)
            guard zip_set_file_compression(archive, at, ZIP_CM_DEFLATE, 6) == 0,
                  zip_file_set_dostime(archive, at, dosTime, dosDate, 0) == 0,
                  zip_file_set_external_attributes(archive, at, 0, zip_uint8_t(ZIP_OPSYS_UNIX), zip_uint32_t(0o100644) << 16) == 0
            else {
                let reason = String(cString: zip_strerror(archive))
                zip_discard(archive)
                throw ZipError(archive: path, entry: entry.name, reason: "cannot be set up: \(reason)")
            }
        }
        guard zip_close(archive) == 0 else {
            let reason = String(cString: zip_strerror(archive))
            zip_discard(archive)
            unlink(temporary)
            throw ZipError(archive: path, reason: "writing failed: \(reason)")
        }
        try commit(temporary, to: path)
    }

    /// The business day at 00:00 as DOS date and time (1980 is the earliest DOS can say).
    static func dosTimestamp(_ date: CivilDate) -> (time: UInt16, date: UInt16) {
        guard date.year >= 1980 else { return (0, 1 << 5 | 1) }
        return (0, UInt16(date.year - 1980) << 9 | UInt16(date.month) << 5 | UInt16(date.day))
    }

    /// Flushes the finished archive and renames it into place.
    private static func commit(_ temporary: String, to path: String) throws(ZipError) {
        let descriptor = open(temporary, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0, fsync(descriptor) == 0 else {
            let reason = String(cString: strerror(errno))
            if descriptor >= 0 { close(descriptor) }
            unlink(temporary)
            throw ZipError(archive: path, reason: "flushing failed: \(reason)")
        }
        close(descriptor)
        guard rename(temporary, path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temporary)
            throw ZipError(archive: path, reason: "renaming into place failed: \(reason)")
        }
        let folder = open((path as NSString).deletingLastPathComponent, O_RDONLY | O_CLOEXEC)
        if folder >= 0 {
            fsync(folder)
            close(folder)
        }
    }

    static func libzipReason(_ code: Int32) -> String {
        var error = zip_error_t()
        zip_error_init_with_code(&error, code)
        defer { zip_error_fini(&error) }
        return String(cString: zip_error_strerror(&error))
    }
}
