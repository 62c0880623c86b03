import Foundation

/// A wall-clock minute in the configuration's time zone (`2026-12-01 09:30`): what a task's
/// schedule is written in. Schedules are minute-precise, so seconds are not kept.
public struct LocalDateTime: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let date: CivilDate
    /// 0–23.
    public let hour: Int
    /// 0–59.
    public let minute: Int

    public init?(date: CivilDate, hour: Int, minute: Int) {
        guard (0...23).contains(hour), (0...59).contains(minute) else { return nil }
        self.date = date
        self.hour = hour
        self.minute = minute
    }

    /// Minutes since the day began.
    public var minuteOfDay: Int { hour * 60 + minute }

    public static func < (a: LocalDateTime, b: LocalDateTime) -> Bool {
        (a.date, a.minuteOfDay) < (b.date, b.minuteOfDay)
    }

    /// `2026-12-01 09:30`.
    public var description: String {
        date.description + " " + (hour < 10 ? "0" : "") + String(hour) + ":" + (minute < 10 ? "0" : "") + String(minute)
    }

    /// The next minute (nil past year 9999).
    public func addingMinute() -> LocalDateTime? {
        if minuteOfDay < 24 * 60 - 1 {
            return LocalDateTime(date: date, hour: (minuteOfDay + 1) / 60, minute: (minuteOfDay + 1) % 60)
        }
        return date.adding(days: 1).flatMap { LocalDateTime(date: $0, hour: 0, minute: 0) }
    }

    /// The minute `moment` falls in, on the wall clock of `timeZone`.
    public init(_ moment: Date, in timeZone: TimeZone) {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        let parts = calendar.dateComponents([.year, .month, .day, .hour, .minute], from: moment)
        date = CivilDate(year: parts.year!, month: parts.month!, day: parts.day!)!
        hour = parts.hour!
        minute = parts.minute!
    }

    /// The moment this wall-clock minute begins in `timeZone`. A minute a daylight-saving
    /// change skips is taken as the first minute after the gap (Foundation's choice).
    public func moment(in timeZone: TimeZone) -> Date {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        let parts = DateComponents(year: date.year, month: date.month, day: date.day, hour: hour, minute: minute)
        return calendar.date(from: parts)!
    }
}
