import Foundation
import GRDB
import ReckonCore
@testable import ReckonLedger
import Testing

/// SideCursor reads an item's days from SQLite's bytes in place (the reconcile step's per-item
/// path); what it reads must be what `CivilDate(iso:)` makes of the first ten characters, for
/// every text, as it was before that fast path.
@Suite("Reconciliation items' days")
struct SideCursorDateTests {
    /// The day column and a compared date column of one item read through a real statement.
    func read(_ text: String?) throws -> (day: CivilDate, value: ReconValue?) {
        let queue = try DatabaseQueue()
        return try queue.read { db in
            let cursor = try SideCursor(db, sql: "SELECT 'e1', 'k', ?1, 0, NULL, ?1", arguments: [text.databaseValue],
                                        kinds: [.date], grouped: false)
            let item = try #require(cursor.next())
            #expect(cursor.next() == nil)
            #expect(cursor.failure == nil)
            return (item.day, item.values[0])
        }
    }

    /// The general reading: the first ten characters through `CivilDate(iso:)`.
    func oracle(_ text: String?) -> CivilDate? { text.flatMap { CivilDate(iso: String($0.prefix(10))) } }

    func check(_ text: String?) throws {
        let expected = oracle(text)
        let (day, value) = try read(text)
        #expect(day == expected ?? CivilDate(year: 1970, month: 1, day: 1)!, "\(String(reflecting: text))")
        #expect(value == expected.map(ReconValue.date), "\(String(reflecting: text))")
    }

    @Test func daysReadAsTheirFirstTenCharacters() throws {
        let cases: [String?] = [
            "2024-12-16", "2024-12-16T09:12:03", "2024-12-16 09:12:03", "2024-02-29", "2023-02-29", "2024-13-01",
            "2024-00-10", "0000-01-01", "9999-12-31", "2024-12-1", "2024/12/16", "20241216", "", nil,
            "+024-12-16", "2024-+1-16", "2024-12-16é", "2024-12-16\u{301}", "2024-12-1\u{301}6", "２０２４-12-16",
            "2024-12-16\r\n", "2024-12-16\n", " 2024-12-16", "2024-12-16 ",
        ]
        #expect(try read("2024-12-16T09:12:03").day == CivilDate(year: 2024, month: 12, day: 16)!)
        #expect(try read("+024-12-16").day == CivilDate(year: 24, month: 12, day: 16)!)
        #expect(try read("2024-12-16\u{301}").value == nil)
        for text in cases { try check(text) }
    }

    /// A date read from an event's JSON (`SideCursor.day(of:)`) is read the same way.
    @Test func daysFromJSONReadAsTheirFirstTenCharacters() {
        let cases = ["2024-12-16", "2024-12-16T09:12:03", "2024-12-16 09:12:03", "2024-02-29", "2023-02-29", "2024-13-01",
                     "2024-12-1", "2024/12/16", "20241216", "", "+024-12-16", "2024-12-16é", "2024-12-16\u{301}",
                     "2024-12-1\u{301}6", "２０２４-12-16", "2024-12-16\r\n", " 2024-12-16"]
        #expect(SideCursor.day(of: "2024-12-16T09:12:03") == CivilDate(year: 2024, month: 12, day: 16)!)
        #expect(SideCursor.day(of: "2024-12-16\u{301}") == nil)
        for text in cases { #expect(SideCursor.day(of: text) == oracle(text), "\(String(reflecting: text))") }
        let alphabet: [String] = ["0", "1", "2", "9", "-", "-", "+", "T", " ", "é", "\u{301}", "２"]
        var random = SplitMix64(seed: 1_12_2026)
        for _ in 0..<500 {
            var text = ["2024", "-", "12", "-", "16"].map { part in random.next() % 4 == 0 ? alphabet[Int(random.next() % 12)] : part }.joined()
            for _ in 0..<Int(random.next() % 4) { text += alphabet[Int(random.next() % 12)] }
            #expect(SideCursor.day(of: text) == oracle(text), "\(String(reflecting: text))")
        }
    }

    /// The query leaves the day out (NULL) for the step's own day's items: the cursor gives
    /// them the day it is told.
    @Test func anItemWithoutADayHasTheStepsDay() throws {
        let queue = try DatabaseQueue()
        let day = CivilDate(year: 2024, month: 12, day: 16)!
        try queue.read { db in
            let cursor = try SideCursor(db, sql: "SELECT 'e1', 'k', NULL, 0, NULL UNION ALL SELECT 'e2', 'l', '2024-12-13', 0, NULL",
                                        arguments: [], kinds: [], grouped: false, day: day)
            #expect(cursor.next()?.day == day)
            #expect(cursor.next()?.day == CivilDate(year: 2024, month: 12, day: 13)!)
            #expect(cursor.next() == nil)
        }
    }

    /// Random texts near the date form: digits, separators, signs and non-ASCII characters.
    @Test func randomTextsReadAsTheGeneralPathReadsThem() throws {
        let alphabet: [String] = ["0", "1", "2", "9", "-", "-", "+", "T", " ", "é", "\u{301}", "２"]
        var random = SplitMix64(seed: 16_12_2024)
        for _ in 0..<500 {
            var text = ["2024", "-", "12", "-", "16"].map { part in random.next() % 4 == 0 ? alphabet[Int(random.next() % 12)] : part }.joined()
            for _ in 0..<Int(random.next() % 4) { text += alphabet[Int(random.next() % 12)] }
            try check(text)
        }
    }
}
