import Foundation
import PropertyBased
import ReckonCore
import Testing

/// The repository's `mappings/` folder.
let mappingsFolder = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("mappings").path

func shippedSpec(_ name: String) throws -> MappingSpec {
    let path = mappingsFolder + "/" + name
    return try SpecLoader.load(yaml: String(contentsOfFile: path, encoding: .utf8), origin: path)
}

/// Random values that a field accepts and that survive the trip through its layout.
struct RecordGenerator {
    let spec: MappingSpec
    /// Seeded, so a failing seed reproduces.
    var rng: SplitMix64

    static let chinese = Array("张伟李娜王芳交易成功还款提前结清逾期代扣银行")
    static let plain = Array("ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz0123456789")
    static let awkward = Array(",;|\"'`-_/:. ")

    /// Kinds that can be written: not matched by a line pattern, not ignored.
    var writableKinds: [RecordKind] {
        spec.kinds.filter {
            if case .line? = $0.match { return false }
            return !$0.ignored && !$0.fields.isEmpty
        }
    }

    mutating func record(_ kind: RecordKind) -> [FieldValue] {
        var values = kind.fields.enumerated().map { index, field in
            value(field, kind: kind, first: index == 0)
        }
        // Sign indicators follow their amount's sign, as the renderer writes them.
        for (index, field) in kind.fields.enumerated() {
            guard case .decimal(let format) = field.type,
                  case .indicator(let name, let negative, let positive) = format.sign,
                  let indicator = kind.fieldIndex(named: name) else { continue }
            if case .decimal(let d) = values[index], d.units < 0 {
                values[indicator] = .text(negative[0])
            } else {
                values[indicator] = .text(positive.first ?? "+")
            }
        }
        return values
    }

    /// Bytes a text value may take in this field (fixed width), or a generous bound.
    func width(_ field: FieldSpec) -> Int {
        if case .slice(_, let length) = field.source { return length }
        return 24
    }

    mutating func value(_ field: FieldSpec, kind: RecordKind, first: Bool) -> FieldValue {
        if !field.required && !first && Int.random(in: 0..<6, using: &rng) == 0 { return .empty }
        if let codes = field.codes {
            return .text(codes.values.sorted()[Int.random(in: 0..<codes.count, using: &rng)])
        }
        let width = width(field)
        switch field.type {
        case .string:
            if let pattern = field.pattern { return .text(fromPattern(pattern.source)) }
            return .text(text(maxBytes: width, field: field))
        case .integer(let format):
            let negative = allowsNegative(format.sign) && Bool.random(using: &rng)
            let digits = max(1, min(18, width - (negative ? 1 : 0)))
            var n = Int64.random(in: 0...(Self.power(digits) - 1), using: &rng)
            if let minimum = field.minimum, case .integer(let low) = minimum, n < low { n = low }
            if let maximum = field.maximum, case .integer(let high) = maximum, n > high { n = high }
            return .integer(negative ? -n : n)
        case .decimal(let format):
            let negative = allowsNegative(format.sign) && Bool.random(using: &rng)
            var digits = width - (format.implied ? 0 : 1) - (negative && !isIndicator(format.sign) ? 1 : 0)
            if case .column = field.source { digits = 12 }
            digits = max(1, min(17, digits))
            var units = Int64.random(in: 0...(Self.power(digits) - 1), using: &rng)
            if let minimum = field.minimum, case .decimal(let low) = minimum, let l = low.rescaled(to: format.scale), units < l.units { units = l.units }
            if let maximum = field.maximum, case .decimal(let high) = maximum, let h = high.rescaled(to: format.scale), units > h.units { units = h.units }
            return .decimal(DecimalAmount(units: negative ? -units : units, scale: format.scale))
        case .date(let format):
            return .date(randomDate(format))
        case .time(let format):
            // A layout without seconds (HHmm) can only carry whole minutes.
            let second = format.pattern.contains("ss") || format.pattern == "iso8601" ? Int.random(in: 0...59, using: &rng) : 0
            return .time(TimeOfDay(hour: Int.random(in: 0...23, using: &rng), minute: Int.random(in: 0...59, using: &rng),
                                   second: second)!)
        case .dateTime(let format):
            return .dateTime(DateTime(date: randomDate(format),
                                      time: TimeOfDay(hour: Int.random(in: 0...23, using: &rng), minute: Int.random(in: 0...59, using: &rng),
                                                      second: Int.random(in: 0...59, using: &rng))!))
        }
    }

    func allowsNegative(_ sign: SignRule) -> Bool {
        switch sign {
        case .unsigned: return false
        default: return true
        }
    }

    func isIndicator(_ sign: SignRule) -> Bool {
        if case .indicator = sign { return true }
        return false
    }

