import Foundation
import ReckonCore
import ReckonFiles
import Testing

/// The repository root, found from this file.
let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .deletingLastPathComponent().deletingLastPathComponent().path
let mappings = repositoryRoot + "/mappings"
let samples = mappings + "/samples"

func spec(_ name: String) throws -> MappingSpec {
    try SpecFile.load(mappings + "/" + name)
}

/// Reads a file through a spec, keeping the passed records.
func check(_ path: String, _ spec: MappingSpec, options: CheckOptions = CheckOptions()) -> (report: FileReport, records: [ParsedRecord]) {
    var records: [ParsedRecord] = []
    let report = PartnerFile.check(path, spec: spec, options: options) { records.append($0.materialize()) }
    return (report, records)
}

/// Reads bytes through any spec, XML included.
func check(bytes: [UInt8], _ spec: MappingSpec) -> (report: FileReport, records: [ParsedRecord]) {
    var records: [ParsedRecord] = []
    var reader = PartnerFile.reader(spec: spec, source: InMemoryByteSource(bytes))
    let report = FileCheck.run(&reader, spec: spec, file: "input") { records.append($0.materialize()) }
    return (report, records)
}

extension ParsedRecord {
    /// The named field's value; a name the kind lacks fails the test (not the whole run).
    func value(_ name: String, in spec: MappingSpec) -> FieldValue {
        guard let index = spec.kinds[kindIndex].fieldIndex(named: name), values.indices.contains(index) else {
            Issue.record("record kind '\(kind(in: spec))' has no field '\(name)'")
            return .empty
        }
        return values[index]
    }

    func kind(in spec: MappingSpec) -> String { spec.kinds[kindIndex].name }
}

extension FieldValue {
    /// Minor units of a decimal (or the integer itself).
    var units: Int64? {
        switch self {
        case .decimal(let d): return d.units
        case .integer(let n): return n
        default: return nil
        }
    }
}

/// A scratch folder, removed when the value is released.
final class ScratchFolder {
    let path: String

    init() {
        path = NSTemporaryDirectory() + "reckon-test-" + UUID().uuidString
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    func write(_ name: String, _ bytes: [UInt8]) -> String {
        let file = path + "/" + name
        _ = FileManager.default.createFile(atPath: file, contents: Data(bytes))
        return file
    }

    func write(_ name: String, _ text: String) -> String { write(name, Array(text.utf8)) }
}
