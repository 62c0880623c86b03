/// Reads tagged text files (`format: tagged`): SWIFT MT940, MT942 and other FIN-style
/// messages. A block is a tag line `:TAG:content` and the lines after it up to the next tag
/// line, a message's end (`-`, `-}`), an envelope line (`{1:…}`) or the file's end; its
/// content is its lines joined by line feeds (blank lines left out). A record is a block of
/// a kind's tag, with the blocks right after it whose tags the kind lists in `followed_by`
/// (a `:61:` statement line and its `:86:`). Envelope blocks, message ends and blank lines
/// are passed over; text outside any block is a record no kind matches.
///
/// Memory stays flat: lines are read through a fixed window, and a block is copied out of
/// it as it grows, up to `max_record_bytes`.
public struct TaggedReader: RecordReader {
    private let spec: MappingSpec
    private let layout: TaggedLayout
    private let buffer: InputBuffer
    private var lines: LineSplitter
    private var assembler: RecordAssembler
    private var started = false
    /// The block being read: complete when the next line is not its continuation.
    private var building: Block?
    /// A record part read ahead while looking for a record's followers.
    private var lookahead: Item?
    /// Kind index by tag; the `default: true` kind takes the others.
    private let kindByTag: [String: Int]
    private let fallback: Int?
    /// Every tag a kind reads, as its own or as a follower (for `unknown_tags: text`).
    private let knownTags: Set<String>
    private var parts: [Block] = []
    /// Items a line gave besides the block it finished (at most one at a time).
    private var queued: [Item] = []

    /// One tag's block, copied out of the input.
    struct Block {
        var tag: String
        /// The content: the text after `:TAG:` and the lines that continue it, joined by
        /// line feeds, in the file's encoding.
        var content: [UInt8]
        /// The physical line of each content line.
        var lineNumbers: [Int]
        /// Where each content line starts in `content`, and in the file.
        var lineStarts: [Int]
        var lineOffsets: [Int64]
        var offset: Int64

        var line: Int { lineNumbers[0] }
    }

    enum Item {
        case block(Block)
        /// A line outside any block, or one that starts ':' without being a tag line.
        case stray(text: [UInt8], line: Int, offset: Int64, reason: String, outsideTags: Bool)
    }

    public init(spec: MappingSpec, source: any ByteSource, chunkBytes: Int = 1 << 20) {
        guard case .tagged(let layout) = spec.format else { preconditionFailure("TaggedReader needs a tagged spec") }
        self.spec = spec
        self.layout = layout
        buffer = InputBuffer(source: source, capacity: spec.maxRecordBytes + chunkBytes)
        lines = LineSplitter(buffer: buffer, maxLineBytes: spec.maxRecordBytes)
        assembler = RecordAssembler(spec: spec)
        var byTag: [String: Int] = [:]
        for kind in spec.kinds {
            if case .tag(let tags)? = kind.match {
                for tag in tags where byTag[tag] == nil { byTag[tag] = kind.index }
            }
        }
        kindByTag = byTag
        fallback = spec.kinds.first(where: { $0.isFallback })?.index
            ?? (spec.kinds.count == 1 && spec.kinds[0].match == nil ? 0 : nil)
        var known = Set(byTag.keys)
        for kind in spec.kinds { known.formUnion(kind.tagged?.followedBy ?? []) }
        knownTags = known
    }

