/// The events reckon's ledger understands. A record kind with `event:` becomes one of these;
/// the spec loader checks that the kind has every field the event needs, with a fitting
/// type, under the canonical name.
public enum CanonicalEvent: String, Sendable, CaseIterable {
    case loanDisbursed = "loan_disbursed"
    case repayment = "repayment"
    case planLine = "plan_line"
    case channelBillLine = "channel_bill_line"
    case bankStatementLine = "bank_statement_line"
    case balance = "balance"
    case baseRate = "base_rate"
    /// An institution (bank branch, organisation) from the core system's reference file.
    case institution = "institution"
    /// One loan as the core system's loan ledger (贷款台账) has it on a day.
    case loanSnapshot = "loan_snapshot"

    public enum Kind: Sendable { case text, integer, amount, day }

    /// Fields every record of this event must carry, by canonical name; `a|b` accepts either
    /// name (a day, or the moment within it).
    public var requiredFields: [(name: String, kind: Kind)] {
        switch self {
        case .loanDisbursed:
            return [("loan_id", .text), ("product", .text), ("principal", .amount),
                    ("term", .integer), ("disbursed_on|disbursed_at", .day)]
        case .repayment:
            return [("loan_id", .text), ("period", .integer), ("paid_on|paid_at", .day),
                    ("principal", .amount), ("interest", .amount), ("penalty", .amount), ("fee", .amount)]
        case .planLine:
            return [("loan_id", .text), ("period", .integer), ("due_on", .day),
                    ("principal", .amount), ("interest", .amount)]
        case .channelBillLine:
            return [("reference", .text), ("amount", .amount), ("occurred_at|occurred_on", .day)]
        case .bankStatementLine:
            return [("account", .text), ("amount", .amount), ("booked_on|booked_at", .day)]
        case .balance:
            return [("account", .text), ("amount|closing_balance", .amount), ("as_of|closing_on", .day)]
        case .baseRate:
            return [("tenor", .text), ("rate", .amount), ("published_on", .day)]
        case .institution:
            return [("code", .text), ("name", .text)]
        case .loanSnapshot:
            return [("loan_id", .text), ("as_of", .day), ("outstanding_principal", .amount)]
        }
    }

    func accepts(_ type: FieldType, as kind: Kind) -> Bool {
        switch (kind, type) {
        case (.text, .string), (.integer, .integer), (.amount, .decimal),
             (.day, .date), (.day, .dateTime):
            return true
        default:
            return false
        }
    }
}
