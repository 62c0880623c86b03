import Foundation
import ReckonCore
import ReckonFiles
import Testing

@Suite("XML through libxml2's streaming reader")
struct XMLTests {
    static let spec = """
        format: xml
        namespaces: [urn:example:statement:1, urn:example:statement:2]
        prefixes: {ext: "urn:example:extension"}
        records:
          entry:
            path: /Doc/Stmt/Ntry
            fields:
              statement: {path: ../Id, required: true}
              account:   {path: [../Acct/IBAN, ../Acct/Othr], required: true}
              opening:   {path: "../Bal[Tp=OPBD|PRCD]/Amt", type: decimal}
              amount:    {path: Amt, type: decimal, sign: {field: direction, negative: DBIT, positive: CRDT}, required: true}
              currency:  {path: Amt/@Ccy}
              direction: {path: CdtDbtInd}
              note:      {path: ext:Note}
              first_ref: {path: Refs/Ref}
          statement:
            path: /Doc/Stmt
            occurs: 1..
            fields:
              id: {path: Id}
              opening: {path: "Bal[Tp=OPBD|PRCD]/Amt", type: decimal}
              closing: {path: "Bal[Tp=CLBD]/Amt", type: decimal}
        controls:
          - {name: arithmetic, sum: entry.amount, equals: statement.closing - statement.opening, scope: {to: statement}}
        """

    func read(_ xml: String, spec text: String = XMLTests.spec) throws -> (report: FileReport, records: [ParsedRecord], spec: MappingSpec) {
        let loaded = try SpecLoader.load(yaml: text, origin: "xml.yaml")
        let (report, records) = check(bytes: Array(xml.utf8), loaded)
        return (report, records, loaded)
    }

    static let document = """
        <?xml version="1.0" encoding="UTF-8"?>
        <Doc xmlns="urn:example:statement:2" xmlns:ext="urn:example:extension">
          <Stmt>
            <Id>S1</Id>
            <Acct><Othr>6222020000001234</Othr></Acct>
            <Bal><Tp>CLBD</Tp><Amt>90.00</Amt></Bal>
            <Bal><Tp>PRCD</Tp><Amt>100.00</Amt></Bal>
            <Ntry>
              <Amt Ccy="CNY">12.50</Amt><CdtDbtInd>DBIT</CdtDbtInd>
              <ext:Note>放款</ext:Note>
              <Refs><Ref>first</Ref><Ref>second</Ref></Refs>
            </Ntry>
            <Ntry><Amt Ccy="CNY"><![CDATA[2.50]]></Amt><CdtDbtInd>CRDT</CdtDbtInd><Empty/></Ntry>
          </Stmt>
          <Stmt>
            <Id>S2</Id>
            <Acct><IBAN>DE14740618130000033626</IBAN></Acct>
            <Bal><Tp>OPBD</Tp><Amt>1.00</Amt></Bal>
            <Bal><Tp>CLBD</Tp><Amt>1.00</Amt></Bal>
          </Stmt>
        </Doc>
        """

    @Test func recordsCarryTheirEnclosingValues() throws {
        let (report, records, spec) = try read(Self.document)
        #expect(report.recordsRejected == 0, "\(report.problems)")
        let entries = records.filter { $0.kind(in: spec) == "entry" }
        #expect(entries.count == 2)
        let first = try #require(entries.first), second = try #require(entries.dropFirst().first)
        #expect(entries.allSatisfy { $0.value("statement", in: spec) == .text("S1") })
        #expect(entries.allSatisfy { $0.value("account", in: spec) == .text("6222020000001234") })
        // The predicate picks the PRCD balance although CLBD comes first.
        #expect(entries.allSatisfy { $0.value("opening", in: spec).units == 10000 })
        #expect(entries.map { $0.value("amount", in: spec).units } == [-1250, 250])
        #expect(first.value("currency", in: spec) == .text("CNY"))
        #expect(first.value("note", in: spec) == .text("放款"))
        // The first of repeated values wins.
        #expect(first.value("first_ref", in: spec) == .text("first"))
        #expect(second.value("note", in: spec) == .empty)
        #expect(first.location.xmlPath == "/Doc/Stmt/Ntry")
        #expect(second.location.xmlPath == "/Doc/Stmt/Ntry[2]")
        let statements = records.filter { $0.kind(in: spec) == "statement" }
        #expect(statements.map { $0.value("id", in: spec) } == [.text("S1"), .text("S2")])
        #expect(statements.map(\.location.xmlPath) == ["/Doc/Stmt", "/Doc/Stmt[2]"])
        // 100.00 - 12.50 + 2.50 = 90.00; the second statement has no entries and 1.00 - 1.00 = 0.
        #expect(report.controls.map(\.holds) == [true, true])
    }

