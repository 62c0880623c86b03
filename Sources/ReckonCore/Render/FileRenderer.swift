/// A whole file through a spec, as bytes, in the order they are written: the prologue
/// (a delimited file's column row; XML's declaration and opening elements), the header,
/// the details as they are added, the trailer, the epilogue. Control totals are followed
/// through the details and written into the fields their `equals` names. Pure: the
/// caller puts the bytes in a file (``SpecFileWriter`` in ReckonFiles) and decides where the
/// header goes when it can only be written last.
public struct FileRenderer {
    public let plan: RenderPlan
    private let records: RecordRenderer
    private var controls: ControlTotals
    private var counts: [Int]
    private var scratch: [UInt8] = []
    private var xml: XMLDocumentWriter?

    public init(plan: RenderPlan) throws(RenderError) {
        self.plan = plan
        records = try RecordRenderer(spec: plan.spec)
        controls = ControlTotals(plans: plan.controls, kindCount: plan.spec.kinds.count)
        counts = Array(repeating: 0, count: plan.spec.kinds.count)
        lineBreak = Self.lineBreak(plan.spec)
        scratch.reserveCapacity(256)
        xml = plan.xml.map { XMLDocumentWriter(plan: $0, records: records) }
    }

    /// Fixed-width files with a header kind: the header's exact size (record and line
    /// break), so a writer can reserve it and write it in place at the end.
    public var fixedHeaderBytes: Int? {
        guard plan.headerKind != nil, case .fixedWidth(let layout) = plan.spec.format else { return nil }
        return layout.recordLength + lineBreak.count
    }

    /// Whether the header holds a total computed from the details (it can then only be
    /// written last).
    public var headerComputesTotals: Bool {
        guard let header = plan.headerKind else { return false }
        return !plan.computed[header.index].isEmpty
    }

    /// Detail records added so far.
    public var recordCount: Int {
        counts.enumerated().reduce(0) { total, entry in
            entry.offset == plan.headerKind?.index || entry.offset == plan.trailerKind?.index ? total : total + entry.element
        }
    }

    /// Each control's measured total over the file, in the spec's control order.
    public var controlTotals: [ControlTotalValue] { controls.values }

    /// Worked out once: reading it from the spec per record costs reference counting.
    private let lineBreak: [UInt8]

    private static func lineBreak(_ spec: MappingSpec) -> [UInt8] {
        if case .fixedWidth(let layout) = spec.format, layout.separator == .none { return [] }
        return spec.output.lineBreak
    }

    /// The bytes before the header: a delimited file's column names row.
    public func prologue() -> [UInt8] {
        if let header = records.header() { return header + lineBreak }
        return []
    }

    /// The kind of this name, one the caller may add.
    public func detailKind(named name: String) throws(RenderError) -> RecordKind {
        guard let kind = plan.spec.kind(named: name) else {
            throw RenderError(kind: name, field: nil, reason: "no such record kind; the spec has \(plan.spec.kinds.map(\.name).joined(separator: ", "))")
        }
        if kind.index == plan.headerKind?.index || kind.index == plan.trailerKind?.index {
            throw RenderError(kind: name, field: nil, reason: "the \(kind.index == plan.headerKind?.index ? "header" : "trailer") is written by finish, with the totals")
        }
        return kind
    }

    /// Values by field name in the kind's field order; fields not named are blank.
    public func values(for kind: RecordKind, _ named: [String: FieldValue]) throws(RenderError) -> [FieldValue] {
        var values = [FieldValue](repeating: .empty, count: kind.fields.count)
        for (name, value) in named {
            guard let index = kind.fieldIndex(named: name) else {
                throw RenderError(kind: kind.name, field: name, reason: "no such field; the kind has \(kind.fields.map(\.name).joined(separator: ", "))")
            }
            values[index] = value
        }
        return values
    }

