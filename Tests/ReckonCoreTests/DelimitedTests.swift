import ReckonCore
import Testing

@Suite("Delimited reading")
struct DelimitedTests {
    @Test func rfc4180Quoting() throws {
        let spec = try loadSpec("""
            format: delimited
            header: 1
            records: {r: {fields: {id: {column: id}, note: {column: note}, amount: {column: amount, type: decimal}}}}
            """)
        let text = "id,note,amount\r\n1,\"said \"\"hi\"\", left\",1.00\r\n2,\"two\r\nlines\",2.00\r\n3,plain,3.00"
        let (report, records) = read(spec, text)
        #expect(report.isClean, "\(problemTexts(report))")
        #expect(records.map { $0.values[1] } == [.text("said \"hi\", left"), .text("two\r\nlines"), .text("plain")])
        // The record after the two-line one starts on line 5.
        #expect(records.map(\.location.line) == [2, 3, 5])
    }

    @Test func anyDelimiter() throws {
        for (name, delimiter) in [("pipe", "|"), ("semicolon", ";"), ("tab", "\t")] {
            let spec = try loadSpec("format: delimited\ndelimiter: \"\(name == "tab" ? "\\t" : delimiter)\"\nrecords: {r: {fields: {a: {column: 1}, b: {column: 3, type: integer}}}}")
            let (report, records) = read(spec, "x\(delimiter)y\(delimiter)7\n")
            #expect(report.isClean, "\(name)")
            #expect(records.first?.values == [.text("x"), .integer(7)], "\(name)")
        }
    }

    @Test func paddingAroundQuotesAndTrailingDelimiters() throws {
        // WeChat puts a TAB after closing quotes; ICBC pads inside quotes and ends with a TAB;
        // Alipay ends every row with a delimiter.
        let spec = try loadSpec("format: delimited\nrecords: {r: {fields: {a: {column: 1}, b: {column: 2}, c: {column: 3, type: decimal, thousands: \",\"}}}}")
        let (report, records) = read(spec, "\"3985734\"\t,  \"padded    \t\" ,\"1,234.56   \t\",\n")
        #expect(report.isClean, "\(problemTexts(report))")
        #expect(records.first?.values == [.text("3985734"), .text("padded"), amount(123456)])
    }

    @Test func columnsByName() throws {
        let spec = try loadSpec("""
            format: delimited
            header: {match: "^交易时间"}
            records: {r: {fields: {amount: {column: 金额, type: decimal}, at: {column: 交易时间}}}}
            """)
        let text = "导出信息\n共2笔记录\n交易时间 ,金额 \n2023-01-18,1.50\n2023-01-19,2.50\n"
        let (report, records) = read(spec, text)
        #expect(report.isClean)
        #expect(report.skipped == 3)
        #expect(records.map { $0.values[0] } == [amount(150), amount(250)])
    }

    @Test func missingHeaderColumnIsNamed() throws {
        let spec = try loadSpec("format: delimited\nheader: 1\nrecords: {r: {fields: {amount: {column: 金额}}}}")
        let (report, _) = read(spec, "时间,数量\n1,2\n")
        #expect(report.failure?.reason == "the header has no column '金额' (field 'amount' of record kind 'r'); it has: 时间 | 数量")
    }

    @Test func preambleAndSummaryLinesReadForTotals() throws {
        let spec = try loadSpec("""
            format: delimited
            header: {match: "^id,"}
            records:
              summary:
                when: {line: "^共(\\\\d+)笔记录,合计([0-9.]+)"}
                fields: {count: {capture: 1, type: integer}, total: {capture: 2, type: decimal}}
              row:
                default: true
                fields: {id: {column: id}, amount: {column: amount, type: decimal}}
            controls:
              - {name: count, count: row, equals: summary.count}
              - {name: total, sum: row.amount, equals: summary.total}
            """)
        let (report, _) = read(spec, "export,2024\n共2笔记录,合计3.50\n\nid,amount\nA,1.25\nB,2.25\n,,\n")
        #expect(report.isClean, "\(problemTexts(report)) \(report.controls)")
        #expect(report.count(of: "summary")?.read == 1)
        #expect(report.controls.map(\.holds) == [true, true])
        let (wrong, _) = read(spec, "共3笔记录,合计3.50\nid,amount\nA,1.25\nB,2.25\n")
        #expect(wrong.controls.map(\.holds) == [false, true])
        #expect(wrong.controls.first?.declared == DecimalAmount(units: 3, scale: 0))
        #expect(wrong.controls.first?.actual == DecimalAmount(units: 2, scale: 0))
    }

