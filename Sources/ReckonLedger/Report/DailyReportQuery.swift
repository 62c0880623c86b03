import Foundation
import GRDB
import ReckonCore

extension Ledger {
    /// The daily report of a business day (README, "The daily report"), read in one read
    /// transaction, so its figures agree with one another whatever a writer does meanwhile:
    /// each rule's run of the day (`recon_run`), its breaks open now from any day up to
    /// `date` (`recon_break`) by age and kind, its runs of the last 30 days, and the day's
    /// alerts. Everything is summed in SQL; memory is the report's size (rules × days ×
    /// kinds), whatever the number of breaks.
    ///
    /// `rules` and `partners` are `reckon.yaml`'s (rules are listed partner by partner, in
    /// its order); rules the ledger holds that `rules` does not name come last, their ages
    /// counted in `defaultCalendar`.
    public func dailyReport(date: CivilDate, currency: String, rules: [ReconRule], partners: [PartnerConfig],
                            calendar: BusinessCalendar?, defaultCalendar: String) throws(LedgerError) -> DailyReport {
        try read { db in
            try DailyReportQuery(db: db, date: date, age: BreakAge(configured: calendar), defaultCalendar: defaultCalendar)
                .report(currency: currency, rules: rules, partners: partners)
        }
    }
}

/// The queries behind ``Ledger/dailyReport(date:currency:rules:partners:calendar:defaultCalendar:)``.
struct DailyReportQuery {
    let db: Database
    let date: CivilDate
    let age: BreakAge
    let defaultCalendar: String

    func report(currency: String, rules configured: [ReconRule], partners configuredPartners: [PartnerConfig]) throws -> DailyReport {
        let partners = configuredPartners.map(\.id)
        func partnerName(_ id: String) -> String? { configuredPartners.first { $0.id == id }?.name }
        var rules = configured.map { rule in
            RuleReport(name: rule.name, partner: rule.partner, partnerName: partnerName(rule.partner), description: rule.description,
                       calendar: rule.calendar, appliesFrom: rule.applies(on: date) ? nil : rule.from)
        }
        for (name, partner) in try unconfiguredRules(configured) {
            rules.append(RuleReport(name: name, partner: partner, partnerName: partnerName(partner), configured: false,
                                    calendar: defaultCalendar))
        }
        let runs = try self.runs()
        let history = try self.history()
        let open = try openBreaks(calendars: Dictionary(rules.map { ($0.name, $0.calendar) }, uniquingKeysWith: { a, _ in a }))
        for index in rules.indices {
            let name = rules[index].name
            rules[index].run = runs[name]
            rules[index].history = history[name] ?? []
            if let breaks = open[name] {
                rules[index].openByAge = breaks.byAge
                rules[index].openByKind = KindTally.ordered(breaks.byKind)
            }
        }
        // Partner by partner in reckon.yaml's order, each partner's rules in theirs; a
        // configured rule before one the ledger alone knows; then by name.
        let configuredOrder = Dictionary(configured.enumerated().map { ($1.name, $0) }, uniquingKeysWith: { a, _ in a })
        func partnerRank(_ partner: String) -> Int { partners.firstIndex(of: partner) ?? partners.count }
        rules.sort { a, b in
            (partnerRank(a.partner), a.partner, configuredOrder[a.name] ?? configured.count, a.name)
                < (partnerRank(b.partner), b.partner, configuredOrder[b.name] ?? configured.count, b.name)
        }
        let (alerts, lines, leftOut) = try self.alerts()
        let latest = try String.fetchOne(db, sql: "SELECT max(business_date) FROM recon_run").flatMap { CivilDate(iso: $0) }
        return DailyReport(date: date, currency: currency, rules: rules, alerts: alerts, alertLines: lines, alertLinesLeftOut: leftOut,
                           latestReconciledDay: latest)
    }

    /// Rules with a run of the day or open breaks up to it that `reckon.yaml` does not name
    /// (renamed or removed since), with their partner.
    private func unconfiguredRules(_ configured: [ReconRule]) throws -> [(String, String)] {
        let names = Set(configured.map(\.name))
        let rows = try Row.fetchAll(db, sql: """
            SELECT rule, min(partner) FROM (
                SELECT rule, partner FROM recon_run WHERE business_date = ?1
                UNION SELECT rule, partner FROM recon_break WHERE status = 'open' AND business_date <= ?1)
            GROUP BY rule ORDER BY rule
            """, arguments: [date.description])
        return rows.map { ($0[0] as String, $0[1] as String) }.filter { !names.contains($0.0) }
    }

