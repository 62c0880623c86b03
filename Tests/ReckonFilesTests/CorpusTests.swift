import ReckonCore
import ReckonFiles
import Testing

/// Every public sample file gives the counts and amounts that `samples/SOURCES.md` records
/// (what the originating projects' tests assert, or the files' own control records say).
@Suite("Corpus: NACHA")
struct NACHACorpusTests {
    let nacha: MappingSpec

    init() throws { nacha = try spec("nacha.yaml") }

    func file(_ name: String) -> (report: FileReport, records: [ParsedRecord]) {
        check(samples + "/nacha/" + name, nacha)
    }

    func control(_ report: FileReport, _ name: String) -> ControlVerdict? {
        report.controls.first { $0.control == name }
    }

    @Test func ppdDebit() throws {
        // Header right-trimmed to 75 characters, control line 55, no final newline.
        let (report, records) = file("ppd-debit.ach")
        #expect(report.isClean, "\(report.problems)")
        // short_records: right_trimmed: the origin name lost its trailing spaces, and the
        // reference code after it is absent.
        let header = try #require(records.first { $0.kind(in: nacha) == "file_header" })
        #expect(header.value("origin_name", in: nacha) == .text("My Bank Name"))
        #expect(header.value("reference_code", in: nacha) == .empty)
        #expect(report.count(of: "batch_header")?.read == 1)
        #expect(report.count(of: "padding")?.read == 5)
        let batch = try #require(records.first { $0.kind(in: nacha) == "batch_header" })
        #expect(batch.value("sec_code", in: nacha) == .text("PPD"))
        let entry = try #require(records.first { $0.kind(in: nacha) == "entry" })
        #expect(entry.value("amount", in: nacha).units == 100_000_000)
        #expect(entry.value("trace_number", in: nacha) == .text("121042880000001"))
        #expect(control(report, "file entry hash")?.declared?.units == 23_138_010)
        #expect(control(report, "file debit total")?.actual.units == 100_000_000)
        #expect(control(report, "file credit total")?.declared?.units == 0)
    }

    @Test func fileWithFiveDeclaredBatchesAndFourPresent() throws {
        let (report, records) = file("20110805A.ach")
        #expect(report.recordsRead == 93)
        #expect(report.recordsRejected == 0)
        #expect(report.count(of: "batch_header")?.read == 4)
        #expect(report.count(of: "entry")?.read == 48)
        #expect(report.count(of: "addenda")?.read == 35)
        let codes = records.filter { $0.kind(in: nacha) == "batch_header" }.map { $0.value("service_class", in: nacha).description }
        #expect(codes == ["debits", "credits", "debits", "credits"])  // 225, 220, 225, 220
        let secs = records.filter { $0.kind(in: nacha) == "batch_header" }.map { $0.value("sec_code", in: nacha).description }
        #expect(secs == ["PPD", "PPD", "IAT", "IAT"])
        // moov-io reports ErrFileCalculatedControlEquality("BatchCount", …, 5): so does reckon.
        let batches = try #require(control(report, "file batch count"))
        #expect(!batches.holds)
        #expect(batches.declared?.units == 5)
        #expect(batches.actual.units == 4)
        // The entry sums match the file control.
        #expect(control(report, "file debit total")?.holds == true)
        #expect(control(report, "file debit total")?.actual.units == 5_101_000)
        #expect(control(report, "file credit total")?.actual.units == 200)
        #expect(control(report, "file entry and addenda count")?.actual.units == 83)
        #expect(control(report, "file entry hash")?.declared?.units == 136_685_201)
        #expect(control(report, "file entry hash")?.holds == true)
    }

    @Test func fixedLengthWithoutLineBreaks() throws {
        // Five records of 94 characters back to back.
        let (report, records) = file("ppd-debit-fixedLength.ach")
        #expect(report.isClean)
        #expect(records.count == 5)
        #expect(records.first { $0.kind(in: nacha) == "entry" }?.value("amount", in: nacha).units == 10_500)
    }

    @Test func returns() throws {
        let (report, records) = file("return-WEB.ach")
        #expect(report.isClean)
        #expect(report.count(of: "batch_header")?.read == 2)
        let addenda = records.filter { $0.kind(in: nacha) == "addenda" }
        #expect(addenda.map { $0.value("addenda_type", in: nacha) } == [.text("99"), .text("99")])
        #expect(addenda.map { String($0.value("payment_info", in: nacha).description.prefix(3)) } == ["R01", "R03"])
        #expect(control(report, "file debit total")?.actual.units == 12_354)
        #expect(control(report, "file credit total")?.actual.units == 4_565)
    }