    @Test func linePatternsWithAlternatives() throws {
        // The quick prefix test must not turn away the second branch.
        let spec = try loadSpec("""
            format: delimited
            records:
              total: {when: {line: "^TOTAL (\\\\d+)|^SUM (\\\\d+)"}, ignore: true}
              row: {default: true, fields: {v: {column: 1}}}
            """)
        let (report, _) = read(spec, "a\nTOTAL 1\nSUM 2\nb\n")
        #expect(report.counts.map(\.read) == [2, 2])
    }

    @Test func kindsByColumnValueAndColumnCount() throws {
        let spec = try loadSpec("""
            format: delimited
            records:
              total: {when: {column: 1, equals: "#TOTAL"}, fields: {count: {column: 2, type: integer}}}
              title: {when: {columns: 2}, ignore: true}
              row: {default: true, fields: {id: {column: 1}, amount: {column: 2, type: decimal}, tag: {column: 3}}}
            """)
        let (report, _) = read(spec, "A,1.00,x\nB,2.00,y\nsummary,here\n#TOTAL,2\n")
        #expect(report.isClean)
        #expect(report.counts.map(\.read) == [1, 1, 2])
    }

    @Test func missingColumnsAreReported() throws {
        let spec = try loadSpec("format: delimited\nrecords: {r: {fields: {a: {column: 1}, b: {column: 4}}}}")
        let (report, _) = read(spec, "x,y\n")
        #expect(problemTexts(report) == ["line 1: r field 'b': the record has 2 columns; column 4 is missing"])
    }

    @Test func unclosedQuoteIsATruncatedFile() throws {
        let spec = try loadSpec("format: delimited\nrecords: {r: {fields: {a: {column: 1}, b: {column: 2}}}}")
        let (report, records) = read(spec, "a,b\nc,\"never closed\nd,e\n")
        #expect(records.count == 1)
        #expect(report.failure?.description == "line 2: a quoted field opened here is never closed (truncated file?)")
        #expect(report.failure?.location?.byteOffset == 6)
    }

    @Test func textAfterAClosingQuote() throws {
        let spec = try loadSpec("format: delimited\nrecords: {r: {fields: {a: {column: 1}}}}")
        let (report, _) = read(spec, "\"ab\"c,d\n")
        #expect(report.failure?.reason == "unexpected 'c' after a closing quote")
    }

    @Test func smallReadsAndRecordLimit() throws {
        let spec = try loadSpec("format: delimited\nmax_record_bytes: 64\nrecords: {r: {fields: {a: {column: 1}, b: {column: 2}}}}")
        let text = (0..<40).map { "key\($0),\"value \($0)\"" }.joined(separator: "\n")
        for readBytes in [1, 7, 64] {
            let (report, records) = read(spec, Array(text.utf8), readBytes: readBytes)
            #expect(report.isClean)
            #expect(records.count == 40)
        }
        let (long, _) = read(spec, String(repeating: "x", count: 200) + "\n")
        #expect(long.failure?.reason.hasPrefix("no record end within 64 bytes") == true)
    }

    static let taggedLines = """
        format: delimited
        delimiter: "|"
        NEAR
        records:
          movement:
            when: {line: '^:61:(\\d{6})([CD])(\\d+\\.\\d{2})$'}
            fields:
              booked_on: {capture: 1, type: date, format: yyMMdd}
              mark: {capture: 2}
              amount: {capture: 3, type: decimal}
          other: {default: true, ignore: true}
        """
    static let taggedFile = ":20:STATEMENT\n:61:241215C100.00\n:61:241215X100.00\n:86:text\n"

    /// `near_misses: reject`: a line that begins as a line kind's pattern does but misses the
    /// rest is rejected as that kind instead of falling silently into an ignored kind.
    @Test func nearMissesAreRejectedWhenTheSpecSaysSo() throws {
        let lenient = try loadSpec(Self.taggedLines.replacingOccurrences(of: "NEAR", with: ""))
        let silent = read(lenient, Self.taggedFile).report
        #expect(silent.count(of: "movement").map { [$0.read, $0.rejected] } == [1, 0])
        #expect(silent.count(of: "other")?.read == 3)
        #expect(silent.recordsRejected == 0)

        let strict = try loadSpec(Self.taggedLines.replacingOccurrences(of: "NEAR", with: "near_misses: reject"))
        let report = read(strict, Self.taggedFile).report
        #expect(report.count(of: "movement").map { [$0.read, $0.rejected] } == [1, 1])
        #expect(report.count(of: "other")?.read == 2)
        #expect(problemTexts(report) == [
            "line 3: movement value = ':61:241215X100.00': the line begins ':61:' as record kind 'movement' does, but does not match its pattern ^:61:(\\d{6})([CD])(\\d+\\.\\d{2})$ (near_misses: reject)",
        ])
        #expect(!report.isClean)
        #expect(specError(Self.taggedLines.replacingOccurrences(of: "NEAR", with: "near_misses: maybe"))?.description
                == "test.yaml:3: near_misses: expected ignore or reject")
    }
}
