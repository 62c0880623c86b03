import Foundation
import Yams

/// Turns spec YAML into a validated ``MappingSpec``. Everything that can be wrong with a
/// spec is found here, before any file is read: an unknown key, overlapping fixed-width
/// fields, a record kind nobody can tell apart, a bad date format, a type that does not
/// exist. Each error names the spec file, the key path and the line.
public enum SpecLoader {
    public static func load(yaml: String, origin: String) throws(SpecError) -> MappingSpec {
        let root = try SpecNode.root(yaml: yaml, origin: origin, what: "the spec")
        return try Builder(origin: origin).build(root)
    }
}

private let topLevelKeys = [
    "name", "description", "format", "encoding", "max_record_bytes", "unmatched", "near_misses",
    "record_length", "separator", "positions", "short_records", "blank_lines",
    "delimiter", "quote", "header",
    "namespaces", "prefixes",
    "outside_tags", "unknown_tags",
    "records", "controls", "examples", "direction", "render",
] + LogicalSpecKeys.topLevel
private let fixedWidthOnly = ["record_length", "separator", "positions", "short_records", "blank_lines"]
private let delimitedOnly = ["delimiter", "quote", "header"] + LogicalSpecKeys.topLevel
private let xmlOnly = ["namespaces", "prefixes"]
private let taggedOnly = ["outside_tags", "unknown_tags"]

private let kindKeys = ["description", "when", "default", "path", "fields", "occurs", "ignore", "event", "key", "short_records",
                        "parts", "content", "followed_by"] + LogicalSpecKeys.kind
private let whenKeys = ["start", "length", "equals", "pattern", "column", "columns", "line", "tag"]
private let fieldKeys = [
    "description", "start", "length", "end", "column", "capture", "path",
    "type", "format", "scale", "implied", "point", "thousands", "sign",
    "trim", "strip", "empty", "extract", "required", "pattern", "min", "max",
    "min_length", "max_length", "codes", "unmapped", "pad", "align",
    "tag", "join_lines", "year_from", "month_end",
    "from", "until", "warn", "when",
] + LogicalSpecKeys.field
private let controlKeys = ["name", "count", "sum", "where", "modulo", "equals", "scope",
                           "sequence", "same", "start", "only_with", "absent"]
private let exampleKeys = ["file", "records", "rejected", "controls", "sums", "fails"]

struct Builder {
    let origin: String

