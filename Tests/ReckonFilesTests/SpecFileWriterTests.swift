import Foundation
import ReckonCore
import ReckonFiles
import Testing

/// The system's sha256sum of a file: an oracle independent of the writer's digest.
func systemSHA256(_ path: String) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/sha256sum")
    process.arguments = [path]
    let pipe = Pipe()
    process.standardOutput = pipe
    try process.run()
    let output = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return String(decoding: output, as: UTF8.self).split(separator: " ").first.map(String.init) ?? ""
}

func fileSize(_ path: String) -> Int {
    ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber)?.intValue ?? -1
}

@Suite("SpecFileWriter: outbound files on disk")
struct SpecFileWriterTests {
    static let day = CivilDate(year: 2024, month: 12, day: 16)!

    static let settlementHeader: [String: FieldValue] = [
        "file_type": .text("SETTLE"), "bank_code": .text("BKCN0001"), "business_date": .date(day),
        "created_at": .dateTime(DateTime(date: day, time: TimeOfDay(hour: 0, minute: 0, second: 0)!)), "currency": .text("CNY"),
    ]

    /// `count` settlement details with amounts from a simple sequence, and their sums.
    static func writeSettlement(_ path: String, count: Int, headerFirst: Bool = false) throws -> (RenderedFile, totals: [Int64]) {
        let writer = try SpecFileWriter(spec: try spec("bank-settlement.yaml"), path: path, header: headerFirst ? settlementHeader : nil)
        let kind = try writer.kind(named: "repayment")
        var totals: [Int64] = [0, 0, 0]
        for index in 0..<count {
            let principal = Int64(index % 997) * 1_013 + 1, interest = Int64(index % 89) * 7
            totals[0] += principal
            totals[1] += interest
            totals[2] += principal + interest
            var values = [FieldValue](repeating: .empty, count: kind.fields.count)
            for (name, value) in [
                ("sequence", FieldValue.integer(Int64(index + 1))), ("loan_id", .text("L2024\(100_000 + index % 5_000)")),
                ("period", .integer(Int64(1 + index % 36))), ("repay_type", .text(index % 10 == 0 ? "early_settlement" : "normal")),
                ("paid_on", .date(day)), ("principal", .decimal(DecimalAmount(units: principal, scale: 2))),
                ("interest", .decimal(DecimalAmount(units: interest, scale: 2))), ("penalty", .decimal(DecimalAmount(units: 0, scale: 2))),
                ("fee", .decimal(DecimalAmount(units: 0, scale: 2))), ("total", .decimal(DecimalAmount(units: principal + interest, scale: 2))),
                ("currency", .text("CNY")), ("status", .text("settled")), ("remark", .text(index % 10 == 0 ? "提前结清" : "")),
            ] {
                values[kind.fieldIndex(named: name)!] = value.description.isEmpty && name == "remark" ? .empty : value
            }
            try writer.add(kind, values: values)
        }
        return (try writer.finish(header: headerFirst ? [:] : settlementHeader), totals)
    }

    /// A file larger than the writer's buffer, its header written in place at the end:
    /// it reads back clean, the trailer's totals are the sums computed here, and size and
    /// SHA-256 are what is on disk.
    @Test func aSettlementFileLargerThanTheBufferReadsBackClean() throws {
        let folder = ScratchFolder()
        let path = folder.path + "/BANK_SETTLE_20241216.txt"
        let count = 6_000  // 1.2 MB: more than one flush of the 1 MiB buffer
        let (file, totals) = try Self.writeSettlement(path, count: count)
        #expect(file.sizeBytes == (count + 2) * 202 && fileSize(path) == file.sizeBytes)
        #expect(file.recordCount == count)
        #expect(file.sha256Hex == (try systemSHA256(path)))
        let settlement = try spec("bank-settlement.yaml")
        let (report, records) = check(path, settlement)
        #expect(report.isClean, "\(report.problems.prefix(3)) \(report.controls.filter { !$0.holds })")
        #expect(records.first?.kind(in: settlement) == "header" && records.first?.value("business_date", in: settlement) == .date(Self.day))
        let trailer = try #require(records.last)
        #expect(trailer.value("record_count", in: settlement) == .integer(Int64(count)))
        #expect(trailer.value("principal_total", in: settlement).units == totals[0])
        #expect(trailer.value("interest_total", in: settlement).units == totals[1])
        #expect(trailer.value("total_amount", in: settlement).units == totals[2])
        #expect(file.controlTotals.first == ControlTotalValue(name: "record count", value: "6,000"))
        #expect(file.controlTotals[1] == ControlTotalValue(name: "total amount", value: AmountText.printed(units: totals[2], scale: 2)))
    }

