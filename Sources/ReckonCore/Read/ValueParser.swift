/// Field values from bytes: trimming, affixes, empty markers, then the typed parse and the
/// checks. Works on UTF-8 bytes (callers decode other encodings first) with no allocation
/// on the success path except for text values.
enum ValueParser {
    /// Why one field's value was refused: reads after "field 'x' = '…': ".
    struct Failure: Error, ExpressibleByStringInterpolation {
        let reason: String
        init(stringLiteral value: String) { reason = value }
        init(stringInterpolation: DefaultStringInterpolation) { reason = String(stringInterpolation: stringInterpolation) }
    }

    /// The full treatment of one field's raw UTF-8 bytes.
    static func read(_ raw: UnsafeRawBufferPointer, field: FieldSpec) -> Result<FieldValue, Failure> {
        var bytes = trim(raw, field.trim)
        if !field.strip.isEmpty {
            bytes = stripAffixes(bytes, field.strip, trimRule: field.trim)
        }
        if let extract = field.extract {
            let text = String(decoding: bytes, as: UTF8.self)
            let captured = extract.captures(in: text)?.dropFirst().first ?? nil
            guard let captured, !captured.isEmpty else {
                return field.required ? .failure("required value not found by extract '\(extract.source)'") : .success(.empty)
            }
            var copy = Array(captured.utf8)
            return copy.withUnsafeMutableBytes { read(UnsafeRawBufferPointer($0), extracted: field) }
        }
        return typed(bytes, field: field)
    }

    /// Continues `read` on a value `extract` pulled out of free text.
    private static func read(_ bytes: UnsafeRawBufferPointer, extracted field: FieldSpec) -> Result<FieldValue, Failure> {
        typed(trim(bytes, .both), field: field)
    }

    private static func typed(_ bytes: UnsafeRawBufferPointer, field: FieldSpec) -> Result<FieldValue, Failure> {
        if bytes.isEmpty || isEmptyMarker(bytes, field.emptyMarkers) {
            return field.required ? .failure("required value is missing") : .success(.empty)
        }
        let value: FieldValue
        switch parseTyped(bytes, type: field.type) {
        case .success(let parsed): value = parsed
        case .failure(let failure): return .failure(failure)
        }
        return check(value, bytes: bytes, field: field)
    }

    /// The typed parse alone (also used for `min`/`max` literals in specs).
    static func parseTyped(_ bytes: UnsafeRawBufferPointer, type: FieldType) -> Result<FieldValue, Failure> {
        switch type {
        case .string:
            return .success(.text(String(decoding: bytes, as: UTF8.self)))
        case .integer(let format):
            switch parseDecimalDigits(bytes, scale: 0, implied: true, point: 0, thousands: format.thousands, sign: format.sign) {
            case .success(let units): return .success(.integer(units))
            case .failure(let failure): return .failure(failure)
            }
        case .decimal(let format):
            switch parseDecimalDigits(bytes, scale: format.scale, implied: format.implied, point: format.point,
                                      thousands: format.thousands, sign: format.sign) {
            case .success(let units): return .success(.decimal(DecimalAmount(units: units, scale: format.scale)))
            case .failure(let failure): return .failure(failure)
            }
        case .date(let format):
            guard let parts = format.parse(bytes), let date = parts.date else {
                return .failure("not a date in the format \(format.pattern)")
            }
            return .success(.date(date))
        case .time(let format):
            guard let parts = format.parse(bytes), let time = parts.time else {
                return .failure("not a time in the format \(format.pattern)")
            }
            return .success(.time(time))
        case .dateTime(let format):
            guard let parts = format.parse(bytes), let date = parts.date, let time = parts.time else {
                return .failure("not a date-time in the format \(format.pattern)")
            }
            return .success(.dateTime(DateTime(date: date, time: time, utcOffsetMinutes: parts.utcOffsetMinutes)))
        }
    }

    /// Digits with an optional point, thousands separators and sign, into units of
    /// 10^-scale. More non-zero decimals than `scale` is an error: money is never rounded
    /// on the way in.
    static func parseDecimalDigits(_ bytes: UnsafeRawBufferPointer, scale: Int, implied: Bool, point: UInt8,
                                   thousands: UInt8?, sign: SignRule) -> Result<Int64, Failure> {
        var start = 0
        var end = bytes.count
        var negative = false
        let minus = UInt8(ascii: "-"), plus = UInt8(ascii: "+")
        if end > 0, bytes[0] == minus || bytes[0] == plus {
            switch sign {
            case .leading, .any: break
            case .trailing: return .failure("a leading sign is not allowed (the sign trails)")
            case .unsigned, .indicator: return .failure("a sign is not allowed here")
            }
            negative = bytes[0] == minus
            start = 1
        } else if end > 0, bytes[end - 1] == minus || bytes[end - 1] == plus {
            switch sign {
            case .trailing, .any: break
            case .leading: return .failure("a trailing sign is not allowed (the sign leads)")
            case .unsigned, .indicator: return .failure("a sign is not allowed here")
            }
            negative = bytes[end - 1] == minus
            end -= 1
        }
        var units: Int64 = 0
        var sawDigit = false
        var sawPoint = false
        var fractionDigits = 0
        var index = start
        while index < end {
            let byte = bytes[index]
            let digit = byte &- 0x30
            if digit <= 9 {
                sawDigit = true
                if sawPoint {
                    fractionDigits += 1
                    if fractionDigits > scale {
                        if digit != 0 {
                            return .failure("has more than \(scale) decimal place\(scale == 1 ? "" : "s"); amounts are never rounded on input")
                        }
                        index += 1
                        continue
                    }
                }
                let (shifted, o1) = units.multipliedReportingOverflow(by: 10)
                let (sum, o2) = shifted.addingReportingOverflow(Int64(digit))
                if o1 || o2 { return .failure("is too large (beyond 64-bit minor units)") }
                units = sum
            } else if byte == point && !implied && point != 0 {
                if sawPoint { return .failure("has two decimal points") }
                sawPoint = true
            } else if let thousands, byte == thousands, sawDigit, !sawPoint {
                // Grouping separators carry no value.
            } else {
                return .failure("unexpected character '\(printable(byte))' in a number")
            }
            index += 1
        }
        if !sawDigit { return .failure("has no digits") }
        if !implied && fractionDigits < scale {
            for _ in fractionDigits..<scale {
                let (shifted, overflow) = units.multipliedReportingOverflow(by: 10)
                if overflow { return .failure("is too large (beyond 64-bit minor units)") }
                units = shifted
            }
        }
        return .success(negative ? -units : units)
    }

