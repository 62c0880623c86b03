import CLibXML2
#if canImport(Glibc)
import Glibc
#endif
import ReckonCore

/// Reads XML files (ISO 20022 camt.053 and kin) through libxml2's streaming reader
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
    private var names: [String: [(namespace: String?, id: Int)]] = [:]
    private var recordPaths: [[Int]] = []
    private var paths: [CompiledPath] = []
    private var stack: [Frame] = []
    /// At most one record ends per step; its view stays valid until the next call.
    private var pendingEvent: RecordEvent?
    private var checkedRoot = false
    private var finished = false

    /// One open element.
    private struct Frame {
        var id: Int
        var name: String
        /// Same-named children seen so far, for positions in messages (`Ntry[3]`).
        var childCounts: [String: Int] = [:]
        var position: Int
        var line: Int
        /// Paths whose value is this element's text, and predicate paths that test it.
        var capturing: [Int] = []
        var testing: [Int] = []
        var text: String = ""
    }

    /// A field path compiled to element ids.
    private struct CompiledPath {
        let kind: Int
        let field: Int
        let alternative: Int
        let steps: [Int]
        let attribute: String?
        let scopeDepth: Int
        let predicateStep: Int?
        let predicatePath: [Int]
        let predicateValues: Set<String>
        var committed: String?
        var pending: String?
        var predicateHolds = false
    }

    public init(spec: MappingSpec, source: any ByteSource) {
        guard case .xml(let layout) = spec.format else { preconditionFailure("XMLRecordReader needs an XML spec") }
        self.spec = spec
        self.layout = layout
        context = ReaderContext(source: source, limit: spec.maxRecordBytes)
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

    private func id(for name: XMLName) -> Int {
        var entries = names[name.local] ?? []
        if let found = entries.first(where: { $0.namespace == name.namespace }) { return found.id }
        let newID = names.values.reduce(0) { $0 + $1.count }
        entries.append((name.namespace, newID))
        names[name.local] = entries
        return newID
    }

    private func compile() {
        for kind in spec.kinds {
            recordPaths.append((kind.xmlPath ?? []).map { id(for: $0.name) })
            for (f, field) in kind.fields.enumerated() {
                guard case .xml(let alternatives) = field.source else { continue }
                for (a, path) in alternatives.enumerated() {
                    let predicateStep = path.steps.firstIndex { $0.predicate != nil }
                    let predicate = predicateStep.map { path.steps[$0].predicate! }
                    paths.append(CompiledPath(
                        kind: kind.index, field: f, alternative: a,
                        steps: path.steps.map { id(for: $0.name) },
                        attribute: path.attribute, scopeDepth: path.scopeDepth,
                        predicateStep: predicateStep,
                        predicatePath: predicate?.path.map { id(for: $0) } ?? [],
                        predicateValues: Set(predicate?.values ?? [])))
                }
            }
        }
    }

    /// The id of an element as the document names it, or -1 when no path mentions it.
    private func elementID(local: String, namespace: String?) -> Int {
        guard let entries = names[local] else { return -1 }
        for entry in entries {
            if let wanted = entry.namespace {
                if wanted == namespace { return entry.id }
            } else if layout.namespaces.isEmpty ? (namespace == nil || namespace == "") : layout.namespaces.contains(namespace ?? "") {
                return entry.id
            }
        }
        return -1
    }

    @inline(__always)
    private func stackMatches(_ steps: [Int], count: Int) -> Bool {
        guard stack.count >= count, steps.count >= count else { return false }
        for index in 0..<count where stack[index].id != steps[index] { return false }
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
        if status < 0 {
            throw FileFailure(location: RecordLocation(line: context.errorLine ?? Int(xmlTextReaderGetParserLineNumber(reader)), byteOffset: 0),
                              reason: "not well-formed XML: \(context.errorMessage ?? "libxml2 gave up")")
        }
        // The node's own line: the parser's position runs ahead of the reader.
        let node = xmlTextReaderCurrentNode(reader)
        let line = node.map { Int(xmlGetLineNo($0)) }.flatMap { $0 > 0 ? $0 : nil } ?? Int(xmlTextReaderGetParserLineNumber(reader))
        switch xmlTextReaderNodeType(reader) {
        case Int32(XML_READER_TYPE_ELEMENT.rawValue):
            let local = string(xmlTextReaderConstLocalName(reader)) ?? ""
            let namespace = string(xmlTextReaderConstNamespaceUri(reader))
            if !checkedRoot {
                checkedRoot = true
                try checkRoot(local: local, namespace: namespace, line: line)
            }
            let empty = xmlTextReaderIsEmptyElement(reader) == 1
            try start(local: local, namespace: namespace, line: line)
            if empty { end(line: line) }
        case Int32(XML_READER_TYPE_END_ELEMENT.rawValue):
            end(line: line)
        case Int32(XML_READER_TYPE_TEXT.rawValue), Int32(XML_READER_TYPE_CDATA.rawValue),
             Int32(XML_READER_TYPE_SIGNIFICANT_WHITESPACE.rawValue):
            guard var frame = stack.last, !(frame.capturing.isEmpty && frame.testing.isEmpty) else { return }
            frame.text += string(xmlTextReaderConstValue(reader)) ?? ""
            if frame.text.utf8.count > spec.maxRecordBytes {
                throw FileFailure(location: RecordLocation(line: line, byteOffset: 0),
                                  reason: "a value in <\(frame.name)> is longer than \(spec.maxRecordBytes) bytes")
            }
            stack[stack.count - 1] = frame
        case Int32(XML_READER_TYPE_DOCUMENT_TYPE.rawValue):
            throw FileFailure(location: RecordLocation(line: line, byteOffset: 0),
                              reason: "the file has a DOCTYPE; reckon refuses DTDs and entity declarations (external entities, entity expansion)")
        case Int32(XML_READER_TYPE_ENTITY_REFERENCE.rawValue), Int32(XML_READER_TYPE_ENTITY.rawValue):
            throw FileFailure(location: RecordLocation(line: line, byteOffset: 0),
                              reason: "the file uses an entity reference; reckon refuses entities")
        default:
            return
        }
    }

    private func checkRoot(local: String, namespace: String?, line: Int) throws(FileFailure) {
        let namespace = namespace ?? ""
        guard layout.namespaces.isEmpty || layout.namespaces.contains(namespace) else {
            throw FileFailure(location: RecordLocation(line: line, byteOffset: 0),
                              reason: "the document <\(local)> is in namespace '\(namespace)'; this spec reads \(layout.namespaces.joined(separator: ", "))")
        }
    }

    private func start(local: String, namespace: String?, line: Int) throws(FileFailure) {
        let position: Int
        if stack.isEmpty {
            position = 1
        } else {
            position = (stack[stack.count - 1].childCounts[local] ?? 0) + 1
            stack[stack.count - 1].childCounts[local] = position
        }
        stack.append(Frame(id: elementID(local: local, namespace: namespace), name: local, position: position, line: line))
        let depth = stack.count
        guard stack[depth - 1].id >= 0 else { return }
        for index in paths.indices {
            let path = paths[index]
            // A new instance of the element that owns the value: forget the previous one's.
            if depth == path.scopeDepth && stackMatches(path.steps, count: depth) {
                paths[index].committed = nil
            }
            if let p = path.predicateStep {
                if depth == p + 1 && stackMatches(path.steps, count: depth) {
                    paths[index].pending = nil
                    paths[index].predicateHolds = false
                }
                if depth == p + 1 + path.predicatePath.count && stackMatches(path.steps, count: p + 1)
                    && zip(stack[(p + 1)...], path.predicatePath).allSatisfy({ $0.id == $1 }) {
                    stack[depth - 1].testing.append(index)
                }
            }
            guard depth == path.steps.count && stackMatches(path.steps, count: depth) else { continue }
            if let attribute = path.attribute {
                if let reader, let value = xmlTextReaderGetAttribute(reader, attribute) {
                    deliver(String(cString: value), to: index)
                    free(value)  // libxml2 allocates with malloc unless an app swaps its allocator
                }
            } else {
                stack[depth - 1].capturing.append(index)
            }
        }
    }

    private func end(line: Int) {
        guard let frame = stack.last else { return }
        let depth = stack.count
        if frame.id >= 0 {
            for index in frame.capturing { deliver(frame.text, to: index) }
            if !frame.testing.isEmpty {
                let value = frame.text.trimmingSpace()
                for index in frame.testing where paths[index].predicateValues.contains(value) {
                    paths[index].predicateHolds = true
                }
            }
            for index in paths.indices {
                guard let p = paths[index].predicateStep, depth == p + 1,
                      stackMatches(paths[index].steps, count: depth) else { continue }
                if paths[index].predicateHolds, paths[index].committed == nil, let value = paths[index].pending {
                    paths[index].committed = value
                }
                paths[index].pending = nil
                paths[index].predicateHolds = false
            }
            for kind in spec.kinds where recordPaths[kind.index].count == depth
                && stackMatches(recordPaths[kind.index], count: depth) {
                precondition(pendingEvent == nil, "two record kinds end at one element")
                pendingEvent = emit(kind, line: frame.line)
            }
        }
        stack.removeLast()
    }

    private func deliver(_ value: String, to index: Int) {
        // An element holding only children (and the whitespace between them) has no value
        // of its own; leave the slot for an alternative path.
        if value.allSatisfy({ $0 == " " || $0 == "\n" || $0 == "\t" || $0 == "\r" || $0 == "\r\n" }) { return }
        if paths[index].predicateStep != nil {
            if paths[index].pending == nil { paths[index].pending = value }
        } else if paths[index].committed == nil {
            paths[index].committed = value
        }
    }

    private func emit(_ kind: RecordKind, line: Int) -> RecordEvent {
        // Positions are shown from the second sibling on: /Stmt/Ntry, /Stmt/Ntry[2].
        let xmlPath = "/" + stack.map { $0.position > 1 ? "\($0.name)[\($0.position)]" : $0.name }.joined(separator: "/")
        let location = RecordLocation(line: line, byteOffset: 0, xmlPath: xmlPath)
        var values: [String?] = Array(repeating: nil, count: kind.fields.count)
        for path in paths where path.kind == kind.index {
            if values[path.field] == nil, let value = path.committed { values[path.field] = value }
        }
        // Values owned by the record itself are done with once it is emitted.
        for index in paths.indices where paths[index].kind == kind.index
            && paths[index].scopeDepth >= recordPaths[kind.index].count {
            paths[index].committed = nil
        }
        return assembler.event(kind, values: values, location: location)
    }

    private func string(_ pointer: UnsafePointer<xmlChar>?) -> String? {
        guard let pointer else { return nil }
        return String(cString: pointer)
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
        return Int32(try box.source.read(into: UnsafeMutableRawBufferPointer(start: buffer, count: Int(length))))
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
    box.errorMessage = message
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

