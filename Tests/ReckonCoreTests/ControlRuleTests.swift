import ReckonCore
import Testing

@Suite("Control rules")
struct ControlRuleTests {
    static func verdicts(_ report: FileReport, _ name: String) -> [ControlVerdict] {
        report.controls.filter { $0.control == name }
    }

    // MARK: Sums over several fields and kinds

    static let summaries = """
        format: delimited
        records:
          summary: {when: {column: 1, equals: S}, fields: {amount: {column: 2, type: decimal}}}
          detail: {when: {column: 1, equals: D}, fields: {amount: {column: 2, type: decimal}, fee: {column: 3, type: decimal, scale: 3}}}
          trailer: {when: {column: 1, equals: T}, fields: {total: {column: 2, type: decimal}, net: {column: 3, type: decimal}}}
        controls:
          - {name: grand total, sum: [summary.amount, detail.amount], equals: trailer.total}
          - {name: net, sum: [summary.amount, -detail.amount, -detail.fee], equals: trailer.net}
        """

    @Test func aSumOverSummariesAndDetailsTogether() throws {
        let spec = try loadSpec(Self.summaries)
        let (report, _) = read(spec, "S,10.00,\nD,2.50,0.125\nD,1.25,0.010\nT,13.75,6.11\n")
        let total = try #require(Self.verdicts(report, "grand total").first)
        #expect(total.holds)
        #expect(total.declared == DecimalAmount(units: 1375, scale: 2))
        #expect(total.actual == DecimalAmount(units: 1375, scale: 2))
        // 10.00 - 2.50 - 1.25 - 0.125 - 0.010 = 6.115, at the widest scale (3).
        let net = try #require(Self.verdicts(report, "net").first)
        #expect(!net.holds)
        #expect(net.declared == DecimalAmount(units: 611, scale: 2))
        #expect(net.actual == DecimalAmount(units: 6115, scale: 3))
        #expect(ReportText.render(report, spec: spec).contains("✗ net          line 4: declared 6.11, found 6.115"))
    }

    @Test func aFieldSummedTwiceIsRefused() {
        let error = specError(Self.summaries.replacingOccurrences(of: "sum: [summary.amount, detail.amount]", with: "sum: [detail.amount, detail.amount]"))
        #expect(error?.description == "test.yaml:7: controls.0.sum.1: detail.amount is summed twice")
    }

    // MARK: A count compared with another count

    static let batches = """
        format: delimited
        records:
          batch: {when: {column: 1, equals: B}, fields: {id: {column: 2, type: integer}}}
          entry: {when: {column: 1, equals: E}, fields: {routing: {column: 2, type: integer}, seq: {column: 3, type: integer}}}
          end: {when: {column: 1, equals: C}, fields: {hash: {column: 2, type: integer}}}
        controls:
          - {name: every batch closed, count: batch, equals: {count: end}}
        """

    @Test func aCountComparedWithAnotherCount() throws {
        let spec = try loadSpec(Self.batches)
        let good = read(spec, "B,1\nE,5,1\nC,5\nB,2\nC,\n").report
        #expect(Self.verdicts(good, "every batch closed").map(\.holds) == [true])
        let (report, _) = read(spec, "B,1\nE,5,1\nC,5\nB,2\nE,7,1\n")
        let verdict = try #require(Self.verdicts(report, "every batch closed").first)
        #expect(!verdict.holds)
        #expect(verdict.declared == DecimalAmount(units: 1, scale: 0))
        #expect(verdict.actual == DecimalAmount(units: 2, scale: 0))
        #expect(verdict.location?.line == 3)
    }

    // MARK: Sequence numbers