    /// Checks that apply after the value parsed.
    private static func check(_ value: FieldValue, bytes: UnsafeRawBufferPointer, field: FieldSpec) -> Result<FieldValue, Failure> {
        var value = value
        if case .text(let text) = value {
            if let codes = field.codes {
                if let mapped = codes[text] {
                    value = .text(mapped)
                } else if !field.keepUnmappedCodes {
                    let listed = codes.keys.sorted().prefix(8).joined(separator: ", ")
                    return .failure("code '\(text)' is not in the code map (\(listed)\(codes.count > 8 ? ", …" : ""))")
                }
            }
            if field.minLength != nil || field.maxLength != nil {
                let length = UTF8Validation.isASCII(bytes) ? bytes.count : text.unicodeScalars.count
                if let minimum = field.minLength, length < minimum {
                    return .failure("is \(length) characters; at least \(minimum) required")
                }
                if let maximum = field.maxLength, length > maximum {
                    return .failure("is \(length) characters; at most \(maximum) allowed")
                }
            }
            if let pattern = field.pattern, !pattern.matchesWhole(text) {
                return .failure("does not match the pattern \(pattern.source)")
            }
        } else if let pattern = field.pattern {
            let text = String(decoding: bytes, as: UTF8.self)
            if !pattern.matchesWhole(text) { return .failure("does not match the pattern \(pattern.source)") }
        }
        if let minimum = field.minimum, FieldValueOrder.less(value, minimum) {
            return .failure("is below the minimum \(minimum)")
        }
        if let maximum = field.maximum, FieldValueOrder.less(maximum, value) {
            return .failure("is above the maximum \(maximum)")
        }
        return .success(value)
    }

    // MARK: Byte helpers

    @inline(__always)
    static func isPadding(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x09 }

    /// Trims spaces and TABs (and U+3000, the ideographic space Chinese exports pad with).
    @inline(__always)
    static func trim(_ bytes: UnsafeRawBufferPointer, _ rule: TrimRule) -> UnsafeRawBufferPointer {
        guard !bytes.isEmpty, rule != .none else { return bytes }
        var start = 0
        var end = bytes.count
        if rule == .both || rule == .left {
            while start < end {
                if isPadding(bytes[start]) { start += 1; continue }
                if end - start >= 3, bytes[start] == 0xE3, bytes[start + 1] == 0x80, bytes[start + 2] == 0x80 { start += 3; continue }
                break
            }
        }
        if rule == .both || rule == .right {
            while end > start {
                if isPadding(bytes[end - 1]) { end -= 1; continue }
                if end - start >= 3, bytes[end - 3] == 0xE3, bytes[end - 2] == 0x80, bytes[end - 1] == 0x80 { end -= 3; continue }
                break
            }
        }
        return UnsafeRawBufferPointer(rebasing: bytes[start..<end])
    }

    static func stripAffixes(_ bytes: UnsafeRawBufferPointer, _ affixes: [[UInt8]], trimRule: TrimRule) -> UnsafeRawBufferPointer {
        var start = 0
        var end = bytes.count
        var changed = true
        while changed {
            changed = false
            for affix in affixes {
                if end - start >= affix.count, affix.indices.allSatisfy({ bytes[start + $0] == affix[$0] }) {
                    start += affix.count
                    changed = true
                }
                if end - start >= affix.count, affix.indices.allSatisfy({ bytes[end - affix.count + $0] == affix[$0] }) {
                    end -= affix.count
                    changed = true
                }
            }
        }
        return trim(UnsafeRawBufferPointer(rebasing: bytes[start..<end]), trimRule)
    }

    static func isEmptyMarker(_ bytes: UnsafeRawBufferPointer, _ markers: [[UInt8]]) -> Bool {
        for marker in markers where marker.count == bytes.count {
            if marker.indices.allSatisfy({ bytes[$0] == marker[$0] }) { return true }
        }
        return false
    }

    static func printable(_ byte: UInt8) -> String {
        byte >= 0x20 && byte < 0x7F ? String(UnicodeScalar(byte)) : "\\x" + hex(byte)
    }
}

/// Ordering of two values of the same type, for `min`/`max` checks.
enum FieldValueOrder {
    static func less(_ a: FieldValue, _ b: FieldValue) -> Bool {
        switch (a, b) {
        case (.integer(let x), .integer(let y)): return x < y
        case (.decimal(let x), .decimal(let y)): return x < y
        case (.date(let x), .date(let y)): return x < y
        case (.time(let x), .time(let y)): return x < y
        case (.dateTime(let x), .dateTime(let y)): return x < y
        case (.text(let x), .text(let y)): return x < y
        default: return false
        }
    }
}
