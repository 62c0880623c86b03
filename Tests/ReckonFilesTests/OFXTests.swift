import Foundation
import ReckonCore
import ReckonFiles
import Testing

@Suite("OFX 1.x SGML and 2.x XML statements")
struct OFXTests {
    /// A small spec over the statement response of OFX 1.0.2 / 1.6 (STMTTRNRS/STMTRS).
    static let ofxSpec = """
        format: xml
        records:
          transaction:
            path: /OFX/BANKMSGSRSV1/STMTTRNRS/STMTRS/BANKTRANLIST/STMTTRN
            fields:
              account:   {path: ../../BANKACCTFROM/ACCTID, required: true}
              currency:  {path: ../../CURDEF}
              booked_on: {path: DTPOSTED, type: date, format: ofx, required: true}
              booked_at: {path: DTPOSTED, type: datetime, format: ofx, required: true}
              amount:    {path: TRNAMT, type: decimal, scale: 2, required: true}
              reference: {path: FITID, required: true}
              name:      {path: NAME}
              memo:      {path: MEMO}
          statement:
            path: /OFX/BANKMSGSRSV1/STMTTRNRS/STMTRS
            fields:
              ledger:    {path: LEDGERBAL/BALAMT, type: decimal, scale: 2, required: true}
              available: {path: AVAILBAL/BALAMT, type: decimal, scale: 2}
              as_of:     {path: LEDGERBAL/DTASOF, type: datetime, format: ofx}
        """

    static let header = """
        OFXHEADER:100
        DATA:OFXSGML
        VERSION:102
        SECURITY:NONE
        ENCODING:USASCII
        CHARSET:1252
        COMPRESSION:NONE
        OLDFILEUID:NONE
        NEWFILEUID:NONE


        """

    /// The body as OFX 1.x writes it: value elements are never closed (but may be), aggregates are.
    static let body = """
        <OFX>
        <SIGNONMSGSRSV1>
        <SONRS>
        <STATUS>
        <CODE>0
        <SEVERITY>INFO
        </STATUS>
        <DTSERVER>20241216120000.000[-5:EST]
        <LANGUAGE>ENG
        </SONRS>
        </SIGNONMSGSRSV1>
        <BANKMSGSRSV1>
        <STMTTRNRS>
        <TRNUID>1001
        <STATUS>
        <CODE>0
        <SEVERITY>INFO
        </STATUS>
        <STMTRS>
        <CURDEF>USD
        <BANKACCTFROM>
        <BANKID>121099999
        <ACCTID>999988
        <ACCTTYPE>CHECKING
        </BANKACCTFROM>
        <BANKTRANLIST>
        <DTSTART>20241201
        <DTEND>20241216
        <STMTTRN>
        <TRNTYPE>CHECK
        <DTPOSTED>20241216120000.000[-5:EST]
        <TRNAMT>-200.00
        <FITID>00002
        <NAME>Rent &amp; utilities
        <MEMO>Check 1001
        </STMTTRN>
        <STMTTRN>
        <TRNTYPE>DEBIT
        <DTPOSTED>20241216230000[-5:EST]
        <TRNAMT>-19.99
        <FITID>00003
        <NAME>AT&T <MEMO>Autopay</MEMO>
        </STMTTRN>
        <STMTTRN>
        <TRNTYPE>DEP
        <DTPOSTED>20241217
        <TRNAMT>1500.00
        <FITID>00004
        <NAME>CAF\u{C9}
        </STMTTRN>
        </BANKTRANLIST>
        <LEDGERBAL>
        <BALAMT>3234.34
        <DTASOF>20241217083000.000[+5.5:IST]
        </LEDGERBAL>
        <AVAILBAL>
        <BALAMT>3184.34
        <DTASOF>20241217
        </AVAILBAL>
        </STMTRS>
        </STMTTRNRS>
        </BANKMSGSRSV1>
        </OFX>

        """

    func read(_ bytes: [UInt8], spec text: String = OFXTests.ofxSpec) throws -> (report: FileReport, records: [ParsedRecord], spec: MappingSpec) {
        let loaded = try SpecLoader.load(yaml: text, origin: "ofx.yaml")
        let (report, records) = check(bytes: bytes, loaded)
        return (report, records, loaded)
    }

    /// The body in Windows-1252, as `CHARSET:1252` says (É is the byte 0xC9).
    static func windows1252(_ text: String) -> [UInt8] {
        text.unicodeScalars.map { UInt8($0.value) }
    }

