import GRDB
import GRDBSQLite

/// `reckon_json_fields(json, '$.a', '$.b', …)`: what `json_extract(json, '$.a', '$.b', …)`
/// returns (`["success","normal"]`: each value's JSON text as written, `null` for a missing
/// key, the first of duplicate keys) for the flat objects ingest keeps in `other_fields`, found
/// by one pass over the bytes instead of SQLite's parse of the whole object into nodes (most of
/// a side's JSON cost at a million items). Anything it does not read the way SQLite does (a
/// nested value, an escaped key, a path other than `$.key`, text that is not strict JSON)
/// gives NULL, and the query falls back to `json_extract` (``sql(_:paths:)``): the result is
/// the same either way, errors included.
enum FlatJSONFields {
    static let functionName = "reckon_json_fields"

    /// The SQL for the fields at `paths` (JSON keys) of `json`, with `json_extract` behind it.
    static func sql(_ json: String, keys: [String]) -> String {
        precondition(keys.count >= 2, "json_extract of one path returns the value, not an array")
        let paths = keys.map { "'$.\(ReconSources.quoted($0))'" }.joined(separator: ", ")
        return "coalesce(\(functionName)(\(json), \(paths)), json_extract(\(json), \(paths)))"
    }

    /// Makes the function known to a connection (before a statement that uses it is
    /// prepared), once: defining it again would expire the connection's prepared statements.
    static func register(_ db: Database) {
        let known = try? Bool.fetchOne(db, sql: "SELECT 1 FROM pragma_function_list WHERE name = ?", arguments: [functionName])
        guard known != true else { return }
        sqlite3_create_function_v2(db.sqliteConnection, functionName, -1, SQLITE_UTF8 | SQLITE_DETERMINISTIC, nil,
                                   { context, count, arguments in FlatJSONFields.call(context, count, arguments) }, nil, nil, nil)
    }

    private static func call(_ context: OpaquePointer?, _ count: Int32, _ arguments: UnsafeMutablePointer<OpaquePointer?>?) {
        guard let arguments, count >= 2, sqlite3_value_type(arguments[0]) == SQLITE_TEXT,
              let text = sqlite3_value_text(arguments[0]) else {
            sqlite3_result_null(context)
            return
        }
        let json = UnsafeBufferPointer(start: text, count: Int(sqlite3_value_bytes(arguments[0])))
        let keyCount = Int(count) - 1
        withUnsafeTemporaryAllocation(of: UnsafeBufferPointer<UInt8>.self, capacity: keyCount) { keys in
            for index in 0..<keyCount {
                let argument = arguments[index + 1]
                guard sqlite3_value_type(argument) == SQLITE_TEXT, let path = sqlite3_value_text(argument),
                      let key = plainKey(UnsafeBufferPointer(start: path, count: Int(sqlite3_value_bytes(argument)))) else {
                    sqlite3_result_null(context)
                    return
                }
                keys[index] = key
            }
            withUnsafeTemporaryAllocation(of: Range<Int>?.self, capacity: keyCount) { found in
                guard extract(json, keys: UnsafeBufferPointer(keys), into: found) else {
                    sqlite3_result_null(context)
                    return
                }
                var length = 1 + keyCount
                for range in found { length += range?.count ?? 4 }
                withUnsafeTemporaryAllocation(of: UInt8.self, capacity: length) { output in
                    render(json, found: UnsafeBufferPointer(found), into: output)
                    output.withMemoryRebound(to: CChar.self) { bytes in
                        sqlite3_result_text(context, bytes.baseAddress, Int32(length), unsafeBitCast(-1, to: sqlite3_destructor_type.self))
                    }
                }
            }
        }
    }

    /// The key of a path `$.key` whose key needs no quoting or escaping in a path; nil for
    /// any other path.
    static func plainKey(_ path: UnsafeBufferPointer<UInt8>) -> UnsafeBufferPointer<UInt8>? {
        guard path.count > 2, path[0] == UInt8(ascii: "$"), path[1] == UInt8(ascii: ".") else { return nil }
        let key = UnsafeBufferPointer(rebasing: path[2...])
        for byte in key where byte == UInt8(ascii: ".") || byte == UInt8(ascii: "[") || byte == UInt8(ascii: "\"")
            || byte == UInt8(ascii: "\\") || byte < 0x20 { return nil }
        return key
    }

    /// `[v1,v2,…]`: each found value's text, `null` for the others.
    static func render(_ json: UnsafeBufferPointer<UInt8>, found: UnsafeBufferPointer<Range<Int>?>, into output: UnsafeMutableBufferPointer<UInt8>) {
        var position = 0
        func put(_ byte: UInt8) {
            output[position] = byte
            position += 1
        }
        put(UInt8(ascii: "["))
        for (index, range) in found.enumerated() {
            if index > 0 { put(UInt8(ascii: ",")) }
            if let range {
                for offset in range { put(json[offset]) }
            } else {
                for byte in "null".utf8 { put(byte) }
            }
        }
        put(UInt8(ascii: "]"))
    }

