#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads delimited files (CSV and kin): any one-byte delimiter, RFC 4180 quoting (doubled
/// quotes, line breaks inside quotes), TAB or space padding around quoted fields, trailing
/// delimiters, a header row found by line number or pattern, and preamble or summary lines
/// matched by pattern. GBK and GB18030 are scanned character by character, since their
/// trail bytes can look like ASCII delimiters.
public struct DelimitedReader: RecordReader {
    let spec: MappingSpec
    let layout: DelimitedLayout
    let buffer: InputBuffer
    var assembler: RecordAssembler
    private var started = false
    private var lineNumber = 0
    private var headerSeen: Bool
    /// Column of each field (aligned with the assembler's kernels), -1 until a named
    /// column is resolved against the header.
    var columns: ContiguousArray<Int>
    private var matchColumn: [Int?]
    /// `equals` discriminators as trimmed bytes in the file's encoding, per kind.
    private let matchLiterals: [[[UInt8]]]
    /// Each kind's discriminator in a form that needs no enum payload copies to test.
    private let matchers: [Matcher]

    enum Matcher {
        /// `equals` on a column (nil: a named column, looked up in `matchColumn`).
        case literal(column: Int?)
        case columnCount(Int)
        case fallback
        /// Patterns: tested through the kind.
        case other
        /// No discriminator and not the fallback (never matches).
        case none
    }
    /// Field ranges of the current record, relative to its first byte.
    var cells: [Cell] = []
    private var unescaped: [UInt8] = []
    /// Records ended by a terminator, or with continuations (``LogicalRecords``); nil for one record a line.
    var logical: LogicalState?
    /// `logical != nil`, as a flag the per-record path tests without looking into it.
    private let readsLogicalRecords: Bool
    /// Per kind: fields read from cell spans (``CellLayout``) rather than one column each.
    private let spanned: [Bool]

    struct Cell {
        var start: Int
        var end: Int
        var quoted: Bool
        var hasEscapedQuote: Bool
    }

    public init(spec: MappingSpec, source: any ByteSource, chunkBytes: Int = 1 << 20) {
        guard case .delimited(let layout) = spec.format else {
            preconditionFailure("DelimitedReader needs a delimited spec")
        }
        self.spec = spec
        self.layout = layout
        buffer = InputBuffer(source: source, capacity: spec.maxRecordBytes + chunkBytes)
        assembler = RecordAssembler(spec: spec)
        if case .none = layout.header { headerSeen = true } else { headerSeen = false }
        var columns = ContiguousArray<Int>()
        for kind in spec.kinds {
            for field in kind.fields {
                if case .column(.index(let i)) = field.source { columns.append(i) } else { columns.append(-1) }
            }
        }
        self.columns = columns
        matchers = spec.kinds.map { kind in
            switch kind.match {
            case .column(.index(let i), _)?: return .literal(column: i)
            case .column(.name, _)?: return .literal(column: nil)
            case .columnCount(let n)?: return .columnCount(n)
            case .columnPattern?, .line?: return .other
            case .literal?, .slicePattern?, .tag?: return .none
            case nil: return kind.isFallback || spec.kinds.count == 1 ? .fallback : .none
            }
        }
        matchLiterals = spec.kinds.map { kind in
            guard case .column(_, let values)? = kind.match else { return [] }
            return values.map { TextEncoder.encode($0, as: spec.encoding) ?? Array($0.utf8) }
        }
        spanned = spec.kinds.map(Self.needsSpans)
        readsLogicalRecords = Self.needsLogicalReader(spec, layout)
        if readsLogicalRecords { logical = LogicalState() }
        matchColumn = spec.kinds.map { kind in
            switch kind.match {
            case .column(.index(let i), _)?, .columnPattern(.index(let i), _)?: return i
            default: return nil
            }
        }
    }

    public mutating func next() throws(FileFailure) -> RecordEvent? {
        if !started {
            started = true
            try ByteOrderMark.skip(buffer, encoding: spec.encoding)
        }
        if readsLogicalRecords { return try nextLogical() }
        guard let (length, consumed, firstLine, offset) = try scanRecord() else { return nil }
        defer { buffer.consume(consumed) }
        let record = UnsafeRawBufferPointer(rebasing: buffer.unread[0..<length])
        let location = RecordLocation(line: firstLine, byteOffset: offset)

        if !headerSeen {
            if isHeader(record, line: firstLine) {
                try readHeader(record, location: location)
                return .skipped(location)
            }
            // Preamble: only summary kinds matched by a line pattern are read from it.
            if let kind = lineKind(record) { return readCaptures(kind, record: record, location: location) }
            return .skipped(location)
        }
        if isBlank(record) { return .skipped(location) }
        return process(record, location: location)
    }

