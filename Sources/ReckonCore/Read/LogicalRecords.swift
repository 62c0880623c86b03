/// The lines of a record assembled from consecutive physical records of different kinds
/// (`parts:` on a record kind), as the fixed-width reader gathers them: a first line that
/// matches the kind, then the lines of its parts in order, each kept until the next line
/// shows the record is complete. Files without parts never touch this.
struct SegmentAssembly {
    struct Line {
        var bytes: [UInt8] = []
        var offset: Int64 = 0
        var line: Int = 0
    }

    /// Per kind: its part slots, and where each part's first slot is.
    let slotsByKind: [[RecordKind.PartSlot]]
    let firstSlotByKind: [[Int]]
    /// The lines gathered, one per slot (reused from record to record).
    var lines: [Line]
    /// The kind being assembled, the part its last line belonged to (-1: the first part),
    /// and how many lines of each part it has.
    var kind: Int?
    var part = -1
    var present: [Int] = []
    /// A physical record that closed the assembly, read on the next call.
    var held: Line?
    var heldEvent: RecordEvent?
    /// The record just closed and its part counts, for the message about a line one
    /// repetition too many.
    var justClosed: (kind: Int, line: Int, present: [Int])?

    init(spec: MappingSpec) {
        slotsByKind = spec.kinds.map(\.partSlots)
        firstSlotByKind = spec.kinds.map { kind in
            var firsts: [Int] = []
            var next = 1
            for part in kind.parts {
                firsts.append(next)
                next += part.maxOccurs
            }
            return firsts
        }
        lines = Array(repeating: Line(), count: slotsByKind.map(\.count).max() ?? 1)
    }

    var isOpen: Bool { kind != nil }
}

extension FixedWidthReader {
    /// A physical record while some kind has parts: a line of the open record, or the end of
    /// it (the record is returned and the line held for the next call), or a record of its own.
    mutating func takeSegment(_ record: UnsafeRawBufferPointer, offset: Int64, line: Int) -> RecordEvent? {
        // The record just closed, for the messages about the lines after it; kept while
        // lines of its parts keep coming without a record.
        let justClosed = segments!.justClosed
        segments!.justClosed = nil
        let isASCII = UTF8Validation.isASCII(record)
        // A line that does not decode, or counts characters in another encoding, is read
        // the usual way (its message says why).
        let readable = isASCII || (spec.encoding == .utf8 ? UTF8Validation.check(record) == nil : layout.positions == .bytes)
        let countsCharacters = layout.positions == .characters && !isASCII
        if countsCharacters && readable { UTF8Validation.scalarStarts(record, into: &scalarStarts) }

        if let open = segments!.kind {
            if readable, let (part, slot) = nextPart(spec.kinds[open], record, countsCharacters: countsCharacters) {
                keep(record, offset: offset, line: line, slot: slot)
                segments!.part = part
                segments!.present[part] += 1
                return nil
            }
            segments!.held = SegmentAssembly.Line(bytes: Array(record), offset: offset, line: line)
            return finishAssembly(closedBy: line)
        }
        guard readable else { return process(record, offset: offset, line: line) }
        let matched = matchKind(record, countsCharacters: countsCharacters)
        if let index = matched, !spec.kinds[index].parts.isEmpty {
            segments!.kind = index
            segments!.part = -1
            segments!.present = Array(repeating: 0, count: spec.kinds[index].parts.count)
            keep(record, offset: offset, line: line, slot: 0)
            return nil
        }
        if matched == nil || spec.kinds[matched!].isFallback,
           let (kind, part) = orphanPart(record, countsCharacters: countsCharacters) {
            segments!.justClosed = justClosed
            return reject(kind, RecordLocation(line: line, byteOffset: offset),
                          orphanProblem(kind, part: part, record: record, justClosed: justClosed))
        }
        return process(record, offset: offset, line: line)
    }

    /// The line held when the record before it closed (or the event of an empty line).
    mutating func takeHeld() -> RecordEvent? {
        if let event = segments!.heldEvent {
            segments!.heldEvent = nil
            return event
        }
        guard let held = segments!.held else { return nil }
        segments!.held = nil
        return held.bytes.withUnsafeBytes { takeSegment($0, offset: held.offset, line: held.line) }
    }

