/// A loaded, validated mapping spec: how one kind of partner file is laid out, what every
/// field means and must satisfy, which totals the file declares about itself, and which
/// canonical event each record becomes. Specs are written in YAML (`mappings/*.yaml`,
/// documented in `mappings/README.md`) and loaded by ``SpecLoader``.
public struct MappingSpec: Sendable {
    public let name: String
    /// The file the spec was loaded from, for messages.
    public let origin: String
    public let summary: String?
    public let format: FileFormat
    public let encoding: TextEncoding
    /// Record kinds in declaration order; the first whose discriminator matches wins.
    public let kinds: [RecordKind]
    public let controls: [ControlTotal]
    public let unmatched: UnmatchedRecordPolicy
    /// No record (line, or XML value) may be longer than this; it bounds memory per file.
    public let maxRecordBytes: Int
    public let examples: [SpecExample]
    /// Whether reckon reads files through the spec, writes them, or both (`direction:`).
    /// An outbound spec is checked at load for everything the renderer needs.
    public let direction: SpecDirection
    /// How files are written through the spec (`render:`): which kinds frame the details,
    /// and the line break.
    public let output: OutputLayout
    /// Whether a line that begins as a line-pattern kind's pattern does but misses the rest
    /// of it may fall into an ignored kind or be skipped (`near_misses:`).
    public var nearMisses: NearMissPolicy = .ignore

    public func kind(named name: String) -> RecordKind? { kinds.first { $0.name == name } }

    /// The kind a line that an ignored kind took, or that is skipped as unmatched, was meant
    /// for under `near_misses: reject`: the first kind read by a `line:` pattern whose
    /// anchored literal start (`:61:` of `^:61:(\d{6})…`) the line begins with. Nil otherwise.
    func nearMiss(_ line: UnsafeRawBufferPointer) -> (kind: RecordKind, problem: FieldProblem)? {
        guard nearMisses == .reject else { return nil }
        for kind in kinds where !kind.ignored {
            guard case .line(let pattern)? = kind.match, !pattern.anchoredPrefix.isEmpty,
                  line.starts(with: pattern.anchoredPrefix) else { continue }
            let prefix = String(decoding: pattern.anchoredPrefix, as: UTF8.self)
            return (kind, FieldProblem(field: nil, rawValue: AssemblerText.preview(line),
                reason: "the line begins '\(prefix)' as record kind '\(kind.name)' does, but does not match its pattern \(pattern.source) (near_misses: reject)"))
        }
        return nil
    }

    public static let defaultMaxRecordBytes = 1 << 20
}

/// What a spec is used for (`direction:`).
public enum SpecDirection: String, Sendable, CaseIterable {
    /// Partner files read in (the default).
    case inbound
    /// Files reckon writes.
    case outbound
    /// Both: the file reckon writes is read back through the same spec.
    case both

    public var writes: Bool { self != .inbound }
}

/// How whole files are written through a spec (`render:`).
public struct OutputLayout: Sendable {
    /// The kind written once before the details (by `finish`), with its computed totals.
    public let headerKind: String?
    /// The kind written once after the details.
    public let trailerKind: String?
    /// Text formats: the bytes ending each record (`lf` or `crlf`). Readers accept both.
    public let lineBreak: [UInt8]

    public init(headerKind: String? = nil, trailerKind: String? = nil, lineBreak: [UInt8] = [0x0A]) {
        self.headerKind = headerKind
        self.trailerKind = trailerKind
        self.lineBreak = lineBreak
    }
}

public enum FileFormat: Sendable {
    case fixedWidth(FixedWidthLayout)
    case delimited(DelimitedLayout)
    case xml(XMLLayout)
    /// SWIFT-style tagged text (`:61:…`, MT940/MT942): see ``TaggedLayout``.
    case tagged(TaggedLayout)

    public var name: String {
        switch self {
        case .fixedWidth: return "fixed-width"
        case .delimited: return "delimited"
        case .xml: return "xml"
        case .tagged: return "tagged"
        }
    }
}

