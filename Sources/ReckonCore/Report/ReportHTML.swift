/// The daily report as one self-contained HTML page (README, "The daily report"): tables and
/// inline SVG charts, its style inline, no script and nothing fetched from elsewhere. Every
/// name is escaped (``Markup``). The page says only what the report's values say — no
/// clock, no path, no locale — so an unchanged ledger gives the same bytes.
///
/// Figures are marked for machines as well as people: each rule's row carries
/// `data-partner` and `data-rule`, each figure's cell `data-metric` (`matched`,
/// `matched-amount`, `age-0-1`, …), and each cell shows the figure as the terminal prints it.
public enum ReportHTML {
    public static func page(_ report: DailyReport) -> String {
        var html = head(report)
        html += header(report)
        html += cards(report)
        html += rulesSection(report)
        html += chartsSection(report)
        html += ageSection(report)
        html += kindSection(report)
        html += historySection(report)
        html += alertsSection(report)
        html += footer(report)
        html += "</main>\n</body>\n</html>\n"
        return html
    }

    // MARK: Page

    private static func head(_ report: DailyReport) -> String {
        """
        <!DOCTYPE html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>Reconciliation report \(report.date)</title>
        <style>
        \(style)
        </style>
        </head>
        <body>
        <main>

        """
    }

    static let style = """
        :root { --ink: #1d2433; --muted: #5b6475; --line: #d9dee8; --soft: #f4f6fa; --accent: #2e6bd6;
          --good: #2f8a57; --warn: #b54708; --bad: #b42318; --info: #175cd3; }
        * { box-sizing: border-box; }
        body { margin: 0; background: #fff; color: var(--ink);
          font: 14px/1.45 -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, "PingFang SC", "Microsoft YaHei", sans-serif; }
        main { max-width: 1180px; margin: 0 auto; padding: 28px 32px 48px; }
        h1 { font-size: 24px; margin: 0 0 4px; }
        h2 { font-size: 17px; margin: 36px 0 10px; padding-bottom: 6px; border-bottom: 2px solid var(--ink); }
        h3 { font-size: 14px; margin: 0 0 6px; }
        p.meta, p.note, .desc, figcaption { color: var(--muted); }
        .desc { font-size: 12px; }
        .banner { margin: 16px 0; padding: 10px 14px; border-left: 4px solid var(--bad); background: #fef3f2; }
        .cards { display: flex; flex-wrap: wrap; gap: 12px; margin: 20px 0 8px; }
        .card { flex: 1 1 200px; border: 1px solid var(--line); border-radius: 8px; padding: 12px 16px; background: var(--soft); }
        .card .label { color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: .04em; }
        .card .figure { font-size: 26px; font-weight: 600; font-variant-numeric: tabular-nums; }
        .card .sub { color: var(--muted); font-variant-numeric: tabular-nums; }
        .card.attention { border-color: var(--bad); background: #fef3f2; }
        table { border-collapse: collapse; width: 100%; margin: 6px 0 4px; }
        th, td { padding: 6px 10px; border-bottom: 1px solid var(--line); text-align: left; vertical-align: top; }
        th { font-size: 12px; color: var(--muted); font-weight: 600; background: var(--soft); }
        td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
        tr.total td { font-weight: 600; border-top: 2px solid var(--ink); }
        table.severities { width: auto; min-width: 50%; } table.alert-list { margin-top: 18px; }
        .standing { display: inline-block; margin-left: 6px; padding: 0 6px; border-radius: 10px; font-size: 11px;
          background: #fef0c7; color: var(--warn); }
        .severity { display: inline-block; min-width: 62px; padding: 0 6px; border-radius: 10px; font-size: 11px; text-align: center; color: #fff; }
        .severity-critical { background: var(--bad); } .severity-warning { background: var(--warn); } .severity-info { background: var(--info); }
        .charts { display: flex; flex-wrap: wrap; gap: 24px; }
        figure { margin: 0; }
        figcaption { font-size: 12px; margin-top: 4px; }
        .trend { display: grid; grid-template-columns: repeat(auto-fill, minmax(340px, 1fr)); gap: 20px 28px; }
        svg.chart { display: block; max-width: 100%; height: auto; }
        svg .bar { fill: var(--accent); } svg .no-data { fill: #c3c9d5; }
        svg .bar-age-0 { fill: #2f8a57; } svg .bar-age-1 { fill: #d6a100; } svg .bar-age-2 { fill: #e07b00; }
        svg .bar-age-3 { fill: #d14d28; } svg .bar-age-4 { fill: #9b1c1c; }
        svg .rate-full { fill: var(--good); } svg .rate-short { fill: var(--warn); }
        svg text { font: 11px sans-serif; fill: var(--ink); } svg text.axis, svg text.label { fill: var(--muted); }
        svg text.empty { font-size: 13px; fill: var(--muted); }
        svg .baseline { stroke: #8a93a6; stroke-width: 1; } svg .grid { stroke: var(--line); stroke-width: 1; stroke-dasharray: 3 3; }
        footer { margin-top: 40px; padding-top: 12px; border-top: 1px solid var(--line); color: var(--muted); font-size: 12px; }
        footer dt { font-weight: 600; color: var(--ink); } footer dd { margin: 0 0 6px; }
        @media print { main { padding: 0; max-width: none; } h2 { break-after: avoid; } table, figure { break-inside: avoid; } }
        """

