/// Working days: Monday to Friday unless listed as off, plus make-up working days (调休上班)
/// whatever their weekday. The lists come from a data file an operator updates each year
/// (China's State Council notice comes out in November); outside the years the file covers,
/// only the weekday rule applies.
public struct BusinessCalendar: Sendable {
    public let name: String
    /// The years the file lists holidays for.
    public let years: Set<Int>
    private let offDays: Set<Int>
    private let workDays: Set<Int>

    public init(name: String, years: Set<Int>, offDays: [CivilDate], workDays: [CivilDate]) {
        self.name = name
        self.years = years
        self.offDays = Set(offDays.map(\.dayNumber))
        self.workDays = Set(workDays.map(\.dayNumber))
    }

    public func covers(_ day: CivilDate) -> Bool { years.contains(day.year) }

    public func isWorkingDay(_ day: CivilDate) -> Bool {
        let number = day.dayNumber
        if workDays.contains(number) { return true }
        if offDays.contains(number) { return false }
        return day.isoWeekday <= 5
    }

    /// `day` itself when it is a working day, else the next one.
    public func workingDay(onOrAfter day: CivilDate) -> CivilDate {
        var candidate = day
        // Bounded: no holiday run in any calendar is a month long.
        for _ in 0..<31 where !isWorkingDay(candidate) {
            candidate = candidate.adding(days: 1)!
        }
        return candidate
    }

    /// The first working day after `day`.
    public func workingDay(after day: CivilDate) -> CivilDate { workingDay(onOrAfter: day.adding(days: 1)!) }

    /// Loads a calendar file:
    ///
    /// ```yaml
    /// name: CN
    /// years:
    ///   2025:
    ///     off: ["01-01", "01-28..02-04"]
    ///     work: ["01-26", "02-08"]
    /// ```
    public static func load(yaml: String, origin: String) throws(SpecError) -> BusinessCalendar {
        let root = try SpecNode.root(yaml: yaml, origin: origin, what: "the calendar")
        let top = try root.mapping(allowed: ["name", "source", "years"])
        var years = Set<Int>(), off: [CivilDate] = [], work: [CivilDate] = []
        for (yearText, node) in try top.required("years").entries() {
            guard let year = Int(yearText), (1900...2999).contains(year) else {
                throw node.error("'\(yearText)' is not a year")
            }
            years.insert(year)
            let map = try node.mapping(allowed: ["off", "work"])
            for item in try map["off"]?.items() ?? [] {
                off += try days(item, year: year)
            }
            for item in try map["work"]?.items() ?? [] {
                let listed = try days(item, year: year)
                if let weekday = listed.first(where: { $0.isoWeekday <= 5 }) {
                    throw item.error("\(weekday) is a weekday; make-up working days are weekend days")
                }
                work += listed
            }
        }
        return BusinessCalendar(name: try top["name"]?.string() ?? origin, years: years, offDays: off, workDays: work)
    }

    /// `MM-dd` or an inclusive range `MM-dd..MM-dd` within `year`.
    private static func days(_ node: SpecNode, year: Int) throws(SpecError) -> [CivilDate] {
        let text = try node.string()
        func day(_ part: Substring) -> CivilDate? {
            let pieces = part.split(separator: "-")
            guard pieces.count == 2, pieces[0].count == 2, pieces[1].count == 2,
                  let month = Int(pieces[0]), let day = Int(pieces[1]) else { return nil }
            return CivilDate(year: year, month: month, day: day)
        }
        let ends = text.components(separatedBy: "..")
        guard (1...2).contains(ends.count), let first = day(Substring(ends[0])), let last = day(Substring(ends[ends.count - 1])),
              first <= last else {
            throw node.error("'\(text)' is not a day (MM-dd) or a range (MM-dd..MM-dd) in \(year)")
        }
        return (0...first.days(to: last)).map { first.adding(days: $0)! }
    }
}