    @Test func sequenceNumbersGoUpByOneAcrossKinds() throws {
        let spec = try loadSpec(Self.batches.replacingOccurrences(of: "controls:\n", with: """
            controls:
              - {name: record numbers, sequence: [batch.id, entry.seq], start: 1}

            """))
        let good = read(spec, "B,1\nE,5,2\nE,5,3\nC,5\n").report
        let holds = try #require(Self.verdicts(good, "record numbers").first)
        #expect(holds.holds)
        #expect(holds.note == "3 records numbered 1 to 3")
        let (report, _) = read(spec, "B,1\nE,5,2\nE,5,4\nE,5,5\nC,5\n")
        let broken = try #require(Self.verdicts(report, "record numbers").first)
        #expect(!broken.holds)
        #expect(broken.location?.line == 3)
        #expect(broken.note == "entry.seq is 4 after 2 at line 2; expected 3")
        #expect(ReportText.render(report, spec: spec).contains("✗ record numbers      line 3 — entry.seq is 4 after 2 at line 2; expected 3"))
        let late = read(spec, "B,2\nE,5,3\n").report
        #expect(Self.verdicts(late, "record numbers").first?.note == "batch.id starts at 2; expected 1")
    }

    @Test func sequenceNumbersPerGroup() throws {
        let spec = try loadSpec(Self.batches.replacingOccurrences(of: "controls:\n", with: """
            controls:
              - {name: entry numbers, sequence: entry.seq, start: 1, scope: {from: batch, to: end}}

            """))
        let (report, _) = read(spec, "B,1\nE,5,1\nE,5,2\nC,5\nB,2\nE,5,1\nE,5,3\nC,5\n")
        let verdicts = Self.verdicts(report, "entry numbers")
        #expect(verdicts.map(\.holds) == [true, false])
        #expect(verdicts.map(\.note) == ["2 records numbered 1 to 2", "entry.seq is 3 after 1 at line 6; expected 2"])
        #expect(verdicts.map { $0.location?.line } == [4, 7])
    }

    @Test func aGroupWithNothingNumberedIsInSequence() throws {
        let spec = try loadSpec(Self.batches.replacingOccurrences(of: "controls:\n", with: """
            controls:
              - {name: entry numbers, sequence: entry.seq, start: 1, scope: {from: batch, to: end}}

            """))
        let verdicts = Self.verdicts(read(spec, "B,1\nC,5\n").report, "entry numbers")
        #expect(verdicts.map(\.holds) == [true])
        #expect(verdicts.map(\.note) == ["not checked: no entry.seq in this group"])
    }

    @Test func aMissingSequenceNumberFailsUnlessSkipped() throws {
        let yaml = Self.batches.replacingOccurrences(of: "controls:\n", with: """
            controls:
              - {name: entry numbers, sequence: entry.seq}

            """)
        let spec = try loadSpec(yaml)
        let report = read(spec, "B,1\nE,5,1\nE,5,\nE,5,2\nC,5\n").report
        #expect(Self.verdicts(report, "entry numbers").first?.note == "entry.seq has no value")
        #expect(Self.verdicts(report, "entry numbers").first?.location?.line == 3)
        let skipping = try loadSpec(yaml.replacingOccurrences(of: "sequence: entry.seq}", with: "sequence: entry.seq, absent: skip}"))
        let skipped = read(skipping, "B,1\nE,5,1\nE,5,\nE,5,2\nC,5\n").report
        #expect(Self.verdicts(skipped, "entry numbers").first?.holds == true)
        #expect(Self.verdicts(skipped, "entry numbers").first?.note == "2 records numbered 1 to 2")
    }

    @Test func aRejectedRecordKeepsItsPlaceInTheSequence() throws {
        let spec = try loadSpec(Self.batches.replacingOccurrences(of: "controls:\n", with: """
            controls:
              - {name: entry numbers, sequence: entry.seq}

            """))
        // The second entry's routing is not a number: it is rejected, and its number (2)
        // still counts.
        let report = read(spec, "B,1\nE,5,1\nE,x,2\nE,5,3\nC,5\n").report
        let verdict = try #require(Self.verdicts(report, "entry numbers").first)
        #expect(verdict.holds)
        #expect(verdict.note == "3 records numbered 1 to 3; 1 counted record was rejected")
    }

    // MARK: The same value in several records

    static let statements = """
        format: delimited
        records:
          opening: {when: {column: 1, equals: O}, fields: {account: {column: 2}, balance: {column: 3, type: decimal}}}
          entry: {when: {column: 1, equals: E}, fields: {amount: {column: 2, type: decimal}}}
          closing: {when: {column: 1, equals: C}, fields: {account: {column: 2}, balance: {column: 3, type: decimal}}}
        controls:
          - {name: same account, same: [opening.account, closing.account], scope: {from: opening, to: closing}}
        """

