import CLibXML2
#if canImport(Glibc)
import Glibc
#endif
import ReckonCore

/// Reads XML files (ISO 20022 camt.053 and kin, OFX 2.x, and OFX 1.x SGML turned into
/// XML by ``XMLInput`` as it streams) through libxml2's streaming reader
/// (`xmlTextReader`): memory stays flat whatever the file's size, because only the values
/// a spec names are kept, and only until their record is emitted.
///
/// A record kind is an element path; a record is emitted when its element ends. Fields are
/// paths relative to the record element; `..` reaches enclosing elements, so each entry can
/// carry its statement's account and balances (those come before the entries in camt.053;
/// a value that appears after the record is not seen, as the reader never looks back). The
/// first occurrence of a repeated value wins. A predicate `Bal[Tp/CdOrPrtry/Cd=OPBD]`
/// picks the one element of several whose child has the given value.
///
/// Hostile input is refused: a DOCTYPE (the carrier of external entities and entity
/// expansion bombs) ends reading at once, nothing is ever fetched from the network or the
/// filesystem, and libxml2's own limits on depth and text size stay on.
public final class XMLRecordReader: RecordReader {
    private let spec: MappingSpec
    private let layout: XMLLayout
    private var reader: xmlTextReaderPtr?
    private let context: ReaderContext
    private var assembler: TextFieldAssembler
    /// At most one record ends per step; its view stays valid until the next call.
    private var pendingEvent: RecordEvent?
    private var checkedRoot = false
    private var finished = false

    // Names: every element a path mentions gets an id; libxml2 interns the names of a
    // document, so (local name, namespace) pointers map to ids without making strings.
    private var names: [String: [(namespace: String?, id: Int)]] = [:]
    private var idCache: [ElementKey: Int] = [:]
    private static let idCacheLimit = 4096

    // The paths, as flat tables (plain integers, so walking them costs no reference counting).
    private var shapes: [PathShape] = []
    private var stepIDs: [Int] = []
    private var predicateIDs: [Int] = []
    private var predicateValues: [Set<String>] = []
    private var attributes: [String?] = []
    /// Paths with an element at (depth, id): the only ones an element there can concern;
    /// and the record kinds whose element is there. Indexed by `slot(depth:id:)`.
    private var pathsAt: [[Int]] = []
    private var recordSteps: [[Int]] = []
    private var kindsAt: [[Int]] = []
    private var idCount = 0
    private var maxDepth = 0

    // What each path holds for the current elements.
    private var committed: [String?] = []
    private var pending: [String?] = []
    private var predicateHolds: [Bool] = []

    private var stack: [Frame] = []
    private var stackIDs: [Int] = []

    private struct ElementKey: Hashable {
        let local: UnsafeRawPointer?
        let namespace: UnsafeRawPointer?
    }

    /// One open element.
    private struct Frame {
        var localName: UnsafePointer<xmlChar>?
        var position: Int
        var line: Int
        /// Children seen so far per element id, for positions in messages (`Ntry[3]`).
        var childCounts: [Int: Int] = [:]
        /// Paths whose value is this element's text, and predicate paths that test it.
        var capturing: [Int] = []
        var testing: [Int] = []
        var text: String = ""
    }

    /// A field path compiled to element ids.
    private struct PathShape {
        let kind: Int
        let field: Int
        let stepStart: Int
        let stepCount: Int
        /// The value belongs to the element at this depth (the record, or an enclosing one).
        let scopeDepth: Int
        /// The step with a predicate (0-based), or -1.
        let predicateStep: Int
        let predicateStart: Int
        let predicateCount: Int
    }

    public init(spec: MappingSpec, source: any ByteSource) {
        guard case .xml(let layout) = spec.format else { preconditionFailure("XMLRecordReader needs an XML spec") }
        self.spec = spec
        self.layout = layout
        context = ReaderContext(source: XMLInput(source, limit: spec.maxRecordBytes), limit: spec.maxRecordBytes)
        assembler = TextFieldAssembler(spec: spec)
        compile()
        XMLSafety.install()
        let options = Int32(XML_PARSE_NONET.rawValue) | Int32(XML_PARSE_NOCDATA.rawValue)
        reader = xmlReaderForIO(readCallback, nil, Unmanaged.passUnretained(context).toOpaque(),
                                "file:///reckon-input", nil, options)
        if let reader {
            xmlTextReaderSetStructuredErrorHandler(reader, errorCallback, Unmanaged.passUnretained(context).toOpaque())
        }
    }

