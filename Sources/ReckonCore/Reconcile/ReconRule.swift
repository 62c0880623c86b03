/// Reconciliation rules as `reckon.yaml` states them (README, "Reconciliation rules"): which
/// items stand on each side, how they pair up, what is compared and how closely, and how long
/// an item may wait for its counterpart. Plain values; the ledger adapter turns each side into
/// a query and the ``Matcher`` pairs what the queries stream.
public struct ReconciliationConfig: Sendable {
    /// Rules in the order `reckon.yaml` lists them (the order they run in).
    public var rules: [ReconRule]
    /// A manual match or resolution of a break above this amount (minor units) needs a second
    /// person's approval; nil: never.
    public var approvalAboveMinor: Int64?
    /// Commands run with an alert as JSON on their standard input, by alert code.
    public var alertCommands: [String: AlertCommand]

    public init(rules: [ReconRule] = [], approvalAboveMinor: Int64? = nil, alertCommands: [String: AlertCommand] = [:]) {
        self.rules = rules
        self.approvalAboveMinor = approvalAboveMinor
        self.alertCommands = alertCommands
    }

    public func rule(_ name: String) -> ReconRule? { rules.first { $0.name == name } }

    /// True when a rule that applies on `day` compares our plan lines with partners' plan
    /// lines (of this partner and file type, when given): the plan step then leaves plan
    /// checks to reconciliation.
    public func comparesPlans(on day: CivilDate, partner: String? = nil, fileType: String? = nil) -> Bool {
        rules.contains { rule in
            guard rule.applies(on: day), let (left, right) = rule.sources else { return false }
            return [(left, right), (right, left)].contains { ours, theirs in
                guard ours.origin == .planLines, case .events(.planLine, let p, let t) = theirs.origin else { return false }
                return (partner == nil || p == partner) && (fileType == nil || t == fileType)
            }
        }
    }
}

/// A program run for every alert of one code (for SMS or chat), with a time limit.
public struct AlertCommand: Sendable, Equatable {
    /// The program and its arguments; never run through a shell.
    public let arguments: [String]
    public let timeoutSeconds: Int

    public init(arguments: [String], timeoutSeconds: Int) {
        self.arguments = arguments
        self.timeoutSeconds = timeoutSeconds
    }
}

/// One reconciliation rule.
public struct ReconRule: Sendable {
    public enum Grouping: String, Sendable, CaseIterable {
        /// Item against item.
        case oneToOne = "one-to-one"
        /// One left item against the sum of the right items with its key.
        case oneToMany = "one-to-many"
        /// The sum of the left items with a key against one right item.
        case manyToOne = "many-to-one"
        /// Sums against sums.
        case manyToMany = "many-to-many"

        public var groupsLeft: Bool { self == .manyToOne || self == .manyToMany }
        public var groupsRight: Bool { self == .oneToMany || self == .manyToMany }
    }

    /// What the rule does: pair two sides, or check one bank statement's own figures.
    public enum Kind: Sendable {
        case match(left: ReconSource, right: ReconSource)
        case statement(StatementCheck)
    }

    public let name: String
    public let description: String?
    /// The partner whose view the rule checks (breaks are filed under it).
    public let partner: String
    public let kind: Kind
    /// Key fields, left and right, in order: items pair when every part is equal.
    public let key: [FieldPair]
    public let compared: [ComparedField]
    public let grouping: Grouping
    /// Working days an item without its counterpart stays pending (a timing difference)
    /// before it is a break; 0: a break the same day.
    public let pendingDays: Int
    /// Unmatched items in this state are failed attempts (a `status` break), not missing ones.
    public let failedLeft: [FieldCondition]
    public let failedRight: [FieldCondition]
    /// Unmatched items sharing these leading key parts make one break (one loan's missing
    /// plan, rather than a break per period).
    public let missingPerKeyParts: Int?
    /// The calendar that counts working days for this rule's windows and ages.
    public let calendar: String
    /// The first business day the rule applies to.
    public let from: CivilDate?
    /// Where in `reckon.yaml` the rule is, for complaints: `reckon.yaml:120: reconciliation.rules.bill`.
    public let place: ConfigPlace

    public init(name: String, description: String? = nil, partner: String, kind: Kind, key: [FieldPair] = [],
                compared: [ComparedField] = [], grouping: Grouping = .oneToOne, pendingDays: Int = 0,
                failedLeft: [FieldCondition] = [], failedRight: [FieldCondition] = [], missingPerKeyParts: Int? = nil,
                calendar: String = ReconRule.everyDay, from: CivilDate? = nil, place: ConfigPlace = ConfigPlace()) {
        self.name = name
        self.description = description
        self.partner = partner
        self.kind = kind
        self.key = key
        self.compared = compared
        self.grouping = grouping
        self.pendingDays = pendingDays
        self.failedLeft = failedLeft
        self.failedRight = failedRight
        self.missingPerKeyParts = missingPerKeyParts
        self.calendar = calendar
        self.from = from
        self.place = place
    }