    public mutating func next() throws(FileFailure) -> RecordEvent? {
        if !started {
            started = true
            try ByteOrderMark.skip(buffer, encoding: spec.encoding)
        }
        let item: Item
        if let ahead = lookahead {
            lookahead = nil
            item = ahead
        } else {
            guard let read = try nextItem() else { return nil }
            item = read
        }
        switch item {
        case .stray(let text, let line, let offset, let reason, let outsideTags):
            let location = RecordLocation(line: line, byteOffset: offset)
            if spec.unmatched == .skip || (outsideTags && layout.outsideTags == .skip) { return .skipped(location) }
            return text.withUnsafeBytes { bytes in
                .rejected(RejectedRecord(kindIndex: nil, location: location, problems: [
                    FieldProblem(field: nil, rawValue: AssemblerText.preview(bytes), reason: reason),
                ], values: []))
            }
        case .block(let block):
            let location = RecordLocation(line: block.line, byteOffset: block.offset)
            guard let index = kindByTag[block.tag] ?? fallback else {
                if spec.unmatched == .skip { return .skipped(location) }
                return block.content.withUnsafeBytes { bytes in
                    .rejected(RejectedRecord(kindIndex: nil, location: location, problems: [
                        FieldProblem(field: nil, rawValue: AssemblerText.preview(bytes),
                                     reason: "no record kind reads the tag :\(block.tag):"),
                    ], values: []))
                }
            }
            let kind = spec.kinds[index]
            parts.removeAll(keepingCapacity: true)
            parts.append(block)
            try collectFollowers(of: kind)
            return assemble(kind, location: location)
        }
    }

    /// Takes the blocks right after the record's first whose tags the kind lists in
    /// `followed_by`, each tag once; the first other item waits for the next call.
    private mutating func collectFollowers(of kind: RecordKind) throws(FileFailure) {
        guard let followers = kind.tagged?.followedBy, !followers.isEmpty else { return }
        while let item = try nextItem() {
            if case .block(let block) = item, followers.contains(block.tag), !parts.contains(where: { $0.tag == block.tag }) {
                parts.append(block)
                continue
            }
            lookahead = item
            return
        }
    }

    // MARK: Blocks

    /// The next block or stray line; nil at the end of the file.
    private mutating func nextItem() throws(FileFailure) -> Item? {
        if !queued.isEmpty { return queued.removeFirst() }
        while true {
            guard let (bytes, offset, line) = try lines.next() else {
                defer { building = nil }
                return building.map { .block($0) }
            }
            if let item = try take(bytes, offset: offset, line: line) { return item }
        }
    }

    /// One physical line (or what follows `{4:` on an envelope line): a finished item, or
    /// nil when the line only extended the block being read or was passed over.
    private mutating func take(_ bytes: UnsafeRawBufferPointer, offset: Int64, line: Int) throws(FileFailure) -> Item? {
        if Self.isBlank(bytes) { return nil }
        let first = bytes[0]
        if first == UInt8(ascii: "{"), bytes.count >= 3, bytes[1] &- 0x30 <= 9, bytes[2] == UInt8(ascii: ":") {
            // An envelope line: it ends any block; text after the text block's opening
            // `{4:` on the same line is a line of its own.
            let finished = finishBlock()
            if let start = Self.find([0x7B, 0x34, 0x3A], in: bytes) {
                let rest = UnsafeRawBufferPointer(rebasing: bytes[(start + 3)...])
                if !Self.isBlank(rest) {
                    if let finished {
                        // Keep the rest for the next call: it starts a block (or is stray).
                        let item = try take(rest, offset: offset + Int64(start + 3), line: line)
                        if let item { queue(item) }
                        return .block(finished)
                    }
                    return try take(rest, offset: offset + Int64(start + 3), line: line)
                }
            }
            return finished.map { .block($0) }
        }
        if first == UInt8(ascii: "-"), Self.isMessageEnd(bytes) {
            return finishBlock().map { .block($0) }
        }
        if first == UInt8(ascii: ":") {
            guard let (tag, contentStart) = Self.tag(of: bytes) else {
                let finished = finishBlock()
                // The message type as a line of its own (Rabobank's files open with ':940:')
                // is a bank's line between messages; anything else a broken tag.
                let isMessageType = Self.isMessageTypeLine(bytes)
                let stray = Item.stray(text: Array(bytes), line: line, offset: offset,
                                       reason: isMessageType
                                           ? "a message type line outside any tag (outside_tags: skip passes such lines over)"
                                           : "the line starts with ':' but is not a tag line (':TAG:' with two letters or digits and an optional letter)",
                                       outsideTags: isMessageType)
                if let finished {
                    queue(stray)
                    return .block(finished)
                }
                return stray
            }
            if layout.unknownTags == .text, building != nil, fallback == nil, !knownTags.contains(tag) {
                // Not a tag of this spec: a line of the text being read (a wrapped time).
                appendLine(bytes, line: line, offset: offset)
                try checkSize()
                return nil
            }
            let finished = finishBlock()
            building = Block(tag: tag, content: Array(bytes[contentStart...]), lineNumbers: [line], lineStarts: [0],
                             lineOffsets: [offset + Int64(contentStart)], offset: offset)
            try checkSize()
            return finished.map { .block($0) }
        }
        guard building != nil else {
            return .stray(text: Array(bytes), line: line, offset: offset,
                          reason: "text outside any tag: a record starts with a tag line such as ':20:' (outside_tags: skip passes such lines over)",
                          outsideTags: true)
        }
        appendLine(bytes, line: line, offset: offset)
        try checkSize()
        return nil
    }

