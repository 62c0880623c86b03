import CLibXML2
#if canImport(Glibc)
import Glibc
#endif
import ReckonCore

/// Reads XML files (ISO 20022 camt.053 and kin, OFX 2.x, and OFX 1.x SGML turned into
/// XML by ``XMLInput`` as it streams) through libxml2's SAX2 push parser: memory stays
/// flat whatever the file's size, because no tree is built and only the values a spec
/// names are kept, and only until their record is emitted.
///
/// A record kind is an element path; a record is emitted when its element ends. Fields are
/// paths relative to the record element; `..` reaches enclosing elements, so each entry can
/// carry its statement's account and balances (those come before the entries in camt.053;
/// a value that appears after the record is not seen, as the reader never looks back). The
/// first occurrence of a repeated value wins. A predicate `Bal[Tp/CdOrPrtry/Cd=OPBD]`
/// picks the one element of several whose child has the given value.
///
/// Hostile input is refused: a DOCTYPE (the carrier of external entities and entity
/// expansion bombs) ends reading at the document's root, nothing is ever fetched from the
/// network or the filesystem, and libxml2's own limits on text size stay on, with the
/// same depth limit its tree builder has.
public final class XMLRecordReader: RecordReader {
    private let spec: MappingSpec
    private var source: any ByteSource
    private let state: UnsafeMutablePointer<XMLMatchState>
    private var parser: xmlParserCtxtPtr?
    private let chunk: UnsafeMutableRawBufferPointer
    private var assembler: TextFieldAssembler
    private var started = false
    private var ended = false
    private var failure: FileFailure?

    /// Bytes handed to libxml2 per call: records completed inside one chunk wait in a
    /// queue, so this bounds the queue too.
    static let chunkBytes = 64 * 1024

    public init(spec: MappingSpec, source: any ByteSource) {
        guard case .xml(let layout) = spec.format else { preconditionFailure("XMLRecordReader needs an XML spec") }
        self.spec = spec
        self.source = XMLInput(source, limit: spec.maxRecordBytes)
        assembler = TextFieldAssembler(spec: spec)
        state = .allocate(capacity: 1)
        state.initialize(to: XMLMatchState(spec: spec, layout: layout))
        chunk = .allocate(byteCount: Self.chunkBytes, alignment: 16)
        XMLSafety.install()
    }

    deinit {
        closeParser()
        state.pointee.releaseStorage()
        state.deinitialize(count: 1)
        state.deallocate()
        chunk.deallocate()
    }

    private func closeParser() {
        guard let parser else { return }
        if let document = parser.pointee.myDoc {
            parser.pointee.myDoc = nil
            xmlFreeDoc(document)
        }
        xmlFreeParserCtxt(parser)
        self.parser = nil
        state.pointee.parser = nil
    }

    public func next() throws(FileFailure) -> RecordEvent? {
        while true {
            if let record = state.pointee.popRecord() {
                return assembler.event(spec.kinds[record.kind], values: record.values, alternatives: record.alternatives,
                                       location: record.location)
            }
            if let failure { throw failure }
            if ended { return nil }
            do throws(FileFailure) {
                try feed()
            } catch {
                failure = error
                ended = true
                closeParser()
            }
        }
    }

    /// Hands libxml2 the next chunk of the file (or the end of it); the records it completes
    /// are queued in `state`.
    private func feed() throws(FileFailure) {
        let count: Int
        do {
            count = try source.read(into: chunk)
        } catch let failure as FileFailure {
            throw failure  // what the input said it is (XMLInput)
        } catch {
            throw FileFailure(location: nil, reason: "reading failed: \(error)")
        }
        let bytes = chunk.baseAddress!.assumingMemoryBound(to: CChar.self)
        if !started {
            started = true
            if count == 0 { throw FileFailure(location: nil, reason: "the file is empty: no XML document in it") }
            try createParser(firstBytes: bytes, count: count)
        }
        guard let parser else { throw FileFailure(location: nil, reason: "libxml2 could not create a reader") }
        let status: Int32
        if count == 0 {
            ended = true
            status = xmlParseChunk(parser, nil, 0, 1)
        } else {
            // The first four bytes went in with the parser, for libxml2 to detect the encoding.
            let skip = state.pointee.bytesRead == 0 ? min(4, count) : 0
            state.pointee.bytesRead += count
            status = skip == count ? 0 : xmlParseChunk(parser, bytes + skip, Int32(count - skip), 0)
        }
        try outcome(status)
        if ended {
            closeParser()
            if !state.pointee.sawRoot { throw FileFailure(location: nil, reason: "the file is empty: no XML document in it") }
        }
    }