    private func runs() throws -> [String: RuleRun] {
        var runs: [String: RuleRun] = [:]
        for row in try Row.fetchAll(db, sql: """
            SELECT rule, left_items, right_items, matched, matched_minor, pending, pending_minor, broken, broken_minor, ran_at
            FROM recon_run WHERE business_date = ?
            """, arguments: [date.description]) {
            runs[row[0]] = RuleRun(leftItems: row[1], rightItems: row[2], matched: Tally(count: row[3], amountMinor: row[4]),
                                   pending: Tally(count: row[5], amountMinor: row[6]), broken: Tally(count: row[7], amountMinor: row[8]),
                                   ranAt: row[9])
        }
        return runs
    }

    /// Each rule's runs of the 30 days up to the report's day, oldest first.
    private func history() throws -> [String: [DayRate]] {
        let first = date.adding(days: -(DailyReport.historyDays - 1)) ?? date
        var history: [String: [DayRate]] = [:]
        for row in try Row.fetchAll(db, sql: """
            SELECT rule, business_date, matched, pending, broken FROM recon_run
            WHERE business_date BETWEEN ? AND ? ORDER BY rule, business_date
            """, arguments: [first.description, date.description]) {
            guard let day = CivilDate(iso: row[1] as String) else { continue }
            history[row[0], default: []].append(DayRate(date: day, rate: MatchRate(matched: row[2], pending: row[3], broken: row[4])))
        }
        return history
    }

    struct OpenBreaks {
        var byAge = Array(repeating: Tally(), count: AgeBucket.allCases.count)
        var byKind: [String: Tally] = [:]
    }

    /// Breaks open now from any day up to the report's, summed per rule, day and kind in SQL;
    /// each day's age counted once per calendar.
    private func openBreaks(calendars: [String: String]) throws -> [String: OpenBreaks] {
        var result: [String: OpenBreaks] = [:]
        var ages: [String: Int] = [:]
        let cursor = try Row.fetchCursor(db, sql: """
            SELECT rule, business_date, kind, count(*), sum(amount_minor) FROM recon_break
            WHERE status = 'open' AND business_date <= ? GROUP BY rule, business_date, kind ORDER BY rule, business_date, kind
            """, arguments: [date.description])
        while let row = try cursor.next() {
            let rule: String = row[0]
            let dayText: String = row[1]
            let calendar = calendars[rule] ?? defaultCalendar
            let ageKey = calendar + "|" + dayText
            let days: Int
            if let known = ages[ageKey] {
                days = known
            } else {
                guard let day = CivilDate(iso: dayText) else {
                    throw LedgerError("break of rule \(rule) has business_date '\(dayText)', which is not a date")
                }
                days = age.workingDays(from: day, to: date, calendar: calendar)
                ages[ageKey] = days
            }
            let tally = Tally(count: row[3], amountMinor: row[4])
            result[rule, default: OpenBreaks()].byAge[AgeBucket(ageWorkingDays: days).rawValue] += tally
            result[rule, default: OpenBreaks()].byKind[row[2], default: Tally()] += tally
        }
        return result
    }

    /// The day's alerts by severity and code, and the first of them one by one.
    private func alerts() throws -> ([AlertTally], [AlertLine], Int) {
        let rank = "CASE severity " + AlertTally.severities.enumerated().map { "WHEN '\($1)' THEN \($0)" }.joined(separator: " ")
            + " ELSE \(AlertTally.severities.count) END"
        let tallies = try Row.fetchAll(db, sql: """
            SELECT severity, kind, count(*), sum(cleared_on IS NULL) FROM alert WHERE business_date = ?
            GROUP BY severity, kind ORDER BY \(rank), severity, kind
            """, arguments: [date.description]).map {
            AlertTally(severity: $0[0], code: $0[1], count: $0[2], uncleared: $0[3])
        }
        let lines = try Row.fetchAll(db, sql: """
            SELECT severity, kind, subject, message, cleared_on FROM alert WHERE business_date = ?
            ORDER BY \(rank), severity, kind, subject LIMIT \(DailyReport.alertLinesShown)
            """, arguments: [date.description]).map {
            AlertLine(severity: $0[0], code: $0[1], subject: $0[2], message: $0[3], clearedOn: $0[4])
        }
        let total = tallies.reduce(0) { $0 + $1.count }
        return (tallies, lines, total - lines.count)
    }
}
