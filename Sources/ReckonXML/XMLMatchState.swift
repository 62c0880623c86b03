import CLibXML2
#if canImport(Glibc)
import Glibc
#endif
import ReckonCore

/// A record the parser completed, waiting for `XMLRecordReader.next()`.
struct QueuedRecord {
    let kind: Int
    let values: [String?]
    /// Which path alternative each value came from (0: the first, or none).
    let alternatives: [Int]
    let location: RecordLocation
}

/// What the SAX callbacks match elements against, and what they hold while they do.
///
/// Every field path of a spec is absolute once `..` is resolved, so the paths form one trie
/// of element ids from the document's root; each open element sits on a trie node (or on
/// none, and then neither do its descendants), and each node lists what happens when an
/// element on it starts and ends. Elements, values and positions are plain integers and
/// byte buffers: no string is made per element, only per value a spec names.
///
/// The state lives behind a pointer that libxml2 hands back to every callback; it is a
/// struct so that its tables are reached without reference counting or exclusivity checks.
struct XMLMatchState {
    // Set and read by the reader.
    var parser: xmlParserCtxtPtr?
    var bytesRead = 0
    /// reckon's own refusal (namespace, a value too long, an entity, too deep).
    var failure: FileFailure?
    var errorMessage: String?
    var errorLine: Int?
    var sawDoctype = false
    /// The root element's line, when the document has a DOCTYPE.
    var doctypeLine: Int?
    var sawRoot = false
    /// After a refusal nothing more is looked at.
    private var ignoring = false

    private let kinds: [RecordKind]
    private let namespaces: [String]
    private let maxValueBytes: Int

    // Names: every element a path mentions gets an id.
    private var names: [String: [(namespace: String?, id: Int)]] = [:]
    /// The local name of each id, for record paths in messages.
    private var idNames: [String] = []
    private var idCount = 0
    private var maxDepth = 0
    private var idCache: ElementIDCache

    // The trie: node 0 is the document (depth 0); `children[node * idCount + id]` is the
    // node of an element with that id inside an element on `node`, or -1.
    private var children: [Int32] = []
    private var onStart: [NodeActions] = []
    private var actionItems: [Int32] = []

    // The paths (one per field path alternative).
    private var pathKind: [Int] = []
    private var pathField: [Int] = []
    private var pathScopeDepth: [Int] = []
    private var pathHasPredicate: [Bool] = []
    private var predicateValues: [Set<String>] = []
    private var attributeNames: [[CChar]?] = []
    private var attributePrefixes: [[CChar]?] = []
    private var kindPaths: [[Int]] = []
    private var kindDepth: [Int] = []

    // What each path holds for the current elements.
    private var committed: [String?] = []
    private var pending: [String?] = []
    private var predicateHolds: [Bool] = []

    // The open elements.
    /// At most `maxOpenElements`, so a buffer of fixed size (no reference counting or
    /// uniqueness checks per element).
    private let frames: UnsafeMutablePointer<Frame>
    private var openCount = 0
    static let maxOpenElements = 257
    /// Paths capturing the text of an open element, and predicate paths testing it; each
    /// frame owns the tail from its start.
    private var capturing: [Int32] = []
    private var testing: [Int32] = []
    /// The text of collecting elements; each owns the tail from its start (a collecting
    /// child's text is removed when it ends, so its parent's stays contiguous).
    private var text: [UInt8] = []
    private var serial = 0
    /// `/Doc/Stmt[2]` per depth, valid while the stamp is the serial of the element there.
    private var pathText: [String] = []
    private var pathStamp: [Int] = []

    private var queue: [QueuedRecord] = []
    private var queueHead = 0

    private struct Frame {
        var node: Int32
        var id: Int32
        var position: Int32
        var collects: Bool
        var line: Int
        var serial: Int
        var localName: UnsafePointer<xmlChar>?
        var captureStart: Int
        var testStart: Int
        var textStart: Int
    }

    /// Ranges in the action table.
    private struct NodeActions {
        var resets = 0..<0
        var predicateStarts = 0..<0
        var tests = 0..<0
        var captures = 0..<0
        var attributes = 0..<0
        var predicateEnds = 0..<0
        var kinds = 0..<0
    }

