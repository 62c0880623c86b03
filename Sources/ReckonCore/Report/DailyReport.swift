/// The daily reconciliation report (`reckon report --date D`, README "The daily report"): per
/// partner and rule, what the rule's run of the day counted, the breaks still open by age
/// and kind, the match rate over the last 30 days, and the day's alerts by severity. Plain
/// values: the ledger adapter fills them, the renderers (``ReportHTML``, ``ReportCSV``) and
/// the CLI print them.
public struct DailyReport: Sendable, Equatable {
    public let date: CivilDate
    public let currency: String
    /// Partner by partner, each partner's rules in `reckon.yaml`'s order; rules the ledger
    /// knows that `reckon.yaml` no longer names come last.
    public var rules: [RuleReport]
    /// The day's alerts, counted by severity and code (critical first).
    public var alerts: [AlertTally]
    /// The day's alerts, most severe first, at most ``alertLinesShown``.
    public var alertLines: [AlertLine]
    /// Alerts of the day beyond those listed.
    public var alertLinesLeftOut: Int
    /// The latest day any rule has reconciled. Breaks are counted as they stand now: when
    /// this is after the report's day, later runs may have opened, closed or settled breaks
    /// of the report's days since (the day's run figures stay as that run counted them).
    public var latestReconciledDay: CivilDate?

    /// The alerts a report lists one by one; the rest are counted.
    public static let alertLinesShown = 50
    /// The days the match-rate history covers, the report's day the last.
    public static let historyDays = 30

    public init(date: CivilDate, currency: String, rules: [RuleReport] = [], alerts: [AlertTally] = [],
                alertLines: [AlertLine] = [], alertLinesLeftOut: Int = 0, latestReconciledDay: CivilDate? = nil) {
        self.date = date
        self.currency = currency
        self.rules = rules
        self.alerts = alerts
        self.alertLines = alertLines
        self.alertLinesLeftOut = alertLinesLeftOut
        self.latestReconciledDay = latestReconciledDay
    }

    /// Said wherever open breaks are shown when later days have been reconciled since:
    /// `open breaks as they stand after the reconciliation of 2024-12-17 (a later day), not as
    /// they stood on 2024-12-16`.
    public var breaksStanding: String? {
        guard let latest = latestReconciledDay, latest > date else { return nil }
        return "open breaks as they stand after the reconciliation of \(latest) (a later day), not as they stood on \(date)"
    }

    /// The calendar days the match-rate history covers: the 29 days before the report's day
    /// and the day itself.
    public var historyWindow: [CivilDate] {
        (0..<Self.historyDays).reversed().compactMap { date.adding(days: -$0) }
    }

    /// When the day was last reconciled: the latest of its rules' runs (UTC, as stored).
    public var reconciledAt: String? { rules.compactMap { $0.run?.ranAt }.max() }

    /// Rules that apply on the day but have no run of it in the ledger.
    public var notReconciled: [RuleReport] { rules.filter { $0.configured && $0.appliesFrom == nil && $0.run == nil } }

    /// Open breaks of every rule.
    public var openBreaks: Tally { rules.reduce(Tally()) { $0 + $1.openBreaks } }

    /// Pending items of the day's runs.
    public var pending: Tally { rules.reduce(Tally()) { $0 + ($1.run?.pending ?? Tally()) } }

    /// Open breaks of every rule by age bucket, in ``AgeBucket`` order.
    public var openByAge: [Tally] {
        AgeBucket.allCases.map { bucket in rules.reduce(Tally()) { $0 + $1.openByAge[bucket.rawValue] } }
    }

    /// Open breaks of every rule by kind, most first (then by kind).
    public var openByKind: [KindTally] {
        var totals: [String: Tally] = [:]
        for rule in rules {
            for kind in rule.openByKind { totals[kind.kind, default: Tally()] += kind.tally }
        }
        return KindTally.ordered(totals)
    }

