/// Delimited records that are not one line each, and fields that are not one cell each.
///
/// - With `record_end:` (BAI2's `/`) a record ends at that byte outside quotes: several
///   records may share a line, and a record may run over several lines. Line breaks, spaces
///   and tabs between records are dropped; a line break inside a record is not part of any
///   field (the record simply goes on), except inside a quoted field, which keeps it.
/// - A field with `rest: true` takes the rest of the record. With a `record_end` that is the
///   rest of the physical line, delimiters and terminators included, but for one terminator
///   that ends the line: BAI2's text field, which "is not ended by a slash" and ends its
///   record at the end of the line.
/// - A kind with `continuation: true` (BAI2's `88`) continues the record before it: its cells
///   after its discriminator are more cells of that record, and if that record ended inside
///   its `rest` field, the continuation's text goes on with that field (after one space).
///   Every folded continuation also counts as a record of its own kind, after the record it
///   continues, so count controls can include them (BAI2's record counts do).
/// - In a kind whose fields give no `column`, the fields take the cells in order; a field
///   with `only_if` takes cells only when an earlier field's text is one of the listed codes,
///   and one with `cells: {count_from:}` takes as many as an earlier field says.

/// One physical record: its cells, the line each cell starts on, and where it came from.
struct LogicalPart {
    var bytes: [UInt8] = []
    var cells: [DelimitedReader.Cell] = []
    /// 1-based line of each cell's first byte.
    var lines: [Int] = []
    /// Each cell's trimmed text, for discriminators and `only_if` codes.
    var texts: [String] = []
    var firstLine = 0
    var offset: Int64 = 0
    /// The kind its discriminator names, once known (`-1`: no kind matches).
    var kind: Int?
    /// The record ended inside its `rest` field (at a line end).
    var endedInRest = false
    /// A continuation whose text goes on with the `rest` field of the record before.
    var continuesRest = false

    var isBlank: Bool { texts.allSatisfy(\.isEmpty) }
}

/// What the logical reader carries between calls.
struct LogicalState {
    /// The part read ahead to see whether it continues the record before it.
    var pending: LogicalPart?
    /// Continuation parts folded into the record just returned, to report as their own kind.
    var queue: [LogicalPart] = []
    var lineNumber = 0
    /// Cells of the last logical record's fields (for line numbers in its problems).
    var record = LogicalPart()
    var atEnd = false
}

/// Where a field's value sits among a record's cells.
struct FieldCells {
    /// First cell; -1 when the field takes no cells (its `only_if` code is not there).
    var first: Int
    /// Cells taken; -1 for the rest of the record.
    var count: Int
}

enum CellLayout {
    /// Each field's cells in a record of `cellCount` cells.
    static func spans(_ kind: RecordKind, cellCount: Int, column: (Int) -> Int, text: (Int) -> String?) -> [FieldCells] {
        var spans = [FieldCells](repeating: FieldCells(first: -1, count: 0), count: kind.fields.count)
        var position = 0
        func textOf(_ name: String) -> String? {
            guard let index = kind.fieldIndex(named: name), spans[index].first >= 0, spans[index].count == 1 else { return nil }
            return text(spans[index].first)
        }
        for (index, field) in kind.fields.enumerated() where field.derived == nil && !field.isInherited {
            let rule = field.cellRule
            guard kind.isSequential else {
                spans[index] = FieldCells(first: column(index), count: rule?.rest == true ? -1 : 1)
                continue
            }
            if let only = rule?.onlyIf {
                guard let code = textOf(only.field), only.values.contains(code) else { continue }
            }
            if let same = rule?.sameAs, let anchor = kind.fieldIndex(named: same) {
                spans[index] = spans[anchor]
                continue
            }
            if let count = rule?.countFrom {
                let n = textOf(count.field).flatMap { Int($0) } ?? 0
                spans[index] = FieldCells(first: position, count: max(n, 0) * count.each)
                position += max(n, 0) * count.each
            } else if rule?.rest == true {
                spans[index] = FieldCells(first: position, count: -1)
                position = Int.max / 2
            } else {
                spans[index] = FieldCells(first: position, count: 1)
                position += 1
            }
        }
        for (index, field) in kind.fields.enumerated() {
            guard let derived = field.derived, let anchor = kind.fieldIndex(named: derived.anchor) else { continue }
            spans[index] = spans[anchor]
        }
        return spans
    }