/// What a line that begins as a kind's line pattern does, but misses the rest of it, may
/// become (`near_misses:`).
public enum NearMissPolicy: String, Sendable {
    /// It goes where the other kinds send it: an ignored kind, or skipped (the default).
    case ignore
    /// It is rejected as the kind it was meant for, and counts where that kind counts.
    case reject
}

/// What to do with a record no kind's discriminator matches.
public enum UnmatchedRecordPolicy: String, Sendable {
    /// Reject it (the record is reported and the file fails).
    case reject
    /// Count it as skipped and go on (for exports with free-form notes around the data).
    case skip
}

// MARK: Fixed-width

public struct FixedWidthLayout: Sendable {
    /// Length of one record, in `positions` units.
    public let recordLength: Int
    public let separator: RecordSeparator
    public let positions: PositionUnit
    /// What a line shorter than `recordLength` means, unless its kind says otherwise.
    public let shortRecords: ShortRecordPolicy
    /// What an empty line between records means (`blank_lines:`).
    public var blankLines: BlankLinePolicy = .reject
}

/// What an empty line in a fixed-width file means (`blank_lines:`). A line break at the
/// end of the file is not a blank line.
public enum BlankLinePolicy: String, Sendable {
    /// Rejected and counted: a fixed-width file has no empty records, so an empty line is a
    /// record lost in transfer or a file put together by hand (the default).
    case reject
    /// Counted as skipped (for senders that separate blocks with empty lines).
    case skip
}

/// What a fixed-width record shorter than the layout's `record_length` means
/// (`short_records:`). Whatever the policy, a number, date or time cut mid-field is an error:
/// reading its first digits as the value would turn 9,753.71 into 0.97.
public enum ShortRecordPolicy: String, Sendable, CaseIterable {
    /// A short record is an error naming the fields it lacks (the default).
    case reject
    /// The record may stop between fields: the fields after it are absent (blank). A field
    /// cut mid-way is an error.
    case wholeFields = "whole_fields"
    /// The sender strips trailing spaces: as `wholeFields`, and a left-aligned text field
    /// may also lose its trailing spaces (the missing part of it was padding).
    case rightTrimmed = "right_trimmed"
}

public enum RecordSeparator: String, Sendable {
    /// One record per line (LF or CRLF).
    case newline
    /// Records of `record_length` back to back, no separators (a final newline is allowed).
    case none
    /// Lines, but a line that is an exact multiple of the record length holds that many
    /// records back to back — the NACHA convention of "with or without line breaks".
    case auto
}

public enum PositionUnit: String, Sendable {
    /// Positions count bytes in the file's encoding (what most bank layouts mean).
    case bytes
    /// Positions count characters, for partners whose layouts do.
    case characters
}

// MARK: Delimited

public struct DelimitedLayout: Sendable {
    public let delimiter: UInt8
    /// Nil when fields are never quoted.
    public let quote: UInt8?
    public let header: HeaderRule
    /// The byte that ends a record besides (or instead of) the line end (`record_end:`,
    /// BAI2's `/`); nil when records end at line ends. See ``LogicalRecordScanner``.
    public var recordEnd: UInt8? = nil
}

public enum HeaderRule: Sendable {
    /// No header row; columns are named by position only.
    case none
    /// The header is this physical line (1-based); lines before it are preamble.
    case line(Int)
    /// The header is the first line matching the pattern; lines before it are preamble.
    case matching(SpecRegex)
}

public enum ColumnReference: Hashable, Sendable, CustomStringConvertible {
    /// 0-based column index.
    case index(Int)
    /// A header name, resolved when the header row is read.
    case name(String)

    public var description: String {
        switch self {
        case .index(let i): return "column \(i + 1)"
        case .name(let n): return "column '\(n)'"
        }
    }
}

// MARK: XML

public struct XMLLayout: Sendable {
    /// The namespaces an unprefixed name in a path may be in (for example every version
    /// of camt.053 a spec accepts). Empty: unprefixed names match elements in no namespace.
    public let namespaces: [String]
    /// Prefixes usable in paths, for elements in other namespaces.
    public let prefixes: [String: String]
}