    @Test func notificationOfChange() throws {
        let (report, records) = file("cor-example.ach")
        #expect(report.isClean)
        #expect(records.first { $0.kind(in: nacha) == "batch_header" }?.value("sec_code", in: nacha) == .text("COR"))
        #expect(records.first { $0.kind(in: nacha) == "entry" }?.value("amount", in: nacha).units == 0)
        #expect(records.first { $0.kind(in: nacha) == "addenda" }?.value("addenda_type", in: nacha) == .text("98"))
    }

    @Test func internationalWithAddenda10To18() throws {
        let (report, records) = file("iat-debit.ach")
        #expect(report.isClean)
        let types = records.filter { $0.kind(in: nacha) == "addenda" }.map { $0.value("addenda_type", in: nacha).description }
        #expect(types == ["10", "11", "12", "13", "14", "15", "16", "17", "18"])
        #expect(control(report, "file debit total")?.actual.units == 100_000)
    }

    @Test func shortFileControlLine() throws {
        let (report, _) = file("short-line.ach")
        #expect(report.isClean)
        #expect(report.count(of: "batch_header")?.read == 1)
    }

    @Test func extendedCharacterCountsAsOnePosition() throws {
        let (report, records) = file("extended-ascii.ach")
        #expect(report.isClean)
        #expect(report.count(of: "entry")?.read == 6)
        #expect(records.contains { $0.kind(in: nacha) == "entry" && $0.value("individual_name", in: nacha) == .text("Distracted Aużtin") })
        #expect(control(report, "file debit total")?.actual.units == 120)
        #expect(control(report, "file credit total")?.actual.units == 120)
        // Counting bytes (as moov-io does without the explicit content type), the line with
        // ż is 95 bytes and is refused with the reason.
        let bytesSpec = try SpecLoader.load(
            yaml: String(decoding: try FileBytes(mappings + "/nacha.yaml"), as: UTF8.self)
                .replacingOccurrences(of: "positions: characters", with: "positions: bytes"),
            origin: "nacha-bytes.yaml")
        let (byBytes, _) = check(samples + "/nacha/extended-ascii.ach", bytesSpec)
        #expect(byBytes.recordsRejected == 1)
        let problem = try #require(byBytes.problems.first)
        #expect(problem.location.line == 15)
        #expect(problem.problem.reason.contains("95 bytes long; this layout's records are 94"))
        #expect(problem.problem.reason.contains("set positions: characters"))
    }
}

@Suite("Corpus: camt.053")
struct CamtCorpusTests {
    let camt: MappingSpec

    init() throws { camt = try spec("camt053.yaml") }

    func file(_ name: String) -> (report: FileReport, records: [ParsedRecord]) {
        check(samples + "/camt053/" + name, camt)
    }

    func entries(_ records: [ParsedRecord]) -> [ParsedRecord] { records.filter { $0.kind(in: camt) == "entry" } }
    func statements(_ records: [ParsedRecord]) -> [ParsedRecord] { records.filter { $0.kind(in: camt) == "statement" } }

    @Test func version2() throws {
        let (report, records) = file("valid_example.xml")
        #expect(report.isClean)
        let statement = try #require(statements(records).first)
        #expect(statement.value("statement_id", in: camt) == .text("0352C5320131227220503"))
        #expect(statement.value("sequence", in: camt) == .integer(130_000_005))
        #expect(statement.value("from_at", in: camt) == .empty)
        #expect(statement.value("opening_balance", in: camt).units == 3306)
        #expect(statement.value("opening_on", in: camt) == .date(CivilDate(year: 2013, month: 12, day: 27)!))
        #expect(statement.value("closing_balance", in: camt).units == 2306)
        let first = try #require(entries(records).first)
        // A debit of 2.00 (the text says credit, the indicator says debit: the indicator wins).
        #expect(first.value("amount", in: camt).units == -200)
        #expect(first.value("currency", in: camt) == .text("EUR"))
        #expect(first.value("booked_on", in: camt) == .date(CivilDate(year: 2013, month: 12, day: 27)!))
        #expect(first.value("value_on", in: camt) == .date(CivilDate(year: 2013, month: 12, day: 27)!))
        #expect(first.value("additional_info", in: camt) == .text("Überweisungs-Gutschrift; GVC: SEPA Credit Transfer (Einzelbuchung-Haben)"))
        #expect(first.value("bank_reference", in: camt) == .text("2013122710583450000"))
        #expect(first.value("entry_reference", in: camt) == .text("1234567890sdfghjk"))
        #expect(first.value("end_to_end_id", in: camt) == .text("EndToEndReference"))
        #expect(first.value("remittance", in: camt) == .text("TEST BERWEISUNG MITTELS BLZUND KONTONUMMER - DTA"))
        // Each entry carries its statement's account and balances.
        #expect(entries(records).allSatisfy { $0.value("account", in: camt) == .text("DE14740618130000033626") })
        #expect(entries(records).allSatisfy { $0.value("opening_balance", in: camt).units == 3306 })
        #expect(entries(records).allSatisfy { $0.value("closing_balance", in: camt).units == 2306 })
        // 33.06 - 10.00 = 23.06.
        #expect(entries(records).compactMap { $0.value("amount", in: camt).units }.reduce(0, +) == -1000)
        #expect(report.controls.map(\.holds) == [true])
    }

