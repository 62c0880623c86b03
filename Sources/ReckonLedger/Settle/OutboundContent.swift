import GRDB
import ReckonCore

/// One outbound file's details, streamed from the ledger in file order: each is a record of
/// the spec's detail kind (``OutboundFileKind/detailKind``) by field name. Rows come through a
/// cursor, one at a time, so memory stays flat whatever the day's size. The order depends
/// only on what the ledger holds (files by name, records by line, breaks by number), never
/// on row ids or the clock: settling a day again writes the same bytes.
protocol OutboundContent {
    func records(_ db: Database, emit: ([String: FieldValue]) throws -> Void) throws
}

extension OutboundFileKind {
    /// What this kind of file carries for `partner` on `date`.
    func content(partner: PartnerConfig, date: CivilDate, config: ReckonConfig) -> any OutboundContent {
        switch self {
        case .settlement: return SettlementContent(date: date, postingSlots: PostingSlots.of(config))
        case .plans: return PlanContent(date: date)
        case .results: return ResultContent(partner: partner, date: date, config: config)
        case .alerts: return AlertContent(date: date)
        }
    }
}

/// The `partner/file type` slots whose files post (ours), as SQL can test them.
enum PostingSlots {
    static func of(_ config: ReckonConfig) -> [String] {
        config.partners.flatMap { partner in partner.files.filter(\.posts).map { "\(partner.id)/\($0.id)" } }.sorted()
    }

    /// `(?, ?)` for an `IN`, never empty (`('')` when nothing posts).
    static func placeholders(_ slots: [String]) -> String {
        "(" + (slots.isEmpty ? "''" : slots.map { _ in "?" }.joined(separator: ", ")) + ")"
    }
}

/// Values for a record, typed as the specs declare them.
enum OutboundValue {
    static func money(_ minor: Int64?) -> FieldValue {
        minor.map { .decimal(DecimalAmount(units: $0, scale: 2)) } ?? .empty
    }

    static func date(_ text: String?) -> FieldValue {
        text.flatMap { CivilDate(iso: String($0.prefix(10))) }.map(FieldValue.date) ?? .empty
    }

    static func text(_ text: String?) -> FieldValue {
        guard let text, !text.isEmpty else { return .empty }
        return .text(text)
    }

    static func integer(_ value: Int64?) -> FieldValue {
        value.map(FieldValue.integer) ?? .empty
    }
}
