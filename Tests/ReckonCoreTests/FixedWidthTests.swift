import ReckonCore
import Testing

@Suite("Fixed-width reading")
struct FixedWidthTests {
    static let layout = """
        format: fixed-width
        record_length: 20
        separator: SEPARATOR
        records:
          header:
            when: {start: 1, equals: H}
            occurs: 1
            fields:
              business_date: {start: 2, length: 8, type: date, format: yyyyMMdd, required: true}
          detail:
            when: {start: 1, equals: D}
            fields:
              loan_id: {start: 2, length: 8, required: true}
              amount:  {start: 10, length: 10, type: decimal, implied: true, required: true}
              flag:    {start: 20, length: 1}
          trailer:
            when: {start: 1, equals: T}
            occurs: 1
            fields:
              count: {start: 2, length: 5, type: integer}
              total: {start: 7, length: 13, type: decimal, implied: true}
        controls:
          - {name: count, count: detail, equals: trailer.count}
          - {name: total, sum: detail.amount, equals: trailer.total}
        """

    func spec(_ separator: String = "newline") throws -> MappingSpec {
        try loadSpec(Self.layout.replacingOccurrences(of: "SEPARATOR", with: separator))
    }

    /// Three records in the layout above, 20 characters each.
    static let file = [
        "H20241115           ",
        "DL00000010000104942Y",
        "DL00000020000050000N",
        "T000020000000154942 ",
    ]

    @Test func readsLinesWithControls() throws {
        let (report, records) = read(try spec(), Self.file.joined(separator: "\n") + "\n")
        #expect(report.isClean)
        #expect(report.count(of: "detail")?.read == 2)
        #expect(records.count == 4)
        let detail = try #require(records.dropFirst().first)
        #expect(value(detail, "loan_id", in: try spec()) == .text("L0000001"))
        #expect(value(detail, "amount", in: try spec()) == amount(104942))
        #expect(report.controls.map(\.holds) == [true, true])
        #expect(report.controls.map(\.declared) == [DecimalAmount(units: 2, scale: 0), DecimalAmount(units: 154942, scale: 2)])
    }

    @Test func crlfAndNoFinalNewline() throws {
        let (report, _) = read(try spec(), Self.file.joined(separator: "\r\n"))
        #expect(report.isClean)
        #expect(report.recordsRead == 4)
    }

    @Test func backToBackRecords() throws {
        let joined = Self.file.joined()
        let (report, _) = read(try spec("none"), joined)
        #expect(report.isClean)
        #expect(report.recordsRead == 4)
        // A final newline after the last record is allowed.
        #expect(read(try spec("none"), joined + "\r\n").report.isClean)
    }

    @Test func autoSeparatorReadsBoth() throws {
        #expect(read(try spec("auto"), Self.file.joined()).report.recordsRead == 4)
        #expect(read(try spec("auto"), Self.file.joined(separator: "\n")).report.recordsRead == 4)
        // Two records on one line, then one per line.
        let mixed = Self.file[0] + Self.file[1] + "\n" + Self.file[2] + "\n" + Self.file[3]
        #expect(read(try spec("auto"), mixed).report.isClean)
    }

    @Test func backToBackRecordsAreNumbered() throws {
        var records = Self.file
        records[2] = "DL00000020000050X00N"
        let (report, _) = read(try spec("none"), records.joined())
        #expect(problemTexts(report) == ["line 3: detail field 'amount' = '0000050X00': unexpected character 'X' in a number"])
        #expect(report.problems.first?.location.byteOffset == 40)
    }

    @Test func truncatedBackToBackFile() throws {
        let joined = Self.file.joined()
        let (report, _) = read(try spec("none"), String(joined.dropLast(7)))
        let failure = try #require(report.failure)
        #expect(failure.reason == "the file ends inside record 4: 13 of 20 bytes (truncated?)")
    }

