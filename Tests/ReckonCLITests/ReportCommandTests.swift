import Foundation
import ReckonCore
import Testing

/// `reckon report` on the sample ledger (its days run through the real `reckon batch`): the
/// terminal, the JSON, the page and the CSV say the same figures, the same ledger gives the
/// same files, and a day not reconciled or an outbox that cannot be written is said.
@Suite("reckon report")
struct ReportCommandTests {
    /// A configuration of the test's own on the shared sample ledger (read, never written)
    /// whose outbox is in the test's folder.
    func reporting(outbox: String? = nil) throws -> (folder: ScratchFolder, config: String, reports: String) {
        let sample = try SampleLedger.shared.get()
        let folder = ScratchFolder()
        let box = outbox ?? folder.path + "/outbox"
        let yaml = try String(contentsOfFile: sample.config, encoding: .utf8)
            .replacingOccurrences(of: "database: var/reckon.sqlite", with: "database: \(sample.folder.path)/var/reckon.sqlite")
            .replacingOccurrences(of: "outbox: outbox", with: "outbox: \(box)")
        return (folder, folder.write("reckon.yaml", yaml), box + "/reports")
    }

    func report(_ date: String, config: String, json: Bool = false, timeZone: String = "CST-8") throws -> Finished {
        try runReckon(["report", "--date", date, "--config", config] + (json ? ["--json"] : []), environment: ["TZ": timeZone])
    }

    @Test func theDayAfterTheSampleDay() throws {
        let (folder, config, reports) = try reporting()
        let run = try report("2024-12-17", config: config)
        #expect(run.status == 0, "\(run.stdout)\(run.stderr)")
        #expect(run.stderr == "")
        let lines = run.stdout.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        #expect(lines.first?.hasPrefix("reconciliation report of 2024-12-17, amounts in CNY; reconciled 20") == true, "\(run.stdout)")
        #expect(lines.contains("bank: Sample funding bank (资金方)"), "\(run.stdout)")
        // Nothing came on the 17th: the bill's four breaks and the bank's two are still open.
        #expect(lines.contains("  bank-plans                             0    0.00        0    0.00       2  46,200.00        0.0%"), "\(run.stdout)")
        #expect(lines.contains("  repayments-vs-bill                     0    0.00        0    0.00       4  40,487.63        0.0%"), "\(run.stdout)")
        #expect(lines.contains("  repayments-vs-bill                 4    0    0     0        0     4  40,487.63"), "\(run.stdout)")
        #expect(lines.contains("all rules                            6    0    0     0        0     6  86,687.63"), "\(run.stdout)")
        #expect(lines.contains("channel  repayments-vs-bill  missing on theirs         1  39,695.50"), "\(run.stdout)")
        // The breaks' alerts belong to the day of their items (2024-12-16); the 17th has its
        // missing files, the missing plan and the incomplete repayments.
        #expect(lines.contains("alerts of 2024-12-17: 0 critical, 9 warning, 0 info"), "\(run.stdout)")
        #expect(!lines.contains { $0.contains("breaks_found") }, "\(run.stdout)")
        #expect(lines.allSatisfy { $0.count <= 120 }, "\(run.stdout)")
        #expect(squeezed(run.stdout).hasSuffix("written: \(reports)/2024-12-17.html, \(reports)/2024-12-17.csv"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: reports).sorted() == ["2024-12-17.csv", "2024-12-17.html"])
        _ = folder
    }