    /// The cell where the kind's `rest` field starts, when the first `available` cells
    /// settle it; nil when the kind has none or it is not settled yet.
    static func restStart(_ kind: RecordKind, available: Int, column: (Int) -> Int, text: (Int) -> String?) -> Int? {
        guard let rest = kind.fields.firstIndex(where: { $0.cellRule?.rest == true }) else { return nil }
        if !kind.isSequential { return column(rest) }
        // Codes after the cells at hand are unknown: the spans are settled only up to them.
        let spans = spans(kind, cellCount: available, column: column) { $0 < available ? text($0) : nil }
        for (index, field) in kind.fields.enumerated() where index < rest && field.derived == nil {
            if let only = field.cellRule?.onlyIf, let code = kind.fieldIndex(named: only.field) {
                if spans[code].first < 0 || spans[code].first >= available { return nil }
            }
            if let count = field.cellRule?.countFrom, let from = kind.fieldIndex(named: count.field) {
                // Absent by its own only_if (settled above) is a count of none.
                if spans[from].first >= available { return nil }
            }
        }
        return spans[rest].first
    }
}

extension InputBuffer {
    /// The next unread byte, refilling as needed; nil at the end of the source.
    @inline(__always)
    func peekByte() throws(FileFailure) -> UInt8? {
        if unreadCount == 0 {
            _ = try refill()
            if unreadCount == 0 { return nil }
        }
        return unread[0]
    }
}

extension DelimitedReader {
    /// Whether the spec needs the logical reader: a record terminator or continuation kinds.
    static func needsLogicalReader(_ spec: MappingSpec, _ layout: DelimitedLayout) -> Bool {
        layout.recordEnd != nil || spec.kinds.contains(where: \.isContinuation)
    }

    /// Whether a kind's fields need cell spans rather than one column each.
    static func needsSpans(_ kind: RecordKind) -> Bool {
        kind.isSequential || kind.fields.contains { $0.cellRule?.rest == true }
    }

    // MARK: Records

    mutating func nextLogical() throws(FileFailure) -> RecordEvent? {
        if !logical!.queue.isEmpty {
            let part = logical!.queue.removeFirst()
            return processPart(part)
        }
        var first: LogicalPart
        if let pending = logical!.pending {
            first = pending
            logical!.pending = nil
        } else {
            guard let part = try scanPart(continuing: nil) else { return nil }
            first = part
        }
        let location = RecordLocation(line: first.firstLine, byteOffset: first.offset)
        if first.isBlank { return .skipped(location) }
        if let kind = first.kind, kind >= 0, spec.kinds[kind].isContinuation {
            return .rejected(RejectedRecord(kindIndex: kind, location: location, problems: [
                FieldProblem(field: nil, rawValue: nil,
                             reason: "a continuation record ('\(spec.kinds[kind].name)') with no record before it to continue")
            ], values: []))
        }
        var record = first
        while let next = try scanPart(continuing: record) {
            if let kind = next.kind, kind >= 0, spec.kinds[kind].isContinuation {
                fold(next, into: &record)
                logical!.queue.append(next)
            } else {
                logical!.pending = next
                break
            }
        }
        logical!.record = record
        cells = record.cells
        let event = record.bytes.withUnsafeBytes { process($0, location: location) }
        guard case .rejected(let rejected) = event, record.lines.contains(where: { $0 != location.line }) else { return event }
        return .rejected(withLines(rejected, record: record))
    }

    /// A continuation part as a record of its own kind (its own fields: the discriminator).
    private mutating func processPart(_ part: LogicalPart) -> RecordEvent {
        cells = part.cells
        return part.bytes.withUnsafeBytes { process($0, location: RecordLocation(line: part.firstLine, byteOffset: part.offset)) }
    }