/// A name in an XML path: a local name, in the spec's namespaces (`namespace == nil`) or in
/// the one a prefix names.
public struct XMLName: Hashable, Sendable, CustomStringConvertible {
    public let namespace: String?
    public let local: String
    public var description: String { local }
}

/// One step of an XML path, with an optional predicate: `Bal[Tp/CdOrPrtry/Cd=OPBD|PRCD]`.
public struct XMLStep: Hashable, Sendable {
    public let name: XMLName
    public let predicate: XMLPredicate?
}

/// The step only counts when the text at `path` (relative to the step's element) is one
/// of `values`.
public struct XMLPredicate: Hashable, Sendable {
    public let path: [XMLName]
    public let values: [String]
}

/// Where a field's value sits: element steps from the document root, then optionally an
/// attribute of the last element.
public struct XMLValuePath: Hashable, Sendable {
    public let steps: [XMLStep]
    public let attribute: String?
    /// How many leading steps are shared with the record's own path: the value belongs to
    /// the element at that depth (the record itself, or an enclosing element such as the
    /// statement around an entry).
    public let scopeDepth: Int
    /// The path as written in the spec, for messages.
    public let written: String
}

// MARK: Record kinds

public final class RecordKind: Sendable {
    public let name: String
    public let index: Int
    /// How the kind is told apart; nil for a spec's only kind and for XML kinds (their path
    /// tells them apart).
    public let match: RecordMatch?
    /// Records matching no other kind are this kind (`default: true`).
    public let isFallback: Bool
    /// XML: the absolute path of the record element.
    public let xmlPath: [XMLStep]?
    public let fields: [FieldSpec]
    public let minOccurs: Int
    public let maxOccurs: Int?
    /// Counted but not type-checked: fillers, banners, blocking records.
    public let ignored: Bool
    public let event: CanonicalEvent?
    /// The fields that identify a record across files (`key: [loan_id, period]`): a record
    /// whose key was posted before is a duplicate. Empty when the kind has no key.
    public let key: [String]
    /// Fixed-width: the kind's own `short_records`, overriding the spec's; nil to follow it.
    public let shortRecords: ShortRecordPolicy?
    /// Amounts whose sign comes from an indicator field, resolved to field indexes once.
    let signIndicators: [SignIndicator]
    /// Fixed-width: each field's 0-based start and length (-1 for other sources).
    let slices: [FieldSlice]
    /// The pattern when the kind is matched by a whole-line pattern (fields from captures).
    let linePattern: SpecRegex?
    /// Each field's name as a JSON string, for writing records as JSON without strings.
    let quotedFieldNames: [[UInt8]]
    /// The parts that follow the first line of a record assembled from several (`parts:`);
    /// empty for a record of one line.
    public let parts: [RecordPart]
    /// Per field, the field (index) and values its `when:` condition reads; nil for most.
    let conditions: [ResolvedCondition?]
    /// Some field has a `when:` condition.
    let hasConditions: Bool
    /// Tagged files: the content layout and the tags that belong to the record.
    public let tagged: TaggedKindLayout?
    /// Dates written without their year, each with the date field it takes it from.
    let yearSources: [YearSource]

    struct YearSource: Sendable {
        let field: Int
        let reference: Int
    }
    /// Delimited: the kind continues the record before it (`continuation: true`, BAI2's
    /// `88`): its cells after the discriminator are more cells of that record.
    public let isContinuation: Bool
    /// Delimited: fields take the cells in order (no field gives a column), some only when
    /// a code says so (``CellRule``).
    public let isSequential: Bool
    /// Fields computed from other fields of the record once it is read (``DerivedValue``).
    let derivedPlans: [DerivedPlan]
    /// Some value is settled once every field is in (a year from another field, a sign
    /// indicator, a derived value): records of other kinds skip that step.
    let hasValueSteps: Bool

    struct FieldSlice: Sendable {
        let start: Int
        let length: Int
    }

    struct SignIndicator: Sendable {
        let amount: Int
        let indicator: Int
        let negative: [String]
        let positive: [String]
    }