    private static func header(_ report: DailyReport) -> String {
        var meta = "Amounts in \(Markup.text(report.currency))"
        if let at = report.reconciledAt {
            meta += " · reconciled \(Markup.text(at)) (UTC)"
        }
        meta += " · \(Plural.count(report.rules.count, "rule"))"
        var html = "<header>\n<h1>Reconciliation report · \(report.date)</h1>\n<p class=\"meta\">\(meta)</p>\n"
        if let standing = report.breaksStanding { html += "<p class=\"meta\" id=\"breaks-standing\">Shown: \(standing).</p>\n" }
        let missing = report.notReconciled
        if !missing.isEmpty {
            html += "<p class=\"banner\" id=\"not-reconciled\">Not reconciled on \(report.date): "
                + missing.map { Markup.text($0.name) }.joined(separator: ", ")
                + ". Run <code>reckon reconcile --date \(report.date)</code>, then the report again.</p>\n"
        }
        return html + "</header>\n"
    }

    private static func cards(_ report: DailyReport) -> String {
        let open = report.openBreaks
        let pending = report.pending
        let ages = report.openByAge
        let old = ages[AgeBucket.eightToThirty.rawValue] + ages[AgeBucket.overThirty.rawValue]
        let reconciled = report.rules.filter { $0.run != nil }.count
        let severities = report.alertsBySeverity
        let critical = severities.first { $0.severity == "critical" }?.count ?? 0
        func card(_ id: String, _ label: String, _ figure: String, _ sub: String, attention: Bool = false) -> String {
            "<div class=\"card\(attention ? " attention" : "")\" id=\"card-\(id)\"><div class=\"label\">\(label)</div>"
                + "<div class=\"figure\">\(figure)</div><div class=\"sub\">\(sub)</div></div>\n"
        }
        var html = "<section class=\"cards\">\n"
        html += card("open", "Open breaks", AmountText.grouped(open.count),
                     "\(AmountText.printed(units: open.amountMinor)) · \(AmountText.grouped(old.count)) over 7 working days",
                     attention: open.count > 0)
        html += card("pending", "Pending", AmountText.grouped(pending.count),
                     "\(AmountText.printed(units: pending.amountMinor)) · waiting for their counterpart")
        html += card("rules", "Rules reconciled", "\(reconciled) of \(report.rules.count)",
                     report.notReconciled.isEmpty ? "every rule that applies ran" : "\(report.notReconciled.count) not reconciled",
                     attention: !report.notReconciled.isEmpty)
        html += card("alerts", "Alerts", AmountText.grouped(severities.reduce(0) { $0 + $1.count }),
                     severities.map { "\(AmountText.grouped($0.count)) \(Markup.text($0.severity))" }.joined(separator: " · "),
                     attention: critical > 0)
        return html + "</section>\n"
    }

    // MARK: Tables

