import ReckonCore
import Testing

@Suite("Inherited fields")
struct InheritedFieldTests {
    /// A fixed-width statement: a header (H) with the account and currency, lines (L) that
    /// inherit them, and a trailer (T) that closes the statement.
    static let fixedWidth = """
        format: fixed-width
        record_length: 20
        records:
          statement:
            when: {start: 1, length: 1, equals: H}
            fields:
              account: {start: 2, length: 8, required: true}
              currency: {start: 10, length: 3, codes: {EUR: EUR, "978": EUR}}
              opened_on: {start: 13, length: 8, type: date, format: yyyyMMdd}
          line:
            when: {start: 1, length: 1, equals: L}
            event: bank_statement_line
            fields:
              amount: {start: 2, length: 11, type: decimal, implied: true, sign: trailing}
              booked_on: {start: 13, length: 8, type: date, format: yyyyMMdd}
              account: {from: statement.account, required: true, until: end}
              currency: {from: statement.currency}
              statement_opened: {from: statement.opened_on}
          end:
            when: {start: 1, length: 1, equals: T}
            short_records: whole_fields
            fields: {count: {start: 2, length: 4, type: integer}}
        """

    @Test func fixedWidthLinesTakeTheHeadersAccount() throws {
        let spec = try loadSpec(Self.fixedWidth)
        let text = """
            HACC0000197820261130
            L0000001250020261201
            L0000007500-20261201
            T0002
            HACC00002EUR20261201
            L0000000010020261202
            T0001
            """
        let (report, records) = read(spec, text)
        #expect(problemTexts(report) == [])
        #expect(report.isClean)
        let lines = records.filter { spec.kinds[$0.kindIndex].name == "line" }
        #expect(lines.map { value($0, "account", in: spec) } == [.text("ACC00001"), .text("ACC00001"), .text("ACC00002")])
        // The header's code map gives EUR for 978; the line takes the canonical value.
        #expect(lines.map { value($0, "currency", in: spec) } == [.text("EUR"), .text("EUR"), .text("EUR")])
        #expect(lines.map { value($0, "amount", in: spec) } == [amount(12500), amount(-7500), amount(100)])
        #expect(value(lines[2], "statement_opened", in: spec) == .date(date(2026, 12, 1)))
        // Field order is the kind's: the inherited fields sit where they are declared.
        #expect(spec.kind(named: "line")?.fields.map(\.name) == ["amount", "booked_on", "account", "currency", "statement_opened"])
    }

