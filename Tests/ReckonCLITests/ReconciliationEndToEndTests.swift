import Foundation
import Testing

/// The shipped rules on the sample days, through the built `reckon`: what they find, that a
/// re-run finds nothing new, and a timing difference pending, then broken, then closed by a
/// late file.
@Suite(.serialized) struct ReconciliationEndToEndTests {
    var sample: SampleLedger { get throws { try SampleLedger.shared.get() } }

    /// `rule kind key amount status` of every break.
    static func breaks(_ run: (String...) throws -> Finished, _ extra: String...) throws -> [String] {
        let listed = try run("breaks", "list", "--status", "all", "--json")
        let breaks = try #require(try jsonObject(listed.stdout)["breaks"] as? [[String: Any]])
        return breaks.map { "\($0["rule"]!) \($0["kind"]!) \($0["match_key"]!) \($0["amount_minor"]!) \($0["status"]!)" }.sorted()
    }

    /// The sample day and its history days run into a ledger of the test's own.
    struct SampleDays {
        let inputs = ScratchFolder()
        let folder: ScratchFolder
        let config: String

        init() throws {
            let demo = try cli(["demo", "--date", "2024-12-16", "--loans", "20", "--into", inputs.path, "--mappings", repositoryRoot + "/mappings"])
            #expect(demo.status == 0, "\(demo.stderr)")
            folder = try workspace(inputs.path, expectedFiles: true)
            config = folder.path + "/reckon.yaml"
            for day in ["2024-11-06", "2024-11-13", "2024-11-16", "2024-12-16"] { #expect(try run("batch", "--date", day).status == 0) }
        }

        func run(_ arguments: String...) throws -> Finished { try cli(arguments + ["--config", config]) }
    }

    static let deliberate = [
        "bank-plans missing_theirs L202412160020 4520000 open",
        "bank-plans plan_mismatch L202412160002 / 3 100000 open",
        "repayments-vs-bill amount 420020241216000002 66713 open",
        "repayments-vs-bill missing_ours 420020241216UNKNOWN 2500 open",
        "repayments-vs-bill missing_theirs 420020241216000001 3969550 open",
        "repayments-vs-bill status 420020241216FAILED 10000 open",
    ]

    @Test func theSampleDaysBreaksAreItsDeliberateDifferencesAndNothingElse() throws {
        let sample = try sample
        // The day itself: the cent off, the failed attempt and the bank's extra cent at once;
        // the missing collection, the unknown one and the missing plan wait a working day.
        #expect(sample.day.stdout.contains("reconciliation: 6 rules: 205 matched, 3 pending, 3 breaks (3 new)"), "\(sample.day.stdout)")
        // The day after, every deliberate difference of the sample day is a break of its
        // kind, and there is no other.
        #expect(try Self.breaks(sample.run) == Self.deliberate)
        let cent = try #require(try jsonObject(try sample.run("breaks", "list", "--kind", "amount", "--json").stdout)["breaks"] as? [[String: Any]])
        #expect(cent.first?["summary"] as? String == "420020241216000002: amount: platform 667.12, channel 667.13 (+0.01)")
    }

