import Foundation
import ReckonCore
import Testing

/// Task schedules (issue 12 item 4, seed 000 §15): cron fields, the working-day rules, and
/// `next(after:)` against a minute-by-minute oracle.
@Suite("Task schedules")
struct TaskScheduleTests {
    static let calendar: BusinessCalendar = {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
        let path = root + "/data/calendar-cn.yaml"
        return try! BusinessCalendar.load(yaml: String(contentsOfFile: path, encoding: .utf8), origin: path)
    }()

    func at(_ text: String) -> LocalDateTime {
        // "2026-12-01 09:30"
        let date = CivilDate(iso: text.prefix(10))!
        let hour = Int(text.dropFirst(11).prefix(2))!, minute = Int(text.suffix(2))!
        return LocalDateTime(date: date, hour: hour, minute: minute)!
    }

    func next(_ cron: String, _ days: ScheduleDays = .everyDay, after: String) throws -> String? {
        try TaskSchedule(cron: CronExpression(cron), days: days).next(after: at(after), calendar: Self.calendar)?.description
    }

    @Test func cronFieldsGiveTheNextMinute() throws {
        #expect(try next("*/5 * * * *", after: "2026-12-01 09:31") == "2026-12-01 09:35")
        #expect(try next("*/5 * * * *", after: "2026-12-01 09:35") == "2026-12-01 09:40")
        #expect(try next("30 6 * * *", after: "2026-12-01 06:30") == "2026-12-02 06:30")
        #expect(try next("0 9,14 * * *", after: "2026-12-01 09:00") == "2026-12-01 14:00")
        #expect(try next("15 8-10/2 * * *", after: "2026-12-01 10:15") == "2026-12-02 08:15")
        #expect(try next("59 23 31 12 *", after: "2026-12-31 23:59") == "2027-12-31 23:59")
        #expect(try next("0 0 29 2 *", after: "2026-03-01 00:00") == "2028-02-29 00:00")
        // Day of month and day of week both restricted: either (Vixie cron); 2026-12-05 is a Saturday.
        #expect(try next("0 12 10 * 6", after: "2026-12-01 00:00") == "2026-12-05 12:00")
        #expect(try next("0 12 10 * 7", after: "2026-12-07 00:00") == "2026-12-10 12:00")
        // A field starting with * does not restrict: the 13th, whatever its weekday.
        #expect(try next("0 0 13 * */1", after: "2026-12-01 00:00") == "2026-12-13 00:00")
        #expect(try next("0 0 30 2 *", after: "2026-01-01 00:00") == nil)
    }

    @Test func workingDayRulesFollowTheCalendar() throws {
        // 2026-10-01..07 are the National Day holidays; 2026-10-10 (Saturday) is a make-up working day.
        #expect(try next("0 6 * * *", .workingDays, after: "2026-09-30 07:00") == "2026-10-08 06:00")
        #expect(try next("0 6 * * *", .workingDays, after: "2026-10-09 07:00") == "2026-10-10 06:00")
        #expect(try next("0 6 * * *", .nonWorkingDays, after: "2026-10-09 07:00") == "2026-10-11 06:00")
        // The first working day of October 2026 is the 8th; the third of February 2026 is the 4th.
        #expect(try next("0 9 * * *", .nthWorkingDay(1), after: "2026-09-15 00:00") == "2026-10-08 09:00")
        #expect(try next("0 9 * * *", .nthWorkingDay(3), after: "2026-02-01 00:00") == "2026-02-04 09:00")
        // LPR: the 20th, or the next working day. 2026-12-20 is a Sunday, 2026-09-20 a make-up working day.
        #expect(try next("0 9 * * *", .workingDayOnOrAfter(20), after: "2026-12-01 00:00") == "2026-12-21 09:00")
        #expect(try next("0 9 * * *", .workingDayOnOrAfter(20), after: "2026-09-01 00:00") == "2026-09-20 09:00")
        #expect(try next("0 9 * * *", .workingDayOnOrAfter(20), after: "2026-12-21 09:00") == "2027-01-20 09:00")
        // Day 31 in a 30-day month is its last day; 2026-01-31 is a Saturday, so January's falls in February.
        #expect(try next("0 9 * * *", .workingDayOnOrAfter(31), after: "2026-04-15 00:00") == "2026-04-30 09:00")
        #expect(try next("0 9 * * *", .workingDayOnOrAfter(31), after: "2026-01-15 00:00") == "2026-02-02 09:00")
    }

