import ReckonCore
import Testing

@Suite("Spec loading and validation")
struct SpecLoaderTests {
    static let minimalFixed = """
        format: fixed-width
        record_length: 10
        records:
          detail:
            fields:
              id: {start: 1, length: 4}
              amount: {start: 5, length: 6, type: decimal, implied: true}
        """

    @Test func loadsAMinimalSpec() throws {
        let spec = try loadSpec(Self.minimalFixed)
        #expect(spec.name == "test")
        #expect(spec.kinds.map(\.name) == ["detail"])
        #expect(spec.encoding == .utf8)
        guard case .fixedWidth(let layout) = spec.format else { Issue.record("not fixed-width"); return }
        #expect(layout.recordLength == 10)
        #expect(layout.separator == .newline)
    }

    @Test func shortRecordsPolicies() throws {
        guard case .fixedWidth(let layout) = try loadSpec(Self.minimalFixed).format else { Issue.record("not fixed-width"); return }
        #expect(layout.shortRecords == .reject)
        let perKind = try loadSpec(Self.minimalFixed.replacingOccurrences(of: "    fields:\n", with: "    short_records: right_trimmed\n    fields:\n")
                                   + "\nshort_records: whole_fields")
        guard case .fixedWidth(let both) = perKind.format else { Issue.record("not fixed-width"); return }
        #expect(both.shortRecords == .wholeFields)
        #expect(perKind.kinds.first?.shortRecords == .rightTrimmed)

        let old = try #require(specError(Self.minimalFixed + "\nshort_records: pad"))
        #expect(old.description == "test.yaml:8: short_records: 'pad' is no longer accepted: it read a number cut short as a smaller one. Use right_trimmed (the sender strips trailing spaces) or whole_fields (trailing fields may be left off)")
        let unknown = try #require(specError(Self.minimalFixed + "\nshort_records: maybe"))
        #expect(unknown.description == "test.yaml:8: short_records: expected reject, whole_fields or right_trimmed")
        let delimited = try #require(specError("format: delimited\nrecords: {r: {short_records: reject, fields: {a: {column: 1}}}}"))
        #expect(delimited.description == "test.yaml:2: records.r.short_records: 'short_records' applies to fixed-width record kinds")
    }

