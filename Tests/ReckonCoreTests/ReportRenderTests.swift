import PropertyBased
import ReckonCore
import Testing

/// The daily report's pure parts: bar charts, escaping, CSV, match rates, ages.
@Suite("The daily report's renderers")
struct ReportRenderTests {
    // MARK: Bar charts

    /// The lengths of a chart's bars, in tenths of a pixel, in order: `height` of vertical
    /// bars, `width` of horizontal ones.
    func barLengths(_ svg: String, attribute: String) -> [Int] {
        svg.components(separatedBy: "<rect ").dropFirst().filter { $0.hasPrefix("class=\"bar") || $0.hasPrefix("class=\"rate") }.map { rect in
            let value = rect.components(separatedBy: "\(attribute)=\"")[1].prefix { $0 != "\"" }
            let parts = value.split(separator: ".")
            return Int(parts[0])! * 10 + Int(parts[1])!
        }
    }

    @Test func verticalBarHeightsAreProportionalToTheirValues() {
        let chart = BarChart(title: "t", orientation: .vertical,
                             bars: [Int64(0), 1, 3, 7, 10].map { BarChart.Bar(label: String($0), value: $0) }, emptyText: "none", width: 400)
        let svg = chart.svg()
        // The plot is 200 - 22 - 24 = 154 px high; 10 is the largest value.
        #expect(barLengths(svg, attribute: "height") == [154, 462, 1078, 1540])
        #expect(svg.contains("data-value=\"7\" x=\"241.9\" y=\"68.2\" width=\"53.7\" height=\"107.8\""), "\(svg)")
        #expect(!svg.contains("data-value=\"0\""), "a zero draws no bar")
        #expect(!svg.contains("class=\"empty\""))
    }

    @Test func horizontalBarWidthsAreProportionalToTheirValues() {
        let chart = BarChart(title: "t", orientation: .horizontal,
                             bars: [Int64(4), 2, 1].map { BarChart.Bar(label: "k" + String($0), value: $0, valueText: String($0)) }, emptyText: "none", width: 560)
        // 560 - 190 - 130 = 240 px for the largest.
        #expect(barLengths(chart.svg(), attribute: "width") == [2400, 1200, 600])
    }

    /// Whatever the values, each bar's length is value × plot ÷ largest to within half a
    /// tenth of a pixel (checked by multiplying back, not by the renderer's division).
    @Test func lengthsAreProportionalForAnyValues() async {
        await propertyCheck(count: 500, input: Gen.int64(in: 0...1_000_000_000_000).array(of: 1...12)) { values in
            let scale = values.max()!
            for value in values {
                let tenths = Int64(BarChart.lengthTenths(value, scale: scale, plotTenths: 1540))
                if scale == 0 {
                    #expect(tenths == 0)
                } else {
                    // |tenths × scale − value × 1540| ≤ scale / 2, with ties rounded up.
                    let error = tenths * scale * 2 - value * 1540 * 2
                    #expect(error > -scale && error <= scale, "\(value) of \(scale): \(tenths)")
                }
            }
        }
    }

    @Test func amountsBeyondWhatAProductHoldsDoNotOverflow() {
        #expect(BarChart.lengthTenths(Int64.max, scale: Int64.max, plotTenths: 1540) == 1540)
        #expect(BarChart.lengthTenths(Int64.max / 2, scale: Int64.max, plotTenths: 1540) == 770)
        #expect(BarChart.lengthTenths(5, scale: 0, plotTenths: 1540) == 0)
        #expect(BarChart.lengthTenths(2_000, scale: 1_000, plotTenths: 1540) == 1540, "past a fixed scale: full length")
    }

    @Test func aChartOfZerosDrawsNoBarAndSaysSo() {
        for bars in [[], [Int64(0), 0, 0].map { BarChart.Bar(label: "b", value: $0) }] {
            for orientation in [BarChart.Orientation.vertical, .horizontal] {
                let svg = BarChart(title: "t", orientation: orientation, bars: bars, emptyText: "no open breaks", width: 400).svg()
                #expect(barLengths(svg, attribute: orientation == .vertical ? "height" : "width").isEmpty, "\(svg)")
                #expect(svg.contains("<text class=\"empty\""), "\(svg)")
                #expect(svg.contains(">no open breaks</text>"))
                #expect(!svg.lowercased().contains("nan") && !svg.contains("inf"), "\(svg)")
            }
        }
    }

