import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The entry names of a zip exactly as its central directory stores them. libzip turns a
/// NUL inside a name into a space when it reads the name, so a name holding NUL can only be
/// seen here. Reads one header at a time (memory: one name), zip64 included.
enum ZipCentralDirectory {
    static func rawNames(_ path: String, maxEntries: Int) throws(ZipError) -> [[UInt8]] {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw ZipError(archive: path, reason: "cannot be opened: \(String(cString: strerror(errno)))") }
        defer { close(descriptor) }
        let reader = Reader(descriptor: descriptor, path: path)
        let (count, offset) = try reader.directory()
        guard count <= maxEntries else {
            throw ZipError(archive: path, reason: "has \(count) entries, more than the \(maxEntries) allowed")
        }
        var names: [[UInt8]] = []
        var at = offset
        for _ in 0..<count {
            let header = try reader.bytes(at: at, count: 46)
            guard Reader.u32(header, 0) == 0x0201_4b50 else { throw reader.broken("a central directory entry is not where it should be") }
            let nameLength = Int(Reader.u16(header, 28)), extraLength = Int(Reader.u16(header, 30)), commentLength = Int(Reader.u16(header, 32))
            names.append(try reader.bytes(at: at + 46, count: nameLength))
            at += 46 + UInt64(nameLength + extraLength + commentLength)
        }
        return names
    }

    private struct Reader {
        let descriptor: Int32
        let path: String

        func broken(_ reason: String) -> ZipError { ZipError(archive: path, reason: "its central directory cannot be read: \(reason)") }

        func bytes(at offset: UInt64, count: Int) throws(ZipError) -> [UInt8] {
            var buffer = [UInt8](repeating: 0, count: count)
            var done = 0
            while done < count {
                let read = buffer.withUnsafeMutableBytes { pread(descriptor, $0.baseAddress! + done, count - done, off_t(offset) + off_t(done)) }
                if read < 0 && errno == EINTR { continue }
                guard read > 0 else { throw broken("the file ends early") }
                done += read
            }
            return buffer
        }

        static func u16(_ bytes: [UInt8], _ at: Int) -> UInt16 { UInt16(bytes[at]) | UInt16(bytes[at + 1]) << 8 }
        static func u32(_ bytes: [UInt8], _ at: Int) -> UInt32 { UInt32(u16(bytes, at)) | UInt32(u16(bytes, at + 2)) << 16 }
        static func u64(_ bytes: [UInt8], _ at: Int) -> UInt64 { UInt64(u32(bytes, at)) | UInt64(u32(bytes, at + 4)) << 32 }

        /// The entry count and the central directory's offset, from the end record (and the
        /// zip64 one when the end record says so).
        func directory() throws(ZipError) -> (count: Int, offset: UInt64) {
            var status = stat()
            guard fstat(descriptor, &status) == 0 else { throw broken(String(cString: strerror(errno))) }
            let size = UInt64(status.st_size)
            guard size >= 22 else { throw broken("the file is too short to be a zip") }
            let tailLength = min(size, 22 + 65_535)
            let tail = try bytes(at: size - tailLength, count: Int(tailLength))
            guard let end = stride(from: tail.count - 22, through: 0, by: -1).first(where: { Self.u32(tail, $0) == 0x0605_4b50 }) else {
                throw broken("no end record")
            }
            let count = Self.u16(tail, end + 10), offset = Self.u32(tail, end + 16)
            guard count == 0xFFFF || offset == 0xFFFF_FFFF else { return (Int(count), UInt64(offset)) }
            let endAt = size - tailLength + UInt64(end)
            guard endAt >= 20 else { throw broken("no zip64 end locator") }
            let locator = try bytes(at: endAt - 20, count: 20)
            guard Self.u32(locator, 0) == 0x0706_4b50 else { throw broken("no zip64 end locator") }
            let zip64 = try bytes(at: Self.u64(locator, 8), count: 56)
            guard Self.u32(zip64, 0) == 0x0606_4b50 else { throw broken("no zip64 end record") }
            let count64 = Self.u64(zip64, 32)
            guard count64 <= UInt64(Int.max) else { throw broken("an impossible entry count") }
            return (Int(count64), Self.u64(zip64, 48))
        }
    }
}
