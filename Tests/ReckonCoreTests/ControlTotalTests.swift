import ReckonCore
import Testing

@Suite("Control totals")
struct ControlTotalTests {
    static let batches = """
        format: delimited
        records:
          batch: {when: {column: 1, equals: B}, fields: {id: {column: 2}}}
          entry: {when: {column: 1, equals: E}, fields: {code: {column: 2}, amount: {column: 3, type: decimal, implied: true}, routing: {column: 4, type: integer}}}
          end: {when: {column: 1, equals: C}, fields: {count: {column: 2, type: integer}, debit: {column: 3, type: decimal, implied: true}, hash: {column: 4, type: integer}}}
          file: {when: {column: 1, equals: F}, fields: {batches: {column: 2, type: integer}, net: {column: 3, type: decimal, implied: true}, gross: {column: 4, type: decimal, implied: true}}}
        controls:
          - {name: batch count, count: entry, equals: end.count, scope: {from: batch, to: end}}
          - {name: batch debits, sum: entry.amount, where: {code: ["27", "37"]}, equals: end.debit, scope: {from: batch, to: end}}
          - {name: batch hash, sum: entry.routing, modulo: 100, equals: end.hash, scope: {from: batch, to: end}}
          - {name: batches, count: batch, equals: file.batches}
          - {name: net, sum: entry.amount, equals: file.gross - file.net}
        """

    @Test func groupsAndFileScope() throws {
        let spec = try loadSpec(Self.batches)
        let text = """
            B,1
            E,27,1000,99
            E,22,500,98
            C,2,1000,97
            B,2
            E,37,250,50
            C,1,250,50
            F,2,25,1775
            """
        let (report, _) = read(spec, text)
        // One verdict per batch for the batch controls, one for the file-wide ones.
        #expect(report.controls.count == 8)
        let byName = Dictionary(grouping: report.controls, by: \.control)
        #expect(byName["batch count"]?.map(\.holds) == [true, true])
        #expect(byName["batch debits"]?.map(\.holds) == [true, true])
        // (99 + 98) mod 100 = 97; 50 mod 100 = 50.
        #expect(byName["batch hash"]?.map(\.holds) == [true, true])
        #expect(byName["batches"]?.first?.holds == true)
        // 17.75 - 0.25 = 17.50 = 10.00 + 5.00 + 2.50.
        #expect(byName["net"]?.first?.holds == true)
        #expect(byName["batch count"]?.first?.location?.line == 4)
        #expect(report.isClean)
    }

    @Test func failingTotalsSayBothSides() throws {
        let spec = try loadSpec(Self.batches)
        let (report, _) = read(spec, "B,1\nE,27,1000,1\nC,3,900,1\nF,1,0,1000\n")
        let byName = Dictionary(grouping: report.controls, by: \.control)
        let count = try #require(byName["batch count"]?.first)
        #expect(!count.holds)
        #expect(count.declared == DecimalAmount(units: 3, scale: 0))
        #expect(count.actual == DecimalAmount(units: 1, scale: 0))
        let debit = try #require(byName["batch debits"]?.first)
        #expect(debit.declared == DecimalAmount(units: 900, scale: 2))
        #expect(debit.actual == DecimalAmount(units: 1000, scale: 2))
        #expect(!report.isClean)
    }

    @Test func aGroupWithoutItsClosingRecord() throws {
        let spec = try loadSpec(Self.batches)
        // The second batch has no control record: truncated.
        let (report, _) = read(spec, "B,1\nE,27,1000,1\nC,1,1000,1\nB,2\nE,27,5,1\nF,2,0,1005\n")
        let counts = report.controls.filter { $0.control == "batch count" }
        #expect(counts.map(\.holds) == [true, false])
        #expect(counts.last?.note?.contains("the group has no closing record (truncated file?)") == true)
    }

    @Test func aTotalNobodyDeclares() throws {
        let spec = try loadSpec(Self.batches)
        let (report, _) = read(spec, "B,1\nE,27,1000,1\nC,1,1000,1\n")
        let batches = try #require(report.controls.first { $0.control == "batches" })
        #expect(!batches.holds)
        #expect(batches.note == "no value for file.batches in this file")
    }