    @Test func unknownKeyNamesTheKeyPathAndLine() throws {
        let error = try #require(specError("""
            format: fixed-width
            record_length: 10
            records:
              detail:
                fields:
                  id: {start: 1, length: 4, requird: true}
            """))
        #expect(error.file == "test.yaml")
        #expect(error.keyPath == "records.detail.fields.id.requird")
        #expect(error.line == 6)
        #expect(error.message.contains("unknown key 'requird'"))
        #expect(error.message.contains("did you mean 'required'"))
        #expect(error.description.hasPrefix("test.yaml:6: records.detail.fields.id.requird: "))
    }

    @Test func unknownTopLevelKey() throws {
        let error = try #require(specError("format: delimited\nencodng: gbk\nrecords: {r: {fields: {a: {column: 1}}}}"))
        #expect(error.keyPath == "encodng")
        #expect(error.message.contains("did you mean 'encoding'"))
    }

    @Test func overlappingFixedWidthFields() throws {
        let error = try #require(specError("""
            format: fixed-width
            record_length: 20
            records:
              detail:
                fields:
                  a: {start: 1, length: 10}
                  b: {start: 8, length: 5}
            """))
        #expect(error.keyPath == "records.detail.fields.b")
        #expect(error.message == "fields 'a' (positions 1–10) and 'b' (positions 8–12) overlap")
    }

    @Test func fieldPastTheRecordLength() throws {
        let error = try #require(specError("""
            format: fixed-width
            record_length: 10
            records: {d: {fields: {a: {start: 8, length: 5}}}}
            """))
        #expect(error.keyPath == "records.d.fields.a")
        #expect(error.message.contains("run past the record length 10"))
    }

    @Test func kindWithoutDiscriminator() throws {
        let error = try #require(specError("""
            format: fixed-width
            record_length: 10
            records:
              header:
                when: {start: 1, equals: H}
                fields: {a: {start: 2, length: 3}}
              detail:
                fields: {a: {start: 2, length: 3}}
            """))
        #expect(error.keyPath == "records.detail")
        #expect(error.message.contains("has no discriminator"))
    }

    @Test func twoDefaultKinds() throws {
        let error = try #require(specError("""
            format: delimited
            records:
              a: {default: true, fields: {x: {column: 1}}}
              b: {default: true, fields: {x: {column: 1}}}
            """))
        #expect(error.message.contains("only one record kind can be the default"))
    }

    @Test func badDateFormat() throws {
        let error = try #require(specError("""
            format: delimited
            records: {r: {fields: {on: {column: 1, type: date, format: yyyyQQdd}}}}
            """))
        #expect(error.keyPath == "records.r.fields.on.format")
        #expect(error.message.contains("unknown token 'QQ'"))
    }

    @Test func dateFormatWithoutADay() throws {
        let error = try #require(specError("""
            format: delimited
            records: {r: {fields: {on: {column: 1, type: date, format: yyyyMM}}}}
            """))
        #expect(error.message.contains("a date needs year, month and day"))
    }

    @Test func unknownFieldType() throws {
        let error = try #require(specError("""
            format: delimited
            records: {r: {fields: {amount: {column: 1, type: decmial}}}}
            """))
        #expect(error.keyPath == "records.r.fields.amount.type")
        #expect(error.message == "unknown field type 'decmial'; expected one of string, integer, decimal, date, time, datetime")
    }

    @Test func unknownEncodingAndFormat() throws {
        #expect(specError("format: delimited\nencoding: ebcdic\nrecords: {r: {fields: {a: {column: 1}}}}")?.message
            .contains("unknown encoding 'ebcdic'") == true)
        #expect(specError("format: json\nrecords: {}")?.message.contains("unknown format 'json'") == true)
    }

    @Test func keysOfAnotherFormat() throws {
        let error = try #require(specError("format: delimited\nrecord_length: 10\nrecords: {r: {fields: {a: {column: 1}}}}"))
        #expect(error.keyPath == "record_length")
        #expect(error.message == "'record_length' does not apply to delimited files")
    }

    @Test func namedColumnNeedsAHeader() throws {
        let error = try #require(specError("format: delimited\nrecords: {r: {fields: {a: {column: amount}}}}"))
        #expect(error.message.contains("declares no header row"))
    }

    @Test func captureBeyondTheGroups() throws {
        let error = try #require(specError("""
            format: delimited
            records:
              total:
                when: {line: "^TOTAL (\\\\d+)"}
                fields: {count: {capture: 2, type: integer}}
            """))
        #expect(error.message.contains("has 1 capture group"))
    }

    @Test func codeMapsOnlyOnStrings() throws {
        let error = try #require(specError("""
            format: delimited
            records: {r: {fields: {a: {column: 1, type: integer, codes: {"1": one}}}}}
            """))
        #expect(error.message == "code maps apply to string fields")
    }

    @Test func controlsNameKindsAndNumericFields() throws {
        let base = """
            format: delimited
            records:
              total: {when: {column: 1, equals: T}, fields: {count: {column: 2, type: integer}, label: {column: 3}}}
              row: {default: true, fields: {amount: {column: 2, type: decimal}}}
            controls:
            """
        #expect(specError(base + "\n  - {name: c, count: rows, equals: total.count}")?.message.contains("no record kind 'rows'") == true)
        #expect(specError(base + "\n  - {name: c, count: row, equals: total.label}")?.message.contains("totals need integer or decimal fields") == true)
        #expect(specError(base + "\n  - {name: c, count: row, equals: total.count}") == nil)
    }

    @Test func xmlPathsAreChecked() throws {
        #expect(specError("""
            format: xml
            records: {e: {path: Document/Ntry, fields: {a: {path: Amt}}}}
            """)?.message.contains("a record path is absolute") == true)
        #expect(specError("""
            format: xml
            records: {e: {path: /Document/Ntry, fields: {a: {path: "x:Amt"}}}}
            """)?.message.contains("unknown prefix 'x'") == true)
        #expect(specError("""
            format: xml
            records: {e: {path: /Document/Ntry, fields: {a: {start: 1, length: 2}}}}
            """)?.message.contains("does not apply to XML files") == true)
    }

    @Test func eventsNeedTheirCanonicalFields() throws {
        let error = try #require(specError("""
            format: delimited
            records:
              r:
                event: repayment
                fields: {loan_id: {column: 1}, period: {column: 2, type: integer}}
            """))
        #expect(error.message.contains("needs a field named 'paid_on' or 'paid_at'"))
        #expect(specError("format: delimited\nrecords: {r: {event: payout, fields: {a: {column: 1}}}}")?.message
            .contains("unknown event 'payout'") == true)
    }

    @Test func notYAMLAtAll() throws {
        let error = try #require(specError("format: [unclosed"))
        #expect(error.message.contains("not valid YAML"))
    }

    @Test func rangeBoundsMustParse() throws {
        #expect(specError("""
            format: delimited
            records: {r: {fields: {a: {column: 1, type: decimal, min: abc}}}}
            """)?.message.contains("'abc' is not a valid decimal") == true)
        #expect(specError("""
            format: delimited
            records: {r: {fields: {a: {column: 1, type: integer, min: 5, max: 2}}}}
            """)?.message.contains("max is below min") == true)
    }
}
