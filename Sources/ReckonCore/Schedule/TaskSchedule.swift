/// Which days of a working-day calendar a schedule runs on, beside its cron fields.
public enum ScheduleDays: Sendable, Equatable, CustomStringConvertible {
    case everyDay
    case workingDays
    case nonWorkingDays
    /// The Nth working day of the month (1 is the first).
    case nthWorkingDay(Int)
    /// The first working day on or after this day of the month (the 20th, or the next
    /// working day: the LPR fixing's day). A month shorter than the day takes its last day.
    case workingDayOnOrAfter(Int)

    /// `every-day`, `working-days`, `non-working-days`, `working-day 3`,
    /// `working-day-on-or-after 20`.
    public var description: String {
        switch self {
        case .everyDay: return "every-day"
        case .workingDays: return "working-days"
        case .nonWorkingDays: return "non-working-days"
        case .nthWorkingDay(let n): return "working-day \(n)"
        case .workingDayOnOrAfter(let day): return "working-day-on-or-after \(day)"
        }
    }

    /// Reads the forms ``description`` writes.
    public init(_ text: String, schedule: String) throws(ScheduleError) {
        let words = text.split(separator: " ", omittingEmptySubsequences: true)
        func fail(_ reason: String) -> ScheduleError { ScheduleError(text: schedule, field: nil, reason: "days: " + reason) }
        func number(_ range: ClosedRange<Int>) throws(ScheduleError) -> Int {
            guard words.count == 2, let value = Int(words[1]) else { throw fail("'\(text)' needs one number after \(words[0])") }
            guard range.contains(value) else { throw fail("\(value) is out of range \(range.lowerBound)-\(range.upperBound)") }
            return value
        }
        switch words.first {
        case "every-day" where words.count == 1: self = .everyDay
        case "working-days" where words.count == 1: self = .workingDays
        case "non-working-days" where words.count == 1: self = .nonWorkingDays
        case "working-day": self = .nthWorkingDay(try number(1...23))
        case "working-day-on-or-after": self = .workingDayOnOrAfter(try number(1...31))
        default:
            throw fail("'\(text)' is not a choice: expected every-day, working-days, non-working-days, "
                       + "working-day N (the Nth working day of the month) or working-day-on-or-after D (the first working day on or after day D)")
        }
    }

    /// Whether the rule needs a working-day calendar.
    public var needsCalendar: Bool { self != .everyDay }

    /// Whether `day` is one of the rule's days.
    public func contains(_ day: CivilDate, calendar: BusinessCalendar) -> Bool {
        switch self {
        case .everyDay: return true
        case .workingDays: return calendar.isWorkingDay(day)
        case .nonWorkingDays: return !calendar.isWorkingDay(day)
        case .nthWorkingDay(let n):
            guard calendar.isWorkingDay(day) else { return false }
            var count = 0
            for dayOfMonth in 1...day.day where calendar.isWorkingDay(CivilDate(year: day.year, month: day.month, day: dayOfMonth)!) {
                count += 1
            }
            return count == n
        case .workingDayOnOrAfter(let anchor):
            // The day a month's anchor moves to may fall in the next month.
            let first = CivilDate(year: day.year, month: day.month, day: 1)!
            for month in [first.addingMonths(-1), first].compactMap({ $0 }) {
                let start = CivilDate(year: month.year, month: month.month,
                                      day: min(anchor, CivilDate.daysIn(month: month.month, year: month.year)))!
                if calendar.workingDay(onOrAfter: start) == day { return true }
            }
            return false
        }
    }
}

/// When a task runs: a cron expression (``CronExpression``) and which days of the
/// configuration's working-day calendar (``ScheduleDays``), in local time of the
/// configuration's time zone. A day must satisfy both.
///
/// ```yaml
/// schedule: "*/5 * * * *"                                   # every five minutes
/// schedule: {cron: "0 6 * * *", days: working-days}         # 06:00 on working days
/// schedule: {cron: "0 9 * * *", days: working-day-on-or-after 20}  # the 20th, or the next working day
/// ```
public struct TaskSchedule: Sendable, Equatable, CustomStringConvertible {
    public let cron: CronExpression
    public let days: ScheduleDays

    /// How far ``next(after:calendar:)`` looks: eight years and a day, so a 29 February is found.
    public static let horizonDays = 8 * 366 + 1

    public init(cron: CronExpression, days: ScheduleDays = .everyDay) throws(ScheduleError) {
        switch days {
        case .nthWorkingDay, .workingDayOnOrAfter:
            // Both would say which day of the month: the rule is the one that does.
            guard !cron.restrictsDayOfMonth && !cron.restrictsDayOfWeek else {
                throw ScheduleError(text: cron.text, field: cron.restrictsDayOfMonth ? .dayOfMonth : .dayOfWeek,
                                    reason: "must be * when days: is \(days) (the rule picks the day)")
            }
        default:
            break
        }
        self.cron = cron
        self.days = days
    }

    /// `30 6 * * *`, with ` on working-days` when days are restricted.
    public var description: String {
        days == .everyDay ? cron.text : "\(cron.text) on \(days)"
    }

    /// Whether the schedule allows a task to run on `day` (at some minute of it).
    public func runs(on day: CivilDate, calendar: BusinessCalendar) -> Bool {
        cron.matches(day) && days.contains(day, calendar: calendar)
    }

    /// Whether the schedule names this very minute.
    public func matches(_ time: LocalDateTime, calendar: BusinessCalendar) -> Bool {
        cron.matches(hour: time.hour, minute: time.minute) && runs(on: time.date, calendar: calendar)
    }

    /// The first minute strictly after `time` the schedule names; nil when none comes within
    /// ``horizonDays`` (`0 0 30 2 *` never does).
    public func next(after time: LocalDateTime, calendar: BusinessCalendar) -> LocalDateTime? {
        var day = time.date
        var after = time.minuteOfDay
        for _ in 0..<Self.horizonDays {
            if runs(on: day, calendar: calendar), let first = cron.firstTime(after: after) {
                return LocalDateTime(date: day, hour: first.hour, minute: first.minute)
            }
            guard let following = day.adding(days: 1) else { return nil }
            day = following
            after = -1
        }
        return nil
    }

    /// No calendar file: Monday to Friday are the working days.
    public static let weekdayCalendar = BusinessCalendar(name: "weekdays", years: [], offDays: [], workDays: [])
}