    @Test func headerDeclaredTotals() throws {
        // The count comes first, in a header, and covers the records after it.
        let spec = try loadSpec("""
            format: delimited
            records:
              header: {when: {column: 1, equals: H}, fields: {count: {column: 2, type: integer}}}
              row: {default: true, fields: {v: {column: 1}}}
            controls:
              - {name: rows, count: row, equals: header.count, scope: {from: header}}
            """)
        #expect(read(spec, "H,2\na\nb\nH,1\nc\n").report.controls.map(\.holds) == [true, true])
        #expect(read(spec, "H,2\na\nH,1\nc\nd\n").report.controls.map(\.holds) == [false, false])
    }

    static let statements = """
        format: delimited
        records:
          header: {when: {column: 1, equals: H}, fields: {id: {column: 2}}}
          entry: {when: {column: 1, equals: E}, fields: {amount: {column: 2, type: decimal}}}
          closing: {when: {column: 1, equals: C}, fields: {count: {column: 2, type: integer}, total: {column: 3, type: decimal}}}
          trailer: {when: {column: 1, equals: T}, fields: {statements: {column: 2, type: integer}}}
        controls:
          - {name: entries, count: entry, equals: closing.count, scope: {to: closing}}
          - {name: statement total, sum: entry.amount, equals: closing.total, scope: {to: closing}}
          - {name: statements, count: closing, equals: trailer.statements}
        """

    /// `scope: {to: K}`: what follows the last closing record is a group only when it holds a
    /// record the control counts, sums or reads its total from; a file trailer alone is not.
    @Test func aTrailerAfterTheLastClosingRecordIsNoGroup() throws {
        let spec = try loadSpec(Self.statements)
        let (report, _) = read(spec, "H,S1\nE,1.50\nE,2.00\nC,2,3.50\nE,4.00\nC,1,4.00\nT,2\n")
        #expect(report.controls.map(\.control) == ["entries", "entries", "statement total", "statement total", "statements"])
        #expect(report.controls.allSatisfy { $0.holds })
        #expect(report.controls.allSatisfy { $0.note == nil })
        #expect(report.isClean)
    }

    @Test func entriesAfterTheLastClosingRecordAreATruncatedGroup() throws {
        let spec = try loadSpec(Self.statements)
        let (report, _) = read(spec, "E,1.50\nC,1,1.50\nE,4.00\nT,1\n")
        let entries = report.controls.filter { $0.control == "entries" }
        #expect(entries.map(\.holds) == [true, false])
        #expect(entries.last?.note == "no value for closing.count in this group; the group has no closing record (truncated file?)")
        #expect(!report.isClean)
    }

    /// A rejected trailer supplies no declared value: the control says it could not be
    /// checked, instead of comparing with what the rejected record happened to hold.
    @Test func aRejectedTrailerDeclaresNothing() throws {
        let spec = try loadSpec("""
            format: delimited
            records:
              row: {when: {column: 1, equals: R}, fields: {amount: {column: 2, type: decimal}}}
              trailer: {when: {column: 1, equals: T}, fields: {count: {column: 2, type: integer}, total: {column: 3, type: decimal}, date: {column: 4, type: date, format: yyyyMMdd}}}
            controls:
              - {name: rows, count: row, equals: trailer.count}
              - {name: total, sum: row.amount, equals: trailer.total}
            """)
        // The trailer's count and total read; its date does not, so the trailer is rejected.
        let (report, _) = read(spec, "R,1.00\nR,2.00\nT,2,3.00,20241399\n")
        #expect(report.count(of: "trailer")?.rejected == 1)
        #expect(report.controls.map(\.holds) == [false, false])
        let rows = try #require(report.controls.first)
        #expect(rows.declared == nil)
        #expect(rows.location?.line == 3)
        #expect(rows.note == "could not be checked: the trailer record that declares trailer.count was rejected")
        #expect(report.controls.last?.note == "could not be checked: the trailer record that declares trailer.total was rejected")
        // A later trailer that reads supplies the value again.
        let again = read(spec, "R,1.00\nT,1,1.00,20241399\nT,1,1.00,20241201\n").report
        #expect(again.controls.map(\.holds) == [true, true])
    }
}