    /// Appends one detail record (values in the kind's field order) and its line break.
    /// A control's group closed by this record gets its total filled in. On error the
    /// buffer and the totals are as they were.
    public mutating func append(_ kind: RecordKind, _ values: [FieldValue], to buffer: inout [UInt8]) throws(RenderError) {
        if kind.index == plan.headerKind?.index || kind.index == plan.trailerKind?.index {
            throw RenderError(kind: kind.name, field: nil, reason: "the \(kind.index == plan.headerKind?.index ? "header" : "trailer") is written by finish, with the totals")
        }
        guard values.count == kind.fields.count else {
            throw RenderError(kind: kind.name, field: nil, reason: "\(values.count) values for \(kind.fields.count) fields")
        }
        let computed = plan.computed[kind.index]
        // Indicators first: a control's `where` may test one (CRDT/DBIT).
        var filled = kind.signIndicators.isEmpty ? values : try records.signedForIndicators(kind, values)
        if !computed.isEmpty {
            var trial = controls
            trial.willWrite(kind: kind.index)
            try trial.fill(kind: kind, computed: computed, values: &filled)
        }
        let start = buffer.count
        if let xml {
            try xml.appendRecord(kind, filled, to: &buffer, scratch: &scratch)
        } else {
            try records.append(kind, filled, to: &buffer, scratch: &scratch)
            buffer.append(contentsOf: lineBreak)
        }
        controls.willWrite(kind: kind.index)
        do throws(RenderError) {
            try controls.didWrite(kind: kind.index, values: filled)
        } catch {
            buffer.removeSubrange(start...)
            throw error
        }
        counts[kind.index] += 1
    }

    /// The header record with its computed totals (empty when the spec has no header
    /// kind). XML: everything before the first detail.
    public mutating func header(_ named: [String: FieldValue]) throws(RenderError) -> [UInt8] {
        if let xml { return try xml.opening(headerValues: try envelope(plan.headerKind, named), header: plan.headerKind) }
        guard let kind = plan.headerKind else { return [] }
        return try envelopeRecord(kind, named)
    }

    /// The trailer record with its computed totals (empty when the spec has no trailer
    /// kind). XML: everything after the last detail.
    public mutating func trailer(_ named: [String: FieldValue], header headerNamed: [String: FieldValue] = [:]) throws(RenderError) -> [UInt8] {
        if let xml { return try xml.closing(headerValues: try envelope(plan.headerKind, headerNamed), header: plan.headerKind) }
        guard let kind = plan.trailerKind else { return [] }
        return try envelopeRecord(kind, named)
    }

    /// Every kind occurred as often as the spec allows (header and trailer once).
    public func checkOccurrences() throws(RenderError) {
        for kind in plan.spec.kinds where !kind.ignored {
            let count = kind.index == plan.headerKind?.index || kind.index == plan.trailerKind?.index ? 1 : counts[kind.index]
            if count < kind.minOccurs {
                throw RenderError(kind: kind.name, field: nil, reason: "written \(count) times; the spec requires at least \(kind.minOccurs)")
            }
            if let most = kind.maxOccurs, count > most {
                throw RenderError(kind: kind.name, field: nil, reason: "written \(count) times; the spec allows at most \(most)")
            }
        }
    }

    private func envelope(_ kind: RecordKind?, _ named: [String: FieldValue]) throws(RenderError) -> [FieldValue] {
        guard let kind else {
            if let name = named.keys.sorted().first {
                throw RenderError(kind: "-", field: name, reason: "the spec names no header kind (render: header) to write '\(name)' in")
            }
            return []
        }
        var values = try self.values(for: kind, named)
        try controls.fill(kind: kind, computed: plan.computed[kind.index], values: &values)
        return kind.signIndicators.isEmpty ? values : try records.signedForIndicators(kind, values)
    }

    private mutating func envelopeRecord(_ kind: RecordKind, _ named: [String: FieldValue]) throws(RenderError) -> [UInt8] {
        let values = try envelope(kind, named)
        var bytes: [UInt8] = []
        try records.append(kind, values, to: &bytes, scratch: &scratch)
        return bytes + lineBreak
    }
}

/// Writes an XML document: the header's tree around the details, each detail one element.
struct XMLDocumentWriter {
    let plan: XMLRenderPlan
    let records: RecordRenderer
    let spec: MappingSpec

    init(plan: XMLRenderPlan, records: RecordRenderer) {
        self.plan = plan
        self.records = records
        spec = records.spec
    }

