import ReckonCore
import Testing

/// Loads a spec from YAML text; the origin is `test.yaml`.
func loadSpec(_ yaml: String, origin: String = "test.yaml") throws(SpecError) -> MappingSpec {
    try SpecLoader.load(yaml: yaml, origin: origin)
}

/// The error a spec gives, or nil when it loads.
func specError(_ yaml: String) -> SpecError? {
    do {
        _ = try loadSpec(yaml)
        return nil
    } catch {
        return error
    }
}

/// Reads bytes through a fixed-width or delimited spec, keeping every passed record.
/// `readBytes` limits how much each read returns, to exercise every buffer boundary.
func read(_ spec: MappingSpec, _ bytes: [UInt8], options: CheckOptions = CheckOptions(), readBytes: Int = .max)
    -> (report: FileReport, records: [ParsedRecord]) {
    var records: [ParsedRecord] = []
    let source = TricklingSource(bytes: bytes, readBytes: readBytes)
    let report: FileReport
    switch spec.format {
    case .fixedWidth:
        var reader = FixedWidthReader(spec: spec, source: source, chunkBytes: 64)
        report = FileCheck.run(&reader, spec: spec, file: "input", options: options) { records.append($0.materialize()) }
    case .delimited:
        var reader = DelimitedReader(spec: spec, source: source, chunkBytes: 64)
        report = FileCheck.run(&reader, spec: spec, file: "input", options: options) { records.append($0.materialize()) }
    case .tagged:
        var reader = TaggedReader(spec: spec, source: source, chunkBytes: 64)
        report = FileCheck.run(&reader, spec: spec, file: "input", options: options) { records.append($0.materialize()) }
    case .xml:
        preconditionFailure("XML is read by ReckonXML; see ReckonFilesTests")
    }
    return (report, records)
}

func read(_ spec: MappingSpec, _ text: String, options: CheckOptions = CheckOptions()) -> (report: FileReport, records: [ParsedRecord]) {
    read(spec, Array(text.utf8), options: options)
}

/// The named field's value; a name the kind lacks fails the test (not the whole run).
func value(_ record: ParsedRecord, _ name: String, in spec: MappingSpec) -> FieldValue {
    let kind = spec.kinds[record.kindIndex]
    guard let index = kind.fieldIndex(named: name), record.values.indices.contains(index) else {
        Issue.record("record kind '\(kind.name)' has no field '\(name)'")
        return .empty
    }
    return record.values[index]
}

func amount(_ units: Int64, scale: Int = 2) -> FieldValue { .decimal(DecimalAmount(units: units, scale: scale)) }

func date(_ y: Int, _ m: Int, _ d: Int) -> CivilDate { CivilDate(year: y, month: m, day: d)! }

/// The problems' texts, for asserting on messages.
func problemTexts(_ report: FileReport) -> [String] { report.problems.map(\.description) }

/// Bytes handed out at most `readBytes` at a time.
struct TricklingSource: ByteSource {
    var inner: InMemoryByteSource
    let readBytes: Int

    init(bytes: [UInt8], readBytes: Int) {
        inner = InMemoryByteSource(bytes)
        self.readBytes = readBytes
    }

    mutating func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        try inner.read(into: UnsafeMutableRawBufferPointer(rebasing: buffer.prefix(readBytes)))
    }
}

extension Collection {
    /// The element `offset` places from the start, or a failure of the calling test when the
    /// collection is shorter: a test that expects a plan line that is not there fails alone,
    /// instead of trapping on the index and ending the whole run.
    func element(at offset: Int, sourceLocation: SourceLocation = #_sourceLocation) throws -> Element {
        try #require(offset >= 0 && offset < count ? self[index(startIndex, offsetBy: offset)] : nil,
                     "no element \(offset): there are \(count)", sourceLocation: sourceLocation)
    }
}
