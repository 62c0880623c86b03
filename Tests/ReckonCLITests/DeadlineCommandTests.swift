import Foundation
import Testing

/// A late file end to end on the built binary (issue 12 item 3): `reckon batch` checks the
/// deadlines at its end against the wall clock; the late file is in the run's log and in the
/// day's status (text and JSON); when it comes, the next run posts it and clears its alert.
@Suite("Late files", .serialized)
struct DeadlineCommandTests {
    /// Two days ago in Shanghai: its 00:00 deadline has passed whenever the test runs, and it
    /// lies within the days the batch looks back over.
    static let day: String = {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "Asia/Shanghai")!
        let date = calendar.date(byAdding: .day, value: -2, to: Date())!
        let parts = calendar.dateComponents([.year, .month, .day], from: date)
        return String(format: "%04d-%02d-%02d", parts.year!, parts.month!, parts.day!)
    }()

    @Test func aLateFileIsSaidByTheRunAndTheStatusAndItsArrivalClearsIt() throws {
        let inputs = ScratchFolder()
        let generated = try reckon("demo", "--date", Self.day, "--loans", "3", "--into", inputs.path, "--mappings", repositoryRoot + "/mappings")
        try #require(generated.status == 0, "\(generated.stderr)")
        let compact = Self.day.replacingOccurrences(of: "-", with: "")
        let loans = inputs.path + "/platform/PLAT_LOAN_\(compact).csv", held = inputs.path + "/PLAT_LOAN_\(compact).csv.held"
        try FileManager.default.removeItem(atPath: inputs.path + "/platform/PLAT_REPAY_\(compact).csv")
        try FileManager.default.moveItem(atPath: loans, toPath: held)
        let folder = try workspace(inputs.path)
        let config = folder.path + "/reckon.yaml"
        var yaml = try String(contentsOfFile: config, encoding: .utf8)
        yaml = yaml.replacingOccurrences(of: "      loans:\n", with: "      loans:\n        expected: {days: every-day, from: \(Self.day), by: \"00:00\"}\n")
        try yaml.write(toFile: config, atomically: true, encoding: .utf8)

        let late = "platform/loans \(Self.day): PLAT_LOAN_\(compact).csv was expected by \(Self.day) 00:00 Asia/Shanghai and has not come complete"
        let run = try reckon(["batch", "--date", Self.day, "--steps", "collect,ingest", "--partner", "platform", "--config", config])
        #expect(run.status == 3, "\(run.stdout)\(run.stderr)")
        #expect(run.stdout.contains("\n⏰ late: \(late)\n"), "\(run.stdout)")
        // The days after it are late too (every day from it, by 00:00): the summary names them all.
        #expect(run.stdout.split(separator: "\n").last?.contains(" files late: platform/loans/\(Self.day), ") == true, "\(run.stdout)")
        let status = try reckon(["status", "--date", Self.day, "--config", config])
        // (Status wraps at 120 columns.)
        #expect(status.stdout.contains("\n  ⏰ late: \(late.prefix(100))"), "\(status.stdout)")
        #expect(status.stdout.contains("day \(Self.day): 1 expected file missing, 1 late"), "\(status.stdout)")
        let days = try #require(try jsonObject(try reckon(["status", "--date", Self.day, "--json", "--config", config]).stdout)["days"] as? [[String: Any]])
        let shown = try #require((days.first?["late"] as? [[String: Any]])?.first)
        #expect(shown["partner"] as? String == "platform" && shown["file_type"] as? String == "loans"
                && shown["deadline"] as? String == "\(Self.day) 00:00 Asia/Shanghai")
        let alerts = try reckon(["alerts", "list", "--code", "file_late", "--json", "--config", config])
        #expect(alerts.stdout.contains("\"subject\":\"platform/loans/\(Self.day)\""), "\(alerts.stdout)")

        // The file comes: the next run posts it and clears the alert; the day is no longer late.
        try FileManager.default.moveItem(atPath: held, toPath: loans)
        let after = try reckon(["batch", "--date", Self.day, "--steps", "collect,ingest", "--partner", "platform", "--config", config])
        #expect(after.status == 0, "\(after.stdout)\(after.stderr)")
        #expect(after.stdout.contains("PLAT_LOAN_\(compact).csv (platform/loans \(Self.day)): "), "\(after.stdout)")
        #expect(!after.stdout.contains("⏰ late: \(late)"), "\(after.stdout)")
        #expect(!(try reckon(["status", "--date", Self.day, "--config", config]).stdout.contains("late: platform/loans \(Self.day)")))
        let cleared = try reckon(["alerts", "list", "--code", "file_late", "--json", "--config", config])
        #expect(cleared.stdout.contains("\"cleared_on\":\"\(Self.day)\""), "\(cleared.stdout)")
    }
}
