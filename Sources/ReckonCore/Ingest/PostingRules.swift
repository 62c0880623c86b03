/// One leg of a journal entry: positive debits the account, negative credits it. Minor
/// units of `currency`.
public struct Posting: Sendable, Hashable, CustomStringConvertible {
    public let account: String
    public let amountMinor: Int64
    public let currency: String

    public init(_ account: String, _ amountMinor: Int64, _ currency: String) {
        self.account = account
        self.amountMinor = amountMinor
        self.currency = currency
    }

    public var description: String {
        "\(account) \(amountMinor < 0 ? "Cr" : "Dr") \(DecimalAmount(units: Int64(clamping: amountMinor.magnitude), scale: 2)) \(currency)"
    }
}

/// What a journal entry records.
public enum EntryKind: String, Sendable, CaseIterable {
    case disbursement
    case repayment
    case compensation
    case channelSettlement = "channel_settlement"
    case marginFreeze = "margin_freeze"
    case marginRelease = "margin_release"
    /// Undoes an earlier entry (a superseded file's): its postings negated.
    case reversal
    /// Makes a break good (`reckon breaks resolve … --reason adjusted --amount …`): names the
    /// break, and the next day's settlement file carries it.
    case adjustment
}

/// A journal entry before it is stored: its postings balance per currency.
public struct EntryDraft: Sendable, Equatable {
    public let kind: EntryKind
    public let postings: [Posting]

    /// Refuses postings that do not sum to zero per currency, and zero amounts.
    public init(_ kind: EntryKind, _ postings: [Posting]) throws(PostingError) {
        let legs = postings.filter { $0.amountMinor != 0 }
        guard legs.count >= 2 else { throw PostingError("a journal entry needs at least two non-zero postings") }
        // Nearly every entry is in one currency: summed without a dictionary (ingest builds
        // one entry a record).
        let currency = legs[0].currency
        if legs.allSatisfy({ $0.currency == currency }) {
            var sum: Int64 = 0
            for posting in legs {
                let (next, overflow) = sum.addingReportingOverflow(posting.amountMinor)
                guard !overflow else { throw PostingError("the postings overflow 64-bit minor units") }
                sum = next
            }
            guard sum == 0 else { throw PostingError("the postings do not balance: \(currency) is off by \(sum) minor units") }
            self.kind = kind
            self.postings = legs
            return
        }
        var sums: [String: Int64] = [:]
        for posting in legs {
            let (sum, overflow) = sums[posting.currency, default: 0].addingReportingOverflow(posting.amountMinor)
            guard !overflow else { throw PostingError("the postings overflow 64-bit minor units") }
            sums[posting.currency] = sum
        }
        // Every currency that is off, in order of its code, so the message is the same
        // whichever order the dictionary keeps them in.
        let off = sums.filter { $0.value != 0 }.sorted { $0.key < $1.key }
        if !off.isEmpty {
            let amounts = off.map { "\($0.key) is off by \($0.value) minor units" }
            throw PostingError("the postings do not balance: " + amounts.joined(separator: ", "))
        }
        self.kind = kind
        self.postings = legs
    }
}

/// Why an event could not be posted; rejects its record like a field problem would.
public struct PostingError: Error, Sendable, Equatable, CustomStringConvertible {
    public let reason: String
    public let field: String?

    public init(_ reason: String, field: String? = nil) {
        self.reason = reason
        self.field = field
    }

    public var description: String { (field.map { "field '\($0)': " } ?? "") + reason }
}

/// What the posting rules need to know beyond the record itself.
public struct PostingContext {
    /// The ledger's currency, for records that do not name theirs.
    public let currency: String
    /// The sending partner's channel code, for channel bills.
    public let partnerChannelCode: String?
    /// The margin rate of a product (nil: the product does not freeze margin).
    public let marginRate: (_ product: String) -> DecimalAmount?
    /// The product a loan was disbursed under, from its disbursement record.
    public let productOfLoan: (_ loanID: String) -> String?
    /// How much margin is frozen for a loan now.
    public let frozenMargin: (_ loanID: String) -> Int64
    /// The configured products, by code; a disbursement under a product not listed here is
    /// refused (unless no product is configured at all).
    public let products: [String: ProductConfig]