    @Test func debitOpeningBalance() throws {
        let (report, records) = file("valid_example_with_debit.xml")
        #expect(statements(records).first?.value("opening_balance", in: camt).units == -3306)
        // -33.06 - 10.00 is not 23.06.
        #expect(report.controls.map(\.holds) == [false])
        #expect(report.recordsRejected == 0)
    }

    @Test func version4() throws {
        let (report, records) = file("valid_example_v4.xml")
        #expect(report.isClean)
        #expect(entries(records).count == 13)
        #expect(statements(records).first?.value("opening_balance", in: camt).units == 32_215_216)
        #expect(statements(records).first?.value("closing_balance", in: camt).units == 32_268_977)
        #expect(entries(records).allSatisfy { $0.value("currency", in: camt) == .text("CHF") })
        #expect(entries(records).compactMap { $0.value("amount", in: camt).units }.reduce(0, +) == 53_761)
    }

    @Test func version8() throws {
        let (report, records) = file("valid_example_v8.xml")
        let statement = try #require(statements(records).first)
        #expect(statement.value("statement_id", in: camt) == .text("R30B4SA880HMZ9XA"))
        #expect(statement.value("sequence", in: camt) == .integer(122))
        #expect(statement.value("from_at", in: camt).description == "2023-06-20T00:00:00+02:00")
        #expect(statement.value("to_at", in: camt).description == "2023-06-20T23:59:59+02:00")
        #expect(statement.value("available_balance", in: camt).units == 8_341_525)
        #expect(entries(records).count == 3)
        let first = try #require(entries(records).first)
        let second = try #require(entries(records).dropFirst().first)
        #expect(second.value("amount", in: camt).units == 8885)
        #expect(second.value("end_to_end_id", in: camt) == .text("435A9287E088BDB1D97FAABD181C70C8"))
        #expect(first.value("remittance", in: camt) == .text("INVOICE R77561"))
        // Status is <Sts><Cd>BOOK</Cd></Sts> in version 8.
        #expect(entries(records).allSatisfy { $0.value("status", in: camt) == .text("BOOK") })
        // +542.28 does not take 82721.95 to 84515.25.
        #expect(report.controls.map(\.holds) == [false])
        #expect(report.controls.first?.declared?.units == 179_330)
        #expect(report.controls.first?.actual.units == 54_228)
    }

    @Test func twoStatementsInOneMessage() throws {
        let (report, records) = file("camt053.v2.multi.statement.xml")
        #expect(report.isClean)
        let found = statements(records)
        #expect(found.map { $0.value("statement_id", in: camt) } == [.text("253EURNL26VAYB8060476890"), .text("254EURNL26VAYB8060476890")])
        let second = try #require(found.dropFirst().first)
        #expect(second.value("opening_balance", in: camt).units == 2700)
        #expect(second.value("closing_balance", in: camt).units == 2000)
        let amounts = entries(records).map { $0.value("amount", in: camt).units }
        #expect(amounts == [885, -700])
        #expect(entries(records).map { $0.value("end_to_end_id", in: camt) } == [.text("000000001"), .text("000000002")])
        #expect(entries(records).map { $0.value("remittance", in: camt) } == [.text("Transaction Description 1"), .text("Transaction Description 2")])
        // Each entry carries its own statement, the one it is nested in, and its balances.
        #expect(entries(records).map { $0.value("statement_id", in: camt) } == [.text("253EURNL26VAYB8060476890"), .text("254EURNL26VAYB8060476890")])
        #expect(entries(records).map { $0.value("opening_balance", in: camt).units } == [1815, 2700])
        #expect(entries(records).map { $0.value("closing_balance", in: camt).units } == [2700, 2000])
        #expect(report.controls.map(\.holds) == [true, true])
    }