    /// The JSON, the page and the CSV of one run carry the same figures, and the open breaks
    /// the sample days leave: four of the bill's, two of the bank's plans.
    @Test func theJSONThePageAndTheCSVAgree() throws {
        let (folder, config, reports) = try reporting()
        let run = try report("2024-12-17", config: config, json: true)
        #expect(run.status == 0, "\(run.stderr)")
        let object = try jsonObject(run.stdout)
        #expect(object["html"] as? String == "\(reports)/2024-12-17.html")
        #expect(object["not_reconciled"] as? [String] == [])
        let rules = try #require(object["rules"] as? [[String: Any]])
        #expect(rules.map { $0["rule"] as? String } == ["repayments-vs-our-plan", "bank-plans", "statement-vs-channel-settlement",
                                                         "bank-statement", "disbursements-vs-statement", "repayments-vs-bill"])
        let open = Dictionary(uniqueKeysWithValues: rules.map { ($0["rule"] as! String, $0["open_breaks"] as? Int) })
        #expect(open["repayments-vs-bill"] == 4)
        #expect(open["bank-plans"] == 2)
        #expect(object["open_breaks"] as? Int == 6)
        #expect(object["open_breaks_minor"] as? Int == 8_668_763)

        let page = try String(contentsOfFile: "\(reports)/2024-12-17.html", encoding: .utf8)
        let csv = try String(contentsOfFile: "\(reports)/2024-12-17.csv", encoding: .utf8)
        let figures = try pageFigures(page, section: "rules"), ages = try pageFigures(page, section: "ages")
        let rows = csv.split(separator: "\n").map { csvFields(String($0)) }
        for rule in rules {
            let name = try #require(rule["rule"] as? String)
            let run = try #require(rule["run"] as? [String: Any])
            for (metric, member) in [("matched", "matched"), ("pending", "pending"), ("broken", "broken")] {
                let count = try #require(run[member] as? Int), amountMinor = try #require(run[member + "_minor"] as? Int)
                #expect(figures[name]?[metric] == AmountText.grouped(count), "\(name) \(metric)")
                #expect(figures[name]?[metric + "-amount"] == AmountText.printed(units: Int64(amountMinor)), "\(name) \(metric)")
                let row = rows.first { $0[1] == "run" && $0[3] == name && $0[4] == metric }
                #expect(row.map { [$0[5], $0[6]] } == [String(count), AmountText.printed(units: Int64(amountMinor))], "\(name) \(metric)")
            }
            let buckets = try #require(rule["open_by_age"] as? [[String: Any]])
            for bucket in buckets {
                let key = try #require(bucket["bucket"] as? String), count = try #require(bucket["count"] as? Int)
                #expect(ages[name]?["age-\(key)"] == AmountText.grouped(count), "\(name) \(key)")
                #expect(rows.first { $0[1] == "open_by_age" && $0[3] == name && $0[4] == key }?[5] == String(count), "\(name) \(key)")
            }
            #expect(ages[name]?["open"] == AmountText.grouped(rule["open_breaks"] as? Int ?? -1))
        }
        _ = folder
    }

    @Test func theSameLedgerGivesTheSameBytesInAnyTimeZone() throws {
        let (folder, config, reports) = try reporting()
        var files: [[UInt8]] = []
        for zone in ["CST-8", "UTC0", "EST5EDT"] {
            let run = try report("2024-12-17", config: config, timeZone: zone)
            #expect(run.status == 0, "\(run.stderr)")
            files.append(Array(try Data(contentsOf: URL(fileURLWithPath: "\(reports)/2024-12-17.html"))))
            files.append(Array(try Data(contentsOf: URL(fileURLWithPath: "\(reports)/2024-12-17.csv"))))
        }
        #expect(files[0] == files[2] && files[2] == files[4], "the page")
        #expect(files[1] == files[3] && files[3] == files[5], "the CSV")
        #expect(try FileManager.default.contentsOfDirectory(atPath: reports).sorted() == ["2024-12-17.csv", "2024-12-17.html"],
                "no temporary file left")
        _ = folder
    }

    @Test func aDayNoRuleReconciledIsSaidAndExitsThree() throws {
        let (folder, config, reports) = try reporting()
        let run = try report("2024-12-18", config: config)
        #expect(run.status == 3, "\(run.stdout)\(run.stderr)")
        #expect(run.stderr == "reckon: 2024-12-18 is not reconciled by repayments-vs-our-plan, bank-plans, statement-vs-channel-settlement, "
                + "bank-statement, disbursements-vs-statement, repayments-vs-bill: reckon reconcile --date 2024-12-18\n")
        #expect(run.stdout.contains("\n  bank-plans                             –       –        –       –       –       –           –\n"),
                "\(run.stdout)")
        #expect(squeezed(run.stdout).contains(" not reconciled: repayments-vs-our-plan, bank-plans, statement-vs-channel-settlement, "
                                              + "bank-statement, disbursements-vs-statement, repayments-vs-bill "), "\(run.stdout)")
        // Open breaks of earlier days still count, a day older; the page says what is missing.
        #expect(run.stdout.contains("\nall rules                            0    6    0     0        0     6  86,687.63\n"), "\(run.stdout)")
        let page = try String(contentsOfFile: "\(reports)/2024-12-18.html", encoding: .utf8)
        #expect(page.contains("<p class=\"banner\" id=\"not-reconciled\">Not reconciled on 2024-12-18: repayments-vs-our-plan, bank-plans, "))
        let csv = try String(contentsOfFile: "\(reports)/2024-12-18.csv", encoding: .utf8)
        #expect(csv.contains("\n2024-12-18,run,bank,bank-plans,not_reconciled,,,\n"))

        // Before the rules' first day nothing is missing.
        let before = try report("2024-11-16", config: config)
        #expect(before.status == 0, "\(before.stderr)")
        #expect(squeezed(before.stdout).contains(" not applied yet (from 2024-12-16): repayments-vs-our-plan, bank-plans, "), "\(before.stdout)")
        #expect(before.stdout.contains("\nopen breaks as they stand after the reconciliation of 2024-12-17 (a later day), not as they stood on 2024-11-16\n"),
                "\(before.stdout)")
        _ = folder
    }

    @Test func anOutboxThatCannotBeWrittenIsSaid() throws {
        let scratch = ScratchFolder()
        let file = scratch.write("not-a-folder", "x")
        let (folder, config, _) = try reporting(outbox: file)
        let run = try report("2024-12-17", config: config)
        #expect(run.status == 1)
        #expect(run.stderr.hasPrefix("reckon: writing the daily report to \(file)/reports/2024-12-17.html failed: the folder cannot be made: "),
                "\(run.stderr)")
        #expect(run.stderr.split(separator: "\n").count == 1)
        // The report is still shown; it names no file as written.
        #expect(run.stdout.contains("\nall rules "))
        #expect(!run.stdout.contains("written:"))
        _ = folder
    }
}

