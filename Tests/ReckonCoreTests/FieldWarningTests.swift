import ReckonCore
import Testing

@Suite("Field warnings")
struct FieldWarningTests {
    static let payments = """
        format: delimited
        records:
          payment:
            fields:
              reference: {column: 1, required: true}
              amount: {column: 2, type: decimal, warn: {max: "1000.00"}}
              currency: {column: 3, warn: {required: true, pattern: "[A-Z]{3}"}}
        controls:
          - {name: payments, count: payment, equals: payment.reference}
        """

    @Test func aWarnedRecordPassesAndTheWarningIsCounted() throws {
        let spec = try loadSpec(Self.payments.replacingOccurrences(of: "\ncontrols:\n  - {name: payments, count: payment, equals: payment.reference}", with: ""))
        let (report, records) = read(spec, "P1,12.00,EUR\nP2,5000.00,\nP3,7.00,eur\nP4,x,EUR\n")
        #expect(report.warnings.map(\.description) == [
            "line 2: payment field 'amount' = '5000.00': is above the maximum 1000.00",
            "line 2: payment field 'currency': required value is missing",
            "line 3: payment field 'currency' = 'eur': does not match the pattern [A-Z]{3}",
        ])
        #expect(report.warningCount == 3)
        // A value that does not parse is still an error.
        #expect(problemTexts(report) == ["line 4: payment field 'amount' = 'x': unexpected character 'x' in a number"])
        #expect(report.count(of: "payment").map { [$0.read, $0.rejected] } == [3, 1])
        // The warned values are kept as read.
        #expect(records.map { value($0, "amount", in: spec) } == [amount(1200), amount(500000), amount(700)])
        #expect(records.map { value($0, "currency", in: spec) } == [.text("EUR"), .empty, .text("eur")])
    }

    @Test func warningsAloneLeaveTheFileClean() throws {
        let spec = try loadSpec(Self.payments.replacingOccurrences(of: "\ncontrols:\n  - {name: payments, count: payment, equals: payment.reference}", with: ""))
        let (report, _) = read(spec, "P1,12.00,\nP2,5.00,EUR\n")
        #expect(report.isClean)
        #expect(report.warningCount == 1)
        let text = ReportText.render(report, spec: spec)
        #expect(text.contains("  records   2 read, 0 rejected, 1 warning\n"))
        #expect(text.contains("  warnings\n    line 1: payment field 'currency': required value is missing\n"))
        #expect(text.hasSuffix("  verdict   ✓ clean (1 warning)"))
    }

    @Test func theWarningsListIsCappedAndTheCountStaysExact() throws {
        let spec = try loadSpec(Self.payments.replacingOccurrences(of: "\ncontrols:\n  - {name: payments, count: payment, equals: payment.reference}", with: ""))
        let text = (1...5).map { "P\($0),1.00,\n" }.joined()
        let (report, _) = read(spec, text, options: CheckOptions(maxProblems: 2))
        #expect(report.warnings.count == 2)
        #expect(report.warningsOmitted == 3)
        #expect(report.warningCount == 5)
    }

    @Test func aCheckCannotBeBothAnErrorAndAWarning() {
        let error = specError(Self.payments.replacingOccurrences(of: "{column: 3, warn:", with: "{column: 3, required: true, warn:"))
        #expect(error?.description == "test.yaml:7: records.payment.fields.currency.warn.required: 'required' is both a check and a warning; keep one")
    }

    @Test func unknownWarnKeysAreRefused() {
        let error = specError(Self.payments.replacingOccurrences(of: "warn: {max: \"1000.00\"}", with: "warn: {codes: {A: B}}"))
        #expect(error?.description.hasPrefix("test.yaml:6: records.payment.fields.amount.warn.codes: unknown key 'codes'") == true)
    }
}
