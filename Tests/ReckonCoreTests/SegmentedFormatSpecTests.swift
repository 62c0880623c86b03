import Foundation
import ReckonCore
import Testing

/// The shipped specs of formats whose records span several lines (CODA, AEB43, CNAB 240) or
/// whose layout depends on a code (CODA's communication), and CNAB 400, each read from its
/// sample to the amounts and dates written into it.
@Suite("CODA, AEB43 and CNAB specs")
struct SegmentedFormatSpecTests {
    func load(_ name: String) throws -> MappingSpec {
        try SpecLoader.load(yaml: String(contentsOfFile: mappingsFolder + "/" + name, encoding: .utf8), origin: name)
    }

    func sample(_ path: String) throws -> [UInt8] {
        try [UInt8](contentsOfFile: mappingsFolder + "/samples/" + path)
    }

    func records(_ records: [ParsedRecord], _ kind: String, in spec: MappingSpec) -> [ParsedRecord] {
        records.filter { spec.kinds[$0.kindIndex].name == kind }
    }

    @Test func coda() throws {
        let spec = try load("coda.yaml")
        let (report, all) = read(spec, try sample("coda/coda_statement_20241216.cod"))
        #expect(problemTexts(report) == [])
        #expect(report.isClean)
        let movements = records(all, "movement", in: spec)
        #expect(movements.map(\.location.line) == [3, 6, 8])
        #expect(spec.kind(named: "movement")?.event == .bankStatementLine)
        #expect(movements.map { value($0, "account", in: spec) } == Array(repeating: .text("BE68539007547034"), count: 3))
        #expect(movements.map { value($0, "currency", in: spec) } == Array(repeating: .text("EUR"), count: 3))
        #expect(movements.map { value($0, "amount", in: spec) } == [amount(1_250_000, scale: 3), amount(-300_500, scale: 3), amount(-49_990, scale: 3)])
        #expect(movements.map { value($0, "booked_on", in: spec) } == Array(repeating: .date(date(2024, 12, 16)), count: 3))
        #expect(value(movements[2], "value_on", in: spec) == .date(date(2024, 12, 15)))
        // The communication: structured (type 101, the Belgian structured reference) or free.
        #expect(value(movements[0], "structured_type", in: spec) == .text("101"))
        #expect(value(movements[0], "structured_communication", in: spec) == .text("123456789002"))
        #expect(value(movements[0], "communication", in: spec) == .empty)
        #expect(value(movements[1], "communication", in: spec) == .text("INVOICE 2024-117 OFFICE SUPPLIES"))
        #expect(value(movements[1], "structured_type", in: spec) == .empty)
        // The 22 and 23 lines are parts of their movement.
        #expect(value(movements[0], "counterparty_bic", in: spec) == .text("GEBABEBB"))
        #expect(value(movements[0], "counterparty_name", in: spec) == .text("CLIENT NV"))
        #expect(value(movements[0], "counterparty_account", in: spec) == .text("BE71096123456769"))
        #expect(movements.map { value($0, "detail_count", in: spec) } == [.integer(1), .integer(0), .integer(0)])
        #expect(movements.map { value($0, "counterparty_count", in: spec) } == [.integer(1), .integer(1), .integer(0)])
        #expect(value(movements[1], "counterparty_name", in: spec) == .text("OFFICE SUPPLIER BV"))
        let balance = try #require(records(all, "new_balance", in: spec).first)
        #expect(value(balance, "closing_balance", in: spec) == amount(2_399_510, scale: 3))
        #expect(value(balance, "account", in: spec) == .text("BE68539007547034"))
        #expect(value(balance, "closing_on", in: spec) == .date(date(2024, 12, 16)))
        #expect(report.controls.map(\.control) == ["debit total", "credit total", "new balance", "record count"])
        #expect(report.controls.map(\.actual) == [DecimalAmount(units: -350_490, scale: 3), DecimalAmount(units: 1_250_000, scale: 3),
                                                  DecimalAmount(units: 899_510, scale: 3), DecimalAmount(units: 9, scale: 0)])
        #expect(report.controls.map(\.holds).allSatisfy { $0 })
    }

    @Test func codaLineWithoutItsMovement() throws {
        let spec = try load("coda.yaml")
        let (report, _) = read(spec, try sample("coda/coda_orphan_23.cod"))
        #expect(report.problems.map(\.location.line) == [6])
        #expect(report.problems.first?.problem.reason
                == "a 'counterparty' line one too many: the 'movement' record on line 3 already has 1, the most it takes (occurs: 0..1)")
        // The debit total misses 300.500 (as does the new balance); the record count one line.
        #expect(report.controls.map(\.holds) == [false, true, false, false])
    }

    @Test func aeb43() throws {
        let spec = try load("aeb43.yaml")
        let (report, all) = read(spec, try sample("aeb43/aeb43_statement_20241231.txt"))
        #expect(problemTexts(report) == [])
        #expect(report.isClean)
        let header = try #require(records(all, "account_header", in: spec).first)
        #expect(value(header, "opening_balance", in: spec) == amount(150_000))
        #expect(value(header, "start_on", in: spec) == .date(date(2024, 12, 1)))
        #expect(value(header, "end_on", in: spec) == .date(date(2024, 12, 31)))
        let movements = records(all, "movement", in: spec)
        #expect(movements.map(\.location.line) == [2, 5, 6])
        #expect(spec.kind(named: "movement")?.event == .bankStatementLine)
        #expect(movements.map { value($0, "account", in: spec) } == Array(repeating: .text("008102370123456789"), count: 3))
        #expect(movements.map { value($0, "currency_code", in: spec) } == Array(repeating: .text("978"), count: 3))
        #expect(movements.map { value($0, "amount", in: spec) } == [amount(-25_075), amount(120_000), amount(-4_990)])
        #expect(movements.map { value($0, "booked_on", in: spec) }
                == [.date(date(2024, 12, 3)), .date(date(2024, 12, 10)), .date(date(2024, 12, 20))])
        #expect(value(movements[1], "value_on", in: spec) == .date(date(2024, 12, 11)))
        #expect(movements.map { value($0, "concept_count", in: spec) } == [.integer(2), .integer(0), .integer(1)])
        #expect(value(movements[0], "concept_1_1", in: spec) == .text("ENDESA ENERGIA SA"))
        #expect(value(movements[0], "concept_2_1", in: spec) == .text("SUMINISTRO ELECTRICO"))
        #expect(value(movements[0], "concept_1_2", in: spec) == .text("CONTRATO 99887766"))
        #expect(value(movements[0], "concept_1_3", in: spec) == .empty)
        #expect(value(movements[2], "original_currency", in: spec) == .text("840"))
        #expect(value(movements[2], "original_amount", in: spec) == amount(5_400))
        let trailer = try #require(records(all, "account_trailer", in: spec).first)
        #expect(value(trailer, "closing_balance", in: spec) == amount(239_935))
        #expect(report.controls.map(\.actual) == [
            DecimalAmount(units: 2, scale: 0), DecimalAmount(units: -30_065, scale: 2), DecimalAmount(units: 1, scale: 0),
            DecimalAmount(units: 120_000, scale: 2), DecimalAmount(units: 89_935, scale: 2), DecimalAmount(units: 9, scale: 0),
        ])
        #expect(report.controls.map(\.holds).allSatisfy { $0 })
    }

    @Test func cnab240() throws {
        let spec = try load("cnab240.yaml")
        let (report, all) = read(spec, try sample("cnab/cnab240_cobranca_retorno_20241216.ret"))
        #expect(problemTexts(report) == [])
        #expect(report.isClean)
        let titles = records(all, "title", in: spec)
        #expect(titles.map(\.location.line) == [3, 5, 7])
        #expect(titles.map { value($0, "document_number", in: spec) } == [.text("NF-1001"), .text("NF-1002"), .text("NF-1003")])
        #expect(titles.map { value($0, "face_amount", in: spec) } == [amount(150_000), amount(82_040), amount(30_000)])
        #expect(titles.map { value($0, "paid_amount", in: spec) } == [amount(151_500), amount(82_040), amount(0)])
        #expect(titles.map { value($0, "net_amount", in: spec) } == [amount(151_250), amount(81_790), amount(0)])
        #expect(value(titles[0], "interest", in: spec) == amount(1_500))
        #expect(value(titles[0], "due_on", in: spec) == .date(date(2024, 12, 10)))
        #expect(value(titles[0], "occurred_on", in: spec) == .date(date(2024, 12, 16)))
        #expect(value(titles[0], "credited_on", in: spec) == .date(date(2024, 12, 17)))
        #expect(value(titles[2], "credited_on", in: spec) == .empty)
        #expect(value(titles[2], "occurrence", in: spec) == .text("02"))
        #expect(value(titles[0], "payer_name", in: spec) == .text("MARIA DA SILVA"))
        #expect(value(titles[0], "company_use", in: spec) == .text("LOAN-L0000001"))
        // The lot counts 8 lines (header, 3 × T + U, trailer); the file 10.
        #expect(report.controls.map(\.actual) == [
            DecimalAmount(units: 8, scale: 0), DecimalAmount(units: 3, scale: 0), DecimalAmount(units: 262_040, scale: 2),
            DecimalAmount(units: 1, scale: 0), DecimalAmount(units: 10, scale: 0),
        ])
        #expect(report.controls.map(\.holds).allSatisfy { $0 })
    }

    @Test func cnab240TitleWithoutItsUSegment() throws {
        let spec = try load("cnab240.yaml")
        let (report, records) = read(spec, try sample("cnab/cnab240_missing_u.ret"))
        #expect(problemTexts(report) == [
            "line 5: title a 'title' record needs a 'u' line (positions 8–14 match 3[0-9]{5}U) after line 5; line 6 is not one",
        ])
        #expect(records.filter { spec.kinds[$0.kindIndex].name == "title" }.count == 2)
        // The lot and the file now have one line fewer than their trailers say.
        #expect(report.controls.map(\.holds) == [false, true, true, true, false])
    }

    @Test func cnab400() throws {
        let spec = try load("cnab400.yaml")
        let (report, all) = read(spec, try sample("cnab/cnab400_bradesco_retorno_20241216.ret"))
        #expect(problemTexts(report) == [])
        #expect(report.isClean)
        let titles = records(all, "title", in: spec)
        #expect(titles.map { value($0, "face_amount", in: spec) } == [amount(150_000), amount(82_040), amount(30_000)])
        #expect(titles.map { value($0, "paid_amount", in: spec) } == [amount(151_500), amount(82_040), amount(0)])
        #expect(titles.map { value($0, "occurrence", in: spec) } == [.text("06"), .text("06"), .text("02")])
        #expect(value(titles[0], "occurred_on", in: spec) == .date(date(2024, 12, 16)))
        #expect(value(titles[0], "due_on", in: spec) == .date(date(2024, 12, 10)))
        #expect(value(titles[0], "credited_on", in: spec) == .date(date(2024, 12, 17)))
        #expect(value(titles[2], "credited_on", in: spec) == .empty)
        #expect(value(titles[0], "fee", in: spec) == amount(250))
        #expect(value(titles[0], "interest", in: spec) == amount(1_500))
        #expect(report.controls.map(\.actual) == [
            DecimalAmount(units: 5, scale: 0), DecimalAmount(units: 1, scale: 0), DecimalAmount(units: 30_000, scale: 2),
            DecimalAmount(units: 2, scale: 0), DecimalAmount(units: 233_540, scale: 2),
        ])
        #expect(report.controls.map(\.holds).allSatisfy { $0 })
    }
}