    @Test func anOFX1SGMLStatementReads() throws {
        let bytes = Self.windows1252(Self.header.replacingOccurrences(of: "\n", with: "\r\n") + Self.body)
        let (report, records, spec) = try read(bytes)
        #expect(report.failure == nil, "\(String(describing: report.failure))")
        #expect(report.recordsRejected == 0, "\(report.problems)")
        let transactions = records.filter { $0.kind(in: spec) == "transaction" }
        #expect(transactions.map { $0.value("amount", in: spec).units } == [-20000, -1999, 150000])
        #expect(transactions.map { $0.value("reference", in: spec) } == [.text("00002"), .text("00003"), .text("00004")])
        #expect(transactions.allSatisfy { $0.value("account", in: spec) == .text("999988") && $0.value("currency", in: spec) == .text("USD") })
        // Entities kept, a bare '&' taken as text, a leaf closed by its own end tag or by the next tag on its line.
        #expect(transactions.map { $0.value("name", in: spec) } == [.text("Rent & utilities"), .text("AT&T"), .text("CAFÉ")])
        #expect(transactions.map { $0.value("memo", in: spec) } == [.text("Check 1001"), .text("Autopay"), .empty])
        // The day as the bank wrote it; the moment with its offset (23:00 EST is 04:00 GMT the next day).
        #expect(transactions.map { $0.value("booked_on", in: spec) } == [.date(CivilDate(year: 2024, month: 12, day: 16)!), .date(CivilDate(year: 2024, month: 12, day: 16)!), .date(CivilDate(year: 2024, month: 12, day: 17)!)])
        #expect(transactions.map { $0.value("booked_at", in: spec).description }
            == ["2024-12-16T12:00:00-05:00", "2024-12-16T23:00:00-05:00", "2024-12-17T00:00:00Z"])
        let statement = try #require(records.first { $0.kind(in: spec) == "statement" })
        #expect(statement.value("ledger", in: spec).units == 323434)
        #expect(statement.value("available", in: spec).units == 318434)
        #expect(statement.value("as_of", in: spec).description == "2024-12-17T08:30:00+05:30")
        // Records point at the original file's lines: the header's ten lines come first.
        #expect(transactions.map(\.location.line) == [39, 47, 54])
    }

    @Test func problemsNameTheOriginalLine() throws {
        let bytes = Array((Self.header + Self.body.replacingOccurrences(of: "<TRNAMT>-19.99", with: "<TRNAMT>-19.9x")).utf8)
        let (report, _, _) = try read(bytes)
        let problem = try #require(report.problems.first)
        #expect(problem.location.line == 47)
        #expect(problem.location.xmlPath == "/OFX/BANKMSGSRSV1/STMTTRNRS/STMTRS/BANKTRANLIST/STMTTRN[2]")
        #expect(report.recordsRejected == 1)
    }

    @Test func theSameStatementAsOFX2XMLReadsAlike() throws {
        let xml = try String(contentsOfFile: samples + "/ofx/ofx2_checking_20241216.xml", encoding: .utf8)
        let sgml = try Data(contentsOf: URL(fileURLWithPath: samples + "/ofx/ofx1_checking_20241216.ofx"))
        let (fromXML, xmlRecords, spec) = try read(Array(xml.utf8))
        let (fromSGML, sgmlRecords, _) = try read(Array(sgml))
        #expect(fromXML.failure == nil && fromSGML.failure == nil)
        #expect(xmlRecords.count == 5 && fromXML.recordsRejected == 0 && fromSGML.recordsRejected == 0)
        #expect(xmlRecords.map(\.values) == sgmlRecords.map(\.values))
        #expect(sgmlRecords.first?.value("name", in: spec) == .text("Rent payment"))
        #expect(sgmlRecords.dropFirst(2).first?.value("name", in: spec) == .text("CAFÉ LUMIÈRE"))
    }

    @Test func refusedWithWhatTheFileIs() throws {
        func failure(_ text: String) throws -> String? {
            try read(Array(text.utf8)).report.failure?.description
        }
        #expect(try failure("Date,Amount\n2024-12-16,1.00\n") == "line 1: not XML: the file starts with 'Date,Amount' where an XML document starts with '<'")
        #expect(try failure("  \n\n") == "the file holds only white space: no XML document in it")
        #expect(try failure(Self.header.replacingOccurrences(of: "COMPRESSION:NONE", with: "COMPRESSION:ZLIB") + Self.body)
            == "line 1: an OFX 1.x SGML file whose header says COMPRESSION:ZLIB; reckon reads uncompressed files")
        #expect(try failure(Self.header.replacingOccurrences(of: "DATA:OFXSGML", with: "DATA:OFXXML") + Self.body)
            == "line 1: an OFX 1.x SGML file whose header says DATA:OFXXML; reckon reads DATA:OFXSGML")
        #expect(try failure(Self.header.replacingOccurrences(of: "CHARSET:1252", with: "CHARSET:KLINGON") + Self.body)
            == "line 1: an OFX 1.x SGML file whose header says CHARSET:KLINGON; reckon reads NONE, ISO-8859-1 or a Windows code page number (1252)")
        #expect(try failure(Self.header) == "an OFX 1.x SGML file whose header never ends: the file ends before its <OFX> body")
        // An end tag that closes nothing is named with its line.
        #expect(try failure(Self.header + Self.body.replacingOccurrences(of: "</BANKTRANLIST>", with: "</BANKTRANLST>"))
            == "line 61: OFX 1.x SGML: the end tag </BANKTRANLST> closes no open element")
        // A file cut short is truncated, as any XML.
        let cut = try #require(try failure(Self.header + String(Self.body.prefix(600))))
        #expect(cut.contains("the file ends inside <"), "\(cut)")
        #expect(cut.contains("(truncated?)"))
    }

    @Test func aLeafExplicitlyEmptyAndAnAggregateLeftOpenInside() throws {
        // <MEMO></MEMO> is an empty value; <EXTRA> with no value and no end tag closes with its parent.
        let body = Self.body.replacingOccurrences(of: "<MEMO>Check 1001", with: "<MEMO></MEMO>\n<EXTRA>")
        let (report, records, spec) = try read(Array((Self.header + body).utf8))
        #expect(report.failure == nil, "\(String(describing: report.failure))")
        let first = try #require(records.first)
        #expect(first.value("memo", in: spec) == .empty)
        #expect(first.value("amount", in: spec).units == -20000)
    }

    /// Banks' exports with empty tags (no FITID, no CURDEF, a server time written loosely):
    /// the lines post with warnings rather than the file being refused.
    @Test func emptyTagsAreWarningsInTheShippedSpec() throws {
        let ofx1 = try spec("ofx1.yaml")
        let (report, records) = check(samples + "/ofx/ofx1_empty_tags_20241216.ofx", ofx1)
        #expect(report.failure == nil && report.recordsRejected == 0, "\(report.problems)")
        #expect(report.warnings.map { "\($0.kind ?? "") \($0.problem)" } == [
            "transaction field 'reference': required value is missing",
            "statement field 'currency': required value is missing",
        ])
        let transactions = records.filter { $0.kind(in: ofx1) == "transaction" }
        #expect(transactions.map { $0.value("amount", in: ofx1).units } == [1234, -250])
        #expect(transactions.map { $0.value("currency", in: ofx1) } == [.text("AUD"), .text("AUD")])
        #expect(transactions.map { $0.value("reference", in: ofx1) } == [.empty, .text("F-0002")])
        let statement = try #require(records.first { $0.kind(in: ofx1) == "statement" })
        #expect(statement.value("server_at", in: ofx1) == .text("20241216093914:014"))
        #expect(statement.value("closing_balance", in: ofx1).units == 10984)
    }

    @Test func shippedOFXAndCamt052Specs() throws {
        let ofx1 = try spec("ofx1.yaml")
        let (checking, records) = check(samples + "/ofx/ofx1_checking_20241216.ofx", ofx1)
        #expect(checking.failure == nil && checking.recordsRejected == 0)
        let amounts: [Int64] = records.filter { $0.kind(in: ofx1) == "transaction" }.compactMap { $0.value("amount", in: ofx1).units }
        #expect(amounts == [-20000, 150000, -4567, -1999])
        let camt052 = try spec("camt052.yaml")
        let (report, entries) = check(samples + "/camt052/camt052_intraday_20241216.xml", camt052)
        #expect(report.failure == nil && report.recordsRejected == 0, "\(report.problems)")
        let booked = entries.filter { $0.kind(in: camt052) == "entry" }.map { $0.value("booked_on", in: camt052) }
        // <Dt> and <DtTm> alike give the day; a pending entry has none.
        #expect(booked == [.date(CivilDate(year: 2024, month: 12, day: 16)!), .date(CivilDate(year: 2024, month: 12, day: 16)!), .empty, .date(CivilDate(year: 2024, month: 12, day: 16)!)])
        let amounts052: [Int64?] = entries.filter { $0.kind(in: camt052) == "entry" }.map { $0.value("amount", in: camt052).units }
        #expect(amounts052 == [100000, -34950, 20000, 80000])
    }
}