    // MARK: Scanning

    /// Finds the end of the next record, refilling as needed. Returns the record's length
    /// (without its line break), the bytes to consume, its first line and its file offset.
    private mutating func scanRecord() throws(FileFailure) -> (Int, Int, Int, Int64)? {
        while true {
            let unread = buffer.unread
            if let (length, consumed, breaks) = try split(unread, final: buffer.atEnd) {
                let first = lineNumber + 1
                lineNumber += breaks
                return (length, consumed, first, buffer.offset)
            }
            if unread.count > spec.maxRecordBytes {
                throw FileFailure(location: RecordLocation(line: lineNumber + 1, byteOffset: buffer.offset),
                                  reason: "no record end within \(spec.maxRecordBytes) bytes (an unclosed quote, or not this spec's layout)")
            }
            if try !buffer.refill() {
                if buffer.atEnd {
                    if buffer.unreadCount == 0 { return nil }
                    continue
                }
                throw FileFailure(location: RecordLocation(line: lineNumber + 1, byteOffset: buffer.offset),
                                  reason: "no record end within \(spec.maxRecordBytes) bytes")
            }
        }
    }

    /// Splits one record off `bytes` into `cells`. Nil when the record may continue past
    /// the bytes at hand.
    private mutating func split(_ bytes: UnsafeRawBufferPointer, final: Bool) throws(FileFailure) -> (Int, Int, Int)? {
        cells.removeAll(keepingCapacity: true)
        let count = bytes.count
        if count == 0 { return nil }
        if let fast = splitPlainLine(bytes) { return fast }
        let delimiter = layout.delimiter
        let quote = layout.quote ?? 0
        let hasQuote = layout.quote != nil
        let multibyte = spec.encoding.trailBytesMayBeASCII
        var breaks = 1
        var i = 0
        var cellStart = 0
        while true {
            // Start of a cell: padding may precede an opening quote.
            var j = i
            while j < count, bytes[j] == 0x20 || bytes[j] == 0x09 { j += 1 }
            if hasQuote, j < count, bytes[j] == quote {
                var k = j + 1
                var escaped = false
                var closed = false
                while k < count {
                    let byte = bytes[k]
                    if byte == quote {
                        if k + 1 < count, bytes[k + 1] == quote { escaped = true; k += 2; continue }
                        if k + 1 >= count && !final { return nil }
                        closed = true
                        break
                    }
                    if byte == 0x0A { breaks += 1 }
                    if multibyte && byte >= 0x81 {
                        k += spec.encoding.gbCharacterLength(lead: byte, next: k + 1 < count ? bytes[k + 1] : nil)
                        continue
                    }
                    k += 1
                }
                if !closed {
                    if !final { return nil }
                    throw FileFailure(location: RecordLocation(line: lineNumber + 1, byteOffset: buffer.offset + Int64(j)),
                                      reason: "a quoted field opened here is never closed (truncated file?)")
                }
                cells.append(Cell(start: j + 1, end: k, quoted: true, hasEscapedQuote: escaped))
                // After the closing quote: padding, then a delimiter or the record's end.
                var m = k + 1
                while m < count, bytes[m] == 0x20 || bytes[m] == 0x09 { m += 1 }
                if m >= count {
                    if !final { return nil }
                    return (count, count, breaks)
                }
                if bytes[m] == delimiter { i = m + 1; cellStart = i; continue }
                if bytes[m] == 0x0A || (bytes[m] == 0x0D && m + 1 < count && bytes[m + 1] == 0x0A) {
                    return (m, bytes[m] == 0x0D ? m + 2 : m + 1, breaks)
                }
                if bytes[m] == 0x0D && m + 1 >= count && !final { return nil }
                throw FileFailure(location: RecordLocation(line: lineNumber + breaks, byteOffset: buffer.offset + Int64(m)),
                                  reason: "unexpected '\(ValueParser.printable(bytes[m]))' after a closing quote")
            }
            // Unquoted cell: up to the delimiter or the line's end.
            var k = cellStart
            while k < count {
                let byte = bytes[k]
                if byte == delimiter || byte == 0x0A { break }
                if multibyte && byte >= 0x81 {
                    k += spec.encoding.gbCharacterLength(lead: byte, next: k + 1 < count ? bytes[k + 1] : nil)
                    continue
                }
                k += 1
            }
            if k >= count {
                if !final { return nil }
                var end = min(k, count)
                if end > cellStart, bytes[end - 1] == 0x0D { end -= 1 }
                cells.append(Cell(start: cellStart, end: max(end, cellStart), quoted: false, hasEscapedQuote: false))
                return (end, count, breaks)
            }
            if bytes[k] == delimiter {
                cells.append(Cell(start: cellStart, end: k, quoted: false, hasEscapedQuote: false))
                i = k + 1
                cellStart = i
                continue
            }
            // Line feed ends the record (a CR before it belongs to the break).
            let end = k > cellStart && bytes[k - 1] == 0x0D ? k - 1 : k
            cells.append(Cell(start: cellStart, end: end, quoted: false, hasEscapedQuote: false))
            return (end, k + 1, breaks)
        }
    }

