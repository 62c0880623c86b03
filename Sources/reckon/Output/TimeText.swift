import Foundation
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