    public init(name: String, index: Int, match: RecordMatch?, isFallback: Bool, xmlPath: [XMLStep]?,
                fields: [FieldSpec], minOccurs: Int, maxOccurs: Int?, ignored: Bool, event: CanonicalEvent?,
                key: [String] = [], shortRecords: ShortRecordPolicy? = nil, parts: [RecordPart] = [],
                tagged: TaggedKindLayout? = nil, continuation: Bool = false) {
        self.name = name
        self.parts = parts
        conditions = ResolvedCondition.resolve(fields)
        hasConditions = conditions.contains { $0 != nil }
        self.index = index
        self.match = match
        self.isFallback = isFallback
        self.xmlPath = xmlPath
        self.fields = fields
        self.minOccurs = minOccurs
        self.maxOccurs = maxOccurs
        self.ignored = ignored
        self.event = event
        self.key = key
        self.shortRecords = shortRecords
        self.tagged = tagged
        yearSources = fields.enumerated().compactMap { index, field in
            guard let name = field.yearFrom, let reference = fields.firstIndex(where: { $0.name == name }) else { return nil }
            return YearSource(field: index, reference: reference)
        }
        var indicators: [SignIndicator] = []
        for (index, field) in fields.enumerated() {
            if case .indicator(let name, let negative, let positive)? = field.type.signRule,
               let indicator = fields.firstIndex(where: { $0.name == name }) {
                indicators.append(SignIndicator(amount: index, indicator: indicator, negative: negative, positive: positive))
            }
        }
        signIndicators = indicators
        isContinuation = continuation
        isSequential = fields.contains { if case .column(.index(let i)) = $0.source { return i < 0 } else { return false } }
        derivedPlans = DerivedPlan.plans(for: fields)
        hasValueSteps = !yearSources.isEmpty || !signIndicators.isEmpty || !derivedPlans.isEmpty
        if case .line(let pattern)? = match { linePattern = pattern } else { linePattern = nil }
        quotedFieldNames = fields.map { Array(JSONText.quote($0.name).utf8) }
        slices = fields.map { field in
            if case .slice(let start, let length) = field.source { return FieldSlice(start: start, length: length) }
            return FieldSlice(start: -1, length: 0)
        }
    }

    public func fieldIndex(named name: String) -> Int? { fields.firstIndex { $0.name == name } }
}

public enum RecordMatch: Sendable {
    /// Fixed-width: the bytes at `start..<start+length` (0-based, in the file's encoding and
    /// position unit) equal one of `values`.
    case literal(start: Int, length: Int, values: [[UInt8]])
    /// Fixed-width: the slice matches a regular expression.
    case slicePattern(start: Int, length: Int, pattern: SpecRegex)
    /// Delimited: the column's trimmed text equals one of the values.
    case column(ColumnReference, values: [String])
    /// Delimited: the column's trimmed text matches a regular expression.
    case columnPattern(ColumnReference, SpecRegex)
    /// Delimited: the record has exactly this many columns.
    case columnCount(Int)
    /// Any text format: the whole line matches; fields come from capture groups.
    case line(SpecRegex)
    /// Tagged files: the block's tag is one of these (`60F`, `60M`).
    case tag([String])
}

// MARK: Fields