    @Test func truncatedFileMissesItsTrailer() throws {
        let (report, _) = read(try spec(), Self.file.prefix(3).joined(separator: "\n"))
        #expect(!report.isClean)
        #expect(report.structure == ["no 'trailer' record; the spec expects at least 1 (truncated file, or the wrong file?)"])
        #expect(report.controls.allSatisfy { !$0.holds })
        #expect(report.controls.first?.note?.contains("no value for trailer.count") == true)
    }

    // MARK: Short records

    @Test func aTrailerWithoutItsPaddingIsRefused() throws {
        // The trailer's last position is filler: cut off, no field is missing, and still the
        // record is not what the layout says.
        let lines = Self.file.prefix(3) + [Self.file[3].trimmingTrailingSpaces()]
        let (report, _) = read(try spec(), lines.joined(separator: "\n"))
        #expect(!report.isClean)
        #expect(problemTexts(report) == [
            "line 4: trailer the record is 19 bytes long; this layout's records are 20: only filler after the last field is missing; short records are refused (short_records: reject)",
        ])
    }

    @Test func aTrailerCutMidFieldIsNeverReadAsASmallerTotal() throws {
        // Cut after "T00002000000001": the total's first digits would read as 0.01.
        let cut = "T00002000000001"
        for policy in ["", "\nshort_records: whole_fields", "\nshort_records: right_trimmed"] {
            let spec = try loadSpec(Self.layout.replacingOccurrences(of: "SEPARATOR", with: "newline") + policy)
            let (report, _) = read(spec, (Self.file.prefix(3) + [cut]).joined(separator: "\n"))
            #expect(report.count(of: "trailer")?.read == 0, "\(policy)")
            #expect(report.count(of: "trailer")?.rejected == 1, "\(policy)")
            #expect(report.controls.allSatisfy { !$0.holds }, "\(policy)")
            let text = try #require(problemTexts(report).first, "\(policy)")
            switch policy {
            case "":
                #expect(text == "line 4: trailer the record is 15 bytes long; this layout's records are 20: total (7–19) is cut after 9 of its 13 bytes; short records are refused (short_records: reject)")
            case "\nshort_records: whole_fields":
                #expect(text == "line 4: trailer field 'total' = '000000001': is cut after 9 of its 13 bytes (the record is 15 bytes long; this layout's records are 20); short_records: whole_fields lets a record stop between fields, not inside one")
            default:
                #expect(text == "line 4: trailer field 'total' = '000000001': is cut after 9 of its 13 bytes (the record is 15 bytes long; this layout's records are 20); trimming a line can only shorten left-aligned text, and this is a decimal")
            }
        }
    }

    @Test func aRecordCutShortNamesEveryFieldItLacks() throws {
        let (report, _) = read(try spec(), (Self.file.prefix(1) + ["DL000000100"] + Self.file.suffix(2)).joined(separator: "\n"))
        #expect(problemTexts(report) == [
            "line 2: detail the record is 11 bytes long; this layout's records are 20: amount (10–19) is cut after 2 of its 10 bytes and flag (20–20) is missing; short records are refused (short_records: reject)",
        ])
    }

    @Test func wholeFieldsLetTrailingFieldsBeAbsent() throws {
        let spec = try loadSpec(Self.layout.replacingOccurrences(of: "SEPARATOR", with: "newline") + "\nshort_records: whole_fields")
        // The header stops after its date, the first detail before its flag, the trailer in filler.
        let lines = [Self.file[0].trimmingTrailingSpaces(), "DL00000010000104942", Self.file[2], Self.file[3].trimmingTrailingSpaces()]
        let (report, records) = read(spec, lines.joined(separator: "\n"))
        #expect(report.isClean, "\(problemTexts(report))")
        let detail = try #require(records.dropFirst().first)
        #expect(value(detail, "flag", in: spec) == .empty)
        #expect(value(detail, "amount", in: spec) == amount(104942))
        // A required field that is absent is still missing.
        let (short, _) = read(spec, (["H"] + Self.file.suffix(3)).joined(separator: "\n"))
        #expect(problemTexts(short) == ["line 1: header field 'business_date': required value is missing"])
    }

    static let trimmedLayout = """
        format: fixed-width
        record_length: 24
        short_records: right_trimmed
        records:
          r:
            fields:
              amount: {start: 1, length: 8, type: decimal, implied: true}
              name:   {start: 9, length: 10}
              tail:   {start: 19, length: 6, align: right}
        """

    @Test func rightTrimmedLinesMayShortenLeftAlignedText() throws {
        let spec = try loadSpec(Self.trimmedLayout)
        let (report, records) = read(spec, "00001000Zhang Wei     12\n00001000Zhang\n00002000\n")
        #expect(report.isClean, "\(problemTexts(report))")
        #expect(records.map(\.values) == [
            [amount(1000), .text("Zhang Wei"), .text("12")],
            [amount(1000), .text("Zhang"), .empty],
            [amount(2000), .empty, .empty],
        ])
    }

    @Test func rightTrimmedLinesNeverShortenNumbersOrRightAlignedText() throws {
        let spec = try loadSpec(Self.trimmedLayout)
        let (report, _) = read(spec, "00001000Zhang Wei     1\n0000100\n")
        #expect(problemTexts(report) == [
            "line 1: r field 'tail' = '    1': is cut after 5 of its 6 bytes (the record is 23 bytes long; this layout's records are 24); trimming a line can only shorten left-aligned text, and this is text that keeps its trailing spaces or is aligned right",
            "line 2: r field 'amount' = '0000100': is cut after 7 of its 8 bytes (the record is 7 bytes long; this layout's records are 24); trimming a line can only shorten left-aligned text, and this is a decimal",
        ])
    }

    @Test func aKindMaySetItsOwnPolicy() throws {
        let yaml = Self.layout.replacingOccurrences(of: "SEPARATOR", with: "newline")
            .replacingOccurrences(of: "    when: {start: 1, equals: T}\n", with: "    when: {start: 1, equals: T}\n    short_records: reject\n")
            + "\nshort_records: right_trimmed"
        let spec = try loadSpec(yaml)
        let lines = [Self.file[0].trimmingTrailingSpaces(), "DL00000010000104942", Self.file[2], Self.file[3].trimmingTrailingSpaces()]
        let (report, _) = read(spec, lines.joined(separator: "\n"))
        #expect(report.recordsRejected == 1)
        #expect(report.count(of: "trailer")?.rejected == 1)
        #expect(problemTexts(report).first?.hasPrefix("line 4: trailer the record is 19 bytes long") == true)
    }

    @Test func charactersCountForShortRecordsWhenTheLayoutCountsThem() throws {
        // 18 characters (38 bytes): the line stops where the name ends; the tail is absent.
        let spec = try loadSpec(Self.trimmedLayout + "\npositions: characters")
        let (report, records) = read(spec, "00001000张伟李娜王芳交易成功\n")
        #expect(report.isClean, "\(problemTexts(report))")
        #expect(records.first?.values == [amount(1000), .text("张伟李娜王芳交易成功"), .empty])
        // Cut inside the amount, counted in characters too.
        let (cut, _) = read(spec, "000010\n")
        #expect(problemTexts(cut).first?.hasPrefix("line 1: r field 'amount' = '000010': is cut after 6 of its 8 characters (the record is 6 characters long") == true)
    }

    /// An over-long line is rejected as the kind its discriminator names and counts where
    /// that kind's records count; one no kind matches says both things.
    @Test func overlongAndUnmatchedRecords() throws {
        let lines = [Self.file[0], Self.file[1] + "XX", "X" + String(repeating: " ", count: 19), "X" + String(repeating: " ", count: 21), Self.file[2], Self.file[3]]
        let (report, _) = read(try spec(), lines.joined(separator: "\n"))
        #expect(problemTexts(report) == [
            "line 2: detail the record is 22 bytes long; this layout's records are 20",
            "line 3: value = 'X                   ': no record kind matches this record",
            "line 4: value = 'X                     ': no record kind matches this record, and the record is 22 bytes long; this layout's records are 20",
        ])
        #expect(report.unmatched == 2)
        #expect(report.count(of: "detail").map { [$0.read, $0.rejected] } == [1, 1])
        // The trailer's count of 2 holds: the rejected detail is in the file and counts.
        #expect(report.controls.first?.holds == true)
        #expect(report.controls.first?.actual == DecimalAmount(units: 2, scale: 0))
        #expect(report.controls.first?.note == "1 counted record was rejected")
        #expect(report.recordsRejected == 3)
    }

    /// A fixed-width file has no empty records: an empty line is rejected and counted unless
    /// the spec says `blank_lines: skip`. The final line break is not an empty line.
    @Test func emptyLinesAreRejectedUnlessSkipped() throws {
        let text = [Self.file[0], Self.file[1], "", Self.file[2], Self.file[3]].joined(separator: "\n") + "\n"
        let (report, records) = read(try spec(), text)
        #expect(problemTexts(report) == ["line 3: an empty line; this layout's records are 20 bytes (blank_lines: skip passes over empty lines)"])
        #expect(report.blankLines == 1)
        #expect(report.unmatched == 0)
        #expect(report.recordsRejected == 1)
        #expect(report.skipped == 0)
        #expect(records.count == 4)
        #expect(!report.isClean)
        let rendered = ReportText.render(report, spec: try spec())
        #expect(rendered.contains("records   4 read, 1 rejected (1 empty line)"))

        let skipping = try loadSpec(Self.layout.replacingOccurrences(of: "SEPARATOR", with: "newline\nblank_lines: skip"))
        let skipped = read(skipping, text).report
        #expect(skipped.isClean)
        #expect(skipped.skipped == 1)
        #expect(skipped.blankLines == 0)
        #expect(specError(Self.layout.replacingOccurrences(of: "SEPARATOR", with: "newline\nblank_lines: keep"))?.description
                == "test.yaml:4: blank_lines: expected reject or skip")
    }

    @Test func everyBadFieldIsReported() throws {
        let lines = [Self.file[0], "D        00001049A2Y", Self.file[2], Self.file[3]]
        let (report, _) = read(try spec(), lines.joined(separator: "\n"))
        #expect(problemTexts(report) == [
            "line 2: detail field 'loan_id' = '        ': required value is missing",
            "line 2: detail field 'amount' = '00001049A2': unexpected character 'A' in a number",
        ])
        #expect(report.count(of: "detail")?.read == 1)
        #expect(report.count(of: "detail")?.rejected == 1)
        // Counted but not summed: the count holds, the sum does not.
        #expect(report.controls.map(\.holds) == [true, false])
        #expect(report.controls.map(\.note) == ["1 counted record was rejected", "1 counted record was rejected"])
    }

    @Test func stopAtFirstErrorAndCappedCollection() throws {
        var lines = [Self.file[0]]
        for _ in 0..<50 { lines.append("DL0000001000000BAD0Y") }
        lines.append("T000500000000000000 ")
        let text = lines.joined(separator: "\n")
        let stopped = read(try spec(), Array(text.utf8), options: CheckOptions(stopAtFirstError: true))
        #expect(stopped.report.stoppedEarly)
        #expect(stopped.report.recordsRejected == 1)
        #expect(stopped.report.controls.isEmpty)

        let capped = read(try spec(), Array(text.utf8), options: CheckOptions(maxProblems: 10))
        #expect(capped.report.recordsRejected == 50)
        #expect(capped.report.problems.count == 10)
        #expect(capped.report.problemsOmitted == 40)
    }

    @Test func smallReadsGiveTheSameResult() throws {
        let text = Array((Self.file.joined(separator: "\r\n") + "\r\n").utf8)
        for chunk in [1, 3, 19, 20, 21, 64] {
            let (report, records) = read(try spec(), text, readBytes: chunk)
            #expect(report.isClean, "chunk \(chunk)")
            #expect(records.count == 4, "chunk \(chunk)")
        }
    }
}

extension String {
    func trimmingTrailingSpaces() -> String {
        var s = Substring(self)
        while s.last == " " { s.removeLast() }
        return String(s)
    }

    func replacingOccurrences(of target: String, with replacement: String) -> String {
        split(separator: target, omittingEmptySubsequences: false).joined(separator: replacement)
    }
}