    @Test func fieldProblemsNameTheElementPathAndLine() throws {
        let xml = Self.document.replacingOccurrences(of: "<Amt Ccy=\"CNY\">12.50</Amt>", with: "<Amt Ccy=\"CNY\">12.5O</Amt>")
        let (report, _, _) = try read(xml)
        let problem = try #require(report.problems.first)
        #expect(problem.location.xmlPath == "/Doc/Stmt/Ntry")
        #expect(problem.location.line == 8)
        #expect(problem.problem.field == "amount")
        #expect(problem.problem.rawValue == "12.5O")
        #expect(problem.problem.reason == "unexpected character 'O' in a number")
    }

    @Test func aDocumentInAnotherNamespace() throws {
        let xml = Self.document.replacingOccurrences(of: "urn:example:statement:2", with: "urn:iso:std:iso:20022:tech:xsd:camt.052.001.02")
        let (report, _, _) = try read(xml)
        #expect(report.failure?.reason == "the document <Doc> is in namespace 'urn:iso:std:iso:20022:tech:xsd:camt.052.001.02'; this spec reads urn:example:statement:1, urn:example:statement:2")
    }

    @Test func malformedAndTruncatedXML() throws {
        let truncated = String(Self.document.prefix(400))
        let (cut, records, _) = try read(truncated)
        let failure = try #require(cut.failure)
        #expect(failure.reason.hasPrefix("the file ends inside <Ref> (truncated?); libxml2 says: "))
        #expect(records.isEmpty)
        let (mismatched, _, _) = try read("<Doc xmlns=\"urn:example:statement:1\"><Stmt><Id>x</Stmt></Doc>")
        #expect(mismatched.failure?.description == "line 1: not well-formed XML: Opening and ending tag mismatch: Id line 1 and Stmt")
        let (empty, _, _) = try read("")
        #expect(empty.failure?.description == "the file is empty: no XML document in it")
    }

    @Test func whereAFileEndsOrRunsOn() throws {
        // Cut inside the second statement: the message names the element the cut is in, and
        // what came before it was read.
        let (cut, records, spec) = try read(String(Self.document.prefix(700)))
        #expect(cut.failure?.description.hasPrefix("line 19: the file ends inside <Bal> (truncated?); libxml2 says: ") == true)
        #expect(records.filter { $0.kind(in: spec) == "entry" }.count == 2)
        // Content after the document element is not a truncated file.
        let (after, _, _) = try read(Self.document + "\n<Other/>")
        #expect(after.failure?.description == "line 22: not well-formed XML: Extra content at the end of the document")
    }

    @Test func invalidUTF8InXML() throws {
        let loaded = try SpecLoader.load(yaml: Self.spec, origin: "xml.yaml")
        var bytes = Array("<Doc xmlns=\"urn:example:statement:1\"><Stmt><Id>".utf8)
        bytes += [0xFF, 0xFE]
        bytes += Array("</Id></Stmt></Doc>".utf8)
        let (report, _) = check(bytes: bytes, loaded)
        #expect(report.failure?.description == "line 1: not well-formed XML: Input is not proper UTF-8, indicate encoding ! Bytes: 0xFF 0xFE 0x3C 0x2F")
    }

    // MARK: Reading without a tree

    @Test func linesPastSixtyFiveThousandAreExact() throws {
        // libxml2's tree keeps an element's line in 16 bits (65,535 at most); the SAX reader
        // counts on.
        let xml = Self.document
            .replacingOccurrences(of: "<Amt Ccy=\"CNY\">12.50</Amt>", with: "<Amt Ccy=\"CNY\">12.5O</Amt>")
            .replacingOccurrences(of: "<Id>S1</Id>", with: "<Id>S1</Id>" + String(repeating: "\n", count: 70_000))
        let (report, _, _) = try read(xml)
        let problem = try #require(report.problems.first)
        #expect(problem.location.line == 70_008)
        #expect(problem.location.xmlPath == "/Doc/Stmt/Ntry")
        #expect(problem.problem.reason == "unexpected character 'O' in a number")
    }

    @Test func attributeValuesAreDecoded() throws {
        let xml = Self.document.replacingOccurrences(of: "<Amt Ccy=\"CNY\">12.50</Amt>", with: "<Amt Ccy=\"C&amp;N&#38;Y&lt;&#x42;\">12.50</Amt>")
        let (report, records, spec) = try read(xml)
        #expect(report.recordsRejected == 0)
        let first = try #require(records.first { $0.kind(in: spec) == "entry" })
        #expect(first.value("currency", in: spec) == .text("C&N&Y<B"))
    }

    @Test func aLongValueIsRefusedOnlyWhereASpecNamesIt() throws {
        let spec = Self.spec + "\nmax_record_bytes: 64\n"
        let long = String(repeating: "x", count: 100)
        // An element no path names may hold any amount of text: it is never kept.
        let (unnamed, records, _) = try read(Self.document.replacingOccurrences(of: "<Empty/>", with: "<Empty>\(long)</Empty>"), spec: spec)
        #expect(unnamed.failure == nil)
        #expect(records.count == 4)
        let (named, _, _) = try read(Self.document.replacingOccurrences(of: "<Id>S1</Id>", with: "<Id>\(long)</Id>"), spec: spec)
        #expect(named.failure?.description == "line 4: a value in <Id> is longer than 64 bytes")
    }

