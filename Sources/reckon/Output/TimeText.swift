import Foundation
import ReckonCore
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Times for people. The ledger stores UTC (`2024-12-16T01:00:01Z`) and JSON gives it as
/// stored; text shows the local time with its offset (`2024-12-16 09:00:01 +08:00`, from
/// `TZ` or the system's zone), the same form everywhere: runs, decisions, files received,
/// progress lines. Messages the ledger keeps (alerts, run summaries) keep the UTC they were
/// written with.
enum TimeText {
    /// `2024-12-16T01:00:01Z` as `2024-12-16 09:00:01 +08:00`; anything else as it is.
    static func local(_ stored: String) -> String {
        guard let seconds = epochSeconds(stored) else { return stored }
        return local(seconds)
    }

    static func local(_ seconds: Int) -> String {
        let parts = localParts(seconds)
        return "\(date(parts)) \(clock(parts)) \(offset(parts))"
    }

    /// The time of day with its offset: `09:00:02 +08:00`.
    static func clock(_ date: Date) -> String {
        let parts = localParts(Int(date.timeIntervalSince1970))
        return "\(clock(parts)) \(offset(parts))"
    }

    /// `started 2024-12-16 09:00:01 +08:00, finished 09:00:04 (3 s)`, the finishing day
    /// repeated when it is another; only the start while there is no end.
    static func span(started: String, finished: String?) -> String {
        guard let start = epochSeconds(started) else { return "started \(started)" + (finished.map { ", finished \($0)" } ?? "") }
        var text = "started \(local(start))"
        guard let finished else { return text }
        guard let end = epochSeconds(finished) else { return text + ", finished \(finished)" }
        let (a, b) = (localParts(start), localParts(end))
        let sameDay = date(a) == date(b) && offset(a) == offset(b)
        text += ", finished " + (sameDay ? clock(b) : local(end)) + " (\(duration(end - start)))"
        return text
    }

    /// Whole seconds between two stored times.
    static func seconds(from started: String, to finished: String?) -> Int? {
        guard let start = epochSeconds(started), let finished, let end = epochSeconds(finished) else { return nil }
        return end - start
    }

