import Foundation

/// Published base rates (the Loan Prime Rate) by tenor. A rate published on day P takes
/// effect on P + 1: a contract dated on the publication day still prices off the previous
/// fixing (SCHEDULES.md §G).
public struct BaseRateTable: Sendable {
    public struct Fixing: Sendable, Hashable {
        public let tenor: String
        public let publishedOn: CivilDate
        /// In percent: 3.10 is 3.10% a year.
        public let percent: Decimal

        public init(tenor: String, publishedOn: CivilDate, percent: Decimal) {
            self.tenor = tenor
            self.publishedOn = publishedOn
            self.percent = percent
        }

        /// The first day the fixing applies to.
        public var effectiveOn: CivilDate { publishedOn.adding(days: 1)! }
    }

    /// By tenor, oldest first.
    private var byTenor: [String: [Fixing]] = [:]

    public init(_ fixings: [Fixing] = []) {
        for fixing in fixings { add(fixing) }
    }

    /// Adds a fixing; a later one for the same tenor and day replaces the earlier (a
    /// corrected base-rate file wins over the shipped history).
    public mutating func add(_ fixing: Fixing) {
        var list = byTenor[fixing.tenor, default: []]
        if let same = list.firstIndex(where: { $0.publishedOn == fixing.publishedOn }) {
            list[same] = fixing
        } else {
            let at = list.firstIndex { $0.publishedOn > fixing.publishedOn } ?? list.endIndex
            list.insert(fixing, at: at)
        }
        byTenor[fixing.tenor] = list
    }

    public var tenors: [String] { byTenor.keys.sorted() }
    /// Every fixing, by tenor then publication day.
    public var fixings: [Fixing] { tenors.flatMap { byTenor[$0] ?? [] } }
    public var isEmpty: Bool { byTenor.isEmpty }

    /// The fixing in effect on `day`: the latest published before it.
    public func rate(tenor: String, on day: CivilDate) -> Fixing? {
        byTenor[tenor]?.last { $0.publishedOn < day }
    }

    /// The days after `start` and up to `end` (inclusive) on which a new rate of the tenor
    /// takes effect, with a value different from the one before.
    public func changes(tenor: String, after start: CivilDate, through end: CivilDate) -> [CivilDate] {
        guard let list = byTenor[tenor] else { return [] }
        var result: [CivilDate] = []
        var previous = rate(tenor: tenor, on: start)?.percent
        for fixing in list where fixing.effectiveOn > start && fixing.effectiveOn <= end {
            if fixing.percent != previous { result.append(fixing.effectiveOn) }
            previous = fixing.percent
        }
        return result
    }
}