    @Test func aStatementLongerThanOneChunk() throws {
        // Thousands of entries: the parser is fed the file in pieces, records complete in
        // every piece, values straddle their edges.
        let count = 3_000
        var entries = ""
        for index in 0..<count {
            entries += "<Ntry><Amt Ccy=\"CNY\">\(index / 100).\(index % 100 < 10 ? "0" : "")\(index % 100)</Amt><CdtDbtInd>CRDT</CdtDbtInd><Refs><Ref>R\(index)</Ref></Refs></Ntry>\n"
        }
        let total = (0..<count).reduce(0, +)
        let xml = """
            <?xml version="1.0" encoding="UTF-8"?>
            <Doc xmlns="urn:example:statement:1">
            <Stmt><Id>S1</Id><Acct><Othr>A</Othr></Acct><Bal><Tp>OPBD</Tp><Amt>0.00</Amt></Bal>
            <Bal><Tp>CLBD</Tp><Amt>\(total / 100).\(total % 100 < 10 ? "0" : "")\(total % 100)</Amt></Bal>
            \(entries)</Stmt></Doc>
            """
        #expect(xml.utf8.count > 3 * 64 * 1024)
        let (report, records, spec) = try read(xml)
        #expect(report.failure == nil)
        #expect(report.recordsRejected == 0)
        let entryRecords = records.filter { $0.kind(in: spec) == "entry" }
        #expect(entryRecords.count == count)
        #expect(entryRecords.map { $0.value("first_ref", in: spec) } == (0..<count).map { .text("R\($0)") })
        #expect(entryRecords.last?.location.xmlPath == "/Doc/Stmt/Ntry[\(count)]")
        #expect(entryRecords.last?.location.line == count + 4)
        #expect(report.controls.map(\.holds) == [true])
    }

    // MARK: Hostile documents

    /// What a document with a DTD gets: refused at its DOCTYPE, before anything in it is
    /// read, fetched or expanded (libxml2 stops an entity bomb sooner, by itself). (The memory a refused entity bomb takes is measured
    /// in a child process: see the CLI tests.)
    static let doctypeRefusal = "line 3: the file has a DOCTYPE; reckon refuses DTDs and entity declarations (external entities, entity expansion)"

    @Test func externalEntitiesAreNeverFetched() throws {
        let folder = ScratchFolder()
        let secret = folder.write("secret.txt", "TOP-SECRET")
        let xml = """
            <?xml version="1.0"?>
            <!DOCTYPE Doc [ <!ENTITY xxe SYSTEM "file://\(secret)"> ]>
            <Doc xmlns="urn:example:statement:1"><Stmt><Id>&xxe;</Id><Acct><IBAN>x</IBAN></Acct></Stmt></Doc>
            """
        let (report, records, _) = try read(xml)
        #expect(records.isEmpty)
        #expect(report.failure?.description == Self.doctypeRefusal)
    }

    @Test func externalDTDIsNotLoaded() throws {
        let xml = """
            <?xml version="1.0"?>
            <!DOCTYPE Doc SYSTEM "http://127.0.0.1:9/evil.dtd">
            <Doc xmlns="urn:example:statement:1"><Stmt><Id>x</Id></Stmt></Doc>
            """
        let (report, records, _) = try read(xml)
        #expect(records.isEmpty)
        #expect(report.failure?.description == Self.doctypeRefusal)
    }

    @Test func billionLaughsIsRefused() throws {
        // libxml2 stops at the entity declarations, before reckon sees the DOCTYPE.
        let (report, records, _) = try read(Self.billionLaughs)
        #expect(records.isEmpty)
        #expect(report.recordsRead == 0)
        #expect(report.failure?.description == "line 1: not well-formed XML: Detected an entity reference loop")
    }

    /// Nine levels of ten entity references: three gigabytes if expanded.
    static let billionLaughs: String = {
        var entities = "<!ENTITY lol0 \"lol\">\n"
        for level in 1...9 {
            entities += "<!ENTITY lol\(level) \"" + String(repeating: "&lol\(level - 1);", count: 10) + "\">\n"
        }
        return "<?xml version=\"1.0\"?>\n<!DOCTYPE Doc [\n\(entities)]>\n<Doc xmlns=\"urn:example:statement:1\"><Stmt><Id>&lol9;</Id></Stmt></Doc>"
    }()

    @Test func deepNestingIsRefused() throws {
        let depth = 5000
        let xml = "<Doc xmlns=\"urn:example:statement:1\">" + String(repeating: "<a>", count: depth) + String(repeating: "</a>", count: depth) + "</Doc>"
        let (report, _, _) = try read(xml)
        #expect(report.failure?.description == "line 1: not well-formed XML: Excessive depth in document: 256 use XML_PARSE_HUGE option")
    }
}

extension String {
    func replacingOccurrences(of target: String, with replacement: String) -> String {
        components(separatedBy: target).joined(separator: replacement)
    }
}
