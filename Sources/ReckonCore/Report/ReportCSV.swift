/// The daily report as CSV (README, "The daily report"): one long table whose every row is
/// one figure, so that days append to one another and pivot in a spreadsheet:
///
/// ```
/// business_date,section,partner,rule,item,count,amount,rate_percent
/// 2024-12-17,run,channel,repayments-vs-bill,matched,18,"21,519.58",81.8
/// 2024-12-17,open_by_age,channel,repayments-vs-bill,0-1,4,"1,320.00",
/// ```
///
/// Sections: `run` (items `matched`, `pending`, `broken` with count and amount, `matched`
/// carrying the match rate; `left_items`, `right_items`; or one `not_reconciled` /
/// `not_applied_yet` / `not_in_reckon_yaml` row), `open_by_age` (every bucket, zeros too),
/// `open_by_kind` (the kinds present), `match_rate` (a row per day of the last 30 the rule
/// ran: count is matched + pending + broken, rate the day's match rate), `alerts` (partner
/// and rule empty; `critical`, `warning`, `info` always) and `alert_codes` (item
/// `severity/code`). Amounts are printed as the terminal prints them (`12,000.00`, quoted for
/// the comma), in the ledger's currency. RFC 4180 quoting; UTF-8, LF line ends. A name
/// beginning with `=`, `+`, `-`, `@`, a tab or a carriage return is written after a `'`, so
/// that a spreadsheet never takes it for a formula.
public enum ReportCSV {
    public static let header = "business_date,section,partner,rule,item,count,amount,rate_percent"

    public static func text(_ report: DailyReport) -> String {
        var out = header + "\n"
        let day = report.date.description
        func line(_ section: String, _ partner: String, _ rule: String, _ item: String, count: Int?, amount: Int64?, rate: String? = nil) {
            let fields = [day, section, name(partner), name(rule), name(item), count.map(String.init) ?? "",
                          amount.map { AmountText.printed(units: $0) } ?? "", rate ?? ""]
            out += fields.map(field).joined(separator: ",") + "\n"
        }
        for rule in report.rules {
            if let run = rule.run {
                line("run", rule.partner, rule.name, "matched", count: run.matched.count, amount: run.matched.amountMinor,
                     rate: run.matchRate.percentText)
                line("run", rule.partner, rule.name, "pending", count: run.pending.count, amount: run.pending.amountMinor)
                line("run", rule.partner, rule.name, "broken", count: run.broken.count, amount: run.broken.amountMinor)
                line("run", rule.partner, rule.name, "left_items", count: run.leftItems, amount: nil)
                line("run", rule.partner, rule.name, "right_items", count: run.rightItems, amount: nil)
            } else {
                let standing = rule.appliesFrom != nil ? "not_applied_yet" : rule.configured ? "not_reconciled" : "not_in_reckon_yaml"
                line("run", rule.partner, rule.name, standing, count: nil, amount: nil)
            }
            for bucket in AgeBucket.allCases {
                let tally = rule.openByAge[bucket.rawValue]
                line("open_by_age", rule.partner, rule.name, bucket.key, count: tally.count, amount: tally.amountMinor)
            }
            for kind in rule.openByKind {
                line("open_by_kind", rule.partner, rule.name, kind.kind, count: kind.tally.count, amount: kind.tally.amountMinor)
            }
            for day in rule.history {
                line("match_rate", rule.partner, rule.name, day.date.description, count: day.rate.considered, amount: nil,
                     rate: day.rate.percentText)
            }
        }
        for (severity, count, _) in report.alertsBySeverity {
            line("alerts", "", "", severity, count: count, amount: nil)
        }
        for tally in report.alerts {
            line("alert_codes", "", "", "\(tally.severity)/\(tally.code)", count: tally.count, amount: nil)
        }
        return out
    }

    /// A name made safe from spreadsheet formulas.
    static func name(_ text: String) -> String {
        guard let first = text.unicodeScalars.first, "=+-@\t\r".unicodeScalars.contains(first) else { return text }
        return "'" + text
    }

    /// RFC 4180: a field holding a comma, a quote or a line break is quoted, its quotes doubled.
    public static func field(_ text: String) -> String {
        guard text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" || $0 == "\r\n" }) else { return text }
        var quoted = "\""
        for character in text {
            quoted.append(character)
            if character == "\"" { quoted.append("\"") }
        }
        return quoted + "\""
    }
}
