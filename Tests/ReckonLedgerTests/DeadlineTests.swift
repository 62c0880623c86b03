import Foundation
import ReckonCore
import ReckonFiles
@testable import ReckonLedger
import Testing

/// Expected files' deadlines against an injected clock, to the minute, on working and
/// non-working days of the China calendar (issue 12 item 3): a file not received by its
/// deadline raises `file_late` naming partner, type and day; the day's status shows it; its
/// later arrival clears the alert and the run that takes it processes it.
@Suite("Deadlines of expected files", .serialized)
struct DeadlineTests {
    /// The bank's settlements on working days from Friday 2024-12-13, by 08:30; the
    /// platform's repayments every day from 2024-12-15, by 06:00 the day after.
    func folder() throws -> DayFolder {
        try DayFolder(readiness: PlanStepTests.allReady) { yaml in
            yaml.replacingOccurrences(of: "      settlements:\n", with: "      settlements:\n"
                                      + "        expected: {days: working-days, from: 2024-12-13, by: \"08:30\"}\n")
                .replacingOccurrences(of: "      repayments:\n", with: "      repayments:\n"
                                      + "        expected: {days: every-day, from: 2024-12-15, by: \"next-day 06:00\"}\n")
        }
    }

    /// A Shanghai wall-clock time (UTC+8) as an instant, worked out here independently.
    func shanghai(_ text: String) -> Date { ISO8601DateFormatter().date(from: text + ":00+08:00")! }

    func late(_ ledger: Ledger, _ folder: DayFolder, at time: String) throws -> [String] {
        try ledger.checkDeadlines(config: folder.config, reference: try ReferenceData.load(folder.config), now: shanghai(time))
            .map(\.slot)
    }

    @Test func aFileIsLateFromItsDeadlineToTheMinuteOnWorkingDaysOnly() throws {
        let folder = try folder()
        let ledger = try folder.ledger()
        // Friday 2024-12-13, a working day: on time until 08:29, late at 08:30.
        #expect(try late(ledger, folder, at: "2024-12-13T08:29").isEmpty)
        let reference = try ReferenceData.load(folder.config)
        let found = try ledger.checkDeadlines(config: folder.config, reference: reference, now: shanghai("2024-12-13T08:30"))
        #expect(found.map(\.description) == [
            "bank/settlements 2024-12-13: BANK_SETTLE_20241213.txt was expected by 2024-12-13 08:30 Asia/Shanghai and has not come complete",
        ])
        #expect(found.map(\.isNew) == [true])
        let alert = try #require(try ledger.alerts().first { $0.kind == "file_late" })
        #expect(alert.subject == "bank/settlements/2024-12-13" && alert.businessDate == "2024-12-13" && alert.severity == .warning)
        #expect(alert.message == found[0].description)
        // Checked again, it is still late, and raised once.
        #expect(try ledger.checkDeadlines(config: folder.config, reference: reference, now: shanghai("2024-12-13T09:00")).map(\.isNew) == [false])
        #expect(try ledger.alerts().filter { $0.kind == "file_late" }.count == 1)

        // The weekend (Saturday 14th and Sunday 15th are not working days) expects no
        // settlement; the platform's Sunday repayments are due by 06:00 on Monday.
        #expect(try late(ledger, folder, at: "2024-12-16T05:59") == ["bank/settlements/2024-12-13"])
        #expect(try late(ledger, folder, at: "2024-12-16T06:00") == ["bank/settlements/2024-12-13", "platform/repayments/2024-12-15"])
        #expect(try late(ledger, folder, at: "2024-12-16T08:30") == ["bank/settlements/2024-12-13", "platform/repayments/2024-12-15",
                                                                      "bank/settlements/2024-12-16"])

        // The day's status says so.
        let day = try ledger.dayFiles(CivilDate(year: 2024, month: 12, day: 16)!, config: folder.config, calendar: reference.calendar)
        #expect(day.late.map(\.description) == [
            "bank/settlements 2024-12-16: BANK_SETTLE_20241216.txt was expected by 2024-12-16 08:30 Asia/Shanghai and has not come complete",
        ])
    }

    @Test func aMakeUpWorkingDayExpectsTheFileAndAHolidayDoesNot() throws {
        let folder = try DayFolder(readiness: PlanStepTests.allReady) { yaml in
            yaml.replacingOccurrences(of: "      settlements:\n", with: "      settlements:\n"
                                      + "        expected: {days: working-days, from: 2025-01-20, by: \"08:30\"}\n")
        }
        let ledger = try folder.ledger()
        // Sunday 2025-01-26 is a make-up working day (调休上班); 2025-01-28 to 02-04 are the
        // Spring Festival holiday; Saturday 2025-01-25 is a weekend day.
        let late = try late(ledger, folder, at: "2025-01-29T12:00").filter { $0 >= "bank/settlements/2025-01-25" }
        #expect(late == ["bank/settlements/2025-01-26", "bank/settlements/2025-01-27"])
    }

    @Test func theLateFilesArrivalClearsTheAlertAndTheRunProcessesIt() throws {
        let folder = try folder()
        let ledger = try folder.ledger()
        let sunday = CivilDate(year: 2024, month: 12, day: 15)!
        // Monday 06:00: Sunday's repayments file is late (it is in the drop, not taken in).
        #expect(try late(ledger, folder, at: "2024-12-16T06:00").contains("platform/repayments/2024-12-15"))
        var options = BatchOptions(date: sunday, steps: [.collect, .ingest], partner: "platform")
        let clock = shanghai("2024-12-16T07:00")
        options.now = { clock }
        let report = try Batch.run(options, config: folder.config, ledger: ledger)
        #expect(report.ingested.map { "\($0.outcome) \(($0.file as NSString).lastPathComponent)" } == ["posted PLAT_REPAY_20241215.csv"])
        // It came: its alert is cleared as of its day, and the run counts no file of its day late.
        #expect(!report.lateFiles.contains { $0.date == sunday })
        let alert = try #require(try ledger.alerts().first { $0.subject == "platform/repayments/2024-12-15" })
        #expect(alert.kind == "file_late" && alert.clearedOn == "2024-12-15")
        #expect(report.outcome == .succeeded)
        #expect(try ledger.dayFiles(sunday, config: folder.config, calendar: nil).late.isEmpty)

        // A run of a day whose file is late is incomplete, and says which.
        var monday = BatchOptions(date: CivilDate(year: 2024, month: 12, day: 16)!, steps: [.collect, .ingest], partner: "bank")
        let later = shanghai("2024-12-16T09:00")
        monday.now = { later }
        let mondayRun = try Batch.run(monday, config: folder.config, ledger: ledger)
        #expect(mondayRun.lateFiles.map(\.slot) == ["bank/settlements/2024-12-13", "bank/settlements/2024-12-16"])
        #expect(mondayRun.outcome == .incomplete)
        #expect(Batch.summary(mondayRun).contains("; 2 files late: bank/settlements/2024-12-13, bank/settlements/2024-12-16"))
    }
}
