/// A date or time layout such as `yyyyMMdd`, `yyMMdd`, `yyyy-MM-dd HH:mm:ss` or `HHmm`,
/// compiled once when a spec loads and applied to ASCII bytes with no allocation.
///
/// Tokens: `yyyy` `yy` (2000–2069 / 1970–1999) `MM` `dd` `HH` `mm` `ss`, `S…` (exactly that
/// many fraction digits), `XXX` (`Z` or `±HH:MM`), `'text'` for literal letters; any other
/// non-letter is a literal. The name `iso8601` accepts `yyyy-MM-dd` for dates and
/// `yyyy-MM-ddTHH:mm:ss` with an optional fraction and optional offset for date-times;
/// as a date it also takes a date-time and keeps the day as written (camt's `DtTm` where a
/// `Dt` may be). The name `ofx` reads OFX dates, `yyyyMMdd[HHmmss[.XXX]][[±H[.h][:TZ]]]` such as
/// `20241216120000.000[-5:EST]`: the time and the bracketed offset (hours, a decimal
/// fraction allowed, and an optional zone name) are optional. As a date it is the day as
/// written (the bank's own day); as a date-time a missing time is midnight and a missing
/// offset is GMT, as the OFX specification says.
public struct DateTimeFormat: Hashable, Sendable, CustomStringConvertible {
    enum Token: Hashable, Sendable {
        case year4, year2, month, day, hour, minute, second
        case fraction(digits: Int)
        case optionalFraction
        case offset
        case optionalOffset
        /// ISO 8601 dates: an optional `THH:mm:ss[.f][offset]`, read and dropped.
        case isoTimeSuffix
        /// OFX: optional `HHmmss` with an optional fraction; midnight when absent.
        case ofxTime
        /// OFX: optional `[±H[.h][:TZ]]`; GMT when absent.
        case ofxZone
        case literal(UInt8)
        /// Reads nothing: a day past its month's end (up to 31) is the month's last day
        /// (`month_end: true`: 30 February, as banks that count 30 days a month write it).
        case dayToMonthEnd
    }

    public let pattern: String
    let tokens: [Token]
    /// Exact width in bytes, when the layout has no optional parts.
    public let fixedWidth: Int?

    public var description: String { pattern }

    public var hasDate: Bool { tokens.contains(.year4) || tokens.contains(.year2) }
    public var hasTime: Bool { tokens.contains(.hour) || tokens.contains(.ofxTime) }

    /// What a field of this type must hold.
    public enum Content: Sendable { case date, time, dateTime }

    /// `yearFromAnotherField`: a date may be written without its year (`MMdd`); it parses
    /// in the leap year 2000 and the record takes the year from another field (`year_from:`).
    /// This layout with days past the end of their month read as the month's last day.
    public func readingDaysToMonthEnd() -> DateTimeFormat {
        DateTimeFormat(pattern: pattern, tokens: tokens + [.dayToMonthEnd], fixedWidth: fixedWidth)
    }

    private init(pattern: String, tokens: [Token], fixedWidth: Int?) {
        self.pattern = pattern
        self.tokens = tokens
        self.fixedWidth = fixedWidth
    }