    @Test func threeDecimalAmounts() throws {
        let (report, records) = file("camt053.v2.five.decimals.xml")
        #expect(report.recordsRejected == 0)
        #expect(statements(records).first?.value("opening_balance", in: camt).units == 1815)
        #expect(statements(records).first?.value("closing_balance", in: camt).units == 2705)
        let entry = try #require(entries(records).first)
        #expect(entry.value("amount", in: camt).units == 885)
        #expect(entry.value("booked_on", in: camt) == .date(CivilDate(year: 2014, month: 12, day: 31)!))
        #expect(entry.value("value_on", in: camt) == .date(CivilDate(year: 2015, month: 1, day: 2)!))
    }

    @Test func messageWithoutStatements() throws {
        let (report, records) = file("camt053.v2.wrong.xml")
        #expect(records.isEmpty)
        #expect(!report.isClean)
        #expect(report.structure == ["no 'statement' record; the spec expects at least 1 (truncated file, or the wrong file?)"])
    }
}

@Suite("Corpus: Chinese payment bills")
struct BillCorpusTests {
    func transactions(_ specName: String, _ file: String) throws -> (MappingSpec, FileReport, [ParsedRecord]) {
        let loaded = try spec(specName)
        let (report, records) = check(samples + "/cn-payment-bills/" + file, loaded)
        return (loaded, report, records.filter { $0.kind(in: loaded) == "transaction" })
    }

    func day(_ value: FieldValue) -> String {
        if case .dateTime(let t) = value { return t.date.description }
        return value.description
    }

    @Test func alipayGB18030() throws {
        let (alipay, report, rows) = try transactions("alipay-bill.yaml", "example-alipay-records.csv")
        #expect(report.recordsRejected == 0)
        #expect(rows.count == 10)
        // The seven transactions double-entry-generator's rules keep, in its order.
        let expected: [(String, Int64)] = [("2023-01-18", 22_222_850), ("2023-02-02", 9934), ("2023-02-04", 1603), ("2023-02-08", 2000),
                                           ("2023-02-12", 4974), ("2023-07-10", 990), ("2023-07-10", 8200)]
        let all = rows.map { (day($0.value("occurred_at", in: alipay)), $0.value("amount", in: alipay).units ?? -1) }
        for (date, units) in expected {
            #expect(all.contains { $0.0 == date && $0.1 == units }, "\(date) \(units)")
        }
        let red = try #require(rows.first { day($0.value("occurred_at", in: alipay)) == "2023-01-18" })
        #expect(red.value("direction", in: alipay) == .text("income"))
        #expect(red.value("category", in: alipay) == .text("转账红包"))
        // The order number had a TAB after it.
        #expect(red.value("reference", in: alipay) == .text("2xxxxxxxxxxxxxxxxxxxxxxxxx9"))
        #expect(rows.contains { $0.value("status", in: alipay) == .text("交易关闭") })
        #expect(rows.contains { $0.value("status", in: alipay) == .text("退款成功") })
        // The summary claims 66 records against 10 rows: read, and reported.
        #expect(report.controls.first?.declared?.units == 66)
        #expect(report.controls.first?.holds == false)
    }

    @Test func wechat() throws {
        let (wechat, report, rows) = try transactions("wechat-bill.yaml", "example-wechat-records.csv")
        #expect(report.recordsRejected == 0)
        #expect(rows.count == 27)
        // SOURCES.md lists the amounts with a withdrawal's service fee split off.
        let expected: [Int64] = [54858, 130000, 35, 2816, 263478, 123, 300000, 1000000, 550500, 2300, 200000, 1200, 50000,
                                 100010, 1000, 10000, 7, 224346, 1200, 1200, 7, 3699, 500, 990, 5000, 1, 1]
        let net = rows.map { ($0.value("amount", in: wechat).units ?? 0) - ($0.value("fee", in: wechat).units ?? 0) }
        #expect(net.sorted() == expected.sorted())
        let withdrawal = try #require(rows.first { $0.value("amount", in: wechat).units == 10010 })
        #expect(withdrawal.value("fee", in: wechat).units == 10)
        #expect(withdrawal.value("reference", in: wechat) == .text("207210715100077148235523883175"))
        #expect(rows.contains { $0.value("type", in: wechat) == .text("deg-不认识的-txType") })
        #expect(report.controls.first?.declared?.units == 43)
    }

