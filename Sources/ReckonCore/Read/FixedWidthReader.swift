/// Reads fixed-width files: records of `record_length` positions, one per line or back to
/// back, told apart by a discriminator at a position. Positions count bytes in the file's
/// encoding (or characters, where a partner counts those). Short, right-trimmed lines are
/// padded; a field boundary inside a multibyte character is an error.
public struct FixedWidthReader: RecordReader {
    private let spec: MappingSpec
    private let layout: FixedWidthLayout
    private let buffer: InputBuffer
    private var lines: LineSplitter
    private var assembler: RecordAssembler
    private var started = false
    private var pending: [(start: Int, length: Int)] = []
    private var pendingLine: (bytes: [UInt8], offset: Int64, line: Int)?
    private var recordNumber = 0
    private var scalarStarts: [Int] = []
    /// Segment boundaries for checking GB-encoded records.
    private let boundaries: [[Int]]

    public init(spec: MappingSpec, source: any ByteSource, chunkBytes: Int = 1 << 20) {
        guard case .fixedWidth(let layout) = spec.format else {
            preconditionFailure("FixedWidthReader needs a fixed-width spec")
        }
        self.spec = spec
        self.layout = layout
        buffer = InputBuffer(source: source, capacity: spec.maxRecordBytes + chunkBytes)
        lines = LineSplitter(buffer: buffer, maxLineBytes: spec.maxRecordBytes)
        assembler = RecordAssembler(spec: spec)
        boundaries = spec.kinds.map { kind in
            var points = Set([0, layout.recordLength])
            for field in kind.fields {
                if case .slice(let start, let length) = field.source {
                    points.insert(start)
                    points.insert(start + length)
                }
            }
            return points.sorted()
        }
    }

    public mutating func next() throws(FileFailure) -> RecordEvent? {
        if !started {
            started = true
            try ByteOrderMark.skip(buffer, encoding: spec.encoding)
        }
        if layout.separator == .none {
            return try nextBackToBack()
        }
        while true {
            if let line = pendingLine, let slot = pending.first {
                pending.removeFirst()
                if pending.isEmpty { pendingLine = nil }
                return line.bytes.withUnsafeBytes { bytes in
                    let record = UnsafeRawBufferPointer(rebasing: bytes[slot.start..<(slot.start + slot.length)])
                    return process(record, offset: line.offset + Int64(slot.start), line: line.line)
                }
            }
            guard let (bytes, offset, lineNumber) = try lines.next() else { return nil }
            if bytes.isEmpty { return .skipped(RecordLocation(line: lineNumber, byteOffset: offset)) }
            if layout.separator == .auto, let split = splitBackToBack(bytes), split.count > 1 {
                pending = split
                pendingLine = (Array(bytes), offset, lineNumber)
                continue
            }
            return process(bytes, offset: offset, line: lineNumber)
        }
    }

    /// `separator: none`: exactly `record_length` bytes per record.
    private mutating func nextBackToBack() throws(FileFailure) -> RecordEvent? {
        let length = layout.recordLength
        _ = try buffer.ensure(length)
        let unread = buffer.unread
        if unread.isEmpty { return nil }
        let offset = buffer.offset
        recordNumber += 1
        if unread.count < length {
            // Only line breaks may follow the last record.
            if unread.allSatisfy({ $0 == 0x0A || $0 == 0x0D }) {
                buffer.consume(unread.count)
                return nil
            }
            throw FileFailure(location: RecordLocation(line: 1, byteOffset: offset),
                              reason: "the file ends inside record \(recordNumber): \(unread.count) of \(length) bytes (truncated?)")
        }
        let record = UnsafeRawBufferPointer(rebasing: unread[0..<length])
        let event = process(record, offset: offset, line: 1)
        buffer.consume(length)
        return event
    }

    /// For `separator: auto`: a line holding several records back to back, as slices.
    private mutating func splitBackToBack(_ line: UnsafeRawBufferPointer) -> [(start: Int, length: Int)]? {
        let length = layout.recordLength
        if layout.positions == .bytes || UTF8Validation.isASCII(line) {
            guard line.count > length, line.count % length == 0 else { return nil }
            return stride(from: 0, to: line.count, by: length).map { ($0, length) }
        }
        guard spec.encoding == .utf8, UTF8Validation.check(line) == nil else { return nil }
        UTF8Validation.scalarStarts(line, into: &scalarStarts)
        let characters = scalarStarts.count - 1
        guard characters > length, characters % length == 0 else { return nil }
        return stride(from: 0, to: characters, by: length).map {
            (scalarStarts[$0], scalarStarts[$0 + length] - scalarStarts[$0])
        }
    }