    @Test func theSameAccountInTheOpeningAndClosingRecords() throws {
        let spec = try loadSpec(Self.statements)
        let (report, _) = read(spec, "O,ACC1,1.00\nE,2.00\nC,ACC1,3.00\nO,ACC2,0\nC,ACC3,0\n")
        let verdicts = Self.verdicts(report, "same account")
        #expect(verdicts.map(\.holds) == [true, false])
        #expect(verdicts.map(\.note) == [
            "opening.account and closing.account are 'ACC1'",
            "closing.account is 'ACC3'; opening.account at line 4 is 'ACC2'",
        ])
        #expect(verdicts.map { $0.location?.line } == [3, 5])
        #expect(ReportText.render(report, spec: spec).contains("✗ same account  line 5 — closing.account is 'ACC3'; opening.account at line 4 is 'ACC2'"))
    }

    @Test func aMissingRecordFailsTheSameControlUnlessSkipped() throws {
        let spec = try loadSpec(Self.statements.replacingOccurrences(of: "scope: {from: opening, to: closing}", with: "scope: {to: closing}"))
        let report = read(spec, "E,2.00\nC,ACC1,3.00\n").report
        #expect(Self.verdicts(report, "same account").first?.note == "no value for opening.account in this group")
        #expect(Self.verdicts(report, "same account").first?.holds == false)
        let skipping = try loadSpec(Self.statements.replacingOccurrences(of: "scope: {from: opening, to: closing}", with: "scope: {to: closing}, absent: skip"))
        let skipped = read(skipping, "E,2.00\nC,ACC1,3.00\n").report
        #expect(Self.verdicts(skipped, "same account").first?.holds == true)
        #expect(Self.verdicts(skipped, "same account").first?.note == "not checked: only closing.account in this group (absent: skip)")
    }

    @Test func amountsCompareAsNumbers() throws {
        let spec = try loadSpec(Self.statements.replacingOccurrences(of: "same: [opening.account, closing.account]", with: "same: [opening.balance, closing.balance]"))
        let report = read(spec, "O,A,1.5\nC,A,1.50\n").report
        #expect(Self.verdicts(report, "same account").first?.holds == true)
    }

    // MARK: Per-group controls only where the group has parts

    static let hashed = """
        format: delimited
        records:
          batch: {when: {column: 1, equals: B}, fields: {id: {column: 2}}}
          entry: {when: {column: 1, equals: E}, fields: {routing: {column: 2, type: integer}}}
          end: {when: {column: 1, equals: C}, fields: {hash: {column: 2, type: integer}}}
        controls:
          - {name: entry hash, sum: entry.routing, modulo: 100, equals: end.hash, scope: {from: batch, to: end}, only_with: entry}
        """

    @Test func aBatchWithNoEntriesHasNoHashToCheck() throws {
        let spec = try loadSpec(Self.hashed)
        let (report, _) = read(spec, "B,1\nE,99\nE,98\nC,97\nB,2\nC,\nB,3\nE,5\nC,6\n")
        let verdicts = Self.verdicts(report, "entry hash")
        #expect(verdicts.map(\.holds) == [true, false])
        #expect(verdicts.map { $0.location?.line } == [4, 9])
        let without = try loadSpec(Self.hashed.replacingOccurrences(of: ", only_with: entry", with: ""))
        let strict = Self.verdicts(read(without, "B,1\nE,99\nE,98\nC,97\nB,2\nC,\n").report, "entry hash")
        #expect(strict.map(\.note) == [nil, "no value for end.hash in this group"])
    }

    @Test func aFileOfEmptyBatchesSaysNothingWasChecked() throws {
        let spec = try loadSpec(Self.hashed)
        let verdicts = Self.verdicts(read(spec, "B,1\nC,\n").report, "entry hash")
        #expect(verdicts.map(\.holds) == [true])
        #expect(verdicts.map(\.note) == ["not checked: no group has a entry record (only_with: entry)"])
    }

    // MARK: Optional controls

    @Test func absentSkipPassesOverAGroupWithoutTheValue() throws {
        let spec = try loadSpec(Self.hashed.replacingOccurrences(of: ", only_with: entry", with: ", absent: skip"))
        let verdicts = Self.verdicts(read(spec, "B,1\nE,99\nC,\nB,2\nE,5\nC,6\n").report, "entry hash")
        #expect(verdicts.map(\.holds) == [true, false])
        #expect(verdicts.map(\.note) == ["not checked: no value for end.hash in this group (absent: skip)", nil])
        #expect(verdicts.map(\.declared) == [nil, DecimalAmount(units: 6, scale: 0)])
    }

    @Test func absentZeroComparesWithZero() throws {
        let spec = try loadSpec(Self.hashed.replacingOccurrences(of: ", only_with: entry", with: ", absent: zero"))
        let verdicts = Self.verdicts(read(spec, "B,1\nC,\nB,2\nE,5\nC,\n").report, "entry hash")
        #expect(verdicts.map(\.holds) == [true, false])
        #expect(verdicts.map(\.declared) == [DecimalAmount(units: 0, scale: 0), DecimalAmount(units: 0, scale: 0)])
        #expect(verdicts.map(\.actual) == [DecimalAmount(units: 0, scale: 0), DecimalAmount(units: 5, scale: 0)])
        #expect(verdicts.map(\.note) == ["no value for end.hash in this group; taken as 0 (absent: zero)",
                                         "no value for end.hash in this group; taken as 0 (absent: zero)"])
    }

    @Test func aRejectedDeclaringRecordStillFailsWhateverAbsentSays() throws {
        let spec = try loadSpec(Self.hashed.replacingOccurrences(of: ", only_with: entry", with: ", absent: skip"))
        let verdict = try #require(Self.verdicts(read(spec, "B,1\nE,99\nC,x\n").report, "entry hash").first)
        #expect(!verdict.holds)
        #expect(verdict.note == "could not be checked: the end record that declares end.hash was rejected")
    }

    // MARK: Load-time errors

    @Test(arguments: [
        ("{name: n, sequence: entry.routing, absent: zero}", "test.yaml:7: controls.0.absent: absent: zero applies to sums and counts; a sequence control takes fails or skip"),
        ("{name: n, sum: entry.routing, equals: end.hash, start: 1}", "test.yaml:7: controls.0.start: 'start' applies to a sequence control"),
        ("{name: n, sum: entry.routing, equals: end.hash, only_with: entry}", "test.yaml:7: controls.0.only_with: 'only_with' applies to controls with a group scope (scope: {from: …, to: …})"),
        ("{name: n, same: [batch.id]}", "test.yaml:7: controls.0.same: name at least two fields that must be the same, like [opening.account, closing.account]"),
        ("{name: n, sequence: batch.id}", "test.yaml:7: controls.0.sequence: 'batch.id' is a string; sequence numbers are integer fields"),
        ("{name: n, sequence: entry.routing, equals: end.hash}", "test.yaml:7: controls.0.equals: 'equals' does not apply to a sequence control"),
        ("{name: n, count: batch, equals: {count: end}, absent: skip}", "test.yaml:7: controls.0.absent: a count compared with another count is never absent; 'absent' does not apply"),
        ("{name: n, sum: entry.routing, equals: end.hash, absent: maybe}", "test.yaml:7: controls.0.absent: expected fails, skip or zero"),
        ("{name: n}", "test.yaml:7: controls.0: a control needs count (record kinds), sum (kind.field), sequence (kind.field) or same ([kind.field, …])"),
    ])
    func loadErrors(control: String, message: String) {
        let yaml = """
            format: delimited
            records:
              batch: {when: {column: 1, equals: B}, fields: {id: {column: 2}}}
              entry: {when: {column: 1, equals: E}, fields: {routing: {column: 2, type: integer}}}
              end: {when: {column: 1, equals: C}, fields: {hash: {column: 2, type: integer}}}
            controls:
              - \(control)
            """
        #expect(specError(yaml)?.description == message)
    }
}