    deinit {
        if let reader { xmlFreeTextReader(reader) }
    }

    // MARK: Compilation

    /// Where (depth, id) lives in `pathsAt` and `kindsAt`; nil beyond any path's depth.
    @inline(__always)
    private func slot(depth: Int, id: Int) -> Int? {
        depth <= maxDepth && id >= 0 ? depth * idCount + id : nil
    }

    private func id(for name: XMLName) -> Int {
        var entries = names[name.local] ?? []
        if let found = entries.first(where: { $0.namespace == name.namespace }) { return found.id }
        let newID = names.values.reduce(0) { $0 + $1.count }
        entries.append((name.namespace, newID))
        names[name.local] = entries
        return newID
    }

    private func compile() {
        var pathKeys: [(depth: Int, id: Int, path: Int)] = []
        var kindKeys: [(depth: Int, id: Int, kind: Int)] = []
        for kind in spec.kinds {
            let steps = (kind.xmlPath ?? []).map { id(for: $0.name) }
            recordSteps.append(steps)
            if let last = steps.last { kindKeys.append((steps.count, last, kind.index)) }
            for (f, field) in kind.fields.enumerated() {
                guard case .xml(let alternatives) = field.source else { continue }
                for path in alternatives {
                    let index = shapes.count
                    let predicateStep = path.steps.firstIndex { $0.predicate != nil }
                    let predicate = predicateStep.map { path.steps[$0].predicate! }
                    let ids = path.steps.map { id(for: $0.name) }
                    let testIDs = predicate?.path.map { id(for: $0) } ?? []
                    shapes.append(PathShape(kind: kind.index, field: f, stepStart: stepIDs.count, stepCount: ids.count,
                                            scopeDepth: path.scopeDepth, predicateStep: predicateStep ?? -1,
                                            predicateStart: predicateIDs.count, predicateCount: testIDs.count))
                    stepIDs += ids
                    predicateIDs += testIDs
                    predicateValues.append(Set(predicate?.values ?? []))
                    attributes.append(path.attribute)
                    for (offset, element) in ids.enumerated() { pathKeys.append((offset + 1, element, index)) }
                    if let p = predicateStep, let last = testIDs.last {
                        pathKeys.append((p + 1 + testIDs.count, last, index))
                    }
                }
            }
        }
        idCount = names.values.reduce(0) { $0 + $1.count }
        maxDepth = max(pathKeys.map(\.depth).max() ?? 0, kindKeys.map(\.depth).max() ?? 0)
        pathsAt = Array(repeating: [], count: (maxDepth + 1) * max(idCount, 1))
        kindsAt = pathsAt
        for key in pathKeys {
            let at = slot(depth: key.depth, id: key.id)!
            if pathsAt[at].last != key.path { pathsAt[at].append(key.path) }
        }
        for key in kindKeys { kindsAt[slot(depth: key.depth, id: key.id)!].append(key.kind) }
        committed = Array(repeating: nil, count: shapes.count)
        pending = Array(repeating: nil, count: shapes.count)
        predicateHolds = Array(repeating: false, count: shapes.count)
    }

    /// The id of an element as the document names it, or -1 when no path mentions it.
    private func elementID(local: UnsafePointer<xmlChar>?, namespace: UnsafePointer<xmlChar>?) -> Int {
        let key = ElementKey(local: UnsafeRawPointer(local), namespace: UnsafeRawPointer(namespace))
        if let cached = idCache[key] { return cached }
        let localName = local.map { String(cString: $0) } ?? ""
        let namespaceName = namespace.map { String(cString: $0) }
        var found = -1
        for entry in names[localName] ?? [] {
            if let wanted = entry.namespace {
                if wanted == namespaceName { found = entry.id; break }
            } else if layout.namespaces.isEmpty ? (namespaceName ?? "").isEmpty : layout.namespaces.contains(namespaceName ?? "") {
                found = entry.id
                break
            }
        }
        // Bounded: a hostile document with endless distinct names gets no more cache.
        if idCache.count < Self.idCacheLimit { idCache[key] = found }
        return found
    }