    public init(pattern: String, content: Content, yearFromAnotherField: Bool = false) throws(DateTimeFormatError) {
        self.pattern = pattern
        if pattern == "iso8601" {
            switch content {
            // A date may be written with its time (ISO 20022's DtTm where a Dt could be): the day as written.
            case .date: tokens = Self.compile("yyyy-MM-dd") + [.isoTimeSuffix]
            case .time: tokens = Self.compile("HH:mm:ss") + [.optionalFraction]
            case .dateTime: tokens = Self.compile("yyyy-MM-dd'T'HH:mm:ss") + [.optionalFraction, .optionalOffset]
            }
        } else if pattern == "ofx" {
            guard content != .time else { throw .wrongContent(pattern, "ofx is a date or date-time layout") }
            tokens = [.year4, .month, .day, .ofxTime, .ofxZone]
            fixedWidth = nil
            return
        } else {
            var tokens: [Token] = []
            var chars = Array(pattern.utf8)[...]
            while let c = chars.first {
                if c == UInt8(ascii: "'") {
                    chars.removeFirst()
                    guard let end = chars.firstIndex(of: UInt8(ascii: "'")) else {
                        throw .unterminatedQuote(pattern)
                    }
                    tokens += chars[chars.startIndex..<end].map { .literal($0) }
                    chars = chars[(end + 1)...]
                    continue
                }
                let run = chars.prefix { $0 == c }.count
                let isLetter = (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A)
                if !isLetter {
                    guard c < 0x80 else { throw .nonASCII(pattern) }
                    tokens.append(.literal(c))
                    chars.removeFirst()
                    continue
                }
                let token: Token
                switch (Character(UnicodeScalar(c)), run) {
                case ("y", 4): token = .year4
                case ("y", 2): token = .year2
                case ("M", 2): token = .month
                case ("d", 2): token = .day
                case ("H", 2): token = .hour
                case ("m", 2): token = .minute
                case ("s", 2): token = .second
                case ("S", 1...9): token = .fraction(digits: run)
                case ("X", 3): token = .offset
                default:
                    throw .unknownToken(String(repeating: Character(UnicodeScalar(c)), count: run), pattern)
                }
                tokens.append(token)
                chars.removeFirst(run)
            }
            self.tokens = tokens
        }
        let hasDate = tokens.contains(.year4) || tokens.contains(.year2)
        let dateComplete = hasDate && tokens.contains(.month) && tokens.contains(.day)
        let hasTime = tokens.contains(.hour)
        let timeComplete = hasTime && tokens.contains(.minute)
        switch content {
        case .date:
            let monthDay = yearFromAnotherField && !hasDate && tokens.contains(.month) && tokens.contains(.day)
            guard dateComplete || monthDay, !hasTime else {
                throw .wrongContent(pattern, "a date needs year, month and day and no time"
                    + (!hasDate && !hasTime ? " (a date written without its year takes it from another field: year_from)" : ""))
            }
        case .time:
            guard timeComplete, !hasDate else { throw .wrongContent(pattern, "a time needs hour and minute and no date") }
        case .dateTime:
            guard dateComplete, timeComplete else { throw .wrongContent(pattern, "a date-time needs year, month, day, hour and minute") }
        }
        let parts = tokens.filter {
            if case .literal = $0 { return false }
            return true
        }
        if Set(parts).count != parts.count { throw .repeatedToken(pattern) }
        var width = 0
        var fixed = true
        for token in tokens {
            switch token {
            case .year4: width += 4
            case .year2, .month, .day, .hour, .minute, .second: width += 2
            case .fraction(let n): width += n
            case .offset, .optionalFraction, .optionalOffset, .ofxTime, .ofxZone, .isoTimeSuffix: fixed = false
            case .literal: width += 1
            case .dayToMonthEnd: break
            }
        }
        fixedWidth = fixed ? width : nil
    }

    private static func compile(_ pattern: String) -> [Token] {
        // Only called with the fixed iso8601 layouts above, which always compile.
        (try? DateTimeFormat(pattern: pattern, content: pattern.contains("H") && pattern.contains("y") ? .dateTime : pattern.contains("H") ? .time : .date).tokens) ?? []
    }

    /// The parts read from one value.
    public struct Parts: Sendable {
        public var date: CivilDate?
        public var time: TimeOfDay?
        public var utcOffsetMinutes: Int?
    }

    /// Parses ASCII bytes; nil when they do not fit the layout or name no real date/time.
    public func parse(_ bytes: UnsafeRawBufferPointer) -> Parts? {
        tokens.withUnsafeBufferPointer { Self.parse(bytes, tokens: $0) }
    }

