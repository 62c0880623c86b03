import PropertyBased
import ReckonCore
import Testing

@Suite("OFX dates and ISO dates written with a time")
struct OFXDateTests {
    func parts(_ text: String, _ pattern: String, _ content: DateTimeFormat.Content) throws -> DateTimeFormat.Parts? {
        let format = try DateTimeFormat(pattern: pattern, content: content)
        return Array(text.utf8).withUnsafeBytes { format.parse($0) }
    }

    func dateTime(_ text: String) throws -> String? {
        guard let p = try parts(text, "ofx", .dateTime), let date = p.date, let time = p.time else { return nil }
        return DateTime(date: date, time: time, utcOffsetMinutes: p.utcOffsetMinutes).description
    }

    @Test func ofxDateTimesWithTheirOffsets() throws {
        #expect(try dateTime("20241216120000.000[-5:EST]") == "2024-12-16T12:00:00-05:00")
        #expect(try dateTime("20241216230000[-5:EST]") == "2024-12-16T23:00:00-05:00")
        #expect(try dateTime("20241216083000.5[+5.5:IST]") == "2024-12-16T08:30:00.5+05:30")
        #expect(try dateTime("20241216083000[+5.75]") == "2024-12-16T08:30:00+05:45")
        #expect(try dateTime("20241216083000[0:GMT]") == "2024-12-16T08:30:00Z")
        // No offset is GMT and no time is midnight, as the OFX specification says.
        #expect(try dateTime("20241216120000") == "2024-12-16T12:00:00Z")
        #expect(try dateTime("20241216") == "2024-12-16T00:00:00Z")
        for bad in ["2024121612", "20241216120000.[-5]", "20241216120000[-5:EST", "20241216120000[EST]",
                    "20241216120000[-19]", "20241216120000[+5.13]", "20240230", "20241216250000", "20241216 120000"] {
            #expect(try dateTime(bad) == nil, "\(bad)")
        }
    }

    @Test func anOFXDateIsTheDayAsWritten() throws {
        // 23:00 EST is the next day in GMT; the bank's day is the one it wrote.
        #expect(try parts("20241216230000.000[-5:EST]", "ofx", .date)?.date == CivilDate(year: 2024, month: 12, day: 16))
        #expect(try parts("20241216", "ofx", .date)?.date == CivilDate(year: 2024, month: 12, day: 16))
        #expect(throws: DateTimeFormatError.wrongContent("ofx", "ofx is a date or date-time layout")) {
            try DateTimeFormat(pattern: "ofx", content: .time)
        }
    }

    @Test func anISODateWrittenWithItsTimeGivesItsDay() throws {
        let day = CivilDate(year: 2024, month: 12, day: 16)
        for text in ["2024-12-16", "2024-12-16T09:15:00+01:00", "2024-12-16T23:59:59.123Z", "2024-12-16T00:00:00"] {
            #expect(try parts(text, "iso8601", .date)?.date == day, "\(text)")
        }
        for bad in ["2024-12-16T25:00:00", "2024-12-16T09:15", "2024-12-16 09:15:00", "2024-12-16T09:15:00+1"] {
            #expect(try parts(bad, "iso8601", .date) == nil, "\(bad)")
        }
    }

    /// Any moment written as OFX writes it (built here digit by digit) reads back as itself.
    @Test func ofxTextReadsBackToItsParts() async {
        await propertyCheck(count: 300, input: Gen.int(in: 0...99_999), Gen.int(in: 0...86_399), Gen.int(in: -48...56)) { dayNumber, secondOfDay, quarterHours in
            let year = 1970 + dayNumber % 130, month = 1 + dayNumber % 12, day = 1 + dayNumber % 28
            let hour = secondOfDay / 3600, minute = secondOfDay / 60 % 60, second = secondOfDay % 60
            let offsetMinutes = quarterHours * 15
            func two(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
            let hours = abs(offsetMinutes) / 60, fraction = ["", ".25", ".5", ".75"][abs(offsetMinutes) % 60 / 15]
            let text = "\(year)\(two(month))\(two(day))\(two(hour))\(two(minute))\(two(second)).000[\(offsetMinutes < 0 ? "-" : "+")\(hours)\(fraction):XYZ]"
            let format = try? DateTimeFormat(pattern: "ofx", content: .dateTime)
            let parsed = Array(text.utf8).withUnsafeBytes { format?.parse($0) }
            #expect(parsed?.date == CivilDate(year: year, month: month, day: day), "\(text)")
            #expect(parsed?.time == TimeOfDay(hour: hour, minute: minute, second: second), "\(text)")
            #expect(parsed?.utcOffsetMinutes == offsetMinutes, "\(text)")
        }
    }
}