    /// A problem with a field that came from a later line than the record's first names
    /// that line: `line 7: …`.
    private func withLines(_ rejected: RejectedRecord, record: LogicalPart) -> RejectedRecord {
        guard let kindIndex = rejected.kindIndex else { return rejected }
        let kind = spec.kinds[kindIndex]
        let first = assembler.kernelStart[kindIndex]
        let spans = fieldSpans(kind, cellCount: record.cells.count, texts: record.texts)
        let problems = rejected.problems.map { problem -> FieldProblem in
            guard let name = problem.field, let index = kind.fieldIndex(named: name) else { return problem }
            let cell = spans?[index].first ?? columns[first + index]
            guard cell >= 0, cell < record.lines.count, record.lines[cell] != rejected.location.line else { return problem }
            return FieldProblem(field: problem.field, rawValue: problem.rawValue,
                                reason: "line \(record.lines[cell]): " + problem.reason, byteOffset: problem.byteOffset)
        }
        var copy = RejectedRecord(kindIndex: rejected.kindIndex, location: rejected.location, problems: problems, values: rejected.values)
        copy.isBlankLine = rejected.isBlankLine
        return copy
    }

    /// Appends a continuation's cells after its discriminator to the record it continues.
    private func fold(_ part: LogicalPart, into record: inout LogicalPart) {
        guard let kind = part.kind, case .column(.index(let column), _)? = spec.kinds[kind].match else { return }
        let drop = column + 1
        guard part.cells.count > drop else { return }
        var from = drop
        if part.continuesRest, let last = record.cells.indices.last {
            // The text goes on: one space between the parts, none when either is empty.
            let cell = part.cells[drop]
            let text = part.bytes[cell.start..<cell.end]
            if !text.isEmpty {
                if record.cells[last].end > record.cells[last].start { record.bytes.append(0x20) }
                record.bytes.append(contentsOf: text)
                record.cells[last].end = record.bytes.count
                record.texts[last] = ValueParser.trimmedString(record.bytes[record.cells[last].start..<record.cells[last].end])
            }
            from = drop + 1
        }
        for index in from..<part.cells.count {
            let cell = part.cells[index]
            record.bytes.append(layout.delimiter)
            let start = record.bytes.count
            record.bytes.append(contentsOf: part.bytes[cell.start..<cell.end])
            record.cells.append(Cell(start: start, end: record.bytes.count, quoted: cell.quoted, hasEscapedQuote: cell.hasEscapedQuote))
            record.lines.append(part.lines[index])
            record.texts.append(part.texts[index])
        }
        record.endedInRest = part.endedInRest
    }

    /// Each field's cells for kinds that need spans; nil for one column per field.
    func fieldSpans(_ kind: RecordKind, cellCount: Int, texts: [String]) -> [FieldCells]? {
        guard Self.needsSpans(kind) else { return nil }
        let first = assembler.kernelStart[kind.index]
        return CellLayout.spans(kind, cellCount: cellCount, column: { columns[first + $0] }) { $0 < texts.count ? texts[$0] : nil }
    }

    // MARK: Fields over spans

    /// Reads a kind's fields from their cell spans (sequential kinds, `rest` fields). A cell
    /// past the record's end is an absent value: trailing fields may be left off.
    mutating func readSpanned(_ kind: RecordKind, record: UnsafeRawBufferPointer, location: RecordLocation, validated: Bool) {
        let texts = cells.indices.map { index -> String in
            let cell = cells[index]
            return ValueParser.trimmedString(record[cell.start..<cell.end])
        }
        let spans = fieldSpans(kind, cellCount: cells.count, texts: texts)!
        let first = assembler.kernelStart[kind.index]
        for (index, field) in kind.fields.enumerated() {
            let kernel = assembler.kernel(first + index)
            if kernel.inherit >= 0 {
                assembler.addInherited(entry: kernel.inherit, field: field)
                continue
            }
            let span = spans[index]
            if span.first < 0 { assembler.addAbsent(); continue }
            if span.first >= cells.count || span.count == 0 {
                if span.count == 0 && span.first >= 0 { assembler.addAbsent(); continue }
                assembler.addMissing(field)
                continue
            }
            let cell = cells[span.first]
            if span.count == 1 && cell.hasEscapedQuote {
                unescapeCell(cell, record: record)
                let copy = unescapedBytes
                copy.withUnsafeBytes { assembler.add(field, raw: $0, validated: validated, fileOffset: location.byteOffset + Int64(cell.start)) }
                continue
            }
            let last = span.count < 0 ? cells.count - 1 : min(span.first + span.count, cells.count) - 1
            let raw = UnsafeRawBufferPointer(rebasing: record[cell.start..<max(cells[last].end, cell.start)])
            assembler.add(field, raw: raw, validated: validated, fileOffset: location.byteOffset + Int64(cell.start))
        }
    }

