import Foundation
import PropertyBased
import ReckonCore
import Testing

/// A whole file through a FileRenderer: prologue, header, details, trailer, epilogue.
func renderFile(_ spec: MappingSpec, details: [(String, [FieldValue])], header: [String: FieldValue] = [:],
                trailer: [String: FieldValue] = [:]) throws -> (bytes: [UInt8], renderer: FileRenderer) {
    var renderer = try FileRenderer(plan: try RenderPlan(spec: spec))
    var body: [UInt8] = []
    for (kindName, values) in details {
        try renderer.append(try renderer.detailKind(named: kindName), values, to: &body)
    }
    try renderer.checkOccurrences()
    let opening = try renderer.header(header)
    let closing = try renderer.trailer(trailer, header: header)
    return (renderer.prologue() + opening + body + closing, renderer)
}

/// The spec's writable (outbound or both) text-format specs in `mappings/`.
let writableShippedSpecs: [String] = {
    let names = (try? FileManager.default.contentsOfDirectory(atPath: mappingsFolder)) ?? []
    return names.filter { $0.hasSuffix(".yaml") }.sorted().filter { name in
        guard let spec = try? shippedSpec(name) else { return false }
        if case .xml = spec.format { return false }
        return spec.direction.writes
    }
}()

@Suite("Whole files through specs")
struct FileRenderTests {
    /// The totals a control declares, summed here by brute force over the values written:
    /// count or sum of the measured kind, `where` filters compared on canonical text.
    static func bruteForceTotal(_ control: ControlTotal, _ details: [(String, [FieldValue])], spec: MappingSpec) -> DecimalAmount {
        var units: Int64 = 0
        var scale = 0
        for (kindName, values) in details {
            let kind = spec.kind(named: kindName)!
            let passes = control.filter.allSatisfy { filter in
                kind.fieldIndex(named: filter.field).map { filter.values.contains(values[$0].description) } ?? false
            }
            guard passes else { continue }
            switch control.measure {
            case .count(let kinds):
                if kinds.contains(kindName) { units += 1 }
            case .sum(let summed, let field):
                guard summed == kindName else { continue }
                switch values[kind.fieldIndex(named: field)!] {
                case .decimal(let d):
                    if case .decimal(let format) = kind.fields[kind.fieldIndex(named: field)!].type { scale = format.scale }
                    units += d.rescaled(to: scale)!.units
                case .integer(let n): units += n
                default: break
                }
            case .sums, .sequence, .same:
                Issue.record("a renderable control counts or sums one field")
            }
        }
        if let modulo = control.modulo, scale == 0 { units %= modulo }
        return DecimalAmount(units: units, scale: scale)
    }

