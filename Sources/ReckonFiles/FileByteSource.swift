#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import ReckonCore

/// Why a file could not be opened or read.
public struct FileAccessError: Error, Sendable, CustomStringConvertible {
    public let path: String
    public let reason: String

    public init(path: String, reason: String) {
        self.path = path
        self.reason = reason
    }

    public var description: String { "\(path): \(reason)" }

    static func fromErrno(_ path: String, _ action: String) -> FileAccessError {
        FileAccessError(path: path, reason: "\(action) failed: \(String(cString: strerror(errno)))")
    }
}

/// A file read in the chunks a reader asks for, through `read(2)`: nothing is mapped or
/// slurped, so memory does not grow with the file.
public final class FileByteSource: ByteSource {
    public let path: String
    private let descriptor: Int32

    public init(path: String) throws(FileAccessError) {
        self.path = path
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw .fromErrno(path, "open") }
        var status = stat()
        if fstat(descriptor, &status) == 0, (status.st_mode & S_IFMT) == S_IFDIR {
            close(descriptor)
            throw FileAccessError(path: path, reason: "is a directory")
        }
        self.descriptor = descriptor
    }

    deinit { close(descriptor) }

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws(FileAccessError) -> Int {
        guard let base = buffer.baseAddress, buffer.count > 0 else { return 0 }
        while true {
            let count = Glibc.read(descriptor, base, buffer.count)
            if count >= 0 { return count }
            if errno == EINTR { continue }
            throw FileAccessError.fromErrno(path, "read")
        }
    }

    /// Reads the rest of the file in chunks of up to `chunkBytes`, handing each to `body`
    /// (the bytes are valid only during the call).
    public func forEachChunk(chunkBytes: Int, _ body: (UnsafeRawBufferPointer) throws(FileAccessError) -> Void) throws(FileAccessError) {
        let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: chunkBytes, alignment: 16)
        defer { chunk.deallocate() }
        while true {
            let count = try read(into: chunk)
            if count == 0 { return }
            try body(UnsafeRawBufferPointer(rebasing: chunk[0..<count]))
        }
    }
}

/// Whole small files (specs), read as UTF-8 text.
enum SmallFile {
    static let limitBytes = 4 << 20

    static func text(_ path: String) throws(FileAccessError) -> String {
        var bytes: [UInt8] = []
        try FileByteSource(path: path).forEachChunk(chunkBytes: 64 << 10) { chunk throws(FileAccessError) in
            bytes += chunk
            if bytes.count > limitBytes { throw FileAccessError(path: path, reason: "larger than \(limitBytes) bytes; not a spec") }
        }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw FileAccessError(path: path, reason: "is not UTF-8 text")
        }
        return text
    }
}