    /// The byte range of each key's value in a flat JSON object (the first of duplicate keys;
    /// nil when absent); false when the text is not a flat object of strictly written JSON
    /// scalars with plain keys (the caller then leaves it to SQLite).
    static func extract(_ json: UnsafeBufferPointer<UInt8>, keys: UnsafeBufferPointer<UnsafeBufferPointer<UInt8>>,
                        into found: UnsafeMutableBufferPointer<Range<Int>?>) -> Bool {
        for index in found.indices { found[index] = nil }
        var index = 0
        let end = json.count
        func skipSpace() {
            while index < end, json[index] == 0x20 || json[index] == 0x09 || json[index] == 0x0A || json[index] == 0x0D { index += 1 }
        }
        /// A string from the quote at `index`; false when it has a raw control byte or an
        /// escape JSON does not have. `escaped` tells whether it had any escape.
        func string(escaped: inout Bool) -> Bool {
            index += 1
            while index < end {
                let byte = json[index]
                if byte == UInt8(ascii: "\"") {
                    index += 1
                    return true
                }
                if byte < 0x20 { return false }
                if byte == UInt8(ascii: "\\") {
                    escaped = true
                    guard index + 1 < end else { return false }
                    switch json[index + 1] {
                    case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"), UInt8(ascii: "f"),
                         UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
                        index += 2
                    case UInt8(ascii: "u"):
                        guard index + 5 < end else { return false }
                        for offset in 2...5 where !isHexDigit(json[index + offset]) { return false }
                        index += 6
                    default:
                        return false
                    }
                    continue
                }
                index += 1
            }
            return false
        }
        /// A number as JSON writes it: `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`.
        func number() -> Bool {
            func digits() -> Bool {
                let start = index
                while index < end, isDigit(json[index]) { index += 1 }
                return index > start
            }
            if json[index] == UInt8(ascii: "-") { index += 1 }
            guard index < end else { return false }
            if json[index] == UInt8(ascii: "0") {
                index += 1
            } else if !digits() {
                return false
            }
            if index < end, json[index] == UInt8(ascii: ".") {
                index += 1
                guard digits() else { return false }
            }
            if index < end, json[index] == UInt8(ascii: "e") || json[index] == UInt8(ascii: "E") {
                index += 1
                if index < end, json[index] == UInt8(ascii: "+") || json[index] == UInt8(ascii: "-") { index += 1 }
                guard digits() else { return false }
            }
            return true
        }
        func word(_ text: StaticString) -> Bool {
            let count = text.utf8CodeUnitCount
            guard index + count <= end else { return false }
            for offset in 0..<count where json[index + offset] != text.utf8Start[offset] { return false }
            index += count
            return true
        }

        skipSpace()
        guard index < end, json[index] == UInt8(ascii: "{") else { return false }
        index += 1
        skipSpace()
        if index < end, json[index] == UInt8(ascii: "}") {
            index += 1
        } else {
            while true {
                guard index < end, json[index] == UInt8(ascii: "\"") else { return false }
                let keyStart = index + 1
                var escaped = false
                guard string(escaped: &escaped), !escaped else { return false }
                let key = UnsafeBufferPointer(rebasing: json[keyStart..<(index - 1)])
                skipSpace()
                guard index < end, json[index] == UInt8(ascii: ":") else { return false }
                index += 1
                skipSpace()
                guard index < end else { return false }
                let valueStart = index
                switch json[index] {
                case UInt8(ascii: "\""):
                    var ignored = false
                    guard string(escaped: &ignored) else { return false }
                case UInt8(ascii: "t"): guard word("true") else { return false }
                case UInt8(ascii: "f"): guard word("false") else { return false }
                case UInt8(ascii: "n"): guard word("null") else { return false }
                case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): guard number() else { return false }
                default: return false  // a nested object or array, or not JSON
                }
                for (slot, wanted) in keys.enumerated() where found[slot] == nil && equal(wanted, key) {
                    found[slot] = valueStart..<index
                }
                skipSpace()
                guard index < end else { return false }
                if json[index] == UInt8(ascii: "}") {
                    index += 1
                    break
                }
                guard json[index] == UInt8(ascii: ",") else { return false }
                index += 1
                skipSpace()
            }
        }
        skipSpace()
        return index == end
    }

    private static func equal(_ a: UnsafeBufferPointer<UInt8>, _ b: UnsafeBufferPointer<UInt8>) -> Bool {
        guard a.count == b.count else { return false }
        for index in 0..<a.count where a[index] != b[index] { return false }
        return true
    }

    private static func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }

    private static func isHexDigit(_ byte: UInt8) -> Bool {
        isDigit(byte) || ((byte | 0x20) >= UInt8(ascii: "a") && (byte | 0x20) <= UInt8(ascii: "f"))
    }
}
