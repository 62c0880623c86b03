import Yams

/// A spec that cannot be used, with the place in the spec file that says why.
public struct SpecError: Error, Sendable, CustomStringConvertible {
    /// The spec file.
    public let file: String
    /// Dotted path to the offending key: `records.detail.fields.amount.type`.
    public let keyPath: String
    /// 1-based line in the spec file, when known.
    public let line: Int?
    public let message: String

    public init(file: String, keyPath: String, line: Int?, message: String) {
        self.file = file
        self.keyPath = keyPath
        self.line = line
        self.message = message
    }

    public var description: String {
        var text = file
        if let line { text += ":\(line)" }
        text += ": "
        if !keyPath.isEmpty { text += keyPath + ": " }
        return text + message
    }
}

/// A YAML node with the key path that leads to it, so every complaint can say where.
struct SpecNode {
    let node: Node
    let path: String
    let origin: String

    var line: Int? { node.mark?.line }

    /// The document's root: `what` names the document in the complaint when it is empty
    /// (`the spec`, `the configuration`).
    static func root(yaml: String, origin: String, what: String) throws(SpecError) -> SpecNode {
        do {
            // Every value is read as the text written (`06` stays `06`), so Yams is not asked
            // to resolve tags: with its default rules that was a regular expression per
            // scalar, a quarter of loading a large reckon.yaml.
            guard let node = try Yams.compose(yaml: yaml, .basic) else {
                throw SpecError(file: origin, keyPath: "", line: nil, message: "\(what) is empty")
            }
            return SpecNode(node: node, path: "", origin: origin)
        } catch let error as SpecError {
            throw error
        } catch {
            throw SpecError(file: origin, keyPath: "", line: nil, message: "not valid YAML: \(error)")
        }
    }

    func error(_ message: String) -> SpecError {
        SpecError(file: origin, keyPath: path, line: line, message: message)
    }

    func child(_ key: String, _ node: Node) -> SpecNode {
        SpecNode(node: node, path: path.isEmpty ? key : path + "." + key, origin: origin)
    }

    var isScalar: Bool { node.scalar != nil }

    /// The scalar's text exactly as written (so `06` stays `06`).
    func string() throws(SpecError) -> String {
        guard let scalar = node.scalar else { throw error("expected a single value, found \(shape)") }
        return scalar.string
    }

    func int(in range: ClosedRange<Int>? = nil) throws(SpecError) -> Int {
        let text = try string()
        guard let value = Int(text.replacingOccurrences(of: "_", with: "")) else {
            throw error("expected a whole number, found '\(text)'")
        }
        if let range, !range.contains(value) {
            throw error("\(value) is out of range (\(range.lowerBound)…\(range.upperBound))")
        }
        return value
    }

    /// A number of seconds: a whole number or one with up to three decimals (`0.5`,
    /// `1.25`), as written in reckon.yaml; a millisecond is the finest step.
    func seconds(in range: ClosedRange<Double>) throws(SpecError) -> Double {
        let text = try string()
        let parts = text.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        let digits = { (part: Substring) in !part.isEmpty && part.allSatisfy { $0.isASCII && $0.isNumber } }
        guard parts.count <= 2, digits(parts[0]), parts.count == 1 || (digits(parts[1]) && parts[1].count <= 3),
              parts[0].count <= 9, let value = Double(text) else {
            throw error("expected a number of seconds (like 5 or 0.5, at most three decimals), found '\(text)'")
        }
        guard range.contains(value) else {
            throw error("\(text) is out of range (\(DaemonConfig.secondsText(range.lowerBound))…\(DaemonConfig.secondsText(range.upperBound)))")
        }
        return value
    }

    func bool() throws(SpecError) -> Bool {
        switch try string().lowercased() {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        default: throw error("expected true or false, found '\((try? string()) ?? "")'")
        }
    }

    /// A single value or a list of values, as strings.
    func strings() throws(SpecError) -> [String] {
        if node.scalar != nil { return [try string()] }
        guard let sequence = node.sequence else { throw error("expected a value or a list of values, found \(shape)") }
        var values: [String] = []
        for (index, item) in sequence.enumerated() {
            values.append(try child(String(index), item).string())
        }
        return values
    }

    func items() throws(SpecError) -> [SpecNode] {
        guard let sequence = node.sequence else { throw error("expected a list, found \(shape)") }
        return sequence.enumerated().map { child(String($0.offset), $0.element) }
    }

    /// The mapping's entries in order; a key outside `allowed` is an error that lists the
    /// keys that are allowed.
    func mapping(allowed: [String]) throws(SpecError) -> SpecMapping {
        let entries = try entries()
        for (key, value) in entries where !allowed.contains(key) {
            let suggestion = allowed.min { editDistance($0, key) < editDistance($1, key) }
                .flatMap { editDistance($0, key) <= 2 ? " (did you mean '\($0)'?)" : nil } ?? ""
            throw value.error("unknown key '\(key)'\(suggestion); allowed here: \(allowed.joined(separator: ", "))")
                .relocated(keyPath: value.path)
        }
        return SpecMapping(node: self, entries: entries)
    }

    /// Entries of a mapping whose keys are names the spec author chooses (record kinds,
    /// fields, code maps).
    func entries() throws(SpecError) -> [(key: String, value: SpecNode)] {
        guard let mapping = node.mapping else { throw error("expected a mapping of keys to values, found \(shape)") }
        var seen = Set<String>()
        var entries: [(key: String, value: SpecNode)] = []
        for (keyNode, valueNode) in mapping {
            guard let key = keyNode.scalar?.string else { throw error("keys must be plain names") }
            guard seen.insert(key).inserted else {
                throw child(key, valueNode).error("'\(key)' is given twice")
            }
            entries.append((key, child(key, valueNode)))
        }
        return entries
    }

    private var shape: String {
        switch node {
        case .scalar: return "a single value"
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        case .alias: return "an alias"
        }
    }
}

struct SpecMapping {
    let node: SpecNode
    let entries: [(key: String, value: SpecNode)]

    subscript(_ key: String) -> SpecNode? { entries.first { $0.key == key }?.value }

    func required(_ key: String) throws(SpecError) -> SpecNode {
        guard let value = self[key] else { throw node.error("'\(key)' is required here") }
        return value
    }

    func has(_ key: String) -> Bool { self[key] != nil }
}

extension SpecError {
    func relocated(keyPath: String) -> SpecError {
        SpecError(file: file, keyPath: keyPath, line: line, message: message)
    }
}

/// Levenshtein distance, for "did you mean" hints on misspelt keys.
func editDistance(_ a: String, _ b: String) -> Int {
    let a = Array(a), b = Array(b)
    if a.isEmpty { return b.count }
    if b.isEmpty { return a.count }
    var previous = Array(0...b.count)
    for i in 1...a.count {
        var current = [i] + Array(repeating: 0, count: b.count)
        for j in 1...b.count {
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
        }
        previous = current
    }
    return previous[b.count]
}