// Immutable after init; the only non-Sendable member is the token storage, written once in
// init and read-only after.
public final class FieldSpec: @unchecked Sendable {
    public let name: String
    public let source: FieldSource
    public let type: FieldType
    public let trim: TrimRule
    /// Affixes removed after trimming (`¥`, a back-tick), as UTF-8.
    public let strip: [[UInt8]]
    /// Placeholders that mean "no value" (`/`, `-`), as UTF-8.
    public let emptyMarkers: [[UInt8]]
    /// A regular expression whose first capture group is the value (for values embedded in
    /// free text, such as a fee inside a remark).
    public let extract: SpecRegex?
    public let required: Bool
    public let pattern: SpecRegex?
    public let minimum: FieldValue?
    public let maximum: FieldValue?
    public let minLength: Int?
    public let maxLength: Int?
    /// Partner code → canonical value.
    public let codes: [String: String]?
    /// With `codes`: keep a code the map does not list instead of rejecting the record.
    public let keepUnmappedCodes: Bool
    public let padding: Padding
    /// Checks whose failure is a warning, not a rejection (`warn:`): a shadow field holding
    /// them (`required`, `pattern`, `min`, `max`, `min_length`, `max_length`).
    public let warnings: FieldSpec?
    /// Read only when another field holds one of some values (`when:`); blank otherwise.
    public let condition: LayoutCondition?
    /// A date written without its year (`MMdd`) takes it from this date field of the
    /// record (`year_from:`): the year that puts it nearest that date.
    public let yearFrom: String?
    /// A value computed from other fields of the record (`combine:`, `sum_of:`); the field
    /// reads its anchor's raw text and is replaced when the record is complete.
    public let derived: DerivedValue?
    /// Delimited, sequential kinds: when the field takes cells, and how many (``CellRule``).
    public let cellRule: CellRule?
    /// XML: the field as read through each path alternative with a type of its own (nil: as declared).
    public let alternativeFields: [FieldSpec?]

    /// The code map as one run of UTF-8 keys (`codeEnds` marks where each ends) and their
    /// values, scanned linearly: faster than hashing for the handful of codes files use.
    let codeBytes: [UInt8]
    let codeEnds: [Int]
    let codeValues: [FieldValue]
    let codeValueUTF8: [[UInt8]]
    /// Only trimming stands between the raw bytes and the typed parse.
    let isPlain: Bool
    /// Some check beyond the type applies (length, pattern, range).
    let hasChecks: Bool
    /// `warn:` declares checks beyond the type (tested per value without touching `warnings`).
    let warnsOnChecks: Bool
    /// The type as plain data, so the per-value parse copies no enum payloads.
    let plan: ValuePlan
    /// Integer and decimal bounds in units of the field's scale (so checks compare Int64s).
    let minimumUnits: Int64?
    let maximumUnits: Int64?
    private let tokenStorage: UnsafeMutableBufferPointer<DateTimeFormat.Token>

    public init(name: String, source: FieldSource, type: FieldType, trim: TrimRule, strip: [[UInt8]],
                emptyMarkers: [[UInt8]], extract: SpecRegex?, required: Bool, pattern: SpecRegex?,
                minimum: FieldValue?, maximum: FieldValue?, minLength: Int?, maxLength: Int?,
                codes: [String: String]?, keepUnmappedCodes: Bool, padding: Padding, warnings: FieldSpec? = nil,
                condition: LayoutCondition? = nil, yearFrom: String? = nil,
                derived: DerivedValue? = nil, cellRule: CellRule? = nil, alternativeFields: [FieldSpec?] = []) {
        self.name = name
        self.warnings = warnings
        warnsOnChecks = warnings?.hasChecks ?? false
        self.condition = condition
        self.source = source
        self.type = type
        self.trim = trim
        self.strip = strip
        self.emptyMarkers = emptyMarkers
        self.extract = extract
        self.required = required
        self.pattern = pattern
        self.minimum = minimum
        self.maximum = maximum
        self.minLength = minLength
        self.maxLength = maxLength
        self.codes = codes
        self.keepUnmappedCodes = keepUnmappedCodes
        self.padding = padding
        self.yearFrom = yearFrom
        self.derived = derived
        self.cellRule = cellRule
        self.alternativeFields = alternativeFields
        var codeBytes: [UInt8] = [], codeEnds: [Int] = [], codeValues: [FieldValue] = []
        for (code, value) in (codes ?? [:]).sorted(by: { $0.key < $1.key }) {
            codeBytes += Array(code.utf8)
            codeEnds.append(codeBytes.count)
            codeValues.append(.text(value))
        }
        self.codeBytes = codeBytes
        self.codeEnds = codeEnds
        self.codeValues = codeValues
        codeValueUTF8 = codeValues.map { Array($0.description.utf8) }
        isPlain = strip.isEmpty && emptyMarkers.isEmpty && extract == nil
        hasChecks = pattern != nil || minimum != nil || maximum != nil || minLength != nil || maxLength != nil
        func units(_ bound: FieldValue?) -> Int64? {
            switch (bound, type) {
            case (.integer(let n)?, .integer): return n
            case (.decimal(let d)?, .decimal(let f)) where d.scale <= f.scale: return d.rescaled(to: f.scale)?.units
            default: return nil
            }
        }
        minimumUnits = units(minimum)
        maximumUnits = units(maximum)
        let tokens = type.dateTimeFormat?.tokens ?? []
        tokenStorage = .allocate(capacity: tokens.count)
        _ = tokenStorage.initialize(from: tokens)
        plan = ValuePlan(derived == nil ? type : .string, tokens: UnsafeBufferPointer(tokenStorage))
    }