    @Test func theShippedWritableSpecsAreTheOnesExpected() {
        #expect(writableShippedSpecs == ["bank-plan.yaml", "bank-settlement.yaml", "platform-loans.yaml", "platform-repayments.yaml",
                                         "platform-results.yaml", "reckon-alerts.yaml", "reckon-plan.yaml", "reckon-settlement.yaml"])
    }

    /// Random details and envelope values written through each writable shipped spec read
    /// back through the same spec to the same values, and the computed totals are the
    /// brute-force sums of what was written.
    @Test(arguments: writableShippedSpecs)
    func writtenFilesReadBackToTheSameValuesAndTotals(_ name: String) async throws {
        let spec = try shippedSpec(name)
        let plan = try RenderPlan(spec: spec)
        await propertyCheck(count: 40, input: Gen.uint64()) { seed in
            var generator = RecordGenerator(spec: spec, rng: SplitMix64(seed: seed))
            var details: [(String, [FieldValue])] = []
            for _ in 0..<Int.random(in: 0...25, using: &generator.rng) {
                let kind = plan.detailKinds[Int.random(in: 0..<plan.detailKinds.count, using: &generator.rng)]
                details.append((kind.name, generator.record(kind)))
            }
            // Envelope values given by the caller: everything but the controls' targets.
            let targets = Set(spec.controls.map { "\($0.declared[0].kind).\($0.declared[0].field)" })
            func envelope(_ kind: RecordKind?) -> [String: FieldValue] {
                guard let kind else { return [:] }
                var named: [String: FieldValue] = [:]
                for (field, value) in zip(kind.fields, generator.record(kind)) where !targets.contains("\(kind.name).\(field.name)") {
                    named[field.name] = value
                }
                return named
            }
            let header = envelope(plan.headerKind), trailer = envelope(plan.trailerKind)
            let (bytes, renderer) = try renderFile(spec, details: details, header: header, trailer: trailer)
            let (report, records) = read(spec, bytes)
            #expect(report.isClean, "seed \(seed): \(problemTexts(report)) \(report.controls.filter { !$0.holds })")
            #expect(report.controlsHold && report.controls.count == spec.controls.count, "seed \(seed)")
            let envelopeCount = (plan.headerKind == nil ? 0 : 1) + (plan.trailerKind == nil ? 0 : 1)
            try #require(records.count == details.count + envelopeCount, "seed \(seed)")
            let detailRecords = records.filter { $0.kindIndex != plan.headerKind?.index && $0.kindIndex != plan.trailerKind?.index }
            for (record, (kindName, values)) in zip(detailRecords, details) {
                #expect(spec.kinds[record.kindIndex].name == kindName && record.values == values, "seed \(seed), line \(record.location.line)")
            }
            if let headerKind = plan.headerKind {
                #expect(records.first?.kindIndex == headerKind.index, "seed \(seed): the header comes first")
            }
            if let trailerKind = plan.trailerKind {
                #expect(records.last?.kindIndex == trailerKind.index, "seed \(seed): the trailer comes last")
            }
            // Each target holds the brute-force total; the envelope's other fields are as given.
            for (envelopeKind, given) in [(plan.headerKind, header), (plan.trailerKind, trailer)] {
                guard let kind = envelopeKind, let record = records.first(where: { $0.kindIndex == kind.index }) else { continue }
                for (index, field) in kind.fields.enumerated() {
                    if let control = spec.controls.first(where: { $0.declared[0].kind == kind.name && $0.declared[0].field == field.name }) {
                        let expected = Self.bruteForceTotal(control, details, spec: spec)
                        let written: DecimalAmount? = switch record.values[index] {
                        case .integer(let n): DecimalAmount(units: n, scale: 0)
                        case .decimal(let d): d
                        default: nil
                        }
                        #expect(written.map { $0.numericallyEquals(expected) } == true, "seed \(seed): \(kind.name).\(field.name) is \(String(describing: written)), expected \(expected)")
                    } else {
                        #expect(record.values[index] == (given[field.name] ?? .empty), "seed \(seed): \(kind.name).\(field.name)")
                    }
                }
            }
            #expect(renderer.recordCount == details.count)
            #expect(renderer.controlTotals.map(\.name) == spec.controls.map(\.name))
        }
    }

    static let sampleDate = CivilDate(year: 2024, month: 12, day: 16)!

    static func settlementDetail(_ sequence: Int64, loan: String, principal: Int64, interest: Int64, penalty: Int64 = 0, type: String = "normal") -> [String: FieldValue] {
        [
            "sequence": .integer(sequence), "loan_id": .text(loan), "period": .integer(1), "repay_type": .text(type),
            "paid_on": .date(sampleDate), "principal": amount(principal), "interest": amount(interest), "penalty": amount(penalty),
            "fee": amount(0), "total": amount(principal + interest + penalty), "currency": .text("CNY"), "status": .text("settled"),
        ]
    }

    /// The settlement file's bytes to the byte: header first (its values as given), three
    /// details, the trailer's count and sums computed from them.
    @Test func theSettlementFileIsWrittenByteExact() throws {
        let spec = try shippedSpec("bank-settlement.yaml")
        var renderer = try FileRenderer(plan: try RenderPlan(spec: spec))
        let kind = try renderer.detailKind(named: "repayment")
        var body: [UInt8] = []
        for (index, detail) in [
            Self.settlementDetail(1, loan: "L001", principal: 100_000, interest: 1_234),
            Self.settlementDetail(2, loan: "L002", principal: 50_000, interest: 99, penalty: 7, type: "overdue"),
            Self.settlementDetail(3, loan: "L003", principal: 1, interest: 0),
        ].enumerated() {
            var values = try renderer.values(for: kind, detail)
            if index == 1 { values[kind.fieldIndex(named: "remark")!] = .text("逾期还款") }
            try renderer.append(kind, values, to: &body)
        }
        let header = try renderer.header([
            "file_type": .text("SETTLE"), "bank_code": .text("BKCN0001"), "business_date": .date(Self.sampleDate),
            "created_at": .dateTime(DateTime(date: Self.sampleDate, time: TimeOfDay(hour: 0, minute: 0, second: 0)!)),
            "currency": .text("CNY"),
        ])
        let trailer = try renderer.trailer([:])
        func padded(_ text: String) -> String { text + String(repeating: " ", count: 200 - text.utf8.count) + "\r\n" }
        #expect(header == Array(padded("HSETTLE  BKCN00012024121620241216000000CNY").utf8))
        #expect(trailer == Array(padded("T0000000003000000000000151341000000000000150001000000000000001333000000000000000007000000000000000000").utf8))
        // The remark in GBK: four characters, eight bytes, at position 158.
        let second = Array(body[202..<404])
        #expect(Array(second[157..<165]) == TextEncoder.encode("逾期还款", as: .gbk)!)
        #expect(second[165] == 0x20 && second[199] == 0x20 && Array(second[200...]) == [0x0D, 0x0A])
        #expect(renderer.controlTotals == [
            ControlTotalValue(name: "record count", value: "3"),
            ControlTotalValue(name: "total amount", value: "1,513.41"),
            ControlTotalValue(name: "principal total", value: "1,500.01"),
            ControlTotalValue(name: "interest total", value: "13.33"),
            ControlTotalValue(name: "penalty total", value: "0.07"),
            ControlTotalValue(name: "fee total", value: "0.00"),
        ])
    }

    /// GBK characters take two bytes: a name that fills its field to the last byte is
    /// written whole; one a byte too long is refused, never cut (a cut would split a
    /// character).
    @Test func gbkCharactersAtFieldEdges() throws {
        let spec = try shippedSpec("bank-plan.yaml")
        let renderer = try RecordRenderer(spec: spec)
        let kind = spec.kind(named: "plan_line")!
        func line(_ name: String) throws -> [UInt8] {
            var values = [FieldValue](repeating: .empty, count: kind.fields.count)
            for (field, value) in [("loan_id", FieldValue.text("L1")), ("borrower_name", .text(name)), ("period", .integer(1)),
                                   ("due_on", .date(Self.sampleDate)), ("principal", amount(1)), ("interest", amount(0)),
                                   ("total", amount(1)), ("balance", amount(0)), ("status", .text("open"))] {
                values[kind.fieldIndex(named: field)!] = value
            }
            return try renderer.render(kind, values)
        }
        // 20 bytes: ten characters fill the field exactly; the next field starts right after.
        let full = try line("张伟李娜王芳交易成功")
        #expect(Array(full[25..<45]) == TextEncoder.encode("张伟李娜王芳交易成功", as: .gbk)!)
        #expect(full[45] == UInt8(ascii: "0"))
        // 19 bytes: nine characters and a letter, then one space of padding.
        let odd = try line("张伟李娜王芳交易成A")
        #expect(Array(odd[25..<44]) == TextEncoder.encode("张伟李娜王芳交易成A", as: .gbk)! && odd[44] == 0x20)
        let (report, records) = read(spec, odd + [0x0D, 0x0A])
        #expect(report.recordsRejected == 0 && records.first.map { value($0, "borrower_name", in: spec) } == .text("张伟李娜王芳交易成A"))
        // 21 bytes: refused, naming the kind and field.
        let refusal = #expect(throws: RenderError.self) { try line("张伟李娜王芳交易成功A") }
        #expect(refusal?.description == "record kind 'plan_line', field 'borrower_name': '张伟李娜王芳交易成功A' takes 21 bytes; the field holds 20")
    }

    /// UTF-8 fixed-width counts bytes as the reader does: a Chinese character is three.
    @Test func utf8FixedWidthCountsBytes() throws {
        let spec = try loadSpec("""
            format: fixed-width
            encoding: utf-8
            record_length: 12
            direction: outbound
            records:
              row:
                fields:
                  name:   {start: 1, length: 9}
                  amount: {start: 10, length: 3, type: integer, sign: none}
            """)
        let (bytes, _) = try renderFile(spec, details: [("row", [.text("张伟李"), .integer(7)]), ("row", [.text("张伟A"), .integer(12)])])
        #expect(bytes == Array("张伟李007\n张伟A  012\n".utf8))
        let refusal = #expect(throws: RenderError.self) { try renderFile(spec, details: [("row", [.text("张伟李A"), .integer(7)])]) }
        #expect(refusal?.description == "record kind 'row', field 'name': '张伟李A' takes 10 bytes; the field holds 9")
        #expect(read(spec, bytes).records.map(\.values) == [[.text("张伟李"), .integer(7)], [.text("张伟A"), .integer(12)]])
    }

    /// Values the reader would refuse are refused when written, naming kind and field.
    @Test func valuesTheReaderWouldRefuseAreRefused() throws {
        let spec = try shippedSpec("bank-settlement.yaml")
        func refusal(_ change: (inout [String: FieldValue]) -> Void) -> String? {
            var detail = Self.settlementDetail(1, loan: "L001", principal: 100, interest: 1)
            change(&detail)
            return (#expect(throws: RenderError.self) { try renderFile(spec, details: [("repayment", try FileRenderer(plan: RenderPlan(spec: spec)).values(for: spec.kind(named: "repayment")!, detail))]) })?.description
        }
        #expect(refusal { $0["loan_id"] = nil } == "record kind 'repayment', field 'loan_id': required, but no value was given")
        #expect(refusal { $0["currency"] = .text("cny") } == "record kind 'repayment', field 'currency': 'cny' does not match the pattern [A-Z]{3}")
        #expect(refusal { $0["period"] = .integer(601) } == "record kind 'repayment', field 'period': 601 is above the maximum 600")
        #expect(refusal { $0["remark"] = .text(" padded") } == "record kind 'repayment', field 'remark': ' padded' has spaces at an end the reader trims")
        #expect(refusal { $0["remark"] = .text("two\nlines") } == "record kind 'repayment', field 'remark': 'two\nlines' holds a line break, which would split the record")
        #expect(refusal { $0["status"] = .text("pending") } == "record kind 'repayment', field 'status': 'pending' has no code in the code map")
        #expect(refusal { $0["principal"] = .integer(5) } == "record kind 'repayment', field 'principal': a decimal field cannot hold '5'")
        #expect(refusal { $0["principal"] = amount(-5) } == "record kind 'repayment', field 'principal': a negative value in a field that takes no sign")
    }

    @Test func theHeaderAndTrailerAreWrittenByFinishOnly() throws {
        let spec = try shippedSpec("bank-settlement.yaml")
        let renderer = try FileRenderer(plan: try RenderPlan(spec: spec))
        #expect((#expect(throws: RenderError.self) { try renderer.detailKind(named: "trailer") })?.description
            == "record kind 'trailer': the trailer is written by finish, with the totals")
        #expect((#expect(throws: RenderError.self) { try renderer.detailKind(named: "detail") })?.description
            == "record kind 'detail': no such record kind; the spec has header, repayment, trailer")
        #expect((#expect(throws: RenderError.self) { try renderer.values(for: spec.kind(named: "repayment")!, ["amount": .integer(1)]) })?.description
            .hasPrefix("record kind 'repayment', field 'amount': no such field; the kind has sequence, loan_id,") == true)
    }

    /// A group's total is written in the record that closes it (a NACHA-like batch
    /// control), from the entries since the group opened, and the reader's check agrees.
    @Test func groupTotalsFillTheClosingRecord() throws {
        let spec = try loadSpec("""
            format: fixed-width
            record_length: 30
            direction: outbound
            render: {header: file_header, trailer: file_control}
            records:
              file_header:
                when: {start: 1, equals: "1"}
                fields:
                  name: {start: 2, length: 10}
              batch_header:
                when: {start: 1, equals: "5"}
                fields:
                  batch: {start: 2, length: 4, type: integer, sign: none}
              entry:
                when: {start: 1, equals: "6"}
                fields:
                  kind:   {start: 2, length: 1, codes: {C: credit, D: debit}}
                  amount: {start: 3, length: 10, type: decimal, scale: 2, implied: true, sign: none}
                  routing: {start: 13, length: 8, type: integer, sign: none}
              batch_control:
                when: {start: 1, equals: "8"}
                fields:
                  entries: {start: 2, length: 6, type: integer, sign: none}
                  credits: {start: 8, length: 12, type: decimal, scale: 2, implied: true, sign: none}
              file_control:
                when: {start: 1, equals: "9"}
                fields:
                  batches: {start: 2, length: 6, type: integer, sign: none}
                  hash:    {start: 8, length: 4, type: integer, sign: none}
            controls:
              - {name: batch entries, count: entry, equals: batch_control.entries, scope: {from: batch_header, to: batch_control}}
              - {name: batch credits, sum: entry.amount, where: {kind: [credit]}, equals: batch_control.credits, scope: {from: batch_header, to: batch_control}}
              - {name: batches, count: batch_header, equals: file_control.batches}
              - {name: entry hash, sum: entry.routing, modulo: 10000, equals: file_control.hash}
            """)
        func entry(_ kind: String, _ units: Int64, _ routing: Int64) -> (String, [FieldValue]) {
            ("entry", [.text(kind), amount(units), .integer(routing)])
        }
        let (bytes, renderer) = try renderFile(spec, details: [
            ("batch_header", [.integer(1)]), entry("credit", 1_000, 12_345_678), entry("debit", 250, 5_555), entry("credit", 5, 1),
            ("batch_control", [.empty, .empty]),
            ("batch_header", [.integer(2)]), entry("debit", 99_999, 9_999), ("batch_control", [.empty, .empty]),
        ], header: ["name": .text("ACME")])
        let lines = String(decoding: bytes, as: UTF8.self).split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        #expect(lines == ["1ACME", "50001", "6C000000100012345678", "6D000000025000005555", "6C000000000500000001", "8000003000000001005",
                          "50002", "6D000009999900009999", "8000001000000000000", "90000021233"])
        #expect(read(spec, bytes).report.isClean)
        // The hash keeps the remainder: 12,361,233 is 1,233 modulo 10,000.
        #expect(renderer.controlTotals.last == ControlTotalValue(name: "entry hash", value: "1,233"))
    }

    /// `equals: a - b`: the renderer writes the first term from the total and the others given.
    @Test func aDifferenceFillsItsFirstTerm() throws {
        let spec = try loadSpec("""
            format: delimited
            direction: both
            render: {trailer: closing}
            records:
              closing:
                when: {column: 1, equals: C}
                fields:
                  closing: {column: 2, type: decimal, sign: leading}
                  opening: {column: 3, type: decimal, sign: leading}
              entry:
                when: {column: 1, equals: E}
                fields:
                  amount: {column: 2, type: decimal, sign: leading}
            controls:
              - {name: opening + entries = closing, sum: entry.amount, equals: closing.closing - closing.opening}
            """)
        let (bytes, _) = try renderFile(spec, details: [("entry", [amount(1_000)]), ("entry", [amount(-2_550)])],
                                        trailer: ["opening": amount(10_000)])
        #expect(String(decoding: bytes, as: UTF8.self) == "E,10.00,\nE,-25.50,\nC,84.50,100.00\n")
        #expect(read(spec, bytes).report.isClean)
        let missing = #expect(throws: RenderError.self) { try renderFile(spec, details: []) }
        #expect(missing?.description == "record kind 'closing', field 'opening': control 'opening + entries = closing' needs this value to compute closing")
    }

    @Test func occurrencesAreChecked() throws {
        let spec = try shippedSpec("bank-settlement.yaml")
        let yaml = try String(contentsOfFile: mappingsFolder + "/bank-settlement.yaml", encoding: .utf8)
            .replacingOccurrences(of: "    event: repayment\n", with: "    event: repayment\n    occurs: 1..\n")
        let atLeastOne = try loadSpec(yaml)
        let header: [String: FieldValue] = [
            "file_type": .text("SETTLE"), "bank_code": .text("BKCN0001"), "business_date": .date(Self.sampleDate),
            "created_at": .dateTime(DateTime(date: Self.sampleDate, time: TimeOfDay(hour: 0, minute: 0, second: 0)!)),
            "currency": .text("CNY"),
        ]
        #expect(try renderFile(spec, details: [], header: header).bytes.count == 2 * 202)
        let refusal = #expect(throws: RenderError.self) { try renderFile(atLeastOne, details: [], header: header) }
        #expect(refusal?.description == "record kind 'repayment': written 0 times; the spec requires at least 1")
    }
}