    static func power(_ digits: Int) -> Int64 { (0..<digits).reduce(1) { r, _ in r * 10 } }

    mutating func randomDate(_ format: DateTimeFormat) -> CivilDate {
        let twoDigitYear = format.pattern.contains("yy") && !format.pattern.contains("yyyy")
        let year = twoDigitYear ? Int.random(in: 1970...2069, using: &rng) : Int.random(in: 1990...2060, using: &rng)
        let month = Int.random(in: 1...12, using: &rng)
        return CivilDate(year: year, month: month, day: Int.random(in: 1...CivilDate.daysIn(month: month, year: year), using: &rng))!
    }

    /// Text that fits `maxBytes` in the spec's encoding, with no padding at its ends and
    /// nothing the field would read as empty.
    mutating func text(maxBytes: Int, field: FieldSpec) -> String {
        let delimited: Bool
        if case .delimited = spec.format { delimited = true } else { delimited = false }
        var result = ""
        var bytes = 0
        let target = Int.random(in: 1...max(1, min(maxBytes, 20)), using: &rng)
        while bytes < target {
            let roll = Int.random(in: 0..<10, using: &rng)
            let character: Character
            if roll < 5 {
                character = Self.plain[Int.random(in: 0..<Self.plain.count, using: &rng)]
            } else if roll < 8 {
                character = Self.chinese[Int.random(in: 0..<Self.chinese.count, using: &rng)]
            } else if delimited && roll == 9 {
                character = Bool.random(using: &rng) ? "\n" : "\""
            } else {
                character = Self.awkward[Int.random(in: 0..<Self.awkward.count, using: &rng)]
            }
            let size = TextEncoder.encode(String(character), as: spec.encoding)?.count ?? 4
            if bytes + size > maxBytes { break }
            result.append(character)
            bytes += size
        }
        // Ends are trimmed on reading; strip affixes too.
        while let last = result.last, last == " " || last == "\n" || last == "`" { result.removeLast() }
        while let first = result.first, first == " " || first == "\n" || first == "`" { result.removeFirst() }
        if result.isEmpty || field.emptyMarkers.contains(Array(result.utf8)) { return "X" }
        return result
    }

    /// A value for the simple patterns the shipped specs use.
    mutating func fromPattern(_ pattern: String) -> String {
        switch pattern {
        case "[A-Z]{3}": return String((0..<3).map { _ in Character(UnicodeScalar(UInt8.random(in: 65...90, using: &rng))) })
        case "[A-Z0-9]{6,24}": return String((0..<Int.random(in: 6...24, using: &rng)).map { _ in Self.plain[Int.random(in: 0..<23, using: &rng)] })
        case "CRDT|DBIT": return Bool.random(using: &rng) ? "CRDT" : "DBIT"
        default:
            // Literal patterns (SETTLE, PLAN).
            return pattern
        }
    }
}

@Suite("Rendering and reading back")
struct RoundTripTests {
    static let everyType = """
        format: fixed-width
        encoding: gbk
        record_length: 120
        records:
          row:
            when: {start: 1, equals: R}
            fields:
              name:      {start: 2, length: 12}
              code:      {start: 14, length: 2, codes: {"01": normal, "02": early, "03": overdue}}
              count:     {start: 16, length: 6, type: integer, sign: leading}
              implied:   {start: 22, length: 12, type: decimal, scale: 2, implied: true, sign: none}
              trailing:  {start: 34, length: 12, type: decimal, scale: 3, sign: trailing}
              signed:    {start: 46, length: 10, type: decimal, scale: 2, sign: {field: cd, negative: D, positive: C}}
              cd:        {start: 56, length: 1}
              on:        {start: 57, length: 8, type: date, format: yyyyMMdd}
              short_on:  {start: 65, length: 6, type: date, format: yyMMdd}
              at:        {start: 71, length: 4, type: time, format: HHmm}
              stamp:     {start: 75, length: 19, type: datetime, format: "yyyy-MM-dd HH:mm:ss"}
              right:     {start: 94, length: 10, align: right}
              comma:     {start: 104, length: 12, type: decimal, scale: 2, point: ",", sign: any}
        """

    static let everyTypeDelimited = """
        format: delimited
        encoding: gb18030
        delimiter: ","
        header: 1
        records:
          row:
            fields:
              name:     {column: 名称}
              code:     {column: 代码, codes: {"A": alpha, "B": beta}}
              amount:   {column: 金额, type: decimal, scale: 2}
              count:    {column: 笔数, type: integer}
              on:       {column: 日期, type: date, format: yyyy-MM-dd}
              stamp:    {column: 时间, type: datetime, format: iso8601}
              note:     {column: 备注}
        """