    /// The same records give the same bytes: nothing of the clock or the process goes in.
    @Test func writingTwiceGivesTheSameBytes() throws {
        let folder = ScratchFolder()
        let (first, _) = try Self.writeSettlement(folder.path + "/a.txt", count: 50)
        let (second, _) = try Self.writeSettlement(folder.path + "/b.txt", count: 50)
        #expect(first.sha256Hex == second.sha256Hex)
        #expect(FileManager.default.contents(atPath: folder.path + "/a.txt") == FileManager.default.contents(atPath: folder.path + "/b.txt"))
        // Only the file itself is left: the writer keeps nothing beside it.
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted() == ["a.txt", "b.txt"])
    }

    /// A header known up front is written first and the file hashed as it goes: the same
    /// bytes and digest as a header reserved and written in place at the end.
    @Test func aHeaderGivenUpFrontGivesTheSameFile() throws {
        let folder = ScratchFolder()
        let (inPlace, _) = try Self.writeSettlement(folder.path + "/a.txt", count: 6_000)
        let (first, _) = try Self.writeSettlement(folder.path + "/b.txt", count: 6_000, headerFirst: true)
        #expect(first.sha256Hex == inPlace.sha256Hex && first.sizeBytes == inPlace.sizeBytes)
        let digest = try systemSHA256(folder.path + "/b.txt")
        #expect(first.sha256Hex == digest)
        let writer = try SpecFileWriter(spec: try spec("bank-settlement.yaml"), path: folder.path + "/c.txt", header: Self.settlementHeader)
        let refusal = #expect(throws: RenderError.self) { try writer.finish(header: Self.settlementHeader) }
        #expect(refusal?.description == "record kind 'header': the header's values were given when the writer was made; finish takes none")
    }

    /// A delimited header row that carries totals is written before the body: the body
    /// goes to a nameless temporary file and is copied in after the header.
    @Test func aDelimitedHeaderWithTotalsIsComposedBeforeTheBody() throws {
        let folder = ScratchFolder()
        let specPath = folder.write("summary-first.yaml", """
            format: delimited
            header: 1
            direction: both
            render: {header: summary}
            records:
              summary:
                when: {column: 1, equals: "#SUMMARY"}
                fields:
                  count: {column: 2, type: integer, sign: none}
                  total: {column: 3, type: decimal, sign: none}
              payment:
                default: true
                fields:
                  id:     {column: id, required: true}
                  amount: {column: amount, type: decimal, sign: none, required: true}
                  note:   {column: note}
            controls:
              - {name: count, count: payment, equals: summary.count}
              - {name: total, sum: payment.amount, equals: summary.total}
            """)
        let loaded = try SpecFile.load(specPath)
        let path = folder.path + "/out.csv"
        let writer = try SpecFileWriter(spec: loaded, path: path)
        try writer.add(kind: "payment", values: ["id": .text("P1"), "amount": .decimal(DecimalAmount(units: 1_050, scale: 2)), "note": .text("a, \"b\"")])
        try writer.add(kind: "payment", values: ["id": .text("P2"), "amount": .decimal(DecimalAmount(units: 5, scale: 1))])
        let file = try writer.finish()
        let text = try String(contentsOfFile: path, encoding: .utf8)
        #expect(text == "id,amount,note\n#SUMMARY,2,11.00\nP1,10.50,\"a, \"\"b\"\"\"\nP2,0.50,\n")
        let digest = try systemSHA256(path)
        #expect(file.sizeBytes == text.utf8.count && file.sha256Hex == digest)
        let (report, records) = check(path, loaded)
        #expect(report.isClean && records.count == 3)
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted() == ["out.csv", "summary-first.yaml"])
    }

    @Test func aSpecThatCannotBeWrittenIsRefusedByTheWriter() throws {
        let folder = ScratchFolder()
        let refusal = #expect(throws: RenderError.self) {
            try SpecFileWriter(spec: try spec("channel-bill.yaml"), path: folder.path + "/bill.csv")
        }
        #expect(refusal?.description == "the header row is found by a pattern; give its line number (header: 1) to write it")
    }
}