    /// The parse itself, over tokens the caller keeps alive (readers hold them in plain
    /// memory so the per-value loop does no reference counting).
    static func parse(_ bytes: UnsafeRawBufferPointer, tokens: UnsafeBufferPointer<Token>) -> Parts? {
        var i = 0
        let n = bytes.count
        // A date without a year (`MMdd`, with `year_from`) parses in the leap year 2000.
        var year = 2000, month = 0, day = 0, hour = 0, minute = 0, second = 0, nanos = 0
        var offset: Int?
        var hasDate = false, hasTime = false
        @inline(__always) func digits(_ count: Int) -> Int? {
            guard i + count <= n else { return nil }
            var value = 0
            for k in 0..<count {
                let d = bytes[i + k] &- 0x30
                if d > 9 { return nil }
                value = value * 10 + Int(d)
            }
            i += count
            return value
        }
        @inline(__always) func fraction(_ count: Int) -> Int? {
            guard let value = digits(count) else { return nil }
            var scaled = value
            for _ in count..<9 { scaled *= 10 }
            return scaled
        }

        for token in tokens {
            switch token {
            case .year4: guard let v = digits(4) else { return nil }; year = v; hasDate = true
            case .year2: guard let v = digits(2) else { return nil }; year = v < 70 ? 2000 + v : 1900 + v; hasDate = true
            case .month: guard let v = digits(2) else { return nil }; month = v; hasDate = true
            case .day: guard let v = digits(2) else { return nil }; day = v
            case .hour: guard let v = digits(2) else { return nil }; hour = v; hasTime = true
            case .minute: guard let v = digits(2) else { return nil }; minute = v
            case .second: guard let v = digits(2) else { return nil }; second = v
            case .fraction(let count): guard let v = fraction(count) else { return nil }; nanos = v
            case .optionalFraction:
                if i < n, bytes[i] == UInt8(ascii: ".") || bytes[i] == UInt8(ascii: ",") {
                    i += 1
                    var count = 0
                    while i + count < n, bytes[i + count] &- 0x30 <= 9 { count += 1 }
                    guard (1...9).contains(count), let v = fraction(count) else { return nil }
                    nanos = v
                }
            case .offset, .optionalOffset:
                if i < n, bytes[i] == UInt8(ascii: "Z") {
                    i += 1
                    offset = 0
                } else if i < n, bytes[i] == UInt8(ascii: "+") || bytes[i] == UInt8(ascii: "-") {
                    let negative = bytes[i] == UInt8(ascii: "-")
                    i += 1
                    guard let h = digits(2) else { return nil }
                    if i < n, bytes[i] == UInt8(ascii: ":") { i += 1 }
                    guard let m = digits(2), h <= 18, m <= 59 else { return nil }
                    offset = (negative ? -1 : 1) * (h * 60 + m)
                } else if case .offset = token {
                    return nil
                }
            case .isoTimeSuffix:
                if i < n, bytes[i] == UInt8(ascii: "T") {
                    i += 1
                    guard let h = digits(2), i < n, bytes[i] == UInt8(ascii: ":") else { return nil }
                    i += 1
                    guard let m = digits(2), i < n, bytes[i] == UInt8(ascii: ":") else { return nil }
                    i += 1
                    guard let s = digits(2), TimeOfDay(hour: h, minute: m, second: s, nanosecond: 0) != nil else { return nil }
                    if i < n, bytes[i] == UInt8(ascii: ".") || bytes[i] == UInt8(ascii: ",") {
                        i += 1
                        var count = 0
                        while i + count < n, bytes[i + count] &- 0x30 <= 9 { count += 1 }
                        guard (1...9).contains(count) else { return nil }
                        i += count
                    }
                    if i < n, bytes[i] == UInt8(ascii: "Z") {
                        i += 1
                    } else if i < n, bytes[i] == UInt8(ascii: "+") || bytes[i] == UInt8(ascii: "-") {
                        i += 1
                        guard let oh = digits(2) else { return nil }
                        if i < n, bytes[i] == UInt8(ascii: ":") { i += 1 }
                        guard let om = digits(2), oh <= 18, om <= 59 else { return nil }
                    }
                }
            case .ofxTime:
                hasTime = true
                if i < n, bytes[i] &- 0x30 <= 9 {
                    guard let h = digits(2), let m = digits(2), let s = digits(2) else { return nil }
                    hour = h; minute = m; second = s
                    if i < n, bytes[i] == UInt8(ascii: ".") {
                        i += 1
                        var count = 0
                        while i + count < n, bytes[i + count] &- 0x30 <= 9 { count += 1 }
                        guard (1...9).contains(count), let v = fraction(count) else { return nil }
                        nanos = v
                    }
                }
            case .ofxZone:
                offset = 0
                if i < n, bytes[i] == UInt8(ascii: "[") {
                    guard let minutes = ofxOffset(bytes, from: &i) else { return nil }
                    offset = minutes
                }
            case .literal(let c):
                guard i < n, bytes[i] == c else { return nil }
                i += 1
            case .dayToMonthEnd:
                if (1...12).contains(month), day <= 31 { day = min(day, CivilDate.daysIn(month: month, year: year)) }
            }
        }
        guard i == n else { return nil }
        var parts = Parts()
        if hasDate {
            guard let date = CivilDate(year: year, month: month, day: day) else { return nil }
            parts.date = date
        }
        if hasTime {
            guard let time = TimeOfDay(hour: hour, minute: minute, second: second, nanosecond: nanos) else { return nil }
            parts.time = time
        }
        parts.utcOffsetMinutes = offset
        return parts
    }