    /// The open record, closed by an empty line whose event follows it.
    mutating func holdAndFinish(_ event: RecordEvent) -> RecordEvent? {
        segments!.heldEvent = event
        return finishAssembly(closedBy: { if case .rejected(let r) = event { return r.location.line }
                                          if case .skipped(let l) = event { return l.line }
                                          return nil }())
    }

    /// At the end of the file: the open record, if any.
    mutating func finishSegments() -> RecordEvent? {
        guard segments?.isOpen == true else { return nil }
        return finishAssembly(closedBy: nil)
    }

    // MARK: Matching

    /// The part (and slot) the line is, if it can follow the lines gathered so far: more
    /// of the current part (up to its limit), or a later part, passing over optional ones.
    private func nextPart(_ kind: RecordKind, _ record: UnsafeRawBufferPointer, countsCharacters: Bool) -> (Int, Int)? {
        let state = segments!
        var candidate = max(state.part, 0)
        while candidate < kind.parts.count {
            let part = kind.parts[candidate]
            let count = state.present[candidate]
            if count < part.maxOccurs, matches(part.match, record, countsCharacters: countsCharacters) {
                return (candidate, state.firstSlotByKind[kind.index][candidate] + count)
            }
            // A required part not yet complete cannot be passed over.
            if count < part.minOccurs { return nil }
            candidate += 1
        }
        return nil
    }

    private func matches(_ match: RecordMatch, _ record: UnsafeRawBufferPointer, countsCharacters: Bool) -> Bool {
        switch match {
        case .literal(let start, _, let values):
            let from = byteIndex(start, record, countsCharacters)
            return values.contains { value in value.withUnsafeBufferPointer { Self.sliceEquals(record, from: from, $0) } }
        case .slicePattern(let start, let length, let pattern):
            let from = byteIndex(start, record, countsCharacters)
            let to = byteIndex(start + length, record, countsCharacters)
            guard from <= to else { return false }
            if case .success(let text) = assembler.decoder.string(UnsafeRawBufferPointer(rebasing: record[from..<to])) {
                return pattern.matchesWhole(text)
            }
            return false
        default:
            return false
        }
    }

    /// A line that matches no kind but is a part of one: it came without its first line.
    private func orphanPart(_ record: UnsafeRawBufferPointer, countsCharacters: Bool) -> (RecordKind, RecordPart)? {
        for kind in spec.kinds {
            for part in kind.parts where matches(part.match, record, countsCharacters: countsCharacters) {
                return (kind, part)
            }
        }
        return nil
    }

    private func orphanProblem(_ kind: RecordKind, part: RecordPart, record: UnsafeRawBufferPointer,
                               justClosed: (kind: Int, line: Int, present: [Int])?) -> FieldProblem {
        let preview = AssemblerText.preview(record)
        if let closed = justClosed, closed.kind == kind.index,
           let lacking = kind.parts.indices.first(where: { closed.present[$0] < kind.parts[$0].minOccurs }) {
            return FieldProblem(field: nil, rawValue: preview,
                reason: "a '\(part.name)' line after the '\(kind.name)' record on line \(closed.line), which lacks its '\(kind.parts[lacking].name)' line")
        }
        if let closed = justClosed, closed.kind == kind.index,
           let index = kind.parts.firstIndex(where: { $0.name == part.name }), closed.present[index] == part.maxOccurs {
            return FieldProblem(field: nil, rawValue: preview,
                reason: "a '\(part.name)' line one too many: the '\(kind.name)' record on line \(closed.line) already has \(part.maxOccurs), the most it takes (occurs: \(part.minOccurs)..\(part.maxOccurs))")
        }
        return FieldProblem(field: nil, rawValue: preview,
            reason: "a '\(part.name)' line of record kind '\(kind.name)' without the line it follows: a '\(kind.name)' record starts with a line where \(Self.describe(kind.match))")
    }

    /// A discriminator as the messages say it: `positions 14–14 = 'T'`.
    static func describe(_ match: RecordMatch?) -> String {
        switch match {
        case .literal(let start, let length, let values)?:
            return "positions \(start + 1)–\(start + length) = " + values.map { "'\(String(decoding: $0, as: UTF8.self))'" }.joined(separator: " or ")
        case .slicePattern(let start, let length, let pattern)?:
            return "positions \(start + 1)–\(start + length) match \(pattern.source)"
        case .line(let pattern)?:
            return "the line matches \(pattern.source)"
        default:
            return "its discriminator matches"
        }
    }