/// The figures of a section of the page: the row's `data-rule` → `data-metric` → the text.
private func pageFigures(_ page: String, section: String) throws -> [String: [String: String]] {
    let start = try #require(page.range(of: "<section id=\"\(section)\">"))
    let end = try #require(page.range(of: "</section>", range: start.upperBound..<page.endIndex))
    var result: [String: [String: String]] = [:]
    for row in page[start.upperBound..<end.lowerBound].components(separatedBy: "<tr ").dropFirst() {
        guard let range = row.range(of: "data-rule=\"") else { continue }
        let rule = String(row[range.upperBound...].prefix { $0 != "\"" })
        var metrics: [String: String] = [:]
        for cell in row.components(separatedBy: "data-metric=\"").dropFirst() {
            metrics[String(cell.prefix { $0 != "\"" })] = String(cell.drop { $0 != ">" }.dropFirst().prefix { $0 != "<" })
        }
        result[rule] = metrics
    }
    return result
}

/// One CSV line's fields (RFC 4180 quoting; no line breaks inside fields here).
private func csvFields(_ line: String) -> [String] {
    var fields: [String] = [], field = "", quoted = false, previousQuote = false
    for character in line {
        if quoted {
            if character == "\"" { quoted = false; previousQuote = true } else { field.append(character) }
        } else if character == "\"" {
            if previousQuote { field.append("\"") }
            quoted = true
            previousQuote = false
        } else if character == "," {
            fields.append(field); field = ""; previousQuote = false
        } else {
            field.append(character); previousQuote = false
        }
    }
    return fields + [field]
}