    @Test func aDayWithoutARunIsMarkedNotDrawn() {
        let chart = BarChart(title: "t", orientation: .vertical,
                             bars: [BarChart.Bar(label: "", value: nil, tooltip: "2024-12-15: no run", tone: "rate-short"),
                                    BarChart.Bar(label: "", value: 500, tone: "rate-short"),
                                    BarChart.Bar(label: "", value: 1000, tone: "rate-full")],
                             scaleMaximum: 1000, gridlines: [.init(value: 1000, label: "100%")], emptyText: "none", width: 400)
        let svg = chart.svg()
        #expect(svg.contains("<title>2024-12-15: no run</title><rect class=\"no-data\""), "\(svg)")
        // Rates against a fixed 100%: half and full height of the 154 px plot.
        #expect(barLengths(svg, attribute: "height") == [770, 1540])
        // The 100% line is at the plot's top.
        #expect(svg.contains("<line class=\"grid\" x1=\"40\" x2=\"384\" y1=\"22.0\" y2=\"22.0\"/>"), "\(svg)")
    }

    // MARK: Escaping and self-containment

    static let hostile = "<script>alert(\"x\")</script>"

    /// A report whose every name is hostile.
    func hostileReport() -> DailyReport {
        let day = CivilDate(year: 2024, month: 12, day: 17)!
        var rule = RuleReport(name: Self.hostile, partner: "a&b'\"", partnerName: "<i>x</i>", description: "<img src=x onerror=alert(1)>",
                              calendar: "weekdays")
        rule.run = RuleRun(leftItems: 3, rightItems: 3, matched: Tally(count: 2, amountMinor: 200), pending: Tally(),
                           broken: Tally(count: 1, amountMinor: 50), ranAt: "2024-12-17T01:00:00Z")
        rule.openByAge[0] = Tally(count: 1, amountMinor: 50)
        rule.openByKind = [KindTally(kind: "<b>bold</b>", tally: Tally(count: 1, amountMinor: 50))]
        rule.history = [DayRate(date: day, rate: MatchRate(matched: 2, pending: 0, broken: 1))]
        return DailyReport(date: day, currency: "CNY<", rules: [rule],
                           alerts: [AlertTally(severity: "critical", code: "<code>", count: 1, uncleared: 1)],
                           alertLines: [AlertLine(severity: "critical", code: "<code>", subject: "</td><script>", message: "x\u{1B}[31m<svg onload=1>",
                                                  clearedOn: nil)])
    }

    @Test func hostileNamesAreTextNeverMarkup() {
        let page = ReportHTML.page(hostileReport())
        #expect(!page.lowercased().contains("<script"), "no script element at all")
        #expect(!page.contains("<img") && !page.contains("<b>") && !page.contains("<svg onload") && !page.contains("<code>"))
        #expect(page.contains("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;"))
        #expect(page.contains("data-partner=\"a&amp;b&#39;&quot;\" data-rule=\"&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;\""))
        #expect(page.contains("&lt;img src=x onerror=alert(1)&gt;"))
        #expect(page.contains("<div class=\"desc\">&lt;i&gt;x&lt;/i&gt;</div>") && !page.contains("<i>"))
        // A terminal escape from a file is shown as text, not passed on.
        #expect(page.contains("x\\u{1B}[31m&lt;svg onload=1&gt;"))
        #expect(!page.contains("\u{1B}"))
    }

    @Test func thePageNeedsNothingButABrowser() {
        let page = ReportHTML.page(hostileReport())
        for needle in ["<script", "src=\"", "href=", "@import", "url(", "<link", "<iframe", "<object"] {
            #expect(!page.lowercased().contains(needle), "\(needle)")
        }
        // The one address is SVG's namespace, which is never fetched.
        #expect(page.components(separatedBy: "http").count - 1 == page.components(separatedBy: "http://www.w3.org/2000/svg").count - 1)
        #expect(page.hasPrefix("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">"))
        #expect(page.hasSuffix("</main>\n</body>\n</html>\n"))
    }