    deinit { tokenStorage.deallocate() }
}

extension FieldSpec {
    /// A sender's right-trimming can only have taken padding from this field: left-aligned
    /// text, padded with spaces, whose trailing spaces are trimmed when read.
    var trailingSpacesArePadding: Bool {
        guard case .string = type, trim == .both || trim == .right else { return false }
        return !padding.alignRight && padding.byte == 0x20
    }
}

public enum FieldSource: Sendable {
    /// Fixed-width: 0-based start and length, in the layout's position unit.
    case slice(start: Int, length: Int)
    case column(ColumnReference)
    /// Capture group of the kind's `line` pattern.
    case capture(Int)
    /// XML: the first path that has a value wins.
    case xml([XMLValuePath])
    /// Tagged files: the whole content of a tag of the record (its own, or one that follows
    /// it): the first of these the record holds (`tag: "25|25P"`).
    case tag([String])
    /// Text formats: the value of a field of an earlier record (`from: statement.account`).
    case inherited(InheritedSource)
}

public enum FieldType: Sendable {
    case string
    case integer(IntegerFormat)
    case decimal(DecimalFormat)
    case date(DateTimeFormat)
    case time(DateTimeFormat)
    case dateTime(DateTimeFormat)

    public var name: String {
        switch self {
        case .string: return "string"
        case .integer: return "integer"
        case .decimal: return "decimal"
        case .date: return "date"
        case .time: return "time"
        case .dateTime: return "datetime"
        }
    }

    public static let names = ["string", "integer", "decimal", "date", "time", "datetime"]
}

public struct IntegerFormat: Sendable {
    public let thousands: UInt8?
    public let sign: SignRule
}

public struct DecimalFormat: Sendable {
    /// Digits after the point the value keeps: 2 for cents and fen. A value with more
    /// non-zero decimals is rejected, never rounded.
    public let scale: Int
    /// `000000389786` is 3897.86: the digits are minor units and no point is written.
    public let implied: Bool
    public let point: UInt8
    public let thousands: UInt8?
    public let sign: SignRule
}

public enum SignRule: Sendable {
    /// An optional leading `-` or `+`.
    case leading
    /// An optional trailing `-` or `+` (`123.45-`).
    case trailing
    /// Either of the above.
    case any
    /// No sign allowed.
    case unsigned
    /// The sign comes from another field of the record: a C/D or CRDT/DBIT indicator.
    case indicator(field: String, negative: [String], positive: [String])
}

public enum TrimRule: String, Sendable {
    case both, left, right, none
}

/// How a rendered value fills a fixed-width slot.
public struct Padding: Sendable {
    public let byte: UInt8
    public let alignRight: Bool
}

// MARK: Controls

/// A total the file declares about itself — a trailer's record count, a batch's debit sum,
/// a statement's closing balance — checked against what was actually read.
public struct ControlTotal: Sendable {
    public let name: String
    public let measure: Measure
    /// Only records whose field text is one of the values count.
    public let filter: [(field: String, values: Set<String>)]
    /// Keep only the remainder (NACHA's entry hash keeps the rightmost ten digits).
    public let modulo: Int64?
    /// The declared value: a sum of ± fields of records in the scope.
    public let declared: [DeclaredTerm]
    public let scope: ControlScope
    /// The declared value is how many records of these kinds the scope holds
    /// (`equals: {count: batch_end}`); `declared` is then empty.
    public var declaredCount: [String] = []
    /// Judged only in groups that hold a record of one of these kinds (`only_with:`).
    public var onlyWith: [String] = []
    /// What an absent declared value means (`absent:`).
    public var absent: AbsentPolicy = .fails
    /// A sequence's first number (`start:`); nil: any.
    public var sequenceStart: Int64? = nil

