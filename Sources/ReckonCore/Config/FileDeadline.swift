import Foundation

/// By when an expected file of a business day must be complete (`expected: {…, by: "08:30"}`):
/// a time of day in the configuration's time zone (`timezone:`), on the business day itself,
/// the calendar day after (`next-day 08:30`) or the next working day of the calendar
/// (`next-working-day 08:30`). Pure: the instant is worked out from the day, the calendar's
/// answer and the time zone.
public struct FileDeadline: Sendable, Equatable, CustomStringConvertible {
    public enum Day: String, Sendable, CaseIterable {
        case sameDay = "same-day"
        case nextDay = "next-day"
        case nextWorkingDay = "next-working-day"
    }

    public let day: Day
    public let hour: Int
    public let minute: Int

    public init?(day: Day = .sameDay, hour: Int, minute: Int) {
        guard (0...23).contains(hour), (0...59).contains(minute) else { return nil }
        self.day = day
        self.hour = hour
        self.minute = minute
    }

    /// `08:30`, `next-day 08:30`, `next-working-day 08:30`; nil when it is none of them.
    public init?(text: String) {
        let parts = text.split(separator: " ", omittingEmptySubsequences: true)
        guard (1...2).contains(parts.count) else { return nil }
        var day = Day.sameDay
        if parts.count == 2 {
            guard let named = Day(rawValue: String(parts[0])) else { return nil }
            day = named
        }
        let clock = parts[parts.count - 1].split(separator: ":", omittingEmptySubsequences: false)
        guard clock.count == 2, clock[0].count == 2, clock[1].count == 2,
              clock.allSatisfy({ $0.allSatisfy(\.isASCII) && $0.allSatisfy(\.isNumber) }),
              let hour = Int(clock[0]), let minute = Int(clock[1]) else { return nil }
        self.init(day: day, hour: hour, minute: minute)
    }

    /// `08:30`, `next-day 08:30`: as written in reckon.yaml.
    public var description: String {
        let clock = (hour < 10 ? "0" : "") + "\(hour):" + (minute < 10 ? "0" : "") + "\(minute)"
        return day == .sameDay ? clock : "\(day.rawValue) \(clock)"
    }

    /// The local day the deadline falls on for `date`'s file; nil past the calendar's range.
    public func localDay(for date: CivilDate, isWorkingDay: (CivilDate) -> Bool) -> CivilDate? {
        switch day {
        case .sameDay: return date
        case .nextDay: return date.adding(days: 1)
        case .nextWorkingDay:
            var next = date.adding(days: 1)
            // A year's holidays never run past a few weeks: the bound only stops a broken calendar.
            for _ in 0..<60 {
                guard let candidate = next else { return nil }
                if isWorkingDay(candidate) { return candidate }
                next = candidate.adding(days: 1)
            }
            return nil
        }
    }

    /// The instant the deadline of `date`'s file passes, in `timeZone`.
    public func instant(for date: CivilDate, isWorkingDay: (CivilDate) -> Bool, timeZone: TimeZone) -> Date? {
        guard let local = localDay(for: date, isWorkingDay: isWorkingDay) else { return nil }
        return FileDeadline.instant(local, hour: hour, minute: minute, timeZone: timeZone)
    }

    /// A local day and time in `timeZone` as an instant.
    public static func instant(_ day: CivilDate, hour: Int, minute: Int, timeZone: TimeZone) -> Date? {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        return calendar.date(from: DateComponents(year: day.year, month: day.month, day: day.day, hour: hour, minute: minute))
    }

    /// The local day of an instant in `timeZone`.
    public static func localDay(of instant: Date, timeZone: TimeZone) -> CivilDate? {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        let parts = calendar.dateComponents([.year, .month, .day], from: instant)
        guard let year = parts.year, let month = parts.month, let day = parts.day else { return nil }
        return CivilDate(year: year, month: month, day: day)
    }

    /// `2024-12-17 08:30 Asia/Shanghai`: the deadline of `date`'s file, for people.
    public func text(for date: CivilDate, isWorkingDay: (CivilDate) -> Bool, timeZone: TimeZone) -> String {
        let local = localDay(for: date, isWorkingDay: isWorkingDay).map(\.description) ?? "?"
        let clock = FileDeadline(day: .sameDay, hour: hour, minute: minute)!.description
        return "\(local) \(clock) \(timeZone.identifier)"
    }
}
