import Foundation
import Testing

@Suite("reckon plan")
struct PlanCommandTests {
    @Test func previewPrintsScheduleAToTheCent() throws {
        let result = try reckon("plan", "preview", "--principal", "12000", "--rate", "9%", "--term", "12",
                                "--method", "equal-installment", "--start", "2024-11-15", "--payoff-on", "2025-02-03")
        #expect(result.status == 0, "\(result.stderr)")
        let lines = result.stdout.split(separator: "\n").map(String.init)
        #expect(lines[0] == "12,000.00 at 9.00% a year over 12 months, equal installment, from 2024-11-15")
        #expect(lines[1] == "day count monthly/360; rounding half-up; installment 1,049.42")
        #expect(lines.contains("   1  2024-12-15    30        959.42       90.00      1,049.42     11,040.58"))
        #expect(lines.contains("  12  2025-11-15    31      1,041.57        7.81      1,049.38          0.00"))
        #expect(lines.contains("      total                12,000.00      593.00     12,593.00"))
        #expect(lines.last == "early settlement on 2025-02-03: pay-off 10,121.81, period 3's interest by actual days 47.85")
    }

    @Test func previewAsJSON() throws {
        let result = try reckon("plan", "preview", "--principal", "12000.00", "--rate", "0.09", "--term", "12",
                                "--method", "equal_principal", "--start", "20241115", "--day-count", "monthly/360",
                                "--rounding", "half-even", "--json")
        #expect(result.status == 0, "\(result.stderr)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        let lines = try #require(object["lines"] as? [[String: Any]])
        #expect(lines.count == 12)
        #expect(lines.map { $0["interest_minor"] as? Int } == [9000, 8250, 7500, 6750, 6000, 5250, 4500, 3750, 3000, 2250, 1500, 750])
        #expect((object["totals"] as? [String: Any])?["interest_minor"] as? Int == 58500)
        #expect(object["rounding"] as? String == "half-even")
    }

