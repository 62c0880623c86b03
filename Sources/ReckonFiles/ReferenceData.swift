import Foundation
import ReckonCore

/// The reference data plans are made with: the working-day calendar and the base-rate
/// history, from the files reckon.yaml names. Both are read whole at start-up; they are
/// small (a few hundred lines).
public struct ReferenceData: Sendable {
    public let calendar: BusinessCalendar?
    public var baseRates: BaseRateTable

    public init(calendar: BusinessCalendar?, baseRates: BaseRateTable) {
        self.calendar = calendar
        self.baseRates = baseRates
    }

    /// Reads the calendar and the base-rate history; an unreadable or invalid file is an
    /// error that names it.
    public static func load(_ config: ReckonConfig) throws -> ReferenceData {
        var calendar: BusinessCalendar?
        if let path = config.calendarPath {
            let text: String
            do {
                text = try String(contentsOfFile: path, encoding: .utf8)
            } catch {
                throw FileAccessError(path: path, reason: "cannot be read (the working-day calendar reckon.yaml names)")
            }
            calendar = try BusinessCalendar.load(yaml: text, origin: path)
        }
        var table = BaseRateTable()
        if let history = config.baseRateHistoryPath, let specPath = config.baseRateSpecPath {
            let spec = try SpecFile.load(specPath)
            var fixings: [BaseRateTable.Fixing] = []
            let report = PartnerFile.check(history, spec: spec) { record in
                if let fixing = fixing(from: record, spec: spec) { fixings.append(fixing) }
            }
            guard report.isClean else {
                let why = report.failure?.description ?? report.problems.first.map { "\($0)" } ?? "a control total fails"
                throw FileAccessError(path: history, reason: "is not a clean base-rate history: \(why)")
            }
            for fixing in fixings { table.add(fixing) }
        }
        return ReferenceData(calendar: calendar, baseRates: table)
    }

    /// A base-rate record's fixing: its tenor, publication day and rate in percent.
    static func fixing(from record: RecordView, spec: MappingSpec) -> BaseRateTable.Fixing? {
        guard spec.kinds[record.kindIndex].event == .baseRate,
              case .text(let tenor)? = record.value(named: "tenor"),
              case .decimal(let rate)? = record.value(named: "rate"),
              case .date(let published)? = record.value(named: "published_on") else { return nil }
        return BaseRateTable.Fixing(tenor: tenor, publishedOn: published, percent: rate.decimal)
    }
}
