/// A cron expression's five fields, `minute hour day-of-month month day-of-week`, each `*`,
/// a number, a range `a-b`, a step `*/s`, `a-b/s` or `a/s` (from a to the field's end), or a
/// comma list of those. Day of week is 0–7, Sunday being 0 or 7.
///
/// As in Vixie cron (and POSIX): when both day of month and day of week are restricted (the
/// field does not start with `*`), a day matches when either does; otherwise both must.
public struct CronExpression: Sendable, Equatable, CustomStringConvertible {
    public enum Field: String, Sendable, CaseIterable {
        case minute, hour
        case dayOfMonth = "day of month"
        case month
        case dayOfWeek = "day of week"

        public var range: ClosedRange<Int> {
            switch self {
            case .minute: return 0...59
            case .hour: return 0...23
            case .dayOfMonth: return 1...31
            case .month: return 1...12
            case .dayOfWeek: return 0...7
            }
        }
    }

    /// The text as written.
    public let text: String
    // The allowed values of each field, one bit per value.
    let minutes: UInt64
    let hours: UInt64
    let daysOfMonth: UInt64
    let months: UInt64
    /// Bit 0 is Sunday (7 is folded into it).
    let daysOfWeek: UInt64
    /// Whether day of month, day of week are restricted (do not start with `*`).
    public let restrictsDayOfMonth: Bool
    public let restrictsDayOfWeek: Bool

    public var description: String { text }

    public init(_ text: String) throws(ScheduleError) {
        let parts = text.split(separator: " ", omittingEmptySubsequences: true)
        guard parts.count == 5 else {
            throw ScheduleError(text: text, field: nil,
                                reason: "a schedule has five fields, minute hour day-of-month month day-of-week (like '30 6 * * *'); this has \(parts.count)")
        }
        self.text = parts.joined(separator: " ")
        minutes = try Self.values(parts[0], .minute, text)
        hours = try Self.values(parts[1], .hour, text)
        daysOfMonth = try Self.values(parts[2], .dayOfMonth, text)
        months = try Self.values(parts[3], .month, text)
        let week = try Self.values(parts[4], .dayOfWeek, text)
        daysOfWeek = (week & 0x7F) | (week >> 7 & 1)
        restrictsDayOfMonth = !parts[2].hasPrefix("*")
        restrictsDayOfWeek = !parts[4].hasPrefix("*")
    }

    /// Whether the expression allows the minute (hour and minute fields).
    public func matches(hour: Int, minute: Int) -> Bool {
        hours >> UInt64(hour) & 1 == 1 && minutes >> UInt64(minute) & 1 == 1
    }

    /// Whether the expression allows the day (day of month, month, day of week).
    public func matches(_ day: CivilDate) -> Bool {
        guard months >> UInt64(day.month) & 1 == 1 else { return false }
        let byMonthDay = daysOfMonth >> UInt64(day.day) & 1 == 1
        let byWeekDay = daysOfWeek >> UInt64(day.isoWeekday % 7) & 1 == 1
        if restrictsDayOfMonth && restrictsDayOfWeek { return byMonthDay || byWeekDay }
        return byMonthDay && byWeekDay
    }

    /// The first allowed minute of a day after `minuteOfDay` (-1: from midnight on).
    func firstTime(after minuteOfDay: Int) -> (hour: Int, minute: Int)? {
        var hour = max(0, (minuteOfDay + 1) / 60)
        var fromMinute = minuteOfDay < 0 ? 0 : (minuteOfDay + 1) % 60
        while hour < 24 {
            if hours >> UInt64(hour) & 1 == 1 {
                let left = (minutes >> UInt64(fromMinute)) << UInt64(fromMinute)
                if left != 0 { return (hour, left.trailingZeroBitCount) }
            }
            hour += 1
            fromMinute = 0
        }
        return nil
    }

    private static func values(_ field: Substring, _ which: Field, _ whole: String) throws(ScheduleError) -> UInt64 {
        func fail(_ reason: String) -> ScheduleError { ScheduleError(text: whole, field: which, reason: reason) }
        let range = which.range
        func number(_ text: Substring) throws(ScheduleError) -> Int {
            guard !text.isEmpty, text.allSatisfy({ $0.isASCII && $0.isNumber }), let value = Int(text) else {
                throw fail("'\(text)' is not a number")
            }
            guard range.contains(value) else { throw fail("\(value) is out of range \(range.lowerBound)-\(range.upperBound)") }
            return value
        }
        var bits: UInt64 = 0
        for item in field.split(separator: ",", omittingEmptySubsequences: false) {
            guard !item.isEmpty else { throw fail("'\(field)' has an empty list item") }
            let pieces = item.split(separator: "/", omittingEmptySubsequences: false)
            guard pieces.count <= 2 else { throw fail("'\(item)' has two steps") }
            var step = 1
            if pieces.count == 2 {
                guard let value = Int(pieces[1]), pieces[1].allSatisfy({ $0.isASCII && $0.isNumber }) else {
                    throw fail("step '\(pieces[1])' is not a number")
                }
                guard value >= 1 && value <= range.upperBound else { throw fail("step \(value) is out of range 1-\(range.upperBound)") }
                step = value
            }
            let base = pieces[0]
            var low: Int, high: Int
            if base == "*" {
                (low, high) = (range.lowerBound, range.upperBound)
            } else if let dash = base.firstIndex(of: "-") {
                low = try number(base[..<dash])
                high = try number(base[base.index(after: dash)...])
                guard low <= high else { throw fail("range \(low)-\(high) runs backwards") }
            } else {
                low = try number(base)
                high = pieces.count == 2 ? range.upperBound : low
            }
            for value in stride(from: low, through: high, by: step) { bits |= 1 << UInt64(value) }
        }
        return bits
    }
}

/// A schedule that cannot be used: the text, the field and why.
public struct ScheduleError: Error, Sendable, Equatable, CustomStringConvertible {
    public let text: String
    /// The cron field at fault; nil for the expression as a whole or its `days:`.
    public let field: CronExpression.Field?
    public let reason: String

    public init(text: String, field: CronExpression.Field?, reason: String) {
        self.text = text
        self.field = field
        self.reason = reason
    }

    /// `schedule '61 6 * * *': minute: 61 is out of range 0-59`.
    public var description: String {
        "schedule '\(text)': " + (field.map { "\($0.rawValue): " } ?? "") + reason
    }
}
