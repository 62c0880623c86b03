/// Day and month arithmetic on calendar dates, for due dates, accrual days and ages.
extension CivilDate {
    /// Days since 1970-01-01 (negative before it), by Howard Hinnant's `days_from_civil`.
    public var dayNumber: Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let monthIndex = (month + 9) % 12
        let dayOfYear = (153 * monthIndex + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    /// The date `dayNumber` days after 1970-01-01; nil outside years 1–9999.
    public init?(dayNumber: Int) {
        let z = dayNumber + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
        let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
        self.init(year: yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month: month, day: day)
    }

    /// The date `days` later (earlier when negative).
    public func adding(days: Int) -> CivilDate? { CivilDate(dayNumber: dayNumber + days) }

    /// Whole days from this date to `later` (negative when `later` is earlier).
    public func days(to later: CivilDate) -> Int { later.dayNumber - dayNumber }

    /// ISO weekday: 1 is Monday, 7 is Sunday.
    public var isoWeekday: Int {
        // 1970-01-01 was a Thursday (4).
        let offset = (dayNumber % 7 + 7) % 7
        return (offset + 3) % 7 + 1
    }

    /// The same day `months` later (or earlier), clamped to the month's last day.
    public func addingMonths(_ months: Int) -> CivilDate? {
        CivilDate.anchored(day: day, monthsAfter: months, year: year, month: month)
    }

    /// The date `monthsAfter` months after `year`-`month` on `day`, or on the month's last
    /// day when it is shorter: min(anchor, days in month). Due dates are computed this way
    /// from the start, never by adding one month at a time (which drifts to the 28th).
    public static func anchored(day anchor: Int, monthsAfter: Int, year: Int, month: Int) -> CivilDate? {
        let index = year * 12 + (month - 1) + monthsAfter
        guard index >= 12 else { return nil }
        let newYear = index / 12, newMonth = index % 12 + 1
        return CivilDate(year: newYear, month: newMonth, day: min(anchor, CivilDate.daysIn(month: newMonth, year: newYear)))
    }

    /// Parses `yyyy-MM-dd`.
    public init?(iso text: some StringProtocol) {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0].count == 4, parts[1].count == 2, parts[2].count == 2,
              let year = Int(parts[0]), let month = Int(parts[1]), let day = Int(parts[2]) else { return nil }
        self.init(year: year, month: month, day: day)
    }
}