    /// Renders random records and reads them back, whole and then in reads of each of
    /// `readSizes` bytes (1, 7, 97: in a GB-family file a character then straddles read
    /// boundaries), expecting exactly the values written.
    func roundTrip(_ spec: MappingSpec, seed: UInt64, records count: Int = 20, readSizes: [Int] = []) throws {
        var generator = RecordGenerator(spec: spec, rng: SplitMix64(seed: seed))
        let renderer = try RecordRenderer(spec: spec)
        var file: [UInt8] = renderer.header().map { $0 + [0x0A] } ?? []
        var expected: [(String, [FieldValue])] = []
        let kinds = generator.writableKinds
        for _ in 0..<count {
            let kind = kinds[Int.random(in: 0..<kinds.count, using: &generator.rng)]
            let values = generator.record(kind)
            file += try renderer.render(kind, values) + [0x0D, 0x0A]
            expected.append((kind.name, values))
        }
        for readBytes in [Int.max] + readSizes {
            let (report, records) = read(spec, file, readBytes: readBytes)
            let context = "seed \(seed), reads of \(readBytes) bytes"
            #expect(report.recordsRejected == 0, "\(context): \(problemTexts(report))")
            #expect(report.failure == nil, "\(context): \(String(describing: report.failure))")
            #expect(records.count == expected.count, "\(context)")
            for (record, (kindName, values)) in zip(records, expected) {
                #expect(spec.kinds[record.kindIndex].name == kindName, "\(context)")
                #expect(record.values == values, "\(context), line \(record.location.line)")
            }
        }
    }

    /// Reads small enough that GB-family characters straddle their boundaries.
    static let smallReads = [1, 7, 97]

    @Test func everyFieldTypeInFixedWidthGBK() async throws {
        let spec = try loadSpec(Self.everyType)
        // A window barely larger than a record, so it is refilled inside most records too.
        let narrow = try loadSpec(Self.everyType + "\nmax_record_bytes: 128")
        await propertyCheck(count: 100, input: Gen.uint64()) { seed in
            try roundTrip(spec, seed: seed, readSizes: Self.smallReads)
            try roundTrip(narrow, seed: seed, readSizes: [7])
        }
    }

    @Test func everyFieldTypeInDelimitedGB18030() async throws {
        let spec = try loadSpec(Self.everyTypeDelimited)
        await propertyCheck(count: 100, input: Gen.uint64()) { seed in
            try roundTrip(spec, seed: seed, readSizes: Self.smallReads)
        }
    }

    @Test(arguments: ["bank-settlement.yaml", "bank-plan.yaml", "platform-loans.yaml", "platform-repayments.yaml", "channel-bill.yaml", "nacha.yaml"])
    func shippedLayouts(_ name: String) async throws {
        let spec = try shippedSpec(name)
        if case .fixedWidth(let layout) = spec.format, layout.positions == .characters {
            // NACHA counts characters; written as bytes, its ASCII records are the same.
            let bytes = try loadSpec(String(contentsOfFile: mappingsFolder + "/" + name, encoding: .utf8)
                .replacingOccurrences(of: "positions: characters", with: "positions: bytes"))
            await propertyCheck(count: 30, input: Gen.uint64()) { seed in try roundTrip(bytes, seed: seed) }
            return
        }
        let readSizes = spec.encoding.trailBytesMayBeASCII ? Self.smallReads : []
        await propertyCheck(count: 30, input: Gen.uint64()) { seed in
            try roundTrip(spec, seed: seed, readSizes: readSizes)
        }
    }

    @Test func valuesThatDoNotFitAreRefused() throws {
        let spec = try loadSpec(Self.everyType)
        let renderer = try RecordRenderer(spec: spec)
        let kind = spec.kinds[0]
        var values = [FieldValue](repeating: .empty, count: kind.fields.count)
        func refusal() -> String? { (#expect(throws: RenderError.self) { try renderer.render(kind, values) })?.description }
        values[0] = .text("张伟张伟张伟张伟")  // 16 bytes in a 12-byte field
        #expect(refusal() == "record kind 'row', field 'name': '张伟张伟张伟张伟' takes 16 bytes; the field holds 12")
        values[0] = .text("ok")
        values[3] = .decimal(DecimalAmount(units: -5, scale: 2))  // no sign allowed
        #expect(refusal() == "record kind 'row', field 'implied': a negative value in a field that takes no sign")
        values[3] = .decimal(DecimalAmount(units: 5, scale: 3))  // more decimals than the field
        #expect(refusal() == "record kind 'row', field 'implied': 0.005 has more than 2 decimal places")
        values[3] = .empty
        values[1] = .text("unknown")  // not in the code map
        #expect(refusal() == "record kind 'row', field 'code': 'unknown' has no code in the code map")
    }
}