    /// An OFX offset `[-5:EST]`, `[+5.5:IST]`, `[0]` from the `[` at `i` to its `]`, in
    /// minutes east of GMT; nil when it is not one or not a whole number of minutes.
    private static func ofxOffset(_ bytes: UnsafeRawBufferPointer, from i: inout Int) -> Int? {
        let n = bytes.count
        i += 1
        var negative = false
        if i < n, bytes[i] == UInt8(ascii: "-") || bytes[i] == UInt8(ascii: "+") {
            negative = bytes[i] == UInt8(ascii: "-")
            i += 1
        }
        var hours = 0, count = 0
        while i < n, bytes[i] &- 0x30 <= 9, count < 2 { hours = hours * 10 + Int(bytes[i] &- 0x30); i += 1; count += 1 }
        guard count > 0 else { return nil }
        // A decimal fraction of an hour: 5.5 is 5:30, 5.75 is 5:45.
        var fractionMinutes = 0
        if i < n, bytes[i] == UInt8(ascii: ".") {
            i += 1
            var numerator = 0, denominator = 1
            while i < n, bytes[i] &- 0x30 <= 9, denominator < 10_000 {
                numerator = numerator * 10 + Int(bytes[i] &- 0x30); denominator *= 10; i += 1
            }
            guard denominator > 1, (numerator * 60) % denominator == 0 else { return nil }
            fractionMinutes = numerator * 60 / denominator
        }
        if i < n, bytes[i] == UInt8(ascii: ":") {
            i += 1
            var nameLength = 0
            while i < n, bytes[i] != UInt8(ascii: "]") {
                let c = bytes[i]
                let isNameByte = (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || c &- 0x30 <= 9
                    || c == UInt8(ascii: "_") || c == UInt8(ascii: "/") || c == UInt8(ascii: "+") || c == UInt8(ascii: "-")
                guard isNameByte, nameLength < 32 else { return nil }
                nameLength += 1
                i += 1
            }
        }
        guard i < n, bytes[i] == UInt8(ascii: "]") else { return nil }
        i += 1
        let minutes = hours * 60 + fractionMinutes
        guard minutes <= 18 * 60 else { return nil }
        return negative ? -minutes : minutes
    }

    /// OFX's time part, `HHmmss.SSS`; nothing without a time.
    static func ofxTimeText(_ time: TimeOfDay?) -> String {
        guard let time else { return "" }
        return pad(time.hour, 2) + pad(time.minute, 2) + pad(time.second, 2) + "." + String(pad(time.nanosecond, 9).prefix(3))
    }

    /// OFX's offset, `[-5]`, `[+5.5]`: hours as a decimal, as the reader takes them.
    static func ofxZoneText(time: TimeOfDay?, utcOffsetMinutes: Int?) -> String {
        guard time != nil, let offset = utcOffsetMinutes else { return "" }
        let hours = abs(offset) / 60, minutes = abs(offset) % 60
        var text = String(hours)
        if minutes != 0 {
            var digits = pad(minutes * 1_000_000 / 60, 6)
            while digits.hasSuffix("0") { digits.removeLast() }
            text += "." + digits
        }
        return "[" + (offset < 0 ? "-" : "+") + text + "]"
    }

    /// Writes a value in this layout (the inverse of `parse`).
    public func render(date: CivilDate?, time: TimeOfDay?, utcOffsetMinutes: Int?) -> String {
        var out = ""
        for token in tokens {
            switch token {
            case .year4: out += pad(date?.year ?? 0, 4)
            case .year2: out += pad((date?.year ?? 0) % 100, 2)
            case .month: out += pad(date?.month ?? 0, 2)
            case .day: out += pad(date?.day ?? 0, 2)
            case .hour: out += pad(time?.hour ?? 0, 2)
            case .minute: out += pad(time?.minute ?? 0, 2)
            case .second: out += pad(time?.second ?? 0, 2)
            case .fraction(let count):
                out += String(pad(time?.nanosecond ?? 0, 9).prefix(count))
            case .optionalFraction:
                if let nanos = time?.nanosecond, nanos != 0 {
                    var digits = pad(nanos, 9)
                    while digits.hasSuffix("0") { digits.removeLast() }
                    out += "." + digits
                }
            case .offset, .optionalOffset:
                if let offset = utcOffsetMinutes {
                    if offset == 0 {
                        out += "Z"
                    } else {
                        out += (offset < 0 ? "-" : "+") + pad(abs(offset) / 60, 2) + ":" + pad(abs(offset) % 60, 2)
                    }
                } else if token == .offset {
                    out += "Z"
                }
            case .isoTimeSuffix, .dayToMonthEnd: break
            case .ofxTime: out += Self.ofxTimeText(time)
            case .ofxZone: out += Self.ofxZoneText(time: time, utcOffsetMinutes: utcOffsetMinutes)
            case .literal(let c): out.unicodeScalars.append(UnicodeScalar(c))
            }
        }
        return out
    }
}

public enum DateTimeFormatError: Error, Equatable, Sendable, CustomStringConvertible {
    case unknownToken(String, String)
    case unterminatedQuote(String)
    case nonASCII(String)
    case wrongContent(String, String)
    case repeatedToken(String)

    public var description: String {
        switch self {
        case .unknownToken(let token, let pattern):
            return "unknown token '\(token)' in format '\(pattern)' (use yyyy yy MM dd HH mm ss S… XXX, or iso8601)"
        case .unterminatedQuote(let pattern): return "unterminated quote in format '\(pattern)'"
        case .nonASCII(let pattern): return "format '\(pattern)' has a non-ASCII literal; quote it or use a plain layout"
        case .wrongContent(let pattern, let why): return "format '\(pattern)' does not fit: \(why)"
        case .repeatedToken(let pattern): return "format '\(pattern)' names the same part twice"
        }
    }
}