    @Test func previewWithAFee() throws {
        let result = try reckon("plan", "preview", "--principal", "12000", "--rate", "9%", "--term", "12",
                                "--method", "equal-installment", "--start", "2024-11-15", "--fee", "0.3%")
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("   1  2024-12-15    30        959.42       90.00     36.00      1,085.42     11,040.58"), "\(result.stdout)")
        #expect(result.stdout.contains("      total                12,000.00      593.00    432.00     13,025.00"), "\(result.stdout)")
    }

    @Test func previewPricesOffTheShippedLPRHistory() throws {
        // The contract day decides: 3.35% on the publication day, 3.10% from the day after.
        let on = try reckon("plan", "preview", "--principal", "12000", "--base", "1y", "--spread", "590bp", "--term", "12",
                            "--method", "equal-installment", "--start", "2024-10-21")
        let after = try reckon("plan", "preview", "--principal", "12000", "--base", "1y", "--spread", "590", "--term", "12",
                               "--method", "equal-installment", "--start", "2024-10-22")
        #expect(on.stdout.hasPrefix("12,000.00 at 9.25% a year"), "\(on.stdout)\(on.stderr)")
        #expect(after.stdout.hasPrefix("12,000.00 at 9.00% a year"), "\(after.stdout)\(after.stderr)")
        let product = try reckon("plan", "preview", "--principal", "12000", "--product", "CL12", "--start", "2024-11-15")
        #expect(product.stdout.contains("installment 1,049.42"), "\(product.stdout)\(product.stderr)")
    }

    @Test func previewMovesHolidayDueDatesAndSaysWhereTheCalendarEnds() throws {
        let result = try reckon("plan", "preview", "--principal", "12000", "--rate", "9%", "--term", "16", "--method", "flat",
                                "--start", "2025-09-01", "--non-working", "next-working-day")
        #expect(result.status == 0, "\(result.stderr)")
        // 2025-10-01 is in the National Day holiday: due on the 9th, no extra interest.
        #expect(result.stdout.contains("   1  2025-10-09    30        750.00       90.00        840.00     11,250.00  (scheduled 2025-10-01)"),
                "\(result.stdout)")
        #expect(result.stdout.contains("calendar CN covers 2024–2026: from 2027-01-01 only weekends are non-working"), "\(result.stdout)")
    }

    /// Issue 9 item 4: every argument that cannot make a plan is refused, naming the argument
    /// and the rule (exit 64, a usage error).
    @Test func previewRefusesEachBadArgumentNamingItAndTheRule() throws {
        let principalRule = "a principal is more than 0.00 and at most 100,000,000,000.00"
        let rateRule = "an annual rate is from 0% to 100%, like 9% or 0.09"
        let cases: [(arguments: [String], message: String)] = [
            (["--principal", "-5"], "--principal -5: \(principalRule)"),
            (["--principal", "0"], "--principal 0: \(principalRule)"),
            (["--principal", "0.00"], "--principal 0.00: \(principalRule)"),
            (["--principal", "100,000,000,000.01"], "--principal 100,000,000,000.01: \(principalRule)"),
            (["--principal", "99999999999999999999"], "--principal 99999999999999999999: \(principalRule)"),
            (["--principal", "12000.001"], "--principal 12000.001: an amount has at most two decimals, like 12,000.00"),
            (["--principal", "12,00.00"], "--principal 12,00.00: not an amount; write it like 12,000.00 or 12000"),
            (["--rate", "1000%"], "--rate 1000%: \(rateRule)"),
            (["--rate", "100.01%"], "--rate 100.01%: \(rateRule)"),
            (["--rate", "-9%"], "--rate -9%: \(rateRule)"),
            (["--rate", "9"], "--rate 9: not an annual rate; write it like 9% or 0.09"),
            (["--rate", "9%", "--base", "1y", "--spread", "590bp"],
             "--rate is a fixed rate and --base/--spread/--repricing a floating one: give one or the other"),
            (["--spread", "590bp"], "--spread prices a floating rate: give --base too (the base rate's tenor, like 1y)"),
            (["--base", "1y", "--spread", "20000bp"], "--spread 20000bp: a spread is from -10000bp to 10000bp, like 590bp or -25bp"),
            (["--base", "1y", "--spread", "-10001"], "--spread -10001: a spread is from -10000bp to 10000bp, like 590bp or -25bp"),
            (["--term", "-5"], "--term -5: a term is 1 to 600 months"),
            (["--term", "0"], "--term 0: a term is 1 to 600 months"),
            (["--term", "601"], "--term 601: a term is 1 to 600 months"),
            (["--term", "90d"], "--term 90d: only a bullet loan runs for days; write months (12)"),
            (["--term", "3661d", "--method", "bullet"], "--term 3661d: a bullet loan's term in days is 1 to 3660 days"),
            (["--due-day", "32"], "--due-day 32: a due day is 1 to 31"),
            (["--due-day", "-1"], "--due-day -1: a due day is 1 to 31"),
            (["--due-day", "4", "--first-due", "2024-12-04"], "--due-day and --first-due both place the first due date: give one"),
            (["--first-due", "2027-01-01"], "--first-due 2027-01-01: a first due date falls after the start 2024-11-15 "
                                            + "and at most a month and 31 days after it (by 2025-01-15)"),
            (["--first-due", "2024-11-15"], "--first-due 2024-11-15: a first due date falls after the start 2024-11-15 "
                                            + "and at most a month and 31 days after it (by 2025-01-15)"),
            (["--first-due", "2024-12-15", "--method", "bullet"],
             "--first-due 2024-12-15: a bullet loan's one due date is its maturity, the term after the start"),
            (["--payoff-on", "2024-11-14"], "--payoff-on 2024-11-14: an early settlement is on or after the start (2024-11-15) "
                                            + "and before the last due date (2025-11-15)"),
            (["--payoff-on", "2025-11-15"], "--payoff-on 2025-11-15: an early settlement is on or after the start (2024-11-15) "
                                            + "and before the last due date (2025-11-15)"),
            (["--fee", "-5"], "--fee -5: a fee is an amount from 0.00 to 100,000,000,000.00, like 5.00"),
            (["--fee", "10%"], "--fee 10%: a fee rate is a share of the principal each period, from 0% and below 10%, like 0.3%"),
            (["--fee", "lots"], "--fee lots: not a fee; write an amount (5.00) or a share of the principal (0.3%)"),
            (["--method", "balloon"], "--method takes equal-installment, equal-principal, interest-only, bullet, flat"),
        ]
        let defaults = ["--principal": "12,000.00", "--rate": "9%", "--term": "12", "--start": "2024-11-15"]
        for item in cases {
            // The case's arguments, and the defaults it does not replace (no --rate beside --base or --spread).
            var arguments = ["plan", "preview"] + item.arguments
            for (option, value) in defaults.sorted(by: { $0.key < $1.key }) where !item.arguments.contains(option) {
                if option == "--rate" && (item.arguments.contains("--base") || item.arguments.contains("--spread")) { continue }
                arguments += [option, value]
            }
            let result = try reckon(arguments)
            #expect(result.status == 64, "\(item.arguments): \(result.stdout)\(result.stderr)")
            #expect(result.stderr.split(separator: "\n").first.map(String.init) == "Error: \(item.message)", "\(item.arguments)")
        }
    }

    @Test func previewTakesAmountsAsTheyPrint() throws {
        let result = try reckon("plan", "preview", "--principal", "12,000.00", "--rate", "9%", "--term", "12",
                                "--start", "2024-11-15", "--fee", "1,000.00")
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.hasPrefix("12,000.00 at 9.00% a year over 12 months"), "\(result.stdout)")
        #expect(result.stdout.contains("   1  2024-12-15    30        959.42       90.00  1,000.00      2,049.42     11,040.58"), "\(result.stdout)")
        // A negative spread is a value, not an option.
        let below = try reckon("plan", "preview", "--principal", "12000", "--base", "1y", "--spread", "-25bp", "--term", "12", "--start", "2024-11-15")
        #expect(below.status == 0 && below.stdout.hasPrefix("12,000.00 at 2.85% a year"), "\(below.stdout)\(below.stderr)")
        // A plan the engine cannot make says why (exit 1).
        let tooLong = try reckon("plan", "preview", "--principal", "1.00", "--rate", "0%", "--term", "12", "--method", "interest-only",
                                 "--start", "2024-11-15")
        #expect(tooLong.status == 1 && tooLong.stderr == "reckon: period 1 would have nothing due: it repays no principal and its interest "
                + "rounds to 0.00 (1.00 at 0.00% over 12 periods)\n", "\(tooLong.stderr)")
    }

    /// Issue 9 items 1, 3 and 5 through the CLI: the moved-due-date vector and the installment line.
    @Test func previewShowsTheSolvedInstallmentAndDaysThatAddUp() throws {
        let moved = try reckon("plan", "preview", "--principal", "12,000.00", "--rate", "9%", "--term", "4", "--method", "interest-only",
                               "--start", "2024-12-01", "--non-working", "next-working-day-accrue")
        #expect(moved.status == 0, "\(moved.stderr)")
        #expect(moved.stdout.contains("   2  2025-02-05    34          0.00       99.00         99.00     12,000.00  (scheduled 2025-02-01)"), "\(moved.stdout)")
        #expect(moved.stdout.contains("      total                12,000.00      360.00     12,360.00"), "\(moved.stdout)")
        let broken = try reckon("plan", "preview", "--principal", "868,769.38", "--rate", "23.99%", "--term", "51", "--start", "2021-10-24",
                                "--due-day", "4")
        #expect(broken.stdout.contains("day count monthly/360; rounding half-up; installment 26,986.18"), "\(broken.stdout)")
        #expect(broken.stdout.contains("  51  2026-01-04    31     26,456.84      528.92     26,985.76          0.00"), "\(broken.stdout)")
        let one = try reckon("plan", "preview", "--principal", "12000", "--rate", "9%", "--term", "1", "--start", "2024-11-15", "--due-day", "20")
        #expect(one.stdout.contains("installment 12,105.00") && one.stdout.contains("   1  2024-12-20    35     12,000.00      105.00     12,105.00"),
                "\(one.stdout)")
    }

    @Test func showPrintsAStoredPlanWithItsStatus() throws {
        let inputs = ScratchFolder()
        let generated = try reckon("demo", "--date", "2024-12-16", "--loans", "20", "--into", inputs.path,
                                   "--mappings", repositoryRoot + "/mappings")
        #expect(generated.status == 0, "\(generated.stderr)")
        let folder = try workspace(inputs.path)
        let config = folder.path + "/reckon.yaml"
        for day in ["2024-11-06", "2024-11-13", "2024-11-16", "2024-12-16", "2024-12-17"] {
            let run = try reckon("batch", "--date", day, "--config", config)
            #expect(run.status == 0, "\(day): \(run.stdout)\(run.stderr)")
        }
        let show = try reckon("plan", "show", "L202412160001", "--as-of", "2025-01-26", "--config", config)
        #expect(show.status == 0, "\(show.stderr)")
        #expect(show.stdout.contains("as of 2025-01-26: active; outstanding principal 12,000.00, unpaid penalty 3.94"), "\(show.stdout)")
        #expect(show.stdout.contains("   1  2025-01-16     959.42     90.00  0.00     3.94  overdue 10 days; guarantor due 2025-01-19 (passed)"),
                "\(show.stdout)")
        let json = try reckon("plan", "show", "L202412160001", "--json", "--config", config)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        #expect(object["as_of"] as? String == "2024-12-16")
        #expect((object["lines"] as? [[String: Any]])?.first?["status"] as? String == "open")

        let differences = try reckon("plan", "differences", "--config", config)
        #expect(differences.stdout == """
            found on    partner  loan           period  field      ours  theirs
            2024-12-16  bank     L202412160002       3  interest  36.00   36.01

            """)
        let alerts = try reckon("plan", "alerts", "--config", config)
        #expect(alerts.stdout.contains("2024-12-17  missing_partner_plan  loan L202412160020 was disbursed on 2024-12-16 and bank has not sent its plan"))
        let status = try reckon("status", "--config", config)
        #expect(status.stdout.contains("open alerts: 2 breaks_found, 1 missing_partner_plan (reckon alerts list)"), "\(status.stdout)")
        let missing = try reckon("plan", "show", "L999", "--config", config)
        #expect(missing.status == 1 && missing.stderr.contains("no plan for loan 'L999'"))
    }
}