    @Test func aLineWithNoHeaderBeforeItIsRejectedNamingTheKind() throws {
        let spec = try loadSpec(Self.fixedWidth)
        let (report, records) = read(spec, "L0000001250020261201\nHACC0000197820261130\nL0000000010020261202\nT0001\n")
        #expect(problemTexts(report) == [
            "line 1: line field 'account': required value is missing: no 'statement' record before this one to inherit statement.account from",
        ])
        #expect(report.count(of: "line").map { [$0.read, $0.rejected] } == [1, 1])
        #expect(records.filter { $0.kindIndex == 1 }.map { value($0, "account", in: spec) } == [.text("ACC00001")])
    }

    @Test func aLineAfterTheTrailerHasNoAccount() throws {
        let spec = try loadSpec(Self.fixedWidth)
        let (report, _) = read(spec, "HACC0000197820261130\nL0000001250020261201\nT0001\nL0000000010020261202\n")
        #expect(problemTexts(report) == [
            "line 4: line field 'account': required value is missing: the 'end' record at line 3 closed the last 'statement' record, and no 'statement' record since supplies statement.account",
        ])
    }

    @Test func aRejectedHeaderSuppliesNothing() throws {
        let spec = try loadSpec(Self.fixedWidth)
        // The second header's date is not a date: its lines must not take the first account.
        let (report, _) = read(spec, """
            HACC0000197820261130
            L0000001250020261201
            T0001
            HACC0000297820261399
            L0000000010020261202
            T0001
            """)
        #expect(problemTexts(report) == [
            "line 4: statement field 'opened_on' = '20261399': not a date in the format yyyyMMdd",
            "line 5: line field 'account': required value is missing: the 'statement' record at line 4 it inherits statement.account from was rejected",
        ])
    }

    @Test func anOverlongHeaderSuppliesNothingEither() throws {
        let spec = try loadSpec(Self.fixedWidth)
        let (report, _) = read(spec, "HACC0000197820261130\nL0000001250020261201\nHACC00002978202611301\nL0000000010020261202\n")
        #expect(problemTexts(report).last == "line 4: line field 'account': required value is missing: the 'statement' record at line 3 it inherits statement.account from was rejected")
    }

    static let delimited = """
        format: delimited
        delimiter: ","
        records:
          header:
            when: {column: 1, equals: "H"}
            fields:
              account: {column: 2, required: true}
              opening: {column: 3, type: decimal}
              mark: {column: 4}
          entry:
            when: {column: 1, equals: "E"}
            event: bank_statement_line
            fields:
              account: {from: header.account, required: true}
              booked_on: {column: 2, type: date, format: yyyy-MM-dd}
              amount: {column: 3, type: decimal}
              opening: {from: header.opening}
              previous_amount: {from: entry.amount}
        """

    @Test func delimitedEntriesTakeTheHeaderAndThePreviousEntry() throws {
        let spec = try loadSpec(Self.delimited)
        let (report, records) = read(spec, "H,NL01BANK0123,100.00,C\nE,2026-12-01,5.00\nE,2026-12-01,-2.50\nH,NL02BANK0456,7.00,C\nE,2026-12-02,1.25\n")
        #expect(problemTexts(report) == [])
        let entries = records.filter { spec.kinds[$0.kindIndex].name == "entry" }
        #expect(entries.map { value($0, "account", in: spec) } == [.text("NL01BANK0123"), .text("NL01BANK0123"), .text("NL02BANK0456")])
        #expect(entries.map { value($0, "opening", in: spec) } == [amount(10000), amount(10000), amount(700)])
        // The previous record of the entry's own kind: none for the first.
        #expect(entries.map { value($0, "previous_amount", in: spec) } == [.empty, amount(500), amount(-250)])
    }

    @Test func anInheritedAmountKeepsItsSignWithoutTheIndicator() throws {
        let yaml = Self.delimited.replacingOccurrences(of: "opening: {column: 3, type: decimal}",
                                                       with: "opening: {column: 3, type: decimal, sign: {field: mark, negative: [D], positive: [C]}}")
        let spec = try loadSpec(yaml)
        let (report, records) = read(spec, "H,NL01,100.00,D\nE,2026-12-01,5.00\n")
        #expect(problemTexts(report) == [])
        #expect(records.last.map { value($0, "opening", in: spec) } == amount(-10000))
    }

    @Test func jsonShowsInheritedFieldsLikeAnyOther() throws {
        let spec = try loadSpec("""
            format: delimited
            records:
              header: {when: {column: 1, equals: H}, fields: {account: {column: 2}}}
              entry: {when: {column: 1, equals: E}, fields: {amount: {column: 2, type: decimal}, account: {from: header.account}}}
            """)
        var reader = DelimitedReader(spec: spec, source: InMemoryByteSource(Array("H,ACC1\nE,1.50\n".utf8)))
        var json: [String] = []
        _ = FileCheck.run(&reader, spec: spec, file: "input") { record in
            var bytes: [UInt8] = []
            record.appendJSON(to: &bytes)
            json.append(String(decoding: bytes, as: UTF8.self))
        }
        #expect(json == [#"{"account":"ACC1"}"#, #"{"amount":150,"account":"ACC1"}"#])
    }

    @Test func lineCaptureKindsInheritToo() throws {
        let spec = try loadSpec("""
            format: delimited
            delimiter: "|"
            records:
              header: {when: {line: '^:25:(.*)$'}, fields: {account: {capture: 1}}}
              entry: {when: {line: '^:61:([0-9.]+)$'}, fields: {amount: {capture: 1, type: decimal}, account: {from: header.account, required: true}}}
            """)
        let (report, records) = read(spec, ":25:DE89370400440532013000\n:61:12.50\n")
        #expect(problemTexts(report) == [])
        #expect(records.last.map { value($0, "account", in: spec) } == .text("DE89370400440532013000"))
    }

    // MARK: Load-time errors

    @Test(arguments: [
        ("account: {from: statment.account}", "test.yaml:11: records.line.fields.account.from: no record kind 'statment' in this spec"),
        ("account: {from: statement.acount}", "test.yaml:11: records.line.fields.account.from: record kind 'statement' has no field 'acount'"),
        ("account: {from: statement.account, type: integer}", "test.yaml:11: records.line.fields.account.type: statement.account is a string field; an inherited field has its source's type"),
        ("account: {from: statement.account, start: 3}", "test.yaml:11: records.line.fields.account.start: 'start' does not apply to an inherited field: it takes its type and value from statement.account"),
        ("account: {from: end.count}", "test.yaml:11: records.line.fields.account.from: record kind 'end' is declared after 'line': a field inherits from a kind declared before its own, or from an earlier field of its own kind"),
        ("account: {from: statement.account, until: trailer}", "test.yaml:11: records.line.fields.account.until: no record kind 'trailer' in this spec"),
        ("account: {from: statement}", "test.yaml:11: records.line.fields.account.from: expected kind.field, such as statement.account"),
        ("account: {start: 3, length: 2, until: end}", "test.yaml:11: records.line.fields.account.until: 'until' applies to an inherited field (one with 'from')"),
    ])
    func loadErrorsNameTheKeyPath(field: String, message: String) throws {
        let yaml = """
            format: fixed-width
            record_length: 10
            records:
              statement:
                when: {start: 1, length: 1, equals: H}
                fields: {account: {start: 2, length: 8}}
              line:
                when: {start: 1, length: 1, equals: L}
                fields:
                  amount: {start: 2, length: 5, type: integer}
                  \(field)
              end:
                when: {start: 1, length: 1, equals: T}
                fields: {count: {start: 2, length: 4, type: integer}}
            """
        #expect(specError(yaml)?.description == message)
    }

    @Test func xmlSpecsUsePathsInstead() throws {
        let error = specError("""
            format: xml
            records:
              entry: {path: /Doc/Ntry, fields: {amount: {path: Amt}, account: {from: entry.amount}}}
            """)
        #expect(error?.description == "test.yaml:3: records.entry.fields.account.from: XML fields reach an enclosing element's values by path ('../'); 'from' is for text formats")
    }

    @Test func writtenSpecsCannotInherit() throws {
        let error = specError("""
            format: delimited
            direction: outbound
            records:
              header: {when: {column: 1, equals: H}, fields: {account: {column: 2}}}
              entry: {when: {column: 1, equals: E}, fields: {amount: {column: 2, type: decimal}, account: {from: header.account}}}
            """)
        #expect(error?.description == "test.yaml:4: records: entry.account inherits from header.account: a spec that writes files (direction: outbound or both) cannot inherit fields")
    }
}