    // MARK: One record

    private mutating func process(_ record: UnsafeRawBufferPointer, offset: Int64, line: Int) -> RecordEvent {
        let location = RecordLocation(line: line, byteOffset: offset)
        let isASCII = UTF8Validation.isASCII(record)

        // Encoding first: a record that does not decode has no trustworthy fields.
        if !isASCII && spec.encoding == .utf8, let failure = UTF8Validation.check(record) {
            return reject(nil, location, FieldProblem(
                field: nil, rawValue: nil, reason: failure.reason(encoding: .utf8),
                byteOffset: offset + Int64(failure.offset)))
        }

        // Map positions to bytes when the layout counts characters.
        let countsCharacters = layout.positions == .characters && !isASCII
        var recordLength = record.count
        if countsCharacters {
            if spec.encoding != .utf8 {
                return reject(nil, location, FieldProblem(field: nil, rawValue: nil,
                    reason: "positions: characters is supported for UTF-8 files only"))
            }
            UTF8Validation.scalarStarts(record, into: &scalarStarts)
            recordLength = scalarStarts.count - 1
        }
        if recordLength > layout.recordLength {
            var reason = "the record is \(recordLength) \(layout.positions.rawValue) long; this layout's records are \(layout.recordLength)"
            if !isASCII && layout.positions == .bytes {
                reason += " (the line has multibyte characters: if the partner counts characters, set positions: characters)"
            }
            return reject(nil, location, FieldProblem(field: nil, rawValue: nil, reason: reason))
        }
        if recordLength < layout.recordLength && !layout.padShortRecords {
            return reject(nil, location, FieldProblem(field: nil, rawValue: nil,
                reason: "the record is \(recordLength) \(layout.positions.rawValue) long; this layout's records are \(layout.recordLength) and short records are refused"))
        }

        func byteIndex(_ position: Int) -> Int {
            if !countsCharacters { return min(position, record.count) }
            return position < scalarStarts.count ? scalarStarts[position] : record.count
        }

        guard let kind = matchKind(record, byteIndex: byteIndex) else {
            if spec.unmatched == .skip { return .skipped(location) }
            return reject(nil, location, FieldProblem(field: nil, rawValue: AssemblerText.preview(record),
                                                      reason: "no record kind matches this record"))
        }
        assembler.begin(kind)
        if kind.ignored { return assembler.finish(kind, location: location) }

        if case .line(let pattern) = kind.match {
            return readCaptures(kind, pattern: pattern, record: record, location: location)
        }

        // GB-family records: decode every segment between field boundaries once, so a
        // boundary inside a character, or an undefined byte anywhere, is caught and named.
        if !isASCII && spec.encoding.trailBytesMayBeASCII && layout.positions == .bytes,
           let problem = checkSegments(record, kind: kind, offset: offset) {
            return reject(kind, location, problem)
        }

        for field in kind.fields {
            guard case .slice(let start, let length) = field.source else { continue }
            let from = byteIndex(start)
            let to = byteIndex(start + length)
            if from >= record.count {
                assembler.addMissing(field)
                continue
            }
            if !isASCII && spec.encoding == .utf8 && !countsCharacters {
                // A boundary on a continuation byte splits a character.
                for edge in [from, to] where edge < record.count && record[edge] & 0xC0 == 0x80 {
                    assembler.addProblem(FieldProblem(
                        field: field.name, rawValue: AssemblerText.preview(UnsafeRawBufferPointer(rebasing: record[from..<to])),
                        reason: "the field boundary at position \(edge + 1) splits a multibyte character",
                        byteOffset: offset + Int64(edge)))
                }
            }
            let raw = UnsafeRawBufferPointer(rebasing: record[from..<to])
            assembler.add(field, raw: raw, validated: spec.encoding == .utf8, fileOffset: offset + Int64(from))
        }
        return assembler.finish(kind, location: location)
    }