    private static func cell(_ metric: String, _ text: String) -> String {
        "<td class=\"num\" data-metric=\"\(metric)\">\(text)</td>"
    }

    /// The partner's and the rule's cells; with `description`, the rule's description under
    /// it, and the partner's name under the partner when `partnerName` (its first row).
    private static func ruleCells(_ rule: RuleReport, description: Bool, partnerName: Bool = false) -> String {
        var name = Markup.text(rule.name)
        if let standing = rule.standing { name += "<span class=\"standing\">\(Markup.text(standing))</span>" }
        if description, let text = rule.description { name += "<div class=\"desc\">\(Markup.text(text))</div>" }
        var partner = Markup.text(rule.partner)
        if partnerName, let text = rule.partnerName { partner += "<div class=\"desc\">\(Markup.text(text))</div>" }
        return "<td>\(partner)</td><td>\(name)</td>"
    }

    private static func row(_ rule: RuleReport) -> String {
        "<tr data-partner=\"\(Markup.text(rule.partner))\" data-rule=\"\(Markup.text(rule.name))\">"
    }

    private static func rulesSection(_ report: DailyReport) -> String {
        var html = """
            <section id="rules">
            <h2>Rules: what the run of \(report.date) counted</h2>
            <table>
            <thead><tr><th>Partner</th><th>Rule</th><th class="num">Matched</th><th class="num">Amount</th>\
            <th class="num">Pending</th><th class="num">Amount</th><th class="num">Broken</th><th class="num">Amount</th>\
            <th class="num">Match rate</th></tr></thead>
            <tbody>

            """
        for (index, rule) in report.rules.enumerated() {
            let first = index == 0 || report.rules[index - 1].partner != rule.partner
            html += row(rule) + ruleCells(rule, description: true, partnerName: first)
            if let run = rule.run {
                html += cell("matched", AmountText.grouped(run.matched.count)) + cell("matched-amount", AmountText.printed(units: run.matched.amountMinor))
                html += cell("pending", AmountText.grouped(run.pending.count)) + cell("pending-amount", AmountText.printed(units: run.pending.amountMinor))
                html += cell("broken", AmountText.grouped(run.broken.count)) + cell("broken-amount", AmountText.printed(units: run.broken.amountMinor))
                html += cell("match-rate", run.matchRate.text)
            } else {
                for metric in ["matched", "matched-amount", "pending", "pending-amount", "broken", "broken-amount", "match-rate"] {
                    html += cell(metric, "–")
                }
            }
            html += "</tr>\n"
        }
        html += "</tbody>\n</table>\n"
        html += "<p class=\"note\">Broken counts the breaks the run found open, those of earlier days included; no totals are "
            + "given across rules, since the same money is checked by several.</p>\n</section>\n"
        return html
    }

    private static func ageSection(_ report: DailyReport) -> String {
        var html = "<section id=\"ages\">\n<h2>Open breaks by age (working days)</h2>\n<table>\n<thead><tr><th>Partner</th><th>Rule</th>"
        for bucket in AgeBucket.allCases { html += "<th class=\"num\">\(bucket.label)</th>" }
        html += "<th class=\"num\">Open</th><th class=\"num\">Amount</th></tr></thead>\n<tbody>\n"
        for rule in report.rules {
            html += row(rule) + ruleCells(rule, description: false)
            for bucket in AgeBucket.allCases {
                html += cell("age-\(bucket.key)", AmountText.grouped(rule.openByAge[bucket.rawValue].count))
            }
            html += cell("open", AmountText.grouped(rule.openBreaks.count)) + cell("open-amount", AmountText.printed(units: rule.openBreaks.amountMinor))
            html += "</tr>\n"
        }
        let ages = report.openByAge
        html += "<tr class=\"total\" data-total=\"all\"><td colspan=\"2\">All rules</td>"
        for bucket in AgeBucket.allCases { html += cell("age-\(bucket.key)", AmountText.grouped(ages[bucket.rawValue].count)) }
        html += cell("open", AmountText.grouped(report.openBreaks.count)) + cell("open-amount", AmountText.printed(units: report.openBreaks.amountMinor))
        html += "</tr>\n</tbody>\n</table>\n"
        html += "<p class=\"note\">A break's age counts the working days of its rule's calendar from its items' day to \(report.date).</p>\n"
        if let standing = report.breaksStanding { html += "<p class=\"note\">Shown: \(standing).</p>\n" }
        html += "</section>\n"
        return html
    }

