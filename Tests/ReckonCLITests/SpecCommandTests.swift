import Foundation
import Testing

@Suite("reckon spec check and spec test, end to end")
struct SpecCommandTests {
    @Test func checkACleanFile() throws {
        let result = try reckon("spec", "check", "mappings/bank-settlement.yaml", "mappings/samples/partners/BANK_SETTLE_20241215.txt", "--show", "3")
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        #expect(result.stdout.contains("records   7 read, 0 rejected"))
        #expect(result.stdout.contains("header 1 · repayment 5 · trailer 1"))
        #expect(result.stdout.contains("✓ record count"))
        #expect(result.stdout.contains("declared 9,753.71, found 9,753.71"))
        // The table: a header row of canonical field names, then the records.
        #expect(result.stdout.contains("line  kind       sequence  loan_id        period  repay_type  paid_on"))
        #expect(result.stdout.contains("2     repayment  1         L202411150001  1       normal      2024-12-15"))
        #expect(result.stdout.contains("verdict   ✓ clean"))
    }

    @Test func jsonLinesWithMinorUnits() throws {
        let result = try reckon("spec", "check", "--json", "mappings/platform-repayments.yaml", "mappings/samples/partners/PLAT_REPAY_20241215.csv")
        #expect(result.status == 0)
        let lines = result.stdout.split(separator: "\n").map { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        #expect(lines.allSatisfy { $0 != nil }, "every line is a JSON object")
        let records = lines.compactMap { $0 }.filter { $0["type"] as? String == "record" }
        #expect(records.count == 6)
        let first = try #require(records.first?["fields"] as? [String: Any])
        #expect(first["repay_id"] as? String == "R202412150001")
        #expect(first["principal"] as? Int == 95942)
        #expect(first["total"] as? Int == 104942)
        #expect(first["repay_type"] as? String == "normal")
        #expect(first["paid_at"] as? String == "2024-12-15T09:12:03")
        #expect(records.first?["line"] as? Int == 2)
        let summary = try #require(lines.compactMap { $0 }.last)
        #expect(summary["type"] as? String == "result")
        #expect(summary["clean"] as? Bool == true)
        #expect(summary["read"] as? Int == 6)
    }

    static let scaledSpec = """
        format: delimited
        records:
          banner: {when: {column: 1, equals: "#"}, ignore: true}
          row: {default: true, fields: {id: {column: 1}, amount: {column: 2, type: decimal, scale: 4}}}
        """
    static let scaledFile = "#,banner\n#,banner\na,-16.85\nb,1.0001\nc,2\n"

    /// --show N: the first N records read, in file order, ignored kinds left out.
    @Test func showListsTheFirstRecordsRead() throws {
        let folder = ScratchFolder()
        let spec = folder.write("scaled.yaml", Self.scaledSpec)
        let file = folder.write("scaled.csv", Self.scaledFile)
        let result = try reckon("spec", "check", spec, file, "--show", "2")
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        #expect(result.stdout.contains("banner 2 · row 3"))
        let lines = result.stdout.split(separator: "\n").map(String.init)
        let first = try #require(lines.firstIndex(of: "  first 2 records"))
        #expect(lines[first + 1].hasPrefix("    line  kind  id  amount"))
        #expect(lines[first + 2].hasPrefix("    3     row   a"))
        #expect(lines[first + 3].hasPrefix("    4     row   b"))
        #expect(lines[first + 4] == "  verdict   ✓ clean")
    }

    /// --json honours --show; decimals are integers at the field's scale, which `scales` names.
    @Test func jsonHonoursShowAndCarriesScales() throws {
        let folder = ScratchFolder()
        let spec = folder.write("scaled.yaml", Self.scaledSpec)
        let file = folder.write("scaled.csv", Self.scaledFile)
        let result = try reckon("spec", "check", "--json", spec, file, "--show", "2")
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        let lines = result.stdout.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        #expect(lines.map { $0["type"] as? String } == ["record", "record", "result"])
        #expect(lines.prefix(2).map { $0["line"] as? Int } == [3, 4])
        let fields = try #require(lines.first?["fields"] as? [String: Any])
        #expect(fields["amount"] as? Int == -168500)
        #expect((lines.first?["scales"] as? [String: Any])?["amount"] as? Int == 4)
        #expect((lines[1]["fields"] as? [String: Any])?["amount"] as? Int == 10001)
        #expect(lines.last?["read"] as? Int == 5)
        let every = try reckon("spec", "check", "--json", spec, file)
        #expect(every.stdout.split(separator: "\n").count == 4, "every record read (ignored kinds left out), then the result")
    }

    @Test func rejectedRecordsExitOne() throws {
        let folder = ScratchFolder()
        let file = folder.write("repay.csv", """
            repay_id,loan_id,period,repay_type,paid_at,principal,interest,penalty,fee,total,channel,channel_order_no,status
            R1,L202411150001,1,NORMAL,2024-12-15 09:12:03,959.42,90.00,0.00,0.00,1049.42,WXPAY,42,SUCCESS
            R2,L202411150002,1,SOMETIMES,2024-12-15 09:30:44,3333.3x,180.00,0.00,0.00,3513.33,WXPAY,43,SUCCESS
            #TOTAL,2,4562.75
            """)
        let result = try reckon("spec", "check", "mappings/platform-repayments.yaml", file)
        #expect(result.status == 1)
        #expect(result.stdout.contains("records   2 read, 1 rejected, 1 line skipped"))
        #expect(result.stdout.contains("line 3: repayment field 'repay_type' = 'SOMETIMES': code 'SOMETIMES' is not in the code map (COMP, EARLY, NORMAL, OVERDUE)"))
        #expect(result.stdout.contains("line 3: repayment field 'principal' = '3333.3x': unexpected character 'x' in a number"))
        // The rejected record is counted, and its readable total summed, with a note.
        #expect(result.stdout.contains("✓ total amount  line 4: declared 4,562.75, found 4,562.75 — 1 counted record was rejected"))
        #expect(result.stdout.contains("verdict   ✗ 1 record rejected"))
    }

    @Test func controlTotalFailureExitsOne() throws {
        let result = try reckon("spec", "check", "mappings/nacha.yaml", "mappings/samples/nacha/20110805A.ach", "--show", "0")
        #expect(result.status == 1)
        #expect(result.stdout.contains("✗ file batch count"))
        #expect(result.stdout.contains("declared 5, found 4"))
    }

    @Test func stopAtFirstError() throws {
        let folder = ScratchFolder()
        var lines = ["repay_id,loan_id,period,repay_type,paid_at,principal,interest,penalty,fee,total,channel,channel_order_no,status"]
        for index in 0..<5 { lines.append("R\(index),L1234567,1,BAD,2024-12-15 09:12:03,1.00,0.00,0.00,0.00,1.00,WXPAY,1,SUCCESS") }
        let file = folder.write("bad.csv", lines.joined(separator: "\n"))
        let stopped = try reckon("spec", "check", "--stop-at-first-error", "mappings/platform-repayments.yaml", file)
        #expect(stopped.status == 1)
        #expect(stopped.stdout.contains("reading stopped at the first rejected record"))
        let capped = try reckon("spec", "check", "--max-problems", "2", "mappings/platform-repayments.yaml", file)
        #expect(capped.stdout.contains("… and 3 more"))
    }

    @Test func unusableSpecExitsTwo() throws {
        let folder = ScratchFolder()
        let spec = folder.write("broken.yaml", """
            format: fixed-width
            record_length: 10
            records:
              detail:
                fields:
                  amount: {start: 1, length: 4, type: money}
            """)
        let result = try reckon("spec", "check", spec, "mappings/samples/partners/BANK_SETTLE_20241215.txt")
        #expect(result.status == 2)
        #expect(result.stderr.contains("broken.yaml:6: records.detail.fields.amount.type: unknown field type 'money'"))
        let tested = try reckon("spec", "test", spec)
        #expect(tested.status == 2)
    }

    @Test func missingFileIsReported() throws {
        let result = try reckon("spec", "check", "mappings/bank-plan.yaml", "no/such/file.txt")
        #expect(result.status == 1)
        #expect(result.stdout.contains("reading stopped: open failed: No such file or directory"))
    }

    @Test func specTestRunsEveryShippedExample() throws {
        let result = try reckon("spec", "test")
        #expect(result.status == 0, "\(result.stdout)")
        #expect(result.stdout.contains("60 of 60 examples hold in 30 specs"))
        #expect(!result.stdout.contains("✗"))
        // An example that expects its controls (or the whole file) to fail says so.
        #expect(result.stdout.contains("✓ mappings/nacha.yaml  mappings/samples/nacha/20110805A.ach  93 records, controls fail as expected\n"))
        #expect(result.stdout.contains("✓ mappings/camt053.yaml  mappings/samples/camt053/camt053.v2.wrong.xml  fails as expected: no 'statement' record; the spec expects at least 1 (truncated file, or the wrong file?)\n"))
        #expect(result.stdout.contains("✓ mappings/bank-settlement.yaml  mappings/samples/partners/BANK_SETTLE_20241215.txt  7 records, controls hold\n"))
        #expect(result.stdout.contains("✓ mappings/ofx1.yaml  mappings/samples/ofx/ofx1_compressed.ofx  fails as expected: line 1: an OFX 1.x SGML file whose header says COMPRESSION:ZLIB; reckon reads uncompressed files\n"))
        #expect(result.stdout.contains("✓ mappings/camt052.yaml  mappings/samples/camt052/camt052_intraday_20241216.xml  6 records, controls hold\n"))
        // What reckon writes reads back through its own specs (samples of the sample day's settle).
        #expect(result.stdout.contains("✓ mappings/reckon-settlement.yaml  mappings/samples/reckon/RECKON_SETTLE_20241216.txt  39 records, controls hold\n"))
        #expect(result.stdout.contains("✓ mappings/platform-results.yaml  mappings/samples/reckon/RECKON_RESULT_20241216.csv  41 records, controls hold\n"))
        #expect(!result.stdout.contains("controls fail\n"))
    }

    @Test func specTestReportsAMismatch() throws {
        let folder = ScratchFolder()
        let samples = repositoryRoot + "/mappings/samples/partners/PLAT_LOAN_20241115.csv"
        let spec = folder.write("loans.yaml", try String(contentsOfFile: repositoryRoot + "/mappings/platform-loans.yaml", encoding: .utf8)
            .replacingOccurrences(of: "samples/partners/PLAT_LOAN_20241115.csv", with: samples)
            .replacingOccurrences(of: "records: {loan: 3, total: 1}", with: "records: {loan: 4, total: 1}"))
        let result = try reckon("spec", "test", spec)
        #expect(result.status == 1)
        #expect(result.stdout.contains("loan: expected 4 records, read 3"))
    }

    @Test func helpTeaches() throws {
        let result = try reckon("spec", "check", "--help")
        #expect(result.status == 0)
        #expect(result.stdout.contains("Exit status: 0 when every file is clean"))
    }
}