    @Test func badSchedulesNameTheFieldAndWhy() {
        func error(_ cron: String, _ days: String? = nil) -> String {
            do {
                let expression = try CronExpression(cron)
                _ = try TaskSchedule(cron: expression, days: days.map { d throws(ScheduleError) in try ScheduleDays(d, schedule: cron) } ?? .everyDay)
                return "no error"
            } catch {
                return error.description
            }
        }
        #expect(error("61 6 * * *") == "schedule '61 6 * * *': minute: 61 is out of range 0-59")
        #expect(error("0 24 * * *") == "schedule '0 24 * * *': hour: 24 is out of range 0-23")
        #expect(error("0 6 0 * *") == "schedule '0 6 0 * *': day of month: 0 is out of range 1-31")
        #expect(error("0 6 * 13 *") == "schedule '0 6 * 13 *': month: 13 is out of range 1-12")
        #expect(error("0 6 * * 8") == "schedule '0 6 * * 8': day of week: 8 is out of range 0-7")
        #expect(error("*/0 * * * *") == "schedule '*/0 * * * *': minute: step 0 is out of range 1-59")
        #expect(error("5-1 * * * *") == "schedule '5-1 * * * *': minute: range 5-1 runs backwards")
        #expect(error("a * * * *") == "schedule 'a * * * *': minute: 'a' is not a number")
        #expect(error("1,,2 * * * *") == "schedule '1,,2 * * * *': minute: '1,,2' has an empty list item")
        #expect(error("0 6 * *") == "schedule '0 6 * *': a schedule has five fields, minute hour day-of-month month day-of-week (like '30 6 * * *'); this has 4")
        #expect(error("0 9 20 * *", "working-day-on-or-after 20") == "schedule '0 9 20 * *': day of month: must be * when days: is working-day-on-or-after 20 (the rule picks the day)")
        #expect(error("0 9 * * *", "working-day 0") == "schedule '0 9 * * *': days: 0 is out of range 1-23")
        #expect(error("0 9 * * *", "weekdays") == "schedule '0 9 * * *': days: 'weekdays' is not a choice: expected every-day, working-days, non-working-days, working-day N (the Nth working day of the month) or working-day-on-or-after D (the first working day on or after day D)")
    }

    @Test func localTimeIsTheTimeZonesWallClock() {
        let shanghai = TimeZone(identifier: "Asia/Shanghai")!
        let moment = Date(timeIntervalSince1970: 1_795_739_400) // 2026-11-27T00:30:00Z
        let local = LocalDateTime(moment, in: shanghai)
        #expect(local.description == "2026-11-27 08:30")
        #expect(local.moment(in: shanghai) == moment)
    }

    // MARK: The oracle

    /// One field as the generator writes it, and the values it means, worked out apart from
    /// the parser: every value v of the range with low <= v <= high and (v - low) % step == 0.
    struct FieldItem {
        let text: String
        let values: Set<Int>
    }

    static func item(_ range: ClosedRange<Int>, _ rng: inout SplitMix64) -> FieldItem {
        let low = Int.random(in: range, using: &rng)
        let high = Int.random(in: low...range.upperBound, using: &rng)
        let step = Int.random(in: 1...max(1, (range.upperBound - range.lowerBound) / 3), using: &rng)
        func values(_ a: Int, _ b: Int, _ s: Int) -> Set<Int> { Set((a...b).filter { ($0 - a) % s == 0 }) }
        switch Int.random(in: 0..<6, using: &rng) {
        case 0: return FieldItem(text: "*", values: Set(range))
        case 1: return FieldItem(text: "*/\(step)", values: values(range.lowerBound, range.upperBound, step))
        case 2: return FieldItem(text: "\(low)", values: [low])
        case 3: return FieldItem(text: "\(low)-\(high)", values: values(low, high, 1))
        case 4: return FieldItem(text: "\(low)-\(high)/\(step)", values: values(low, high, step))
        default:
            let other = Int.random(in: range, using: &rng)
            return FieldItem(text: "\(low),\(other)", values: [low, other])
        }
    }

