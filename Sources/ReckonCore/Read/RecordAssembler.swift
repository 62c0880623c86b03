/// Memory for one record's values: a slot per field and an arena for text. Owned by a
/// class so it is freed with its reader; the assembler keeps the raw pointers and touches
/// them without reference counting.
final class RecordStorage {
    let slots: UnsafeMutablePointer<Slot>
    let slotCapacity: Int
    /// The current record's warnings, where a view can point at them.
    let warnings: UnsafeMutablePointer<[FieldProblem]> = {
        let box = UnsafeMutablePointer<[FieldProblem]>.allocate(capacity: 1)
        box.initialize(to: [])
        return box
    }()
    var arena: UnsafeMutableRawPointer
    var arenaCapacity: Int
    private(set) var kernels: UnsafeMutablePointer<FieldKernel> = .allocate(capacity: 1)
    private var kernelCount = 0

    func keepKernels(_ list: [FieldKernel]) {
        kernels.deinitialize(count: kernelCount)
        kernels.deallocate()
        kernels = .allocate(capacity: max(list.count, 1))
        kernels.initialize(from: list, count: list.count)
        kernelCount = list.count
    }

    init(slotCapacity: Int, arenaCapacity: Int) {
        self.slotCapacity = max(slotCapacity, 1)
        slots = .allocate(capacity: self.slotCapacity)
        slots.initialize(repeating: .empty, count: self.slotCapacity)
        self.arenaCapacity = max(arenaCapacity, 256)
        arena = .allocate(byteCount: self.arenaCapacity, alignment: 16)
    }

    deinit {
        warnings.deinitialize(count: 1)
        warnings.deallocate()
        slots.deallocate()
        arena.deallocate()
        kernels.deinitialize(count: kernelCount)
        kernels.deallocate()
    }

    func growArena(toHold bytes: Int) {
        var capacity = arenaCapacity
        while capacity < bytes { capacity *= 2 }
        let grown = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 16)
        grown.copyMemory(from: arena, byteCount: arenaCapacity)
        arena.deallocate()
        arena = grown
        arenaCapacity = capacity
    }
}

/// Turns one record's raw field bytes into values, collecting every problem; shared by the
/// fixed-width, delimited and XML readers so a field means the same thing in every format.
struct RecordAssembler {
    let spec: MappingSpec
    let decoder: TextDecoder
    private let storage: RecordStorage
    let slots: UnsafeMutablePointer<Slot>
    private(set) var arena: UnsafeMutableRawPointer
    private var arenaCapacity: Int
    private var arenaUsed = 0
    private var count = 0
    private var decoded: [UInt8] = []
    var problems: [FieldProblem] = []
    /// Problems declared warnings (`warn:`): reported, the record still passes.
    private(set) var warnings: [FieldProblem] = []
    /// Every field of every kind as plain data, kind by kind; `kernelStart[k]` is where
    /// kind k's fields begin. Kept in the storage's memory so reading one costs no
    /// reference counting.
    private let kernels: UnsafePointer<FieldKernel>
    let kernelStart: [Int]
    /// Values inherited fields take from earlier records (nil when no field inherits).
    let inheritance: InheritedValues?

    init(spec: MappingSpec) {
        self.spec = spec
        decoder = TextDecoder(spec.encoding)
        let widest = spec.kinds.map(\.fields.count).max() ?? 1
        storage = RecordStorage(slotCapacity: widest, arenaCapacity: 4096)
        slots = storage.slots
        arena = storage.arena
        arenaCapacity = storage.arenaCapacity
        decoded.reserveCapacity(4096)
        var kernels: [FieldKernel] = []
        var starts: [Int] = []
        let inheritance = InheritedValues(spec: spec)
        self.inheritance = inheritance
        for kind in spec.kinds {
            starts.append(kernels.count)
            for (index, field) in kind.fields.enumerated() {
                kernels.append(FieldKernel(
                    plan: field.plan, start: kind.slices[index].start, length: kind.slices[index].length,
                    trim: field.trim, required: field.required,
                    simple: field.isPlain && !field.hasChecks && field.codeValues.isEmpty && field.warnings == nil,
                    field: Unmanaged.passUnretained(field),
                    inherit: inheritance?.entryOfKernel[kernels.count] ?? -1))
            }
        }
        storage.keepKernels(kernels)
        self.kernels = UnsafePointer(storage.kernels)
        kernelStart = starts
    }

    @inline(__always)
    func kernel(_ index: Int) -> FieldKernel { kernels[index] }

    @inline(__always)
    mutating func begin(_ kind: RecordKind) {
        count = 0
        arenaUsed = 0
        if !problems.isEmpty { problems.removeAll(keepingCapacity: true) }
        if !warnings.isEmpty { warnings.removeAll(keepingCapacity: true) }
    }

    mutating func addProblem(_ problem: FieldProblem) { problems.append(problem) }

    mutating func addWarning(_ problem: FieldProblem) { warnings.append(problem) }
    /// Problems from `index` on are on physical line `line` (a later part of an assembled
    /// record, `parts:`).
    mutating func placeProblems(from index: Int, onLine line: Int) {
        for i in index..<problems.count where problems[i].line == nil { problems[i].line = line }
    }