    @Test func kindsAreListedMostFirstThenByName() {
        let ordered = KindTally.ordered(["date": Tally(count: 2, amountMinor: 9), "amount": Tally(count: 2, amountMinor: 7),
                                         "status": Tally(count: 5, amountMinor: 1), "ambiguous": Tally(count: 1, amountMinor: 3)])
        #expect(ordered.map(\.kind) == ["status", "amount", "date", "ambiguous"])
        // Across rules, a kind's breaks are summed, then ordered the same way.
        var report = hostileReport()
        report.rules.append(RuleReport(name: "b", partner: "p", calendar: "calendar-days", openByKind: ordered))
        report.rules.append(RuleReport(name: "c", partner: "p", calendar: "calendar-days",
                                       openByKind: [KindTally(kind: "ambiguous", tally: Tally(count: 2, amountMinor: 4))]))
        #expect(report.openByKind == [KindTally(kind: "status", tally: Tally(count: 5, amountMinor: 1)),
                                      KindTally(kind: "ambiguous", tally: Tally(count: 3, amountMinor: 7)),
                                      KindTally(kind: "amount", tally: Tally(count: 2, amountMinor: 7)),
                                      KindTally(kind: "date", tally: Tally(count: 2, amountMinor: 9)),
                                      KindTally(kind: "<b>bold</b>", tally: Tally(count: 1, amountMinor: 50))])
    }

    // MARK: CSV

    @Test func csvFieldsAreQuotedAsRFC4180Says() {
        #expect(ReportCSV.field("plain") == "plain")
        #expect(ReportCSV.field("12,000.00") == "\"12,000.00\"")
        #expect(ReportCSV.field("say \"hi\"") == "\"say \"\"hi\"\"\"")
        #expect(ReportCSV.field("two\nlines") == "\"two\nlines\"")
        #expect(ReportCSV.field("cr\r\nlf") == "\"cr\r\nlf\"")
        #expect(ReportCSV.field("") == "")
    }

    @Test func csvOfAReportFigureByFigure() {
        let day = CivilDate(year: 2024, month: 12, day: 17)!
        var rule = RuleReport(name: "=HYPERLINK(\"http://x\")", partner: "bank, the", calendar: "weekdays")
        rule.run = RuleRun(leftItems: 3, rightItems: 4, matched: Tally(count: 2, amountMinor: 1_200_000), pending: Tally(count: 1, amountMinor: 5),
                           broken: Tally(count: 0, amountMinor: 0), ranAt: "2024-12-17T01:00:00Z")
        rule.openByAge[2] = Tally(count: 1, amountMinor: -25_000)
        rule.openByKind = [KindTally(kind: "amount", tally: Tally(count: 1, amountMinor: -25_000))]
        rule.history = [DayRate(date: CivilDate(year: 2024, month: 12, day: 16)!, rate: MatchRate(matched: 1, pending: 2, broken: 0)),
                        DayRate(date: day, rate: MatchRate(matched: 2, pending: 1, broken: 0))]
        let later = RuleReport(name: "later", partner: "bank, the", calendar: "weekdays", appliesFrom: CivilDate(year: 2025, month: 1, day: 1))
        let report = DailyReport(date: day, currency: "CNY", rules: [rule, later],
                                 alerts: [AlertTally(severity: "warning", code: "breaks_found", count: 2, uncleared: 1)])
        #expect(ReportCSV.text(report) == """
            business_date,section,partner,rule,item,count,amount,rate_percent
            2024-12-17,run,"bank, the","'=HYPERLINK(""http://x"")",matched,2,"12,000.00",66.6
            2024-12-17,run,"bank, the","'=HYPERLINK(""http://x"")",pending,1,0.05,
            2024-12-17,run,"bank, the","'=HYPERLINK(""http://x"")",broken,0,0.00,
            2024-12-17,run,"bank, the","'=HYPERLINK(""http://x"")",left_items,3,,
            2024-12-17,run,"bank, the","'=HYPERLINK(""http://x"")",right_items,4,,
            2024-12-17,open_by_age,"bank, the","'=HYPERLINK(""http://x"")",0-1,0,0.00,
            2024-12-17,open_by_age,"bank, the","'=HYPERLINK(""http://x"")",2-3,0,0.00,
            2024-12-17,open_by_age,"bank, the","'=HYPERLINK(""http://x"")",4-7,1,-250.00,
            2024-12-17,open_by_age,"bank, the","'=HYPERLINK(""http://x"")",8-30,0,0.00,
            2024-12-17,open_by_age,"bank, the","'=HYPERLINK(""http://x"")",over-30,0,0.00,
            2024-12-17,open_by_kind,"bank, the","'=HYPERLINK(""http://x"")",amount,1,-250.00,
            2024-12-17,match_rate,"bank, the","'=HYPERLINK(""http://x"")",2024-12-16,3,,33.3
            2024-12-17,match_rate,"bank, the","'=HYPERLINK(""http://x"")",2024-12-17,3,,66.6
            2024-12-17,run,"bank, the",later,not_applied_yet,,,
            2024-12-17,open_by_age,"bank, the",later,0-1,0,0.00,
            2024-12-17,open_by_age,"bank, the",later,2-3,0,0.00,
            2024-12-17,open_by_age,"bank, the",later,4-7,0,0.00,
            2024-12-17,open_by_age,"bank, the",later,8-30,0,0.00,
            2024-12-17,open_by_age,"bank, the",later,over-30,0,0.00,
            2024-12-17,alerts,,,critical,0,,
            2024-12-17,alerts,,,warning,2,,
            2024-12-17,alerts,,,info,0,,
            2024-12-17,alert_codes,,,warning/breaks_found,2,,

            """)
    }

    // MARK: Match rates and ages

    @Test func matchRatesRoundDownSoOnlyAFullDayShowsAHundred() {
        #expect(MatchRate(matched: 1999, pending: 1, broken: 0).text == "99.9%")
        #expect(MatchRate(matched: 2, pending: 0, broken: 1).text == "66.6%")
        #expect(MatchRate(matched: 1, pending: 1, broken: 1).text == "33.3%")
        #expect(MatchRate(matched: 5, pending: 0, broken: 0).text == "100.0%")
        #expect(MatchRate(matched: 0, pending: 0, broken: 3).text == "0.0%")
        #expect(MatchRate(matched: 0, pending: 0, broken: 0).text == "–")
        #expect(MatchRate(matched: 0, pending: 0, broken: 0).permille == nil)
        #expect(MatchRate(matched: Int(Int32.max), pending: 1, broken: 0).permille == 999)
    }

    @Test func ageBucketsAtTheirEdges() {
        let buckets = [0, 1, 2, 3, 4, 7, 8, 30, 31, 400].map { AgeBucket(ageWorkingDays: $0).label }
        #expect(buckets == ["0–1", "0–1", "2–3", "2–3", "4–7", "4–7", "8–30", "8–30", "over 30", "over 30"])
        #expect(AgeBucket.allCases.map(\.key) == ["0-1", "2-3", "4-7", "8-30", "over-30"])
    }

    @Test func agesCountTheRulesCalendar() {
        let friday = CivilDate(year: 2024, month: 12, day: 13)!, tuesday = CivilDate(year: 2024, month: 12, day: 17)!
        // The 16th off, Saturday the 14th a make-up working day.
        let calendar = BusinessCalendar(name: "T", years: [2024], offDays: [CivilDate(year: 2024, month: 12, day: 16)!],
                                        workDays: [CivilDate(year: 2024, month: 12, day: 14)!])
        let age = BreakAge(configured: calendar)
        #expect(age.workingDays(from: friday, to: tuesday, calendar: ReconRule.everyDay) == 4)
        #expect(age.workingDays(from: friday, to: tuesday, calendar: ReconRule.weekdays) == 2)
        #expect(age.workingDays(from: friday, to: tuesday, calendar: "T") == 2, "Saturday and Tuesday")
        #expect(age.workingDays(from: tuesday, to: tuesday, calendar: "T") == 0)
        #expect(age.workingDays(from: tuesday, to: friday, calendar: ReconRule.everyDay) == 0, "a break of a later day is not aged")
        #expect(BreakAge(configured: nil).workingDays(from: friday, to: tuesday, calendar: "T") == 4, "no calendar configured: every day")
        // A rule naming no calendar counts in the configured one, as reckon.yaml's loader says.
        #expect(BreakAge.defaultCalendar(calendarPath: "/x/data/calendar-cn.yaml") == "cn")
        #expect(BreakAge.defaultCalendar(calendarPath: nil) == ReconRule.weekdays)
    }
}
