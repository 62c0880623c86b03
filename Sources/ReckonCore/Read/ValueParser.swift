/// Field values from bytes: trimming, affixes, empty markers, then the typed parse and the
/// checks. Works on UTF-8 bytes (callers decode other encodings first) and writes into the
/// record assembler's slots, so a value costs no allocation unless it is kept.
enum ValueParser {
    /// Why one field's value was refused: reads after "field 'x' = '…': ".
    struct Failure: Error, ExpressibleByStringInterpolation {
        let reason: String
        init(stringLiteral value: String) { reason = value }
        init(stringInterpolation: DefaultStringInterpolation) { reason = String(stringInterpolation: stringInterpolation) }
    }

    /// The typed parse alone, for `min`/`max` literals in specs and for tests.
    static func parseTyped(_ bytes: UnsafeRawBufferPointer, type: FieldType) -> Result<FieldValue, Failure> {
        (type.dateTimeFormat?.tokens ?? []).withUnsafeBufferPointer { tokens in
            switch parseScalar(bytes, ValuePlan(type, tokens: tokens)) {
            case .success(let slot?): return .success(slot.value)
            case .success(nil): return .success(.text(String(decoding: bytes, as: UTF8.self)))
            case .failure(let failure): return .failure(failure)
            }
        }
    }

    /// The typed parse on a plan: the value for every type but string, for which it is nil
    /// (the caller keeps the bytes). Failure reasons are short; ``explained(_:field:)`` adds
    /// the expected format.
    @inline(__always)
    static func parseScalar(_ bytes: UnsafeRawBufferPointer, _ plan: ValuePlan) -> Result<Slot?, Failure> {
        switch plan.tag {
        case .string:
            return .success(nil)
        case .integer:
            switch parseDecimalDigits(bytes, plan) {
            case .success(let units): return .success(.integer(units))
            case .failure(let failure): return .failure(failure)
            }
        case .decimal:
            switch parseDecimalDigits(bytes, plan) {
            case .success(let units): return .success(.decimal(DecimalAmount(units: units, scale: plan.scale)))
            case .failure(let failure): return .failure(failure)
            }
        case .date:
            guard let date = DateTimeFormat.parse(bytes, tokens: plan.tokens)?.date else { return .failure("not a date") }
            return .success(.date(date))
        case .time:
            guard let time = DateTimeFormat.parse(bytes, tokens: plan.tokens)?.time else { return .failure("not a time") }
            return .success(.time(time))
        case .dateTime:
            guard let parts = DateTimeFormat.parse(bytes, tokens: plan.tokens), let date = parts.date, let time = parts.time else {
                return .failure("not a date-time")
            }
            return .success(.dateTime(DateTime(date: date, time: time, utcOffsetMinutes: parts.utcOffsetMinutes)))
        }
    }

    /// The field-aware reason for a failed typed parse.
    static func explained(_ failure: Failure, field: FieldSpec) -> Failure {
        guard let format = field.type.dateTimeFormat else { return failure }
        return "\(failure.reason) in the format \(format.pattern)"
    }