    // MARK: Slots

    @inline(__always)
    mutating func put(_ slot: Slot) {
        precondition(count < storage.slotCapacity, "more values than the kind has fields")
        slots[count] = slot
        count += 1
    }

    /// Keeps text bytes in the arena and puts a slot pointing at them.
    @inline(__always)
    mutating func putText(_ bytes: UnsafeRawBufferPointer) {
        if arenaUsed + bytes.count > arenaCapacity {
            storage.growArena(toHold: arenaUsed + bytes.count)
            arena = storage.arena
            arenaCapacity = storage.arenaCapacity
        }
        if let base = bytes.baseAddress, bytes.count > 0 {
            (arena + arenaUsed).copyMemory(from: base, byteCount: bytes.count)
        }
        put(.text(offset: Int32(arenaUsed), length: Int32(bytes.count)))
        arenaUsed += bytes.count
    }

    // MARK: Fields

    /// The hot path for a field with no affixes, markers, codes or checks, in bytes known
    /// to be UTF-8: trim, parse, put. A failure goes the long way round for its message.
    @inline(__always)
    mutating func addSimple(_ kernel: FieldKernel, raw: UnsafeRawBufferPointer) {
        let bytes = ValueParser.trim(raw, kernel.trim)
        if bytes.isEmpty {
            if kernel.required { kernel.field._withUnsafeGuaranteedRef { readSlowly($0, utf8: raw) } } else { put(.empty) }
            return
        }
        switch ValueParser.parseScalar(bytes, kernel.plan) {
        case .success(let slot?): put(slot)
        case .success(nil): putText(bytes)
        case .failure: kernel.field._withUnsafeGuaranteedRef { readSlowly($0, utf8: raw) }
        }
    }

    /// Reads one field from bytes in the file's encoding. `validated` says the bytes are
    /// known to be well-formed UTF-8 already (the reader checked the whole record).
    /// `fileOffset` is where the bytes start in the file, for encoding errors.
    mutating func add(_ field: FieldSpec, raw: UnsafeRawBufferPointer, validated: Bool, fileOffset: Int64) {
        if validated || decoder.isUTF8Already(raw) {
            if !validated, decoder.encoding == .utf8, let failure = UTF8Validation.check(raw) {
                fail(field, raw: raw, reason: failure.reason(encoding: .utf8), offset: fileOffset + Int64(failure.offset))
                return
            }
            read(field, utf8: raw)
            return
        }
        decoded.removeAll(keepingCapacity: true)
        if let failure = decoder.decode(raw, into: &decoded) {
            fail(field, raw: raw, reason: failure.reason(encoding: decoder.encoding), offset: fileOffset + Int64(failure.offset))
            return
        }
        let utf8 = decoded
        utf8.withUnsafeBytes { read(field, utf8: $0) }
    }

    /// Reads a field whose text is already a Swift string (XML values, regex captures).
    mutating func add(_ field: FieldSpec, text: String) {
        var text = text
        text.withUTF8 { read(field, utf8: UnsafeRawBufferPointer($0)) }
    }

    /// A field with no value at all (a short line, an absent XML element).
    mutating func addMissing(_ field: FieldSpec) {
        if field.required {
            problems.append(FieldProblem(field: field.name, rawValue: nil, reason: "required value is missing"))
        } else if field.warnings?.required == true {
            warnings.append(FieldProblem(field: field.name, rawValue: nil, reason: "required value is missing"))
        }
        put(.empty)
    }

    /// A placeholder for a field already reported as a problem.
    mutating func addAbsent() { put(.empty) }

    /// ``read(_:utf8:)`` kept out of the hot path it is the rare exit of.
    @inline(never)
    private mutating func readSlowly(_ field: FieldSpec, utf8: UnsafeRawBufferPointer) { read(field, utf8: utf8) }

    @inline(__always)
    private mutating func read(_ field: FieldSpec, utf8: UnsafeRawBufferPointer) {
        if let failure = field.read(fromUTF8: utf8, into: &self) {
            problems.append(FieldProblem(field: field.name, rawValue: DisplayText.escaped(utf8: utf8), reason: failure.reason))
            put(.empty)
        }
    }

    private mutating func fail(_ field: FieldSpec, raw: UnsafeRawBufferPointer, reason: String, offset: Int64) {
        problems.append(FieldProblem(field: field.name, rawValue: Self.lossy(raw, decoder.encoding), reason: reason, byteOffset: offset))
        put(.empty)
    }

    // MARK: The record

