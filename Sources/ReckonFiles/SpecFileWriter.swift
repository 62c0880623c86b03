import Crypto
import Foundation
import ReckonCore
#if canImport(Glibc)
import Glibc
#endif

/// What was written: the file's size, its detail records, its control totals and its
/// SHA-256, as a manifest lists them.
public struct RenderedFile: Sendable {
    public let path: String
    public let sizeBytes: Int
    /// Detail records (kinds other than the header and the trailer).
    public let recordCount: Int
    /// In the spec's control order.
    public let controlTotals: [ControlTotalValue]
    public let sha256Hex: String
}

/// Writes one outbound file through its spec, streaming: records are added in file order;
/// the envelope (header, trailer, XML root and group headers, closing tags) is written with
/// control totals computed from the records added, as the spec's `controls` declare them.
///
/// Memory stays flat whatever the file's size: records go through a 1 MiB buffer. A
/// header that carries totals is known only at the end: a fixed-width header's bytes are
/// reserved and written in place by `finish`; for other formats the body goes to a
/// temporary file beside `path`, and `finish` writes the opening, copies the body and
/// writes the closing.
public final class SpecFileWriter {
    public let spec: MappingSpec
    public let path: String
    private var renderer: FileRenderer
    private let descriptor: Int32
    /// Where the body goes when the opening must be written before it at the end.
    private let bodyPath: String?
    private let bodyDescriptor: Int32
    private var buffer: [UInt8] = []
    private var size = 0
    private var finished = false
    /// The file's digest as its bytes go out, when they go out in order (no header to
    /// write in place); nil when it is taken from the file at the end.
    private var streamedHash: SHA256?
    /// Header values given up front (the header was written first).
    private var headerWritten = false
    private static let bufferBytes = 1 << 20

    /// Refuses a spec that cannot render what it declares (RenderError naming kind and field).
    /// Writes `path` (created or truncated); its folder must exist.
    ///
    /// `header`: the header's values, when they are known before the details and the
    /// header carries no control total (a settlement file's business date and bank code):
    /// the header is then written first and the file is hashed as it is written, instead of
    /// reserved, written in place and read back. `finish` then takes no header values.
    public init(spec: MappingSpec, path: String, header: [String: FieldValue]? = nil) throws {
        self.spec = spec
        self.path = path
        renderer = try FileRenderer(plan: try RenderPlan(spec: spec))
        descriptor = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw FileWriteError(path: path, what: "the \(spec.name) file", errno: errno) }
        buffer.reserveCapacity(Self.bufferBytes + 4096)
        let composes: Bool
        switch spec.format {
        case .fixedWidth: composes = false
        case .delimited: composes = renderer.plan.headerKind != nil
        case .xml: composes = true
        case .tagged: composes = false  // refused by RenderPlan: tagged files are read only
        }
        if composes {
            let body = path + ".body-\(getpid())"
            bodyDescriptor = open(body, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
            guard bodyDescriptor >= 0 else {
                let code = errno
                close(descriptor)
                throw FileWriteError(path: body, what: "the body of the \(spec.name) file", errno: code)
            }
            unlink(body)  // nameless from now on: gone when closed, whatever happens
            bodyPath = body
        } else {
            bodyPath = nil
            bodyDescriptor = -1
            buffer += renderer.prologue()
            if let header, !renderer.headerComputesTotals {
                buffer += try renderer.header(header)
                headerWritten = true
                streamedHash = SHA256()
            } else if let reserved = renderer.fixedHeaderBytes {
                buffer += repeatElement(0x20, count: reserved)
            } else {
                streamedHash = SHA256()
            }
        }
        if let header, !headerWritten {
            earlyHeader = header
        }
    }

    private var earlyHeader: [String: FieldValue]?

    deinit {
        close(descriptor)
        if bodyDescriptor >= 0 { close(bodyDescriptor) }
    }

    /// The kind of this name, for ``add(_:values:)``.
    public func kind(named name: String) throws -> RecordKind { try renderer.detailKind(named: name) }

    /// One record of a kind, by field name; fields not given are blank (or an error if required).
    public func add(kind: String, values: [String: FieldValue]) throws {
        let recordKind = try renderer.detailKind(named: kind)
        try add(recordKind, values: try renderer.values(for: recordKind, values))
    }

    /// One record of a kind, values in the kind's field order (``RecordKind/fieldIndex(named:)``):
    /// the fast path, with no lookups by name.
    public func add(_ kind: RecordKind, values: [FieldValue]) throws {
        precondition(!finished, "add after finish")
        try renderer.append(kind, values, to: &buffer)
        if buffer.count >= Self.bufferBytes { try flush() }
    }