    /// Up to 18 ASCII digits as a number, eight at a time (SWAR: Lemire's digit parsing),
    /// or nil if any byte is not a digit.
    @inline(__always)
    static func plainDigits(_ bytes: UnsafeRawBufferPointer) -> Int64? {
        var units: Int64 = 0
        var index = 0
        let count = bytes.count
        while count - index >= 8 {
            let chunk = UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: index, as: UInt64.self))
            // Every byte is 0x30…0x39.
            guard (((chunk &+ 0x4646_4646_4646_4646) | (chunk &- 0x3030_3030_3030_3030)) & 0x8080_8080_8080_8080) == 0 else {
                return nil
            }
            var value = chunk &- 0x3030_3030_3030_3030
            value = (value &* 10) &+ (value >> 8)
            value = (((value & 0x0000_00FF_0000_00FF) &* 0x000F_4240_0000_0064)
                &+ (((value >> 16) & 0x0000_00FF_0000_00FF) &* 0x0000_2710_0000_0001)) >> 32
            units = units &* 100_000_000 &+ Int64(value)
            index += 8
        }
        if count - index >= 4 {
            let chunk = UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: index, as: UInt32.self))
            guard (((chunk &+ 0x4646_4646) | (chunk &- 0x3030_3030)) & 0x8080_8080) == 0 else { return nil }
            var value = chunk &- 0x3030_3030
            value = (value &* 10) &+ (value >> 8)
            value = ((value & 0x00FF_00FF) &* 0x0064_0001) >> 16
            units = units &* 10_000 &+ Int64(value & 0xFFFF)
            index += 4
        }
        while index < count {
            let digit = bytes[index] &- 0x30
            if digit > 9 { return nil }
            units = units &* 10 &+ Int64(digit)
            index += 1
        }
        return units
    }

    /// Up to 18 bytes of digits with at most one decimal `point` inside or at the end and
    /// no more decimals than `scale`, as units of 10^-scale; nil for anything else (signs,
    /// separators, a leading point, too many digits), which the general parse then reads
    /// or explains. No check for overflow is needed: the result has at most 18 digits.
    @inline(__always)
    static func plainNumber(_ bytes: UnsafeRawBufferPointer, scale: Int, point: UInt8) -> Int64? {
        let count = bytes.count
        var units: Int64 = 0
        var index = 0
        while index < count {
            let digit = bytes[index] &- 0x30
            if digit > 9 { break }
            units = units &* 10 &+ Int64(digit)
            index += 1
        }
        var digits = index
        var fractionDigits = 0
        if index < count {
            guard index > 0, point != 0, bytes[index] == point else { return nil }
            index += 1
            while index < count {
                let digit = bytes[index] &- 0x30
                if digit > 9 { return nil }
                units = units &* 10 &+ Int64(digit)
                index += 1
            }
            fractionDigits = count - digits - 1
            digits += fractionDigits
        }
        guard fractionDigits <= scale, digits + scale - fractionDigits <= 18 else { return nil }
        for _ in fractionDigits..<scale { units = units &* 10 }
        return units
    }

    /// Digits with an optional point, thousands separators and sign, into units of
    /// 10^-scale. More non-zero decimals than `scale` is an error: money is never rounded
    /// on the way in.
    static func parseDecimalDigits(_ bytes: UnsafeRawBufferPointer, _ plan: ValuePlan) -> Result<Int64, Failure> {
        // Fast path: up to 18 plain digits (implied decimals, zero-padded integers) cannot
        // overflow and need no sign or separator handling.
        if bytes.count <= 18 && !bytes.isEmpty {
            if plan.implied {
                if let units = plainDigits(bytes) { return .success(units) }
            } else if let units = plainNumber(bytes, scale: plan.scale, point: plan.point) {
                return .success(units)
            }
        }
        let scale = plan.scale, implied = plan.implied, point = plan.point
        var start = 0
        var end = bytes.count
        var negative = false
        let minus = UInt8(ascii: "-"), plus = UInt8(ascii: "+")
        if end > 0, bytes[0] == minus || bytes[0] == plus {
            switch plan.sign {
            case .leading, .any: break
            case .trailing: return .failure("a leading sign is not allowed (the sign trails)")
            case .unsigned, .indicator: return .failure("a sign is not allowed here")
            }
            negative = bytes[0] == minus
            start = 1
        } else if end > 0, bytes[end - 1] == minus || bytes[end - 1] == plus {
            switch plan.sign {
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
            } else if plan.hasThousands, byte == plan.thousands, sawDigit, !sawPoint {
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

extension Slot {
    /// The owned value of a non-text slot.
    var value: FieldValue {
        switch self {
        case .empty, .text, .code: return .empty
        case .integer(let n): return .integer(n)
        case .decimal(let d): return .decimal(d)
        case .date(let d): return .date(d)
        case .time(let t): return .time(t)
        case .dateTime(let t): return .dateTime(t)
        }
    }
}

extension FieldSpec {
    /// Reads one value from UTF-8 into the assembler's next slot: trim, affixes, extraction,
    /// empty markers, the typed parse, codes and checks. Returns why it was refused, if it
    /// was. A method, so the spec's arrays are borrowed from `self`, not retained.
    func read(fromUTF8 raw: UnsafeRawBufferPointer, into assembler: inout RecordAssembler) -> ValueParser.Failure? {
        var bytes = ValueParser.trim(raw, trim)
        if !isPlain {
            if !strip.isEmpty {
                bytes = ValueParser.stripAffixes(bytes, strip, trimRule: trim)
            }
            if let extract {
                let text = String(decoding: bytes, as: UTF8.self)
                let captured = extract.captures(in: text)?.dropFirst().first ?? nil
                guard let captured, !captured.isEmpty else {
                    if required { return "required value not found by extract '\(extract.source)'" }
                    if warnings?.required == true {
                        assembler.addWarning(FieldProblem(field: name, rawValue: nil, reason: "required value not found by extract '\(extract.source)'"))
                    }
                    assembler.put(.empty)
                    return nil
                }
                var copy = Array(captured.utf8)
                return copy.withUnsafeMutableBytes { typed(ValueParser.trim(UnsafeRawBufferPointer($0), .both), into: &assembler) }
            }
        }
        return typed(bytes, into: &assembler)
    }

    private func typed(_ bytes: UnsafeRawBufferPointer, into assembler: inout RecordAssembler) -> ValueParser.Failure? {
        if bytes.isEmpty || (!emptyMarkers.isEmpty && ValueParser.isEmptyMarker(bytes, emptyMarkers)) {
            if required { return "required value is missing" }
            if warnings?.required == true { assembler.addWarning(FieldProblem(field: name, rawValue: nil, reason: "required value is missing")) }
            assembler.put(.empty)
            return nil
        }
        var slot: Slot?
        if !codeValues.isEmpty {
            // Look the code up by its bytes: no string is made for a known code.
            if let index = codeIndex(bytes) {
                slot = .code(Int32(index))
            } else if !keepUnmappedCodes {
                let listed = (codes ?? [:]).keys.sorted().prefix(8).joined(separator: ", ")
                return "code '\(String(decoding: bytes, as: UTF8.self))' is not in the code map (\(listed)\((codes?.count ?? 0) > 8 ? ", …" : ""))"
            }
        } else {
            switch ValueParser.parseScalar(bytes, plan) {
            case .success(let parsed): slot = parsed
            case .failure(let failure): return ValueParser.explained(failure, field: self)
            }
        }
        if hasChecks, let failure = check(slot, bytes: bytes) { return failure }
        if warnsOnChecks, let failure = warnings?.check(slot, bytes: bytes) {
            assembler.addWarning(FieldProblem(field: name, rawValue: DisplayText.escaped(utf8: bytes), reason: failure.reason))
        }
        if let slot { assembler.put(slot) } else { assembler.putText(bytes) }
        return nil
    }

    /// The index of a partner code in the code map, compared byte by byte.
    @inline(__always)
    func codeIndex(_ bytes: UnsafeRawBufferPointer) -> Int? {
        codeBytes.withUnsafeBufferPointer { table -> Int? in
            var start = 0
            for (index, end) in codeEnds.enumerated() {
                defer { start = end }
                guard end - start == bytes.count else { continue }
                var equal = true
                for i in 0..<bytes.count where table[start + i] != bytes[i] { equal = false; break }
                if equal { return index }
            }
            return nil
        }
    }

    /// Checks beyond the type: length, pattern (on the text as written), range.
    private func check(_ slot: Slot?, bytes: UnsafeRawBufferPointer) -> ValueParser.Failure? {
        if case .string = type, minLength != nil || maxLength != nil {
            let length = UTF8Validation.isASCII(bytes) ? bytes.count : String(decoding: bytes, as: UTF8.self).unicodeScalars.count
            if let minLength, length < minLength { return "is \(length) characters; at least \(minLength) required" }
            if let maxLength, length > maxLength { return "is \(length) characters; at most \(maxLength) allowed" }
        }
        if let pattern, !pattern.matchesWhole(utf8: bytes) {
            return "does not match the pattern \(pattern.source)"
        }
        if let slot, minimum != nil || maximum != nil {
            // Integers and decimals compare as units; dates and times as values.
            var units: Int64?
            switch slot {
            case .integer(let n): units = n
            case .decimal(let d): units = d.units
            default: units = nil
            }
            if let units, minimumUnits != nil || maximumUnits != nil {
                if let low = minimumUnits, units < low { return "is below the minimum \(minimum!)" }
                if let high = maximumUnits, units > high { return "is above the maximum \(maximum!)" }
                return nil
            }
            let value = slot.value
            if let minimum, FieldValueOrder.less(value, minimum) { return "is below the minimum \(minimum)" }
            if let maximum, FieldValueOrder.less(maximum, value) { return "is above the maximum \(maximum)" }
        }
        return nil
    }
}
