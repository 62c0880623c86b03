#if canImport(Glibc)
import Glibc
#endif
import ReckonCore
import ReckonXML

/// Loading specs from disk.
public enum SpecFile {
    /// Loads and validates a spec; every problem is a ``SpecError`` naming the file.
    public static func load(_ path: String) throws(SpecError) -> MappingSpec {
        let text: String
        do {
            text = try SmallFile.text(path)
        } catch {
            throw SpecError(file: path, keyPath: "", line: nil, message: error.reason)
        }
        return try SpecLoader.load(yaml: text, origin: path)
    }
}

/// Reading a partner file from disk through its spec.
public enum PartnerFile {
    /// A reader for `source` in the spec's format.
    public static func reader(spec: MappingSpec, source: any ByteSource) -> any RecordReader {
        switch spec.format {
        case .fixedWidth: return FixedWidthReader(spec: spec, source: source)
        case .delimited: return DelimitedReader(spec: spec, source: source)
        case .xml: return XMLRecordReader(spec: spec, source: source)
        case .tagged: return TaggedReader(spec: spec, source: source)
        }
    }

    /// Reads the whole file and reports on it. A file that cannot be opened is reported as
    /// a failure, not thrown, so a batch of files carries on.
    public static func check(_ path: String, spec: MappingSpec, options: CheckOptions = CheckOptions(),
                             onRecord: (RecordView) -> Void = { _ in }) -> FileReport {
        let source: FileByteSource
        do {
            source = try FileByteSource(path: path)
        } catch {
            var check = FileCheck(spec: spec, file: path, options: options)
            check.fail(FileFailure(location: nil, reason: error.reason))
            return check.finish()
        }
        var reader = reader(spec: spec, source: source)
        return FileCheck.run(&reader, spec: spec, file: path, options: options, onRecord: onRecord)
    }
}

/// The specs in a folder.
public enum SpecDirectory {
    /// `*.yaml` and `*.yml` files directly in `path`, sorted by name.
    public static func list(_ path: String) -> [String] {
        guard let directory = opendir(path) else { return [] }
        defer { closedir(directory) }
        var names: [String] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(cString: raw.bindMemory(to: CChar.self).baseAddress!)
            }
            if name.hasSuffix(".yaml") || name.hasSuffix(".yml") { names.append(name) }
        }
        return names.sorted().map { path.hasSuffix("/") ? path + $0 : path + "/" + $0 }
    }
}

/// Loading `reckon.yaml`.
public enum ConfigFile {
    public static let defaultPath = "reckon.yaml"

    public static func load(_ path: String = defaultPath) throws(SpecError) -> ReckonConfig {
        let text: String
        do {
            text = try SmallFile.text(path)
        } catch {
            throw SpecError(file: path, keyPath: "", line: nil, message: error.reason)
        }
        let config = try ConfigLoader.load(yaml: text, origin: path)
        try checkOutboundSpecs(config)
        return try resolvingReconciliationFields(config)
    }

    /// Checks each outbound file's spec (``OutboundFileKind``): it loads, has the record kind
    /// the file's details are written through, and every field it requires is one the settle
    /// step gives or a control total the renderer computes. A spec that could never be
    /// written is refused here, with the key that names it, not on the day it is needed.
    static func checkOutboundSpecs(_ config: ReckonConfig) throws(SpecError) {
        for partner in config.partners {
            for file in partner.outbound?.files ?? [] {
                func refuse(_ message: String) -> SpecError {
                    SpecError(file: config.origin, keyPath: file.specKeyPath, line: file.specLine, message: message)
                }
                let spec: MappingSpec
                do {
                    spec = try SpecFile.load(file.specPath)
                } catch {
                    throw refuse("the \(file.kind.rawValue) file's spec cannot be used: \(error)")
                }
                guard let detail = spec.kind(named: file.kind.detailKind) else {
                    throw refuse("\(file.specPath) has no record kind '\(file.kind.detailKind)', which a \(file.kind.rawValue) file's details are written through")
                }
                let envelope = Set(spec.kinds.filter { $0 !== detail }.flatMap { $0.fields.map(\.name) })
                if let unknown = file.header.keys.sorted().first(where: { !envelope.contains($0) }) {
                    throw refuse("header: \(file.specPath) has no header or trailer field '\(unknown)'"
                                 + (envelope.isEmpty ? "" : "; its fields are \(envelope.sorted().joined(separator: ", "))"))
                }
                let computed = Set(spec.controls.flatMap { $0.declared.map { "\($0.kind).\($0.field)" } })
                for kind in spec.kinds {
                    let given = kind === detail ? file.kind.detailFields : OutboundFileKind.headerFields.union(file.header.keys)
                    for field in kind.fields where field.required && !given.contains(field.name) && !computed.contains("\(kind.name).\(field.name)") {
                        throw refuse("\(file.specPath): \(kind.name).\(field.name) is required, but a \(file.kind.rawValue) file has no such value "
                                     + "(\(kind === detail ? "its details give" : "its header and trailer give the fixed values of header: and") "
                                     + "\(given.sorted().joined(separator: ", ")))")
                    }
                }
            }
        }
    }

    /// Checks the reconciliation rules' fields against the specs they read (a field a side
    /// does not have is refused with its key). A spec that cannot be loaded is left to the
    /// commands that read its files: they say why.
    static func resolvingReconciliationFields(_ config: ReckonConfig) throws(SpecError) -> ReckonConfig {
        guard !config.reconciliation.rules.isEmpty else { return config }
        var specs: [String: MappingSpec?] = [:]
        func kinds(_ partner: String, _ fileType: String, _ event: CanonicalEvent) -> [String: ReconFieldKind]? {
            guard let type = config.partner(partner)?.fileType(fileType) else { return nil }
            if specs[type.specPath] == nil { specs[type.specPath] = .some(try? SpecFile.load(type.specPath)) }
            guard case .some(.some(let spec)) = specs[type.specPath] else { return nil }
            var fields = ReconSource.eventFields
            for kind in spec.kinds where kind.event == event {
                for field in kind.fields {
                    switch field.type {
                    case .string: fields[field.name] = .text
                    case .integer: fields[field.name] = .integer
                    case .decimal: fields[field.name] = .amount
                    case .date, .dateTime: fields[field.name] = .date
                    case .time: fields[field.name] = .text
                    }
                }
            }
            return fields
        }
        var resolved = config
        resolved.reconciliation = try config.reconciliation.resolvingFields { source, name in
            let known: ReconFieldKind?
            switch source.origin {
            case .planLines: known = ReconSource.planLineFields[name]
            case .allocations: known = ReconSource.allocationFields[name]
            case .events(let event, let partner, let fileType):
                guard let fields = kinds(partner, fileType, event) else { return .unchecked }
                known = fields[name]
            }
            return known.map(ReconFieldLookup.kind) ?? .unknown
        }
        return resolved
    }
}
