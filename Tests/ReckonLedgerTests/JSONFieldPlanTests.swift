import Foundation
import Testing
@testable import ReckonLedger

/// The fields a rule reads from an event's JSON come back from one json_extract as a flat
/// array of scalars, read here as SQLite writes it.
@Suite struct JSONFieldPlanTests {
    func scalars(_ text: String) -> [String?]? {
        Array(text.utf8).withUnsafeBufferPointer { JSONFieldPlan.scalars($0) }
    }

    @Test func flatArraysOfScalarsReadAsTexts() {
        #expect(scalars(#"["success","normal"]"#) == ["success", "normal"])
        #expect(scalars(#"[null,12,-3.5,"2024-12-16T08:00:00"]"#) == [nil, "12", "-3.5", "2024-12-16T08:00:00"])
        #expect(scalars("[]") == [])
        #expect(scalars(#"["还款","a\"b","c\\d","\u00e9"]"#) == ["还款", "a\"b", "c\\d", "é"])
        #expect(scalars(#"[ "a" , 1 ]"#) == ["a", "1"])
    }

    /// A path read only as a day keeps the first ten characters of a plain ASCII string and
    /// reads the same day as the whole text; anything else is kept whole.
    @Test func aPathReadOnlyAsADayKeepsItsFirstTenCharacters() {
        func days(_ text: String, _ marks: [Bool]) -> [String?]? {
            var values: [String?] = []
            let done = Array(text.utf8).withUnsafeBufferPointer { JSONFieldPlan.scalars($0, into: &values, daysOnly: marks) }
            return done ? values : nil
        }
        #expect(days(#"["2024-12-16T08:00:00","2024-12-16T08:00:00"]"#, [true, false]) == ["2024-12-16", "2024-12-16T08:00:00"])
        #expect(days(#"["2024-12-16T08:00:00","success"]"#, [true]) == ["2024-12-16", "success"])
        #expect(days(#"["2024-12-16","2024-12-1é","2024-12-16é","2024-12-16\u00e9",12]"#, [true, true, true, true, true])
                == ["2024-12-16", "2024-12-1é", "2024-12-16é", "2024-12-16é", "12"])
        for text in ["2024-12-16T08:00:00", "2024-12-16 08", "2024-12-16é", "2024-12-1é6", "2024-12-16\\u0301x"] {
            let kept = days("[\"\(text)\"]", [true])?.first ?? nil
            let whole = scalars("[\"\(text)\"]")?.first ?? nil
            #expect(kept.flatMap(SideCursor.day(of:)) == whole.flatMap(SideCursor.day(of:)), "\(text)")
        }
    }

    @Test func anythingElseIsRefused() {
        #expect(scalars("") == nil)
        #expect(scalars(#"{"a":1}"#) == nil)
        #expect(scalars(#"["a""#) == nil)
        #expect(scalars(#"["a" "b"]"#) == nil)
        #expect(scalars(#"["a",]"#) == nil)
    }
}
