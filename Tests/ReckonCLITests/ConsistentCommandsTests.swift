import Foundation
import Testing

/// Issue 9 item 22, on the built binary and the sample day's ledger: every command that
/// lists or shows something takes `--json` (one documented shape, amounts in minor units,
/// the exit status unchanged); the business day is `--date` and a loan `--loan`
/// everywhere; `status --date` shows that day's runs; amounts print one way; counts agree
/// with their nouns; runs show their start, end and duration in local time with the
/// offset; wide outputs fit 120 columns or say how to see the rest; progress names the
/// step on standard error.
@Suite("Consistent commands")
struct ConsistentCommandsTests {
    var sample: SampleLedger { get throws { try SampleLedger.shared.get() } }

    // MARK: --json everywhere

    /// Every leaf command under `reckon --help`, found by walking the help's SUBCOMMANDS
    /// sections, so a command added later is audited too.
    func leafCommands(_ path: [String] = []) throws -> [[String]] {
        let help = try reckon(path + ["--help"])
        let lines = help.stdout.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        guard let start = lines.firstIndex(of: "SUBCOMMANDS:") else { return [path] }
        var leaves: [[String]] = []
        for line in lines[(start + 1)...] where line.hasPrefix("  ") && !line.hasPrefix("   ") {
            guard let name = line.split(separator: " ").first, name.first?.isLowercase == true else { break }
            leaves += try leafCommands(path + [String(name)])
        }
        return leaves
    }

