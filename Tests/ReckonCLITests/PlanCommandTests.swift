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
        let bad = try reckon("plan", "preview", "--principal", "12000", "--rate", "9%", "--term", "12", "--start", "2024-11-15", "--fee", "lots")
        #expect(bad.status != 0 && bad.stderr.contains("--fee takes an amount"))
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

    @Test func previewRefusesWhatItCannotReadWithAReason() throws {
        let bare = try reckon("plan", "preview", "--principal", "12000", "--rate", "9", "--term", "12", "--start", "2024-11-15")
        #expect(bare.status != 0 && bare.stderr.contains("--rate takes an annual rate: 9% or 0.09"), "\(bare.stderr)")
        let cents = try reckon("plan", "preview", "--principal", "12000.001", "--rate", "9%", "--term", "12", "--start", "2024-11-15")
        #expect(cents.status != 0 && cents.stderr.contains("at most two decimals"), "\(cents.stderr)")
        let long = try reckon("plan", "preview", "--principal", "12000", "--rate", "9%", "--term", "700", "--start", "2024-11-15")
        #expect(long.status == 1 && long.stderr.contains("a term is 1 to 600 months, not 700"), "\(long.stderr)")
        let method = try reckon("plan", "preview", "--principal", "1", "--rate", "9%", "--term", "3", "--method", "balloon", "--start", "2024-11-15")
        #expect(method.status != 0 && method.stderr.contains("--method takes equal-installment"), "\(method.stderr)")
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
        #expect(show.stdout.contains("   1  2025-01-16        959.42       90.00          0.00      3.94  overdue 10 days; guarantor due 2025-01-19 (passed)"),
                "\(show.stdout)")
        let json = try reckon("plan", "show", "L202412160001", "--json", "--config", config)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        #expect(object["as_of"] as? String == "2024-12-16")
        #expect((object["lines"] as? [[String: Any]])?.first?["status"] as? String == "open")

        let differences = try reckon("plan", "differences", "--config", config)
        #expect(differences.stdout == "2024-12-16  bank  L202412160002 period 3 interest: ours 36.00, theirs 36.01\n")
        let alerts = try reckon("plan", "alerts", "--config", config)
        #expect(alerts.stdout.contains("2024-12-17  missing_partner_plan  loan L202412160020 was disbursed on or before 2024-12-16"))
        let status = try reckon("status", "--config", config)
        #expect(status.stdout.contains("open alerts: 1 missing_partner_plan (reckon plan alerts)"), "\(status.stdout)")
        let missing = try reckon("plan", "show", "L999", "--config", config)
        #expect(missing.status == 1 && missing.stderr.contains("no plan for loan 'L999'"))
    }
}