    /// The open elements' ids from the root match `steps[start..<start+count]`.
    @inline(__always)
    private func stackMatches(_ start: Int, _ count: Int) -> Bool {
        guard stackIDs.count >= count else { return false }
        for index in 0..<count where stackIDs[index] != stepIDs[start + index] { return false }
        return true
    }

    // MARK: Reading

    public func next() throws(FileFailure) -> RecordEvent? {
        while pendingEvent == nil {
            if finished { return nil }
            try step()
        }
        defer { pendingEvent = nil }
        return pendingEvent
    }

    private func step() throws(FileFailure) {
        // libxml2 reads the first bytes while it creates the reader; what was refused then
        // (not XML, a bad OFX header) is said here.
        if let failure = context.failure { throw failure }
        guard let reader else {
            throw FileFailure(location: nil, reason: "libxml2 could not create a reader")
        }
        let status = xmlTextReaderRead(reader)
        if let failure = context.failure { throw failure }
        if status == 0 {
            finished = true
            if !checkedRoot {
                throw FileFailure(location: nil, reason: "the file is empty: no XML document in it")
            }
            return
        }
        if status < 0 && context.reachedEnd && context.bytesRead == 0 {
            throw FileFailure(location: nil, reason: "the file is empty: no XML document in it")
        }
        if status < 0 {
            let location = RecordLocation(line: context.errorLine ?? Int(xmlTextReaderGetParserLineNumber(reader)), byteOffset: 0)
            let detail = context.errorMessage ?? "libxml2 gave up"
            // Input that ran out with elements still open is a truncated file, whatever
            // libxml2 makes of the last bytes.
            if context.reachedEnd, let open = stack.last?.localName.map({ String(cString: $0) }) {
                throw FileFailure(location: location,
                                  reason: "the file ends inside <\(open)> (truncated?); libxml2 says: \(detail)")
            }
            throw FileFailure(location: location, reason: "not well-formed XML: \(detail)")
        }
        switch xmlTextReaderNodeType(reader) {
        case Int32(XML_READER_TYPE_ELEMENT.rawValue):
            let line = nodeLine(reader)
            let local = xmlTextReaderConstLocalName(reader)
            let namespace = xmlTextReaderConstNamespaceUri(reader)
            if !checkedRoot {
                checkedRoot = true
                try checkRoot(local: local, namespace: namespace, line: line)
            }
            let empty = xmlTextReaderIsEmptyElement(reader) == 1
            start(elementID(local: local, namespace: namespace), localName: local, line: line)
            if empty { end() }
        case Int32(XML_READER_TYPE_END_ELEMENT.rawValue):
            end()
        case Int32(XML_READER_TYPE_TEXT.rawValue), Int32(XML_READER_TYPE_CDATA.rawValue),
             Int32(XML_READER_TYPE_SIGNIFICANT_WHITESPACE.rawValue):
            let top = stack.count - 1
            guard top >= 0, !(stack[top].capturing.isEmpty && stack[top].testing.isEmpty),
                  let value = xmlTextReaderConstValue(reader) else { return }
            stack[top].text += String(cString: value)
            if stack[top].text.utf8.count > spec.maxRecordBytes {
                let name = stack[top].localName.map { String(cString: $0) } ?? "?"
                throw FileFailure(location: RecordLocation(line: nodeLine(reader), byteOffset: 0),
                                  reason: "a value in <\(name)> is longer than \(spec.maxRecordBytes) bytes")
            }
        case Int32(XML_READER_TYPE_DOCUMENT_TYPE.rawValue):
            throw FileFailure(location: RecordLocation(line: nodeLine(reader), byteOffset: 0),
                              reason: "the file has a DOCTYPE; reckon refuses DTDs and entity declarations (external entities, entity expansion)")
        case Int32(XML_READER_TYPE_ENTITY_REFERENCE.rawValue), Int32(XML_READER_TYPE_ENTITY.rawValue):
            throw FileFailure(location: RecordLocation(line: nodeLine(reader), byteOffset: 0),
                              reason: "the file uses an entity reference; reckon refuses entities")
        default:
            return
        }
    }