    /// Built-in calendars: every day counts, or Monday to Friday.
    public static let everyDay = "calendar-days"
    public static let weekdays = "weekdays"

    public func applies(on day: CivilDate) -> Bool { from.map { day >= $0 } ?? true }

    public var sources: (left: ReconSource, right: ReconSource)? {
        if case .match(let left, let right) = kind { return (left, right) }
        return nil
    }
}

/// A place in the configuration, for messages that point at a key.
public struct ConfigPlace: Sendable, Equatable, CustomStringConvertible {
    public let file: String
    public let keyPath: String
    public let line: Int?

    public init(file: String = "reckon.yaml", keyPath: String = "", line: Int? = nil) {
        self.file = file
        self.keyPath = keyPath
        self.line = line
    }

    public func error(_ message: String) -> SpecError { SpecError(file: file, keyPath: keyPath, line: line, message: message) }

    public var description: String { file + (line.map { ":\($0)" } ?? "") + (keyPath.isEmpty ? "" : ": \(keyPath)") }
}

/// One side of a rule: canonical events a partner's files brought, or our own records.
public struct ReconSource: Sendable {
    public enum Origin: Sendable, Equatable {
        /// Events of one kind from a partner's file type.
        case events(CanonicalEvent, partner: String, fileType: String)
        /// Our plan lines (one per loan and period), dated by the loan's disbursement day.
        case planLines
        /// Where our plan step applied each repayment, with its early-settlement quote;
        /// dated by the repayment's day.
        case allocations
    }

    public let origin: Origin
    /// Only items whose fields satisfy every condition.
    public let conditions: [FieldCondition]
    public let place: ConfigPlace

    public init(origin: Origin, conditions: [FieldCondition] = [], place: ConfigPlace = ConfigPlace()) {
        self.origin = origin
        self.conditions = conditions
        self.place = place
    }

    /// Fields every item of our own sources has, with their kinds.
    public static let planLineFields: [String: ReconFieldKind] = [
        "loan_id": .text, "period": .integer, "due_on": .date, "principal": .amount, "interest": .amount,
        "fee": .amount, "total": .amount, "balance": .amount, "status": .text, "product": .text, "day": .date,
    ]
    public static let allocationFields: [String: ReconFieldKind] = [
        "event": .integer, "loan_id": .text, "principal": .amount, "interest": .amount, "penalty": .amount,
        "fee": .amount, "total": .amount, "quote": .amount, "reference": .text, "day": .date,
    ]
    /// Fields every event has, whatever its spec: its id, its day, its file's line.
    public static let eventFields: [String: ReconFieldKind] = ["id": .integer, "day": .date, "line": .integer]
}

/// How a field's values compare.
public enum ReconFieldKind: Sendable, Equatable {
    case text, integer, amount, date
}

/// A field named on each side (the same name on both unless told otherwise); `-amount`
/// negates an amount (a statement's debit against a disbursement).
public struct FieldPair: Sendable, Equatable {
    public let left: FieldRef
    public let right: FieldRef

    public init(left: FieldRef, right: FieldRef) {
        self.left = left
        self.right = right
    }
}

public struct FieldRef: Sendable, Equatable, CustomStringConvertible {
    public let name: String
    public let negated: Bool
    public let place: ConfigPlace

    public init(_ name: String, negated: Bool = false, place: ConfigPlace = ConfigPlace()) {
        self.name = name
        self.negated = negated
        self.place = place
    }

    public var description: String { (negated ? "-" : "") + name }
}

/// A compared field and how closely the two sides must agree.
public struct ComparedField: Sendable, Equatable {
    public let name: String
    public let fields: FieldPair
    /// Set by the loader from the fields' types.
    public var kind: ReconFieldKind
    public let tolerance: Tolerance
    /// Dates: how many working days apart the two may be.
    public let windowDays: Int
    /// Where `reckon.yaml` gives the tolerance and the window, for complaints about them.
    public let tolerancePlace: ConfigPlace?
    public let windowPlace: ConfigPlace?

    public init(name: String, fields: FieldPair, kind: ReconFieldKind, tolerance: Tolerance = Tolerance(), windowDays: Int = 0,
                tolerancePlace: ConfigPlace? = nil, windowPlace: ConfigPlace? = nil) {
        self.name = name
        self.fields = fields
        self.kind = kind
        self.tolerance = tolerance
        self.windowDays = windowDays
        self.tolerancePlace = tolerancePlace
        self.windowPlace = windowPlace
    }
}