    /// Settles what needs every field (see ``settleValues(_:_:)``) and returns the record: a view
    /// of the slots when it passed, an owned copy with its problems when it did not.
    mutating func finish(_ kind: RecordKind, location: RecordLocation) -> RecordEvent {
        precondition(count == kind.fields.count, "every field gets exactly one value")
        var warningList: UnsafePointer<[FieldProblem]>?
        if !warnings.isEmpty {
            storage.warnings.pointee = warnings
            warningList = UnsafePointer(storage.warnings)
        }
        let view = RecordView(kind: kind, location: location, slots: UnsafePointer(slots), arena: UnsafeRawPointer(arena),
                              warningList: warningList)
        if kind.hasValueSteps { settleValues(kind, view) }
        if let inheritance, inheritance.touches[kind.index] { inheritance.record(view, passed: problems.isEmpty) }
        if problems.isEmpty { return .record(view) }
        var rejected = RejectedRecord(kindIndex: kind.index, location: location, problems: problems,
                                      values: view.materialize().values)
        rejected.warnings = warnings
        return .rejected(rejected)
    }

    /// Years from other fields, C/D sign indicators and derived values, in that order.
    private mutating func settleValues(_ kind: RecordKind, _ view: RecordView) {
        if !kind.yearSources.isEmpty { YearFrom.apply(kind, slots: slots, problems: &problems) }
        for sign in kind.signIndicators {
            let indicator = view[sign.indicator].description
            let isNegative = sign.negative.contains(indicator)
            if !isNegative && !sign.positive.isEmpty && !sign.positive.contains(indicator) {
                if case .empty = slots[sign.indicator], case .empty = slots[sign.amount] { continue }
                problems.append(FieldProblem(
                    field: kind.fields[sign.indicator].name, rawValue: indicator,
                    reason: "is not a sign indicator (expected \((sign.negative + sign.positive).joined(separator: " or ")))"))
                continue
            }
            if isNegative {
                switch slots[sign.amount] {
                case .decimal(let amount): slots[sign.amount] = .decimal(DecimalAmount(units: -amount.units, scale: amount.scale))
                case .integer(let n): slots[sign.amount] = .integer(-n)
                default: break
                }
            }
        }
        if !kind.derivedPlans.isEmpty { applyDerived(kind) }
    }

    /// Bytes in `encoding` shown in a message even when they do not decode (see
    /// ``DisplayText``).
    static func lossy(_ raw: UnsafeRawBufferPointer, _ encoding: TextEncoding) -> String {
        encoding == .utf8 ? DisplayText.escaped(utf8: raw) : DisplayText.escaped(undecodable: raw)
    }
}

/// One field's reading instructions as plain data.
struct FieldKernel: Sendable {
    let plan: ValuePlan
    /// Fixed-width slice (start -1 for other sources).
    let start: Int
    let length: Int
    let trim: TrimRule
    let required: Bool
    /// Only trimming and the typed parse apply (no affixes, markers, extract, codes or checks).
    let simple: Bool
    /// The field itself, for the long way round; kept alive by the spec the reader holds.
    let field: Unmanaged<FieldSpec>
    /// The ``InheritedValues`` entry an inherited field takes its value from; -1 for a field
    /// read from the record.
    let inherit: Int
}

/// Checks the first bytes of a file for byte order marks: a UTF-8 BOM is dropped from UTF-8
/// files; any other BOM means the file is not in the spec's encoding.
enum ByteOrderMark {
    static func skip(_ buffer: InputBuffer, encoding: TextEncoding) throws(FileFailure) {
        _ = try buffer.ensure(4)
        let head = buffer.unread
        let location = RecordLocation(line: 1, byteOffset: 0)
        if head.count >= 3, head[0] == 0xEF, head[1] == 0xBB, head[2] == 0xBF {
            guard encoding == .utf8 else {
                throw FileFailure(location: location, reason: "the file starts with a UTF-8 byte order mark, but the spec says \(encoding.rawValue): is the file really UTF-8?")
            }
            buffer.consume(3)
            return
        }
        if head.count >= 2, (head[0] == 0xFF && head[1] == 0xFE) || (head[0] == 0xFE && head[1] == 0xFF) {
            throw FileFailure(location: location, reason: "the file is UTF-16 (it starts with a UTF-16 byte order mark); reckon reads \(TextEncoding.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        if encoding == .gb18030, head.count >= 4, head[0] == 0x84, head[1] == 0x31, head[2] == 0x95, head[3] == 0x33 {
            buffer.consume(4)
        }
    }
}

/// Builds records from values that arrive as text (XML element and attribute values), with
/// the same field rules as every other format. For adapters outside the core.
public struct TextFieldAssembler {
    private var assembler: RecordAssembler

    public init(spec: MappingSpec) { assembler = RecordAssembler(spec: spec) }

    /// `values` holds one entry per field of `kind`; nil where the file had no value. A
    /// passed record is returned as a view valid until the next call.
    /// `alternatives` gives, per field, the XML path alternative its value came from, so a
    /// typed alternative reads it with its own type (empty: every field as declared).
    public mutating func event(_ kind: RecordKind, values: [String?], alternatives: [Int] = [], location: RecordLocation) -> RecordEvent {
        precondition(values.count == kind.fields.count)
        assembler.begin(kind)
        for (index, (field, value)) in zip(kind.fields, values).enumerated() {
            let read = alternatives.isEmpty || field.alternativeFields.isEmpty ? field : field.alternative(alternatives[index])
            if let value { assembler.add(read, text: value) } else { assembler.addMissing(read) }
        }
        return assembler.finish(kind, location: location)
    }
}
