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
        #expect(value(records[1], "loan_id", in: try spec()) == .text("L0000001"))
        #expect(value(records[1], "amount", in: try spec()) == amount(104942))
        #expect(report.controls.map(\.holds) == [true, true])
        #expect(report.controls[1].declared == DecimalAmount(units: 154942, scale: 2))
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
        #expect(report.controls[0].note?.contains("no value for trailer.count") == true)
    }

    @Test func shortLinesArePadded() throws {
        // The trailer is right-trimmed; the flag of the last detail is cut off.
        let lines = [Self.file[0].trimmingTrailingSpaces(), "DL00000010000104942", "DL00000020000050000N", Self.file[3].trimmingTrailingSpaces()]
        let (report, records) = read(try spec(), lines.joined(separator: "\n"))
        #expect(report.isClean)
        #expect(value(records[1], "flag", in: try spec()) == .empty)
    }

    @Test func shortLinesCanBeRefused() throws {
        let strict = try loadSpec(Self.layout.replacingOccurrences(of: "SEPARATOR", with: "newline") + "\nshort_records: reject")
        let (report, _) = read(strict, "H20241115\n")
        #expect(problemTexts(report) == ["line 1: the record is 9 bytes long; this layout's records are 20 and short records are refused"])
    }

    @Test func overlongAndUnmatchedRecords() throws {
        let lines = [Self.file[0], Self.file[1] + "XX", "X" + String(repeating: " ", count: 19), Self.file[3]]
        let (report, _) = read(try spec(), lines.joined(separator: "\n"))
        #expect(problemTexts(report) == [
            "line 2: the record is 22 bytes long; this layout's records are 20",
            "line 3: value = 'X                   ': no record kind matches this record",
        ])
        #expect(report.unmatched == 2)
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
        #expect(report.controls[1].note == "1 counted record was rejected")
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
