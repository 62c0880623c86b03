import Foundation
import GRDB
import Testing
@testable import ReckonLedger

/// `reckon_json_fields` (with `json_extract` behind it, as the reconcile query uses it) gives
/// what SQLite's `json_extract` of the same paths gives, for every text: the flat objects
/// ingest writes, and anything else (left to SQLite).
@Suite struct FlatJSONFieldsTests {
    /// What the two expressions give for a text, read on one connection: the function's own
    /// answer (nil when it leaves the text to SQLite), the query's, and SQLite's.
    func both(_ json: String?, _ keys: [String]) throws -> (own: String?, query: String?, sqlite: String?) {
        let queue = try DatabaseQueue()
        return try queue.inDatabase { db in
            FlatJSONFields.register(db)
            let paths = keys.map { "'$.\(ReconSources.quoted($0))'" }.joined(separator: ", ")
            let own = try String.fetchOne(db, sql: "SELECT \(FlatJSONFields.functionName)(?, \(paths))", arguments: [json])
            let query = try String.fetchOne(db, sql: "SELECT \(FlatJSONFields.sql("?1", keys: keys))", arguments: [json])
            let sqlite = try String.fetchOne(db, sql: "SELECT json_extract(?1, \(paths))", arguments: [json])
            return (own, query, sqlite)
        }
    }

    @Test func theFlatObjectsIngestWritesAreReadInOnePass() throws {
        let json = #"{"repay_id":"R2024","repay_type":"normal","paid_at":"2024-12-16T00:00:00","status":"success","settled":424082}"#
        let read = try both(json, ["status", "repay_type", "settled", "absent"])
        #expect(read.own == #"["success","normal",424082,null]"#)
        #expect(read.query == read.sqlite)
        let spaced = try both(" {\n\t\"a\" : -0.5e+3 , \"b\":true,\"c\":null, \"a\":\"second\" }\r\n", ["a", "b", "c"])
        #expect(spaced.own == #"[-0.5e+3,true,null]"#)
        #expect(spaced.query == spaced.sqlite)
        let escaped = try both(#"{"remark":"还款 \"a\\b\" \u00e9\/","status":"failed"}"#, ["remark", "status"])
        #expect(escaped.own == #"["还款 \"a\\b\" \u00e9\/","failed"]"#)
        #expect(escaped.query == escaped.sqlite)
        #expect(try both("{}", ["a", "b"]).own == "[null,null]")
    }

    @Test func whatItDoesNotReadAsSQLiteDoesIsLeftToSQLite() throws {
        for (json, keys) in [
            (#"{"a":{"b":1},"c":2}"#, ["a", "c"]),  // nested
            (#"{"a":[1,2],"c":2}"#, ["a", "c"]),
            (#"{"\u0061":1,"c":2}"#, ["a", "c"]),  // an escaped key
            (#"{"a":1,"c":2}"#, ["a.b", "c"]),  // not a plain key
            (#"{"a":01,"c":2}"#, ["a", "c"]),  // not strict JSON
            (#"{"a":1.,"c":2}"#, ["a", "c"]),
            (#"{"a":"x\q","c":2}"#, ["a", "c"]),
            ("{\"a\":\"x\ty\",\"c\":2}", ["a", "c"]),
            (#"{"a":tru,"c":2}"#, ["a", "c"]),
            (#"{"a":1,"c":2"#, ["a", "c"]),
            (#"{"a":1,"c":2} x"#, ["a", "c"]),
            (#"["a",1]"#, ["a", "c"]),
            ("", ["a", "c"]),
        ] {
            let queue = try DatabaseQueue()
            try queue.inDatabase { db in
                FlatJSONFields.register(db)
                let paths = keys.map { "'$.\($0)'" }.joined(separator: ", ")
                let own = try String.fetchOne(db, sql: "SELECT \(FlatJSONFields.functionName)(?, \(paths))", arguments: [json])
                #expect(own == nil, "\(json)")
                // The query answers as json_extract does, or fails as it does.
                let query = Result { try String.fetchOne(db, sql: "SELECT \(FlatJSONFields.sql("?1", keys: keys))", arguments: [json]) }
                let sqlite = Result { try String.fetchOne(db, sql: "SELECT json_extract(?1, \(paths))", arguments: [json]) }
                switch (query, sqlite) {
                case (.success(let a), .success(let b)): #expect(a == b, "\(json)")
                case (.failure, .failure): break
                default: Issue.record("\(json): \(query) against json_extract's \(sqlite)")
                }
            }
        }
        // json_extract's own answer, or its error, for what is left to it.
        #expect(try both(#"{"a":{"b":1},"c":2}"#, ["a", "c"]).query == #"[{"b":1},2]"#)
        let escapedKey = try both(#"{"\u0061":1,"c":2}"#, ["a", "c"])
        #expect(escapedKey.query == escapedKey.sqlite)
        #expect(throws: DatabaseError.self) { try both(#"{"a":1,"c":2"#, ["a", "c"]) }
        let null = try both(nil, ["a", "c"])
        #expect(null.own == nil && null.query == nil && null.sqlite == nil)
    }

    /// Random flat objects (duplicate keys, escapes, numbers, literals, spacing): the query's
    /// answer is SQLite's, and the function reads every one of them itself.
    @Test func randomFlatObjectsReadAsJSONExtractReadsThem() throws {
        var generator = SplitMix(seed: 10)
        let keys = ["status", "type", "a", "remark"]
        let values = [#""success""#, #""failed""#, #""还款""#, #""a\"b\\c\u00e9\n""#, #""""#, "0", "-12", "3.25", "1e5", "-0.5E-2",
                      "true", "false", "null"]
        let spaces = ["", " ", "\n", "\t ", "\r\n"]
        let queue = try DatabaseQueue()
        try queue.inDatabase { db in
            FlatJSONFields.register(db)
            for _ in 0..<500 {
                let count = Int(generator.next() % 6)
                let members = (0..<count).map { _ in
                    let space = spaces[Int(generator.next() % UInt64(spaces.count))]
                    return "\(space)\"\(keys[Int(generator.next() % UInt64(keys.count))])\"\(space):\(space)"
                        + values[Int(generator.next() % UInt64(values.count))] + space
                }
                let json = "{" + members.joined(separator: ",") + "}"
                let wanted = (0..<2 + Int(generator.next() % 2)).map { _ in keys[Int(generator.next() % UInt64(keys.count))] }
                let paths = wanted.map { "'$.\($0)'" }.joined(separator: ", ")
                let own = try String.fetchOne(db, sql: "SELECT \(FlatJSONFields.functionName)(?, \(paths))", arguments: [json])
                let sqlite = try String.fetchOne(db, sql: "SELECT json_extract(?, \(paths))", arguments: [json])
                #expect(own != nil, "\(json)")
                #expect(own == sqlite, "\(json) \(wanted)")
            }
        }
    }
}

/// A small deterministic generator (SplitMix64) for the random objects.
private struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