    /// Alerts of the day per severity, critical, warning and info always (zeros too), any
    /// other severity the ledger holds after them.
    public var alertsBySeverity: [(severity: String, count: Int, uncleared: Int)] {
        var order = AlertTally.severities
        for tally in alerts where !order.contains(tally.severity) { order.append(tally.severity) }
        return order.map { severity in
            let rows = alerts.filter { $0.severity == severity }
            return (severity, rows.reduce(0) { $0 + $1.count }, rows.reduce(0) { $0 + $1.uncleared })
        }
    }
}

/// A number of items and their amount in minor units.
public struct Tally: Sendable, Equatable {
    public var count: Int
    public var amountMinor: Int64

    public init(count: Int = 0, amountMinor: Int64 = 0) {
        self.count = count
        self.amountMinor = amountMinor
    }

    public static func + (a: Tally, b: Tally) -> Tally {
        Tally(count: a.count + b.count, amountMinor: a.amountMinor &+ b.amountMinor)
    }

    public static func += (a: inout Tally, b: Tally) { a = a + b }
}

/// One rule's part of the report.
public struct RuleReport: Sendable, Equatable {
    public let name: String
    public let partner: String
    /// The partner's name in `reckon.yaml` (`Sample funding bank (资金方)`), if it is there.
    public let partnerName: String?
    public let description: String?
    /// Named in `reckon.yaml` (a rule since renamed or removed still has its breaks).
    public let configured: Bool
    /// The calendar its ages are counted in (`calendar-days`, `weekdays`, or the configured one).
    public let calendar: String
    /// The rule's first day, when it is after the report's day (the rule does not apply yet).
    public let appliesFrom: CivilDate?
    /// The rule's run of the report's day; nil when the day was not reconciled by it.
    public var run: RuleRun?
    /// Open breaks (status `open`, from any day up to the report's) by ``AgeBucket``, one
    /// tally per bucket in order.
    public var openByAge: [Tally]
    /// Open breaks by kind, most first.
    public var openByKind: [KindTally]
    /// The match rate of each day of the last 30 that the rule ran, oldest first.
    public var history: [DayRate]

    public init(name: String, partner: String, partnerName: String? = nil, description: String? = nil, configured: Bool = true,
                calendar: String, appliesFrom: CivilDate? = nil, run: RuleRun? = nil,
                openByAge: [Tally] = Array(repeating: Tally(), count: AgeBucket.allCases.count),
                openByKind: [KindTally] = [], history: [DayRate] = []) {
        precondition(openByAge.count == AgeBucket.allCases.count, "one tally per age bucket")
        self.name = name
        self.partner = partner
        self.partnerName = partnerName
        self.description = description
        self.configured = configured
        self.calendar = calendar
        self.appliesFrom = appliesFrom
        self.run = run
        self.openByAge = openByAge
        self.openByKind = openByKind
        self.history = history
    }

    public var openBreaks: Tally { openByAge.reduce(Tally(), +) }

    /// What the rule's line says when there is no run: `not applied yet (from 2024-12-16)`,
    /// `not reconciled`, `not in reckon.yaml`.
    public var standing: String? {
        if run != nil { return nil }
        if let appliesFrom { return "not applied yet (from \(appliesFrom))" }
        return configured ? "not reconciled" : "not in reckon.yaml"
    }
}

/// What a rule's run of a day counted (`recon_run`): pairs matched, items pending while their
/// counterpart may still come, and breaks open, each with its amount.
public struct RuleRun: Sendable, Equatable {
    public var leftItems: Int
    public var rightItems: Int
    public var matched: Tally
    public var pending: Tally
    public var broken: Tally
    /// When it ran (UTC, as stored).
    public var ranAt: String

    public init(leftItems: Int, rightItems: Int, matched: Tally, pending: Tally, broken: Tally, ranAt: String) {
        self.leftItems = leftItems
        self.rightItems = rightItems
        self.matched = matched
        self.pending = pending
        self.broken = broken
        self.ranAt = ranAt
    }

    public var matchRate: MatchRate {
        MatchRate(matched: matched.count, pending: pending.count, broken: broken.count)
    }
}

