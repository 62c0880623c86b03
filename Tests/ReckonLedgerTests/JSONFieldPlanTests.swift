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

    @Test func anythingElseIsRefused() {
        #expect(scalars("") == nil)
        #expect(scalars(#"{"a":1}"#) == nil)
        #expect(scalars(#"["a""#) == nil)
        #expect(scalars(#"["a" "b"]"#) == nil)
        #expect(scalars(#"["a",]"#) == nil)
    }
}