    init(spec: MappingSpec, layout: XMLLayout) {
        kinds = spec.kinds
        namespaces = layout.namespaces
        maxValueBytes = spec.maxRecordBytes
        idCache = ElementIDCache()
        frames = .allocate(capacity: Self.maxOpenElements + 1)
        compile()
        childTable = UnsafeMutableBufferPointer.allocate(capacity: children.count)
        _ = childTable.initialize(from: children)
        onStartTable = UnsafeMutableBufferPointer.allocate(capacity: onStart.count)
        _ = onStartTable.initialize(from: onStart)
        actionTable = UnsafeMutableBufferPointer.allocate(capacity: max(actionItems.count, 1))
        _ = actionTable.initialize(from: actionItems)
        positionStamps = UnsafeMutableBufferPointer.allocate(capacity: (maxDepth + 1) * idCount)
        positionStamps.initialize(repeating: -1)
        positionCounts = UnsafeMutableBufferPointer.allocate(capacity: (maxDepth + 1) * idCount)
        positionCounts.initialize(repeating: 0)
        children = []
        onStart = []
        actionItems = []
    }

    /// Frees the fixed buffers; the state is not used after.
    func releaseStorage() {
        frames.deallocate()
        idCache.release()
        childTable.deallocate()
        onStartTable.deallocate()
        actionTable.deallocate()
        positionStamps.deallocate()
        positionCounts.deallocate()
    }

    // The compiled tables, copied to fixed buffers for the callbacks.
    private var childTable: UnsafeMutableBufferPointer<Int32> = .init(start: nil, count: 0)
    private var onStartTable: UnsafeMutableBufferPointer<NodeActions> = .init(start: nil, count: 0)
    private var actionTable: UnsafeMutableBufferPointer<Int32> = .init(start: nil, count: 0)
    /// Sibling positions (`Ntry[3]`): the count of elements with an id at a depth, valid
    /// while the stamp is the serial of the parent element.
    private var positionStamps: UnsafeMutableBufferPointer<Int> = .init(start: nil, count: 0)
    private var positionCounts: UnsafeMutableBufferPointer<Int32> = .init(start: nil, count: 0)

    // MARK: Compilation

    private mutating func id(for name: XMLName) -> Int {
        var entries = names[name.local] ?? []
        if let found = entries.first(where: { $0.namespace == name.namespace }) { return found.id }
        let newID = names.values.reduce(0) { $0 + $1.count }
        entries.append((name.namespace, newID))
        names[name.local] = entries
        return newID
    }

