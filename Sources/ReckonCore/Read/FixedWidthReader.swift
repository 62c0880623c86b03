/// Reads fixed-width files: records of `record_length` positions, one per line or back to
/// back, told apart by a discriminator at a position. Positions count bytes in the file's
/// encoding (or characters, where a partner counts those). A line shorter than the layout is
/// read only as its spec's `short_records` allows; a field boundary inside a multibyte
/// character is an error.
public struct FixedWidthReader: RecordReader {
    let spec: MappingSpec
    let layout: FixedWidthLayout
    private let buffer: InputBuffer
    private var lines: LineSplitter
    var assembler: RecordAssembler
    private var started = false
    private var pending: [(start: Int, length: Int)] = []
    private var pendingLine: (bytes: [UInt8], offset: Int64, line: Int)?
    private var recordNumber = 0
    var scalarStarts: [Int] = []
    /// Field boundaries per kind, and the filler between fields, for checking GB records.
    private let boundaries: [[Int]]
    private let gaps: [[Range<Int>]]
    /// Tells a record's kind by its discriminator. A class, so matching a record never
    /// copies the reader.
    private let kindMatch: FixedWidthKindMatch
    /// Records assembled from several lines (`parts:`, see LogicalRecords.swift); nil when
    /// no kind has parts, so other files take the direct path.
    var segments: SegmentAssembly?
    /// `segments != nil`, as a flag the per-record path tests without looking into it.
    private let hasSegments: Bool

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
        gaps = spec.kinds.map { kind in
            var covered = [Bool](repeating: false, count: layout.recordLength)
            for slice in kind.slices where slice.start >= 0 {
                for position in slice.start..<(slice.start + slice.length) { covered[position] = true }
            }
            var gaps: [Range<Int>] = []
            var start: Int?
            for position in 0...layout.recordLength {
                let inGap = position < layout.recordLength && !covered[position]
                if inGap, start == nil { start = position }
                if !inGap, let open = start { gaps.append(open..<position); start = nil }
            }
            return gaps
        }
        kindMatch = FixedWidthKindMatch(spec: spec, decoder: assembler.decoder)
        hasSegments = spec.kinds.contains { !$0.parts.isEmpty }
        segments = hasSegments ? SegmentAssembly(spec: spec) : nil
    }

    public mutating func next() throws(FileFailure) -> RecordEvent? {
        if !started {
            started = true
            try ByteOrderMark.skip(buffer, encoding: spec.encoding)
        }
        while true {
            if hasSegments, let event = takeHeld() { return event }
            if layout.separator == .none {
                guard let event = try nextBackToBack() else { return finishSegments() }
                if let event { return event }
                continue
            }
            if let line = pendingLine, let slot = pending.first {
                pending.removeFirst()
                if pending.isEmpty { pendingLine = nil }
                let event = line.bytes.withUnsafeBytes { bytes in
                    let record = UnsafeRawBufferPointer(rebasing: bytes[slot.start..<(slot.start + slot.length)])
                    return take(record, offset: line.offset + Int64(slot.start), line: line.line)
                }
                if let event { return event }
                continue
            }
            guard let (bytes, offset, lineNumber) = try lines.next() else { return finishSegments() }
            if bytes.isEmpty {
                let location = RecordLocation(line: lineNumber, byteOffset: offset)
                let event: RecordEvent
                if layout.blankLines == .skip {
                    event = .skipped(location)
                } else {
                    event = .rejected(RejectedRecord(kindIndex: nil, location: location, problems: [FieldProblem(
                        field: nil, rawValue: nil,
                        reason: "an empty line; this layout's records are \(layout.recordLength) \(layout.positions.rawValue) (blank_lines: skip passes over empty lines)")],
                        values: [], isBlankLine: true))
                }
                if segments?.isOpen == true { return holdAndFinish(event) }
                return event
            }
            if layout.separator == .auto, let split = splitBackToBack(bytes), split.count > 1 {
                pending = split
                pendingLine = (Array(bytes), offset, lineNumber)
                continue
            }
            if let event = take(bytes, offset: offset, line: lineNumber) { return event }
        }
    }

    /// One physical record: read as it is, or (with `parts:`) into a record assembled from
    /// several; nil when it became part of one still open.
    @inline(__always)
    private mutating func take(_ record: UnsafeRawBufferPointer, offset: Int64, line: Int) -> RecordEvent? {
        if !hasSegments { return process(record, offset: offset, line: line) }
        return takeSegment(record, offset: offset, line: line)
    }

    /// `separator: none`: exactly `record_length` bytes per record. Nil at the end; an
    /// event of nil when the record went into an assembled one still open.
    private mutating func nextBackToBack() throws(FileFailure) -> RecordEvent?? {
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
            throw FileFailure(location: RecordLocation(line: recordNumber, byteOffset: offset),
                              reason: "the file ends inside record \(recordNumber): \(unread.count) of \(length) bytes (truncated?)")
        }
        let record = UnsafeRawBufferPointer(rebasing: unread[0..<length])
        // With no line breaks, a record's "line" is its number.
        let event = take(record, offset: offset, line: recordNumber)
        buffer.consume(length)
        return .some(event)
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

    mutating func process(_ record: UnsafeRawBufferPointer, offset: Int64, line: Int) -> RecordEvent {
        let location = RecordLocation(line: line, byteOffset: offset)
        let isASCII = UTF8Validation.isASCII(record)

        // Encoding first: a record that does not decode has no trustworthy fields.
        if !isASCII && spec.encoding == .utf8, let failure = UTF8Validation.check(record) {
            return encodingFailure(failure, record: record, location: location)
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
        let matched = matchKind(record, countsCharacters: countsCharacters)
        if recordLength > layout.recordLength {
            // Rejected as the kind its discriminator names, so it counts where that kind's
            // records count (a trailer's record count); as matching no kind otherwise.
            var reason = "the record is \(recordLength) \(layout.positions.rawValue) long; this layout's records are \(layout.recordLength)"
            if !isASCII && layout.positions == .bytes {
                reason += " (the line has multibyte characters: if the partner counts characters, set positions: characters)"
            }
            if matched == nil { reason = "no record kind matches this record, and " + reason }
            return reject(matched.map { spec.kinds[$0] }, location,
                          FieldProblem(field: nil, rawValue: matched == nil ? AssemblerText.preview(record) : nil, reason: reason))
        }

        if matched.map({ spec.kinds[$0].ignored }) ?? (spec.unmatched == .skip), let (kind, problem) = spec.nearMiss(record) {
            return reject(kind, location, problem)
        }
        guard let kindIndex = matched else {
            if spec.unmatched == .skip { return .skipped(location) }
            return reject(nil, location, FieldProblem(field: nil, rawValue: AssemblerText.preview(record),
                                                      reason: "no record kind matches this record"))
        }
        let kind = spec.kinds[kindIndex]
        // A short record is read only as far as its kind's policy allows (line-pattern kinds
        // have no positions).
        if recordLength < layout.recordLength, kind.linePattern == nil,
           let problem = shortRecordProblem(kind, length: recordLength, record: record, countsCharacters: countsCharacters) {
            return reject(kind, location, problem)
        }
        assembler.begin(kind)
        if kind.ignored { return assembler.finish(kind, location: location) }

        if let pattern = kind.linePattern {
            return readCaptures(kind, pattern: pattern, record: record, location: location)
        }

        // GB-family records: every field boundary must fall between characters, and bytes
        // outside the fields must decode too (the fields are decoded as they are read).
        if !isASCII && spec.encoding.trailBytesMayBeASCII && layout.positions == .bytes,
           let problem = checkCharacterBoundaries(record, kind: kind, offset: offset) {
            return reject(kind, location, problem)
        }

        readSlices(kind, 0..<kind.fields.count, record, offset: offset, isASCII: isASCII, countsCharacters: countsCharacters)
        return assembler.finish(kind, location: location)
    }

    /// Reads the fields `range` of `kind` from one physical record (the whole record, or
    /// one line of an assembled one), each from its slice. A function of its own so the
    /// compiler inlines the per-field work (``RecordAssembler/addSimple(_:raw:)``) into it.
    @inline(never)
    mutating func readSlices(_ kind: RecordKind, _ range: Range<Int>, _ record: UnsafeRawBufferPointer, offset: Int64,
                             isASCII: Bool, countsCharacters: Bool) {
        // Fields of an ASCII record need no decoding in any supported encoding.
        let validated = isASCII || spec.encoding == .utf8
        let checkBoundaries = !isASCII && spec.encoding == .utf8 && !countsCharacters
        let first = assembler.kernelStart[kind.index]
        let hasConditions = kind.hasConditions
        for index in range {
            let kernel = assembler.kernel(first + index)
            if kernel.start < 0 {
                if kernel.inherit >= 0 { kernel.field._withUnsafeGuaranteedRef { assembler.addInherited(entry: kernel.inherit, field: $0) } }
                continue
            }
            if hasConditions, let condition = kind.conditions[index] {
                let decider = assembler.kernel(first + condition.field)
                let from = byteIndex(decider.start, record, countsCharacters)
                let to = byteIndex(decider.start + decider.length, record, countsCharacters)
                if !condition.holds(UnsafeRawBufferPointer(rebasing: record[from..<max(from, to)])) {
                    assembler.addAbsent()
                    continue
                }
            }
            let from = byteIndex(kernel.start, record, countsCharacters)
            let to = byteIndex(kernel.start + kernel.length, record, countsCharacters)
            if from >= record.count {
                kernel.field._withUnsafeGuaranteedRef { assembler.addMissing($0) }
                continue
            }
            if checkBoundaries {
                // A boundary on a continuation byte splits a character.
                for edge in from == to ? [from] : [from, to] where edge < record.count && record[edge] & 0xC0 == 0x80 {
                    assembler.addProblem(FieldProblem(
                        field: kind.fields[index].name, rawValue: AssemblerText.preview(UnsafeRawBufferPointer(rebasing: record[from..<to])),
                        reason: "the field boundary at position \(edge + 1) splits a multibyte character",
                        byteOffset: offset + Int64(edge)))
                }
            }
            let raw = UnsafeRawBufferPointer(rebasing: record[from..<to])
            if kernel.simple && validated {
                assembler.addSimple(kernel, raw: raw)
            } else {
                kernel.field._withUnsafeGuaranteedRef {
                    assembler.add($0, raw: raw, validated: validated, fileOffset: offset + Int64(from))
                }
            }
        }
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
        for (index, field) in kind.fields.enumerated() {
            if assembler.addInherited(kind, field: index) { continue }
            guard case .capture(let group) = field.source, group < captures.count, let value = captures[group] else {
                assembler.addMissing(field)
                continue
            }
            assembler.add(field, text: value)
        }
        return assembler.finish(kind, location: location)
    }

    /// GB-family records: walks the characters once (a lead byte from 0x81 takes its trail
    /// bytes with it) and checks that no field boundary falls inside one; bytes between
    /// fields are decoded to be sure they are valid (fields are decoded when read).
    private func checkCharacterBoundaries(_ record: UnsafeRawBufferPointer, kind: RecordKind, offset: Int64) -> FieldProblem? {
        let points = boundaries[kind.index]
        // Up to the first non-ASCII byte every byte is a character of its own.
        var i = 0
        while i + 8 <= record.count,
              record.loadUnaligned(fromByteOffset: i, as: UInt64.self) & 0x8080_8080_8080_8080 == 0 { i += 8 }
        while i < record.count, record[i] < 0x80 { i += 1 }
        var next = points.firstIndex { $0 >= i } ?? points.count
        while i < record.count {
            while next < points.count, points[next] < i {
                let edge = points[next]
                let owner = kind.fields.first { field in
                    if case .slice(let s, let l) = field.source { return s == edge || s + l == edge }
                    return false
                }
                return FieldProblem(
                    field: owner?.name, rawValue: nil,
                    reason: "the field boundary at position \(edge + 1) splits a multibyte \(spec.encoding.rawValue.uppercased()) character",
                    byteOffset: offset + Int64(edge))
            }
            if next < points.count, points[next] == i { next += 1 }
            let lead = record[i]
            i += lead < 0x80 ? 1 : spec.encoding.gbCharacterLength(lead: lead, next: i + 1 < record.count ? record[i + 1] : nil)
        }
        // Filler between fields.
        var scratch: [UInt8] = []
        for gap in gaps[kind.index] where gap.lowerBound < record.count {
            let bytes = UnsafeRawBufferPointer(rebasing: record[gap.lowerBound..<min(gap.upperBound, record.count)])
            if !UTF8Validation.isASCII(bytes), let failure = assembler.decoder.decode(bytes, into: &scratch) {
                return FieldProblem(field: nil, rawValue: nil, reason: failure.reason(encoding: spec.encoding),
                                    byteOffset: offset + Int64(gap.lowerBound + failure.offset))
            }
        }
        return nil
    }

    /// A UTF-8 record that does not decode: rejected as a whole (no field of it can be
    /// trusted), naming the field that holds the offending bytes and showing its raw value.
    private func encodingFailure(_ failure: DecodingFailure, record: UnsafeRawBufferPointer, location: RecordLocation) -> RecordEvent {
        var kind: RecordKind?
        var field: (name: String, raw: String)?
        if let index = matchKind(record, countsCharacters: false) {
            kind = spec.kinds[index]
            // Where a position starts: counting characters, by their lead bytes (a stray
            // byte after the offending one counts as one).
            func start(of position: Int) -> Int {
                if layout.positions == .bytes { return min(position, record.count) }
                var i = 0, characters = 0
                while i < record.count && characters < position {
                    i += 1
                    while i < record.count && record[i] & 0xC0 == 0x80 { i += 1 }
                    characters += 1
                }
                return i
            }
            for (candidate, slice) in zip(spec.kinds[index].fields, spec.kinds[index].slices)
            where slice.start >= 0 && start(of: slice.start) <= failure.offset && failure.offset < start(of: slice.start + slice.length) {
                let raw = UnsafeRawBufferPointer(rebasing: record[start(of: slice.start)..<start(of: slice.start + slice.length)])
                field = (candidate.name, DisplayText.escaped(utf8: raw))
            }
        }
        return reject(kind, location, FieldProblem(field: field?.name, rawValue: field?.raw, reason: failure.reason(encoding: .utf8),
                                                   byteOffset: location.byteOffset + Int64(failure.offset)))
    }

    /// Why a record of `length` positions, shorter than the layout, cannot be read as its
    /// kind; nil when the kind's `short_records` lets the fields after the end be absent.
    /// Fields never overlap, so the end falls inside at most one field.
    /// `fields`: the fields of one line of a record of several (`parts:`); all by default.
    func shortRecordProblem(_ kind: RecordKind, length: Int, record: UnsafeRawBufferPointer,
                                    countsCharacters: Bool, fields: Range<Int>? = nil) -> FieldProblem? {
        var cut: (field: FieldSpec, slice: RecordKind.FieldSlice)?
        var missing: [(field: FieldSpec, slice: RecordKind.FieldSlice)] = []
        let range = fields ?? kind.fields.indices
        for (field, slice) in zip(kind.fields[range], kind.slices[range]) where slice.start >= 0 && slice.start + slice.length > length {
            if slice.start >= length { missing.append((field, slice)) } else { cut = (field, slice) }
        }
        let unit = layout.positions.rawValue
        let size = "the record is \(length) \(unit) long; this layout's records are \(layout.recordLength)"
        func span(_ slice: RecordKind.FieldSlice) -> String { "\(slice.start + 1)–\(slice.start + slice.length)" }
        func cutText(_ slice: RecordKind.FieldSlice) -> String { "cut after \(length - slice.start) of its \(slice.length) \(unit)" }

        switch kind.shortRecords ?? layout.shortRecords {
        case .reject:
            var parts: [String] = []
            if let cut { parts.append("\(cut.field.name) (\(span(cut.slice))) is \(cutText(cut.slice))") }
            if !missing.isEmpty {
                parts.append(missing.map { "\($0.field.name) (\(span($0.slice)))" }.joined(separator: ", ")
                             + (missing.count == 1 ? " is missing" : " are missing"))
            }
            if parts.isEmpty { parts.append("only filler after the last field is missing") }
            return FieldProblem(field: nil, rawValue: nil,
                                reason: size + ": " + parts.joined(separator: " and ") + "; short records are refused (short_records: reject)")
        case .wholeFields:
            guard let cut else { return nil }
            return FieldProblem(field: cut.field.name, rawValue: partialValue(cut.slice, record, countsCharacters),
                                reason: "is \(cutText(cut.slice)) (\(size)); short_records: whole_fields lets a record stop between fields, not inside one")
        case .rightTrimmed:
            guard let cut, !cut.field.trailingSpacesArePadding else { return nil }
            let what: String
            if case .string = cut.field.type { what = "text that keeps its trailing spaces or is aligned right" } else { what = "a \(cut.field.type.name)" }
            return FieldProblem(field: cut.field.name, rawValue: partialValue(cut.slice, record, countsCharacters),
                                reason: "is \(cutText(cut.slice)) (\(size)); trimming a line can only shorten left-aligned text, and this is \(what)")
        }
    }

    /// What a short record holds of a field it cuts, for the message.
    private func partialValue(_ slice: RecordKind.FieldSlice, _ record: UnsafeRawBufferPointer, _ countsCharacters: Bool) -> String {
        let from = byteIndex(slice.start, record, countsCharacters)
        return AssemblerText.preview(UnsafeRawBufferPointer(rebasing: record[from...]))
    }

    /// The byte index of a position (a character position when the layout counts those).
    @inline(__always)
    func byteIndex(_ position: Int, _ record: UnsafeRawBufferPointer, _ countsCharacters: Bool) -> Int {
        if !countsCharacters { return min(position, record.count) }
        return position < scalarStarts.count ? scalarStarts[position] : record.count
    }

    /// The index of the first kind whose discriminator matches (or the fallback kind).
    @inline(__always)
    func matchKind(_ record: UnsafeRawBufferPointer, countsCharacters: Bool) -> Int? {
        kindMatch.match(record, countsCharacters: countsCharacters, scalarStarts: scalarStarts)
    }

    /// Compares a slice with a literal, reading missing bytes of a short line as spaces.
    @inline(__always)
    static func sliceEquals(_ record: UnsafeRawBufferPointer, from: Int, _ value: UnsafeBufferPointer<UInt8>) -> Bool {
        FixedWidthKindMatch.sliceEquals(record, from: from, value)
    }

    func reject(_ kind: RecordKind?, _ location: RecordLocation, _ problem: FieldProblem) -> RecordEvent {
        assembler.noteRejected(kindIndex: kind?.index, location: location)
        return .rejected(RejectedRecord(kindIndex: kind?.index, location: location, problems: [problem], values: []))
    }
}

enum AssemblerText {
    /// The start of a record, for "matches no kind" messages (see ``DisplayText``).
    static func preview(_ bytes: UnsafeRawBufferPointer) -> String {
        DisplayText.escaped(utf8: bytes, limit: 40)
    }
}