    private static func kindSection(_ report: DailyReport) -> String {
        var html = """
            <section id="kinds">
            <h2>Open breaks by kind</h2>
            <table>
            <thead><tr><th>Partner</th><th>Rule</th><th>Kind</th><th class="num">Breaks</th><th class="num">Amount</th></tr></thead>
            <tbody>

            """
        var any = false
        for rule in report.rules {
            for kind in rule.openByKind {
                any = true
                html += "<tr data-partner=\"\(Markup.text(rule.partner))\" data-rule=\"\(Markup.text(rule.name))\" data-kind=\"\(Markup.text(kind.kind))\">"
                html += "<td>\(Markup.text(rule.partner))</td><td>\(Markup.text(rule.name))</td><td>\(Markup.text(kind.label))</td>"
                html += cell("breaks", AmountText.grouped(kind.tally.count)) + cell("amount", AmountText.printed(units: kind.tally.amountMinor))
                html += "</tr>\n"
            }
        }
        if !any { html += "<tr><td colspan=\"5\">No open breaks.</td></tr>\n" }
        return html + "</tbody>\n</table>\n</section>\n"
    }

    // MARK: Charts

    private static func chartsSection(_ report: DailyReport) -> String {
        let kinds = report.openByKind.map { kind in
            BarChart.Bar(label: kind.label, value: Int64(kind.tally.count),
                         valueText: "\(AmountText.grouped(kind.tally.count)) · \(AmountText.printed(units: kind.tally.amountMinor))",
                         tooltip: "\(kind.label): \(Plural.count(kind.tally.count, "open break")), \(AmountText.printed(units: kind.tally.amountMinor))")
        }
        let kindChart = BarChart(title: "Open breaks by kind", orientation: .horizontal, bars: kinds, emptyText: "no open breaks", width: 560)
        let ages = report.openByAge
        let ageBars = AgeBucket.allCases.map { bucket in
            BarChart.Bar(label: bucket.label, value: Int64(ages[bucket.rawValue].count), valueText: AmountText.grouped(ages[bucket.rawValue].count),
                         tooltip: "\(bucket.label) working days: \(Plural.count(ages[bucket.rawValue].count, "open break")), \(AmountText.printed(units: ages[bucket.rawValue].amountMinor))",
                         tone: "bar-age-\(bucket.rawValue)")
        }
        let ageChart = BarChart(title: "Open breaks by age in working days", orientation: .vertical, bars: ageBars,
                                emptyText: "no open breaks", width: 400)
        return """
            <section id="charts">
            <h2>Open breaks at a glance</h2>
            <div class="charts">
            <figure id="chart-kinds">\(kindChart.svg())<figcaption>Open breaks by kind: count · amount</figcaption></figure>
            <figure id="chart-ages">\(ageChart.svg())<figcaption>Open breaks by age, in working days</figcaption></figure>
            </div>
            </section>

            """
    }