    // MARK: Scanning

    /// The next physical record. `continuing` is the record a continuation would fold into,
    /// so that a `rest` field reached across the fold is read as one.
    mutating func scanPart(continuing record: LogicalPart?) throws(FileFailure) -> LogicalPart? {
        let terminator = layout.recordEnd
        let delimiter = layout.delimiter
        // Between records: line breaks (and, with a terminator, spaces and tabs) are dropped.
        while let byte = try buffer.peekByte() {
            if byte == 0x0A { logical!.lineNumber += 1; buffer.consume(1); continue }
            if byte == 0x0D || (terminator != nil && (byte == 0x20 || byte == 0x09)) { buffer.consume(1); continue }
            break
        }
        guard try buffer.peekByte() != nil else { return nil }
        var part = LogicalPart()
        part.firstLine = logical!.lineNumber + 1
        part.offset = buffer.offset
        var cellStart = 0
        var cellLine = part.firstLine
        var quoted = false
        var escaped = false

        func finishCell(_ part: inout LogicalPart) {
            part.cells.append(Cell(start: cellStart, end: part.bytes.count, quoted: quoted, hasEscapedQuote: escaped))
            part.lines.append(cellLine)
            part.texts.append(ValueParser.trimmedString(part.bytes[cellStart..<part.bytes.count]))
        }
        while true {
            if part.bytes.count > spec.maxRecordBytes {
                throw FileFailure(location: RecordLocation(line: part.firstLine, byteOffset: part.offset),
                                  reason: "no record end within \(spec.maxRecordBytes) bytes (\(terminator.map { "a missing record end '\(ValueParser.printable($0))', " } ?? "")an unclosed quote, or not this spec's layout)")
            }
            // A new cell.
            cellStart = part.bytes.count
            cellLine = logical!.lineNumber + 1
            quoted = false
            escaped = false
            if part.kind == nil { part.kind = decideKind(part.texts, final: false) }
            if isRestCell(&part, continuing: record) {
                // A terminator right away is an empty (defaulted) field that ends the record
                // (BAI2's `,/`); the line may go on with the next record.
                if let terminator, try buffer.peekByte() == terminator { buffer.consume(1); break }
                try readRest(&part, from: cellStart, terminator: terminator)
                finishCell(&part)
                part.endedInRest = true
                break
            }
            guard var byte = try buffer.peekByte() else { finishCell(&part); break }
            if let quote = layout.quote, byte == quote {
                buffer.consume(1)
                quoted = true
                var closed = false
                while let b = try buffer.peekByte() {
                    buffer.consume(1)
                    if b == quote {
                        if try buffer.peekByte() == quote {
                            part.bytes.append(quote); part.bytes.append(quote)
                            buffer.consume(1)
                            escaped = true
                            continue
                        }
                        closed = true
                        break
                    }
                    if b == 0x0A { logical!.lineNumber += 1 }
                    part.bytes.append(b)
                }
                if !closed {
                    throw FileFailure(location: RecordLocation(line: cellLine, byteOffset: part.offset),
                                      reason: "a quoted field opened here is never closed (truncated file?)")
                }
                let end = part.bytes.count
                // After the closing quote: padding and line breaks (with a terminator), then a delimiter or the end.
                while let b = try buffer.peekByte() {
                    if b == 0x20 || b == 0x09 || b == 0x0D { buffer.consume(1); continue }
                    if b == 0x0A && terminator != nil { buffer.consume(1); logical!.lineNumber += 1; continue }
                    break
                }
                part.cells.append(Cell(start: cellStart, end: end, quoted: true, hasEscapedQuote: escaped))
                part.lines.append(cellLine)
                part.texts.append(ValueParser.trimmedString(part.bytes[cellStart..<end]))
                guard let b = try buffer.peekByte() else { break }
                if b == delimiter { buffer.consume(1); part.bytes.append(delimiter); continue }
                if b == terminator { buffer.consume(1); break }
                if b == 0x0A { buffer.consume(1); logical!.lineNumber += 1; break }
                throw FileFailure(location: RecordLocation(line: logical!.lineNumber + 1, byteOffset: buffer.offset),
                                  reason: "unexpected '\(ValueParser.printable(b))' after a closing quote")
            }
            // Unquoted: up to a delimiter, the terminator, or (without one) the line's end.
            var endsRecord = false
            while true {
                if byte == delimiter { buffer.consume(1); finishCell(&part); part.bytes.append(delimiter); break }
                if let terminator, byte == terminator { buffer.consume(1); finishCell(&part); endsRecord = true; break }
                buffer.consume(1)
                if byte == 0x0A {
                    logical!.lineNumber += 1
                    if terminator == nil { finishCell(&part); endsRecord = true; break }
                } else if byte != 0x0D {
                    part.bytes.append(byte)
                }
                guard let next = try buffer.peekByte() else { finishCell(&part); endsRecord = true; break }
                byte = next
            }
            if endsRecord { break }
        }
        if part.kind == nil { part.kind = decideKind(part.texts, final: true) }
        if part.kind == -1 { part.kind = nil }
        return part
    }

