/// Working days as reconciliation counts them, in a rule's calendar (``ReconRule/calendar``):
/// `calendar-days` counts every day, `weekdays` Monday to Friday, and any other name the
/// configured working-day calendar (every day when none is configured). The one count for the
/// reconcile step's windows and waits, breaks' ages and the report's age buckets.
public struct BreakAge: Sendable {
    /// The working-day calendar `reckon.yaml` configures, if any.
    public let configured: BusinessCalendar?

    public init(configured: BusinessCalendar?) {
        self.configured = configured
    }

    /// The calendar a rule counts in when it names none, as `reckon.yaml`'s loader gives it:
    /// the configured calendar by its file's name (`cn`), else Monday to Friday.
    public static func defaultCalendar(calendarPath: String?) -> String {
        ReconRuleLoader.calendarNames(calendarPath).first ?? ReconRule.everyDay
    }

    /// Working days after `from` up to and including `to` under the rule calendar named; 0
    /// when `to` is not after `from`.
    public func workingDays(from: CivilDate, to: CivilDate, calendar name: String) -> Int {
        guard from < to else { return 0 }
        let calendar = name == ReconRule.everyDay || name == ReconRule.weekdays ? nil : configured
        let weekdaysOnly = name == ReconRule.weekdays
        if calendar == nil && !weekdaysOnly { return from.days(to: to) }
        var count = 0
        var day = from
        // Bounded: a window is at most a year, an age a few years (the report's last bucket
        // is anything past 30 working days).
        for _ in 0..<3_700 {
            guard let next = day.adding(days: 1), next <= to else { break }
            day = next
            if let calendar { if calendar.isWorkingDay(day) { count += 1 } } else if day.isoWeekday <= 5 { count += 1 }
        }
        return count
    }

    /// Working days from `from` to `to`, negative when `to` is earlier (a date delta).
    public func signedWorkingDays(from: CivilDate, to: CivilDate, calendar name: String) -> Int {
        from <= to ? workingDays(from: from, to: to, calendar: name) : -workingDays(from: to, to: from, calendar: name)
    }
}
