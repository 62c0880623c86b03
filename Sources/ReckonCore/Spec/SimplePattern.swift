/// The patterns partner specs mostly use — `[A-Z]{3}`, `[0-9]{15}`, `CRDT|DBIT`,
/// `L[0-9A-Z]{6,24}` — matched on bytes with no allocation. ``SpecRegex`` compiles a pattern
/// to this when it can and uses Swift's `Regex` otherwise, so the semantics stay those of a
/// whole-value regular expression either way. Supported: literal ASCII characters, classes
/// of ASCII characters and ranges (`[A-Z0-9_]`), escaped punctuation, the
/// quantifiers `?` `*` `+` `{n}` `{n,}` `{n,m}`, and top-level alternation of such sequences.
/// Positive ASCII classes only: `\d`, `\w`, `.` and negated classes are Unicode-aware in
/// `Regex` (a full-width digit is a `\d`), so patterns using them go to `Regex`.
struct SimplePattern: Sendable {
    struct Atom: Sendable {
        /// Which of the 128 ASCII bytes match; a non-ASCII byte never does.
        var set: (UInt64, UInt64)
        var minimum: Int
        var maximum: Int  // Int.max for unbounded

        @inline(__always)
        func accepts(_ byte: UInt8) -> Bool {
            if byte >= 0x80 { return false }
            return byte < 64 ? (set.0 >> UInt64(byte)) & 1 == 1 : (set.1 >> UInt64(byte - 64)) & 1 == 1
        }
    }

    let alternatives: [[Atom]]

    /// Nil when the pattern uses anything beyond the supported subset.
    init?(_ pattern: String) {
        var alternatives: [[Atom]] = []
        for branch in pattern.split(separator: "|", omittingEmptySubsequences: false) {
            guard let atoms = Self.compile(Array(branch.utf8)) else { return nil }
            alternatives.append(atoms)
        }
        self.alternatives = alternatives
    }

    private static func compile(_ bytes: [UInt8]) -> [Atom]? {
        var atoms: [Atom] = []
        var i = 0
        while i < bytes.count {
            var set: (UInt64, UInt64) = (0, 0)
            func add(_ byte: UInt8) {
                if byte < 64 { set.0 |= 1 << UInt64(byte) } else if byte < 128 { set.1 |= 1 << UInt64(byte - 64) }
            }
            func addRange(_ low: UInt8, _ high: UInt8) { for b in low...high { add(b) } }
            let c = bytes[i]
            switch c {
            case UInt8(ascii: "\\"):
                // Only escaped punctuation: \d, \w and \s are Unicode-aware in Regex.
                guard i + 1 < bytes.count else { return nil }
                let escaped = bytes[i + 1]
                guard escaped < 0x80, isPunctuation(escaped) else { return nil }
                add(escaped)
                i += 2
            case UInt8(ascii: "["):
                var j = i + 1
                guard j < bytes.count, bytes[j] != UInt8(ascii: "^") else { return nil }
                while j < bytes.count, bytes[j] != UInt8(ascii: "]") {
                    var low = bytes[j]
                    if low == UInt8(ascii: "\\") {
                        guard j + 1 < bytes.count, bytes[j + 1] < 0x80, isPunctuation(bytes[j + 1]) else { return nil }
                        low = bytes[j + 1]
                        j += 1
                    }
                    guard low < 0x80, low != UInt8(ascii: "["), low != UInt8(ascii: "&"), low != UInt8(ascii: "~") else { return nil }
                    if j + 2 < bytes.count, bytes[j + 1] == UInt8(ascii: "-"), bytes[j + 2] != UInt8(ascii: "]") {
                        let high = bytes[j + 2]
                        guard high < 0x80, high >= low, high != UInt8(ascii: "\\") else { return nil }
                        addRange(low, high)
                        j += 3
                    } else {
                        add(low)
                        j += 1
                    }
                }
                guard j < bytes.count, j > i + 1 else { return nil }
                i = j + 1
            case UInt8(ascii: "."):
                return nil
            case UInt8(ascii: "("), UInt8(ascii: ")"), UInt8(ascii: "^"), UInt8(ascii: "$"),
                 UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: "?"), UInt8(ascii: "{"), UInt8(ascii: "}"):
                return nil
            default:
                guard c < 0x80 else { return nil }
                add(c)
                i += 1
            }
            var minimum = 1, maximum = 1
            if i < bytes.count {
                switch bytes[i] {
                case UInt8(ascii: "?"): minimum = 0; i += 1
                case UInt8(ascii: "*"): minimum = 0; maximum = .max; i += 1
                case UInt8(ascii: "+"): maximum = .max; i += 1
                case UInt8(ascii: "{"):
                    guard let close = bytes[i...].firstIndex(of: UInt8(ascii: "}")) else { return nil }
                    let inside = String(decoding: bytes[(i + 1)..<close], as: UTF8.self)
                    let parts = inside.split(separator: ",", omittingEmptySubsequences: false)
                    guard let low = Int(parts[0]) else { return nil }
                    minimum = low
                    if parts.count == 1 { maximum = low } else if parts.count == 2 {
                        if parts[1].isEmpty { maximum = .max } else {
                            guard let high = Int(parts[1]), high >= low else { return nil }
                            maximum = high
                        }
                    } else { return nil }
                    i = close + 1
                default: break
                }
                if i < bytes.count, [UInt8(ascii: "?"), UInt8(ascii: "+")].contains(bytes[i]) { return nil }
            }
            atoms.append(Atom(set: set, minimum: minimum, maximum: maximum))
        }
        return atoms
    }

    /// Whole-value match on UTF-8 bytes. Greedy with backtracking over repeat counts; the
    /// patterns are short, so the worst case stays small.
    func matchesWhole(_ bytes: UnsafeRawBufferPointer) -> Bool {
        for branch in alternatives {
            let matched = branch.withUnsafeBufferPointer { Self.match($0, 0, bytes, 0) }
            if matched { return true }
        }
        return false
    }

    private static func match(_ atoms: UnsafeBufferPointer<Atom>, _ a: Int, _ bytes: UnsafeRawBufferPointer, _ position: Int) -> Bool {
        if a == atoms.count { return position == bytes.count }
        let atom = atoms[a]
        var longest = 0
        while longest < atom.maximum, position + longest < bytes.count, atom.accepts(bytes[position + longest]) {
            longest += 1
        }
        if longest < atom.minimum { return false }
        if a == atoms.count - 1 { return position + longest == bytes.count }
        var count = longest
        while count >= atom.minimum {
            if match(atoms, a + 1, bytes, position + count) { return true }
            count -= 1
        }
        return false
    }

    private static func isPunctuation(_ byte: UInt8) -> Bool {
        (0x21...0x2F).contains(byte) || (0x3A...0x40).contains(byte) || (0x5B...0x60).contains(byte) || (0x7B...0x7E).contains(byte)
    }
}