    private mutating func readCaptures(_ kind: RecordKind, pattern: SpecRegex, record: UnsafeRawBufferPointer,
                                       location: RecordLocation) -> RecordEvent {
        let text: String
        switch assembler.decoder.string(record) {
        case .success(let decoded): text = decoded
        case .failure(let failure):
            return reject(kind, location, FieldProblem(field: nil, rawValue: nil, reason: failure.reason(encoding: spec.encoding),
                                                        byteOffset: location.byteOffset + Int64(failure.offset)))
        }
        let captures = pattern.captures(in: text) ?? []
        for field in kind.fields {
            guard case .capture(let group) = field.source, group < captures.count, let value = captures[group] else {
                assembler.addMissing(field)
                continue
            }
            assembler.add(field, text: value)
        }
        return assembler.finish(kind, location: location)
    }

    private func checkSegments(_ record: UnsafeRawBufferPointer, kind: RecordKind, offset: Int64) -> FieldProblem? {
        var scratch: [UInt8] = []
        let points = boundaries[kind.index].map { min($0, record.count) }
        for (from, to) in zip(points, points.dropFirst()) where to > from {
            scratch.removeAll(keepingCapacity: true)
            let segment = UnsafeRawBufferPointer(rebasing: record[from..<to])
            guard let failure = assembler.decoder.decode(segment, into: &scratch) else { continue }
            switch failure {
            case .incompleteCharacter:
                let owner = kind.fields.first { field in
                    if case .slice(let s, let l) = field.source { return s < to && to <= s + l }
                    return false
                }
                return FieldProblem(
                    field: owner?.name, rawValue: AssemblerText.preview(segment),
                    reason: "the field boundary at position \(to + 1) splits a multibyte \(spec.encoding.rawValue.uppercased()) character",
                    byteOffset: offset + Int64(to))
            default:
                return FieldProblem(field: nil, rawValue: nil, reason: failure.reason(encoding: spec.encoding),
                                    byteOffset: offset + Int64(from + failure.offset))
            }
        }
        return nil
    }

    private func matchKind(_ record: UnsafeRawBufferPointer, byteIndex: (Int) -> Int) -> RecordKind? {
        var fallback: RecordKind?
        for kind in spec.kinds {
            guard let match = kind.match else {
                if kind.isFallback || spec.kinds.count == 1 { fallback = kind }
                continue
            }
            switch match {
            case .literal(let start, let length, let values):
                let from = byteIndex(start)
                let to = byteIndex(start + length)
                for value in values where Self.sliceEquals(record, from: from, to: to, value) { return kind }
            case .slicePattern(let start, let length, let pattern):
                let from = byteIndex(start)
                let to = byteIndex(start + length)
                guard from <= to else { continue }
                let slice = UnsafeRawBufferPointer(rebasing: record[from..<to])
                if case .success(let text) = assembler.decoder.string(slice), pattern.matchesWhole(text) { return kind }
            case .line(let pattern):
                guard pattern.mayMatch(record) else { continue }
                if case .success(let text) = assembler.decoder.string(record), pattern.captures(in: text) != nil { return kind }
            case .column, .columnPattern, .columnCount:
                continue
            }
        }
        return fallback
    }

    /// Compares a slice with a literal, reading missing bytes of a short line as spaces.
    @inline(__always)
    private static func sliceEquals(_ record: UnsafeRawBufferPointer, from: Int, to: Int, _ value: [UInt8]) -> Bool {
        var index = 0
        var position = from
        for byte in value {
            let actual = position < record.count ? record[position] : 0x20
            if actual != byte { return false }
            index += 1
            position += 1
        }
        return true
    }

    private mutating func reject(_ kind: RecordKind?, _ location: RecordLocation, _ problem: FieldProblem) -> RecordEvent {
        .rejected(RejectedRecord(kindIndex: kind?.index, location: location, problems: [problem], values: []))
    }
}

enum AssemblerText {
    /// The start of a record, for "matches no kind" messages.
    static func preview(_ bytes: UnsafeRawBufferPointer) -> String {
        let head = UnsafeRawBufferPointer(rebasing: bytes.prefix(40))
        if let text = String(validating: head, as: UTF8.self) {
            return bytes.count > 40 ? text + "…" : text
        }
        return RecordAssembler.lossy(head)
    }
}