    @Test func everyCommandTakesJSONAndItsHelpSaysTheShape() throws {
        let leaves = try leafCommands()
        #expect(leaves.map { $0.joined(separator: " ") } == [
            "spec check", "spec test", "batch", "run", "demo", "ingest", "files list", "files set-aside", "files reinstate",
            "plan preview", "plan show", "plan alerts", "plan differences", "reconcile", "settle", "report", "alerts list", "alerts read", "breaks list", "breaks show", "breaks match",
            "breaks resolve", "breaks reopen", "breaks approve", "breaks audit", "outbox list", "tasks list", "tasks run", "tasks enable",
            "tasks disable", "ledger balance", "ledger verify", "ledger export",
            "status", "pause", "resume", "switches",
        ])
        for leaf in leaves {
            let name = "reckon " + leaf.joined(separator: " ")
            let help = try reckon(leaf + ["--help"]).stdout.split(whereSeparator: \.isWhitespace).joined(separator: " ")
            #expect(help.contains("--json"), "\(name) has no --json")
            #expect(help.contains("JSON object") || help.contains("JSON lines"), "\(name) does not say what its JSON is: \(help)")
            #expect(!help.contains("--as-of"), "\(name) still shows --as-of")
        }
        // The business day is --date wherever a command takes one.
        for leaf in [["batch"], ["run"], ["status"], ["files", "list"], ["files", "set-aside"], ["ingest"], ["ledger", "export"],
                     ["plan", "alerts"], ["plan", "differences"], ["plan", "show"], ["demo"], ["alerts", "list"], ["alerts", "read"], ["breaks", "list"], ["breaks", "show"], ["outbox", "list"]] {
            #expect(try reckon(leaf + ["--help"]).stdout.contains("--date <date>"), "reckon \(leaf.joined(separator: " "))")
        }
    }

    @Test func readingCommandsGiveJSONWithAmountsInMinorUnits() throws {
        let sample = try sample
        let status = try sample.run("status", "--json")
        #expect(status.status == 0)
        #expect(try jsonObject(status.stdout).keys.sorted() == ["days", "files", "open_alerts", "runs", "switches"])

        let files = try jsonObject(try sample.run("files", "list", "--json").stdout)
        #expect((files["files"] as? [[String: Any]])?.count == 15)

        let show = try jsonObject(try sample.run("plan", "show", "--loan", "L202412160001", "--date", "2025-01-26", "--json").stdout)
        #expect(show["loan_id"] as? String == "L202412160001" && show["currency"] as? String == "CNY")
        #expect(show["outstanding_principal_minor"] as? Int == 1_200_000)
        #expect(show["may_change"] as? [String] == ["platform/repayments 2024-12-17: the day's repayments are incomplete: "
            + "PLAT_REPAY_20241217.csv has not come; the plans, overdue status and penalty as of 2024-12-17 were worked out "
            + "without it and may change when it comes"])

        let alerts = try jsonObject(try sample.run("plan", "alerts", "--json").stdout)
        #expect((alerts["alerts"] as? [[String: Any]])?.map { $0["kind"] as? String ?? "" }.sorted().last == "repayments_incomplete")

        let differences = try sample.run("plan", "differences", "--json")
        let difference = try #require((try jsonObject(differences.stdout)["differences"] as? [[String: Any]])?.first)
        #expect(difference["loan_id"] as? String == "L202412160002" && difference["period"] as? Int == 3
                && difference["field"] as? String == "interest")
        #expect(difference["ours_minor"] as? Int == 3600 && difference["theirs_minor"] as? Int == 3601, "\(differences.stdout)")

        let verify = try jsonObject(try sample.run("ledger", "verify", "--json").stdout)
        #expect(verify["ok"] as? Bool == true && verify["entries"] as? Int == 123 && verify["postings"] as? Int == 283)

        let export = try jsonLines(try sample.run("ledger", "export", "--json").stdout)
        #expect(Set(export.compactMap { $0["section"] as? String }) == [
            "files", "events", "entries", "loans", "plan_lines", "allocations", "alerts", "balances",
        ])
        let entry = try #require(export.first { $0["section"] as? String == "entries" })
        let postings = try #require(entry["postings"] as? [[String: Any]])
        #expect(postings.reduce(0) { $0 + ($1["amount_minor"] as? Int ?? 0) } == 0, "\(entry)")

        let check = try jsonLines(try cli(["spec", "check", "--json", "mappings/platform-repayments.yaml",
                                           "inbox/platform/PLAT_REPAY_20241216.csv"]).stdout)
        let record = try #require(check.first)
        #expect((record["fields"] as? [String: Any])?["principal"] as? Int == 3_940_000)
        #expect((record["scales"] as? [String: Int]) == ["principal": 2, "interest": 2, "penalty": 2, "fee": 2, "total": 2])

        let specs = try cli(["spec", "test", "--json"])
        let tested = try jsonObject(specs.stdout)
        #expect(specs.status == 0 && tested["held"] as? Int == tested["total"] as? Int && (tested["total"] as? Int ?? 0) > 0)

        let preview = try jsonObject(try cli(["plan", "preview", "--principal", "12,000.00", "--rate", "9%", "--term", "12",
                                              "--start", "2024-11-15", "--json"]).stdout)
        #expect(preview["installment_minor"] as? Int == 104_942)
    }

    @Test func demoSaysWhatItWroteAsJSON() throws {
        let sample = try sample
        let demo = try jsonObject(sample.demo.stdout)
        #expect(demo["loans_disbursed"] as? Int == 20 && demo["repayments"] as? Int == 20)
        let written = try #require(demo["files"] as? [String])
        #expect(written.contains(sample.inputs.path + "/platform/PLAT_REPAY_20241216.csv"))
        #expect(written.allSatisfy { FileManager.default.fileExists(atPath: $0) })
    }

    // MARK: Balances to the cent

    /// Cents of a plain decimal from a partner file (`2766.67`), read here independently of reckon.
    func cents(_ text: String) -> Int {
        let parts = text.split(separator: ".")
        return Int(parts[0])! * 100 + (parts.count > 1 ? Int(parts[1].padding(toLength: 2, withPad: "0", startingAt: 0))! : 0)
    }

    @Test func ledgerBalanceGivesTheSampleDayToTheCent() throws {
        let sample = try sample
        let text = try sample.run("ledger", "balance")
        #expect(text.status == 0)
        let rows = text.stdout.split(separator: "\n").map { $0.split(separator: " ").map(String.init) }
        let programme = rows.filter { !$0[0].hasPrefix("loan:") && !$0[0].hasPrefix("margin:frozen:") }
        #expect(programme == [
            ["bank:settlement", "-904,589.55", "CNY"], ["channel:WXPAY:clearing", "39,670.49", "CNY"],
            ["expense:channel_fee", "82.62", "CNY"], ["guarantor:compensation", "2,920.01", "CNY"],
            ["income:interest", "-3,727.50", "CNY"], ["income:penalty", "-6.43", "CNY"], ["margin:available", "-55,445.03", "CNY"],
        ])
        #expect(text.stdout.hasPrefix("bank:settlement                        -904,589.55  CNY\n"), "\(text.stdout)")

        // The income and the guarantor's account, from the day's repayments file itself.
        let repayments = try sample.csv("platform/PLAT_REPAY_20241216.csv").dropFirst().filter { !$0[0].hasPrefix("#") }
        let json = try jsonObject(try sample.run("ledger", "balance", "--json").stdout)
        let balances = try #require(json["balances"] as? [[String: Any]])
        func balance(_ account: String) -> Int? { balances.first { $0["account"] as? String == account }?["balance_minor"] as? Int }
        #expect(balance("income:interest") == -repayments.reduce(0) { $0 + cents($1[6]) })
        #expect(balance("income:penalty") == -repayments.reduce(0) { $0 + cents($1[7]) })
        #expect(balance("guarantor:compensation") == repayments.filter { $0[3] == "COMP" }.reduce(0) { $0 + cents($1[9]) })
        #expect(balance("bank:settlement") == -90_458_955)
        // Double entry: everything sums to zero; every account of the text is in the JSON.
        #expect(balances.reduce(0) { $0 + ($1["balance_minor"] as? Int ?? 0) } == 0)
        #expect(balances.count == rows.count && balances.allSatisfy { $0["currency"] as? String == "CNY" })

        let loan = try sample.run("ledger", "balance", "--loan", "L202412160001")
        #expect(loan.stdout == """
            loan:L202412160001:principal             12,000.00  CNY
            margin:frozen:L202412160001               1,200.00  CNY

            """)
        #expect(try sample.run("ledger", "balance", "--loan", "L0").stdout == "no balances\n")
    }

    // MARK: Export of one day

    @Test func exportOfADayHasOnlyThatDaysRowsAndTheSameBytesEachTime() throws {
        let sample = try sample
        let day = "2024-12-16"
        let text = try sample.run("ledger", "export", "--date", day)
        #expect(text.status == 0)
        #expect(try sample.run("ledger", "export", "--date", day).stdout == text.stdout)

        let rows = try jsonLines(try sample.run("ledger", "export", "--date", day, "--json").stdout)
        func section(_ name: String) -> [[String: Any]] { rows.filter { $0["section"] as? String == name } }
        #expect(rows.count == text.stdout.split(separator: "\n").filter { !$0.hasPrefix("# ") }.count)
        #expect(section("files").count == 9 && section("files").allSatisfy { $0["business_date"] as? String == day })
        let digests = Set(section("files").compactMap { $0["sha256"] as? String })
        #expect(!section("events").isEmpty && section("events").allSatisfy { digests.contains($0["sha256"] as? String ?? "") })
        #expect(!section("entries").isEmpty && section("entries").allSatisfy { $0["business_date"] as? String == day })
        #expect(section("loans").count == 20 && section("loans").allSatisfy { $0["disbursed_on"] as? String == day })
        let loans = Set(section("loans").compactMap { $0["loan_id"] as? String })
        #expect(section("plan_lines").allSatisfy { loans.contains($0["loan_id"] as? String ?? "") })
        // The bank's plans are compared by the bank-plans rule now: its break, not the plan
        // step's difference; the day's breaks raise one alert per rule.
        #expect(section("plan_differences").isEmpty)
        #expect(section("alerts").map { "\($0["kind"] as? String ?? "") \($0["subject"] as? String ?? "")" }
                == ["breaks_found bank-plans 2024-12-16", "breaks_found repayments-vs-bill 2024-12-16"])

        // The whole ledger has more; its balances are the day's export's.
        let all = try jsonLines(try sample.run("ledger", "export", "--json").stdout)
        #expect(all.filter { $0["section"] as? String == "files" }.count == 15)
        #expect(NSArray(array: all.filter { $0["section"] as? String == "balances" }).isEqual(to: section("balances")))
    }

    // MARK: --date and --loan

    @Test func aLoanAndTheDayAreNamedOneWay() throws {
        let sample = try sample
        let byOption = try sample.run("plan", "show", "--loan", "L202412160001", "--date", "2025-01-26")
        #expect(byOption.status == 0, "\(byOption.stderr)")
        #expect(byOption.stdout.contains("as of 2025-01-26: active; outstanding principal 12,000.00, unpaid penalty 3.94"))
        // The positional loan and the old --as-of still work: old scripts keep running.
        #expect(try sample.run("plan", "show", "L202412160001", "--as-of", "2025-01-26").stdout == byOption.stdout)
        #expect(try sample.run("plan", "show", "L202412160001", "--date", "20250126").stdout == byOption.stdout)

        let refusals: [([String], String)] = [
            (["plan", "show", "L202412160001", "--loan", "L202412160001"],
             "Error: name the loan once: reckon plan show --loan L (or reckon plan show L), not both"),
            (["plan", "show"], "Error: name the loan: reckon plan show --loan L202412160001"),
            (["plan", "show", "--loan", "L202412160001", "--date", "2025-01-26", "--as-of", "2025-01-26"],
             "Error: --as-of is the old name of --date: give one"),
        ]
        for (arguments, message) in refusals {
            let refused = try cli(arguments + ["--config", sample.config])
            #expect(refused.status == 64 && refused.stderr.split(separator: "\n").first.map(String.init) == message, "\(arguments): \(refused.stderr)")
        }

        let alerts = try sample.run("plan", "alerts", "--loan", "L202412160020")
        #expect(alerts.stdout.hasPrefix("2024-12-17  missing_partner_plan  loan L202412160020 was disbursed on 2024-12-16 and bank has not sent its plan"))
        #expect(alerts.stdout.split(separator: "\n").filter { $0.hasPrefix("2024") }.count == 1, "\(alerts.stdout)")
        #expect(try sample.run("plan", "alerts", "--loan", "L20241216002").stdout == "no alerts\n")
        #expect(try sample.run("plan", "differences", "--loan", "L202412160002").stdout.contains("L202412160002       3  interest"))
        #expect(try sample.run("plan", "differences", "--loan", "L202412160001").stdout == "no plan differences\n")
    }

    @Test func statusOfADayShowsThatDaysRunsOnly() throws {
        let sample = try sample
        let latest = try sample.run("status")
        #expect(latest.stdout.split(separator: "\n").filter { $0.hasPrefix("batch run #") }.map { String($0.prefix(14)) }
                == ["batch run #5 f", "batch run #4 f", "batch run #3 f"])
        let oldest = try sample.run("status", "--date", "2024-11-06")
        let lines = oldest.stdout.split(separator: "\n").map(String.init)
        #expect(lines.first == "batch run #1 for 2024-11-06 (collect,ingest,plan,reconcile,settle,deliver): succeeded")
        #expect(lines.filter { $0.hasPrefix("batch run #") }.count == 1)
        #expect(lines.contains("day 2024-11-06: complete"))
        #expect(lines.contains("files received for 2024-11-06:"))
        let cells: [[Substring]] = lines.map { $0.split(separator: " ") }
        let received: [String] = cells.filter { $0.count > 2 && Int($0[0]) != nil && $0[1].hasPrefix("20") }.map { String($0[1]) }
        #expect(received == ["2024-11-06", "2024-11-06"], "\(oldest.stdout)")

        let json = try jsonObject(try sample.run("status", "--date", "2024-12-17", "--json").stdout)
        #expect((json["runs"] as? [[String: Any]])?.map { $0["id"] as? Int } == [5])
        #expect((json["days"] as? [[String: Any]])?.map { $0["business_date"] as? String } == ["2024-12-17"])
        #expect((json["files"] as? [[String: Any]])?.isEmpty == true)
    }

    // MARK: Times

    /// `2024-12-16T01:00:01Z` in UTC+8, worked out with Foundation, not reckon's code.
    func localTime(_ stored: String) throws -> (date: String, clock: String, seconds: Int) {
        let moment = try #require(ISO8601DateFormatter().date(from: stored), "\(stored)")
        let format = DateFormatter()
        format.locale = Locale(identifier: "en_US_POSIX")
        format.timeZone = TimeZone(secondsFromGMT: 8 * 3600)
        format.dateFormat = "yyyy-MM-dd"
        let date = format.string(from: moment)
        format.dateFormat = "HH:mm:ss"
        return (date, format.string(from: moment), Int(moment.timeIntervalSince1970))
    }

    @Test func runsShowStartFinishAndDurationInLocalTimeWithTheOffset() throws {
        let sample = try sample
        let json = try jsonObject(try sample.run("status", "--date", "2024-12-16", "--json").stdout)
        let run = try #require((json["runs"] as? [[String: Any]])?.first)
        let startedAt = try #require(run["started_at"] as? String), endedAt = try #require(run["finished_at"] as? String)
        #expect(startedAt.hasSuffix("Z") && startedAt.count == 20)
        let (start, end) = (try localTime(startedAt), try localTime(endedAt))
        #expect(run["duration_seconds"] as? Int == end.seconds - start.seconds)
        let seconds = end.seconds - start.seconds
        let duration = seconds < 1 ? "under 1 s" : seconds < 60 ? "\(seconds) s" : "\(seconds / 60) min \(String(format: "%02d", seconds % 60)) s"
        let finished = start.date == end.date ? end.clock : "\(end.date) \(end.clock) +08:00"
        let span = "started \(start.date) \(start.clock) +08:00, finished \(finished) (\(duration))"

        let status = try sample.run("status", "--date", "2024-12-16")
        #expect(status.stdout.split(separator: "\n").dropFirst().first.map(String.init) == "  " + span, "\(status.stdout)")
        #expect(sample.day.stdout.contains("\nbatch run #4 \(span)\n"), "\(sample.day.stdout)")
        // Progress lines carry the local time of day with the offset too.
        #expect(sample.day.stderr.split(separator: "\n").allSatisfy {
            $0.range(of: #"^\[\d\d:\d\d:\d\d \+08:00\] "#, options: .regularExpression) != nil
        }, "\(sample.day.stderr)")
    }

    // MARK: Amounts and counts

    @Test func amountsPrintOneWay() throws {
        let sample = try sample
        var outputs = [
            try sample.run("ledger", "balance").stdout,
            try sample.run("plan", "show", "--loan", "L202411130902").stdout,
            try sample.run("plan", "differences").stdout,
            try sample.run("status").stdout,
            sample.day.stdout, sample.dayAfter.stdout,
            try cli(["plan", "preview", "--principal", "868769.38", "--rate", "23.99%", "--term", "51", "--start", "2021-10-24"]).stdout,
        ]
        // spec check's record tables show values as read; its control lines print amounts.
        let check = try cli(["spec", "check", "mappings/bank-settlement.yaml", "inbox/bank/BANK_SETTLE_20241216.txt"]).stdout
        let controls = check.split(separator: "\n").filter { $0.contains("declared") }
        #expect(controls.contains { $0.hasSuffix("total amount     line 22: declared 125,183.57, found 125,183.57") }, "\(check)")
        outputs.append(controls.joined(separator: "\n"))
        // No amount of a thousand or more without its separators, anywhere.
        for output in outputs {
            #expect(output.range(of: #"(?<![\d,.])-?\d{4,}\.\d{2}(?!\d)"#, options: .regularExpression) == nil, "\(output)")
        }
        #expect(outputs[1].contains("16,600.00 at 10.80% a year over 6 months, equal principal, from 2024-11-13\n"))
        // Amount arguments are taken as they print: grouped, negative with its sign first.
        let grouped = try cli(["plan", "preview", "--principal", "868,769.38", "--rate", "23.99%", "--term", "51", "--start", "2021-10-24"])
        #expect(grouped.status == 0 && grouped.stdout == outputs[6])
    }

    @Test func countsAgreeWithTheirNouns() throws {
        let sample = try sample
        let outputs = [sample.day.stdout, sample.dayAfter.stdout, try sample.run("status").stdout,
                       try sample.run("ledger", "verify").stdout, try cli(["spec", "test"]).stdout]
        let plural = #"(?<![\d,.])1 (alerts|records|entries|events|files|repayments|loans|plan differences|overdue lines|examples|specs|postings|duplicates|lines|expected files|more alerts)\b"#
        for output in outputs {
            #expect(output.range(of: plural, options: .regularExpression) == nil, "\(output)")
        }
        // The day after: the plan step raised no alert (the bank-plans rule says the plan is
        // missing: one new alert); the repayments it went without are listed on their own.
        let lines = sample.dayAfter.stdout.split(separator: "\n").map(String.init)
        let plans = try #require(lines.firstIndex { $0.hasPrefix("plans: ") })
        #expect(lines[plans].hasSuffix(", 0 plan differences, 0 alerts"))
        #expect(lines[plans + 1] == "plans made over incomplete repayments:")
        #expect(lines[plans + 2].hasPrefix("  ! platform/repayments 2024-12-17: the day's repayments are incomplete: "))
        #expect(lines[plans + 3] == "reconciliation: 6 rules: 0 matched, 0 pending, 6 breaks (3 new), 1 new alert")
        #expect(sample.day.stdout.contains("20 loans brought to the day (20 recomputed, 0 unchanged), 0 overdue lines, 0 plan differences, 0 alerts\n"))
    }

    // MARK: Width

    /// Terminal columns a line takes: East Asian wide characters two (as a terminal shows them).
    func columns(_ line: Substring) -> Int {
        line.unicodeScalars.reduce(0) { width, scalar in
            width + ((0x1100...0x115F).contains(scalar.value) || (0x2E80...0xA4CF).contains(scalar.value)
                     || (0xAC00...0xD7A3).contains(scalar.value) || (0xF900...0xFAFF).contains(scalar.value)
                     || (0xFF00...0xFF60).contains(scalar.value) ? 2 : 1)
        }
    }

    @Test func wideOutputsFitOneHundredTwentyColumnsOrSayHowToSeeTheRest() throws {
        let sample = try sample
        let outputs: [(String, String)] = [
            ("status", try sample.run("status").stdout),
            ("files list", try sample.run("files", "list").stdout),
            ("plan show", try sample.run("plan", "show", "--loan", "L202412160001", "--date", "2025-01-26").stdout),
            ("plan differences", try sample.run("plan", "differences").stdout),
            ("plan alerts", try sample.run("plan", "alerts").stdout),
            ("alerts list", try sample.run("alerts", "list").stdout),
            ("ledger balance", try sample.run("ledger", "balance").stdout),
            ("spec check", try cli(["spec", "check", "mappings/bank-settlement.yaml", "inbox/bank/BANK_SETTLE_20241216.txt"]).stdout),
            ("spec check", try cli(["spec", "check", "mappings/platform-repayments.yaml", "inbox/platform/PLAT_REPAY_20241216.csv"]).stdout),
        ]
        for (name, output) in outputs {
            let wide = output.split(separator: "\n").filter { columns($0) > 120 }
            #expect(wide.isEmpty, "reckon \(name): \(wide)")
        }
        let check = try cli(["spec", "check", "mappings/bank-settlement.yaml", "inbox/bank/BANK_SETTLE_20241216.txt"])
        #expect(check.stdout.contains("\n    (5 more columns: total, currency, channel_reference, status, remark; --wide shows them)\n"),
                "\(check.stdout)")
        let wide = try cli(["spec", "check", "--wide", "mappings/bank-settlement.yaml", "inbox/bank/BANK_SETTLE_20241216.txt"])
        #expect(wide.stdout.contains("  status   remark\n") && wide.stdout.contains("  settled  提前结清\n"), "\(wide.stdout)")
        #expect(!wide.stdout.contains("not shown"))
    }

    // MARK: Progress

    @Test func progressNamesTheStepOnStandardErrorLineByLine() throws {
        let sample = try sample
        // Standard error is a pipe here: plain lines, one for each stage in the order they
        // ran (counts between them may come too, at most one every few seconds).
        let stages = sample.day.stderr.split(separator: "\n")
            .map { String($0.drop { $0 != "]" }.dropFirst(2)) }
            .filter { !$0.hasSuffix(" stored") && !$0.hasSuffix(" brought to the day") }
        let names = ["PLAT_LOAN_20241216.csv", "PLAT_REPAY_20241216.csv", "BANK_PLAN_20241216.txt", "BANK_SETTLE_20241216.txt",
                     "BANK_STMT_20241216.xml", "PAY_BILL_20241216.csv", "CORE_ORG_20241216.txt", "CORE_RATE_20241216.txt",
                     "CORE_LOAN_20241216.txt"]
        let folders = ["platform", "platform", "bank", "bank", "bank", "channel", "core", "core", "core"]
        #expect(stages == ["collect: the partners' files for 2024-12-16"]
                + zip(names, folders).enumerated().map { "ingest \($0.offset + 1) of 9: \(sample.inputs.path)/\($0.element.1)/\($0.element.0)" }
                + ["plan 2024-12-16: started",
                   "plan 2024-12-16: new loans of platform/PLAT_LOAN_20241216.csv",
                   "plan 2024-12-16: repayments of platform/PLAT_REPAY_20241216.csv",
                   "plan 2024-12-16: loans with a period due by 2024-12-16",
                   "plan 2024-12-16: bank/BANK_PLAN_20241216.txt compared with our plans",
                   "plan 2024-12-16: loans without a partner plan",
                   "reconcile 2024-12-16: 6 rules",
                   "settle 2024-12-16: the outbound files"], "\(sample.day.stderr)")
        #expect(!sample.day.stdout.contains("ingest 1 of 9"))
    }
}