    private mutating func compile() {
        // Ids first, so the trie's table can be laid out.
        let kinds = self.kinds
        var mainSteps: [[Int]] = []
        var testSteps: [[Int]?] = []
        var predicateSteps: [Int] = []
        for kind in kinds {
            let steps = (kind.xmlPath ?? []).map { id(for: $0.name) }
            kindPaths.append([])
            kindDepth.append(steps.count)
            for (f, field) in kind.fields.enumerated() {
                guard case .xml(let alternatives) = field.source else { continue }
                for path in alternatives {
                    kindPaths[kind.index].append(pathKind.count)
                    let ids = path.steps.map { id(for: $0.name) }
                    let p = path.steps.firstIndex { $0.predicate != nil }
                    let predicate = p.map { path.steps[$0].predicate! }
                    pathKind.append(kind.index)
                    pathField.append(f)
                    pathScopeDepth.append(path.scopeDepth)
                    pathHasPredicate.append(p != nil)
                    predicateValues.append(Set(predicate?.values ?? []))
                    let attribute = path.attribute.map { Self.splitQName($0) }
                    attributeNames.append(attribute.map { Array($0.local.utf8CString) })
                    attributePrefixes.append(attribute?.prefix.map { Array($0.utf8CString) })
                    mainSteps.append(ids)
                    predicateSteps.append(p ?? -1)
                    var test: [Int]?
                    if let p, let predicate {
                        test = Array(ids[...p])
                        for name in predicate.path { test!.append(id(for: name)) }
                    }
                    testSteps.append(test)
                }
            }
        }
        idCount = max(names.values.reduce(0) { $0 + $1.count }, 1)
        idNames = Array(repeating: "?", count: idCount)
        for (local, entries) in names { for entry in entries { idNames[entry.id] = local } }
        let recordSteps = kinds.map { kind in (kind.xmlPath ?? []).map { id(for: $0.name) } }

        var nodeCount = 1
        var lists: [[[Int]]] = [Array(repeating: [], count: 7)]
        func node(_ steps: ArraySlice<Int>) -> Int {
            var at = 0
            for step in steps {
                let slot = at * idCount + step
                if children[slot] < 0 {
                    children[slot] = Int32(nodeCount)
                    children += Array(repeating: -1, count: idCount)
                    lists.append(Array(repeating: [], count: 7))
                    nodeCount += 1
                }
                at = Int(children[slot])
            }
            return at
        }
        children = Array(repeating: -1, count: idCount)
        // Action lists, in the order they run: resets, predicate starts, tests, captures,
        // attributes on start; predicate ends and records on end.
        for index in mainSteps.indices {
            let steps = mainSteps[index]
            maxDepth = max(maxDepth, steps.count)
            let scope = pathScopeDepth[index]
            if scope >= 1 {
                let at = node(steps[..<scope])
                lists[at][0].append(index)
            }
            let p = predicateSteps[index]
            if p >= 0 {
                let at = node(steps[...p])
                lists[at][1].append(index)
                lists[at][5].append(index)
                let test = testSteps[index]!
                maxDepth = max(maxDepth, test.count)
                let tested = node(test[...])
                lists[tested][2].append(index)
            }
            let at = node(steps[...])
            lists[at][attributeNames[index] == nil ? 3 : 4].append(index)
        }
        for (kindIndex, steps) in recordSteps.enumerated() where !steps.isEmpty {
            maxDepth = max(maxDepth, steps.count)
            let at = node(steps[...])
            lists[at][6].append(kindIndex)
        }
        for list in lists {
            var actions = NodeActions()
            func add(_ items: [Int]) -> Range<Int> {
                let start = actionItems.count
                actionItems += items.map { Int32($0) }
                return start..<actionItems.count
            }
            actions.resets = add(list[0])
            actions.predicateStarts = add(list[1])
            actions.tests = add(list[2])
            actions.captures = add(list[3])
            actions.attributes = add(list[4])
            actions.predicateEnds = add(list[5])
            actions.kinds = add(list[6])
            onStart.append(actions)
        }
        committed = Array(repeating: nil, count: pathKind.count)
        pending = committed
        predicateHolds = Array(repeating: false, count: pathKind.count)
        pathText = Array(repeating: "", count: maxDepth + 1)
        pathStamp = Array(repeating: -1, count: maxDepth + 1)
    }

    private static func splitQName(_ name: String) -> (prefix: String?, local: String) {
        guard let colon = name.firstIndex(of: ":") else { return (nil, name) }
        return (String(name[..<colon]), String(name[name.index(after: colon)...]))
    }

    /// The id of an element as the document names it, or -1 when no path mentions it.
    private mutating func elementID(local: UnsafePointer<xmlChar>?, namespace: UnsafePointer<xmlChar>?) -> Int {
        if let cached = idCache.lookup(local, namespace) { return cached }
        let localName = local.map { String(cString: $0) } ?? ""
        let namespaceName = namespace.map { String(cString: $0) }
        var found = -1
        for entry in names[localName] ?? [] {
            if let wanted = entry.namespace {
                if wanted == namespaceName { found = entry.id; break }
            } else if namespaces.isEmpty ? (namespaceName ?? "").isEmpty : namespaces.contains(namespaceName ?? "") {
                found = entry.id
                break
            }
        }
        idCache.store(local, namespace, found)
        return found
    }

    // MARK: Parsing

    var parserLine: Int {
        guard let input = parser?.pointee.input else { return 0 }
        return Int(input.pointee.line)
    }