    /// A line that continues the block being read.
    private mutating func appendLine(_ bytes: UnsafeRawBufferPointer, line: Int, offset: Int64) {
        building!.content.append(0x0A)
        building!.lineStarts.append(building!.content.count)
        building!.content.append(contentsOf: bytes)
        building!.lineNumbers.append(line)
        building!.lineOffsets.append(offset)
    }

    /// An item found on a line that also finished a block: it comes after that block.
    private mutating func queue(_ item: Item) { queued.append(item) }

    private mutating func finishBlock() -> Block? {
        defer { building = nil }
        return building
    }

    private func checkSize() throws(FileFailure) {
        guard let block = building, block.content.count > spec.maxRecordBytes else { return }
        throw FileFailure(location: RecordLocation(line: block.line, byteOffset: block.offset),
                          reason: "the tag :\(block.tag): runs over more than \(spec.maxRecordBytes) bytes (max_record_bytes); is a message end or the next tag missing?")
    }

    /// `:TAG:` at the start of a line: the tag and where the content starts.
    static func tag(of bytes: UnsafeRawBufferPointer) -> (String, Int)? {
        func alnum(_ b: UInt8) -> Bool { (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) }
        guard bytes.count >= 4, alnum(bytes[1]), alnum(bytes[2]) else { return nil }
        if bytes[3] == UInt8(ascii: ":") {
            return (String(decoding: bytes[1...2], as: UTF8.self), 4)
        }
        guard bytes.count >= 5, bytes[3] >= 0x41, bytes[3] <= 0x5A, bytes[4] == UInt8(ascii: ":") else { return nil }
        return (String(decoding: bytes[1...3], as: UTF8.self), 5)
    }

    /// `:940:` alone (trailing spaces allowed): three digits, a SWIFT message type.
    static func isMessageTypeLine(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard bytes.count >= 5, bytes[4] == UInt8(ascii: ":"),
              (1...3).allSatisfy({ bytes[$0] &- 0x30 <= 9 }) else { return false }
        return isBlank(UnsafeRawBufferPointer(rebasing: bytes[5...]))
    }

    /// `-` alone (trailing spaces allowed) or `-}` followed by anything (the `{5:…}` trailer).
    static func isMessageEnd(_ bytes: UnsafeRawBufferPointer) -> Bool {
        if bytes.count >= 2, bytes[1] == UInt8(ascii: "}") { return true }
        return isBlank(UnsafeRawBufferPointer(rebasing: bytes[1...]))
    }

    static func isBlank(_ bytes: UnsafeRawBufferPointer) -> Bool {
        bytes.allSatisfy { $0 == 0x20 || $0 == 0x09 }
    }

    static func find(_ needle: [UInt8], in bytes: UnsafeRawBufferPointer) -> Int? {
        guard bytes.count >= needle.count else { return nil }
        for start in 0...(bytes.count - needle.count) where bytes[start] == needle[0] {
            if (1..<needle.count).allSatisfy({ bytes[start + $0] == needle[$0] }) { return start }
        }
        return nil
    }
}

