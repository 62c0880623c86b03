/// A calendar date with no time zone: business dates, due dates, booking dates.
public struct CivilDate: Hashable, Comparable, Sendable, CustomStringConvertible {
    // Packed: a date is copied with every record, so it stays four bytes.
    private let storedYear: Int16
    private let storedMonth: UInt8
    private let storedDay: UInt8

    public var year: Int { Int(storedYear) }
    public var month: Int { Int(storedMonth) }
    public var day: Int { Int(storedDay) }

    /// Returns nil unless the triple names a real day of the proleptic Gregorian calendar
    /// (years 1–9999).
    public init?(year: Int, month: Int, day: Int) {
        guard (1...9999).contains(year), (1...12).contains(month),
              day >= 1, day <= CivilDate.daysIn(month: month, year: year) else { return nil }
        storedYear = Int16(year)
        storedMonth = UInt8(month)
        storedDay = UInt8(day)
    }

    public static func isLeap(_ year: Int) -> Bool {
        (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
    }

    public static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: return isLeap(year) ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    public static func < (a: CivilDate, b: CivilDate) -> Bool {
        (a.year, a.month, a.day) < (b.year, b.month, b.day)
    }

    /// ISO 8601, `2024-11-15`.
    public var description: String {
        pad(year, 4) + "-" + pad(month, 2) + "-" + pad(day, 2)
    }

    /// Appends the ISO 8601 form (`2024-11-15`) to `buffer` without making a String.
    public func appendISO8601(to buffer: inout [UInt8]) {
        let year = self.year, month = self.month, day = self.day
        buffer.append(UInt8(truncatingIfNeeded: 0x30 + year / 1000))
        buffer.append(UInt8(truncatingIfNeeded: 0x30 + year / 100 % 10))
        buffer.append(UInt8(truncatingIfNeeded: 0x30 + year / 10 % 10))
        buffer.append(UInt8(truncatingIfNeeded: 0x30 + year % 10))
        buffer.append(UInt8(ascii: "-"))
        buffer.append(UInt8(truncatingIfNeeded: 0x30 + month / 10))
        buffer.append(UInt8(truncatingIfNeeded: 0x30 + month % 10))
        buffer.append(UInt8(ascii: "-"))
        buffer.append(UInt8(truncatingIfNeeded: 0x30 + day / 10))
        buffer.append(UInt8(truncatingIfNeeded: 0x30 + day % 10))
    }
}

/// A wall-clock time of day, to the nanosecond.
public struct TimeOfDay: Hashable, Comparable, Sendable, CustomStringConvertible {
    private let storedHour: UInt8
    private let storedMinute: UInt8
    private let storedSecond: UInt8
    private let storedNanosecond: UInt32

    public var hour: Int { Int(storedHour) }
    public var minute: Int { Int(storedMinute) }
    public var second: Int { Int(storedSecond) }
    public var nanosecond: Int { Int(storedNanosecond) }

    public init?(hour: Int, minute: Int, second: Int, nanosecond: Int = 0) {
        // A leap second (60) is accepted as partners' clocks print it.
        guard (0...23).contains(hour), (0...59).contains(minute), (0...60).contains(second),
              (0..<1_000_000_000).contains(nanosecond) else { return nil }
        storedHour = UInt8(hour)
        storedMinute = UInt8(minute)
        storedSecond = UInt8(second)
        storedNanosecond = UInt32(nanosecond)
    }

    public static func < (a: TimeOfDay, b: TimeOfDay) -> Bool {
        (a.hour, a.minute, a.second, a.nanosecond) < (b.hour, b.minute, b.second, b.nanosecond)
    }

    /// `HH:mm:ss`, with a fraction only when there is one.
    public var description: String {
        var text = pad(hour, 2) + ":" + pad(minute, 2) + ":" + pad(second, 2)
        if nanosecond != 0 {
            var fraction = pad(nanosecond, 9)
            while fraction.hasSuffix("0") { fraction.removeLast() }
            text += "." + fraction
        }
        return text
    }
}

/// A date and time as the partner wrote it, with its UTC offset when the file gave one.
public struct DateTime: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let date: CivilDate
    public let time: TimeOfDay
    private let storedOffset: Int16