    // MARK: The record

    private mutating func keep(_ record: UnsafeRawBufferPointer, offset: Int64, line: Int, slot: Int) {
        segments!.lines[slot].bytes.removeAll(keepingCapacity: true)
        segments!.lines[slot].bytes.append(contentsOf: record)
        segments!.lines[slot].offset = offset
        segments!.lines[slot].line = line
    }

    /// Reads the gathered lines as one record: every part's fields from its own line, a
    /// part's `<part>_count`, blanks for absent parts, and a problem for each required part
    /// that never came (`closedBy`: the line that ended the record; nil at the end of file).
    private mutating func finishAssembly(closedBy: Int?) -> RecordEvent {
        let kindIndex = segments!.kind!
        let kind = spec.kinds[kindIndex]
        let present = segments!.present
        segments!.kind = nil
        let first = segments!.lines[0]
        segments!.justClosed = (kindIndex, first.line, present)
        assembler.begin(kind)
        readPartLine(kind, kind.partSlots[0].fields, slot: 0)
        var lastLine = first.line
        var missing: [FieldProblem] = []
        for (index, part) in kind.parts.enumerated() {
            assembler.put(.integer(Int64(present[index])))
            let firstSlot = segments!.firstSlotByKind[kindIndex][index]
            for repetition in 0..<part.maxOccurs {
                let range = part.repetitions[repetition]
                if repetition < present[index] {
                    readPartLine(kind, range, slot: firstSlot + repetition)
                } else if repetition < part.minOccurs {
                    // A required line that never came is reported once, below.
                    for _ in range { assembler.addAbsent() }
                } else {
                    for field in range { assembler.addMissing(kind.fields[field]) }
                }
            }
            if present[index] > 0 {
                lastLine = segments!.lines[firstSlot + present[index] - 1].line
            }
            if present[index] < part.minOccurs {
                let what = part.minOccurs == 1 ? "a '\(part.name)' line" : "\(part.minOccurs) '\(part.name)' lines"
                let has = present[index] > 0 ? " (it has \(present[index]))" : ""
                let found = closedBy.map { "line \($0) is not one" } ?? "the file ends there"
                missing.append(FieldProblem(field: nil, rawValue: nil,
                    reason: "a '\(kind.name)' record needs \(what) (\(Self.describe(part.match))) after line \(lastLine)\(has); \(found)"))
            }
        }
        for problem in missing { assembler.addProblem(problem) }
        return assembler.finish(kind, location: RecordLocation(line: first.line, byteOffset: first.offset))
    }

    /// One gathered line's fields, with its length checked; problems on a later part's
    /// line carry that line.
    private mutating func readPartLine(_ kind: RecordKind, _ range: Range<Int>, slot: Int) {
        let before = assembler.problems.count
        let line = segments!.lines[slot]
        line.bytes.withUnsafeBytes { record in
            let isASCII = UTF8Validation.isASCII(record)
            let countsCharacters = layout.positions == .characters && !isASCII
            var length = record.count
            if countsCharacters {
                UTF8Validation.scalarStarts(record, into: &scalarStarts)
                length = scalarStarts.count - 1
            }
            var lengthProblem: FieldProblem?
            if length > layout.recordLength {
                lengthProblem = FieldProblem(field: nil, rawValue: nil,
                    reason: "the line is \(length) \(layout.positions.rawValue) long; this layout's records are \(layout.recordLength)")
            } else if length < layout.recordLength {
                // As for a record of one line: only as far as short_records allows.
                lengthProblem = shortRecordProblem(kind, length: length, record: record, countsCharacters: countsCharacters, fields: range)
            }
            if let lengthProblem {
                assembler.addProblem(lengthProblem)
                for _ in range { assembler.addAbsent() }
                return
            }
            readSlices(kind, range, record, offset: line.offset, isASCII: isASCII, countsCharacters: countsCharacters)
        }
        if slot > 0 { assembler.placeProblems(from: before, onLine: line.line) }
    }
}
