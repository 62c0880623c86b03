import ReckonCore
import Testing

/// One XML field read with a different type per path alternative (`Dt` or `DtTm`).
@Suite("XML path alternatives with their own types")
struct XMLPathTypeTests {
    static let document = """
        <?xml version="1.0" encoding="UTF-8"?>
        <Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.052.001.02"><BkToCstmrAcctRpt><Rpt>
        <Ntry><Amt>1.00</Amt><BookgDt><Dt>2024-12-16</Dt></BookgDt></Ntry>
        <Ntry><Amt>2.00</Amt><BookgDt><DtTm>2024-12-16T09:30:00+01:00</DtTm></BookgDt></Ntry>
        <Ntry><Amt>3.00</Amt><BookgDt><Dt>2024-12-17T10:00:00</Dt></BookgDt></Ntry>
        </Rpt></BkToCstmrAcctRpt></Document>
        """

    static func spec(_ bookedOn: String) throws -> MappingSpec {
        try SpecLoader.load(yaml: """
            format: xml
            namespaces: [urn:iso:std:iso:20022:tech:xsd:camt.052.001.02]
            records:
              entry:
                path: /Document/BkToCstmrAcctRpt/Rpt/Ntry
                fields:
                  amount: {path: Amt, type: decimal}
                  booked: \(bookedOn)
            """, origin: "types.yaml")
    }

    @Test func eachAlternativeReadsWithItsOwnType() throws {
        let spec = try Self.spec("{path: [{path: BookgDt/Dt, type: date, format: iso8601}, {path: BookgDt/DtTm, type: datetime, format: iso8601}]}")
        let field = try #require(spec.kinds.first?.fields.last)
        // Without a type of its own, the field has the first alternative's.
        #expect(field.type.name == "date")
        let (report, records) = check(bytes: Array(Self.document.utf8), spec)
        #expect(report.isClean, "\(report.problems)")
        #expect(records.map { $0.value("booked", in: spec) } == [
            .date(CivilDate(year: 2024, month: 12, day: 16)!),
            .dateTime(DateTime(date: CivilDate(year: 2024, month: 12, day: 16)!, time: TimeOfDay(hour: 9, minute: 30, second: 0)!, utcOffsetMinutes: 60)),
            // A date that is written with its time stays a date, as before.
            .date(CivilDate(year: 2024, month: 12, day: 17)!),
        ])
    }

    @Test func plainAlternativesStillReadAsTheFieldsType() throws {
        let spec = try Self.spec("{path: [BookgDt/Dt, BookgDt/DtTm], type: date, format: iso8601}")
        let (report, records) = check(bytes: Array(Self.document.utf8), spec)
        #expect(report.isClean, "\(report.problems)")
        #expect(records.map { $0.value("booked", in: spec) } == [
            .date(CivilDate(year: 2024, month: 12, day: 16)!), .date(CivilDate(year: 2024, month: 12, day: 16)!),
            .date(CivilDate(year: 2024, month: 12, day: 17)!),
        ])
    }

    @Test func alternativeTypeErrors() {
        func message(_ bookedOn: String) -> String? {
            do { _ = try Self.spec(bookedOn); return nil } catch let error as SpecError { return error.message } catch { return "\(error)" }
        }
        #expect(message("{path: [{path: BookgDt/Dt, type: decimal}]}") == "a path alternative's type is string, date, time or datetime")
        #expect(message("{path: [{path: BookgDt/Dt, type: date}]}") == "'format' is required here")
        #expect(message("{path: [{path: BookgDt/Dt, typo: date}]}")?.hasPrefix("unknown key 'typo'") == true)
    }
}
