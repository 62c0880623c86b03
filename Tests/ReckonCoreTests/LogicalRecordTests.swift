import ReckonCore
import Testing

/// Records assembled from consecutive lines of different kinds (`parts:`), and layouts
/// chosen by a code in the record (`when:` on a field).
@Suite("Logical records from segments")
struct LogicalRecordTests {
    static let layout = """
        format: fixed-width
        record_length: 20
        records:
          header:
            when: {start: 1, equals: H}
            fields:
              business_date: {start: 2, length: 8, type: date, format: yyyyMMdd}
          payment:
            when: {start: 1, equals: T}
            fields:
              loan_id: {start: 2, length: 8, required: true}
              amount:  {start: 10, length: 10, type: decimal, implied: true, required: true}
            parts:
              u:
                when: {start: 1, equals: U}
                fields:
                  paid_on: {start: 2, length: 8, type: date, format: yyyyMMdd, required: true}
                  fee:     {start: 10, length: 6, type: decimal, implied: true}
              note:
                when: {start: 1, equals: N}
                occurs: 0..2
                fields:
                  text: {start: 2, length: 19}
          trailer:
            when: {start: 1, equals: Z}
            fields:
              records: {start: 2, length: 5, type: integer}
              lines:   {start: 7, length: 5, type: integer}
        controls:
          - {name: payments, count: payment, equals: trailer.records}
          - {name: lines, count: [header, payment, payment.u, payment.note, trailer], equals: trailer.lines}
          - {name: fees, sum: payment.fee, equals: trailer.records}
        """

    static func line(_ text: String) -> String { text.padding(toLength: 20, withPad: " ", startingAt: 0) }

    static func file(_ lines: [String]) -> String { lines.map(line).joined(separator: "\n") + "\n" }

    static let clean = [
        "H20241115",
        "TL00000010000104942",
        "U20241116000150",
        "NFIRST NOTE",
        "NSECOND NOTE",
        "TL00000020000050000",
        "U20241117000050",
        "Z0000200008",
    ]