    /// The common case, found with memchr: the line has no quote character (and, in a
    /// GB-family file, no multibyte character), so its cells are simply the runs between
    /// delimiters. Nil sends the line to the full scanner.
    private mutating func splitPlainLine(_ bytes: UnsafeRawBufferPointer) -> (Int, Int, Int)? {
        guard let base = bytes.baseAddress, let newline = memchr(base, 0x0A, bytes.count) else { return nil }
        let lineEnd = base.distance(to: UnsafeRawPointer(newline))
        if let quote = layout.quote, memchr(base, Int32(quote), lineEnd) != nil { return nil }
        let line = UnsafeRawBufferPointer(rebasing: bytes[0..<lineEnd])
        if spec.encoding.trailBytesMayBeASCII && !UTF8Validation.isASCII(line) { return nil }
        let end = lineEnd > 0 && bytes[lineEnd - 1] == 0x0D ? lineEnd - 1 : lineEnd
        var start = 0
        let delimiter = Int32(layout.delimiter)
        while start <= end {
            if let found = memchr(base + start, delimiter, end - start) {
                let position = base.distance(to: UnsafeRawPointer(found))
                cells.append(Cell(start: start, end: position, quoted: false, hasEscapedQuote: false))
                start = position + 1
            } else {
                cells.append(Cell(start: start, end: end, quoted: false, hasEscapedQuote: false))
                break
            }
        }
        return (end, lineEnd + 1, 1)
    }

    // MARK: Header

    private func isHeader(_ record: UnsafeRawBufferPointer, line: Int) -> Bool {
        switch layout.header {
        case .none: return false
        case .line(let number): return line == number
        case .matching(let pattern):
            guard pattern.mayMatch(record) || !pattern.source.hasPrefix("^") else { return false }
            if case .success(let text) = assembler.decoder.string(record) {
                return pattern.captures(in: text) != nil
            }
            return false
        }
    }

    private mutating func readHeader(_ record: UnsafeRawBufferPointer, location: RecordLocation) throws(FileFailure) {
        var names: [String] = []
        for index in cells.indices {
            guard case .success(let raw) = cellText(index, record: record) else {
                throw FileFailure(location: location, reason: "the header row is not valid \(spec.encoding.rawValue)")
            }
            names.append(raw)
        }
        func resolve(_ name: String, _ kind: RecordKind, _ what: String) throws(FileFailure) -> Int {
            guard let index = names.firstIndex(of: name) else {
                throw FileFailure(location: location,
                                  reason: "the header has no column '\(name)' (\(what) of record kind '\(kind.name)'); it has: \(names.joined(separator: " | "))")
            }
            return index
        }
        for kind in spec.kinds {
            for (f, field) in kind.fields.enumerated() {
                if case .column(.name(let name)) = field.source {
                    columns[assembler.kernelStart[kind.index] + f] = try resolve(name, kind, "field '\(field.name)'")
                }
            }
            switch kind.match {
            case .column(.name(let name), _)?, .columnPattern(.name(let name), _)?:
                matchColumn[kind.index] = try resolve(name, kind, "discriminator")
            default: break
            }
        }
        headerSeen = true
    }

    // MARK: Records