    /// The innermost open element's name, for a truncated file's message.
    var openElementName: String? {
        openCount == 0 ? nil : frames[openCount - 1].localName.map { String(cString: $0) } ?? "?"
    }

    mutating func fail(reason: String) {
        guard failure == nil, !ignoring else { return }
        failure = FileFailure(location: RecordLocation(line: parserLine, byteOffset: 0), reason: reason)
        ignoring = true
        if let parser { xmlStopParser(parser) }
    }

    mutating func popRecord() -> QueuedRecord? {
        if queueHead < queue.count {
            queueHead += 1
            return queue[queueHead - 1]
        }
        if !queue.isEmpty {
            queue.removeAll(keepingCapacity: true)
            queueHead = 0
        }
        return nil
    }

    mutating func start(local: UnsafePointer<xmlChar>?, namespace: UnsafePointer<xmlChar>?,
                        attributeCount: Int, attributes: UnsafeMutablePointer<UnsafePointer<xmlChar>?>?) {
        if ignoring { return }
        let line = parserLine
        let depth = openCount + 1
        if !sawRoot {
            sawRoot = true
            if sawDoctype {
                doctypeLine = line
                ignoring = true
                return
            }
            let namespaceName = namespace.map { String(cString: $0) } ?? ""
            guard namespaces.isEmpty || namespaces.contains(namespaceName) else {
                let name = local.map { String(cString: $0) } ?? "?"
                fail(reason: "the document <\(name)> is in namespace '\(namespaceName)'; this spec reads \(namespaces.joined(separator: ", "))")
                return
            }
        }
        // libxml2's tree builder stops here; without a tree, reckon keeps the same limit.
        if depth > Self.maxOpenElements {
            guard failure == nil else { return }
            failure = FileFailure(location: RecordLocation(line: line, byteOffset: 0),
                                  reason: "not well-formed XML: Excessive depth in document: 256 use XML_PARSE_HUGE option")
            ignoring = true
            if let parser { xmlStopParser(parser) }
            return
        }
        serial += 1
        let parentNode = openCount == 0 ? 0 : frames[openCount - 1].node
        var id = -1
        var node: Int32 = -1
        var position: Int32 = 1
        if parentNode >= 0 && depth <= maxDepth {
            id = elementID(local: local, namespace: namespace)
            if id >= 0 {
                node = childTable[Int(parentNode) * idCount + id]
                if openCount > 0 {
                    let parentSerial = frames[openCount - 1].serial
                    let slot = depth * idCount + id
                    position = positionStamps[slot] == parentSerial ? positionCounts[slot] + 1 : 1
                    positionStamps[slot] = parentSerial
                    positionCounts[slot] = position
                }
            }
        }
        var frame = Frame(node: node, id: Int32(id), position: position, collects: false, line: line, serial: serial,
                          localName: local, captureStart: capturing.count, testStart: testing.count, textStart: text.count)
        if node >= 0 {
            let actions = onStartTable[Int(node)]
            for item in actions.resets { committed[Int(actionTable[item])] = nil }
            for item in actions.predicateStarts {
                let index = Int(actionTable[item])
                pending[index] = nil
                predicateHolds[index] = false
            }
            for item in actions.tests { testing.append(actionTable[item]) }
            for item in actions.captures { capturing.append(actionTable[item]) }
            for item in actions.attributes {
                let index = Int(actionTable[item])
                if let value = attribute(index, count: attributeCount, attributes) { deliver(value, to: index) }
            }
            frame.collects = capturing.count > frame.captureStart || testing.count > frame.testStart
        }
        (frames + openCount).initialize(to: frame)
        openCount += 1
    }