// MARK: Records

extension TaggedReader {
    /// The record from `parts` (the kind's own block first, then its followers).
    private mutating func assemble(_ kind: RecordKind, location: RecordLocation) -> RecordEvent {
        assembler.begin(kind)
        if kind.ignored { return assembler.finish(kind, location: location) }
        guard let layout = kind.tagged else {
            // A spec with one kind and no `when`: no tagged layout, every field missing.
            for (index, field) in kind.fields.enumerated() where !assembler.addInherited(kind, field: index) {
                assembler.addMissing(field)
            }
            return assembler.finish(kind, location: location)
        }
        // Every part decoded once; a part that does not decode is one problem, and its
        // fields are left out.
        var texts: [String?] = []
        for part in parts {
            switch part.content.withUnsafeBytes({ assembler.decoder.string($0) }) {
            case .success(let text): texts.append(text)
            case .failure(let failure):
                texts.append(nil)
                assembler.addProblem(FieldProblem(
                    field: nil, rawValue: nil,
                    reason: Self.onLine(part.lineNumbers[part.lineIndex(ofByte: failure.offset)], of: location)
                        + ":\(part.tag): " + failure.reason(encoding: spec.encoding),
                    byteOffset: part.fileOffset(ofByte: failure.offset)))
            }
        }
        var captures: [Range<String.Index>?]?
        let own = parts[0]
        if let pattern = layout.content, let text = texts[0] {
            captures = pattern.wholeMatchRanges(in: text)
            if captures == nil {
                assembler.addProblem(FieldProblem(
                    field: nil, rawValue: DisplayText.escaped(utf8: Array(text.utf8), limit: 120),
                    reason: "the content of :\(own.tag): does not match the kind's layout \(pattern.source)"))
            }
        }
        for (index, field) in kind.fields.enumerated() {
            if assembler.addInherited(kind, field: index) { continue }
            let join = layout.joins[index]
            let before = assembler.problems.count
            var line = own.line
            switch field.source {
            case .capture(let group):
                guard let text = texts[0] else { assembler.addAbsent(); continue }
                guard let captures else { assembler.addAbsent(); continue }
                guard group < captures.count, let range = captures[group] else {
                    assembler.addMissing(field)
                    continue
                }
                let lineIndex = text[..<range.lowerBound].utf8.reduce(0) { $0 + ($1 == 0x0A ? 1 : 0) }
                line = own.lineNumbers[min(lineIndex, own.lineNumbers.count - 1)]
                assembler.add(field, text: Self.joined(text[range], join))
            case .tag(let tags):
                let held = parts
                guard let partIndex = tags.lazy.compactMap({ tag in held.firstIndex { $0.tag == tag } }).first else {
                    assembler.addMissing(field)
                    continue
                }
                line = parts[partIndex].line
                guard let text = texts[partIndex] else { assembler.addAbsent(); continue }
                assembler.add(field, text: Self.joined(Substring(text), join))
            default:
                assembler.addMissing(field)
            }
            if line != location.line { assembler.placeProblems(from: before, onLine: line) }
        }
        return assembler.finish(kind, location: location)
    }

    static func joined(_ text: Substring, _ join: LineJoin) -> String {
        join == .newline ? String(text) : text.split(separator: "\n", omittingEmptySubsequences: false).joined(separator: join.separator)
    }

    static func onLine(_ line: Int, of location: RecordLocation) -> String {
        line == location.line ? "" : "line \(line): "
    }

}

extension TaggedReader.Block {
    /// The content line holding byte `offset` of the content.
    func lineIndex(ofByte offset: Int) -> Int {
        (lineStarts.lastIndex { $0 <= offset }) ?? 0
    }

    /// Where byte `offset` of the content is in the file.
    func fileOffset(ofByte offset: Int) -> Int64 {
        let index = lineIndex(ofByte: offset)
        return lineOffsets[index] + Int64(offset - lineStarts[index])
    }
}
