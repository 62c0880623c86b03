import Foundation
import ReckonCore
import ReckonFiles
import Testing

@Suite("XML written through specs")
struct XMLWriterTests {
    static let day = CivilDate(year: 2024, month: 12, day: 16)!
    static let midnight = DateTime(date: day, time: TimeOfDay(hour: 0, minute: 0, second: 0)!, utcOffsetMinutes: 480)

    static let notification: [String: FieldValue] = [
        "message_id": .text("RECKON-20241216-1"), "created_at": .dateTime(midnight), "notification_id": .text("NTF-20241216"),
        "notified_at": .dateTime(midnight), "account": .text("6222020200012345678"), "currency": .text("CNY"),
    ]

    static func entry(_ reference: String, _ units: Int64, _ remittance: String, end: String? = nil) -> [String: FieldValue] {
        var values: [String: FieldValue] = [
            "entry_reference": .text(reference), "amount": .decimal(DecimalAmount(units: units, scale: 2)), "currency": .text("CNY"),
            "status": .text("booked"), "booked_on": .date(day), "value_on": .date(day), "transaction_code": .text("REPAY"),
            "remittance": .text(remittance),
        ]
        if let end { values["end_to_end_id"] = .text(end) }
        return values
    }

    /// The shipped sample's notification: two repayments in, one compensation out.
    static func writeSample(_ path: String) throws -> RenderedFile {
        let writer = try SpecFileWriter(spec: try spec("camt054.yaml"), path: path)
        try writer.add(kind: "entry", values: entry("R0001", 1_000_000, "L20241106001 period 1", end: "E2E-R0001"))
        try writer.add(kind: "entry", values: entry("R0002", 250_050, "L20241113002 period 1 & fee <waived>"))
        try writer.add(kind: "entry", values: entry("C0001", -100_000, "compensation L20241106003 \"overdue\""))
        return try writer.finish(header: notification)
    }