    public enum Measure: Sendable {
        case count(kinds: [String])
        case sum(kind: String, field: String)
        /// One total over several ± fields (`sum: [summary.amount, detail.amount]`).
        case sums([DeclaredTerm])
        /// The field goes up by one from record to record (`sequence: entry.number`).
        case sequence([DeclaredTerm])
        /// The fields hold the same value in every record (`same: [opening.account, closing.account]`).
        case same([DeclaredTerm])
    }

    public struct DeclaredTerm: Sendable {
        public let negated: Bool
        public let kind: String
        public let field: String
    }

    public var declaredText: String {
        if declared.isEmpty && !declaredCount.isEmpty { return "the count of " + declaredCount.joined(separator: " and ") + " records" }
        return declared.enumerated().map { index, term in
            (term.negated ? (index == 0 ? "-" : " - ") : (index == 0 ? "" : " + ")) + term.kind + "." + term.field
        }.joined()
    }
}

public enum ControlScope: Sendable {
    /// The whole file.
    case file
    /// A group of records: opened by a `from` record (or the end of the previous group, or
    /// the start of the file) and closed by a `to` record (or the next `from`, or the end).
    case group(from: String?, to: String?)
}

// MARK: Examples

/// A sample file the spec names, with what reading it must give; `reckon spec test` runs
/// them.
public struct SpecExample: Sendable {
    /// Relative to the spec file.
    public let file: String
    public let records: [String: Int]
    public let rejected: Int?
    public let controlsHold: Bool?
    /// `kind.field` → expected sum in minor units.
    public let sums: [(kind: String, field: String, total: Int64)]
    /// The file must fail as a whole with a message containing this text.
    public let failure: String?
}

/// A field type as plain data for the hot path: no member is reference counted, so readers
/// copy it freely. `tokens` points at memory its owner (a ``FieldSpec``) keeps alive.
struct ValuePlan: @unchecked Sendable {
    enum Tag: Sendable { case string, integer, decimal, date, time, dateTime }
    enum Sign: Sendable { case leading, trailing, any, unsigned, indicator }

    let tag: Tag
    let scale: Int
    let implied: Bool
    let point: UInt8
    let thousands: UInt8
    let hasThousands: Bool
    let sign: Sign
    let tokens: UnsafeBufferPointer<DateTimeFormat.Token>

    init(_ type: FieldType, tokens: UnsafeBufferPointer<DateTimeFormat.Token>) {
        var scale = 0, implied = true, point: UInt8 = 0, thousands: UInt8? = nil, rule = SignRule.leading
        switch type {
        case .string: tag = .string
        case .integer(let f): tag = .integer; thousands = f.thousands; rule = f.sign
        case .decimal(let f):
            tag = .decimal; scale = f.scale; implied = f.implied; point = f.point; thousands = f.thousands; rule = f.sign
        case .date: tag = .date
        case .time: tag = .time
        case .dateTime: tag = .dateTime
        }
        self.scale = scale
        self.implied = implied
        self.point = point
        self.thousands = thousands ?? 0
        self.hasThousands = thousands != nil
        switch rule {
        case .leading: sign = .leading
        case .trailing: sign = .trailing
        case .any: sign = .any
        case .unsigned: sign = .unsigned
        case .indicator: sign = .indicator
        }
        self.tokens = tokens
    }
}

extension FieldType {
    /// How a number's sign is written; nil for types without one.
    var signRule: SignRule? {
        switch self {
        case .decimal(let format): return format.sign
        case .integer(let format): return format.sign
        default: return nil
        }
    }

    var dateTimeFormat: DateTimeFormat? {
        switch self {
        case .date(let f), .time(let f), .dateTime(let f): return f
        default: return nil
        }
    }
}
