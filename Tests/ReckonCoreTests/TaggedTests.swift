@testable import ReckonCore
import Testing

@Suite("Tagged reading (SWIFT MT940/MT942)")
struct TaggedTests {
    /// A small MT940-style spec: statement header with its followers, balances, statement
    /// lines with their :86:.
    static let spec = """
        format: tagged
        UNMATCHED
        records:
          statement:
            when: {tag: "20"}
            followed_by: ["25", "28C"]
            fields:
              reference: {tag: "20"}
              account: {tag: "25", required: true}
              number: {tag: "28C", extract: '^([0-9]+)', type: integer}
          opening:
            when: {tag: "60F|60M"}
            content: '([CD])([0-9]{6})([A-Z]{3})([0-9]+,[0-9]*)'
            fields:
              mark: {capture: 1}
              as_of: {capture: 2, type: date, format: yyMMdd}
              currency: {capture: 3}
              amount: {capture: 4, type: decimal, point: ",", sign: {field: mark, negative: [D], positive: [C]}}
          line:
            when: {tag: "61"}
            followed_by: ["86"]
            content: '([0-9]{6})([0-9]{4})?(R?[CD])([A-Z])?([0-9]+,[0-9]*)([A-Z][A-Z0-9]{3})((?:(?!//)[^\\n])*)(?://([^\\n]*))?(?:\\n([^\\n]*))?'
            fields:
              value_date: {capture: 1, type: date, format: yyMMdd}
              entry_date: {capture: 2, type: date, format: MMdd, year_from: value_date}
              mark: {capture: 3}
              funds: {capture: 4}
              amount: {capture: 5, type: decimal, point: ",", sign: {field: mark, negative: [D, RC], positive: [C, RD]}}
              type: {capture: 6}
              reference: {capture: 7, empty: [NONREF]}
              bank_reference: {capture: 8}
              supplementary: {capture: 9}
              details: {tag: "86", join_lines: JOIN}
              details_lines: {tag: "86"}
              account: {from: statement.account, required: true}
          closing:
            when: {tag: "62F|62M"}
            content: '([CD])([0-9]{6})([A-Z]{3})([0-9]+,[0-9]*)'
            fields:
              mark: {capture: 1}
              as_of: {capture: 2, type: date, format: yyMMdd}
              currency: {capture: 3}
              amount: {capture: 4, type: decimal, point: ",", sign: {field: mark, negative: [D], positive: [C]}}
          info:
            when: {tag: "86"}
            fields:
              text: {tag: "86"}
        controls:
          - {name: opening + lines = closing, sum: line.amount, equals: closing.amount - opening.amount, scope: {from: statement, to: closing}}
        """

    static func load(join: String = "space", unmatched: String = "") throws -> MappingSpec {
        try loadSpec(spec.replacingOccurrences(of: "JOIN", with: join).replacingOccurrences(of: "UNMATCHED", with: unmatched))
    }

    /// Two statements: the first in a SWIFT envelope, the second after a `-` separator.
    static let twoStatements = """
        {1:F01BANKBEBBAXXX0000000000}{2:O9401200250102BANKBEBBAXXX00000000002501021200N}{4:
        :20:STMT1
        :25:BE68539007547034
        :28C:7/1
        :60F:C241230EUR1000,00
        :61:2412311231D250,00NTRFINV-117//BK001
        /SUPP/RENT DECEMBER
        :86:RENT DECEMBER
        FLAT 3B
        REF 117
        :61:2501021231RD75,25NCHGNONREF
        :61:2501020102RC45,10NTRFNONREF//BK003
        :86:REVERSAL
        :61:250102DR1200,NDDTMANDATE-7781
        :62F:D250102EUR419,85
        -}{5:{CHK:0123456789AB}}
        :20:STMT2
        :25:BE68539007547034
        :28C:8/1
        :60F:D250102EUR419,85
        :61:250103C500,5NTRFNONREF
        :62F:C250103EUR80,65
        :86:END OF STATEMENT
        -

        """