    public init(currency: String, partnerChannelCode: String?,
                marginRate: @escaping (String) -> DecimalAmount?, productOfLoan: @escaping (String) -> String?,
                frozenMargin: @escaping (String) -> Int64, products: [ProductConfig] = []) {
        self.currency = currency
        self.partnerChannelCode = partnerChannelCode
        self.marginRate = marginRate
        self.productOfLoan = productOfLoan
        self.frozenMargin = frozenMargin
        self.products = Dictionary(products.map { ($0.code, $0) }, uniquingKeysWith: { first, _ in first })
    }
}

/// The chart of accounts: one name per account, per loan where it is per loan.
public enum Account {
    public static func principal(_ loan: String) -> String { "loan:\(loan):principal" }
    public static func interest(_ loan: String) -> String { "loan:\(loan):interest" }
    public static func marginFrozen(_ loan: String) -> String { "margin:frozen:\(loan)" }
    public static func channelClearing(_ code: String) -> String { "channel:\(code):clearing" }
    public static let bankSettlement = "bank:settlement"
    public static let interestIncome = "income:interest"
    public static let penaltyIncome = "income:penalty"
    public static let feeIncome = "income:fee"
    public static let channelFees = "expense:channel_fee"
    public static let guarantorCompensation = "guarantor:compensation"
    public static let marginAvailable = "margin:available"
    /// Receipts whose payer the record does not name.
    public static let suspense = "suspense:receipts"
    /// What breaks resolved with an adjustment moved (the other side: the bank settlement).
    public static let breakAdjustments = "adjustment:breaks"

    /// An account name's kind (its first part: `loan`, `income`, `margin`, …) and the loan
    /// it belongs to, if any (`loan:L1:principal`, `margin:frozen:L1`). Read from the name's
    /// bytes: ingest asks it of every account it meets first.
    public static func kindAndLoan(of account: String) -> (kind: String, loan: String?) {
        let colon = UInt8(ascii: ":")
        guard let first = account.utf8.firstIndex(of: colon) else { return (account, nil) }
        let kind = account[..<first]
        let rest = account[account.utf8.index(after: first)...]
        let second = rest.utf8.firstIndex(of: colon)
        switch kind {
        case "loan":
            // loan:<loan>:principal
            return (String(kind), String(rest[..<(second ?? rest.endIndex)]))
        case "margin":
            // margin:frozen:<loan> (margin:available belongs to no loan)
            guard let second else { return (String(kind), nil) }
            let loan = rest[rest.utf8.index(after: second)...]
            return (String(kind), loan.utf8.contains(colon) ? nil : String(loan))
        default:
            return (String(kind), nil)
        }
    }
}

/// From canonical events to journal entries. Pure: the rules see one record's values and
/// what the context answers, and return balanced entries.
///
/// - Disbursement: Dr the loan's principal receivable, Cr the bank settlement account; and,
///   when the product checks margin, freeze principal × margin rate from the margin deposit.
/// - Repayment: Dr the paying channel's clearing account (or the guarantor, for a
///   compensation), Cr principal receivable, interest, penalty and fee income; release the
///   margin frozen for the principal repaid (all of it on an early settlement).
/// - Channel settlement (a successful line of a channel's bill): Dr the bank settlement
///   account with what the channel pays out and the fee expense with its fee, Cr the
///   channel's clearing account with the amount collected.
/// - Statement lines, balances, plans, base rates and the core system's reference files
///   (institutions, loan snapshots) post nothing: they are what reconciliation compares
///   the ledger with.
///
/// Interest, penalty and fees are income when they are received (cash basis). What is due
/// and accrued but unpaid is kept per plan line by the plan step, not yet as journal entries.
public enum PostingRules {
    public static func entries(for event: CanonicalEvent, value: (String) -> FieldValue?,
                               context: PostingContext) throws(PostingError) -> [EntryDraft] {
        switch event {
        case .loanDisbursed: return try disbursement(value, context)
        case .repayment: return try repayment(value, context)
        case .channelBillLine: return try channelSettlement(value, context)
        case .bankStatementLine, .balance, .planLine, .baseRate, .institution, .loanSnapshot:
            return []
        }
    }

