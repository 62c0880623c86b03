import Foundation
import ReckonCore
import Testing

/// Records ended by a terminator, continuation records, fields whose cells a code decides,
/// and values computed from other fields (`record_end`, `continuation`, `only_if`, `cells`,
/// `rest`, `combine`, `sum_of`).
@Suite("Delimited logical records: terminators and continuations")
struct DelimitedLogicalRecordTests {
    static let terminated = """
        format: delimited
        quote: '"'
        record_end: "/"
        records:
          a:
            when: {column: 1, equals: A}
            fields: {code: {column: 1}, x: {column: 2}, n: {column: 3, type: integer}}
          t:
            when: {column: 1, equals: T}
            fields: {code: {}, ref: {}, text: {rest: true}}
        """

    @Test func severalRecordsOnOneLine() throws {
        let spec = try loadSpec(Self.terminated)
        for chunk in [1, 3, 1000] {
            let (report, records) = read(spec, Array("A,p,1/A,q,2/ A,r,3/\r\nA,s,4/\n".utf8), readBytes: chunk)
            #expect(report.isClean, "\(problemTexts(report))")
            #expect(records.map { $0.values } == [
                [.text("A"), .text("p"), .integer(1)], [.text("A"), .text("q"), .integer(2)],
                [.text("A"), .text("r"), .integer(3)], [.text("A"), .text("s"), .integer(4)],
            ], "chunk \(chunk)")
            #expect(records.map(\.location.line) == [1, 1, 1, 2])
        }
    }

    @Test func oneRecordOverTwoLines() throws {
        let spec = try loadSpec(Self.terminated)
        // Broken after a delimiter, and inside a field: the line break is not part of the value.
        let (report, records) = read(spec, "A,p,\n12/\nA,q,3\r\n4/\nA,\"a/b\nc\",5/\n")
        #expect(report.isClean, "\(problemTexts(report))")
        #expect(records.map { $0.values } == [
            [.text("A"), .text("p"), .integer(12)], [.text("A"), .text("q"), .integer(34)],
            // A quoted field keeps its terminator and its line break.
            [.text("A"), .text("a/b\nc"), .integer(5)],
        ])
        #expect(records.map(\.location.line) == [1, 3, 5])
    }

    @Test func restFieldRunsToTheLineEnd() throws {
        let spec = try loadSpec(Self.terminated)
        let text = "T,r1,PAID 12/07, REF 9\nT,r2,LAST/\nT,r3,/A,p,1/\nT,r4,\n"
        let (report, records) = read(spec, text)
        #expect(report.isClean, "\(problemTexts(report))")
        #expect(records.map { $0.values } == [
            // Terminators and delimiters inside the text are text; one at the line end ends the record.
            [.text("T"), .text("r1"), .text("PAID 12/07, REF 9")],
            [.text("T"), .text("r2"), .text("LAST")],
            // A terminator right away is an empty text that ends the record: the line goes on.
            [.text("T"), .text("r3"), .empty],
            [.text("A"), .text("p"), .integer(1)],
            [.text("T"), .text("r4"), .empty],
        ])
    }

    static let continued = """
        format: delimited
        record_end: "/"
        records:
          head:
            when: {column: 1, equals: H}
            fields: {code: {column: 1}, a: {column: 2}, b: {column: 3, type: integer}, c: {column: 4, type: integer}, d: {column: 5}}
          note:
            when: {column: 1, equals: N}
            fields: {code: {}, ref: {}, text: {rest: true}}
          more:
            when: {column: 1, equals: "88"}
            continuation: true
            fields: {code: {column: 1}}
        controls:
          - {name: parts, count: [head, more], equals: head.b}
        """

    @Test func continuationIsFoldedIntoTheRecordBefore() throws {
        let spec = try loadSpec(Self.continued)
        let (report, records) = read(spec, "H,x,3/\n88,7/\n88,end/\n")
        #expect(report.isClean, "\(problemTexts(report))")
        // Fields from every part are fields of the one record, which keeps its first line.
        #expect(records.count == 3)
        let head = try records.element(at: 0)
        #expect(head.values == [.text("H"), .text("x"), .integer(3), .integer(7), .text("end")])
        #expect(head.location.line == 1)
        // Each continuation also counts as a record of its own kind (BAI2 counts them).
        #expect(report.counts.map(\.read) == [1, 0, 2])
        #expect(records[1...].map(\.location.line) == [2, 3])
        #expect(report.controls.map(\.holds) == [true])
    }

    @Test func continuationGoesOnWithTheText() throws {
        let spec = try loadSpec(Self.continued)
        let (report, records) = read(spec, "N,r1,LOCKBOX\n88,DEPOSIT, BATCH 7\n88,ENDS/\nN,r2,/\n88,ONLY\n")
        #expect(report.problems.isEmpty, "\(problemTexts(report))")
        let notes = records.filter { spec.kinds[$0.kindIndex].name == "note" }
        #expect(notes.map { $0.values[2] } == [.text("LOCKBOX DEPOSIT, BATCH 7 ENDS"), .text("ONLY")])
    }

    @Test func problemOnAContinuationNamesItsLine() throws {
        let spec = try loadSpec(Self.continued)
        let (report, _) = read(spec, "H,x,2/\n88,seven,z/\n")
        #expect(problemTexts(report) == ["line 1: head field 'c' = 'seven': line 2: unexpected character 's' in a number"])
        #expect(report.problems.first?.location.line == 1)
    }

    @Test func continuationWithNoRecordBeforeIt() throws {
        let spec = try loadSpec(Self.continued)
        let (report, records) = read(spec, "\n88,7,x/\nH,x,1,2,y/\n")
        #expect(problemTexts(report) == ["line 2: more a continuation record ('more') with no record before it to continue"])
        #expect(report.problems.first?.location.line == 2)
        #expect(records.map { $0.values[0] } == [.text("H")])
    }

    @Test func continuationsWithoutTerminatorAreLines() throws {
        let spec = try loadSpec("""
            format: delimited
            records:
              row: {when: {column: 1, equals: R}, fields: {code: {column: 1}, a: {column: 2}, b: {column: 3}}}
              cont: {when: {column: 1, equals: "+"}, continuation: true, fields: {code: {column: 1}}}
            """)
        let (report, records) = read(spec, "R,1\n+,2\nR,3,4\n")
        #expect(report.isClean, "\(problemTexts(report))")
        let rows = records.filter { $0.kindIndex == 0 }
        #expect(rows.map { $0.values } == [[.text("R"), .text("1"), .text("2")], [.text("R"), .text("3"), .text("4")]])
    }

    static let funds = """
        format: delimited
        record_end: "/"
        records:
          detail:
            when: {column: 1, equals: "16"}
            fields:
              code: {}
              amount: {type: decimal, implied: true}
              funds_type: {}
              immediate: {type: decimal, implied: true, only_if: {field: funds_type, in: [S]}}
              one_day: {type: decimal, implied: true, only_if: {field: funds_type, in: [S]}}
              later: {type: decimal, implied: true, only_if: {field: funds_type, in: [S]}}
              value_date: {type: date, format: yyMMdd, only_if: {field: funds_type, in: [V]}}
              value_time: {only_if: {field: funds_type, in: [V]}}
              distribution_count: {type: integer, only_if: {field: funds_type, in: [D]}}
              distributions: {cells: {count_from: distribution_count, each: 2}}
              reference: {}
              text: {rest: true}
        """

    @Test func fundsTypeDecidesTheFieldsThatFollow() throws {
        let spec = try loadSpec(Self.funds)
        let text = """
            16,100,0,R0,T0
            16,200,S,50,100,50,RS,TS
            16,300,V,261130,0900,RV,TV
            16,400,D,2,0,150,1,250,RD,TD
            16,500,,R-,/
            16,600,1/
            """
        let (report, records) = read(spec, text)
        #expect(report.isClean, "\(problemTexts(report))")
        let e = FieldValue.empty
        #expect(records.map { $0.values } == [
            [.text("16"), amount(100), .text("0"), e, e, e, e, e, e, e, .text("R0"), .text("T0")],
            [.text("16"), amount(200), .text("S"), amount(50), amount(100), amount(50), e, e, e, e, .text("RS"), .text("TS")],
            [.text("16"), amount(300), .text("V"), e, e, e, .date(date(2026, 11, 30)), .text("0900"), e, e, .text("RV"), .text("TV")],
            [.text("16"), amount(400), .text("D"), e, e, e, e, e, .integer(2), .text("0,150,1,250"), .text("RD"), .text("TD")],
            [.text("16"), amount(500), e, e, e, e, e, e, e, e, .text("R-"), e],
            // Trailing fields left off are absent.
            [.text("16"), amount(600), .text("1"), e, e, e, e, e, e, e, e, e],
        ])
    }

    @Test func dateAndTimeCombined() throws {
        let spec = try loadSpec("""
            format: delimited
            records:
              r:
                fields:
                  day: {column: 1, type: date, format: yyMMdd}
                  time: {column: 2}
                  at: {combine: {date: day, time: time, time_format: HHmm, end_of_day: ["2400", "9999"]}}
            """)
        let (report, records) = read(spec, "261129,0930\n261129,2400\n261231,9999\n261129,\n261129,2500\n,0930\n")
        let midnight = TimeOfDay(hour: 0, minute: 0, second: 0)!
        #expect(records.map { $0.values[2] } == [
            .dateTime(DateTime(date: date(2026, 11, 29), time: TimeOfDay(hour: 9, minute: 30, second: 0)!)),
            // The end of the day is the midnight that starts the next.
            .dateTime(DateTime(date: date(2026, 11, 30), time: midnight)),
            .dateTime(DateTime(date: date(2027, 1, 1), time: midnight)),
            // No time: no date-time (the date stays in its own field).
            .empty,
        ])
        #expect(problemTexts(report) == [
            "line 5: r field 'at' = '2500': is not a time in the format HHmm or one of 2400, 9999",
            "line 6: r field 'at' = '0930': has a time but no date in 'day'",
        ])
        #expect(report.problems.map(\.location.line) == [5, 6])
    }

    /// A list of time formats is tried in order: BAI2's `HHmm`, and the clock time some
    /// banks write in its place.
    @Test func dateAndTimeCombinedWithSeveralTimeFormats() throws {
        let spec = try loadSpec("""
            format: delimited
            records:
              r:
                fields:
                  day: {column: 1, type: date, format: yyMMdd}
                  time: {column: 2}
                  at: {combine: {date: day, time: time, time_format: [HHmm, "HH:mm:ss"], end_of_day: ["2400"]}}
            """)
        let (report, records) = read(spec, "100215,1459\n100215,14:59:35\n100215,2400\n100215,14.59\n")
        #expect(records.map { $0.values[2] } == [
            .dateTime(DateTime(date: date(2010, 2, 15), time: TimeOfDay(hour: 14, minute: 59, second: 0)!)),
            .dateTime(DateTime(date: date(2010, 2, 15), time: TimeOfDay(hour: 14, minute: 59, second: 35)!)),
            .dateTime(DateTime(date: date(2010, 2, 16), time: TimeOfDay(hour: 0, minute: 0, second: 0)!)),
        ])
        #expect(problemTexts(report) == ["line 4: r field 'at' = '14.59': is not a time in the format HHmm or HH:mm:ss or one of 2400"])
        #expect(specError("format: delimited\nrecords: {r: {fields: {d: {column: 1, type: date, format: yyMMdd}, t: {column: 2}, at: {combine: {date: d, time: t, time_format: []}}}}}")?.description
                == "test.yaml:2: records.r.fields.at.combine.time_format: time_format lists at least one format")
    }

    @Test func sumOfFields() throws {
        let spec = try loadSpec("""
            format: delimited
            records:
              r: {fields: {a: {column: 1, type: decimal}, b: {column: 2, type: decimal}, c: {column: 3, type: decimal}, n: {column: 4}, total: {sum_of: [a, b, c]}}}
            """)
        let (report, records) = read(spec, "1.50,-0.25,,x\n,,,y\n")
        #expect(report.isClean, "\(problemTexts(report))")
        // An absent value adds nothing; nothing at all is zero.
        #expect(records.map { $0.values[4] } == [amount(125), amount(0)])
    }

    @Test func specErrors() {
        let base = "format: delimited\nrecord_end: \"/\"\nrecords:\n  r:\n    fields:\n"
        #expect(specError(base + "      a: {rest: true}\n      b: {}\n")?.message == "a field with 'rest: true' takes the rest of the record, so it comes last")
        #expect(specError(base + "      a: {only_if: {field: z, in: [S]}}\n")?.message == "only_if: 'z' is not a field before this one")
        #expect(specError(base + "      a: {column: 1}\n      b: {}\n")?.message == "give every field of this kind a column, or none (the fields then take the cells in order)")
        #expect(specError("format: delimited\nheader: 1\nrecord_end: \"/\"\nrecords: {r: {fields: {a: {column: 1}}}}")?.message
            == "a file with a record_end has no header row (name columns by number)")
        #expect(specError("format: delimited\nrecord_end: \",\"\nrecords: {r: {fields: {a: {column: 1}}}}")?.message
            == "the record end and the delimiter must differ")
        #expect(specError(base + "      d: {column: 1, type: date, format: yyMMdd}\n      t: {column: 2, type: time, format: HHmm}\n      at: {combine: {date: d, time: t, time_format: HHmm}}\n")?.message
            == "combine: 't' must be a string field (its text is read with time_format, so that end-of-day times such as 2400 can be told)")
        #expect(specError("format: fixed-width\nrecord_length: 4\nrecords: {r: {when: {start: 1, length: 1, equals: X}, continuation: true, fields: {a: {start: 1, length: 1}}}}")?.message
            == "continuation applies to delimited record kinds")
    }

    // MARK: BAI2

    static let mappings = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("mappings")

    static func bai2() throws -> MappingSpec {
        let url = mappings.appendingPathComponent("bai2.yaml")
        return try loadSpec(try String(contentsOf: url, encoding: .utf8), origin: url.path)
    }

    static func sample(_ name: String) throws -> [UInt8] {
        Array(try Data(contentsOf: mappings.appendingPathComponent("samples/bai2/" + name)))
    }

    @Test(arguments: ["statement.bai", "statement-reflowed.bai"])
    func bai2SampleReadsToTheCent(file: String) throws {
        let spec = try Self.bai2()
        let (report, records) = read(spec, try Self.sample(file), readBytes: 7)
        #expect(report.isClean, "\(problemTexts(report)) \(report.controls.filter { !$0.holds })")
        // Per account: total and count; per group: total, accounts, count; per file: the same three.
        #expect(report.controls.count == 10)
        #expect(report.controls.filter { !$0.holds }.isEmpty)
        func all(_ kind: String) -> [ParsedRecord] { records.filter { spec.kinds[$0.kindIndex].name == kind } }
        func values(_ kind: String, _ field: String) -> [FieldValue] { all(kind).map { value($0, field, in: spec) } }
        // Signed by the type code (400–699 debits); the 49 total adds the amounts as written.
        #expect(values("detail", "amount") == [amount(500000), amount(475000), amount(-420000), amount(-273000), amount(25000), amount(-500)])
        #expect(values("detail", "written_amount") == [amount(500000), amount(475000), amount(420000), amount(273000), amount(25000), amount(500)])
        // Statement lines: the account of the 03 before them, booked on the group's as-of date.
        #expect(values("detail", "account") == ["1234567890", "1234567890", "1234567890", "1234567890", "9876543210", "9876543210"].map(FieldValue.text))
        #expect(values("detail", "booked_on") == Array(repeating: .date(date(2026, 11, 29)), count: 6))
        #expect(values("detail", "type_code") == ["142", "195", "475", "495", "175", "699"].map(FieldValue.text))
        #expect(values("detail", "text") == [.text("WIRE FROM GLOBEX LTD/INVOICE 1001"), .text("LOCKBOX DEPOSIT BATCH 7"),
                                             .text("CHECK PAID"), .empty, .empty, .text("SERVICE CHARGE")])
        #expect(values("detail", "two_or_more_days") == [.empty, amount(75000), .empty, .empty, .empty, .empty])
        #expect(values("detail", "value_date") == [.empty, .empty, .date(date(2026, 11, 30)), .empty, .empty, .empty])
        #expect(values("detail", "distributions") == [.empty, .empty, .empty, .empty, .text("0,15000,1,10000"), .empty])
        #expect(values("detail", "bank_reference") == ["BR0001", "BR0002", "BR0003", "BR0004", "BR0005", "BR0006"].map(FieldValue.text))
        #expect(values("account", "account_number") == [.text("1234567890"), .text("9876543210")])
        // The second account's 88 carries its third and fourth summaries, one with a D distribution.
        #expect(values("account", "amount_3") == [amount(975000), amount(25000)])
        #expect(values("account", "distributions_3") == [.empty, .text("0,15000,1,10000")])
        #expect(values("account", "amount_4") == [amount(693000), amount(500)])
        #expect(values("account", "summary_total") == [amount(4450000), amount(-40000)])
        #expect(values("account_trailer", "control_total") == [amount(6118000), amount(-14500)])
        #expect(values("group_header", "as_of") == [.dateTime(DateTime(date: date(2026, 11, 30), time: TimeOfDay(hour: 0, minute: 0, second: 0)!))])
        #expect(values("file_header", "created_at") == [.dateTime(DateTime(date: date(2026, 11, 30), time: TimeOfDay(hour: 2, minute: 15, second: 0)!))])
        #expect(values("file_trailer", "record_count") == [.integer(17)])
    }

    @Test func bai2CountOffByOneFails() throws {
        let spec = try Self.bai2()
        let (report, _) = read(spec, try Self.sample("statement-bad-count.bai"))
        #expect(report.recordsRejected == 0)
        let failed = report.controls.filter { !$0.holds }
        #expect(failed.map(\.control) == ["account record count"])
        #expect(failed.map { $0.location?.line } == [10])
        #expect(failed.map(\.declared) == [DecimalAmount(units: 7, scale: 0)])
        #expect(failed.map(\.actual) == [DecimalAmount(units: 8, scale: 0)])
        // Every other control still holds, the 98 and 99 counts too (the file's records are all there).
        #expect(report.controls.filter(\.holds).count == 9)
        let lines = ReportText.render(report, spec: spec).split(separator: "\n").map {
            $0.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ")
        }
        #expect(lines.filter { $0.contains("✗") } == [
            "✗ account record count line 10: declared 7, found 8",
            "verdict ✗ control totals fail",
        ])
    }
}
