import Foundation
import ReckonCore
import Testing

/// `expected:` per file type in reckon.yaml (issue 9, item 17).
@Suite("Expected files in the configuration")
struct ExpectedFilesConfigTests {
    func config(_ expected: String, calendar: Bool = true) throws -> ReckonConfig {
        try ConfigLoader.load(yaml: """
            partners:
              platform:
                role: platform
                files:
                  repayments:
                    spec: mappings/platform-repayments.yaml
                    name: "PLAT_REPAY_{yyyyMMdd}.csv"
            \(expected.isEmpty ? "" : "        expected: " + expected)
            \(calendar ? "calendar: data/calendar-cn.yaml" : "")
            """, origin: "/srv/reckon/reckon.yaml")
    }

    func problem(_ expected: String, calendar: Bool = true) -> String? {
        do {
            _ = try config(expected, calendar: calendar)
            return nil
        } catch {
            return "\(error)"
        }
    }

    func expected(_ text: String) throws -> ExpectedFiles {
        try #require(try config(text).partner("platform")?.fileType("repayments")).expected
    }

    @Test func eachFileTypeSaysOnWhichDaysItIsExpected() throws {
        #expect(try expected("") == .onDemand)
        #expect(try expected("on-demand") == .onDemand)
        #expect(try expected("every-day") == ExpectedFiles(days: .everyDay))
        #expect(try expected("working-days") == ExpectedFiles(days: .workingDays))
        #expect(try expected("{days: every-day, from: 2024-12-16}") == ExpectedFiles(days: .everyDay, from: CivilDate(year: 2024, month: 12, day: 16)))
        #expect(try expected("{days: working-days, from: 2024-12-16}").description == "on working days from 2024-12-16")
    }

    @Test func whichDaysAFileIsExpectedOn() {
        let saturday = CivilDate(year: 2024, month: 12, day: 21)!, monday = CivilDate(year: 2024, month: 12, day: 16)!
        let sunday = CivilDate(year: 2024, month: 12, day: 15)!
        let weekdays = { (day: CivilDate) in day.isoWeekday <= 5 }
        #expect(ExpectedFiles(days: .everyDay).isExpected(on: saturday, isWorkingDay: weekdays))
        #expect(!ExpectedFiles(days: .workingDays).isExpected(on: saturday, isWorkingDay: weekdays))
        #expect(ExpectedFiles(days: .workingDays).isExpected(on: monday, isWorkingDay: weekdays))
        #expect(!ExpectedFiles.onDemand.isExpected(on: monday, isWorkingDay: weekdays))
        // Not before the day it is first expected.
        let fromMonday = ExpectedFiles(days: .everyDay, from: monday)
        #expect(!fromMonday.isExpected(on: sunday, isWorkingDay: weekdays))
        #expect(fromMonday.isExpected(on: monday, isWorkingDay: weekdays))
    }

    @Test func aWrongSettingIsRefusedAtLoadNamingItsKey() {
        #expect(problem("daily") == "/srv/reckon/reckon.yaml:8: partners.platform.files.repayments.expected: "
                + "'daily' is not a choice: expected every-day, working-days, on-demand")
        #expect(problem("{days: every-day, from: 2024-13-01}") == "/srv/reckon/reckon.yaml:8: partners.platform.files.repayments.expected.from: "
                + "'2024-13-01' is not a date like 2024-12-16")
        #expect(problem("{days: every-day, since: 2024-12-01}") == "/srv/reckon/reckon.yaml:8: partners.platform.files.repayments.expected.since: "
                + "unknown key 'since'; allowed here: days, from, by")
        #expect(problem("{from: 2024-12-01}") == "/srv/reckon/reckon.yaml:8: partners.platform.files.repayments.expected: "
                + "'days' is required here")
        #expect(problem("working-days", calendar: false) == "/srv/reckon/reckon.yaml:8: partners.platform.files.repayments.expected: "
                + "working-days needs the working-day calendar, but reckon.yaml names none (calendar: data/calendar-cn.yaml)")
        #expect(problem("[every-day]") == "/srv/reckon/reckon.yaml:8: partners.platform.files.repayments.expected: "
                + "expected a mapping of keys to values, found a list")
    }

    @Test func theShippedSamplePartnersSayWhatTheyExpect() throws {
        let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().path
        let config = try ConfigLoader.load(yaml: try String(contentsOfFile: repositoryRoot + "/reckon.yaml", encoding: .utf8),
                                           origin: repositoryRoot + "/reckon.yaml")
        let rules = config.partners.flatMap { partner in partner.files.map { "\(partner.id)/\($0.id): \($0.expected.description)" } }
        #expect(rules == [
            "platform/loans: every day from 2024-12-16", "platform/repayments: every day from 2024-12-16",
            "bank/plans: every day from 2024-12-16", "bank/settlements: on working days from 2024-12-16",
            "bank/statements: on working days from 2024-12-16", "channel/bills: every day from 2024-12-16",
            "core/institutions: on demand", "core/base_rates: on demand", "core/loan_ledger: on working days from 2024-12-16",
        ])
    }
}
