/// Dates written without their year (`MMdd`, an MT940 entry date) take it from another
/// date field of the same record (`year_from: value_date`): of the reference date's year,
/// the year before and the year after, the one that puts the day nearest the reference
/// date. So entry date 1231 with value date 2024-01-02 is 2023-12-31, and 0102 with
/// 2023-12-31 is 2024-01-02. A day more than half a year (183 days) from the reference in
/// every year (0229 far from a leap year) is refused.
enum YearFrom {
    static let maximumDistanceDays = 183

    /// The day `month`-`day` nearest `reference`, or nil when none lies within half a year.
    static func resolve(month: Int, day: Int, near reference: CivilDate) -> CivilDate? {
        var best: CivilDate?
        var bestDistance = Int.max
        for year in (reference.year - 1)...(reference.year + 1) {
            guard let candidate = CivilDate(year: year, month: month, day: day) else { continue }
            let distance = abs(reference.days(to: candidate))
            if distance < bestDistance {
                best = candidate
                bestDistance = distance
            }
        }
        return bestDistance <= maximumDistanceDays ? best : nil
    }

    /// Gives each year-less date of the record its year, once every field is in. A date
    /// whose reference has no value is a problem (unless the reference's own problem is
    /// already reported).
    static func apply(_ kind: RecordKind, slots: UnsafeMutablePointer<Slot>, problems: inout [FieldProblem]) {
        for source in kind.yearSources {
            guard case .date(let partial) = slots[source.field] else { continue }
            let field = kind.fields[source.field].name
            let reference = kind.fields[source.reference].name
            let monthDay = pad(partial.month) + "-" + pad(partial.day)
            guard case .date(let around) = slots[source.reference] else {
                if !problems.contains(where: { $0.field == reference }) {
                    problems.append(FieldProblem(field: field, rawValue: monthDay,
                                                 reason: "takes its year from field '\(reference)', which has no value"))
                }
                slots[source.field] = .empty
                continue
            }
            if let resolved = resolve(month: partial.month, day: partial.day, near: around) {
                slots[source.field] = .date(resolved)
            } else {
                problems.append(FieldProblem(field: field, rawValue: monthDay,
                                             reason: "is not within half a year of \(reference) \(around) in any year"))
                slots[source.field] = .empty
            }
        }
    }

    private static func pad(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
}