@Suite("Outbound specs refused at load")
struct OutboundSpecRefusalTests {
    static func refusal(_ body: String, header: String = "format: fixed-width\nrecord_length: 20\ndirection: outbound\n") -> String? {
        specError(header + body)?.description
    }

    @Test func kindsMatchedByALinePatternOrAPattern() {
        #expect(Self.refusal("""
            records:
              note:
                when: {line: "^# (.*)$"}
                fields:
                  text: {capture: 1}
            """) == "test.yaml:6: records.note: cannot be written: the kind is matched by a line pattern, which cannot be written; tell it apart with equals")
        #expect(Self.refusal("""
            records:
              row:
                when: {start: 1, length: 1, pattern: "[A-Z]"}
                fields:
                  text: {start: 2, length: 5}
              other:
                default: true
                fields:
                  text: {start: 2, length: 5}
            """) == "test.yaml:6: records.row: cannot be written: the kind is told apart by a pattern, which cannot be written; give equals (a literal)")
    }

    @Test func codeMapsThatAreNotOneToOne() {
        #expect(Self.refusal("""
            records:
              row:
                fields:
                  status: {start: 1, length: 2, codes: {S: settled, OK: settled, F: failed}}
            """) == "test.yaml:7: records.row.fields.status: cannot be written: the code map is not one-to-one: 'OK' and 'S' both mean 'settled'")
        #expect(Self.refusal("""
            records:
              row:
                fields:
                  status: {start: 1, length: 2, codes: {SETTLED: settled}}
            """) == "test.yaml:7: records.row.fields.status: cannot be written: the code 'SETTLED' takes 7 bytes; the field holds 2")
    }

    @Test func fieldsWithNoWayToBeWritten() {
        #expect(Self.refusal("""
            records:
              row:
                fields:
                  remark: {column: 1}
                  fee:    {column: 1, type: decimal, extract: "fee ([0-9.]+)"}
            """, header: "format: delimited\ndirection: both\n") == "test.yaml:7: records.row.fields.fee: cannot be written: the value is extracted from free text (extract), which cannot be written back")
        #expect(Self.refusal("""
            records:
              row:
                fields:
                  remark: {column: 1}
                  copy:   {column: 1}
            """, header: "format: delimited\ndirection: both\n") == "test.yaml:7: records.row.fields.copy: cannot be written: it reads column 1 as field 'remark' does; only one field can write a column")
        #expect(Self.refusal("""
            records:
              row:
                fields:
                  name: {start: 1, length: 5}
            """, header: "format: fixed-width\nrecord_length: 20\npositions: characters\ndirection: outbound\n")
            == "test.yaml:4: direction: cannot be written: positions count characters; the renderer writes layouts whose positions count bytes")
        #expect(Self.refusal("""
            records:
              row:
                fields:
                  name: {column: name}
            """, header: "format: delimited\nheader: 3\ndirection: outbound\n")
            == "test.yaml:3: direction: cannot be written: the header row is line 3; the lines before it cannot be written")
    }

    @Test func controlsWhoseTotalNothingCanWrite() {
        let kinds = """
            records:
              detail:
                when: {start: 1, equals: D}
                fields:
                  amount: {start: 2, length: 10, type: decimal, implied: true}
              total:
                when: {start: 1, equals: T}
                fields:
                  count: {start: 2, length: 6, type: integer}
                  sum:   {start: 8, length: 12, type: decimal, implied: true}

            """
        #expect(Self.refusal(kinds + """
            controls:
              - {name: count, count: detail, equals: total.count}
            """) == "test.yaml:15: controls.0: cannot be written: control 'count': its total total.count is in a kind that is neither the render header nor the trailer, so nothing can write it after the records it totals; name the kind under render:")
        #expect(Self.refusal(kinds + """
            controls:
              - {name: sum, sum: detail.amount, equals: total.sum - detail.amount}
            """, header: "format: fixed-width\nrecord_length: 20\ndirection: outbound\nrender: {trailer: total}\n")
            == "test.yaml:16: controls.0: cannot be written: control 'sum': the renderer fills total.sum from the other terms of its record; detail.amount is in another kind")
        #expect(Self.refusal(kinds + """
            controls:
              - {name: count, count: detail, equals: total.count}
              - {name: again, count: detail, equals: total.count}
            """, header: "format: fixed-width\nrecord_length: 20\ndirection: outbound\nrender: {trailer: total}\n")
            == "test.yaml:17: controls.1: cannot be written: controls 'count' and 'again' both compute total.count")
        #expect(Self.refusal(kinds, header: "format: fixed-width\nrecord_length: 20\ndirection: outbound\nrender: {trailer: totals}\n")
            == "test.yaml:4: render.trailer: no record kind 'totals'; the spec has detail, total")
    }

    /// The same specs load as inbound ones: only a spec that says it is written is checked.
    @Test func inboundSpecsAreNotChecked() {
        #expect(specError("""
            format: fixed-width
            record_length: 20
            records:
              row:
                fields:
                  status: {start: 1, length: 2, codes: {S: settled, OK: settled}}
            """) == nil)
    }
}

@Suite("Whole files through specs without controls")
struct FileRenderWithoutControlsTests {
    /// A spec with no controls writes its records (there were no totals to follow).
    @Test func aSpecWithoutControlsWritesItsRecords() throws {
        let spec = try loadSpec("""
            format: delimited
            direction: outbound
            records:
              row:
                fields:
                  id: {column: 1}
            """)
        let (bytes, renderer) = try renderFile(spec, details: [("row", [.text("A")]), ("row", [.text("B")])])
        #expect(String(decoding: bytes, as: UTF8.self) == "A\nB\n")
        #expect(renderer.recordCount == 2 && renderer.controlTotals.isEmpty)
    }
}