    /// The value of the attribute path `index` names, from SAX2's attribute table (local
    /// name, prefix, URI, value start, value end per attribute).
    private func attribute(_ index: Int, count: Int, _ attributes: UnsafeMutablePointer<UnsafePointer<xmlChar>?>?) -> [UInt8]? {
        guard let attributes, let wanted = attributeNames[index] else { return nil }
        let wantedPrefix = attributePrefixes[index]
        for a in 0..<count {
            let base = attributes + 5 * a
            guard let local = base[0], strcmp(UnsafeRawPointer(local).assumingMemoryBound(to: CChar.self), wanted) == 0 else { continue }
            if let wantedPrefix {
                guard let prefix = base[1], strcmp(UnsafeRawPointer(prefix).assumingMemoryBound(to: CChar.self), wantedPrefix) == 0 else { continue }
            } else if base[1] != nil {
                continue
            }
            guard let start = base[3], let end = base[4] else { return [] }
            return Self.decodeAttribute(UnsafeBufferPointer(start: start, count: start.distance(to: end)))
        }
        return nil
    }

    /// libxml2 hands an attribute's `&` (written `&amp;` or `&#38;`) on as `&#38;` when it
    /// does not substitute entities; every other character comes decoded.
    private static func decodeAttribute(_ bytes: UnsafeBufferPointer<UInt8>) -> [UInt8] {
        guard bytes.contains(UInt8(ascii: "&")) else { return Array(bytes) }
        let escaped = Array("&#38;".utf8)
        var out: [UInt8] = []
        var i = 0
        while i < bytes.count {
            if bytes[i] == UInt8(ascii: "&"), bytes.count - i >= escaped.count, Array(bytes[i..<i + escaped.count]) == escaped {
                out.append(UInt8(ascii: "&"))
                i += escaped.count
            } else {
                out.append(bytes[i])
                i += 1
            }
        }
        return out
    }

    mutating func characters(_ bytes: UnsafePointer<xmlChar>, count: Int) {
        guard !ignoring, openCount > 0 else { return }
        let top = frames[openCount - 1]
        guard top.collects else { return }
        text.append(contentsOf: UnsafeBufferPointer(start: bytes, count: count))
        if text.count - top.textStart > maxValueBytes {
            let name = top.localName.map { String(cString: $0) } ?? "?"
            fail(reason: "a value in <\(name)> is longer than \(maxValueBytes) bytes")
        }
    }

    mutating func end() {
        if ignoring { return }
        guard openCount > 0 else { return }
        let frame = frames[openCount - 1]
        if frame.node >= 0 {
            if frame.collects {
                var buffer: [UInt8] = []
                swap(&buffer, &text)  // no overlapping access to self while values are delivered
                buffer.withUnsafeBufferPointer { all in
                    let value = UnsafeBufferPointer(rebasing: all[frame.textStart...])
                    for item in frame.captureStart..<capturing.count { deliver(value, to: Int(capturing[item])) }
                    if testing.count > frame.testStart {
                        let tested = String(decoding: Self.trimmingSpace(value), as: UTF8.self)
                        for item in frame.testStart..<testing.count {
                            let index = Int(testing[item])
                            if predicateValues[index].contains(tested) { predicateHolds[index] = true }
                        }
                    }
                }
                swap(&buffer, &text)
                capturing.removeLast(capturing.count - frame.captureStart)
                testing.removeLast(testing.count - frame.testStart)
                text.removeLast(text.count - frame.textStart)
            }
            let actions = onStartTable[Int(frame.node)]
            for item in actions.predicateEnds {
                let index = Int(actionTable[item])
                if predicateHolds[index], committed[index] == nil, let value = pending[index] {
                    committed[index] = value
                }
                pending[index] = nil
                predicateHolds[index] = false
            }
            for item in actions.kinds { emit(Int(actionTable[item]), line: frame.line) }
        }
        openCount -= 1
    }

    private static func isSpace(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x0A || byte == 0x09 || byte == 0x0D
    }

    private static func trimmingSpace(_ value: UnsafeBufferPointer<UInt8>) -> UnsafeBufferPointer<UInt8> {
        var start = 0, end = value.count
        while start < end, isSpace(value[start]) { start += 1 }
        while end > start, isSpace(value[end - 1]) { end -= 1 }
        return UnsafeBufferPointer(rebasing: value[start..<end])
    }

    private mutating func deliver(_ value: [UInt8], to index: Int) {
        value.withUnsafeBufferPointer { deliver($0, to: index) }
    }

