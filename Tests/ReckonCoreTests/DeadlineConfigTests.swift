import Foundation
import ReckonCore
import Testing

/// By when an expected file must be complete (`expected: {…, by: "08:30"}`) in the
/// configuration's time zone (`timezone:`), to the minute (issue 12 item 3).
@Suite("Deadlines of expected files")
struct DeadlineConfigTests {
    func load(_ expected: String, timezone: String? = nil, calendar: Bool = true) throws -> ReckonConfig {
        try ConfigLoader.load(yaml: """
            partners:
              bank:
                role: bank
                files:
                  settlements:
                    spec: mappings/bank-settlement.yaml
                    name: "BANK_SETTLE_{yyyyMMdd}.txt"
                    expected: \(expected)
            \(calendar ? "calendar: data/calendar-cn.yaml" : "")
            \(timezone.map { "timezone: \($0)" } ?? "")
            """, origin: "/srv/reckon/reckon.yaml")
    }

    func problem(_ expected: String, timezone: String? = nil, calendar: Bool = true) -> String? {
        do {
            _ = try load(expected, timezone: timezone, calendar: calendar)
            return nil
        } catch {
            return "\(error)"
        }
    }

    /// An instant from its UTC text, independently of the code under test.
    func utc(_ text: String) -> Date { ISO8601DateFormatter().date(from: text)! }

    @Test func aDeadlineIsATimeOfTheBusinessDayOrOfTheDayAfterInTheConfigurationsTimeZone() throws {
        let config = try load(#"{days: working-days, from: 2024-12-16, by: "08:30"}"#)
        #expect(config.timeZone.identifier == "Asia/Shanghai")
        let expected = try #require(config.partner("bank")?.fileType("settlements")?.expected)
        #expect(expected.by == FileDeadline(hour: 8, minute: 30))
        #expect(expected.description == "on working days from 2024-12-16 by 08:30")
        let weekdays = { (day: CivilDate) in day.isoWeekday <= 5 }
        let monday = CivilDate(year: 2024, month: 12, day: 16)!, friday = CivilDate(year: 2024, month: 12, day: 13)!
        // 08:30 in Shanghai (UTC+8, no summer time) is 00:30 UTC, to the minute.
        #expect(expected.by!.instant(for: monday, isWorkingDay: weekdays, timeZone: config.timeZone) == utc("2024-12-16T00:30:00Z"))
        #expect(FileDeadline(text: "next-day 06:00")!.instant(for: friday, isWorkingDay: weekdays, timeZone: config.timeZone)
                == utc("2024-12-13T22:00:00Z"))
        // Friday's file by the next working day: Monday.
        let nextWorking = try #require(FileDeadline(text: "next-working-day 08:30"))
        #expect(nextWorking.instant(for: friday, isWorkingDay: weekdays, timeZone: config.timeZone) == utc("2024-12-16T00:30:00Z"))
        #expect(nextWorking.text(for: friday, isWorkingDay: weekdays, timeZone: config.timeZone) == "2024-12-16 08:30 Asia/Shanghai")
        // Another zone moves the instant: 08:30 in London in winter is 08:30 UTC.
        let london = try load(#"{days: every-day, by: "08:30"}"#, timezone: "Europe/London")
        #expect(london.timeZone.identifier == "Europe/London")
        #expect(FileDeadline(hour: 8, minute: 30)!.instant(for: monday, isWorkingDay: weekdays, timeZone: london.timeZone)
                == utc("2024-12-16T08:30:00Z"))
        #expect(FileDeadline.localDay(of: utc("2024-12-15T16:00:00Z"), timeZone: config.timeZone) == monday)
        #expect(FileDeadline.localDay(of: utc("2024-12-15T15:59:00Z"), timeZone: config.timeZone) == CivilDate(year: 2024, month: 12, day: 15))
    }

    @Test func aWrongDeadlineOrTimeZoneIsRefusedAtLoadNamingItsKey() {
        #expect(problem(#"{days: every-day, by: "8:30"}"#) == "/srv/reckon/reckon.yaml:8: partners.bank.files.settlements.expected.by: "
                + "'8:30' is not a deadline: HH:mm on the day (08:30), or next-day 08:30, or next-working-day 08:30")
        #expect(problem(#"{days: every-day, by: "24:00"}"#)?.hasSuffix("'24:00' is not a deadline: HH:mm on the day (08:30), or next-day 08:30, or next-working-day 08:30") == true)
        #expect(problem(#"{days: every-day, by: "tomorrow 08:30"}"#) != nil)
        #expect(problem(#"{days: on-demand, by: "08:30"}"#) == "/srv/reckon/reckon.yaml:8: partners.bank.files.settlements.expected.by: "
                + "a file sent on demand has no deadline: give days: every-day or working-days")
        #expect(problem(#"{days: every-day, by: "next-working-day 08:30"}"#, calendar: false)
                == "/srv/reckon/reckon.yaml:8: partners.bank.files.settlements.expected.by: "
                + "next-working-day needs the working-day calendar, but reckon.yaml names none (calendar: data/calendar-cn.yaml)")
        #expect(problem("every-day", timezone: "Mars/Olympus_Mons") == "/srv/reckon/reckon.yaml:10: timezone: "
                + "'Mars/Olympus_Mons' is not a time zone of the IANA database, like Asia/Shanghai")
        #expect(problem("every-day", timezone: "GMT+8")?.hasSuffix("'GMT+8' is not a time zone of the IANA database, like Asia/Shanghai") == true)
    }

    @Test func theWriterLockWaitDefaultsToNoneAndIsSetUnderLedger() throws {
        #expect(try load("every-day").writerLockWaitSeconds == 0)
        let yaml = """
            ledger:
              wait_for_lock_seconds: 30
            partners:
              bank: {role: bank}
            """
        #expect(try ConfigLoader.load(yaml: yaml, origin: "/srv/reckon/reckon.yaml").writerLockWaitSeconds == 30)
        do {
            _ = try ConfigLoader.load(yaml: yaml.replacingOccurrences(of: "30", with: "-1"), origin: "/srv/reckon/reckon.yaml")
            Issue.record("a negative wait was taken")
        } catch {
            #expect("\(error)".hasPrefix("/srv/reckon/reckon.yaml:2: ledger.wait_for_lock_seconds: "), "\(error)")
        }
    }
}