    mutating func process(_ record: UnsafeRawBufferPointer, location: RecordLocation) -> RecordEvent {
        let matched = matchKind(record)
        if matched?.ignored ?? (spec.unmatched == .skip), let (kind, problem) = spec.nearMiss(record) {
            assembler.noteRejected(kindIndex: kind.index, location: location)
            return .rejected(RejectedRecord(kindIndex: kind.index, location: location, problems: [problem], values: []))
        }
        guard let kind = matched else {
            if spec.unmatched == .skip { return .skipped(location) }
            return .rejected(RejectedRecord(kindIndex: nil, location: location, problems: [
                FieldProblem(field: nil, rawValue: AssemblerText.preview(record), reason: "no record kind matches this record")
            ], values: []))
        }
        if kind.linePattern != nil { return readCaptures(kind, record: record, location: location) }
        assembler.begin(kind)
        if kind.ignored { return assembler.finish(kind, location: location) }
        // One validation for the whole record: UTF-8 checked once, or ASCII in any encoding.
        var validated = UTF8Validation.isASCII(record)
        if !validated && spec.encoding == .utf8 {
            if let failure = UTF8Validation.check(record) {
                assembler.noteRejected(kindIndex: kind.index, location: location)
                return .rejected(RejectedRecord(kindIndex: kind.index, location: location,
                                                problems: [encodingProblem(failure, kind: kind, record: record, location: location)],
                                                values: []))
            }
            validated = true
        }
        if spanned[kind.index] {
            readSpanned(kind, record: record, location: location, validated: validated)
            return assembler.finish(kind, location: location)
        }
        readCells(kind, record: record, location: location, validated: validated)
        return assembler.finish(kind, location: location)
    }

    /// Reads every field of a record from its cells. A function of its own so the compiler
    /// inlines the per-field work (``RecordAssembler/addSimple(_:raw:)``) into this loop.
    @inline(never)
    private mutating func readCells(_ kind: RecordKind, record: UnsafeRawBufferPointer, location: RecordLocation, validated: Bool) {
        let first = assembler.kernelStart[kind.index]
        for index in 0..<kind.fields.count {
            let kernel = assembler.kernel(first + index)
            if kernel.inherit >= 0 {
                kernel.field._withUnsafeGuaranteedRef { assembler.addInherited(entry: kernel.inherit, field: $0) }
                continue
            }
            let column = columns[first + index]
            guard column < cells.count else {
                assembler.addProblem(FieldProblem(
                    field: kind.fields[index].name, rawValue: nil,
                    reason: "the record has \(cells.count) column\(cells.count == 1 ? "" : "s"); column \(column + 1) is missing"))
                assembler.addAbsent()
                continue
            }
            let cell = cells[column]
            if cell.hasEscapedQuote {
                unescape(cell, record: record)
                let copy = unescaped
                copy.withUnsafeBytes { bytes in
                    kernel.field._withUnsafeGuaranteedRef {
                        assembler.add($0, raw: bytes, validated: validated, fileOffset: location.byteOffset + Int64(cell.start))
                    }
                }
                continue
            }
            let raw = UnsafeRawBufferPointer(rebasing: record[cell.start..<cell.end])
            if kernel.simple && validated {
                assembler.addSimple(kernel, raw: raw)
            } else {
                kernel.field._withUnsafeGuaranteedRef {
                    assembler.add($0, raw: raw, validated: validated, fileOffset: location.byteOffset + Int64(cell.start))
                }
            }
        }
    }

    /// A UTF-8 record that does not decode, naming the field (or column) that holds the
    /// offending bytes and showing its raw value.
    private func encodingProblem(_ failure: DecodingFailure, kind: RecordKind, record: UnsafeRawBufferPointer,
                                 location: RecordLocation) -> FieldProblem {
        var name: String?
        var raw: String?
        var reason = failure.reason(encoding: .utf8)
        if let column = cells.firstIndex(where: { $0.start <= failure.offset && failure.offset < $0.end }) {
            let first = assembler.kernelStart[kind.index]
            if let index = kind.fields.indices.first(where: { columns[first + $0] == column }) {
                name = kind.fields[index].name
            } else {
                reason = "column \(column + 1): " + reason
            }
            raw = DisplayText.escaped(utf8: UnsafeRawBufferPointer(rebasing: record[cells[column].start..<cells[column].end]))
        }
        return FieldProblem(field: name, rawValue: raw, reason: reason, byteOffset: location.byteOffset + Int64(failure.offset))
    }

