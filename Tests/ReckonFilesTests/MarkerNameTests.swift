import ReckonFiles
import Testing

@Suite("A marker rule's file name")
struct MarkerNameTests {
    @Test func everyNamePlaceholderIsTheFilesName() {
        #expect(Collector.markerName("{name}.ok", for: "PLAT_REPAY_20241215.csv") == "PLAT_REPAY_20241215.csv.ok")
        #expect(Collector.markerName("done_{name}", for: "a.txt") == "done_a.txt")
        #expect(Collector.markerName("{name}.{name}", for: "a") == "a.a")
        #expect(Collector.markerName("READY", for: "a.txt") == "READY")
        // A half placeholder is text; the name's own braces are not read as one.
        #expect(Collector.markerName("{nam{name}e}", for: "{name}") == "{nam{name}e}")
        #expect(Collector.markerName("{name", for: "a") == "{name")
        #expect(Collector.markerName("{name}.ok", for: "账单_20241215.txt") == "账单_20241215.txt.ok")
        #expect(Collector.markerName("标记_{name}", for: "é.csv") == "标记_é.csv")
    }
}