    /// The sample `reckon spec test` reads is what the renderer writes (set
    /// RECKON_WRITE_SAMPLES=1 to write it again after a deliberate change).
    @Test func theShippedSampleIsWhatTheRendererWrites() throws {
        let folder = ScratchFolder()
        let path = folder.path + "/CAMT054_20241216.xml"
        let file = try Self.writeSample(path)
        let sample = samples + "/camt054/CAMT054_20241216.xml"
        if ProcessInfo.processInfo.environment["RECKON_WRITE_SAMPLES"] == "1" {
            try FileManager.default.removeItem(atPath: sample)
            try FileManager.default.copyItem(atPath: path, toPath: sample)
        }
        #expect(FileManager.default.contents(atPath: path) == FileManager.default.contents(atPath: sample))
        let digest = try systemSHA256(path)
        #expect(file.sha256Hex == digest && file.sizeBytes == fileSize(path) && file.recordCount == 3)
        #expect(file.controlTotals == [
            ControlTotalValue(name: "entry count", value: "3"), ControlTotalValue(name: "net amount", value: "11,500.50"),
            ControlTotalValue(name: "credit count", value: "2"), ControlTotalValue(name: "credit total", value: "12,500.50"),
            ControlTotalValue(name: "debit count", value: "1"), ControlTotalValue(name: "debit total", value: "-1,000.00"),
        ])
    }

    /// Namespaced, in the schema's order, escaped; libxml2 reads it back (well-formed) to
    /// the same values, and the summary holds.
    @Test func aNotificationReadsBackThroughItsSpec() throws {
        let folder = ScratchFolder()
        let path = folder.path + "/n.xml"
        _ = try Self.writeSample(path)
        let text = try String(contentsOfFile: path, encoding: .utf8)
        #expect(text.hasPrefix("""
            <?xml version="1.0" encoding="UTF-8"?>
            <Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.054.001.02">
              <BkToCstmrDbtCdtNtfctn>
                <GrpHdr>
                  <MsgId>RECKON-20241216-1</MsgId>
                  <CreDtTm>2024-12-16T00:00:00+08:00</CreDtTm>
                </GrpHdr>
                <Ntfctn>
                  <Id>NTF-20241216</Id>
                  <CreDtTm>2024-12-16T00:00:00+08:00</CreDtTm>
                  <Acct>
                    <Id>
                      <Othr>
                        <Id>6222020200012345678</Id>
                      </Othr>
                    </Id>
                    <Ccy>CNY</Ccy>
                  </Acct>
                  <TxsSummry>
                    <TtlNtries>
                      <NbOfNtries>3</NbOfNtries>
                      <TtlNetNtryAmt>11500.50</TtlNetNtryAmt>
                      <CdtDbtInd>CRDT</CdtDbtInd>
                    </TtlNtries>
                    <TtlCdtNtries>
                      <NbOfNtries>2</NbOfNtries>
                      <Sum>12500.50</Sum>
                    </TtlCdtNtries>
                    <TtlDbtNtries>
                      <NbOfNtries>1</NbOfNtries>
                      <Sum>1000.00</Sum>
                    </TtlDbtNtries>
                  </TxsSummry>
                  <Ntry>
                    <NtryRef>R0001</NtryRef>
                    <Amt Ccy="CNY">10000.00</Amt>
                    <CdtDbtInd>CRDT</CdtDbtInd>
                    <Sts>BOOK</Sts>
                    <BookgDt>
                      <Dt>2024-12-16</Dt>
                    </BookgDt>
            """))
        #expect(text.contains("<Ustrd>L20241113002 period 1 &amp; fee &lt;waived&gt;</Ustrd>"))
        #expect(text.hasSuffix("      </Ntry>\n    </Ntfctn>\n  </BkToCstmrDbtCdtNtfctn>\n</Document>\n"))
        let camt = try spec("camt054.yaml")
        let (report, records) = check(path, camt)
        #expect(report.isClean, "\(report.problems.prefix(3)) \(report.controls.filter { !$0.holds })")
        let entries = records.filter { $0.kind(in: camt) == "entry" }
        #expect(entries.map { $0.value("amount", in: camt).units } == [1_000_000, 250_050, -100_000])
        #expect(entries.map { $0.value("direction", in: camt) } == [.text("CRDT"), .text("CRDT"), .text("DBIT")])
        #expect(entries.map { $0.value("account", in: camt) } == Array(repeating: .text("6222020200012345678"), count: 3))
        #expect(entries[1].value("remittance", in: camt) == .text("L20241113002 period 1 & fee <waived>"))
        #expect(entries[2].value("remittance", in: camt) == .text("compensation L20241106003 \"overdue\""))
        #expect(entries[0].value("end_to_end_id", in: camt) == .text("E2E-R0001") && entries[1].value("end_to_end_id", in: camt) == .empty)
        let header = try #require(records.first { $0.kind(in: camt) == "notification" })
        #expect(header.value("debit_total", in: camt).units == 100_000 && header.value("net_amount", in: camt).units == 1_150_050)
        #expect(header.value("message_id", in: camt) == .text("RECKON-20241216-1"))
    }

    /// Random entries (amounts of either sign, text with markup characters and Chinese)
    /// read back to the values written, with the summary's totals holding.
    @Test func randomNotificationsReadBackToTheSameValues() throws {
        let camt = try spec("camt054.yaml")
        let entryKind = camt.kind(named: "entry")!
        let folder = ScratchFolder()
        let alphabet = Array("ABC xyz 019 & < > \" ' 张伟还款 /-")
        for seed in UInt64(1)...25 {
            var rng = SplitMix64(seed: seed)
            let path = folder.path + "/r\(seed).xml"
            let writer = try SpecFileWriter(spec: camt, path: path)
            var written: [[String: FieldValue]] = []
            for index in 0..<Int.random(in: 0...30, using: &rng) {
                var text = String((0..<Int.random(in: 1...40, using: &rng)).map { _ in alphabet[Int.random(in: 0..<alphabet.count, using: &rng)] })
                text = text.trimmingCharacters(in: .whitespaces)
                if text.isEmpty { text = "x" }
                var values = Self.entry("E\(index)", Int64.random(in: -99_999_999...99_999_999, using: &rng), text)
                if Bool.random(using: &rng) { values["value_on"] = nil }
                try writer.add(kind: "entry", values: values)
                written.append(values)
            }
            _ = try writer.finish(header: Self.notification)
            let (report, records) = check(path, camt)
            #expect(report.isClean, "seed \(seed): \(report.problems.prefix(3)) \(report.controls.filter { !$0.holds })")
            let entries = records.filter { $0.kindIndex == entryKind.index }
            try #require(entries.count == written.count, "seed \(seed)")
            for (record, values) in zip(entries, written) {
                for (name, value) in values {
                    #expect(record.value(name, in: camt) == value, "seed \(seed): \(name)")
                }
            }
            let expectedNet = written.reduce(Int64(0)) { $0 + ($1["amount"]!.units ?? 0) }
            let header = try #require(records.first { $0.kind(in: camt) == "notification" })
            #expect(header.value("net_amount", in: camt).units == expectedNet, "seed \(seed)")
            #expect(header.value("entry_count", in: camt) == .integer(Int64(written.count)), "seed \(seed)")
        }
    }

    /// Elements go in the schema's order whatever order the spec lists its fields in; a
    /// prefixed namespace is declared on the root.
    @Test func elementsFollowTheSchemaNotTheSpec() throws {
        let scrambled = try SpecLoader.load(yaml: """
            format: xml
            namespaces: [urn:iso:std:iso:20022:tech:xsd:camt.053.001.02]
            prefixes: {rk: "urn:example:reckon"}
            direction: outbound
            render: {header: statement}
            records:
              statement:
                path: /Document/BkToCstmrStmt/Stmt
                fields:
                  closing:  {path: "Bal[Tp/CdOrPrtry/Cd=CLBD]/Amt", type: decimal}
                  opening:  {path: "Bal[Tp/CdOrPrtry/Cd=OPBD|PRCD]/Amt", type: decimal}
                  account:  {path: [Acct/Id/IBAN, Acct/Id/Othr/Id]}
                  id:       {path: Id}
                  note:     {path: rk:Note}
              entry:
                path: /Document/BkToCstmrStmt/Stmt/Ntry
                fields:
                  booked_on: {path: BookgDt/Dt, type: date, format: iso8601}
                  amount:    {path: Amt, type: decimal}
            controls:
              - {name: balance, sum: entry.amount, equals: statement.closing - statement.opening}
            """, origin: "scrambled.yaml")
        var renderer = try FileRenderer(plan: try RenderPlan(spec: scrambled))
        var body: [UInt8] = []
        try renderer.append(try renderer.detailKind(named: "entry"), [.date(Self.day), .decimal(DecimalAmount(units: 500, scale: 2))], to: &body)
        let header: [String: FieldValue] = ["opening": .decimal(DecimalAmount(units: 1_000, scale: 2)), "account": .text("DE89370400440532013000"),
                                            "id": .text("S1"), "note": .text("ours")]
        let bytes = try renderer.header(header) + body + renderer.trailer([:], header: header)
        let text = String(decoding: bytes, as: UTF8.self)
        let compact = text.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.joined()
        #expect(compact == """
            <?xml version="1.0" encoding="UTF-8"?><Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02" xmlns:rk="urn:example:reckon">\
            <BkToCstmrStmt><Stmt><Id>S1</Id><Acct><Id><IBAN>DE89370400440532013000</IBAN></Id></Acct>\
            <Bal><Tp><CdOrPrtry><Cd>CLBD</Cd></CdOrPrtry></Tp><Amt>15.00</Amt></Bal>\
            <Bal><Tp><CdOrPrtry><Cd>OPBD</Cd></CdOrPrtry></Tp><Amt>10.00</Amt></Bal>\
            <Ntry><Amt>5.00</Amt><BookgDt><Dt>2024-12-16</Dt></BookgDt></Ntry>\
            <rk:Note>ours</rk:Note></Stmt></BkToCstmrStmt></Document>
            """)
        let (report, records) = check(bytes: bytes, scrambled)
        #expect(report.isClean && records.count == 2)
        #expect(records.last?.value("note", in: scrambled) == .text("ours"))
    }

    @Test func xmlSpecsThatCannotBeWrittenAreRefusedAtLoad() {
        func refusal(_ records: String, render: String = "render: {header: notification}") -> String? {
            do {
                _ = try SpecLoader.load(yaml: """
                    format: xml
                    namespaces: [urn:iso:std:iso:20022:tech:xsd:camt.054.001.02]
                    direction: outbound
                    \(render)
                    records:
                    \(records)
                    """, origin: "x.yaml")
                return nil
            } catch {
                return error.description
            }
        }
        let notification = """
              notification:
                path: /Document/BkToCstmrDbtCdtNtfctn/Ntfctn
                fields:
                  id: {path: Id}
            """
        #expect(refusal(notification + """

              entry:
                path: /Document/BkToCstmrDbtCdtNtfctn/Ntfctn/Ntry
                fields:
                  amount: {path: Amnt, type: decimal}
            """) == "x.yaml:13: records.entry.fields.amount: cannot be written: <Amnt> is not an element of <Ntry> in camt.054.001.02")
        #expect(refusal(notification + """

              entry:
                path: /Document/BkToCstmrDbtCdtNtfctn/Ntfctn/Ntry
                fields:
                  account: {path: ../Acct/Id/Othr/Id}
            """) == "x.yaml:13: records.entry.fields.account: cannot be written: ../Acct/Id/Othr/Id is in an enclosing element, and no header field writes it there")
        #expect(refusal(notification + """

              entry:
                path: /Document/BkToCstmrDbtCdtNtfctn/Ntfctn/Ntry/NtryDtls/TxDtls
                fields:
                  amount: {path: Amt, type: decimal}
            """) == "x.yaml:11: records.entry: cannot be written: its path is not one element inside the header kind's /Document/BkToCstmrDbtCdtNtfctn/Ntfctn; the renderer writes each detail as a child of that element")
        #expect(refusal(notification + """

              entry:
                path: /Document/BkToCstmrDbtCdtNtfctn/Ntfctn/Ntry
                fields:
                  amount: {path: Amt, type: decimal}
            """, render: "render: {header: notification, trailer: entry}") == "x.yaml:11: records.entry: cannot be written: an XML file has no trailer kind; its totals go in the header (render: header)")
    }

    @Test func aControlCharacterIsRefusedNotWritten() throws {
        let folder = ScratchFolder()
        let writer = try SpecFileWriter(spec: try spec("camt054.yaml"), path: folder.path + "/bad.xml")
        let refusal = #expect(throws: RenderError.self) {
            try writer.add(kind: "entry", values: Self.entry("R1", 100, "bell\u{07}"))
        }
        #expect(refusal?.description == "record kind 'entry', field 'remittance': the value holds a control character, which XML cannot carry")
    }
}