/// How far two amounts may differ and still agree. `minor` is an absolute allowance in minor
/// units; `bp` is basis points of the larger of the two amounts' magnitudes, rounded down to
/// a minor unit. With both, `combine: max` lets the looser allowance apply (either one
/// suffices) and `min` the stricter (both must hold). No tolerance: equal to the cent.
public struct Tolerance: Sendable, Equatable {
    public enum Combine: String, Sendable { case max, min }
    public let minor: Int64?
    public let basisPoints: Int64?
    public let combine: Combine

    public init(minor: Int64? = nil, basisPoints: Int64? = nil, combine: Combine = .max) {
        self.minor = minor
        self.basisPoints = basisPoints
        self.combine = combine
    }

    /// The allowance for a pair of amounts, in minor units (at most `Int64.max`).
    public func allowance(_ a: Int64, _ b: Int64) -> Int64 { Int64(clamping: allowanceMagnitude(a, b)) }

    /// True when `a` and `b` agree within the allowance.
    public func holds(_ a: Int64, _ b: Int64) -> Bool {
        // |a − b| always fits in 64 bits unsigned, and the wrapped difference is its pattern.
        let difference = a >= b ? UInt64(bitPattern: a &- b) : UInt64(bitPattern: b &- a)
        return difference <= allowanceMagnitude(a, b)
    }

    /// The allowance exactly: the product of an amount and its points in full width, so a huge
    /// amount neither wraps nor rounds twice, and 100% of `Int64.min` is its whole magnitude.
    /// A negative setting (only code can give one) allows nothing.
    private func allowanceMagnitude(_ a: Int64, _ b: Int64) -> UInt64 {
        let byPoints = basisPoints.map { points -> UInt64 in
            let product = max(a.magnitude, b.magnitude).multipliedFullWidth(by: UInt64(clamping: points))
            guard product.high < 10_000 else { return .max }
            return UInt64(10_000).dividingFullWidth(product).quotient
        }
        switch (minor.map { UInt64(clamping: $0) }, byPoints) {
        case (nil, nil): return 0
        case (let minor?, nil): return minor
        case (nil, let points?): return points
        case (let minor?, let points?): return combine == .max ? max(minor, points) : min(minor, points)
        }
    }
}

/// A condition on a field: equal to a value, not equal, one of several, or starting with.
public struct FieldCondition: Sendable, Equatable {
    public enum Test: Sendable, Equatable {
        case equals(String)
        case notEquals(String)
        case oneOf([String])
        case prefix(String)
    }
    public let field: FieldRef
    public let test: Test

    public init(field: FieldRef, test: Test) {
        self.field = field
        self.test = test
    }

    public func holds(_ value: String?) -> Bool { test.holds(value) }
}

extension FieldCondition.Test {
    /// Whether a value (nil: absent) passes the test.
    public func holds(_ value: String?) -> Bool {
        switch self {
        case .equals(let expected): return value == expected
        case .notEquals(let other): return value != other
        case .oneOf(let values): return value.map(values.contains) ?? false
        case .prefix(let start): return value?.hasPrefix(start) ?? false
        }
    }
}

/// A bank statement's own figures: opening + entries = closing, opening = the previous
/// statement's closing for the account, closing at or above the warning line.
public struct StatementCheck: Sendable {
    /// The statements' balance records.
    public let balances: ReconSource
    /// Their entries.
    public let entries: ReconSource
    /// Fields of the balance record (with a direction field each: DBIT/D/DR/debit negative).
    public let statementID: FieldRef
    public let account: FieldRef
    public let opening: FieldRef
    public let openingDirection: FieldRef?
    public let closing: FieldRef
    public let closingDirection: FieldRef?
    /// The entry field naming its statement, and the entry's signed amount.
    public let entryStatementID: FieldRef
    public let entryAmount: FieldRef
    /// Below this closing balance (minor units): a `balance_below_warning` break.
    public let warningBelowMinor: Int64?

    public init(balances: ReconSource, entries: ReconSource, statementID: FieldRef, account: FieldRef, opening: FieldRef,
                openingDirection: FieldRef?, closing: FieldRef, closingDirection: FieldRef?, entryStatementID: FieldRef,
                entryAmount: FieldRef, warningBelowMinor: Int64?) {
        self.balances = balances
        self.entries = entries
        self.statementID = statementID
        self.account = account
        self.opening = opening
        self.openingDirection = openingDirection
        self.closing = closing
        self.closingDirection = closingDirection
        self.entryStatementID = entryStatementID
        self.entryAmount = entryAmount
        self.warningBelowMinor = warningBelowMinor
    }

    /// True for the direction codes that mean a debit balance.
    public static func isDebit(_ code: String?) -> Bool {
        guard let code else { return false }
        return ["DBIT", "D", "DR", "DEBIT"].contains(code.uppercased())
    }
}
