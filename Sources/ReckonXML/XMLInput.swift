import ReckonCore

/// What the XML reader is given: the file's bytes, sniffed first. XML goes through as it
/// is; an OFX 1.x file (an SGML header preamble, then an SGML body with unclosed leaf tags)
/// is turned into well-formed XML as it streams; anything else is refused with a message
/// saying what the file starts with, never libxml2's "Document is empty".
///
/// The conversion keeps every line break of the original in place, so libxml2's line
/// numbers are the original file's: the header's lines become an XML declaration (with the
/// header's character set) followed by as many empty lines.
struct XMLInput: ByteSource {
    private var source: any ByteSource
    private let limit: Int
    private var mode: Mode = .sniffing
    private var out: [UInt8] = []
    private var outStart = 0
    private var upstreamEnded = false
    private var chunk = [UInt8](repeating: 0, count: 64 * 1024)
    private var converter: OFXSGMLConverter?

    private enum Mode { case sniffing, passThrough, ofx }

    /// The most bytes looked at before deciding what the file is (an OFX header is a few
    /// hundred bytes).
    static let sniffLimit = 8192

    init(_ source: any ByteSource, limit: Int) {
        self.source = source
        self.limit = limit
    }

    mutating func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        while outStart == out.count {
            out.removeAll(keepingCapacity: true)
            outStart = 0
            if upstreamEnded { return 0 }
            try fill()
        }
        let count = min(buffer.count, out.count - outStart)
        out.withUnsafeBytes { bytes in
            buffer.baseAddress!.copyMemory(from: bytes.baseAddress! + outStart, byteCount: count)
        }
        outStart += count
        return count
    }

    private mutating func readChunk() throws -> ArraySlice<UInt8> {
        var buffer = [UInt8]()
        swap(&buffer, &chunk)  // no overlapping access to self while the source fills it
        defer { swap(&buffer, &chunk) }
        let count = try buffer.withUnsafeMutableBytes { try source.read(into: $0) }
        if count == 0 { upstreamEnded = true }
        return buffer[0..<count]
    }

    private mutating func fill() throws {
        switch mode {
        case .passThrough:
            out += try readChunk()
        case .ofx:
            let bytes = try readChunk()
            try converter!.convert(bytes, to: &out)
            if upstreamEnded { try converter!.finish(to: &out) }
        case .sniffing:
            var head: [UInt8] = []
            while !upstreamEnded {
                head += try readChunk()
                if let decided = try decide(head) {
                    mode = decided
                    break
                }
                if head.count >= Self.sniffLimit { break }
            }
            if mode == .sniffing { mode = try decideAtEnd(head) }
            if mode == .passThrough {
                out = head
            } else {
                try startOFX(head)
            }
        }
    }

    /// The first non-space byte (after a UTF-8 byte order mark), or nil when there is none yet.
    private static func firstContent(_ head: [UInt8]) -> Int? {
        var i = head.starts(with: [0xEF, 0xBB, 0xBF]) ? 3 : 0
        while i < head.count, head[i] == 0x20 || head[i] == 0x09 || head[i] == 0x0A || head[i] == 0x0D { i += 1 }
        return i < head.count ? i : nil
    }

    private func decide(_ head: [UInt8]) throws -> Mode? {
        // UTF-16 XML (a byte order mark, or '<' next to a zero byte) is libxml2's to read.
        if head.count >= 2, head.starts(with: [0xFE, 0xFF]) || head.starts(with: [0xFF, 0xFE])
            || head.starts(with: [0x00, 0x3C]) || head.starts(with: [0x3C, 0x00]) {
            return .passThrough
        }
        guard let first = Self.firstContent(head) else { return nil }
        if head[first] == UInt8(ascii: "<") { return .passThrough }
        let marker = Array("OFXHEADER".utf8)
        let rest = head[first...]
        if rest.count < marker.count {
            if marker.starts(with: rest) { return nil }
            return try refuse(head, from: first)
        }
        if rest.starts(with: marker) {
            // The whole header: up to the first line that starts with '<'.
            return OFXHeader.bodyStart(head, from: first) != nil ? .ofx : nil
        }
        return try refuse(head, from: first)
    }

    private func decideAtEnd(_ head: [UInt8]) throws -> Mode {
        if head.isEmpty { return .passThrough }  // the reader says the file is empty
        guard let first = Self.firstContent(head) else {
            throw FileFailure(location: nil, reason: "the file holds only white space: no XML document in it")
        }
        if head[first...].starts(with: Array("OFXHEADER".utf8)) {
            let what = upstreamEnded ? "the file ends" : "no '<' begins a line in the first \(Self.sniffLimit) bytes"
            throw FileFailure(location: nil, reason: "an OFX 1.x SGML file whose header never ends: \(what) before its <OFX> body")
        }
        return try refuse(head, from: first)
    }

    private func refuse(_ head: [UInt8], from first: Int) throws -> Mode {
        var end = first
        while end < head.count, end - first < 40, head[end] != 0x0A, head[end] != 0x0D { end += 1 }
        let shown = String(decoding: head[first..<end], as: UTF8.self)
        let more = end < head.count && head[end] != 0x0A && head[end] != 0x0D ? "…" : ""
        let line = head[..<first].filter { $0 == 0x0A }.count + 1
        throw FileFailure(location: RecordLocation(line: line, byteOffset: Int64(first)),
                          reason: "not XML: the file starts with '\(shown)\(more)' where an XML document starts with '<'")
    }

    private mutating func startOFX(_ head: [UInt8]) throws {
        let first = Self.firstContent(head)!
        let bodyStart = OFXHeader.bodyStart(head, from: first)!
        let header = try OFXHeader(head[first..<bodyStart], line: head[..<first].filter { $0 == 0x0A }.count + 1)
        out = Array("<?xml version=\"1.0\" encoding=\"\(header.xmlEncoding)\"?>".utf8)
        // One line break for every one the header and the space before it held.
        let breaks = head[..<bodyStart].filter { $0 == 0x0A }.count
        out += [UInt8](repeating: 0x0A, count: breaks)
        var converter = OFXSGMLConverter(limit: limit, line: breaks + 1)
        try converter.convert(head[bodyStart...], to: &out)
        if upstreamEnded { try converter.finish(to: &out) }
        self.converter = converter
    }
}