    @Test func fieldsComeFromEveryPart() throws {
        let spec = try loadSpec(Self.layout)
        #expect(spec.kind(named: "payment")?.fields.map(\.name)
                == ["loan_id", "amount", "u_count", "paid_on", "fee", "note_count", "text_1", "text_2"])
        let (report, records) = read(spec, Self.file(Self.clean))
        #expect(problemTexts(report) == [])
        #expect(report.isClean)
        #expect(report.count(of: "payment")?.read == 2)
        #expect(records.count == 4)
        let first = try records.element(at: 1)
        #expect(first.location.line == 2)
        #expect(value(first, "loan_id", in: spec) == .text("L0000001"))
        #expect(value(first, "amount", in: spec) == amount(104942))
        #expect(value(first, "paid_on", in: spec) == .date(date(2024, 11, 16)))
        #expect(value(first, "fee", in: spec) == amount(150))
        #expect(value(first, "u_count", in: spec) == .integer(1))
        #expect(value(first, "note_count", in: spec) == .integer(2))
        #expect(value(first, "text_1", in: spec) == .text("FIRST NOTE"))
        #expect(value(first, "text_2", in: spec) == .text("SECOND NOTE"))
        let second = try records.element(at: 2)
        #expect(second.location.line == 6)
        #expect(value(second, "amount", in: spec) == amount(50000))
        #expect(value(second, "note_count", in: spec) == .integer(0))
        #expect(value(second, "text_1", in: spec) == .empty)
        #expect(value(second, "text_2", in: spec) == .empty)
        // Payments count as records (2); lines count every part (1 + 2 + 2 + 2 + 1 = 8).
        #expect(report.controls.map(\.control) == ["payments", "lines", "fees"])
        #expect(report.controls.map(\.actual) == [DecimalAmount(units: 2, scale: 0), DecimalAmount(units: 8, scale: 0),
                                                  DecimalAmount(units: 200, scale: 2)])
        #expect(report.controls.map(\.holds) == [true, true, true])
    }

    @Test func backToBackRecordsAssembleToo() throws {
        let spec = try loadSpec(Self.layout.replacingOccurrences(of: "record_length: 20", with: "record_length: 20\nseparator: none"))
        let bytes = Array(Self.clean.map(Self.line).joined().utf8)
        let (report, records) = read(spec, bytes, readBytes: 7)
        #expect(problemTexts(report) == [])
        #expect(report.isClean)
        #expect(records.count == 4)
        #expect(try value(records.element(at: 1), "text_2", in: spec) == .text("SECOND NOTE"))
    }

    @Test func aRequiredFollowerThatNeverComesNamesTheLines() throws {
        let spec = try loadSpec(Self.layout)
        var lines = Self.clean
        lines.remove(at: 2)  // the first payment's U line
        let (report, records) = read(spec, Self.file(lines))
        #expect(problemTexts(report) == [
            "line 2: payment a 'payment' record needs a 'u' line (positions 1–1 = 'U') after line 2; line 3 is not one",
            "line 3: payment value = 'NFIRST NOTE         ': a 'note' line after the 'payment' record on line 2, which lacks its 'u' line",
            "line 4: payment value = 'NSECOND NOTE        ': a 'note' line after the 'payment' record on line 2, which lacks its 'u' line",
        ])
        #expect(report.count(of: "payment")?.rejected == 3)
        // The next payment reads.
        #expect(records.count == 3)
        // At the end of the file.
        let cut = read(spec, Self.file(Array(Self.clean.prefix(6))))
        #expect(problemTexts(cut.report) == [
            "line 6: payment a 'payment' record needs a 'u' line (positions 1–1 = 'U') after line 6; the file ends there",
        ])
    }

    @Test func aSegmentWithoutItsFirstPartIsAnError() throws {
        let spec = try loadSpec(Self.layout)
        let (report, _) = read(spec, Self.file(["H20241115", "U20241116000150", "Z0000000002"]))
        #expect(problemTexts(report) == [
            "line 2: payment value = 'U20241116000150     ': a 'u' line of record kind 'payment' without the line it follows: a 'payment' record starts with a line where positions 1–1 = 'T'",
        ])
        #expect(report.count(of: "payment")?.rejected == 1)
        #expect(report.unmatched == 0)
    }

    @Test func oneRepetitionTooMany() throws {
        let spec = try loadSpec(Self.layout)
        var lines = Self.clean
        lines.insert("NTHIRD NOTE", at: 5)
        let (report, records) = read(spec, Self.file(lines))
        #expect(problemTexts(report) == [
            "line 6: payment value = 'NTHIRD NOTE         ': a 'note' line one too many: the 'payment' record on line 2 already has 2, the most it takes (occurs: 0..2)",
        ])
        #expect(records.count == 4)
    }

    @Test func aProblemOnALaterPartNamesItsOwnLine() throws {
        let spec = try loadSpec(Self.layout)
        var lines = Self.clean
        lines[2] = "U20241199000150"
        lines[4] = "NSECOND NOTE"
        let (report, _) = read(spec, Self.file(lines))
        let problem = try #require(report.problems.first)
        #expect(problem.location.line == 2)
        #expect(problem.problem.line == 3)
        #expect(problemTexts(report) == [
            "line 2: payment line 3: field 'paid_on' = '20241199': not a date in the format yyyyMMdd",
        ])
    }

    @Test func anAbsentOptionalPartIsBlankButRequiredStillApplies() throws {
        let yaml = Self.layout.replacingOccurrences(of: "text: {start: 2, length: 19}", with: "text: {start: 2, length: 19, required: true}")
            .replacingOccurrences(of: "occurs: 0..2", with: "occurs: 0..1")
        let spec = try loadSpec(yaml)
        #expect(spec.kind(named: "payment")?.fields.map(\.name) == ["loan_id", "amount", "u_count", "paid_on", "fee", "note_count", "text"])
        let lines = ["H20241115", "TL00000010000104942", "U20241116000150", "NONLY NOTE",
                     "TL00000020000050000", "U20241117000050", "Z0000200007"]
        let (report, records) = read(spec, Self.file(lines))
        #expect(problemTexts(report) == ["line 5: payment field 'text': required value is missing"])
        #expect(records.count == 3)
    }

    @Test func anOverlongPartLineIsRefusedOnItsLine() throws {
        let spec = try loadSpec(Self.layout)
        var text = Self.file(Self.clean)
        text = text.replacingOccurrences(of: "NFIRST NOTE         ", with: "NFIRST NOTE          X")
        let (report, _) = read(spec, text)
        #expect(problemTexts(report) == [
            "line 2: payment line 4: the line is 22 bytes long; this layout's records are 20",
        ])
    }

    @Test func aShortPartLineIsReadOnlyAsShortRecordsAllows() throws {
        let spec = try loadSpec(Self.layout.replacingOccurrences(of: "record_length: 20", with: "record_length: 20\nshort_records: right_trimmed"))
        // Trailing spaces trimmed from a note: only padding is lost.
        let trimmed = Self.clean.map(Self.line).enumerated().map { $0.offset == 3 ? "NFIRST NOTE" : $0.element }
        let (report, records) = read(spec, trimmed.joined(separator: "\n") + "\n")
        #expect(problemTexts(report) == [])
        #expect(try value(records.element(at: 1), "text_1", in: spec) == .text("FIRST NOTE"))
        // A U line cut inside its fee: refused on its own line, not read as 0.01.
        let cut = Self.clean.map(Self.line).enumerated().map { $0.offset == 2 ? "U202411160001" : $0.element }
        let (cutReport, _) = read(spec, cut.joined(separator: "\n") + "\n")
        #expect(problemTexts(cutReport) == [
            "line 2: payment line 3: field 'fee' = '0001': is cut after 4 of its 6 bytes (the record is 13 bytes long; this layout's records are 20); trimming a line can only shorten left-aligned text, and this is a decimal",
        ])
    }

    // MARK: Layouts chosen by a code

    static let coded = """
        format: fixed-width
        record_length: 20
        records:
          movement:
            fields:
              kind:      {start: 1, length: 1, pattern: "[01]"}
              free_text: {start: 2, length: 19, when: {field: kind, equals: "0"}}
              ref_type:  {start: 2, length: 3, when: {field: kind, equals: "1"}}
              reference: {start: 5, length: 12, type: integer, required: true, when: {field: kind, equals: "1"}}
        """

    @Test func aCodeChoosesTheLayout() throws {
        let spec = try loadSpec(Self.coded)
        let (report, records) = read(spec, Self.file(["0PAY INVOICE 42", "1101000000123456", "1101ABC"]))
        #expect(records.count == 2)
        let free = try records.element(at: 0)
        #expect(value(free, "free_text", in: spec) == .text("PAY INVOICE 42"))
        #expect(value(free, "ref_type", in: spec) == .empty)
        #expect(value(free, "reference", in: spec) == .empty)
        let structured = try records.element(at: 1)
        #expect(value(structured, "free_text", in: spec) == .empty)
        #expect(value(structured, "ref_type", in: spec) == .text("101"))
        #expect(value(structured, "reference", in: spec) == .integer(123456))
        #expect(problemTexts(report) == ["line 3: movement field 'reference' = 'ABC         ': unexpected character 'A' in a number"])
    }

    @Test func conditionalLayoutsAreCheckedAtLoad() throws {
        let overlap = try #require(specError(Self.coded.replacingOccurrences(of: "equals: \"1\"}}\n", with: "equals: \"0\"}}\n")))
        #expect(overlap.description == "test.yaml:6: records.movement.fields.ref_type: fields 'free_text' (positions 2–20) and 'ref_type' (positions 2–4) overlap (fields may share positions only under 'when' conditions on one field with different values)")
        let unknown = try #require(specError(Self.coded.replacingOccurrences(of: "field: kind, equals: \"0\"", with: "field: knd, equals: \"0\"")))
        #expect(unknown.description == "test.yaml:6: records.movement.fields.free_text.when.field: 'knd' is not a field of this line; a layout depends on a field of the same record (or part)")
        let delimited = try #require(specError("format: delimited\nrecords: {r: {fields: {a: {column: 1}, b: {column: 2, when: {field: a, equals: x}}}}}"))
        #expect(delimited.description == "test.yaml:2: records.r.fields.b.when: 'when' on a field applies to fixed-width files")
    }

    @Test func partsAreCheckedAtLoad() throws {
        let unbounded = try #require(specError(Self.layout.replacingOccurrences(of: "occurs: 0..2", with: "occurs: 0..")))
        #expect(unbounded.description == "test.yaml:21: records.payment.parts.note.occurs: a part repeats up to a limit: give one, like 0..5")
        let twice = try #require(specError(Self.layout.replacingOccurrences(of: "paid_on: {start: 2", with: "amount: {start: 2")))
        #expect(twice.description == "test.yaml:15: records.payment.parts.u: the record already has a field 'amount'; a record's fields have one name each, whatever their part")
        let noPart = try #require(specError(Self.layout.replacingOccurrences(of: "payment.note,", with: "payment.notes,")))
        #expect(noPart.description == "test.yaml:31: controls.1.count: record kind 'payment' has no part 'notes'; its parts are u, note")
        let delimited = try #require(specError("format: delimited\nrecords: {r: {when: {column: 1, equals: A}, fields: {a: {column: 1}}, parts: {b: {when: {column: 1, equals: B}, fields: {x: {column: 2}}}}}}"))
        #expect(delimited.description == "test.yaml:2: records.r.parts: 'parts' applies to fixed-width record kinds (a record of several lines of other formats is not supported)")
        let written = try #require(specError(Self.layout + "\ndirection: both"))
        #expect(written.description == "test.yaml:33: direction: record kind 'payment' has parts; such specs read files (direction: inbound), they cannot write them")
    }
}
