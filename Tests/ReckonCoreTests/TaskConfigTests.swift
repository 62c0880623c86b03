import Foundation
import ReckonCore
import Testing

/// reckon.yaml's `tasks:` (seed 000 §15 1): identifiers, names, schedules, methods and their
/// parameters, each refused with the key and why.
@Suite("Task configuration")
struct TaskConfigTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
    static var shipped: String { (try? String(contentsOfFile: root + "/reckon.yaml", encoding: .utf8)) ?? "" }

    static func load(_ yaml: String) throws(SpecError) -> ReckonConfig {
        try ConfigLoader.load(yaml: yaml, origin: root + "/reckon.yaml")
    }

    /// The shipped configuration with its `tasks:` replaced.
    static func error(tasks: String, calendar: Bool = true) -> String? {
        var yaml = String(shipped[..<shipped.range(of: "\ntasks:\n")!.lowerBound]) + "\ntasks:\n" + tasks
        if !calendar {
            // The partners' expected files need the calendar too: they go with it.
            yaml = yaml.replacingOccurrences(of: "calendar: data/calendar-cn.yaml\n", with: "")
                .split(separator: "\n", omittingEmptySubsequences: false).filter { !$0.hasPrefix("        expected: ") }.joined(separator: "\n")
        }
        do {
            _ = try load(yaml)
            return nil
        } catch {
            return "\(error.keyPath): \(error.message)"
        }
    }

    @Test func theShippedTasksAreTheSeedsThatApply() throws {
        let config = try Self.load(Self.shipped)
        #expect(config.tasks.map { "\($0.id): \($0.method.rawValue) \($0.schedule)" } == [
            "daily_settlement: settle_day 30 6 * * * on working-days",
            "calendar_next_year: calendar_next_year 0 9 * 11,12 *",
            "lpr_reminder: lpr_reminder 0 10 * * * on working-day-on-or-after 20",
            "balance_check: balance_check */5 * * * *",
            "missing_plans: missing_plan_check 0 10 * * *",
            "pull_bills: pull_bills 15 7-10 * * *",
            "verify_bills: verify_bills 0 11 * * * on working-days",
        ])
        #expect(Set(config.tasks.map(\.method)) == Set(TaskMethod.allCases))
        #expect(config.tasks.first { $0.id == "pull_bills" }?.parameters.map { "\($0.name)=\($0.value)" } == ["partner=channel", "days_back=1"])
        #expect(config.tasks.map(\.daysBack) == [1, 0, 0, 0, 0, 1, 1])
    }

    @Test func badTasksAreRefusedWithTheKeyAndWhy() {
        let good = """
              balance_check:
                name: balance warning
                schedule: "*/5 * * * *"
                method: balance_check
            """
        #expect(Self.error(tasks: good) == nil)
        #expect(Self.error(tasks: good.replacingOccurrences(of: "balance_check:\n", with: "balance-check:\n"))
                == "tasks.balance-check: a task's identifier is letters and underscores, at most 50: 'balance-check' is not")
        #expect(Self.error(tasks: good.replacingOccurrences(of: "  balance_check:\n", with: "  \(String(repeating: "a", count: 51)):\n"))?
            .hasSuffix("a task's identifier is letters and underscores, at most 50: '\(String(repeating: "a", count: 51))' is not") == true)
        #expect(Self.error(tasks: good.replacingOccurrences(of: "name: balance warning", with: "name: \(String(repeating: "名", count: 51))"))
                == "tasks.balance_check.name: a task's name is 1 to 50 characters; this has 51")
        #expect(Self.error(tasks: good + "\n" + good.replacingOccurrences(of: "  balance_check:", with: "  other_check:"))
                == "tasks.other_check.name: the name 'balance warning' is task balance_check's already: names are unique")
        #expect(Self.error(tasks: good.replacingOccurrences(of: "method: balance_check", with: "method: settle"))
                == "tasks.balance_check.method: 'settle' is not a task method; the methods are settle_day, calendar_next_year, "
                + "lpr_reminder, balance_check, missing_plan_check, pull_bills, verify_bills")
        #expect(Self.error(tasks: good.replacingOccurrences(of: "\"*/5 * * * *\"", with: "\"*/5 * * * 9\""))
                == "tasks.balance_check.schedule: schedule '*/5 * * * 9': day of week: 9 is out of range 0-7")
        #expect(Self.error(tasks: good.replacingOccurrences(of: "\"*/5 * * * *\"", with: "{cron: \"0 9 * * *\", days: workdays}"))?
            .hasPrefix("tasks.balance_check.schedule.days: schedule '0 9 * * *': days: 'workdays' is not a choice") == true)
        #expect(Self.error(tasks: good.replacingOccurrences(of: "\"*/5 * * * *\"", with: "{cron: \"0 9 * * *\", days: working-days}"), calendar: false)
                == "tasks.balance_check.schedule.days: working-days needs the working-day calendar, but reckon.yaml names none (calendar: data/calendar-cn.yaml)")
        #expect(Self.error(tasks: good + "\n    parameters: {partner: bank}")?
            .contains("unknown key 'partner'") == true)
        #expect(Self.error(tasks: good.replacingOccurrences(of: "method: balance_check", with: "method: pull_bills\n    parameters: {partner: nobody}"))
                == "tasks.balance_check.parameters.partner: no partner 'nobody'; the configuration has platform, bank, channel, core")
        #expect(Self.error(tasks: good.replacingOccurrences(of: "method: balance_check", with: "method: verify_bills\n    parameters: {days_back: -1}"))
                == "tasks.balance_check.parameters.days_back: '-1' is not a number of days 0-366")
        #expect(Self.error(tasks: good + "\n    parameters: {warning_line: \"5,000.001\"}")?
            .hasPrefix("tasks.balance_check.parameters.warning_line: '5,000.001' is not a decimal number") == true)
    }
}
