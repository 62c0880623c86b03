import Foundation
import GRDB
import Testing

/// The settle step on the sample days, through the built `reckon`: what each partner
/// receives reads back through its own spec, the bank's totals are the inbound files' sums
/// to the cent (worked out here by splitting the files' text, not through reckon's
/// readers), a re-run writes the same bytes, a correction makes a new version, and a break
/// resolved with an adjustment goes to the next day's settlement file.
@Suite(.serialized) struct SettleEndToEndTests {
    typealias SampleDays = ReconciliationEndToEndTests.SampleDays

    /// A partner's day folder: every file's bytes by name.
    static func dayFiles(_ days: SampleDays, _ partner: String, _ day: String = "2024-12-16") -> [String: Data] {
        let folder = days.folder.path + "/outbox/\(partner)/\(day)"
        var files: [String: Data] = [:]
        for name in (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? [] {
            files[name] = FileManager.default.contents(atPath: folder + "/" + name)
        }
        return files
    }

    static func manifest(_ days: SampleDays, _ partner: String, _ day: String = "2024-12-16") throws -> [String: Any] {
        let data = try #require(FileManager.default.contents(atPath: days.folder.path + "/outbox/\(partner)/\(day)/MANIFEST.json"))
        return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    /// `reckon spec check --json`: the records and the result line.
    static func check(_ spec: String, _ file: String) throws -> (records: [[String: Any]], result: [String: Any]) {
        let checked = try cli(["spec", "check", repositoryRoot + "/mappings/\(spec).yaml", file, "--json"])
        let lines = try jsonLines(checked.stdout)
        let result = try #require(lines.last)
        return (lines.dropLast().filter { $0["type"] as? String == "record" }, result)
    }

    /// `39400.00` → 3940000: a plain decimal with two places, by its digits.
    static func cents(_ text: Substring) -> Int {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        return Int(parts[0])! * 100 + (parts.count > 1 ? Int(parts[1])! : 0)
    }

    /// The sample day's repayments file, split by hand: success rows' columns by name.
    static func repaymentRows(_ days: SampleDays) throws -> [[String: Substring]] {
        let text = try String(contentsOfFile: days.inputs.path + "/platform/PLAT_REPAY_20241216.csv", encoding: .utf8)
        let lines = text.split(separator: "\n").map { $0.split(separator: ",", omittingEmptySubsequences: false) }
        let names = lines[0]
        return lines.dropFirst().filter { $0[0] != "#TOTAL" }.map { row in
            Dictionary(uniqueKeysWithValues: zip(names.map(String.init), row))
        }
    }

    static func sha256(_ path: String) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/sha256sum")
        process.arguments = [path]
        let out = Pipe()
        process.standardOutput = out
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(String(decoding: data, as: UTF8.self).prefix(64))
    }

    @Test func everyOutboundFileOfTheSampleDayReadsBackThroughItsSpecToItsManifest() throws {
        let days = try SampleDays()
        var seen: [String] = []
        for partner in ["bank", "platform"] {
            let manifest = try Self.manifest(days, partner)
            #expect(manifest["version"] as? Int == 1 && manifest["business_date"] as? String == "2024-12-16")
            for file in try #require(manifest["files"] as? [[String: Any]]) {
                let name = try #require(file["name"] as? String), spec = try #require(file["spec"] as? String)
                let path = days.folder.path + "/outbox/\(partner)/2024-12-16/" + name
                seen.append("\(partner)/\(name) \(spec) \(file["record_count"]!)")
                let (_, result) = try Self.check(spec, path)
                #expect(result["clean"] as? Bool == true && result["controls_hold"] as? Bool == true, "\(name): \(result)")
                #expect(try Self.sha256(path) == file["sha256"] as? String, "\(name)")
                #expect(FileManager.default.contents(atPath: path)?.count == file["size_bytes"] as? Int)
                // The manifest's control totals are the ones the file declares, as reckon prints them.
                let controls = try #require(result["controls"] as? [[String: Any]])
                let declared = controls.map { control -> String in
                    let value = control["declared"] as! Int, scale = control["scale"] as! Int
                    return "\(control["name"]!)=" + (scale == 0 ? "\(value)" : Self.printed(value))
                }
                let listed = try #require(file["control_totals"] as? [[String: Any]]).map { "\($0["name"]!)=\($0["value"]!)" }
                #expect(listed == declared, "\(name)")
            }
        }
        #expect(seen.sorted() == ["bank/RECKON_PLAN_20241216.txt reckon-plan 150", "bank/RECKON_SETTLE_20241216.txt reckon-settlement 37",
                                  "platform/RECKON_ALERT_20241216.csv reckon-alerts 2", "platform/RECKON_RESULT_20241216.csv platform-results 40"])
        #expect(Self.dayFiles(days, "bank").keys.sorted() == ["MANIFEST.json", "RECKON_20241216.done", "RECKON_20241216.zip",
                                                              "RECKON_PLAN_20241216.txt", "RECKON_SETTLE_20241216.txt"])

        // The settlement file's lines, read back, are the platform's repayments per loan
        // (each repayment split over the periods it paid), to the cent.
        let settlement = try Self.check("reckon-settlement", days.folder.path + "/outbox/bank/2024-12-16/RECKON_SETTLE_20241216.txt")
        var ours: [String: Int] = [:], theirs: [String: Int] = [:]
        for record in settlement.records where record["kind"] as? String == "repayment" {
            let fields = try #require(record["fields"] as? [String: Any])
            ours[fields["loan_id"] as! String, default: 0] += fields["total"] as! Int
        }
        for row in try Self.repaymentRows(days) where row["status"] == "SUCCESS" {
            theirs[String(row["loan_id"]!), default: 0] += Self.cents(row["total"]!)
        }
        #expect(ours == theirs)

        // The result file has every record the platform sent, with its amount as sent; the
        // two in the channel's breaks say so.
        let results = try Self.check("platform-results", days.folder.path + "/outbox/platform/2024-12-16/RECKON_RESULT_20241216.csv")
        var statuses: [String: String] = [:]
        var amounts: [String: Int] = [:]
        for record in results.records where record["kind"] as? String == "result" {
            let fields = try #require(record["fields"] as? [String: Any])
            let place = "\(fields["file"]!):\(fields["line"]!)"
            statuses[place] = "\(fields["status"]!)" + ((fields["break_id"] as? Int).map { " #\($0)" } ?? "")
            amounts[place] = fields["amount"] as? Int
        }
        #expect(statuses.count == 40 && statuses.values.filter { $0 == "matched" }.count == 38)
        #expect(statuses["PLAT_REPAY_20241216.csv:2"] == "pending #1" && statuses["PLAT_REPAY_20241216.csv:3"] == "break #2")
        for (index, row) in try Self.repaymentRows(days).enumerated() {
            #expect(amounts["PLAT_REPAY_20241216.csv:\(index + 2)"] == Self.cents(row["total"]!))
        }

        // The plans are the day's loans': their principal is what the platform disbursed.
        let loans = try String(contentsOfFile: days.inputs.path + "/platform/PLAT_LOAN_20241216.csv", encoding: .utf8)
            .split(separator: "\n").dropFirst().filter { !$0.hasPrefix("#") }
        let disbursed = loans.reduce(0) { $0 + Self.cents($1.split(separator: ",", omittingEmptySubsequences: false)[5]) }
        let plans = try Self.check("reckon-plan", days.folder.path + "/outbox/bank/2024-12-16/RECKON_PLAN_20241216.txt")
        let principal = try #require((plans.result["controls"] as? [[String: Any]])?.first { $0["name"] as? String == "principal total" })
        #expect(disbursed == 49_630_000 && principal["declared"] as? Int == disbursed)
    }

    /// `12518357` → `125,183.57`.
    static func printed(_ minor: Int) -> String {
        let formatter = NumberFormatter()
        formatter.numberStyle = .decimal
        formatter.groupingSeparator = ","
        formatter.decimalSeparator = "."
        formatter.minimumFractionDigits = 2
        formatter.maximumFractionDigits = 2
        let sign = minor < 0 ? "-" : ""
        return sign + formatter.string(from: NSNumber(value: abs(minor) / 100))!.split(separator: ".")[0] + String(format: ".%02d", abs(minor) % 100)
    }

    @Test func theSampleDaysSettlementTotalsAreTheInboundFilesSumsToTheCent() throws {
        let days = try SampleDays()
        // The platform's repayments file, split by hand: the collections that succeeded.
        var sums = ["principal": 0, "interest": 0, "penalty": 0, "fee": 0, "total": 0, "compensation": 0]
        for row in try Self.repaymentRows(days) where row["status"] == "SUCCESS" {
            for part in ["principal", "interest", "penalty", "fee", "total"] { sums[part]! += Self.cents(row[part]!) }
            if row["repay_type"] == "COMP" { sums["compensation"]! += Self.cents(row["total"]!) }
        }
        #expect(sums == ["principal": 12_144_964, "interest": 372_750, "penalty": 643, "fee": 0, "total": 12_518_357, "compensation": 292_001])

        // The bank's own settlement trailer, by byte position (ASCII digits, implied decimals).
        func trailer(_ path: String) throws -> [UInt8] {
            let bytes = try #require(FileManager.default.contents(atPath: path))
            let lines = bytes.split(separator: 0x0A).map { Array($0) }
            return try #require(lines.last { $0.first == UInt8(ascii: "T") })
        }
        func amount(_ line: [UInt8], _ start: Int, _ length: Int) -> Int {
            Int(String(decoding: line[(start - 1)..<(start - 1 + length)], as: UTF8.self))!
        }
        let bank = try trailer(days.inputs.path + "/bank/BANK_SETTLE_20241216.txt")
        let bankTotals: [Int] = [amount(bank, 12, 18), amount(bank, 30, 18), amount(bank, 48, 18), amount(bank, 66, 18), amount(bank, 84, 18)]
        let inboundTotals: [Int] = [sums["total"]!, sums["principal"]!, sums["interest"]!, sums["penalty"]!, sums["fee"]!]
        #expect(bankTotals == inboundTotals)

        // Ours: the totals the bank checks, at the positions of reckon-settlement.yaml.
        let ours = try trailer(days.folder.path + "/outbox/bank/2024-12-16/RECKON_SETTLE_20241216.txt")
        #expect(ours.count == 201 && ours.last == 0x0D, "a 200-byte record and its CR")
        #expect(amount(ours, 2, 10) == 37)
        let ourTotals: [String: Int] = ["total": amount(ours, 12, 18), "principal": amount(ours, 30, 18), "interest": amount(ours, 48, 18),
                                        "penalty": amount(ours, 66, 18), "fee": amount(ours, 84, 18), "compensation": amount(ours, 102, 18)]
        #expect(ourTotals == sums)
        #expect(amount(ours, 120, 18) == 0, "no adjustment on the sample day")
    }

    @Test func aRerunWritesTheSameBytesAndACorrectedFileMakesANewVersionWithTheOldArchived() throws {
        let days = try SampleDays()
        let bank = Self.dayFiles(days, "bank"), platform = Self.dayFiles(days, "platform")
        let again = try days.run("settle", "--date", "2024-12-16", "--json")
        #expect(again.status == 0, "\(again.stderr)")
        let partners = try #require(try jsonObject(again.stdout)["partners"] as? [[String: Any]])
        #expect(partners.map { "\($0["partner"]!) v\($0["version"]!) \($0["changed"]!)" } == ["platform v1 0", "bank v1 0"])
        #expect(Self.dayFiles(days, "bank") == bank && Self.dayFiles(days, "platform") == platform)
        let text = try days.run("settle", "--date", "2024-12-16")
        #expect(text.stdout.hasSuffix("settled: platform v1 unchanged (2 files, 42 records), bank v1 unchanged (2 files, 187 records)\n"), "\(text.stdout)")
        let listed = try jsonObject(try days.run("outbox", "list", "--date", "2024-12-16", "--json").stdout)
        #expect((listed["files"] as? [[String: Any]])?.count == 4)

        // The platform corrects its repayments: the last one was not collected after all.
        let file = days.inputs.path + "/platform/PLAT_REPAY_20241216.csv"
        let original = try String(contentsOfFile: file, encoding: .utf8)
        let corrected = original.split(separator: "\n", omittingEmptySubsequences: false)
            .filter { !$0.hasPrefix("R20241216000020,") }.joined(separator: "\n")
            .replacingOccurrences(of: "#TOTAL,20,125183.57,", with: "#TOTAL,19,120545.97,")
        #expect(corrected != original)
        try corrected.write(toFile: file, atomically: true, encoding: .utf8)
        let batch = try days.run("batch", "--date", "2024-12-16", "--steps", "collect,ingest,plan,reconcile,settle")
        #expect(batch.stdout.contains("settled: platform v2 (2 files, 41 records), bank v2 (2 files, 186 records)"), "\(batch.stdout)\(batch.stderr)")

        let manifest = try Self.manifest(days, "bank")
        #expect(manifest["version"] as? Int == 2)
        let reason = try #require(manifest["reason"] as? String)
        #expect(reason.hasPrefix("settle 2024-12-16; corrected files: PLAT_REPAY_20241216.csv #"), "\(reason)")
        let archived = days.folder.path + "/var/archive/outbound/bank/2024-12-16/RECKON_SETTLE_20241216.txt.v1"
        #expect(FileManager.default.contents(atPath: archived) == bank["RECKON_SETTLE_20241216.txt"])
        let settlement = try Self.check("reckon-settlement", days.folder.path + "/outbox/bank/2024-12-16/RECKON_SETTLE_20241216.txt")
        let total = try #require((settlement.result["controls"] as? [[String: Any]])?.first { $0["name"] as? String == "total amount" })
        #expect(total["declared"] as? Int == 12_054_597)
        // The plans did not change, but the set is one version: the same bytes under v2.
        #expect(Self.dayFiles(days, "bank")["RECKON_PLAN_20241216.txt"] == bank["RECKON_PLAN_20241216.txt"])
    }

    /// The outbound files are a function of the ledger's business state, not of when a run
    /// happened: alerts raised at other clock times (a daemon, a re-run from scratch) leave
    /// every partner's set as it was.
    @Test func theRunsClockNeverReachesTheOutboundFiles() throws {
        let days = try SampleDays()
        let bank = Self.dayFiles(days, "bank"), platform = Self.dayFiles(days, "platform")
        let queue = try DatabaseQueue(path: days.folder.path + "/var/reckon.sqlite")
        try queue.writeWithoutTransaction { db in
            try db.execute(sql: "UPDATE alert SET raised_at = '2031-01-01T00:00:00Z'")
            #expect(db.changesCount > 0)
        }
        let again = try days.run("settle", "--date", "2024-12-16")
        #expect(again.stdout.hasSuffix("settled: platform v1 unchanged (2 files, 42 records), bank v1 unchanged (2 files, 187 records)\n"), "\(again.stdout)")
        #expect(Self.dayFiles(days, "bank") == bank && Self.dayFiles(days, "platform") == platform)
    }

    @Test func anAdjustmentGoesToTheNextDaysSettlementFileAndTheBreakNamesIt() throws {
        let days = try SampleDays()
        let cent = try #require((try jsonObject(try days.run("breaks", "list", "--kind", "amount", "--json").stdout)["breaks"]
            as? [[String: Any]])?.first?["id"] as? Int)
        let wrong = try days.run("breaks", "resolve", "\(cent)", "--reason", "timing", "--amount", "0.01", "--note", "n", "--as", "alice")
        #expect(wrong.status == 1 && wrong.stderr == "reckon: an amount (--amount) is an adjustment: give it with --reason adjusted, not timing\n",
                "\(wrong.stderr)")
        let resolved = try days.run("breaks", "resolve", "\(cent)", "--reason", "adjusted", "--amount", "0.01",
                                    "--note", "we pay the channel's cent", "--as", "alice")
        #expect(resolved.status == 0, "\(resolved.stderr)")
        var shown = try jsonObject(try days.run("breaks", "show", "\(cent)", "--json").stdout)
        var adjustment = try #require(shown["adjustment"] as? [String: Any])
        #expect(adjustment["amount_minor"] as? Int == 1 && adjustment["settle_on"] as? String == "2024-12-17")
        #expect(adjustment["fixed_by_file"] is NSNull && adjustment["entry_id"] is Int)
        // A normal balanced entry: the ledger still verifies, and the settlement account moved.
        #expect(try days.run("ledger", "verify").status == 0)

        let settled = try days.run("settle", "--date", "2024-12-17", "--partner", "bank")
        #expect(settled.status == 0, "\(settled.stderr)")
        // (Wrapped at 120 columns, continued with an indent.)
        #expect(settled.stdout.replacingOccurrences(of: "\n      ", with: " ").contains("  bank/RECKON_SETTLE_20241217.txt: record count 1, total amount 0.01, principal total 0.00, "
                                        + "interest total 0.00, penalty total 0.00, fee total 0.00, compensation total 0.00, adjustment total 0.01\n"),
                "\(settled.stdout)")
        let file = days.folder.path + "/outbox/bank/2024-12-17/RECKON_SETTLE_20241217.txt"
        let line = try #require(try Self.check("reckon-settlement", file).records.first { $0["kind"] as? String == "repayment" })
        let fields = try #require(line["fields"] as? [String: Any])
        #expect(fields["repay_type"] as? String == "adjustment" && fields["total"] as? Int == 1 && fields["break_id"] as? Int == cent)
        #expect(fields["loan_id"] as? String == "L202411060901" && fields["paid_on"] as? String == "2024-12-16")
        shown = try jsonObject(try days.run("breaks", "show", "\(cent)", "--json").stdout)
        adjustment = try #require(shown["adjustment"] as? [String: Any])
        #expect(adjustment["fixed_by_file"] as? String == "bank/RECKON_SETTLE_20241217.txt")
        let text = try days.run("breaks", "show", "\(cent)").stdout
        #expect(text.contains("\n  adjustment 0.01 CNY: journal entry #\(adjustment["entry_id"]!), carried by bank/RECKON_SETTLE_20241217.txt\n"),
                "\(text)")
        // Reopened and resolved again, it keeps the one adjustment the bank has.
        #expect(try days.run("breaks", "reopen", "\(cent)", "--note", "again", "--as", "alice").status == 0)
        let twice = try days.run("breaks", "resolve", "\(cent)", "--reason", "adjusted", "--amount", "0.01", "--note", "n", "--as", "alice")
        #expect(twice.status == 1 && twice.stderr == "reckon: break #\(cent) has an adjustment booked already (0.01 CNY, journal entry "
                + "#\(adjustment["entry_id"]!), carried by bank/RECKON_SETTLE_20241217.txt); resolve it without --amount\n", "\(twice.stderr)")
        // The day of the fix carries it once: the next day does not.
        #expect(try days.run("settle", "--date", "2024-12-18", "--partner", "bank").stdout.contains("bank/RECKON_SETTLE_20241218.txt: record count 0,"))
    }

    @Test func anAdjustmentAboveTheApprovalLineIsBookedWhenASecondPersonApproves() throws {
        let days = try SampleDays()
        let plan = try #require((try jsonObject(try days.run("breaks", "list", "--kind", "plan_mismatch", "--json").stdout)["breaks"]
            as? [[String: Any]])?.first?["id"] as? Int)
        let proposed = try days.run("breaks", "resolve", "\(plan)", "--reason", "adjusted", "--amount", "60,000.00",
                                    "--note", "refund", "--as", "alice")
        #expect(proposed.status == 0, "\(proposed.stderr)")
        var adjustment = try #require(try jsonObject(try days.run("breaks", "show", "\(plan)", "--json").stdout)["adjustment"] as? [String: Any])
        #expect(adjustment["amount_minor"] as? Int == 6_000_000 && adjustment["entry_id"] is NSNull)
        #expect(try days.run("breaks", "approve", "\(plan)", "--as", "bob").status == 0)
        adjustment = try #require(try jsonObject(try days.run("breaks", "show", "\(plan)", "--json").stdout)["adjustment"] as? [String: Any])
        #expect(adjustment["entry_id"] is Int && adjustment["settle_on"] as? String == "2024-12-17")
        #expect(try days.run("ledger", "verify").status == 0)
    }

    @Test func aRefusedFilesRecordsAreRefusedInTheResultFileWithTheirReasons() throws {
        let inputs = ScratchFolder()
        let demo = try cli(["demo", "--date", "2024-12-16", "--loans", "20", "--into", inputs.path, "--mappings", repositoryRoot + "/mappings"])
        try #require(demo.status == 0, "\(demo.stderr)")
        // The first loan of 2024-11-06 with a third decimal: refused, the file with it.
        let file = inputs.path + "/platform/PLAT_LOAN_20241106.csv"
        var lines = try String(contentsOfFile: file, encoding: .utf8).components(separatedBy: "\n")
        var columns = lines[1].components(separatedBy: ",")
        #expect(columns[5] == "7600.00")
        columns[5] = "7600.001"
        lines[1] = columns.joined(separator: ",")
        try lines.joined(separator: "\n").write(toFile: file, atomically: true, encoding: .utf8)
        let folder = try workspace(inputs.path)
        let batch = try cli(["batch", "--date", "2024-11-06", "--config", folder.path + "/reckon.yaml"])
        #expect(batch.status == 1 && batch.stdout.contains("; settled: platform v1 (2 files, 2 records), bank v1 (2 files, 0 records)\n"),
                "\(batch.stdout)")
        let results = try String(contentsOfFile: folder.path + "/outbox/platform/2024-11-06/RECKON_RESULT_20241106.csv", encoding: .utf8)
        #expect(results == """
            file,line,record_kind,loan_id,reference,amount,status,break_id,reason
            PLAT_LOAN_20241106.csv,2,loan,,,,REFUSED,,field 'principal' = '7600.001': has more than 2 decimal places; amounts are never rounded on input
            PLAT_LOAN_20241106.csv,0,file,,,,REFUSED,,"the file was refused: nothing from it was posted (principal total: declared 7600.00, actual 0.00); \
            report: \(folder.path)/var/quarantine/2024-11-06/platform/loans/PLAT_LOAN_20241106.csv.report.txt"
            #TOTAL,2,0.00,,,,,,

            """)
    }

    @Test func aDryRunShowsTheFilesAndTheirTotalsAndWritesNothing() throws {
        let days = try SampleDays()
        let dry = try days.run("settle", "--date", "2024-12-17", "--dry-run")
        #expect(dry.status == 0, "\(dry.stderr)")
        #expect(dry.stdout.hasPrefix("settle 2024-12-17 (dry run: nothing installed or recorded)\n"), "\(dry.stdout)")
        #expect(dry.stdout.contains("  bank/RECKON_PLAN_20241217.txt: record count 0, principal total 0.00, interest total 0.00\n"))
        #expect(dry.stdout.hasSuffix("settled: platform (dry run) (2 files, 0 records), bank (dry run) (2 files, 0 records)\n"), "\(dry.stdout)")
        for partner in ["bank", "platform"] {
            // (The outbox's day locks stay: empty files it takes a lock on.)
            let names = try FileManager.default.contentsOfDirectory(atPath: days.folder.path + "/outbox/\(partner)").filter { !$0.hasSuffix(".lock") }
            #expect(names.sorted() == ["2024-11-06", "2024-11-13", "2024-11-16", "2024-12-16"], "\(partner): \(names)")
        }
        let listed = try jsonObject(try days.run("outbox", "list", "--date", "2024-12-17", "--json").stdout)
        #expect((listed["files"] as? [[String: Any]])?.isEmpty == true)
        // A partner whose files cannot be written fails the step (exit 1); the others settle.
        _ = days.folder.write("outbox/bank/.2024-12-17.staging", "in the way")
        let blocked = try days.run("settle", "--date", "2024-12-17")
        #expect(blocked.status == 1, "\(blocked.stdout)")
        #expect(blocked.stdout.contains("\nfailed: platform v1 (2 files, 0 records), 1 partner not settled: bank: "), "\(blocked.stdout)")
        #expect(blocked.stderr.hasPrefix("reckon: settle: bank: "), "\(blocked.stderr)")
        #expect(!FileManager.default.fileExists(atPath: days.folder.path + "/outbox/bank/2024-12-17"))
        _ = days.folder.write("outbox/bank/.2024-12-17.staging", "in the way again")
        let batch = try days.run("batch", "--date", "2024-12-17")
        #expect(batch.status == 1 && batch.stdout.contains("settle step: bank: "), "\(batch.stdout)")
        let none = try days.run("settle", "--date", "2024-12-17", "--partner", "core")
        #expect(none.status == 2 && none.stderr == "reckon: partner core receives no files (no outbound: in \(days.config)); partners that do: platform, bank\n",
                "\(none.stderr)")
    }
}