    @Test func statementLinesTheirSubFieldsAndFollowers() throws {
        let spec = try Self.load()
        let (report, records) = read(spec, Self.twoStatements)
        #expect(report.isClean, "\(problemTexts(report))")
        #expect(report.controlsHold)
        #expect(report.counts.map { [$0.kind: $0.read] } == [["statement": 2], ["opening": 2], ["line": 5], ["closing": 2], ["info": 1]])
        let lines = records.filter { spec.kinds[$0.kindIndex].name == "line" }
        // 1000.00 − 250.00 + 75.25 (RD: a debit reversed, a credit) − 45.10 (RC: a credit
        // reversed, a debit) − 1200.00 = −419.85, the closing balance's D mark.
        #expect(lines.map { value($0, "amount", in: spec) } == [amount(-25000), amount(7525), amount(-4510), amount(-120000), amount(50050)])
        #expect(lines.map { value($0, "mark", in: spec) } == [.text("D"), .text("RD"), .text("RC"), .text("D"), .text("C")])
        // A funds code glued between the mark and the amount (`DR1200,`).
        #expect(lines.map { value($0, "funds", in: spec) } == [.empty, .empty, .empty, .text("R"), .empty])
        #expect(lines.map { value($0, "value_date", in: spec) } == [
            .date(date(2024, 12, 31)), .date(date(2025, 1, 2)), .date(date(2025, 1, 2)), .date(date(2025, 1, 2)), .date(date(2025, 1, 3))])
        // Entry date 1231 on value date 2025-01-02 is 2024-12-31; 0102 stays in 2025.
        #expect(lines.map { value($0, "entry_date", in: spec) } == [
            .date(date(2024, 12, 31)), .date(date(2024, 12, 31)), .date(date(2025, 1, 2)), .empty, .empty])
        let first = try lines.element(at: 0)
        #expect(value(first, "type", in: spec) == .text("NTRF"))
        #expect(value(first, "reference", in: spec) == .text("INV-117"))
        #expect(value(first, "bank_reference", in: spec) == .text("BK001"))
        #expect(value(first, "supplementary", in: spec) == .text("/SUPP/RENT DECEMBER"))
        // The :86: over three lines, joined by spaces, or kept line for line.
        #expect(value(first, "details", in: spec) == .text("RENT DECEMBER FLAT 3B REF 117"))
        #expect(value(first, "details_lines", in: spec) == .text("RENT DECEMBER\nFLAT 3B\nREF 117"))
        #expect(value(try lines.element(at: 1), "reference", in: spec) == .empty)   // NONREF
        #expect(value(try lines.element(at: 1), "details", in: spec) == .empty)     // no :86: after it
        #expect(value(try lines.element(at: 2), "details", in: spec) == .text("REVERSAL"))
        // The record is where its :61: is; the envelope line is line 1.
        #expect(lines.map(\.location.line) == [6, 11, 12, 14, 21])
        // Each line carries its statement's account (inherited from the :25: before it).
        #expect(lines.map { value($0, "account", in: spec) } == Array(repeating: .text("BE68539007547034"), count: 5))
        let statements = records.filter { spec.kinds[$0.kindIndex].name == "statement" }
        #expect(statements.map { value($0, "account", in: spec) } == [.text("BE68539007547034"), .text("BE68539007547034")])
        #expect(statements.map { value($0, "number", in: spec) } == [.integer(7), .integer(8)])
        // The :86: after the closing balance is a record of its own.
        let info = try #require(records.first { spec.kinds[$0.kindIndex].name == "info" })
        #expect(info.values == [.text("END OF STATEMENT")])
    }

    /// Reading in small pieces gives the same records; a block longer than
    /// max_record_bytes stops the file (memory stays bounded).
    @Test func smallReadsAndTheRecordLimit() throws {
        let spec = try Self.load()
        let whole = read(spec, Self.twoStatements).records.map(\.values)
        for readBytes in [1, 7, 64] {
            let (report, records) = read(spec, Array(Self.twoStatements.utf8), readBytes: readBytes)
            #expect(report.recordsRejected == 0, "\(readBytes)")
            #expect(records.map(\.values) == whole, "\(readBytes)")
        }
        let limited = try loadSpec(Self.spec.replacingOccurrences(of: "JOIN", with: "space")
            .replacingOccurrences(of: "UNMATCHED", with: "max_record_bytes: 64"))
        let long = ":20:S\n:25:A\n:86:" + Array(repeating: "TWENTY CHARACTERS OK", count: 5).joined(separator: "\n") + "\n"
        let (report, _) = read(limited, long)
        #expect(report.failure?.description
                == "line 3: the tag :86: runs over more than 64 bytes (max_record_bytes); is a message end or the next tag missing?")
    }

    @Test func continuedLinesJoinAsTheFieldSays() throws {
        let text = ":20:S\n:25:A\n:61:250102C1,00NTRFX\n:86:ONE\nTWO\n  THREE\n"
        for (join, expected) in [("newline", "ONE\nTWO\n  THREE"), ("space", "ONE TWO   THREE"), ("none", "ONETWO  THREE")] {
            let spec = try Self.load(join: join)
            let (report, records) = read(spec, text)
            #expect(report.recordsRejected == 0, "\(problemTexts(report))")
            let line = try #require(records.first { spec.kinds[$0.kindIndex].name == "line" })
            #expect(value(line, "details", in: spec) == .text(expected), "\(join)")
        }
    }

    @Test func commaDecimals() throws {
        let spec = try Self.load()
        for (written, units) in [("1500,", Int64(150000)), ("0,5", 50), ("12345,67", 1234567), ("7,00", 700)] {
            let (report, records) = read(spec, ":20:S\n:25:A\n:61:250102C\(written)NTRFX\n")
            #expect(report.recordsRejected == 0, "\(written): \(problemTexts(report))")
            let line = try #require(records.first { spec.kinds[$0.kindIndex].name == "line" })
            #expect(value(line, "amount", in: spec) == amount(units), "\(written)")
        }
        let (report, _) = read(spec, ":20:S\n:25:A\n:61:250102C1,234NTRFX\n")
        #expect(problemTexts(report) == ["line 3: line field 'amount' = '1,234': has more than 2 decimal places; amounts are never rounded on input"])
    }

    /// A per-statement control: each statement's closing balance is checked against its own
    /// opening balance and lines; the second statement off by a cent fails alone.
    @Test func aBalanceOffByACentFailsItsStatement() throws {
        let spec = try Self.load()
        let broken = Self.twoStatements.replacingOccurrences(of: ":62F:C250103EUR80,65", with: ":62F:C250103EUR80,66")
        let (report, _) = read(spec, broken)
        #expect(report.recordsRejected == 0)
        #expect(report.controls.map(\.holds) == [true, false])
        let failed = try #require(report.controls.last)
        #expect(failed.location?.line == 22)
        #expect(failed.declared == DecimalAmount(units: 50051, scale: 2))   // 80.66 − (−419.85)
        #expect(failed.actual == DecimalAmount(units: 50050, scale: 2))
        #expect(!report.isClean)
        let text = ReportText.render(report, spec: spec)
        #expect(text.contains("✗ opening + lines = closing  line 22: declared 500.51, found 500.50"), "\(text)")
    }

    @Test func unknownTagsAreRejectedOrSkippedAsUnmatchedSays() throws {
        let text = ":20:S\n:25:A\n:99:WHAT\nIS THIS\n:61:250102C1,00NTRFX\n"
        let strict = try Self.load()
        let (report, records) = read(strict, text)
        #expect(problemTexts(report) == ["line 3: value = 'WHAT\\u{A}IS THIS': no record kind reads the tag :99:"])
        #expect(report.unmatched == 1)
        #expect(records.count == 2)
        let lenient = try Self.load(unmatched: "unmatched: skip")
        let (skipped, kept) = read(lenient, text)
        #expect(skipped.recordsRejected == 0)
        #expect(skipped.skipped == 1)
        #expect(kept.count == 2)
    }

    @Test func textOutsideAnyTagAndBadTagLines() throws {
        let spec = try Self.load()
        let (report, _) = read(spec, "HELLO\n:20:S\n:25:A\n-\nBETWEEN\n:6:X\n")
        #expect(problemTexts(report) == [
            "line 1: value = 'HELLO': text outside any tag: a record starts with a tag line such as ':20:' (outside_tags: skip passes such lines over)",
            "line 5: value = 'BETWEEN': text outside any tag: a record starts with a tag line such as ':20:' (outside_tags: skip passes such lines over)",
            "line 6: value = ':6:X': the line starts with ':' but is not a tag line (':TAG:' with two letters or digits and an optional letter)",
        ])
        // A bank's own header lines before a message (ABN AMRO's `ABNANL2A` / `940`) are
        // skipped under outside_tags: skip; a broken tag line is still rejected.
        let lenient = try loadSpec(Self.spec.replacingOccurrences(of: "JOIN", with: "space")
            .replacingOccurrences(of: "UNMATCHED", with: "outside_tags: skip"))
        let (skipped, records) = read(lenient, "ABNANL2A\n940\n:20:S\n:25:A\n-\nBETWEEN\n:6:X\n")
        #expect(skipped.skipped == 3)
        #expect(records.count == 1)
        #expect(problemTexts(skipped) == [
            "line 7: value = ':6:X': the line starts with ':' but is not a tag line (':TAG:' with two letters or digits and an optional letter)",
        ])
        // Rabobank's files open with the message type as a line of its own, and some
        // banks repeat it between messages: a bank's line, skipped like the others.
        let (rabobank, statements) = read(lenient, ":940:\n:20:S\n:25:A\n:940: \n:20:T\n:25:B\n")
        #expect(rabobank.skipped == 2 && rabobank.recordsRejected == 0, "\(problemTexts(rabobank))")
        #expect(statements.map { $0.values[1] } == [.text("A"), .text("B")])
        let (strictRabobank, _) = read(spec, ":940:\n:20:S\n:25:A\n")
        #expect(problemTexts(strictRabobank) == [
            "line 1: value = ':940:': a message type line outside any tag (outside_tags: skip passes such lines over)",
        ])
        #expect(specError("format: delimited\noutside_tags: skip\nrecords: {r: {fields: {a: {column: 1}}}}")?.description
                == "test.yaml:2: outside_tags: 'outside_tags' does not apply to delimited files")
    }

    /// A tag line inside a message whose tag no kind reads: rejected by default; with
    /// `unknown_tags: text` a line of the text before it (free text that wrapped a time).
    @Test func unknownTagsInsideAMessageCanBeText() throws {
        let text = ":20:S\n:25:A\n:61:250102C1,00NTRFX\n:86:PAID 2024-09-12T16\n:26:37 SEQ 007\n:62F:C250102EUR1,00\n"
        let strict = try Self.load()
        #expect(problemTexts(read(strict, text).report) == ["line 5: value = '37 SEQ 007': no record kind reads the tag :26:"])
        let lenient = try Self.load(unmatched: "unknown_tags: text")
        let (report, records) = read(lenient, text)
        #expect(report.recordsRejected == 0, "\(problemTexts(report))")
        let line = try #require(records.first { $0.kindIndex == 2 })
        #expect(line.values[9] == .text("PAID 2024-09-12T16 :26:37 SEQ 007"))
        // A tag some kind reads still starts its own record; before any tag there is no text to continue.
        let (outside, _) = read(lenient, ":26:X\n:20:S\n:25:A\n")
        #expect(problemTexts(outside) == ["line 1: value = 'X': no record kind reads the tag :26:"])
        #expect(specError("format: delimited\nunknown_tags: text\nrecords: {r: {fields: {a: {column: 1}}}}")?.description
                == "test.yaml:2: unknown_tags: 'unknown_tags' does not apply to delimited files")
    }

    /// `month_end: true`: a day past its month's end (30 February, from banks that count
    /// 30-day months) is the month's last day; without it the date is refused.
    @Test func daysPastTheMonthEnd() throws {
        let spec = try loadSpec("""
            format: delimited
            records:
              r:
                fields:
                  strict: {column: 1, type: date, format: yyMMdd}
                  lenient: {column: 2, type: date, format: yyMMdd, month_end: true}
            """)
        let (report, records) = read(spec, "160229,160230\n150228,150231\n161231,161131\n")
        #expect(records.map { $0.values[1] } == [.date(CivilDate(year: 2016, month: 2, day: 29)!),
                                                 .date(CivilDate(year: 2015, month: 2, day: 28)!),
                                                 .date(CivilDate(year: 2016, month: 11, day: 30)!)])
        let (refused, _) = read(spec, "160230,160230\n160229,161332\n")
        #expect(problemTexts(refused) == ["line 1: r field 'strict' = '160230': not a date in the format yyMMdd",
                                          "line 2: r field 'lenient' = '161332': not a date in the format yyMMdd"])
        #expect(report.recordsRejected == 0)
        #expect(specError("format: delimited\nrecords: {r: {fields: {a: {column: 1, month_end: true}}}}")?.description
                == "test.yaml:2: records.r.fields.a.month_end: 'month_end' applies to a date or date-time field")
    }

    /// Envelope blocks are passed over, also when the text block starts on the `{4:` line,
    /// and CRLF line ends read as LF ones.
    @Test func envelope() throws {
        let spec = try Self.load()
        let text = "{1:F01BANKBEBBAXXX0000000000}{2:O940N}{4::20:S1\r\n:25:ACC\r\n-}{5:{CHK:1}}\r\n{1:F01X}{2:O940N}{3:{108:REF}}{4:\r\n:20:S2\r\n:25:ACC2\r\n-}\r\n"
        let (report, records) = read(spec, text)
        #expect(report.recordsRejected == 0 && report.skipped == 0, "\(problemTexts(report))")
        #expect(records.map { $0.values[0] } == [.text("S1"), .text("S2")])
        #expect(records.map { $0.values[1] } == [.text("ACC"), .text("ACC2")])
        #expect(records.map(\.location.line) == [1, 5])
    }

    /// Problems name the physical line the offending value came from: the tag's line, a
    /// continuation line, or a following tag's.
    @Test func problemsNameTheLineOfTheirValue() throws {
        let spec = try loadSpec("""
            format: tagged
            records:
              line:
                when: {tag: "61"}
                followed_by: ["86"]
                content: '([0-9]{6})([CD])([0-9]+,[0-9]*)(?:\\n(.*))?'
                fields:
                  value_date: {capture: 1, type: date, format: yyMMdd}
                  mark: {capture: 2}
                  amount: {capture: 3, type: decimal, point: ","}
                  code: {capture: 4, pattern: '[A-Z]+'}
                  details: {tag: "86", max_length: 10}
            """)
        let text = ":61:251399C1,00\n:61:250101C1,00\nlower\n:86:SHORT\nBUT THIS IS LONG\n:61:250101X1,00\n"
        let (report, _) = read(spec, text)
        #expect(problemTexts(report) == [
            "line 1: line field 'value_date' = '251399': not a date in the format yyMMdd",
            "line 2: line line 3: field 'code' = 'lower': does not match the pattern [A-Z]+",
            "line 2: line line 4: field 'details' = 'SHORT\\u{A}BUT THIS IS LONG': is 22 characters; at most 10 allowed",
            "line 6: line value = '250101X1,00': the content of :61: does not match the kind's layout ([0-9]{6})([CD])([0-9]+,[0-9]*)(?:\\n(.*))?",
        ])
    }

    @Test func yearFromTheNearestYear() {
        func resolve(_ m: Int, _ d: Int, _ reference: CivilDate) -> CivilDate? { YearFrom.resolve(month: m, day: d, near: reference) }
        #expect(resolve(12, 31, date(2024, 1, 2)) == date(2023, 12, 31))
        #expect(resolve(1, 2, date(2023, 12, 31)) == date(2024, 1, 2))
        #expect(resolve(6, 15, date(2024, 6, 1)) == date(2024, 6, 15))
        #expect(resolve(2, 29, date(2024, 3, 1)) == date(2024, 2, 29))
        // 0229 is only ever a day in a leap year: more than half a year from 2025-09-01.
        #expect(resolve(2, 29, date(2025, 9, 1)) == nil)
        // Against a brute-force oracle: every day of a span of years, the nearest of all
        // candidate dates within ±400 days with that month and day.
        var reference = date(2023, 1, 1)
        while reference < date(2025, 12, 31) {
            for (m, d) in [(1, 1), (2, 29), (6, 30), (7, 1), (12, 31)] {
                var best: CivilDate?
                for offset in -400...400 {
                    let day = reference.adding(days: offset)!
                    guard day.month == m, day.day == d else { continue }
                    if best == nil || abs(reference.days(to: day)) < abs(reference.days(to: best!)) { best = day }
                }
                if let found = best, abs(reference.days(to: found)) > 183 { best = nil }
                #expect(resolve(m, d, reference) == best, "\(m)-\(d) near \(reference)")
            }
            reference = reference.adding(days: 7)!
        }
    }

    @Test func yearFromInEveryFormatAndItsProblems() throws {
        let spec = try loadSpec("""
            format: delimited
            records:
              r:
                fields:
                  value_date: {column: 1, type: date, format: yyyy-MM-dd}
                  entry_date: {column: 2, type: date, format: MM-dd, year_from: value_date}
            """)
        let (report, records) = read(spec, "2024-01-02,12-31\n2023-12-31,01-02\n,12-31\n2025-09-01,02-29\n2025-01-01,13-01\n")
        #expect(records.map(\.values) == [
            [.date(date(2024, 1, 2)), .date(date(2023, 12, 31))],
            [.date(date(2023, 12, 31)), .date(date(2024, 1, 2))],
        ])
        #expect(problemTexts(report) == [
            "line 3: r field 'entry_date' = '12-31': takes its year from field 'value_date', which has no value",
            "line 4: r field 'entry_date' = '02-29': is not within half a year of value_date 2025-09-01 in any year",
            "line 5: r field 'entry_date' = '13-01': not a date in the format MM-dd",
        ])
    }

    @Test func specErrors() {
        func error(_ yaml: String) -> String? { specError(yaml)?.description }
        let head = "format: tagged\nrecords:\n"
        #expect(error(head + "  a: {when: {tag: \"6\"}, fields: {x: {tag: \"6\"}}}")
                == "test.yaml:3: records.a.when.tag: '6' is not a tag: two letters or digits and an optional upper-case letter, such as 61, 60F or NS (without the colons)")
        #expect(error(head + "  a: {when: {tag: \"61\"}, fields: {x: {capture: 1}}}")
                == "test.yaml:3: records.a.fields.x.capture: capture needs the kind's content pattern (content: '…' with capture groups)")
        #expect(error(head + "  a: {when: {tag: \"61\"}, fields: {x: {tag: \"86\"}}}")
                == "test.yaml:3: records.a.fields.x.tag: the record holds no tag 86: it has its own tag 61; name it in followed_by to take it from the tag after")
        #expect(error(head + "  a: {when: {line: \"^:61:\"}, fields: {x: {tag: \"61\"}}}")
                == "test.yaml:3: records.a.when: tagged record kinds are told apart by their tag: when: {tag: \"61\"}, or several: {tag: \"60F|60M\"}")
        #expect(error(head + "  a: {when: {tag: \"61\"}, fields: {x: {start: 1, length: 2}}}")
                == "test.yaml:3: records.a.fields.x.start: 'start' does not apply to tagged files: a field of a tagged kind is a capture group of the kind's content pattern (capture: N) or a whole tag's content (tag: \"86\")")
        #expect(error(head + "  a: {when: {tag: \"61\"}, fields: {x: {tag: \"61\"}}}\n  b: {when: {tag: \"61|62\"}, fields: {x: {tag: \"61\"}}}")
                == "test.yaml:4: records.b: the tag 61 is already the tag of record kind 'a'")
        #expect(error("format: delimited\nrecords:\n  a: {when: {tag: \"61\"}, fields: {x: {column: 1}}}")
                == "test.yaml:3: records.a.when.tag: 'tag' applies to tagged files (format: tagged)")
        #expect(error("format: delimited\nrecords:\n  a: {fields: {x: {column: 1, join_lines: space}}}")
                == "test.yaml:3: records.a.fields.x.join_lines: 'join_lines' applies to fields of tagged files (format: tagged)")
        #expect(error(head + "  a: {when: {tag: \"61\"}, fields: {x: {tag: \"61\", join_lines: tabs}}}")
                == "test.yaml:3: records.a.fields.x.join_lines: expected newline, space or none")
        #expect(error(head + "  a: {when: {tag: \"61\"}, direction: both, fields: {x: {tag: \"61\"}}}") != nil)
        #expect(error("format: tagged\ndirection: both\nrecords:\n  a: {when: {tag: \"61\"}, fields: {x: {tag: \"61\"}}}")
                == "test.yaml:2: direction: cannot be written: tagged files (format: tagged) are read, not written")
        // year_from
        let dates = "format: delimited\nrecords:\n  r: {fields: {v: {column: 1, type: date, format: yyMMdd}, e: E}}"
        #expect(error(dates.replacingOccurrences(of: "E", with: "{column: 2, type: date, format: MMdd}"))
                == "test.yaml:3: records.r.fields.e.format: format 'MMdd' does not fit: a date needs year, month and day and no time (a date written without its year takes it from another field: year_from)")
        #expect(error(dates.replacingOccurrences(of: "E", with: "{column: 2, type: date, format: yyMMdd, year_from: v}"))
                == "test.yaml:3: records.r.fields.e.year_from: the format 'yyMMdd' has its own year; year_from is for dates written without one (MMdd)")
        #expect(error(dates.replacingOccurrences(of: "E", with: "{column: 2, year_from: v}"))
                == "test.yaml:3: records.r.fields.e.year_from: 'year_from' applies to date fields written without their year (format: MMdd)")
        #expect(error(dates.replacingOccurrences(of: "E", with: "{column: 2, type: date, format: MMdd, year_from: w}"))
                == "test.yaml:3: records.r.fields.e: year_from names 'w', which is not another field of this record kind")
    }

    @Test func shippedSpecsReadTheirSamples() throws {
        let mt940 = try shippedSpec("mt940.yaml")
        let bytes = try [UInt8](contentsOfFile: mappingsFolder + "/samples/mt940/year-end.sta")
        let (report, records) = read(mt940, bytes)
        #expect(report.isClean, "\(problemTexts(report))")
        #expect(report.controls.map(\.holds) == [true, true])
        let entries = records.filter { mt940.kinds[$0.kindIndex].name == "entry" }
        #expect(entries.map { value($0, "amount", in: mt940) } == [amount(-25000), amount(150000), amount(7525), amount(-120000), amount(-4510), amount(300000)])
        #expect(value(try entries.element(at: 3), "entry_date", in: mt940) == .date(date(2024, 12, 31)))
        #expect(Set(entries.map { value($0, "account", in: mt940) }) == [.text("NL91ABNA0417164300")])
        #expect(Set(entries.map { value($0, "currency", in: mt940) }) == [.text("EUR")])
        // The :86: kept line for line (the shipped spec loses nothing: wrapped free text
        // and structured ?20 sub-fields cut mid-word alike).
        #expect(value(try entries.element(at: 0), "details", in: mt940)
                == .text("RENT DECEMBER 2024 FLAT 3B\nPAID TO HOUSING ASSOCIATION OOSTERPARK\nREFERENCE 2024-117"))

        let broken = try [UInt8](contentsOfFile: mappingsFolder + "/samples/mt940/broken-balance.sta")
        let (failed, _) = read(mt940, broken)
        #expect(failed.recordsRejected == 0)
        #expect(ReportText.render(failed, spec: mt940).contains(
            "✗ opening balance + statement lines = closing balance  line 16: declared 230.01, found 230.00"))

        let mt942 = try shippedSpec("mt942.yaml")
        let intraday = try [UInt8](contentsOfFile: mappingsFolder + "/samples/mt940/intraday.942")
        let (interim, lines) = read(mt942, intraday)
        #expect(interim.isClean, "\(problemTexts(interim))")
        #expect(interim.controls.map(\.holds) == [true, true, true, true])
        let limits = lines.filter { mt942.kinds[$0.kindIndex].name == "floor_limit" }
        #expect(limits.map(\.values) == [[.text("EUR"), .text("D"), amount(0)], [.text("EUR"), .text("C"), amount(10000)]])
        // An MT942 with one debit too many fails its :90D: count and sum.
        let extra = String(decoding: intraday, as: UTF8.self).replacingOccurrences(
            of: ":90D:", with: ":61:2501150115D0,01NMSCNONREF\n:90D:")
        let (off, _) = read(mt942, extra)
        #expect(off.controls.map(\.holds) == [false, false, true, true])
    }
}