    /// A `rest` field to the end of the line: terminators and delimiters are text, but one
    /// terminator that ends the line ends the record.
    private mutating func readRest(_ part: inout LogicalPart, from start: Int, terminator: UInt8?) throws(FileFailure) {
        while let byte = try buffer.peekByte() {
            buffer.consume(1)
            if byte == 0x0A { logical!.lineNumber += 1; break }
            part.bytes.append(byte)
            if part.bytes.count > spec.maxRecordBytes { break }
        }
        if part.bytes.count > start, part.bytes.last == 0x0D { part.bytes.removeLast() }
        if let terminator, part.bytes.count > start, part.bytes.last == terminator { part.bytes.removeLast() }
    }

    /// Whether the cell about to be read is a `rest` field: of the part's own kind, or of
    /// the record a continuation folds into.
    private func isRestCell(_ part: inout LogicalPart, continuing record: LogicalPart?) -> Bool {
        guard let kindIndex = part.kind, kindIndex >= 0 else { return false }
        let kind = spec.kinds[kindIndex]
        if kind.isContinuation {
            guard let record, let base = record.kind, base >= 0,
                  case .column(.index(let column), _)? = kind.match else { return false }
            let drop = column + 1
            if part.cells.count < drop { return false }
            if record.endedInRest {
                if part.cells.count == drop { part.continuesRest = true; return true }
                return false
            }
            let logicalIndex = record.cells.count + part.cells.count - drop
            let texts = record.texts + part.texts[drop...]
            let first = assembler.kernelStart[base]
            return CellLayout.restStart(spec.kinds[base], available: logicalIndex, column: { columns[first + $0] }) {
                $0 < texts.count ? texts[$0] : nil
            } == logicalIndex
        }
        let first = assembler.kernelStart[kindIndex]
        return CellLayout.restStart(kind, available: part.cells.count, column: { columns[first + $0] }) {
            $0 < part.texts.count ? part.texts[$0] : nil
        } == part.cells.count
    }

    /// The kind the cells read so far name, as the reader would match the whole record:
    /// the first kind whose discriminator column holds one of its values. Nil while an
    /// earlier kind's column is still to come; -1 when none matches.
    private func decideKind(_ texts: [String], final: Bool) -> Int? {
        var fallback: Int?
        for kind in spec.kinds {
            switch kind.match {
            case .column(.index(let column), let values)?:
                guard column < texts.count else { if final { continue } else { return nil } }
                if values.contains(texts[column]) { return kind.index }
            case .columnPattern(.index(let column), let pattern)?:
                guard column < texts.count else { if final { continue } else { return nil } }
                if pattern.matchesWhole(texts[column]) { return kind.index }
            case nil:
                if kind.isFallback || spec.kinds.count == 1 { fallback = fallback ?? kind.index }
            default:
                if !final { return nil }
            }
        }
        return fallback ?? -1
    }
}

extension ValueParser {
    /// Bytes as text with spaces and tabs trimmed, for codes and discriminators.
    static func trimmedString(_ bytes: ArraySlice<UInt8>) -> String {
        var slice = bytes
        while let first = slice.first, first == 0x20 || first == 0x09 { slice.removeFirst() }
        while let last = slice.last, last == 0x20 || last == 0x09 { slice.removeLast() }
        return String(decoding: slice, as: UTF8.self)
    }

    static func trimmedString(_ bytes: Slice<UnsafeRawBufferPointer>) -> String {
        trimmedString(ArraySlice(bytes))
    }
}
