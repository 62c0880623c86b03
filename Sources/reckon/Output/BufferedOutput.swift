#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Standard output through a fixed buffer, written out whenever it fills: long outputs
/// (`ledger export`) stream in flat memory instead of being built whole.
struct BufferedOutput: TextOutputStream {
    private var buffer: [UInt8] = []
    /// The first write that failed (`errno`), after which nothing more is written.
    private(set) var failure: Int32?
    private let capacityBytes: Int
    private let descriptor: Int32

    init(descriptor: Int32 = STDOUT_FILENO, capacityBytes: Int = 1 << 16) {
        self.descriptor = descriptor
        self.capacityBytes = capacityBytes
        buffer.reserveCapacity(capacityBytes)
    }

    mutating func write(_ string: String) {
        var string = string
        string.withUTF8 { bytes in
            if buffer.count + bytes.count > capacityBytes { flush() }
            if bytes.count >= capacityBytes {
                if failure == nil { failure = Self.writeAll(descriptor, UnsafeRawBufferPointer(bytes)) }
            } else {
                buffer.append(contentsOf: bytes)
            }
        }
    }

    /// Writes out what the buffer holds.
    mutating func flush() {
        if failure == nil { failure = buffer.withUnsafeBytes { Self.writeAll(descriptor, $0) } }
        buffer.removeAll(keepingCapacity: true)
    }

    /// Writes every byte; returns `errno` when a write fails.
    private static func writeAll(_ descriptor: Int32, _ bytes: UnsafeRawBufferPointer) -> Int32? {
        var offset = 0
        while offset < bytes.count {
            let written = writeBytes(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
            if written < 0 {
                if errno == EINTR { continue }
                return errno
            }
            offset += written
        }
        return nil
    }
}

private func writeBytes(_ descriptor: Int32, _ bytes: UnsafeRawPointer, _ count: Int) -> Int {
    write(descriptor, bytes, count)
}