/// An OFX 1.x header: `OFXHEADER:100`, `DATA:OFXSGML`, `VERSION:102`, `ENCODING:USASCII`,
/// `CHARSET:1252`, … one a line.
struct OFXHeader {
    let xmlEncoding: String

    /// Where the body starts: the first line that begins with '<'.
    static func bodyStart(_ head: [UInt8], from first: Int) -> Int? {
        var i = first
        while i < head.count {
            if head[i] == UInt8(ascii: "<") { return i }
            guard let end = head[i...].firstIndex(of: 0x0A) else { return nil }
            i = end + 1
            while i < head.count, head[i] == 0x20 || head[i] == 0x09 || head[i] == 0x0D { i += 1 }
        }
        return nil
    }

    init(_ bytes: ArraySlice<UInt8>, line: Int) throws {
        var values: [String: String] = [:]
        var lineNumber = line
        for raw in bytes.split(separator: 0x0A, omittingEmptySubsequences: false) {
            defer { lineNumber += 1 }
            let text = String(decoding: raw, as: UTF8.self).trimming(" \t\r")
            if text.isEmpty { continue }
            guard let colon = text.firstIndex(of: ":") else {
                throw FileFailure(location: RecordLocation(line: lineNumber, byteOffset: 0),
                                  reason: "an OFX 1.x SGML file whose header has the line '\(text)', which is not NAME:VALUE")
            }
            values[String(text[..<colon]).uppercased()] = String(text[text.index(after: colon)...]).trimming(" \t")
        }
        func refuse(_ what: String) -> FileFailure {
            FileFailure(location: RecordLocation(line: line, byteOffset: 0), reason: "an OFX 1.x SGML file whose header says \(what)")
        }
        let header = values["OFXHEADER"] ?? ""
        guard header == "100" else { throw refuse("OFXHEADER:\(header); reckon reads OFXHEADER:100 (OFX 2.x files are XML and start with '<?xml')") }
        let data = values["DATA"] ?? ""
        guard data.uppercased() == "OFXSGML" else { throw refuse("DATA:\(data); reckon reads DATA:OFXSGML") }
        let version = values["VERSION"] ?? ""
        guard version.count == 3, version.hasPrefix("1"), version.allSatisfy(\.isNumber) else {
            throw refuse("VERSION:\(version); reckon reads OFX 1.x (VERSION:102 to 160)")
        }
        let compression = values["COMPRESSION"] ?? "NONE"
        guard compression.uppercased() == "NONE" else { throw refuse("COMPRESSION:\(compression); reckon reads uncompressed files") }
        let encoding = (values["ENCODING"] ?? "USASCII").uppercased()
        let charset = (values["CHARSET"] ?? "NONE").uppercased()
        switch encoding {
        case "UTF-8", "UTF8", "UNICODE":
            xmlEncoding = "UTF-8"
        case "USASCII":
            if charset == "NONE" {
                xmlEncoding = "US-ASCII"
            } else if charset == "ISO-8859-1" || charset == "8859-1" || charset == "LATIN1" {
                xmlEncoding = "ISO-8859-1"
            } else if !charset.isEmpty, charset.count <= 5, charset.allSatisfy(\.isNumber) {
                xmlEncoding = "windows-\(charset)"  // CHARSET:1252 is Windows code page 1252
            } else {
                throw refuse("CHARSET:\(charset); reckon reads NONE, ISO-8859-1 or a Windows code page number (1252)")
            }
        default:
            throw refuse("ENCODING:\(encoding); reckon reads USASCII or UTF-8")
        }
    }
}

