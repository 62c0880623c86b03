/// How an XML spec's kinds become elements. The document has one envelope: the header
/// kind's element (a camt.054 `Ntfctn`), or, without a header kind, the element enclosing
/// the details. The header's fields, at paths inside its element or anywhere above it
/// (`/Document/.../GrpHdr/MsgId`), are written around the details; each detail is one
/// child element of the envelope, its fields at paths inside it.
///
/// What reading paths allow and writing takes: alternatives (`[IBAN, Othr/Id]`) write the
/// first; a predicate (`Bal[Tp/CdOrPrtry/Cd=OPBD|PRCD]/Amt`) writes its element with the
/// predicate's path holding its first value; an attribute (`Amt/@Ccy`) is written on its
/// element. A detail field in an enclosing element (`../Acct/Id`) is written once, by the
/// header field at the same place; none there, and the spec is refused.
///
/// Where the spec's first namespace names a schema reckon knows the order of (camt.053 and
/// camt.054, see ``XMLSchemaOrder``), children are written in the schema's order, and an
/// element the schema does not have there is refused; otherwise in the spec's order.
struct XMLRenderPlan: @unchecked Sendable {
    /// The header's tree from the document root, with the details' place in it.
    let document: XMLElementPlan
    /// Per kind index: the detail's element tree (nil for the header and ignored kinds).
    let details: [XMLElementPlan?]
    /// Depth of a detail's element (the root is 0), for indentation.
    let detailDepth: Int
    /// `xmlns` declarations for the root element.
    let namespaceDeclarations: [UInt8]

    init(spec: MappingSpec, layout: XMLLayout, header: RecordKind?, trailer: RecordKind?) throws(RenderError) {
        if let trailer {
            throw RenderError(kind: trailer.name, field: nil, reason: "an XML file has no trailer kind; its totals go in the header (render: header)")
        }
        let order = layout.namespaces.first.flatMap { XMLSchemaOrder.order(forNamespace: $0) }
        let defaultNamespace = layout.namespaces.first
        var prefixOf: [String: String] = [:]
        for (prefix, uri) in layout.prefixes.sorted(by: { $0.key < $1.key }) where prefixOf[uri] == nil { prefixOf[uri] = prefix }
        func qualified(_ name: XMLName) -> [UInt8] {
            if let namespace = name.namespace, namespace != defaultNamespace, let prefix = prefixOf[namespace] {
                return Array((prefix + ":" + name.local).utf8)
            }
            return Array(name.local.utf8)
        }
        var declarations = ""
        if let defaultNamespace { declarations += " xmlns=\"\(XMLEscape.attribute(defaultNamespace))\"" }
        for (prefix, uri) in layout.prefixes.sorted(by: { $0.key < $1.key }) {
            declarations += " xmlns:\(prefix)=\"\(XMLEscape.attribute(uri))\""
        }
        namespaceDeclarations = Array(declarations.utf8)

        let detailKinds = spec.kinds.filter { !$0.ignored && $0.index != header?.index }
        guard let firstDetail = detailKinds.first else {
            throw RenderError(kind: "-", field: nil, reason: "the spec has no detail kind to write")
        }
        let envelope: [XMLStep] = header?.xmlPath ?? Array(firstDetail.xmlPath!.dropLast())
        guard !envelope.isEmpty else {
            throw RenderError(kind: firstDetail.name, field: nil, reason: "a detail cannot be the document's root element")
        }
        for kind in detailKinds {
            let path = kind.xmlPath!
            guard path.count == envelope.count + 1, Array(path.dropLast()) == envelope else {
                throw RenderError(kind: kind.name, field: nil,
                                  reason: "its path is not one element inside \(header == nil ? "the other details'" : "the header kind's") /\(envelope.map(\.name.local).joined(separator: "/")); the renderer writes each detail as a child of that element")
            }
        }
        detailDepth = envelope.count

        // The header's tree, from the root, with the details' place.
        let root = XMLBuildNode(name: envelope[0].name, qualified: qualified(envelope[0].name), predicate: nil, origin: nil)
        var node = root
        for step in envelope.dropFirst() { node = node.child(step.name, predicate: nil, origin: nil, qualify: qualified) }
        let slot = node.child(firstDetail.xmlPath!.last!.name, predicate: nil, origin: nil, qualify: qualified)
        slot.isSlot = true
        var headerPaths: [XMLValuePath] = []
        if let header {
            for (index, field) in header.fields.enumerated() {
                guard case .xml(let paths) = field.source else { continue }
                let path = paths[0]
                headerPaths.append(path)
                guard path.steps.first?.name == envelope[0].name else {
                    throw RenderError(kind: header.name, field: field.name, reason: "\(path.written) is outside the document's root element")
                }
                try root.place(path, from: 1, field: index, origin: (header, field), qualified: qualified)
            }
        }
        try root.order(by: order, schema: layout.namespaces.first ?? "")
        document = root.frozen()

        var details = [XMLElementPlan?](repeating: nil, count: spec.kinds.count)
        for kind in detailKinds {
            let path = kind.xmlPath!
            let element = XMLBuildNode(name: path.last!.name, qualified: qualified(path.last!.name), predicate: nil, origin: nil)
            for (index, field) in kind.fields.enumerated() {
                guard case .xml(let paths) = field.source else { continue }
                let fieldPath = paths[0]
                if fieldPath.scopeDepth < path.count {
                    // A value of an enclosing element: the header writes it.
                    guard headerPaths.contains(where: { $0.steps == fieldPath.steps && $0.attribute == fieldPath.attribute }) else {
                        throw RenderError(kind: kind.name, field: field.name,
                                          reason: "\(fieldPath.written) is in an enclosing element, and no header field writes it there")
                    }
                    continue
                }
                try element.place(fieldPath, from: path.count, field: index, origin: (kind, field), qualified: qualified)
            }
            try element.order(by: order, schema: layout.namespaces.first ?? "")
            details[kind.index] = element.frozen()
        }
        self.details = details
    }
}