    func build(_ root: SpecNode) throws(SpecError) -> MappingSpec {
        let top = try root.mapping(allowed: topLevelKeys)
        let formatName = try top.required("format").string()
        let formatNode = try top.required("format")
        let foreign: [String]
        switch formatName {
        case "fixed-width": foreign = delimitedOnly + xmlOnly + taggedOnly
        case "delimited": foreign = fixedWidthOnly + xmlOnly + taggedOnly
        case "xml": foreign = fixedWidthOnly + delimitedOnly + taggedOnly
        case "tagged": foreign = fixedWidthOnly + delimitedOnly + xmlOnly
        default:
            throw formatNode.error("unknown format '\(formatName)'; expected fixed-width, delimited, xml or tagged")
        }
        for key in foreign {
            if let node = top[key] { throw node.error("'\(key)' does not apply to \(formatName) files") }
        }

        let encoding: TextEncoding
        if let node = top["encoding"] {
            let name = try node.string()
            guard let known = TextEncoding(name: name) else {
                throw node.error("unknown encoding '\(name)'; expected one of \(TextEncoding.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            encoding = known
        } else {
            encoding = .utf8
        }

        let maxRecordBytes = try top["max_record_bytes"]?.int(in: 64...(64 << 20)) ?? MappingSpec.defaultMaxRecordBytes
        let unmatched: UnmatchedRecordPolicy
        if let node = top["unmatched"] {
            guard let policy = UnmatchedRecordPolicy(rawValue: try node.string()) else {
                throw node.error("expected reject or skip")
            }
            unmatched = policy
        } else {
            unmatched = .reject
        }

        let format: FileFormat
        switch formatName {
        case "fixed-width": format = .fixedWidth(try fixedWidthLayout(top))
        case "delimited": format = .delimited(try delimitedLayout(top))
        case "tagged": format = .tagged(try TaggedSpec.layout(top))
        default: format = .xml(try xmlLayout(top))
        }

        let recordsNode = try top.required("records")
        let kindEntries = try recordsNode.entries()
        guard !kindEntries.isEmpty else { throw recordsNode.error("a spec needs at least one record kind") }
        var kinds: [RecordKind] = []
        for (index, entry) in kindEntries.enumerated() {
            kinds.append(try recordKind(entry.key, entry.value, index: index, of: kindEntries.count,
                                        format: format, encoding: encoding,
                                        inheritance: InheritanceContext(kindNames: kindEntries.map(\.key), earlier: kinds, kind: entry.key)))
        }
        try checkDiscriminators(kinds, recordsNode)
        try TaggedSpec.checkKinds(kinds, recordsNode)

        var controls: [ControlTotal] = []
        if let node = top["controls"] {
            for item in try node.items() {
                controls.append(try control(item, kinds: kinds))
            }
        }
        var examples: [SpecExample] = []
        if let node = top["examples"] {
            for item in try node.items() {
                examples.append(try example(item, kinds: kinds))
            }
        }

        var direction = SpecDirection.inbound
        if let node = top["direction"] {
            guard let value = SpecDirection(rawValue: try node.string()) else {
                throw node.error("expected inbound, outbound or both")
            }
            direction = value
        }
        let output = try outputLayout(top["render"], kinds: kinds)
        if direction.writes { try InheritedFields.refuseInWrittenFiles(kinds, recordsNode) }

        let fallbackName = origin.split(separator: "/").last.map { String($0.split(separator: ".").first ?? $0) } ?? origin
        var nearMisses = NearMissPolicy.ignore
        if let node = top["near_misses"] {
            guard let policy = NearMissPolicy(rawValue: try node.string()) else {
                throw node.error("expected ignore or reject")
            }
            nearMisses = policy
        }
        let spec = MappingSpec(
            name: try top["name"]?.string() ?? fallbackName,
            origin: origin,
            summary: try top["description"]?.string(),
            format: format,
            encoding: encoding,
            kinds: kinds,
            controls: controls,
            unmatched: unmatched,
            maxRecordBytes: maxRecordBytes,
            examples: examples,
            direction: direction,
            output: output,
            nearMisses: nearMisses
        )
        try refuseWritingAssembled(kinds, top: top, direction: direction)
        if direction.writes {
            // An outbound spec that cannot write what it declares is refused now, not when
            // the first file is due.
            do {
                _ = try RenderPlan(spec: spec)
            } catch {
                throw renderRefusal(error, top: top)
            }
        }
        return spec
    }

    func outputLayout(_ node: SpecNode?, kinds: [RecordKind]) throws(SpecError) -> OutputLayout {
        guard let node else { return OutputLayout() }
        let map = try node.mapping(allowed: ["header", "trailer", "line_break"])
        func kind(_ key: String) throws(SpecError) -> String? {
            guard let kindNode = map[key] else { return nil }
            let name = try kindNode.string()
            guard kinds.contains(where: { $0.name == name }) else {
                throw kindNode.error("no record kind '\(name)'; the spec has \(kinds.map(\.name).joined(separator: ", "))")
            }
            return name
        }
        let header = try kind("header"), trailer = try kind("trailer")
        if let header, header == trailer { throw map["trailer"]!.error("the header and the trailer must be different kinds") }
        var lineBreak: [UInt8] = [0x0A]
        if let breakNode = map["line_break"] {
            switch try breakNode.string() {
            case "lf": lineBreak = [0x0A]
            case "crlf": lineBreak = [0x0D, 0x0A]
            default: throw breakNode.error("expected lf or crlf")
            }
        }
        return OutputLayout(headerKind: header, trailerKind: trailer, lineBreak: lineBreak)
    }

    /// A render refusal as a spec error at the field, kind or control it names.
    func renderRefusal(_ error: RenderError, top: SpecMapping) -> SpecError {
        var at = top["direction"] ?? top.node
        if error.kind == "-", let control = error.control, let items = try? top["controls"]?.items(),
           control < items.count {
            at = items[control]
        } else if let kinds = try? top["records"]?.entries(), let kindNode = kinds.first(where: { $0.key == error.kind })?.value {
            at = kindNode
            if let field = error.field, let fields = try? kindNode.mapping(allowed: kindKeys)["fields"]?.entries(),
               let fieldNode = fields.first(where: { $0.key == field })?.value {
                at = fieldNode
            }
        }
        return at.error("cannot be written: \(error.reason)")
    }

    // MARK: Layouts

    func fixedWidthLayout(_ top: SpecMapping) throws(SpecError) -> FixedWidthLayout {
        let length = try top.required("record_length").int(in: 1...(1 << 20))
        var separator = RecordSeparator.newline
        if let node = top["separator"] {
            guard let value = RecordSeparator(rawValue: try node.string()) else {
                throw node.error("expected newline, none or auto")
            }
            separator = value
        }
        var positions = PositionUnit.bytes
        if let node = top["positions"] {
            guard let value = PositionUnit(rawValue: try node.string()) else {
                throw node.error("expected bytes or characters")
            }
            positions = value
        }
        var shortRecords = ShortRecordPolicy.reject
        if let node = top["short_records"] { shortRecords = try shortRecordPolicy(node) }
        var blankLines = BlankLinePolicy.reject
        if let node = top["blank_lines"] {
            guard let value = BlankLinePolicy(rawValue: try node.string()) else {
                throw node.error("expected reject or skip")
            }
            blankLines = value
        }
        return FixedWidthLayout(recordLength: length, separator: separator, positions: positions, shortRecords: shortRecords,
                                blankLines: blankLines)
    }

    func shortRecordPolicy(_ node: SpecNode) throws(SpecError) -> ShortRecordPolicy {
        let text = try node.string()
        if let policy = ShortRecordPolicy(rawValue: text) { return policy }
        if text == "pad" {
            // The old name padded every short line, numbers cut mid-field included.
            throw node.error("'pad' is no longer accepted: it read a number cut short as a smaller one. Use right_trimmed (the sender strips trailing spaces) or whole_fields (trailing fields may be left off)")
        }
        throw node.error("expected reject, whole_fields or right_trimmed")
    }

    func delimitedLayout(_ top: SpecMapping) throws(SpecError) -> DelimitedLayout {
        var delimiter = UInt8(ascii: ",")
        if let node = top["delimiter"] {
            delimiter = try singleASCII(node, what: "delimiter")
        }
        var quote: UInt8? = UInt8(ascii: "\"")
        if let node = top["quote"] {
            quote = try node.string() == "none" ? nil : singleASCII(node, what: "quote")
        }
        if let quote, quote == delimiter {
            throw top.node.error("the quote and the delimiter must differ")
        }
        var header = HeaderRule.none
        if let node = top["header"] {
            if node.isScalar {
                let text = try node.string()
                if text == "none" {
                    header = .none
                } else {
                    header = .line(try node.int(in: 1...1_000_000))
                }
            } else {
                let map = try node.mapping(allowed: ["line", "match"])
                if let line = map["line"] {
                    header = .line(try line.int(in: 1...1_000_000))
                } else if let match = map["match"] {
                    header = .matching(try regex(match))
                } else {
                    throw node.error("give the header's line number or a pattern to match")
                }
            }
        }
        var layout = DelimitedLayout(delimiter: delimiter, quote: quote, header: header)
        layout.recordEnd = try LogicalSpecKeys.recordEnd(top["record_end"], delimiter: delimiter, quote: quote, header: header)
        return layout
    }

    func singleASCII(_ node: SpecNode, what: String) throws(SpecError) -> UInt8 {
        let text = try node.string()
        switch text {
        case "\\t", "tab", "TAB", "\t": return 0x09
        default:
            let bytes = Array(text.utf8)
            guard bytes.count == 1, bytes[0] < 0x80, bytes[0] != 0x0A, bytes[0] != 0x0D else {
                throw node.error("the \(what) must be one ASCII character (or tab), found '\(text)'")
            }
            return bytes[0]
        }
    }

    func xmlLayout(_ top: SpecMapping) throws(SpecError) -> XMLLayout {
        let namespaces = try top["namespaces"]?.strings() ?? []
        var prefixes: [String: String] = [:]
        if let node = top["prefixes"] {
            for (key, value) in try node.entries() {
                prefixes[key] = try value.string()
            }
        }
        return XMLLayout(namespaces: namespaces, prefixes: prefixes)
    }

    // MARK: Record kinds

    func recordKind(_ name: String, _ node: SpecNode, index: Int, of count: Int,
                    format: FileFormat, encoding: TextEncoding,
                    inheritance: InheritanceContext = InheritanceContext()) throws(SpecError) -> RecordKind {
        try checkName(name, node)
        let map = try node.mapping(allowed: kindKeys)
        let isFallback = try map["default"]?.bool() ?? false
        let ignored = try map["ignore"]?.bool() ?? false

        var match: RecordMatch?
        var xmlPath: [XMLStep]?
        if case .xml(let layout) = format {
            if let when = map["when"] { throw when.error("XML record kinds are told apart by their path; 'when' does not apply") }
            if isFallback { throw map["default"]!.error("XML record kinds are told apart by their path; 'default' does not apply") }
            let pathNode = try map.required("path")
            xmlPath = try absoluteXMLPath(try pathNode.string(), pathNode, layout: layout)
        } else {
            if let pathNode = map["path"] { throw pathNode.error("'path' only applies to XML record kinds") }
            if let when = map["when"] {
                match = try recordMatch(when, format: format, encoding: encoding)
            }
        }
        let taggedParts = try TaggedSpec.kindParts(map, format: format)

        var minOccurs = 0
        var maxOccurs: Int?
        if let node = map["occurs"] {
            (minOccurs, maxOccurs) = try occurs(node)
        }

        var fields: [FieldSpec] = []
        if let fieldsNode = map["fields"] {
            for (fieldName, fieldNode) in try fieldsNode.entries() {
                fields.append(try field(fieldName, fieldNode, kindMatch: match, xmlPath: xmlPath,
                                        format: format, encoding: encoding, taggedContent: taggedParts?.content,
                                        inheritance: inheritance, own: fields))
            }
        } else if !ignored {
            throw node.error("record kind '\(name)' has no fields; list them, or mark the kind 'ignore: true'")
        }
        if ignored, let fieldsNode = map["fields"] {
            throw fieldsNode.error("an ignored record kind has no fields")
        }
        try checkConditions(fields, node: map["fields"] ?? node)
        fields = try LogicalSpecKeys.resolve(fields, node: map["fields"] ?? node, format: format, isLineKind: { if case .line? = match { return true } else { return false } }())
        try checkFieldRelations(fields, node: map["fields"] ?? node, format: format)
        var parts: [RecordPart] = []
        if let partsNode = map["parts"] {
            (parts, fields) = try recordParts(partsNode, kindMatch: match, ignored: ignored, firstFields: fields, format: format, encoding: encoding)
        }
        try YearFromSpec.check(fields, node: map["fields"] ?? node)
        let tagged = try TaggedSpec.kindLayout(taggedParts, match: match, fieldsNode: map["fields"], fields: fields)

        var event: CanonicalEvent?
        if let eventNode = map["event"] {
            let eventName = try eventNode.string()
            guard let known = CanonicalEvent(rawValue: eventName) else {
                throw eventNode.error("unknown event '\(eventName)'; expected one of \(CanonicalEvent.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            for required in known.requiredFields {
                let names = required.name.split(separator: "|").map(String.init)
                guard let field = fields.first(where: { names.contains($0.name) }) else {
                    throw eventNode.error("a \(eventName) record needs a field named '\(names.joined(separator: "' or '"))'")
                }
                guard known.accepts(field.type, as: required.kind) else {
                    throw eventNode.error("field '\(field.name)' of a \(eventName) record cannot be of type \(field.type.name)")
                }
            }
            event = known
        }

        var shortRecords: ShortRecordPolicy?
        if let node = map["short_records"] {
            guard case .fixedWidth = format else { throw node.error("'short_records' applies to fixed-width record kinds") }
            shortRecords = try shortRecordPolicy(node)
        }

        var key: [String] = []
        if let keyNode = map["key"] {
            key = try keyNode.strings()
            for name in key where !fields.contains(where: { $0.name == name }) {
                throw keyNode.error("the key names '\(name)', which is not a field of this record kind")
            }
            if Set(key).count != key.count { throw keyNode.error("the key names a field twice") }
        }
        return RecordKind(name: name, index: index, match: match, isFallback: isFallback, xmlPath: xmlPath,
                          fields: fields, minOccurs: minOccurs, maxOccurs: maxOccurs, ignored: ignored, event: event,
                          key: key, shortRecords: shortRecords, parts: parts, tagged: tagged,
                          continuation: try LogicalSpecKeys.continuation(map["continuation"], match: match, format: format, fields: fields))
    }

    func checkName(_ name: String, _ node: SpecNode) throws(SpecError) {
        let ok = !name.isEmpty && name.unicodeScalars.allSatisfy {
            ($0.value >= 0x61 && $0.value <= 0x7A) || ($0.value >= 0x30 && $0.value <= 0x39) || $0 == "_"
        } && !(name.first!.isNumber)
        guard ok else {
            throw node.error("'\(name)' is not a usable name: use lower-case letters, digits and _ (canonical names such as loan_id)")
        }
    }

    func occurs(_ node: SpecNode) throws(SpecError) -> (Int, Int?) {
        if node.isScalar {
            let text = try node.string()
            if let exact = Int(text) { return (exact, exact) }
            let parts = text.components(separatedBy: "..")
            guard parts.count == 2, let low = Int(parts[0]), parts[1].isEmpty || Int(parts[1]) != nil else {
                throw node.error("expected a count (1), a range (0..1), or an open range (1..)")
            }
            let high = Int(parts[1])
            if let high, high < low { throw node.error("the range \(text) is empty") }
            return (low, high)
        }
        let map = try node.mapping(allowed: ["min", "max"])
        let low = try map["min"]?.int(in: 0...Int.max) ?? 0
        let high = try map["max"]?.int(in: 0...Int.max)
        if let high, high < low { throw node.error("max is below min") }
        return (low, high)
    }

    func recordMatch(_ node: SpecNode, format: FileFormat, encoding: TextEncoding) throws(SpecError) -> RecordMatch {
        let map = try node.mapping(allowed: whenKeys)
        if let match = try TaggedSpec.tagMatch(map, node, format: format) { return match }
        if let line = map["line"] {
            if map.entries.count > 1 { throw node.error("'line' stands alone: it matches the whole line") }
            return .line(try regex(line))
        }
        switch format {
        case .fixedWidth(let layout):
            for key in ["column", "columns"] where map.has(key) {
                throw map[key]!.error("'\(key)' applies to delimited files; fixed-width kinds use start and length")
            }
            let startNode = try map.required("start")
            let start = try startNode.int(in: 1...layout.recordLength) - 1
            if let equals = map["equals"] {
                if map.has("pattern") { throw node.error("give either equals or pattern, not both") }
                let texts = try equals.strings()
                var values: [[UInt8]] = []
                for text in texts {
                    guard let bytes = TextEncoder.encode(text, as: encoding) else {
                        throw equals.error("'\(text)' cannot be written in \(encoding.rawValue)")
                    }
                    values.append(bytes)
                }
                let length = try map["length"]?.int(in: 1...layout.recordLength) ?? values[0].count
                if let wrong = values.first(where: { $0.count != length }) {
                    throw equals.error("'\(String(decoding: wrong, as: UTF8.self))' is not \(length) \(layout.positions.rawValue) long")
                }
                guard start + length <= layout.recordLength else { throw node.error("the discriminator runs past the record length \(layout.recordLength)") }
                return .literal(start: start, length: length, values: values)
            }
            guard let patternNode = map["pattern"] else { throw node.error("give equals (a literal or a list) or pattern") }
            let length = try map.required("length").int(in: 1...layout.recordLength)
            guard start + length <= layout.recordLength else { throw node.error("the discriminator runs past the record length \(layout.recordLength)") }
            return .slicePattern(start: start, length: length, pattern: try regex(patternNode))
        case .delimited(let layout):
            for key in ["start", "length"] where map.has(key) {
                throw map[key]!.error("'\(key)' applies to fixed-width files; delimited kinds use column")
            }
            if let columns = map["columns"] {
                if map.entries.count > 1 { throw node.error("'columns' stands alone") }
                return .columnCount(try columns.int(in: 1...100_000))
            }
            let columnNode = try map.required("column")
            let column = try columnReference(columnNode, layout: layout)
            if let equals = map["equals"] {
                if map.has("pattern") { throw node.error("give either equals or pattern, not both") }
                return .column(column, values: try equals.strings())
            }
            guard let patternNode = map["pattern"] else { throw node.error("give equals (a value or a list) or pattern") }
            return .columnPattern(column, try regex(patternNode))
        case .xml:
            throw node.error("XML record kinds use path")
        case .tagged:
            throw node.error("tagged record kinds are told apart by their tag")  // tagMatch answers first
        }
    }

    /// Every kind must be distinguishable: with several kinds, each needs a discriminator,
    /// and at most one may be the fallback.
    func checkDiscriminators(_ kinds: [RecordKind], _ node: SpecNode) throws(SpecError) {
        let fallbacks = kinds.filter(\.isFallback)
        if fallbacks.count > 1 {
            throw node.error("only one record kind can be the default; '\(fallbacks[0].name)' and '\(fallbacks[1].name)' both are")
        }
        if let fallback = fallbacks.first, fallback.match != nil {
            throw node.child(fallback.name, node.node).error("the default kind takes records no other kind matches; it has no 'when'")
        }
        guard kinds.count > 1 else { return }
        for kind in kinds where kind.match == nil && !kind.isFallback && kind.xmlPath == nil {
            throw node.child(kind.name, node.node)
                .error("record kind '\(kind.name)' has no discriminator: with several kinds, each needs 'when' (or one 'default: true')")
        }
        if kinds.contains(where: { $0.xmlPath != nil }) {
            var seen: [[XMLStep]: String] = [:]
            for kind in kinds {
                if let other = seen[kind.xmlPath!] {
                    throw node.child(kind.name, node.node).error("kinds '\(other)' and '\(kind.name)' have the same path")
                }
                seen[kind.xmlPath!] = kind.name
            }
        }
    }

    // MARK: Fields

    func field(_ name: String, _ node: SpecNode, kindMatch: RecordMatch?, xmlPath: [XMLStep]?,
               format: FileFormat, encoding: TextEncoding, taggedContent: SpecRegex? = nil,
               inheritance: InheritanceContext = InheritanceContext(), own: [FieldSpec] = []) throws(SpecError) -> FieldSpec {
        try checkName(name, node)
        let map = try node.mapping(allowed: fieldKeys)
        if let derived = try LogicalSpecKeys.derivedField(name, map, node: node) { return derived }
        if let inherited = try InheritedFields.field(name, map, format: format, context: inheritance, own: own) { return inherited }

        // Where the value is.
        let source: FieldSource
        var isLineKind = false
        if case .line = kindMatch { isLineKind = true }
        if case .tagged = format {
            source = try TaggedSpec.fieldSource(map, node, content: taggedContent)
        } else if isLineKind {
            for key in ["start", "length", "end", "column", "path"] where map.has(key) {
                throw map[key]!.error("fields of a kind matched by 'line' come from its capture groups: use capture")
            }
            let captureNode = try map.required("capture")
            let index = try captureNode.int(in: 1...99)
            if case .line(let pattern) = kindMatch!, index > pattern.captureCount {
                throw captureNode.error("the line pattern has \(pattern.captureCount) capture group(s)")
            }
            source = .capture(index)
        } else {
            if let capture = map["capture"] { throw capture.error("capture applies only to kinds matched by 'line'") }
            switch format {
            case .fixedWidth(let layout):
                for key in ["column", "path"] where map.has(key) {
                    throw map[key]!.error("'\(key)' does not apply to fixed-width files; use start and length")
                }
                let startNode = try map.required("start")
                let start = try startNode.int(in: 1...layout.recordLength)
                let length: Int
                if let lengthNode = map["length"] {
                    if map.has("end") { throw node.error("give length or end, not both") }
                    length = try lengthNode.int(in: 1...layout.recordLength)
                } else if let endNode = map["end"] {
                    let end = try endNode.int(in: start...layout.recordLength)
                    length = end - start + 1
                } else {
                    throw node.error("a fixed-width field needs start and length (or end)")
                }
                guard start - 1 + length <= layout.recordLength else {
                    throw node.error("positions \(start)–\(start + length - 1) run past the record length \(layout.recordLength)")
                }
                source = .slice(start: start - 1, length: length)
            case .delimited(let layout):
                for key in ["start", "length", "end", "path"] where map.has(key) {
                    throw map[key]!.error("'\(key)' does not apply to delimited files; use column")
                }
                source = try LogicalSpecKeys.delimitedSource(map) { n throws(SpecError) in try columnReference(n, layout: layout) }
            case .xml(let layout):
                for key in ["start", "length", "end", "column"] where map.has(key) {
                    throw map[key]!.error("'\(key)' does not apply to XML files; use path")
                }
                let pathNode = try map.required("path")
                var paths: [XMLValuePath] = []
                for (index, text) in try PathAlternativeTypes.texts(pathNode).enumerated() {
                    let itemNode = pathNode.isScalar ? pathNode : try pathNode.items()[index]
                    paths.append(try fieldXMLPath(text, itemNode, recordPath: xmlPath!, layout: layout))
                }
                source = .xml(paths)
            case .tagged:
                preconditionFailure("tagged fields are read by TaggedSpec.fieldSource")
            }
        }

        // What the value is.
        let typeName = try map["type"]?.string() ?? "string"
        let type: FieldType
        let typeNode = map["type"] ?? node
        let numericOnly = ["scale", "implied", "point", "thousands", "sign"]
        if let monthEnd = map["month_end"], !["date", "datetime"].contains(typeName) {
            throw monthEnd.error("'month_end' applies to a date or date-time field")
        }
        switch typeName {
        case "string":
            for key in numericOnly + ["format"] where map.has(key) {
                throw map[key]!.error("'\(key)' does not apply to a string field")
            }
            type = .string
        case "integer":
            for key in ["scale", "implied", "point", "format"] where map.has(key) {
                throw map[key]!.error("'\(key)' does not apply to an integer field")
            }
            type = .integer(IntegerFormat(thousands: try map["thousands"].map { n throws(SpecError) in try singleASCII(n, what: "thousands separator") },
                                          sign: try sign(map["sign"])))
        case "decimal":
            if let formatNode = map["format"] { throw formatNode.error("'format' does not apply to a decimal field; use scale, implied, point, thousands") }
            let scale = try map["scale"]?.int(in: 0...DecimalAmount.maxScale) ?? 2
            let implied = try map["implied"]?.bool() ?? false
            let point = try map["point"].map { n throws(SpecError) in try singleASCII(n, what: "decimal point") } ?? UInt8(ascii: ".")
            let thousands = try map["thousands"].map { n throws(SpecError) in try singleASCII(n, what: "thousands separator") }
            if let thousands, thousands == point { throw node.error("the thousands separator and the decimal point must differ") }
            if implied, map.has("point") { throw map["point"]!.error("an implied-decimal field has no point") }
            type = .decimal(DecimalFormat(scale: scale, implied: implied, point: point, thousands: thousands,
                                          sign: try sign(map["sign"])))
        case "date", "time", "datetime":
            for key in numericOnly where map.has(key) {
                throw map[key]!.error("'\(key)' does not apply to a \(typeName) field")
            }
            let formatNode = try map.required("format")
            let content: DateTimeFormat.Content = typeName == "date" ? .date : typeName == "time" ? .time : .dateTime
            let parsed: DateTimeFormat
            do {
                parsed = try DateTimeFormat(pattern: try formatNode.string(), content: content,
                                            yearFromAnotherField: map.has("year_from"))
            } catch let error as DateTimeFormatError {
                throw formatNode.error(error.description)
            } catch {
                throw formatNode.error("\(error)")
            }
            var format = parsed
            if let monthEnd = map["month_end"] {
                if try monthEnd.bool() { format = parsed.readingDaysToMonthEnd() }
            }
            type = typeName == "date" ? .date(format) : typeName == "time" ? .time(format) : .dateTime(format)
        default:
            throw typeNode.error("unknown field type '\(typeName)'; expected one of \(FieldType.names.joined(separator: ", "))")
        }

        var trim = TrimRule.both
        if let trimNode = map["trim"] {
            guard let rule = TrimRule(rawValue: try trimNode.string()) else { throw trimNode.error("expected both, left, right or none") }
            trim = rule
        }
        let strip = try (map["strip"]?.strings() ?? []).map { Array($0.utf8) }
        if strip.contains(where: \.isEmpty) { throw map["strip"]!.error("an empty affix strips nothing") }
        let empty = try (map["empty"]?.strings() ?? []).map { Array($0.utf8) }
        let extract = try map["extract"].map { n throws(SpecError) in try regex(n) }
        if let extract, extract.captureCount < 1, let n = map["extract"] {
            throw n.error("extract needs a capture group around the value, like 'fee ([0-9.]+)'")
        }
        let required = try map["required"]?.bool() ?? false
        let pattern = try map["pattern"].map { n throws(SpecError) in try regex(n) }
        let minLength = try map["min_length"]?.int(in: 0...1_000_000)
        let maxLength = try map["max_length"]?.int(in: 0...1_000_000)
        if let minLength, let maxLength, maxLength < minLength {
            throw map["max_length"]!.error("max_length is below min_length")
        }

        var codes: [String: String]?
        if let codesNode = map["codes"] {
            guard case .string = type else { throw codesNode.error("code maps apply to string fields") }
            var table: [String: String] = [:]
            for (code, value) in try codesNode.entries() {
                table[code] = try value.string()
            }
            guard !table.isEmpty else { throw codesNode.error("the code map is empty") }
            codes = table
        }
        var keepUnmapped = false
        if let unmappedNode = map["unmapped"] {
            guard codes != nil else { throw unmappedNode.error("'unmapped' applies with 'codes'") }
            switch try unmappedNode.string() {
            case "reject": keepUnmapped = false
            case "keep": keepUnmapped = true
            default: throw unmappedNode.error("expected reject or keep")
            }
        }

        var padByte: UInt8
        var alignRight: Bool
        switch type {
        case .integer, .decimal: padByte = UInt8(ascii: "0"); alignRight = true
        default: padByte = UInt8(ascii: " "); alignRight = false
        }
        if let padNode = map["pad"] {
            let text = try padNode.string()
            guard text.utf8.count == 1, let byte = text.utf8.first, byte < 0x80 else {
                throw padNode.error("pad is one ASCII character, such as '0' or ' '")
            }
            padByte = byte
        }
        if let alignNode = map["align"] {
            switch try alignNode.string() {
            case "left": alignRight = false
            case "right": alignRight = true
            default: throw alignNode.error("expected left or right")
            }
        }

        let condition = try fieldCondition(map["when"], format: format)
        let draft = FieldSpec(
            name: name, source: source, type: type, trim: trim, strip: strip, emptyMarkers: empty,
            extract: extract, required: required, pattern: pattern, minimum: nil, maximum: nil,
            minLength: minLength, maxLength: maxLength, codes: codes, keepUnmappedCodes: keepUnmapped,
            padding: Padding(byte: padByte, alignRight: alignRight))
        let minimum = try map["min"].map { n throws(SpecError) in try bound(n, for: draft) }
        let maximum = try map["max"].map { n throws(SpecError) in try bound(n, for: draft) }
        if let minimum, let maximum, FieldValueOrder.less(maximum, minimum) {
            throw map["max"]!.error("max is below min")
        }
        let warnings = try FieldWarnings.shadow(map["warn"], of: draft, checks: map, regex: regex, bound: bound)
        let read = FieldSpec(
            name: name, source: source, type: type, trim: trim, strip: strip, emptyMarkers: empty,
            extract: extract, required: required, pattern: pattern, minimum: minimum, maximum: maximum,
            minLength: minLength, maxLength: maxLength, codes: codes, keepUnmappedCodes: keepUnmapped,
            padding: draft.padding, warnings: warnings, condition: condition,
            yearFrom: try YearFromSpec.field(map, type: type),
            cellRule: try LogicalSpecKeys.cellRule(map, format: format))
        guard case .xml = format else { return read }
        return try PathAlternativeTypes.apply(read, pathNode: map["path"], hasOwnType: map.has("type"))
    }

    func bound(_ node: SpecNode, for field: FieldSpec) throws(SpecError) -> FieldValue {
        switch field.type {
        case .string:
            throw node.error("min and max apply to numbers, dates and times; use min_length, max_length or pattern for text")
        default:
            break
        }
        let text = try node.string()
        let bytes = Array(text.utf8)
        // Bounds are written as plain values ("0.01", "100"), whatever layout the field's own
        // values have (implied decimals, a comma point, a trailing sign).
        var type = field.type
        if case .decimal(let format) = field.type {
            type = .decimal(DecimalFormat(scale: format.scale, implied: false, point: UInt8(ascii: "."), thousands: nil, sign: .leading))
        } else if case .integer = field.type {
            type = .integer(IntegerFormat(thousands: nil, sign: .leading))
        }
        let outcome = bytes.withUnsafeBytes { ValueParser.parseTyped($0, type: type) }
        guard case .success(let value) = outcome else {
            throw node.error("'\(text)' is not a valid \(field.type.name) for this field")
        }
        return value
    }

    func sign(_ node: SpecNode?) throws(SpecError) -> SignRule {
        guard let node else { return .leading }
        if node.isScalar {
            switch try node.string() {
            case "leading": return .leading
            case "trailing": return .trailing
            case "any": return .any
            case "none": return .unsigned
            default: throw node.error("expected leading, trailing, any, none, or {field, negative, positive}")
            }
        }
        let map = try node.mapping(allowed: ["field", "negative", "positive"])
        let field = try map.required("field").string()
        let negative = try map.required("negative").strings()
        let positive = try map["positive"]?.strings() ?? []
        return .indicator(field: field, negative: negative, positive: positive)
    }

    func columnReference(_ node: SpecNode, layout: DelimitedLayout) throws(SpecError) -> ColumnReference {
        let text = try node.string()
        if let index = Int(text) {
            guard index >= 1 else { throw node.error("columns are numbered from 1") }
            return .index(index - 1)
        }
        if case .none = layout.header {
            throw node.error("column '\(text)' is named, but the spec declares no header row to find it in")
        }
        return .name(text)
    }

    /// Checks that involve several fields of one kind.
    func checkFieldRelations(_ fields: [FieldSpec], node: SpecNode, format: FileFormat) throws(SpecError) {
        if case .fixedWidth = format {
            let slices = fields.compactMap { field -> (name: String, start: Int, end: Int, field: FieldSpec)? in
                if case .slice(let start, let length) = field.source { return (field.name, start, start + length, field) }
                return nil
            }.sorted { $0.start < $1.start }
            for j in slices.indices.dropFirst() {
                let b = slices[j]
                for a in slices[..<j].reversed() where b.start < a.end && !LayoutCondition.exclusive(a.field, b.field) {
                    throw node.child(b.name, node.node).error(
                        "fields '\(a.name)' (positions \(a.start + 1)–\(a.end)) and '\(b.name)' (positions \(b.start + 1)–\(b.end)) overlap"
                        + (a.field.condition != nil || b.field.condition != nil ? " (fields may share positions only under 'when' conditions on one field with different values)" : ""))
                }
            }
        }
        for field in fields {
            if case .indicator(let indicator, _, _)? = field.type.signRule {
                guard let other = fields.first(where: { $0.name == indicator }) else {
                    throw node.child(field.name, node.node).error("the sign indicator field '\(indicator)' is not a field of this record kind")
                }
                guard case .string = other.type else {
                    throw node.child(field.name, node.node).error("the sign indicator field '\(indicator)' must be a string field")
                }
            }
        }
    }

    // MARK: XML paths

    func xmlName(_ text: String, _ node: SpecNode, layout: XMLLayout) throws(SpecError) -> XMLName {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        if parts.count == 2 {
            guard let uri = layout.prefixes[String(parts[0])] else {
                throw node.error("unknown prefix '\(parts[0])' in '\(text)'; declare it under prefixes")
            }
            return XMLName(namespace: uri, local: String(parts[1]))
        }
        guard parts.count == 1, !text.isEmpty, !text.contains("["), !text.contains("]"), !text.contains("=") else {
            throw node.error("'\(text)' is not an element name")
        }
        return XMLName(namespace: nil, local: text)
    }

    /// Splits a path on `/` outside predicates.
    func pathSegments(_ text: String) -> [String] {
        var segments: [String] = []
        var current = ""
        var depth = 0
        for c in text {
            if c == "[" { depth += 1 }
            if c == "]" { depth -= 1 }
            if c == "/" && depth == 0 {
                segments.append(current)
                current = ""
            } else {
                current.append(c)
            }
        }
        segments.append(current)
        return segments
    }

    func xmlStep(_ segment: String, _ node: SpecNode, layout: XMLLayout) throws(SpecError) -> XMLStep {
        guard let open = segment.firstIndex(of: "[") else {
            return XMLStep(name: try xmlName(segment, node, layout: layout), predicate: nil)
        }
        guard segment.hasSuffix("]") else { throw node.error("unbalanced [ ] in '\(segment)'") }
        let name = try xmlName(String(segment[..<open]), node, layout: layout)
        let inner = segment[segment.index(after: open)..<segment.index(before: segment.endIndex)]
        let sides = inner.split(separator: "=", maxSplits: 1).map(String.init)
        guard sides.count == 2, !sides[1].isEmpty else {
            throw node.error("a predicate reads [path=value] or [path=value1|value2], found '[\(inner)]'")
        }
        var predicatePath: [XMLName] = []
        for part in sides[0].split(separator: "/") {
            predicatePath.append(try xmlName(String(part), node, layout: layout))
        }
        let values = sides[1].split(separator: "|").map { String($0).trimmingQuotes() }
        return XMLStep(name: name, predicate: XMLPredicate(path: predicatePath, values: values))
    }

    func absoluteXMLPath(_ text: String, _ node: SpecNode, layout: XMLLayout) throws(SpecError) -> [XMLStep] {
        guard text.hasPrefix("/"), text.count > 1 else {
            throw node.error("a record path is absolute, like /Document/BkToCstmrStmt/Stmt/Ntry")
        }
        var steps: [XMLStep] = []
        for segment in pathSegments(String(text.dropFirst())) {
            guard !segment.isEmpty, segment != "..", segment != ".", !segment.hasPrefix("@") else {
                throw node.error("'\(text)' is not a plain element path")
            }
            let step = try xmlStep(segment, node, layout: layout)
            if step.predicate != nil { throw node.error("record paths take no predicates; put conditions on fields") }
            steps.append(step)
        }
        return steps
    }

    func fieldXMLPath(_ text: String, _ node: SpecNode, recordPath: [XMLStep], layout: XMLLayout) throws(SpecError) -> XMLValuePath {
        var segments = pathSegments(text)
        var steps: [XMLStep]
        var scopeDepth: Int
        if text.hasPrefix("/") {
            segments.removeFirst()
            steps = []
            scopeDepth = 0
        } else {
            steps = recordPath
            scopeDepth = recordPath.count
        }
        var attribute: String?
        for (index, segment) in segments.enumerated() {
            switch segment {
            case ".":
                continue
            case "..":
                guard steps.count > 1 else { throw node.error("'\(text)' climbs above the document root") }
                guard steps.count == scopeDepth else { throw node.error("'..' may only lead a path") }
                steps.removeLast()
                scopeDepth -= 1
            case "":
                throw node.error("empty step in '\(text)'")
            default:
                if segment.hasPrefix("@") {
                    guard index == segments.count - 1, segment.count > 1 else {
                        throw node.error("an attribute (@name) can only end a path")
                    }
                    attribute = String(segment.dropFirst())
                } else {
                    steps.append(try xmlStep(segment, node, layout: layout))
                }
            }
        }
        if steps.filter({ $0.predicate != nil }).count > 1 {
            throw node.error("'\(text)' has more than one predicate; one step may carry a [condition]")
        }
        if text.hasPrefix("/") {
            // The value belongs to the deepest element the path shares with the record.
            scopeDepth = zip(steps, recordPath).prefix { $0.0 == $0.1 }.count
            guard scopeDepth > 0 else { throw node.error("'\(text)' shares no element with the record path") }
        }
        if steps.count == scopeDepth && attribute == nil && steps.count < recordPath.count {
            throw node.error("'\(text)' names an enclosing element itself; name a child or an attribute of it")
        }
        return XMLValuePath(steps: steps, attribute: attribute, scopeDepth: scopeDepth, written: text)
    }

    // MARK: Controls and examples

    func control(_ node: SpecNode, kinds: [RecordKind]) throws(SpecError) -> ControlTotal {
        let map = try node.mapping(allowed: controlKeys)
        let name = try map.required("name").string()

        func kind(_ kindName: String, _ at: SpecNode) throws(SpecError) -> RecordKind {
            guard let kind = kinds.first(where: { $0.name == kindName }) else {
                throw at.error("no record kind '\(kindName)'; the spec has \(kinds.map(\.name).joined(separator: ", "))")
            }
            return kind
        }
        func numericField(_ reference: String, _ at: SpecNode) throws(SpecError) -> (RecordKind, FieldSpec) {
            let parts = reference.split(separator: ".").map(String.init)
            guard parts.count == 2 else { throw at.error("expected kind.field, found '\(reference)'") }
            let k = try kind(parts[0], at)
            guard let field = k.fields.first(where: { $0.name == parts[1] }) else {
                throw at.error("record kind '\(k.name)' has no field '\(parts[1])'")
            }
            switch field.type {
            case .integer, .decimal: return (k, field)
            default: throw at.error("'\(reference)' is a \(field.type.name); totals need integer or decimal fields")
            }
        }

        let measure: ControlTotal.Measure
        var measuredKinds: [RecordKind]
        if let countNode = map["count"] {
            if map.has("sum") { throw node.error("a control either counts or sums") }
            var counted: [RecordKind] = []
            var countedNames: [String] = []
            for kindName in try countNode.strings() {
                if let owner = try countedPart(kindName, countNode, kinds: kinds) {
                    counted.append(owner)
                } else {
                    counted.append(try kind(kindName, countNode))
                }
                countedNames.append(kindName)
            }
            measure = .count(kinds: countedNames)
            measuredKinds = counted
        } else if let sumNode = map["sum"], !sumNode.isScalar {
            (measure, measuredKinds) = try ControlRules.sums(sumNode, numericField: numericField)
        } else if let sumNode = map["sum"] {
            let (k, field) = try numericField(try sumNode.string(), sumNode)
            measure = .sum(kind: k.name, field: field.name)
            measuredKinds = [k]
        } else if let rule = try ControlRules.rule(map, kind: kind) {
            (measure, measuredKinds) = rule
        } else {
            throw node.error("a control needs count (record kinds), sum (kind.field), sequence (kind.field) or same ([kind.field, …])")
        }

        var filter: [(field: String, values: Set<String>)] = []
        if let whereNode = map["where"] {
            for (fieldName, valuesNode) in try whereNode.entries() {
                for k in measuredKinds where k.fieldIndex(named: fieldName) == nil {
                    throw valuesNode.error("record kind '\(k.name)' has no field '\(fieldName)'")
                }
                filter.append((fieldName, Set(try valuesNode.strings())))
            }
        }
        let modulo = try map["modulo"].map { n throws(SpecError) in Int64(try n.int(in: 2...Int.max)) }

        let isRule: Bool
        switch measure { case .sequence, .same: isRule = true; default: isRule = false }
        let equalsNode = isRule ? node : try map.required("equals")
        let declaredCount = isRule || equalsNode.isScalar ? [] : try ControlRules.declaredCount(equalsNode, kind: kind)
        let expression = isRule || !declaredCount.isEmpty ? "" : try equalsNode.string()
        var declared: [ControlTotal.DeclaredTerm] = []
        var negated = false
        for token in expression.split(separator: " ") {
            switch token {
            case "+": negated = false
            case "-": negated = true
            default:
                var reference = String(token)
                var termNegated = negated
                if reference.hasPrefix("-") { termNegated.toggle(); reference.removeFirst() }
                let (k, field) = try numericField(reference, equalsNode)
                declared.append(.init(negated: termNegated, kind: k.name, field: field.name))
                negated = false
            }
        }
        guard !declared.isEmpty || isRule || !declaredCount.isEmpty else { throw equalsNode.error("name the declared total, like trailer.record_count") }

        var scope = ControlScope.file
        if let scopeNode = map["scope"] {
            if scopeNode.isScalar {
                guard try scopeNode.string() == "file" else { throw scopeNode.error("expected file, or {from: kind, to: kind}") }
            } else {
                let scopeMap = try scopeNode.mapping(allowed: ["from", "to"])
                let from = try scopeMap["from"].map { n throws(SpecError) in try kind(try n.string(), n).name }
                let to = try scopeMap["to"].map { n throws(SpecError) in try kind(try n.string(), n).name }
                guard from != nil || to != nil else { throw scopeNode.error("a group scope needs from, to, or both") }
                scope = .group(from: from, to: to)
            }
        }
        var control = ControlTotal(name: name, measure: measure, filter: filter, modulo: modulo, declared: declared, scope: scope,
                                   declaredCount: declaredCount)
        try ControlRules.options(map, &control, kind: kind)
        return control
    }

    func example(_ node: SpecNode, kinds: [RecordKind]) throws(SpecError) -> SpecExample {
        let map = try node.mapping(allowed: exampleKeys)
        let file = try map.required("file").string()
        var records: [String: Int] = [:]
        if let recordsNode = map["records"] {
            for (kindName, countNode) in try recordsNode.entries() {
                guard kinds.contains(where: { $0.name == kindName }) else {
                    throw countNode.error("no record kind '\(kindName)'")
                }
                records[kindName] = try countNode.int(in: 0...Int.max)
            }
        }
        var controlsHold: Bool?
        if let controlsNode = map["controls"] {
            switch try controlsNode.string() {
            case "hold": controlsHold = true
            case "fail": controlsHold = false
            default: throw controlsNode.error("expected hold or fail")
            }
        }
        var sums: [(kind: String, field: String, total: Int64)] = []
        if let sumsNode = map["sums"] {
            for (reference, totalNode) in try sumsNode.entries() {
                let parts = reference.split(separator: ".").map(String.init)
                guard parts.count == 2, let k = kinds.first(where: { $0.name == parts[0] }),
                      k.fieldIndex(named: parts[1]) != nil else {
                    throw totalNode.error("'\(reference)' names no field (expected kind.field)")
                }
                guard let total = Int64(try totalNode.string()) else {
                    throw totalNode.error("sums are whole numbers in minor units")
                }
                sums.append((parts[0], parts[1], total))
            }
        }
        return SpecExample(file: file, records: records, rejected: try map["rejected"]?.int(in: 0...Int.max),
                           controlsHold: controlsHold, sums: sums, failure: try map["fails"]?.string())
    }

    func regex(_ node: SpecNode) throws(SpecError) -> SpecRegex {
        let text = try node.string()
        do {
            return try SpecRegex(text)
        } catch {
            throw node.error("'\(text)' is not a valid regular expression: \(error)")
        }
    }
}

extension String {
    /// Without the quotes a predicate value may be written in: `Cd='OPBD'`.
    func trimmingQuotes() -> String {
        var s = Substring(self)
        while let first = s.first, first == "'" || first == "\"" { s.removeFirst() }
        while let last = s.last, last == "'" || last == "\"" { s.removeLast() }
        return String(s)
    }
}