    private func createParser(firstBytes: UnsafePointer<CChar>, count: Int) throws(FileFailure) {
        var handler = xmlSAXHandler()
        // libxml2's own SAX2 handlers for the prolog and the DTD (so that it declares and
        // checks entities as it always does); reckon's for elements and text, which build
        // no tree.
        xmlSAXVersion(&handler, 2)
        handler.startElementNs = startElementCallback
        handler.endElementNs = endElementCallback
        handler.characters = charactersCallback
        handler.ignorableWhitespace = charactersCallback
        handler.cdataBlock = charactersCallback
        handler.internalSubset = internalSubsetCallback
        handler.reference = referenceCallback
        handler.comment = nil
        handler.processingInstruction = nil
        handler.startElement = nil
        handler.endElement = nil
        handler.setDocumentLocator = nil
        handler.endDocument = nil
        handler.serror = errorCallback
        guard let parser = xmlCreatePushParserCtxt(&handler, nil, firstBytes, Int32(min(4, count)), "file:///reckon-input") else {
            throw FileFailure(location: nil, reason: "libxml2 could not create a reader")
        }
        self.parser = parser
        _ = xmlCtxtUseOptions(parser, Int32(XML_PARSE_NONET.rawValue) | Int32(XML_PARSE_NOCDATA.rawValue))
        parser.pointee._private = UnsafeMutableRawPointer(state)
        state.pointee.parser = parser
    }

    /// What one call of `xmlParseChunk` came to: the records it completed stay queued in
    /// front of any failure, as they came first in the file.
    private func outcome(_ status: Int32) throws(FileFailure) {
        if let failure = state.pointee.failure { throw failure }
        if status != 0 {
            let location = RecordLocation(line: state.pointee.errorLine ?? state.pointee.parserLine, byteOffset: 0)
            let detail = state.pointee.errorMessage ?? "libxml2 gave up"
            // Input that ran out with elements still open is a truncated file, whatever
            // libxml2 makes of the last bytes.
            if ended, let open = state.pointee.openElementName {
                throw FileFailure(location: location,
                                  reason: "the file ends inside <\(open)> (truncated?); libxml2 says: \(detail)")
            }
            throw FileFailure(location: location, reason: "not well-formed XML: \(detail)")
        }
        // Refused once libxml2 has read on to the root element (so that its own verdict on
        // the DTD, such as an entity loop, comes first), before any element is looked at.
        if let line = state.pointee.doctypeLine {
            throw FileFailure(location: RecordLocation(line: line, byteOffset: 0),
                              reason: "the file has a DOCTYPE; reckon refuses DTDs and entity declarations (external entities, entity expansion)")
        }
    }
}

// MARK: SAX callbacks

/// The match state behind a parser context (libxml2 passes the context; reckon's state
/// hangs off its `_private`). Nil for contexts libxml2 makes for itself, such as the one
/// that checks an entity's replacement text: reckon refuses documents with entities anyway.
@inline(__always)
private func matchState(_ context: UnsafeMutableRawPointer?) -> UnsafeMutablePointer<XMLMatchState>? {
    guard let context else { return nil }
    let parser = context.assumingMemoryBound(to: xmlParserCtxt.self)
    guard let state = parser.pointee._private?.assumingMemoryBound(to: XMLMatchState.self),
          state.pointee.parser == parser else { return nil }
    return state
}

private let startElementCallback: startElementNsSAX2Func = { context, local, _, namespace, _, _, attributeCount, _, attributes in
    guard let state = matchState(context) else { return }
    state.pointee.start(local: local, namespace: namespace, attributeCount: Int(attributeCount), attributes: attributes)
}

private let endElementCallback: endElementNsSAX2Func = { context, _, _, _ in
    guard let state = matchState(context) else { return }
    state.pointee.end()
}

private let charactersCallback: charactersSAXFunc = { context, bytes, length in
    guard let state = matchState(context), let bytes, length > 0 else { return }
    state.pointee.characters(bytes, count: Int(length))
}

private let internalSubsetCallback: internalSubsetSAXFunc = { context, name, externalID, systemID in
    // libxml2's handler records the DTD, so that it checks the entities it declares as it
    // always does (and stops a loop); reckon refuses the document at its root.
    xmlSAX2InternalSubset(context, name, externalID, systemID)
    matchState(context)?.pointee.sawDoctype = true
}

private let referenceCallback: referenceSAXFunc = { context, _ in
    matchState(context)?.pointee.fail(reason: "the file uses an entity reference; reckon refuses entities")
}

private let errorCallback: xmlStructuredErrorFunc = { context, error in
    // Also from contexts libxml2 makes for itself (an entity's text): they share `_private`.
    guard let error, let context,
          let state = context.assumingMemoryBound(to: xmlParserCtxt.self).pointee._private?.assumingMemoryBound(to: XMLMatchState.self)
    else { return }
    // Keep the first error: later ones are usually its consequences.
    guard state.pointee.errorMessage == nil, error.pointee.level.rawValue >= XML_ERR_ERROR.rawValue else { return }
    var message = error.pointee.message.map { String(cString: $0) } ?? "unknown error"
    while message.hasSuffix("\n") { message.removeLast() }
    // One line, for a log: libxml2 puts the bytes it quotes on a line of their own.
    state.pointee.errorMessage = message.split(separator: "\n").joined(separator: " ")
    state.pointee.errorLine = Int(error.pointee.line)
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