    private mutating func readCaptures(_ kind: RecordKind, record: UnsafeRawBufferPointer, location: RecordLocation) -> RecordEvent {
        assembler.begin(kind)
        guard case .line(let pattern) = kind.match else { return assembler.finish(kind, location: location) }
        switch assembler.decoder.string(record) {
        case .success(let text):
            let captures = pattern.captures(in: text) ?? []
            for (index, field) in kind.fields.enumerated() {
                if assembler.addInherited(kind, field: index) { continue }
                if case .capture(let group) = field.source, group < captures.count, let value = captures[group] {
                    assembler.add(field, text: value)
                } else {
                    assembler.addMissing(field)
                }
            }
        case .failure(let failure):
            // (The kind matched on decoded text, so this is a guard: every field still gets
            // its one value, as `finish` requires.)
            assembler.addProblem(FieldProblem(field: nil, rawValue: nil, reason: failure.reason(encoding: spec.encoding),
                                              byteOffset: location.byteOffset + Int64(failure.offset)))
            for _ in kind.fields { assembler.addAbsent() }
        }
        return assembler.finish(kind, location: location)
    }

    private mutating func lineKind(_ record: UnsafeRawBufferPointer) -> RecordKind? {
        for kind in spec.kinds {
            guard case .line(let pattern) = kind.match, pattern.mayMatch(record) else { continue }
            if case .success(let text) = assembler.decoder.string(record), pattern.captures(in: text) != nil { return kind }
        }
        return nil
    }

    private mutating func matchKind(_ record: UnsafeRawBufferPointer) -> RecordKind? {
        var fallback: Int?
        for index in 0..<matchers.count {
            switch matchers[index] {
            case .fallback:
                fallback = index
            case .literal(let column):
                guard let column = column ?? matchColumn[index], column < cells.count else { continue }
                let cell = cells[column]
                if cell.hasEscapedQuote {
                    guard case .success(let text) = cellText(column, record: record),
                          matchLiterals[index].contains(where: { $0.elementsEqual(text.utf8) }) else { continue }
                    return spec.kinds[index]
                }
                let bytes = ValueParser.trim(UnsafeRawBufferPointer(rebasing: record[cell.start..<cell.end]), .both)
                if matchLiterals[index].contains(where: { $0.elementsEqual(bytes) }) { return spec.kinds[index] }
            case .columnCount(let count):
                if cells.count == count { return spec.kinds[index] }
            case .other:
                let kind = spec.kinds[index]
                switch kind.match {
                case .columnPattern(_, let pattern)?:
                    guard let column = matchColumn[index], column < cells.count,
                          case .success(let text) = cellText(column, record: record) else { continue }
                    if pattern.matchesWhole(text) { return kind }
                case .line(let pattern)?:
                    guard pattern.mayMatch(record) else { continue }
                    if case .success(let text) = assembler.decoder.string(record), pattern.captures(in: text) != nil { return kind }
                default:
                    continue
                }
            case .none:
                continue
            }
        }
        return fallback.map { spec.kinds[$0] }
    }

    /// A cell's text, decoded and trimmed of padding.
    private mutating func cellText(_ index: Int, record: UnsafeRawBufferPointer) -> Result<String, DecodingFailure> {
        let cell = cells[index]
        if cell.hasEscapedQuote {
            unescape(cell, record: record)
            return unescaped.withUnsafeBytes { assembler.decoder.string(ValueParser.trim($0, .both)) }
        }
        let raw = UnsafeRawBufferPointer(rebasing: record[cell.start..<cell.end])
        return assembler.decoder.string(ValueParser.trim(raw, .both))
    }

    /// ``unescape(_:record:)`` for ``LogicalRecords``: the cell's text, `""` read as one quote.
    mutating func unescapeCell(_ cell: Cell, record: UnsafeRawBufferPointer) { unescape(cell, record: record) }
    var unescapedBytes: [UInt8] { unescaped }

    /// `""` inside a quoted cell is one quote.
    private mutating func unescape(_ cell: Cell, record: UnsafeRawBufferPointer) {
        unescaped.removeAll(keepingCapacity: true)
        let quote = layout.quote ?? 0
        var i = cell.start
        while i < cell.end {
            unescaped.append(record[i])
            if record[i] == quote, i + 1 < cell.end, record[i + 1] == quote { i += 2 } else { i += 1 }
        }
    }

    /// Empty lines, and lines of nothing but delimiters and padding (`,,,,,`).
    private func isBlank(_ record: UnsafeRawBufferPointer) -> Bool {
        for byte in record where byte != layout.delimiter && byte != 0x20 && byte != 0x09 && byte != 0x0D {
            if let quote = layout.quote, byte == quote { continue }
            return false
        }
        return true
    }
}