extension String {
    fileprivate func trimming(_ set: String) -> String {
        var s = Substring(self)
        while let c = s.first, set.contains(c) { s.removeFirst() }
        while let c = s.last, set.contains(c) { s.removeLast() }
        return String(s)
    }
}

/// Turns an OFX 1.x SGML body into XML, as it streams. An element whose start tag is
/// followed by text is a leaf: it is closed where the next tag begins (after its value,
/// before the line break), unless that tag is its own end tag. An element followed
/// directly by another tag is an aggregate, which OFX 1.x always closes explicitly; an end
/// tag closes the aggregates still open inside it. Text keeps `&amp;`, `&lt;`, `&gt;` and
/// numeric references; a bare `&` becomes `&amp;`. Memory is bounded by the longest value.
struct OFXSGMLConverter {
    private let limit: Int
    /// The line of the input being read, for messages.
    private var line: Int
    private var text: [UInt8] = []
    private var tag: [UInt8] = []
    private var inTag = false
    private var tagLine = 0
    /// The last tag was this start tag: leaf or aggregate is decided by what follows.
    private var openStart: [UInt8]?
    private var stack: [[UInt8]] = []

    init(limit: Int, line: Int) {
        self.limit = limit
        self.line = line
    }

    mutating func convert(_ bytes: ArraySlice<UInt8>, to out: inout [UInt8]) throws {
        for byte in bytes {
            if byte == 0x0A { line += 1 }
            if inTag {
                if byte == UInt8(ascii: ">") {
                    inTag = false
                    try endTag(to: &out)
                } else {
                    tag.append(byte)
                    if tag.count > 256 {
                        throw failure("a tag longer than 256 bytes: '<\(String(decoding: tag.prefix(40), as: UTF8.self))…'", line: tagLine)
                    }
                }
            } else if byte == UInt8(ascii: "<") {
                inTag = true
                tagLine = line
                tag.removeAll(keepingCapacity: true)
            } else {
                text.append(byte)
                if text.count > limit {
                    throw failure("a value longer than \(limit) bytes", line: line)
                }
            }
        }
    }