    /// Minutes east of UTC; nil when the file gave local time without an offset.
    public var utcOffsetMinutes: Int? { storedOffset == .min ? nil : Int(storedOffset) }

    public init(date: CivilDate, time: TimeOfDay, utcOffsetMinutes: Int? = nil) {
        precondition(utcOffsetMinutes.map { abs($0) <= 18 * 60 } ?? true, "UTC offset out of range")
        self.date = date
        self.time = time
        storedOffset = utcOffsetMinutes.map(Int16.init) ?? .min
    }

    public static func < (a: DateTime, b: DateTime) -> Bool {
        (a.date, a.time) < (b.date, b.time)
    }

    /// ISO 8601, `2023-06-20T18:43:23+02:00`.
    public var description: String {
        var text = date.description + "T" + time.description
        if let offset = utcOffsetMinutes {
            if offset == 0 {
                text += "Z"
            } else {
                text += (offset < 0 ? "-" : "+") + pad(abs(offset) / 60, 2) + ":" + pad(abs(offset) % 60, 2)
            }
        }
        return text
    }
}

/// An exact decimal number: `units` × 10^-`scale`. Money read through a spec is a
/// `DecimalAmount` whose `units` are minor units (cents, fen) — never binary floating point.
public struct DecimalAmount: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// The value in units of 10^-scale: 3306 at scale 2 is 33.06.
    public let units: Int64
    private let storedScale: UInt8
    public var scale: Int { Int(storedScale) }

    public static let maxScale = 18

    public init(units: Int64, scale: Int) {
        precondition((0...DecimalAmount.maxScale).contains(scale), "decimal scale out of range")
        self.units = units
        storedScale = UInt8(scale)
    }

    /// The same value at a larger scale, or nil when it would not fit in 64 bits.
    public func rescaled(to newScale: Int) -> DecimalAmount? {
        precondition(newScale >= scale)
        var value = units
        for _ in scale..<newScale {
            let (product, overflow) = value.multipliedReportingOverflow(by: 10)
            if overflow { return nil }
            value = product
        }
        return DecimalAmount(units: value, scale: newScale)
    }

    /// Compares numerically, whatever the two scales.
    public static func < (a: DecimalAmount, b: DecimalAmount) -> Bool {
        let scale = max(a.scale, b.scale)
        guard let x = a.rescaled(to: scale), let y = b.rescaled(to: scale) else {
            // Only reachable near Int64's limits; fall back to comparing magnitudes coarsely.
            return a.units.signum() < b.units.signum()
        }
        return x.units < y.units
    }

    public func numericallyEquals(_ other: DecimalAmount) -> Bool {
        !(self < other) && !(other < self)
    }

    /// Plain decimal notation with exactly `scale` fraction digits: `-33.06`.
    public var description: String {
        let magnitude = units.magnitude
        var digits = String(magnitude)
        if scale > 0 {
            if digits.count <= scale {
                digits = String(repeating: "0", count: scale - digits.count + 1) + digits
            }
            digits.insert(".", at: digits.index(digits.endIndex, offsetBy: -scale))
        }
        return units < 0 ? "-" + digits : digits
    }
}

/// One field's value after it was read, trimmed, type-checked and validated.
public enum FieldValue: Hashable, Sendable, CustomStringConvertible {
    /// The field was blank (or one of its declared empty markers) and is not required.
    case empty
    case text(String)
    case integer(Int64)
    case decimal(DecimalAmount)
    case date(CivilDate)
    case time(TimeOfDay)
    case dateTime(DateTime)

    /// The canonical text form, as `spec check` prints it and `where:` filters compare it.
    public var description: String {
        switch self {
        case .empty: return ""
        case .text(let s): return s
        case .integer(let n): return String(n)
        case .decimal(let d): return d.description
        case .date(let d): return d.description
        case .time(let t): return t.description
        case .dateTime(let t): return t.description
        }
    }

    public var isEmpty: Bool {
        if case .empty = self { return true }
        return false
    }
}

@inline(__always)
func pad(_ value: Int, _ width: Int) -> String {
    let digits = String(value)
    return digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
}