    private static func disbursement(_ value: (String) -> FieldValue?, _ context: PostingContext) throws(PostingError) -> [EntryDraft] {
        let loan = try text("loan_id", value)
        let currency = try self.currency(value, context)
        let principal = try minor("principal", value)
        guard principal > 0 else { throw PostingError("a disbursement needs a positive principal", field: "principal") }
        try checkProduct(value, principal: principal, context)
        var entries = [try EntryDraft(.disbursement, [
            Posting(Account.principal(loan), principal, currency),
            Posting(Account.bankSettlement, -principal, currency),
        ])]
        let product = try text("product", value)
        if let rate = context.marginRate(product), let frozen = share(principal, rate), frozen > 0 {
            entries.append(try EntryDraft(.marginFreeze, [
                Posting(Account.marginFrozen(loan), frozen, currency),
                Posting(Account.marginAvailable, -frozen, currency),
            ]))
        }
        return entries
    }

    /// Seed 000 §12: a loan outside its product's amount and term ranges (or under another
    /// method) is refused when it arrives.
    private static func checkProduct(_ value: (String) -> FieldValue?, principal: Int64, _ context: PostingContext) throws(PostingError) {
        guard !context.products.isEmpty else { return }
        let code = try text("product", value)
        guard let product = context.products[code] else {
            throw PostingError("unknown product '\(code)'; reckon.yaml has \(context.products.keys.sorted().joined(separator: ", "))", field: "product")
        }
        guard let settings = product.plan else { return }
        guard case .integer(let term)? = value("term") else { throw PostingError("a disbursement needs its term", field: "term") }
        let method = value("repay_method").flatMap { $0.isEmpty ? nil : RepaymentMethod(text: $0.description) }
        if let refusal = settings.refusal(product: code, principalMinor: principal, term: Int(term), method: method) {
            throw refusal
        }
    }

    private static func repayment(_ value: (String) -> FieldValue?, _ context: PostingContext) throws(PostingError) -> [EntryDraft] {
        let loan = try text("loan_id", value)
        let currency = try self.currency(value, context)
        let principal = try minor("principal", value)
        let interest = try minor("interest", value)
        let penalty = try minor("penalty", value)
        let fee = try minor("fee", value)
        for (name, amount) in [("principal", principal), ("interest", interest), ("penalty", penalty), ("fee", fee)] where amount < 0 {
            throw PostingError("a repayment's parts are never negative (\(amount) minor units)", field: name)
        }
        let parts = principal + interest + penalty + fee
        if let total = try optionalMinor("total", value), total != parts {
            throw PostingError("the total \(DecimalAmount(units: total, scale: 2)) is not principal + interest + penalty + fee = \(DecimalAmount(units: parts, scale: 2))", field: "total")
        }
        guard parts > 0 else { throw PostingError("a repayment of nothing", field: "total") }
        let type = value("repay_type").flatMap { $0.isEmpty ? nil : $0.description } ?? "normal"
        let payer: String
        let kind: EntryKind
        if type == "compensation" {
            payer = Account.guarantorCompensation
            kind = .compensation
        } else if let channel = value("channel"), !channel.isEmpty {
            payer = Account.channelClearing(channel.description)
            kind = .repayment
        } else {
            payer = Account.suspense
            kind = .repayment
        }
        var entries = [try EntryDraft(kind, [
            Posting(payer, parts, currency),
            Posting(Account.principal(loan), -principal, currency),
            Posting(Account.interestIncome, -interest, currency),
            Posting(Account.penaltyIncome, -penalty, currency),
            Posting(Account.feeIncome, -fee, currency),
        ])]
        if let product = context.productOfLoan(loan), let rate = context.marginRate(product),
           let release = try marginRelease(loan: loan, principalMinor: principal, repayType: type, frozenMinor: context.frozenMargin(loan),
                                           rate: rate, currency: currency) {
            entries.append(release)
        }
        return entries
    }