    /// `under 1 s`, `3 s`, `2 min 05 s`, `1 h 02 min`.
    static func duration(_ seconds: Int) -> String {
        func two(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
        switch seconds {
        case ..<1: return "under 1 s"
        case ..<60: return "\(seconds) s"
        case ..<3600: return "\(seconds / 60) min \(two(seconds % 60)) s"
        default: return "\(seconds / 3600) h \(two(seconds / 60 % 60)) min"
        }
    }

    /// Now, as the ledger stores times: `2024-12-16T01:00:01Z`.
    static func storedNow() -> String { stored(Int(time(nil))) }

    /// Seconds since 1970 as stored: `2024-12-16T01:00:01Z`.
    static func stored(_ seconds: Int) -> String {
        var time = time_t(seconds)
        var parts = tm()
        gmtime_r(&time, &parts)
        return "\(date(parts))T\(clock(parts))Z"
    }

    /// A time given on the command line, as stored (UTC): `2024-12-16` or `20241216` (the
    /// start of that day), `2024-12-16T09:30`, `2024-12-16 09:30:15`; local time (`TZ`, or
    /// the system's zone) unless it ends in `Z` or an offset (`+08:00`, `+0800`, `+08`).
    /// Nil for anything else, or a date or time that does not exist.
    static func stored(fromArgument argument: String) -> String? {
        var text = Substring(argument.trimmingCharacters(in: .whitespaces))
        if text.count == 8, text.allSatisfy(\.isASCII), text.allSatisfy(\.isNumber) {
            text = "\(text.prefix(4))-\(text.dropFirst(4).prefix(2))-\(text.suffix(2))"
        }
        func number(_ part: Substring) -> Int32? {
            guard !part.isEmpty, part.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
            return Int32(part)
        }
        let dateParts = text.prefix(10).split(separator: "-", omittingEmptySubsequences: false)
        guard dateParts.count == 3, dateParts[0].count == 4, dateParts[1].count == 2, dateParts[2].count == 2,
              let year = number(dateParts[0]), let month = number(dateParts[1]), let day = number(dateParts[2]),
              CivilDate(year: Int(year), month: Int(month), day: Int(day)) != nil else { return nil }
        var parts = tm()
        parts.tm_year = year - 1900
        parts.tm_mon = month - 1
        parts.tm_mday = day
        var rest = text.dropFirst(10)
        if let separator = rest.first {
            guard separator == "T" || separator == " " else { return nil }
            rest = rest.dropFirst()
            let clockText = rest.prefix { $0.isNumber || $0 == ":" }
            rest = rest.dropFirst(clockText.count)
            let clock = clockText.split(separator: ":", omittingEmptySubsequences: false)
            guard (2...3).contains(clock.count), clock.allSatisfy({ $0.count == 2 }),
                  let hour = number(clock[0]), let minute = number(clock[1]), hour < 24, minute < 60 else { return nil }
            let second = clock.count == 3 ? number(clock[2]) : 0
            guard let second, second < 60 else { return nil }
            parts.tm_hour = hour
            parts.tm_min = minute
            parts.tm_sec = second
        }
        if rest.isEmpty {
            parts.tm_isdst = -1
            let seconds = mktime(&parts)
            return seconds == -1 ? nil : stored(Int(seconds))
        }
        var offsetMinutes = 0
        if rest != "Z" {
            guard let sign = rest.first, sign == "+" || sign == "-" else { return nil }
            let offset = Array(rest.dropFirst())
            // HH, HHMM or HH:MM.
            guard [2, 4, 5].contains(offset.count), offset.count != 5 || offset[2] == ":" else { return nil }
            let digits = String(offset.filter { $0 != ":" })
            guard digits.count == offset.count - (offset.count == 5 ? 1 : 0),
                  let hours = number(Substring(digits.prefix(2))), let minutes = digits.count == 4 ? number(Substring(digits.suffix(2))) : 0,
                  hours < 24, minutes < 60 else { return nil }
            offsetMinutes = (sign == "-" ? -1 : 1) * Int(hours * 60 + minutes)
        }
        return stored(Int(timegm(&parts)) - offsetMinutes * 60)
    }

    /// Seconds since 1970 of `YYYY-MM-DDTHH:MM:SSZ`.
    static func epochSeconds(_ stored: String) -> Int? {
        let bytes = Array(stored.utf8)
        guard bytes.count == 20, bytes[4] == UInt8(ascii: "-"), bytes[7] == UInt8(ascii: "-"), bytes[10] == UInt8(ascii: "T"),
              bytes[13] == UInt8(ascii: ":"), bytes[16] == UInt8(ascii: ":"), bytes[19] == UInt8(ascii: "Z") else { return nil }
        func number(_ range: Range<Int>) -> Int32? {
            var value: Int32 = 0
            for byte in bytes[range] {
                guard (48...57).contains(byte) else { return nil }
                value = value * 10 + Int32(byte - 48)
            }
            return value
        }
        guard let year = number(0..<4), let month = number(5..<7), let day = number(8..<10),
              let hour = number(11..<13), let minute = number(14..<16), let second = number(17..<19) else { return nil }
        var parts = tm()
        parts.tm_year = year - 1900
        parts.tm_mon = month - 1
        parts.tm_mday = day
        parts.tm_hour = hour
        parts.tm_min = minute
        parts.tm_sec = second
        return Int(timegm(&parts))
    }

    private static func localParts(_ seconds: Int) -> tm {
        var time = time_t(seconds)
        var parts = tm()
        localtime_r(&time, &parts)
        return parts
    }

    private static func two(_ n: Int32) -> String { n < 10 ? "0\(n)" : "\(n)" }

    private static func date(_ parts: tm) -> String {
        "\(parts.tm_year + 1900)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday))"
    }

    private static func clock(_ parts: tm) -> String {
        "\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec))"
    }

    /// `+08:00`, `-03:30`, `+00:00`.
    private static func offset(_ parts: tm) -> String {
        let minutes = Int32(parts.tm_gmtoff / 60)
        return (minutes < 0 ? "-" : "+") + two(abs(minutes) / 60) + ":" + two(abs(minutes) % 60)
    }
}