    private static func historySection(_ report: DailyReport) -> String {
        let window = report.historyWindow
        var html = "<section id=\"history\">\n<h2>Match rate, \(window.first!) to \(window.last!)</h2>\n<div class=\"trend\">\n"
        for rule in report.rules {
            let byDay = Dictionary(rule.history.map { ($0.date, $0.rate) }, uniquingKeysWith: { $1 })
            let bars = window.enumerated().map { index, day in
                let rate = byDay[day]
                let permille = rate?.permille
                let label = index == 0 || index == window.count - 1 ? String(day.description.dropFirst(5)) : ""
                let tooltip = rate.map { "\(day): \($0.text) (\(AmountText.grouped($0.matched)) of \(AmountText.grouped($0.considered)))" }
                    ?? "\(day): no run"
                return BarChart.Bar(label: label, value: permille.map(Int64.init), tooltip: tooltip,
                                    tone: permille == 1000 ? "rate-full" : "rate-short")
            }
            let chart = BarChart(title: "Match rate of \(rule.name) by day", orientation: .vertical, bars: bars, scaleMaximum: 1000,
                                 gridlines: [.init(value: 0, label: "0%"), .init(value: 500, label: "50%"), .init(value: 1000, label: "100%")],
                                 emptyText: rule.history.isEmpty ? "no runs in these 30 days" : "nothing matched", width: 360)
            let today = rule.run?.matchRate.text ?? "–"
            html += "<figure data-partner=\"\(Markup.text(rule.partner))\" data-rule=\"\(Markup.text(rule.name))\">"
                + "<h3>\(Markup.text(rule.partner)) · \(Markup.text(rule.name)) <span class=\"desc\" data-metric=\"match-rate\">\(today)</span></h3>"
                + chart.svg()
                + "<figcaption>ran on \(rule.history.count) of these 30 days; green: every finding matched, orange: some did not, "
                + "grey: no run</figcaption></figure>\n"
        }
        return html + "</div>\n</section>\n"
    }

    // MARK: Alerts

    private static func alertsSection(_ report: DailyReport) -> String {
        var html = """
            <section id="alerts">
            <h2>Alerts of \(report.date)</h2>
            <table class="severities">
            <thead><tr><th>Severity</th><th class="num">Alerts</th><th class="num">Not cleared</th><th>Codes</th></tr></thead>
            <tbody>

            """
        for (severity, count, uncleared) in report.alertsBySeverity {
            let codes = report.alerts.filter { $0.severity == severity }
                .map { "\(Markup.text($0.code)) \(AmountText.grouped($0.count))" }.joined(separator: ", ")
            html += "<tr data-severity=\"\(Markup.text(severity))\"><td><span class=\"severity severity-\(Markup.text(severity))\">\(Markup.text(severity))</span></td>"
                + cell("alerts", AmountText.grouped(count)) + cell("uncleared", AmountText.grouped(uncleared)) + "<td>\(codes)</td></tr>\n"
        }
        html += "</tbody>\n</table>\n"
        guard !report.alertLines.isEmpty else { return html + "<p class=\"note\">No alerts on \(report.date).</p>\n</section>\n" }
        html += """
            <table class="alert-list">
            <thead><tr><th>Severity</th><th>Code</th><th>Subject</th><th>Message</th><th>Cleared</th></tr></thead>
            <tbody>

            """
        for line in report.alertLines {
            html += "<tr><td><span class=\"severity severity-\(Markup.text(line.severity))\">\(Markup.text(line.severity))</span></td>"
                + "<td>\(Markup.text(line.code))</td><td>\(Markup.text(line.subject))</td><td>\(Markup.text(line.message))</td>"
                + "<td>\(Markup.text(line.clearedOn ?? ""))</td></tr>\n"
        }
        html += "</tbody>\n</table>\n"
        if report.alertLinesLeftOut > 0 {
            html += "<p class=\"note\">\(Plural.count(report.alertLinesLeftOut, "more alert")) of the day: "
                + "<code>reckon alerts list --date \(report.date)</code>.</p>\n"
        }
        return html + "</section>\n"
    }

    private static func footer(_ report: DailyReport) -> String {
        """
        <footer>
        <dl>
        <dt>Match rate</dt><dd>matched ÷ (matched + pending + broken), as the rule's run of the day counted them: pairs \
        matched, and breaks pending or open (a break may hold several items; one still open from an earlier day counts \
        again). Rounded down to a tenth of a percent, so only a day with nothing short shows 100.0%.</dd>
        <dt>Pending</dt><dd>a break whose counterpart may still come within the rule's pending days: not open yet.</dd>
        <dt>Open breaks</dt><dd>breaks of any day up to \(report.date) whose status is open in the ledger as it stands \
        (not matched by hand, resolved or closed by a later file).</dd>
        <dt>Age</dt><dd>working days of the rule's calendar from the break's items' day to \(report.date).</dd>
        </dl>
        <p>Made by reckon report from the ledger; the same ledger gives the same page.</p>
        </footer>

        """
    }
}