/// One element to write: its name, a fixed text (a predicate's value) or the field whose
/// value is its text, its attributes from fields, and its children in order.
struct XMLElementPlan {
    let qualified: [UInt8]
    let literal: [UInt8]?
    let field: Int?
    let attributes: [(name: [UInt8], field: Int)]
    let children: [XMLElementPlan]
    /// Where the details go (the header's tree only).
    let isSlot: Bool
    /// Some field, or the slot, is in this element or below: without one it is left out.
    let fields: [Int]
    let holdsSlot: Bool
}

/// The tree as it is built from the field paths.
final class XMLBuildNode {
    let name: XMLName
    let qualified: [UInt8]
    let predicate: XMLPredicate?
    /// The kind and field that first needed this element, for messages.
    let origin: (RecordKind, FieldSpec)?
    var literal: [UInt8]?
    var field: Int?
    var attributes: [(name: [UInt8], field: Int)] = []
    var children: [XMLBuildNode] = []
    var isSlot = false

    init(name: XMLName, qualified: [UInt8], predicate: XMLPredicate?, origin: (RecordKind, FieldSpec)?) {
        self.name = name
        self.qualified = qualified
        self.predicate = predicate
        self.origin = origin
    }

    func child(_ name: XMLName, predicate: XMLPredicate?, origin: (RecordKind, FieldSpec)?,
               qualify: (XMLName) -> [UInt8]) -> XMLBuildNode {
        // One predicate value picks the element: a second field under the same predicate
        // shares it.
        if let existing = children.first(where: { $0.name == name && $0.predicate?.path == predicate?.path
            && $0.predicate?.values.first == predicate?.values.first && !$0.isSlot }) {
            return existing
        }
        let node = XMLBuildNode(name: name, qualified: qualify(name), predicate: predicate, origin: origin)
        if let predicate {
            // The predicate's path holding its (first) value, written first: a reader tests it
            // before the values that follow.
            var inner = node
            for name in predicate.path { inner = inner.child(name, predicate: nil, origin: origin, qualify: qualify) }
            inner.literal = Array(predicate.values[0].utf8)
        }
        children.append(node)
        return node
    }