    private mutating func deliver(_ value: UnsafeBufferPointer<UInt8>, to index: Int) {
        // An element holding only children (and the whitespace between them) has no value
        // of its own; leave the slot for an alternative path.
        if value.allSatisfy(Self.isSpace) { return }
        if pathHasPredicate[index] {
            if pending[index] == nil { pending[index] = String(decoding: value, as: UTF8.self) }
        } else if committed[index] == nil {
            committed[index] = String(decoding: value, as: UTF8.self)
        }
    }

    private mutating func emit(_ kind: Int, line: Int) {
        var values: [String?] = Array(repeating: nil, count: kinds[kind].fields.count)
        // Paths are in alternative order within a field: count them to know which one gave
        // the value (a field may have a type per alternative).
        var alternatives = [Int](repeating: 0, count: values.count)
        var seen = alternatives
        let recordDepth = kindDepth[kind]
        for index in kindPaths[kind] {
            let field = pathField[index]
            if values[field] == nil, let value = committed[index] { values[field] = value; alternatives[field] = seen[field] }
            seen[field] += 1
            // Values owned by the record itself are done with once it is emitted.
            if pathScopeDepth[index] >= recordDepth { committed[index] = nil }
        }
        queue.append(QueuedRecord(kind: kind, values: values, alternatives: alternatives,
                                  location: RecordLocation(line: line, byteOffset: 0, xmlPath: xmlPath())))
    }

    /// The open elements as a path; positions are shown from the second sibling on:
    /// /Stmt/Ntry, /Stmt/Ntry[2].
    private mutating func xmlPath() -> String {
        for depth in 1...openCount {
            let frame = frames[depth - 1]
            guard depth > maxDepth || pathStamp[depth] != frame.serial else { continue }
            var path = depth == 1 ? "" : pathText[depth - 1]
            path += "/"
            path += frame.id >= 0 ? idNames[Int(frame.id)] : frame.localName.map { String(cString: $0) } ?? "?"
            if frame.position > 1 {
                path += "["
                path += String(frame.position)
                path += "]"
            }
            if depth <= maxDepth {
                pathText[depth] = path
                pathStamp[depth] = frame.serial
            } else {
                return path
            }
        }
        return pathText[openCount]
    }
}

/// Element ids by the pointers libxml2 names an element with: its parser interns names and
/// namespace URIs, so equal pointers are equal names. Direct-mapped and fixed in size, so a
/// hostile document with endless distinct names costs time, never memory.
private struct ElementIDCache {
    private static let size = 1024
    private struct Entry {
        var local: UnsafeRawPointer?
        var namespace: UnsafeRawPointer?
        var id: Int32
    }
    private let entries: UnsafeMutablePointer<Entry>

    init() {
        entries = .allocate(capacity: Self.size)
        entries.initialize(repeating: Entry(local: nil, namespace: nil, id: -2), count: Self.size)
    }

    func release() { entries.deallocate() }

    @inline(__always)
    private static func slot(_ local: UnsafePointer<xmlChar>?, _ namespace: UnsafePointer<xmlChar>?) -> Int {
        let key = UInt(bitPattern: local) &* 0x9E37_79B9_7F4A_7C15 ^ UInt(bitPattern: namespace) &* 0xC2B2_AE3D_27D4_EB4F
        return Int(truncatingIfNeeded: key >> 54)
    }

    @inline(__always)
    func lookup(_ local: UnsafePointer<xmlChar>?, _ namespace: UnsafePointer<xmlChar>?) -> Int? {
        let entry = entries[Self.slot(local, namespace)]
        guard entry.id != -2, entry.local == UnsafeRawPointer(local), entry.namespace == UnsafeRawPointer(namespace) else { return nil }
        return Int(entry.id)
    }

    func store(_ local: UnsafePointer<xmlChar>?, _ namespace: UnsafePointer<xmlChar>?, _ id: Int) {
        entries[Self.slot(local, namespace)] = Entry(local: UnsafeRawPointer(local), namespace: UnsafeRawPointer(namespace), id: Int32(id))
    }
}