    /// The node's own line: the parser's position runs ahead of the reader.
    private func nodeLine(_ reader: xmlTextReaderPtr) -> Int {
        if let node = xmlTextReaderCurrentNode(reader) {
            let line = Int(xmlGetLineNo(node))
            if line > 0 { return line }
        }
        return Int(xmlTextReaderGetParserLineNumber(reader))
    }

    private func checkRoot(local: UnsafePointer<xmlChar>?, namespace: UnsafePointer<xmlChar>?, line: Int) throws(FileFailure) {
        let namespaceName = namespace.map { String(cString: $0) } ?? ""
        guard layout.namespaces.isEmpty || layout.namespaces.contains(namespaceName) else {
            let name = local.map { String(cString: $0) } ?? "?"
            throw FileFailure(location: RecordLocation(line: line, byteOffset: 0),
                              reason: "the document <\(name)> is in namespace '\(namespaceName)'; this spec reads \(layout.namespaces.joined(separator: ", "))")
        }
    }

    private func start(_ id: Int, localName: UnsafePointer<xmlChar>?, line: Int) {
        var position = 1
        if let parent = stack.indices.last, id >= 0 {
            position = (stack[parent].childCounts[id] ?? 0) + 1
            stack[parent].childCounts[id] = position
        }
        stack.append(Frame(localName: localName, position: position, line: line))
        stackIDs.append(id)
        let depth = stack.count
        guard let at = slot(depth: depth, id: id) else { return }
        for index in pathsAt[at] {
            let shape = shapes[index]
            // A new instance of the element that owns the value: forget the previous one's.
            if depth == shape.scopeDepth && stackMatches(shape.stepStart, depth) {
                committed[index] = nil
            }
            let p = shape.predicateStep
            if p >= 0 {
                if depth == p + 1 && stackMatches(shape.stepStart, depth) {
                    pending[index] = nil
                    predicateHolds[index] = false
                }
                if depth == p + 1 + shape.predicateCount && stackMatches(shape.stepStart, p + 1)
                    && (0..<shape.predicateCount).allSatisfy({ stackIDs[p + 1 + $0] == predicateIDs[shape.predicateStart + $0] }) {
                    stack[depth - 1].testing.append(index)
                }
            }
            guard depth == shape.stepCount && stackMatches(shape.stepStart, depth) else { continue }
            if let attribute = attributes[index] {
                if let reader, let value = xmlTextReaderGetAttribute(reader, attribute) {
                    deliver(String(cString: value), to: index)
                    free(value)  // libxml2 allocates with malloc unless an app swaps its allocator
                }
            } else {
                stack[depth - 1].capturing.append(index)
            }
        }
    }

    private func end() {
        guard let frame = stack.last else { return }
        let depth = stack.count
        let id = stackIDs[depth - 1]
        if id >= 0 {
            for index in frame.capturing { deliver(frame.text, to: index) }
            if !frame.testing.isEmpty {
                let value = frame.text.trimmingSpace()
                for index in frame.testing where predicateValues[index].contains(value) {
                    predicateHolds[index] = true
                }
            }
            let at = slot(depth: depth, id: id)
            for index in at.map({ pathsAt[$0] }) ?? [] {
                let shape = shapes[index]
                guard shape.predicateStep + 1 == depth, stackMatches(shape.stepStart, depth) else { continue }
                if predicateHolds[index], committed[index] == nil, let value = pending[index] {
                    committed[index] = value
                }
                pending[index] = nil
                predicateHolds[index] = false
            }
            for kindIndex in at.map({ kindsAt[$0] }) ?? [] {
                let steps = recordSteps[kindIndex]
                guard zip(stackIDs, steps).allSatisfy({ $0 == $1 }) else { continue }
                precondition(pendingEvent == nil, "two record kinds end at one element")
                pendingEvent = emit(spec.kinds[kindIndex], line: frame.line)
            }
        }
        stack.removeLast()
        stackIDs.removeLast()
    }