    /// Whether `day` is one of the rule's days, counted the slow way.
    static func oracleDays(_ days: ScheduleDays, _ day: CivilDate) -> Bool {
        let working = calendar.isWorkingDay(day)
        switch days {
        case .everyDay: return true
        case .workingDays: return working
        case .nonWorkingDays: return !working
        case .nthWorkingDay(let n):
            let count = (1...day.day).filter { calendar.isWorkingDay(CivilDate(year: day.year, month: day.month, day: $0)!) }.count
            return working && count == n
        case .workingDayOnOrAfter(let anchor):
            // Walk back from the day to its month's (or the month before's) anchor, seeing
            // no working day on the way.
            guard working else { return false }
            var probe = day
            for _ in 0..<40 {
                let last = CivilDate.daysIn(month: probe.month, year: probe.year)
                if probe.day == min(anchor, last) { return true }
                probe = probe.adding(days: -1)!
                if calendar.isWorkingDay(probe) { return false }
            }
            return false
        }
    }

    @Test func nextAfterAgreesWithAMinuteByMinuteOracle() throws {
        var rng = SplitMix64(seed: 0x5EED_0012)
        let windowMinutes = 40 * 24 * 60
        var found = 0
        for round in 0..<120 {
            let minute = Self.item(0...59, &rng), hour = Self.item(0...23, &rng)
            // Half the rounds leave the month open, so most find their time inside the window.
            let monthDay = Self.item(1...31, &rng), weekDay = Self.item(0...7, &rng)
            let month = round % 2 == 0 ? FieldItem(text: "*", values: Set(1...12)) : Self.item(1...12, &rng)
            let dayRules: [ScheduleDays] = [.everyDay, .workingDays, .nonWorkingDays, .nthWorkingDay(Int.random(in: 1...5, using: &rng)),
                                            .workingDayOnOrAfter(Int.random(in: 1...31, using: &rng))]
            var days = dayRules[Int.random(in: 0..<dayRules.count, using: &rng)]
            var monthDayText = monthDay.text, weekDayText = weekDay.text
            var monthDays = monthDay.values, weekDays = weekDay.values
            if case .nthWorkingDay = days { (monthDayText, weekDayText, monthDays, weekDays) = ("*", "*", Set(1...31), Set(0...7)) }
            if case .workingDayOnOrAfter = days { (monthDayText, weekDayText, monthDays, weekDays) = ("*", "*", Set(1...31), Set(0...7)) }
            if round % 4 == 0 { days = .everyDay }
            let text = "\(minute.text) \(hour.text) \(monthDayText) \(month.text) \(weekDayText)"
            let schedule = try TaskSchedule(cron: CronExpression(text), days: days)

            let restrictsBoth = !monthDayText.hasPrefix("*") && !weekDayText.hasPrefix("*")
            var dayCache: (day: CivilDate, ok: Bool)?
            func oracle(_ t: LocalDateTime) -> Bool {
                guard minute.values.contains(t.minute), hour.values.contains(t.hour) else { return false }
                let d = t.date
                if let dayCache, dayCache.day == d { return dayCache.ok }
                let byMonthDay = monthDays.contains(d.day)
                let byWeekDay = weekDays.contains(d.isoWeekday % 7) || (d.isoWeekday == 7 && weekDays.contains(7))
                let ok = month.values.contains(d.month) && (restrictsBoth ? (byMonthDay || byWeekDay) : (byMonthDay && byWeekDay))
                    && Self.oracleDays(days, d)
                dayCache = (d, ok)
                return ok
            }
            let start = LocalDateTime(date: CivilDate(year: 2024, month: 1, day: 1)!.adding(days: Int.random(in: 0..<1000, using: &rng))!,
                                      hour: Int.random(in: 0...23, using: &rng), minute: Int.random(in: 0...59, using: &rng))!
            var probe = start
            var expected: LocalDateTime?
            for _ in 0..<windowMinutes {
                probe = probe.addingMinute()!
                if oracle(probe) { expected = probe; break }
            }
            let got = schedule.next(after: start, calendar: Self.calendar)
            if let expected {
                found += 1
                #expect(got == expected, "'\(text)' \(days) after \(start)")
            } else {
                #expect(got.map { $0 > probe } ?? true, "'\(text)' \(days) after \(start): \(got?.description ?? "nil") inside the window")
                // Beyond the window, what it gives is at least a time the oracle allows.
                if let got { #expect(oracle(got), "'\(text)' \(days) after \(start): \(got) is not a time of the schedule") }
            }
        }
        // Most rounds find their time inside the window: the comparison is not vacuous.
        #expect(found >= 80, "\(found) of 120")
    }
}