    /// Places a field's value at `path`, its steps from `start` below this element.
    func place(_ path: XMLValuePath, from start: Int, field: Int, origin: (RecordKind, FieldSpec),
               qualified: (XMLName) -> [UInt8]) throws(RenderError) {
        var node = self
        for step in path.steps[start...] {
            node = node.child(step.name, predicate: step.predicate, origin: origin, qualify: qualified)
        }
        if let attribute = path.attribute {
            if node.attributes.contains(where: { $0.name == Array(attribute.utf8) }) {
                throw RenderError(kind: origin.0.name, field: origin.1.name, reason: "another field writes \(path.written) already")
            }
            node.attributes.append((Array(attribute.utf8), field))
            return
        }
        if node.field != nil || node.literal != nil || node.isSlot {
            throw RenderError(kind: origin.0.name, field: origin.1.name, reason: "another field writes \(path.written) already")
        }
        if !node.children.isEmpty {
            throw RenderError(kind: origin.0.name, field: origin.1.name, reason: "\(path.written) holds other elements; it cannot also hold a value")
        }
        node.field = field
    }

    /// Sorts children into the schema's order, refusing elements it does not have.
    func order(by schema: [String: [String]]?, schema name: String) throws(RenderError) {
        if field != nil || literal != nil, let child = children.first {
            let origin = child.origin ?? self.origin
            throw RenderError(kind: origin?.0.name ?? "-", field: origin?.1.name,
                              reason: "<\(self.name.local)> would hold a value and elements")
        }
        if let sequence = schema?[self.name.local] {
            var ranked: [(Int, XMLBuildNode)] = []
            for child in children {
                guard child.name.namespace == nil else { ranked.append((Int.max, child)); continue }
                guard let rank = sequence.firstIndex(of: child.name.local) else {
                    let origin = child.origin ?? self.origin
                    throw RenderError(kind: origin?.0.name ?? "-", field: origin?.1.name,
                                      reason: "<\(child.name.local)> is not an element of <\(self.name.local)> in \(XMLSchemaOrder.version(ofNamespace: name) ?? name)")
                }
                ranked.append((rank, child))
            }
            // Stable: elements of one name keep their order (two Bal, by predicate).
            children = ranked.enumerated().sorted { ($0.element.0, $0.offset) < ($1.element.0, $1.offset) }.map(\.element.1)
        }
        for child in children { try child.order(by: schema, schema: name) }
    }

    func frozen() -> XMLElementPlan {
        let frozenChildren = children.map { $0.frozen() }
        var fields = frozenChildren.flatMap(\.fields) + attributes.map(\.field)
        if let field { fields.append(field) }
        return XMLElementPlan(qualified: qualified, literal: literal, field: field, attributes: attributes, children: frozenChildren,
                              isSlot: isSlot, fields: fields, holdsSlot: isSlot || frozenChildren.contains { $0.holdsSlot })
    }
}

/// Text and attribute values as XML: markup characters escaped; control characters XML
/// 1.0 cannot carry refused.
enum XMLEscape {
    static func attribute(_ text: String) -> String {
        var out = ""
        for c in text {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            default: out.append(c)
            }
        }
        return out
    }

    /// Appends `bytes` (UTF-8) escaped; false when they hold a character XML cannot carry.
    static func append(_ bytes: [UInt8], attribute: Bool, to out: inout [UInt8]) -> Bool {
        for byte in bytes {
            switch byte {
            case UInt8(ascii: "&"): out += Array("&amp;".utf8)
            case UInt8(ascii: "<"): out += Array("&lt;".utf8)
            case UInt8(ascii: ">"): out += Array("&gt;".utf8)
            case UInt8(ascii: "\"") where attribute: out += Array("&quot;".utf8)
            case 0x09 where !attribute, 0x0A where !attribute: out.append(byte)
            case ..<0x20: return false
            default: out.append(byte)
            }
        }
        return true
    }
}