    func appendRecord(_ kind: RecordKind, _ values: [FieldValue], to buffer: inout [UInt8], scratch: inout [UInt8]) throws(RenderError) {
        guard let element = plan.details[kind.index] else {
            throw RenderError(kind: kind.name, field: nil, reason: "the kind is not written as a detail")
        }
        let texts = try encoded(kind, values, fields: element.fields)
        let start = buffer.count
        var slot: Int?
        do throws(RenderError) {
            try write(element, kind: kind, texts: texts, depth: plan.detailDepth, isRoot: false, to: &buffer, slot: &slot)
        } catch {
            buffer.removeSubrange(start...)
            throw error
        }
    }

    /// The declaration and the header's tree up to the details.
    func opening(headerValues: [FieldValue], header: RecordKind?) throws(RenderError) -> [UInt8] {
        let (bytes, slot) = try document(headerValues: headerValues, header: header)
        return Array(bytes[..<slot])
    }

    /// The header's tree after the details, to the end of the document.
    func closing(headerValues: [FieldValue], header: RecordKind?) throws(RenderError) -> [UInt8] {
        let (bytes, slot) = try document(headerValues: headerValues, header: header)
        return Array(bytes[slot...])
    }

    private func document(headerValues: [FieldValue], header: RecordKind?) throws(RenderError) -> ([UInt8], Int) {
        var texts: [[UInt8]?] = []
        if let header { texts = try encoded(header, headerValues, fields: plan.document.fields) }
        var out = Array("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n".utf8)
        var slot: Int?
        try write(plan.document, kind: header, texts: texts, depth: 0, isRoot: true, to: &out, slot: &slot)
        return (out, slot ?? out.count)
    }

    /// Each written field's text (nil when empty), checked as the reader would.
    private func encoded(_ kind: RecordKind, _ values: [FieldValue], fields: [Int]) throws(RenderError) -> [[UInt8]?] {
        var texts = [[UInt8]?](repeating: nil, count: kind.fields.count)
        for index in fields {
            var bytes: [UInt8] = []
            try records.encode(kind, index, kind.fields[index], values[index], into: &bytes)
            if !values[index].isEmpty { texts[index] = bytes }
        }
        return texts
    }

    private func present(_ element: XMLElementPlan, _ texts: [[UInt8]?]) -> Bool {
        element.holdsSlot || element.fields.isEmpty || element.fields.contains { texts.indices.contains($0) && texts[$0] != nil }
    }

    private func write(_ element: XMLElementPlan, kind: RecordKind?, texts: [[UInt8]?], depth: Int, isRoot: Bool,
                       to out: inout [UInt8], slot: inout Int?) throws(RenderError) {
        if element.isSlot {
            slot = out.count
            return
        }
        func escaped(_ bytes: [UInt8], field: Int, attribute: Bool) throws(RenderError) {
            guard XMLEscape.append(bytes, attribute: attribute, to: &out) else {
                throw RenderError(kind: kind?.name ?? "-", field: kind?.fields[field].name,
                                  reason: "the value holds a control character, which XML cannot carry")
            }
        }
        out.append(contentsOf: repeatElement(0x20, count: 2 * depth))
        out.append(UInt8(ascii: "<"))
        out += element.qualified
        if isRoot { out += plan.namespaceDeclarations }
        for (name, field) in element.attributes {
            guard let text = texts[field] else { continue }
            out.append(0x20)
            out += name
            out += [UInt8(ascii: "="), UInt8(ascii: "\"")]
            try escaped(text, field: field, attribute: true)
            out.append(UInt8(ascii: "\""))
        }
        if let field = element.field {
            out.append(UInt8(ascii: ">"))
            if let text = texts[field] { try escaped(text, field: field, attribute: false) }
        } else if let literal = element.literal {
            out.append(UInt8(ascii: ">"))
            _ = XMLEscape.append(literal, attribute: false, to: &out)
        } else {
            let children = element.children.filter { present($0, texts) }
            guard !children.isEmpty else {
                out += Array("/>\n".utf8)
                return
            }
            out += [UInt8(ascii: ">"), 0x0A]
            for child in children {
                try write(child, kind: kind, texts: texts, depth: depth + 1, isRoot: false, to: &out, slot: &slot)
            }
            out.append(contentsOf: repeatElement(0x20, count: 2 * depth))
        }
        out += [UInt8(ascii: "<"), UInt8(ascii: "/")]
        out += element.qualified
        out += [UInt8(ascii: ">"), 0x0A]
    }
}