    @Test func aRerunFindsNothingNewAndALateFileClosesItsBreakKeepingItsHistory() throws {
        let days = try SampleDays()
        let inputs = days.inputs
        let run = days.run
        // On the day, the missing collection waits.
        #expect(try Self.breaks(run).contains("repayments-vs-bill missing_theirs 420020241216000001 3969550 pending"))
        #expect(try run("batch", "--date", "2024-12-17").status == 3)
        let before = try Self.breaks(run)
        #expect(before == Self.deliberate)

        // Reconciling the days again changes nothing: no new break, none closed, no history.
        let history = try run("breaks", "show", "1", "--json").stdout
        for day in ["2024-12-16", "2024-12-17"] {
            let again = try jsonObject(try run("reconcile", "--date", day, "--json").stdout)
            let rules = try #require(again["rules"] as? [[String: Any]])
            #expect(rules.allSatisfy { $0["new_breaks"] as? Int == 0 && $0["closed_breaks"] as? Int == 0 }, "\(day): \(rules)")
        }
        #expect(try Self.breaks(run) == before)
        #expect(try run("breaks", "show", "1", "--json").stdout == history)

        // The channel's bill of 2024-12-18 brings the missing collection of 2024-12-16: its
        // break closes, found, opened and closed in its history.
        let bill = try [UInt8](Data(contentsOf: URL(fileURLWithPath: inputs.path + "/channel/PAY_BILL_20241216.csv")))
        let lines = bill.split(separator: 0x0A, omittingEmptySubsequences: false).map { Array($0) }
        func replacing(_ line: [UInt8], _ pairs: [(String, String)]) -> [UInt8] {
            var text = line
            for (old, new) in pairs {
                let o = Array(old.utf8), n = Array(new.utf8)
                if let start = (0...(text.count - o.count)).first(where: { Array(text[$0..<($0 + o.count)]) == o }) {
                    text.replaceSubrange(start..<(start + o.count), with: n)
                }
            }
            return text
        }
        let collection = replacing(lines[1], [("08:02:11", "08:00:00"), ("R20241216000002", "R20241216000001"),
                                              ("420020241216000002", "420020241216000001"), ("667.13,0.67,666.46", "39695.50,39.70,39655.80")])
        let title = lines[lines.count - 3]
        let late = [lines[0], collection, title, Array("1,39695.50,39.70,39655.80\r".utf8), []].map { Data($0) }
        try Data(late.joined(separator: Data([0x0A]))).write(to: URL(fileURLWithPath: inputs.path + "/channel/PAY_BILL_20241218.csv"))
        let next = try run("batch", "--date", "2024-12-18")
        #expect(next.stdout.contains("✓") && next.stdout.contains("PAY_BILL_20241218.csv"), "\(next.stdout)")
        let after = try Self.breaks(run)
        #expect(after.contains("repayments-vs-bill missing_theirs 420020241216000001 3969550 closed"), "\(after)")
        let shown = try jsonObject(try run("breaks", "list", "--rule", "repayments-vs-bill", "--kind", "missing_theirs", "--status", "all", "--json").stdout)
        let closed = try #require((shown["breaks"] as? [[String: Any]])?.first)
        #expect(closed["closed_on"] as? String == "2024-12-18")
        let detail = try jsonObject(try run("breaks", "show", String(closed["id"] as! Int), "--json").stdout)
        let steps = (detail["history"] as? [[String: Any]] ?? []).compactMap { $0["what"] as? String }
        #expect(steps.count == 3 && steps[0].hasPrefix("found: ") && steps[1].hasPrefix("pending → open: ")
                && steps[2].hasPrefix("closed (was open): matched left e"), "\(steps)")
    }

    @Test func aCorrectedResendOfTheBillReconcilesItsDayAgainAndClosesTheBreakItMadeGood() throws {
        let days = try SampleDays()
        let inputs = days.inputs
        let run = days.run
        #expect(try Self.breaks(run).contains("repayments-vs-bill amount 420020241216000002 66713 open"))

        // The channel corrects the cent: the line says 667.12 with a fee of 0.66 (what it paid
        // out, 666.46, stays), and the summary's totals of amounts and fees lose the cent too.
        let path = inputs.path + "/channel/PAY_BILL_20241216.csv"
        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        var lines = bytes.split(separator: 0x0A, omittingEmptySubsequences: false).map { Array($0) }
        func text(_ line: [UInt8]) -> String { String(decoding: line, as: UTF8.self) }
        let cent = try #require(lines.firstIndex { text($0).contains("420020241216000002") })
        // (The line is GBK: its bytes are changed where they are ASCII, never decoded.)
        let old = Array("667.13,0.67,666.46".utf8)
        let at = try #require((0...(lines[cent].count - old.count)).first { Array(lines[cent][$0..<($0 + old.count)]) == old })
        lines[cent].replaceSubrange(at..<(at + old.count), with: Array("667.12,0.66,666.46".utf8))
        let summary = try #require(lines.lastIndex { !$0.isEmpty })
        var parts = text(lines[summary]).trimmingCharacters(in: .newlines).split(separator: ",").map(String.init)
        func lessACent(_ amount: String) -> String {
            let cents = Int(amount.replacingOccurrences(of: ".", with: ""))! - 1
            return "\(cents / 100).\(String(format: "%02d", cents % 100))"
        }
        parts[1] = lessACent(parts[1])
        parts[2] = lessACent(parts[2])
        lines[summary] = Array((parts.joined(separator: ",") + "\r").utf8)
        try Data(lines.joined(separator: [0x0A])).write(to: URL(fileURLWithPath: path))

        // Run again, the day takes the corrected bill in its place and reconciles again: the
        // cent's break is closed on the day, every other break stays as it was.
        let again = try run("batch", "--date", "2024-12-16")
        #expect(again.status == 0, "\(again.stdout)")
        #expect(again.stdout.contains("reconciliation: 6 rules: 206 matched, 3 pending, 2 breaks, 1 closed"), "\(again.stdout)")
        let after = try Self.breaks(run)
        #expect(after.contains("repayments-vs-bill amount 420020241216000002 66713 closed"), "\(after)")
        #expect(after.filter { !$0.contains("420020241216000002") } == [
            "bank-plans missing_theirs L202412160020 4520000 pending",
            "bank-plans plan_mismatch L202412160002 / 3 100000 open",
            "repayments-vs-bill missing_ours 420020241216UNKNOWN 2500 pending",
            "repayments-vs-bill missing_theirs 420020241216000001 3969550 pending",
            "repayments-vs-bill status 420020241216FAILED 10000 open",
        ])
    }
}