/// The share of a run's findings that matched: matched ÷ (matched + pending + broken), as the
/// rule's run counted them — pairs matched, and breaks pending or open (one break may hold
/// several items; a break still open from an earlier day counts again on every day it is).
public struct MatchRate: Sendable, Equatable {
    public let matched: Int
    public let considered: Int

    public init(matched: Int, pending: Int, broken: Int) {
        self.matched = matched
        considered = matched + pending + broken
    }

    /// Tenths of a percent, rounded down, so that a rate short of 100% never prints as
    /// `100.0%`; nil when there was nothing to match.
    public var permille: Int? {
        guard considered > 0 else { return nil }
        return Int((Int64(matched) * 1000) / Int64(considered))
    }

    /// `93.4` (no percent sign), or nil.
    public var percentText: String? { permille.map { "\($0 / 10).\($0 % 10)" } }

    /// `93.4%`, or `–` when there was nothing to match.
    public var text: String { percentText.map { $0 + "%" } ?? "–" }
}

/// A day's match rate.
public struct DayRate: Sendable, Equatable {
    public let date: CivilDate
    public let rate: MatchRate

    public init(date: CivilDate, rate: MatchRate) {
        self.date = date
        self.rate = rate
    }
}

/// How long a break has been open, in working days from its items' day to the report's day.
public enum AgeBucket: Int, Sendable, CaseIterable {
    case upToOne, twoToThree, fourToSeven, eightToThirty, overThirty

    public init(ageWorkingDays age: Int) {
        switch age {
        case ..<2: self = .upToOne
        case 2...3: self = .twoToThree
        case 4...7: self = .fourToSeven
        case 8...30: self = .eightToThirty
        default: self = .overThirty
        }
    }

    /// `0–1`, `over 30`: as people read it.
    public var label: String {
        switch self {
        case .upToOne: return "0–1"
        case .twoToThree: return "2–3"
        case .fourToSeven: return "4–7"
        case .eightToThirty: return "8–30"
        case .overThirty: return "over 30"
        }
    }

    /// `0-1`, `over-30`: ASCII, for CSV and JSON.
    public var key: String {
        switch self {
        case .upToOne: return "0-1"
        case .twoToThree: return "2-3"
        case .fourToSeven: return "4-7"
        case .eightToThirty: return "8-30"
        case .overThirty: return "over-30"
        }
    }
}

/// Breaks of one kind.
public struct KindTally: Sendable, Equatable {
    /// As stored: `missing_theirs`.
    public let kind: String
    public let tally: Tally

    public init(kind: String, tally: Tally) {
        self.kind = kind
        self.tally = tally
    }

    /// `missing on theirs`; a kind this reckon does not know, as stored.
    public var label: String { BreakKind(rawValue: kind)?.label ?? kind }

    /// Most breaks first, then by kind, so that the order never depends on a dictionary's.
    public static func ordered(_ totals: [String: Tally]) -> [KindTally] {
        totals.map { KindTally(kind: $0.key, tally: $0.value) }
            .sorted { ($0.tally.count, $1.kind) > ($1.tally.count, $0.kind) }
    }
}

/// Alerts of a day of one severity and code.
public struct AlertTally: Sendable, Equatable {
    public let severity: String
    public let code: String
    public let count: Int
    /// Of them, not cleared.
    public let uncleared: Int

    public init(severity: String, code: String, count: Int, uncleared: Int) {
        self.severity = severity
        self.code = code
        self.count = count
        self.uncleared = uncleared
    }

    /// Most severe first.
    public static let severities = ["critical", "warning", "info"]

    /// Where a severity sorts: the known ones in ``severities`` order, others after.
    public static func rank(_ severity: String) -> Int { severities.firstIndex(of: severity) ?? severities.count }
}

/// One alert of the day.
public struct AlertLine: Sendable, Equatable {
    public let severity: String
    public let code: String
    public let subject: String
    public let message: String
    /// The day it was cleared (what it was about came or was made good).
    public let clearedOn: String?

    public init(severity: String, code: String, subject: String, message: String, clearedOn: String?) {
        self.severity = severity
        self.code = code
        self.subject = subject
        self.message = message
        self.clearedOn = clearedOn
    }
}