    mutating func finish(to out: inout [UInt8]) throws {
        if inTag {
            throw failure("the file ends inside the tag '<\(String(decoding: tag.prefix(40), as: UTF8.self))' (truncated?)", line: tagLine)
        }
        // Close a last leaf; aggregates left open are left to the XML reader, which calls
        // the file truncated.
        flushText(closing: nil, to: &out)
    }

    private func failure(_ reason: String, line: Int) -> FileFailure {
        FileFailure(location: RecordLocation(line: line, byteOffset: 0), reason: "OFX 1.x SGML: \(reason)")
    }

    /// Writes the text since the last tag, closing a leaf it is the value of. Returns
    /// whether `closing` (an end tag's name) was that leaf's own end tag, now written.
    @discardableResult
    private mutating func flushText(closing: [UInt8]?, to out: inout [UInt8]) -> Bool {
        var end = text.count
        while end > 0, text[end - 1] == 0x20 || text[end - 1] == 0x09 || text[end - 1] == 0x0A || text[end - 1] == 0x0D { end -= 1 }
        var closedOwn = false
        escape(text[..<end], to: &out)
        if let name = openStart {
            if end > 0 || closing == name {
                out += [UInt8(ascii: "<"), UInt8(ascii: "/")] + name + [UInt8(ascii: ">")]
                closedOwn = closing == name
            } else {
                stack.append(name)  // followed by a tag: an aggregate
            }
            openStart = nil
        }
        out += text[end...]
        text.removeAll(keepingCapacity: true)
        return closedOwn
    }

    private mutating func endTag(to out: inout [UInt8]) throws {
        if tag.first == UInt8(ascii: "/") {
            let name = Array(tag.dropFirst())
            if flushText(closing: name, to: &out) { return }
            guard let index = stack.lastIndex(of: name) else {
                throw failure("the end tag </\(String(decoding: name, as: UTF8.self))> closes no open element", line: tagLine)
            }
            // Elements left open inside it (empty leaves) close with it.
            for open in stack[index...].reversed() { out += [UInt8(ascii: "<"), UInt8(ascii: "/")] + open + [UInt8(ascii: ">")] }
            stack.removeSubrange(index...)
        } else if tag.first == UInt8(ascii: "!") || tag.first == UInt8(ascii: "?") {
            flushText(closing: nil, to: &out)
            out += [UInt8(ascii: "<")] + tag + [UInt8(ascii: ">")]
        } else {
            guard !tag.isEmpty, tag.allSatisfy({ $0 > 0x20 && $0 != UInt8(ascii: "/") && $0 != UInt8(ascii: "=") }) else {
                throw failure("'<\(String(decoding: tag.prefix(40), as: UTF8.self))>' is not an OFX tag", line: tagLine)
            }
            flushText(closing: nil, to: &out)
            out += [UInt8(ascii: "<")] + tag + [UInt8(ascii: ">")]
            openStart = tag
        }
    }

    /// Text as XML: entity references OFX uses are kept; a bare '&' is escaped.
    private func escape(_ value: ArraySlice<UInt8>, to out: inout [UInt8]) {
        var i = value.startIndex
        while i < value.endIndex {
            let byte = value[i]
            if byte == UInt8(ascii: "&") {
                let rest = value[(i + 1)...].prefix(12)
                if let semicolon = rest.firstIndex(of: UInt8(ascii: ";")) {
                    let name = rest[rest.startIndex..<semicolon]
                    let known = ["amp", "lt", "gt", "quot", "apos"].contains { Array($0.utf8)[...] == name }
                    let numeric = name.first == UInt8(ascii: "#") && name.count > 1
                        && name.dropFirst().allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || $0 == UInt8(ascii: "x") || ($0 | 0x20 >= 0x61 && $0 | 0x20 <= 0x66) }
                    if known || numeric {
                        out.append(byte)
                        i += 1
                        continue
                    }
                }
                out += Array("&amp;".utf8)
            } else if byte == UInt8(ascii: ">") {
                out += Array("&gt;".utf8)
            } else {
                out.append(byte)
            }
            i += 1
        }
    }
}