    private func deliver(_ value: String, to index: Int) {
        // An element holding only children (and the whitespace between them) has no value
        // of its own; leave the slot for an alternative path.
        if value.allSatisfy({ $0 == " " || $0 == "\n" || $0 == "\t" || $0 == "\r" || $0 == "\r\n" }) { return }
        if shapes[index].predicateStep >= 0 {
            if pending[index] == nil { pending[index] = value }
        } else if committed[index] == nil {
            committed[index] = value
        }
    }

    private func emit(_ kind: RecordKind, line: Int) -> RecordEvent {
        // Positions are shown from the second sibling on: /Stmt/Ntry, /Stmt/Ntry[2].
        let xmlPath = "/" + stack.map { frame -> String in
            let name = frame.localName.map { String(cString: $0) } ?? "?"
            return frame.position > 1 ? "\(name)[\(frame.position)]" : name
        }.joined(separator: "/")
        let location = RecordLocation(line: line, byteOffset: 0, xmlPath: xmlPath)
        var values: [String?] = Array(repeating: nil, count: kind.fields.count)
        // Which path alternative each value came from (shapes are in alternative order).
        var alternatives = [Int](repeating: 0, count: kind.fields.count)
        var seen = alternatives
        let recordDepth = recordSteps[kind.index].count
        for index in shapes.indices where shapes[index].kind == kind.index {
            let field = shapes[index].field
            defer { seen[field] += 1 }
            if values[field] == nil, let value = committed[index] { values[field] = value; alternatives[field] = seen[field] }
            // Values owned by the record itself are done with once it is emitted.
            if shapes[index].scopeDepth >= recordDepth { committed[index] = nil }
        }
        return assembler.event(kind, values: values, alternatives: alternatives, location: location)
    }
}

extension String {
    fileprivate func trimmingSpace() -> String {
        var s = Substring(self)
        while let c = s.first, c == " " || c == "\n" || c == "\t" || c == "\r" { s.removeFirst() }
        while let c = s.last, c == " " || c == "\n" || c == "\t" || c == "\r" { s.removeLast() }
        return String(s)
    }
}

/// State the C callbacks reach through their context pointer.
private final class ReaderContext {
    var source: any ByteSource
    let limit: Int
    var failure: FileFailure?
    /// The source has returned its last byte.
    var reachedEnd = false
    /// Bytes the source has handed over so far.
    var bytesRead = 0
    var errorMessage: String?
    var errorLine: Int?

    init(source: any ByteSource, limit: Int) {
        self.source = source
        self.limit = limit
    }
}

private let readCallback: xmlInputReadCallback = { context, buffer, length in
    guard let context, let buffer, length > 0 else { return -1 }
    let box = Unmanaged<ReaderContext>.fromOpaque(context).takeUnretainedValue()
    do {
        let count = try box.source.read(into: UnsafeMutableRawBufferPointer(start: buffer, count: Int(length)))
        if count == 0 { box.reachedEnd = true }
        box.bytesRead += count
        return Int32(count)
    } catch let failure as FileFailure {
        box.failure = failure  // what the input said it is (XMLInput)
        return -1
    } catch {
        box.failure = FileFailure(location: nil, reason: "reading failed: \(error)")
        return -1
    }
}

private let errorCallback: xmlStructuredErrorFunc = { context, error in
    guard let context, let error else { return }
    let box = Unmanaged<ReaderContext>.fromOpaque(context).takeUnretainedValue()
    // Keep the first error: later ones are usually its consequences.
    guard box.errorMessage == nil, error.pointee.level.rawValue >= XML_ERR_ERROR.rawValue else { return }
    var message = error.pointee.message.map { String(cString: $0) } ?? "unknown error"
    while message.hasSuffix("\n") { message.removeLast() }
    // One line, for a log: libxml2 puts the bytes it quotes on a line of their own.
    box.errorMessage = message.split(separator: "\n").joined(separator: " ")
    box.errorLine = Int(error.pointee.line)
}

/// Process-wide libxml2 settings that keep it from touching anything outside the file.
enum XMLSafety {
    private static let installed: Bool = {
        xmlInitParser()
        // No external entity, DTD or XInclude is ever loaded, whatever a document asks for.
        xmlSetExternalEntityLoader { _, _, _ in nil }
        return true
    }()

    static func install() { _ = installed }
}