    /// The margin a repayment releases: the frozen margin for the principal it repays
    /// (principal × margin rate, at most what is frozen), or all of it for an early
    /// settlement; nil when nothing is released. `repayType` is the canonical repayment type.
    public static func marginRelease(loan: String, principalMinor: Int64, repayType: String, frozenMinor: Int64,
                                     rate: DecimalAmount, currency: String) throws(PostingError) -> EntryDraft? {
        let release = repayType == "early_settlement" ? frozenMinor : min(frozenMinor, share(principalMinor, rate) ?? 0)
        guard release > 0 else { return nil }
        return try EntryDraft(.marginRelease, [
            Posting(Account.marginAvailable, release, currency),
            Posting(Account.marginFrozen(loan), -release, currency),
        ])
    }

    private static func channelSettlement(_ value: (String) -> FieldValue?, _ context: PostingContext) throws(PostingError) -> [EntryDraft] {
        // Only money that moved: failed, refunded or other lines are reconciled, not booked.
        if let status = value("status"), !status.isEmpty, status.description != "success" { return [] }
        if let type = value("type"), !type.isEmpty, type.description != "collection" { return [] }
        guard let channel = context.partnerChannelCode else {
            throw PostingError("the sending partner has no channel_code to name its clearing account")
        }
        let currency = try self.currency(value, context)
        let amount = try minor("amount", value)
        let fee = try optionalMinor("fee", value) ?? 0
        let settled = try optionalMinor("settled", value) ?? (amount - fee)
        guard settled + fee == amount else {
            throw PostingError("settled \(DecimalAmount(units: settled, scale: 2)) + fee \(DecimalAmount(units: fee, scale: 2)) is not the amount \(DecimalAmount(units: amount, scale: 2))", field: "settled")
        }
        return [try EntryDraft(.channelSettlement, [
            Posting(Account.bankSettlement, settled, currency),
            Posting(Account.channelFees, fee, currency),
            Posting(Account.channelClearing(channel), -amount, currency),
        ])]
    }

    // MARK: Values

    private static func text(_ name: String, _ value: (String) -> FieldValue?) throws(PostingError) -> String {
        guard let found = value(name), !found.isEmpty else { throw PostingError("a value is needed to post", field: name) }
        return found.description
    }

    private static func currency(_ value: (String) -> FieldValue?, _ context: PostingContext) throws(PostingError) -> String {
        guard let found = value("currency"), !found.isEmpty else { return context.currency }
        return found.description
    }

    /// A money field in minor units (cents, fen): scale 2, or more decimals that are zeros.
    private static func minor(_ name: String, _ value: (String) -> FieldValue?) throws(PostingError) -> Int64 {
        guard let amount = try optionalMinor(name, value) else { throw PostingError("a value is needed to post", field: name) }
        return amount
    }

    private static func optionalMinor(_ name: String, _ value: (String) -> FieldValue?) throws(PostingError) -> Int64? {
        guard let found = value(name) else { return nil }
        switch found {
        case .empty: return nil
        case .integer(let n): return n.multipliedReportingOverflow(by: 100).overflow ? nil : n * 100
        case .decimal(let d):
            if d.scale <= 2 { return d.rescaled(to: 2)?.units }
            var units = d.units
            for _ in 2..<d.scale {
                guard units % 10 == 0 else { throw PostingError("\(d) has more than two decimals; money posts in minor units", field: name) }
                units /= 10
            }
            return units
        default:
            throw PostingError("'\(found)' is not an amount", field: name)
        }
    }

    /// principal × rate, rounded half-up to minor units; nil on overflow.
    public static func share(_ principal: Int64, _ rate: DecimalAmount) -> Int64? {
        guard principal >= 0, rate.units >= 0 else { return nil }
        let product = principal.multipliedFullWidth(by: rate.units)
        var divisor: Int64 = 1
        for _ in 0..<rate.scale { divisor *= 10 }
        let half = UInt64(divisor / 2)
        let (low, carry) = product.low.addingReportingOverflow(half)
        let high = product.high + (carry ? 1 : 0)
        guard high < divisor else { return nil }
        if divisor == 1 {
            let (result, overflow) = principal.multipliedReportingOverflow(by: rate.units)
            return overflow ? nil : result
        }
        return divisor.dividingFullWidth((high, low)).quotient
    }
}