    /// Writes the envelope with the given header/trailer field values (control fields the spec
    /// declares are computed, not taken from here), flushes and fsyncs `path`. Never renames.
    public func finish(header: [String: FieldValue] = [:], trailer: [String: FieldValue] = [:]) throws -> RenderedFile {
        precondition(!finished, "finish twice")
        finished = true
        if (headerWritten || earlyHeader != nil) && !header.isEmpty {
            throw RenderError(kind: renderer.plan.headerKind?.name ?? "-", field: nil, reason: "the header's values were given when the writer was made; finish takes none")
        }
        let header = earlyHeader ?? header
        try renderer.checkOccurrences()
        let opening = headerWritten ? [] : try renderer.header(header)
        buffer += try renderer.trailer(trailer, header: header)
        var hash = SHA256()
        if bodyDescriptor >= 0 {
            try flush()
            // The opening, then the body copied back, then the closing.
            let closing = buffer
            buffer = renderer.prologue() + opening
            hash.update(data: buffer)
            try writeAll(descriptor, buffer, at: 0, what: "the \(spec.name) file")
            size = buffer.count
            var offset = 0
            var chunk = [UInt8](repeating: 0, count: Self.bufferBytes)
            while true {
                let count = chunk.withUnsafeMutableBytes { pread(bodyDescriptor, $0.baseAddress!, $0.count, off_t(offset)) }
                if count < 0 && errno == EINTR { continue }
                guard count >= 0 else { throw FileWriteError(path: bodyPath!, what: "the body of the \(spec.name) file", errno: errno) }
                if count == 0 { break }
                hash.update(data: chunk[0..<count])
                try writeAll(descriptor, chunk[0..<count], at: size, what: "the \(spec.name) file")
                size += count
                offset += count
            }
            hash.update(data: closing)
            try writeAll(descriptor, closing, at: size, what: "the \(spec.name) file")
            size += closing.count
        } else {
            try flush()
            if let streamed = streamedHash {
                hash = streamed
            } else {
                if let reserved = renderer.fixedHeaderBytes {
                    precondition(opening.count == reserved)
                    let start = renderer.prologue().count
                    try writeAll(descriptor, opening, at: start, what: "the \(spec.name) file")
                }
                hash = try Self.sha256(of: descriptor, size: size, path: path)
            }
        }
        guard fsync(descriptor) == 0 else { throw FileWriteError(path: path, what: "the \(spec.name) file", errno: errno) }
        return RenderedFile(path: path, sizeBytes: size, recordCount: renderer.recordCount,
                            controlTotals: renderer.controlTotals,
                            sha256Hex: hash.finalize().map { String(format: "%02x", $0) }.joined())
    }

    private func flush() throws {
        let target = bodyDescriptor >= 0 ? bodyDescriptor : descriptor
        streamedHash?.update(data: buffer)
        try writeAll(target, buffer[...], at: nil, what: bodyDescriptor >= 0 ? "the body of the \(spec.name) file" : "the \(spec.name) file")
        if bodyDescriptor < 0 { size += buffer.count }
        buffer.removeAll(keepingCapacity: true)
    }

    private func writeAll(_ fd: Int32, _ bytes: some Collection<UInt8>, at position: Int?, what: String) throws {
        try bytes.withContiguousStorageIfAvailable { try writeAll(fd, $0, at: position, what: what) }
            ?? Array(bytes).withUnsafeBufferPointer { try writeAll(fd, $0, at: position, what: what) }
    }

    private func writeAll(_ fd: Int32, _ bytes: UnsafeBufferPointer<UInt8>, at position: Int?, what: String) throws {
        var done = 0
        while done < bytes.count {
            let base = UnsafeRawPointer(bytes.baseAddress!) + done
            let written = position.map { pwrite(fd, base, bytes.count - done, off_t($0 + done)) }
                ?? Glibc.write(fd, base, bytes.count - done)
            if written < 0 && errno == EINTR { continue }
            guard written > 0 else { throw FileWriteError(path: fd == descriptor ? path : (bodyPath ?? path), what: what, errno: errno) }
            done += written
        }
    }

    /// The file's SHA-256, read back from what is on disk.
    private static func sha256(of fd: Int32, size: Int, path: String) throws -> SHA256 {
        var hash = SHA256()
        var chunk = [UInt8](repeating: 0, count: bufferBytes)
        var offset = 0
        while offset < size {
            let count = chunk.withUnsafeMutableBytes { pread(fd, $0.baseAddress!, $0.count, off_t(offset)) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { throw FileWriteError(path: path, what: "the file's digest", errno: errno) }
            hash.update(data: chunk[0..<count])
            offset += count
        }
        return hash
    }
}
