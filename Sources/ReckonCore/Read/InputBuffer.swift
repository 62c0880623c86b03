#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A fixed window over a byte source: memory is the window's capacity whatever the file's
/// size. Readers look at `unread`, `consume` what they used, and `refill` when they need
/// more; a refill moves the unread tail to the front, so views taken before it are invalid.
final class InputBuffer {
    private let storage: UnsafeMutableRawBufferPointer
    private(set) var start = 0
    private(set) var end = 0
    /// File offset of `storage[0]`.
    private(set) var baseOffset: Int64 = 0
    private(set) var atEnd = false
    private var source: any ByteSource

    init(source: any ByteSource, capacity: Int) {
        precondition(capacity >= 64)
        self.source = source
        storage = UnsafeMutableRawBufferPointer.allocate(byteCount: capacity, alignment: 16)
    }

    deinit { storage.deallocate() }

    var capacity: Int { storage.count }
    var unreadCount: Int { end - start }
    /// File offset of the first unread byte.
    var offset: Int64 { baseOffset + Int64(start) }

    var unread: UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(storage)[start..<end])
    }

    @inline(__always)
    func consume(_ count: Int) {
        precondition(count <= end - start)
        start += count
    }

    /// Reads more bytes after the unread ones. False when the source is exhausted or the
    /// window is full (check `unreadCount == capacity` to tell).
    func refill() throws(FileFailure) -> Bool {
        if atEnd { return false }
        if start > 0 {
            let count = end - start
            if count > 0 { memmove(storage.baseAddress!, storage.baseAddress! + start, count) }
            baseOffset += Int64(start)
            start = 0
            end = count
        }
        guard end < storage.count else { return false }
        let read: Int
        do {
            read = try source.read(into: UnsafeMutableRawBufferPointer(rebasing: storage[end...]))
        } catch {
            throw FileFailure(location: nil, reason: "reading failed at byte \(baseOffset + Int64(end)): \(error)")
        }
        if read == 0 {
            atEnd = true
            return false
        }
        end += read
        return true
    }

    /// Fills until at least `count` bytes are unread or the source ends.
    func ensure(_ count: Int) throws(FileFailure) -> Bool {
        while end - start < count {
            if try !refill() { return end - start >= count }
        }
        return true
    }
}

/// Splits an input buffer into lines (LF or CRLF) of bounded length.
struct LineSplitter {
    let buffer: InputBuffer
    let maxLineBytes: Int
    private(set) var lineNumber = 0
    private var scanned = 0

    init(buffer: InputBuffer, maxLineBytes: Int) {
        self.buffer = buffer
        self.maxLineBytes = maxLineBytes
    }

    /// The next line without its terminator, the file offset where it starts, and its
    /// 1-based number. The view is valid until the next call.
    mutating func next() throws(FileFailure) -> (bytes: UnsafeRawBufferPointer, offset: Int64, line: Int)? {
        while true {
            let unread = buffer.unread
            if scanned < unread.count,
               let found = memchr(unread.baseAddress! + scanned, 0x0A, unread.count - scanned) {
                let length = unread.baseAddress!.distance(to: UnsafeRawPointer(found))
                var lineEnd = length
                if lineEnd > 0, unread[lineEnd - 1] == 0x0D { lineEnd -= 1 }
                let offset = buffer.offset
                lineNumber += 1
                scanned = 0
                let line = UnsafeRawBufferPointer(rebasing: unread[0..<lineEnd])
                buffer.consume(length + 1)
                if lineEnd > maxLineBytes { throw tooLong(offset: offset) }
                return (line, offset, lineNumber)
            }
            scanned = unread.count
            if unread.count > maxLineBytes {
                throw tooLong(offset: buffer.offset)
            }
            if try !buffer.refill() {
                if buffer.unreadCount == buffer.capacity { throw tooLong(offset: buffer.offset) }
                guard buffer.atEnd else { continue }
                let rest = buffer.unread
                guard !rest.isEmpty else { return nil }
                // The last line has no terminator.
                var lineEnd = rest.count
                if rest[lineEnd - 1] == 0x0D { lineEnd -= 1 }
                let offset = buffer.offset
                lineNumber += 1
                scanned = 0
                buffer.consume(rest.count)
                return (UnsafeRawBufferPointer(rebasing: rest[0..<lineEnd]), offset, lineNumber)
            }
        }
    }

    private func tooLong(offset: Int64) -> FileFailure {
        FileFailure(location: RecordLocation(line: lineNumber + 1, byteOffset: offset),
                    reason: "no line end within \(maxLineBytes) bytes; the file is not in this spec's layout (or raise max_record_bytes)")
    }
}