    @Test func jdWithBOMAndRefunds() throws {
        let (jd, report, rows) = try transactions("jd-bill.yaml", "example-jd-records.csv")
        #expect(report.isClean)
        #expect(rows.count == 26)
        let first = try #require(rows.last)
        #expect(day(first.value("occurred_at", in: jd)) == "2024-12-05")
        #expect(first.value("amount", in: jd).units == 23561)
        #expect(first.value("refunded", in: jd).units == 23550)
        let latest = try #require(rows.first)
        #expect(day(latest.value("occurred_at", in: jd)) == "2024-12-30")
        #expect(latest.value("amount", in: jd).units == 1020)
        // 共：26笔记录 holds.
        #expect(report.controls.map(\.holds) == [true])
    }

    @Test func icbcPaddedFieldsAndFooter() throws {
        let (icbc, report, rows) = try transactions("icbc-debit.yaml", "example-icbc-debit-v2-records.csv")
        #expect(report.recordsRejected == 0)
        #expect(rows.count == 11)
        let booked = rows.map { row -> (String, Int64) in
            let amount = row.value("booked_income", in: icbc).units ?? row.value("booked_expense", in: icbc).units ?? -1
            return (row.value("booked_on", in: icbc).description, amount)
        }
        let expected: [(String, Int64)] = [("2023-02-10", 3000), ("2023-02-20", 123_456), ("2023-04-14", 123_456), ("2023-04-14", 50000),
                                           ("2023-04-20", 123_456), ("2023-04-22", 123_456), ("2023-05-02", 1340)]
        for (date, units) in expected {
            #expect(booked.contains { $0.0 == date && $0.1 == units }, "\(date) \(units)")
        }
        #expect(rows.first?.value("counterparty", in: icbc) == .text("深圳市财付通支付科技有限公司"))
        #expect(rows.first?.value("income", in: icbc) == .empty)  // "-" means none
        // The footer's totals are placeholders in the sample and do not match the rows.
        #expect(report.count(of: "total")?.read == 1)
        #expect(report.controls.map(\.holds) == [false, false])
    }
}

/// Reads a small file whole.
func FileBytes(_ path: String) throws -> [UInt8] {
    let source = try FileByteSource(path: path)
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 1 << 16)
    while true {
        let count = try chunk.withUnsafeMutableBytes { try source.read(into: $0) }
        if count == 0 { return bytes }
        bytes += chunk[0..<count]
    }
}

@Suite("The sample bank's settlement file, cut short")
struct ShortSettlementTests {
    let settlement: MappingSpec
    let lines: [[UInt8]]

    init() throws {
        settlement = try spec("bank-settlement.yaml")
        let bytes = try FileBytes(samples + "/partners/BANK_SETTLE_20241215.txt")
        lines = bytes.split(separator: 0x0A).map { Array($0.dropLast()) }  // CRLF
    }

    /// The sample with its trailer (line 7) replaced.
    func withTrailer(_ trailer: [UInt8]) -> FileReport {
        check(bytes: (lines.dropLast() + [trailer]).flatMap { $0 + [0x0D, 0x0A] }, settlement).report
    }

    @Test func theSampleIsWhole() throws {
        #expect(lines.count == 7)
        #expect(lines.allSatisfy { $0.count == 200 })
        #expect(check(samples + "/partners/BANK_SETTLE_20241215.txt", settlement).report.isClean)
    }

    @Test func aTrailerWithoutItsPaddingIsRefused() throws {
        var trailer = try #require(lines.last)
        while trailer.last == 0x20 { trailer.removeLast() }
        let report = withTrailer(trailer)
        #expect(!report.isClean)
        #expect(report.count(of: "trailer")?.rejected == 1)
        #expect(report.problems.map(\.description) == [
            "line 7: trailer the record is 101 bytes long; this layout's records are 200: only filler after the last field is missing; short records are refused (short_records: reject)",
        ])
    }

    @Test func aTrailerCutMidFieldIsRefused() throws {
        let trailer = try #require(lines.last)
        let report = withTrailer(Array(trailer.prefix(20)))
        #expect(!report.isClean)
        #expect(report.problems.map(\.description) == [
            "line 7: trailer the record is 20 bytes long; this layout's records are 200: total_amount (12–29) is cut after 9 of its 18 bytes and principal_total (30–47), interest_total (48–65), penalty_total (66–83), fee_total (84–101) are missing; short records are refused (short_records: reject)",
        ])
        // No total was read from it: every control says so rather than comparing with 0.00.
        #expect(report.controls.allSatisfy { !$0.holds && $0.declared == nil })
    }
}
