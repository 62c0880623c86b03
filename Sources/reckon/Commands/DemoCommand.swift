import ArgumentParser
import Foundation
import ReckonCore
import ReckonFiles

struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Write a realistic business day for the sample partners.",
        discussion: """
            The platform's disbursements and repayments (normal, early settlements, overdue with \
            penalty, compensation by the guarantor), the bank's plans, settlement file and camt.053 \
            statement, and the payment channel's bill with a few deliberate differences for \
            reconciliation to find — all written through the shipped specs, so every file reads \
            clean. The same date and size give the same bytes. The day's first three loans have \
            plans worked by hand, one per shipped method; the first is the 12,000.00 at 9% over 12 \
            months of SCHEDULES.md §A.

            Without --into the day goes to a fresh folder, var/demo/<date>-<loans>-loans, never \
            into the partners' live drops. A file already there with other content is never \
            replaced unless --replace is given: a batch would take it as a corrected re-send.

            Examples:
              reckon demo --date 2024-12-16 --loans 500
              reckon demo --date 2024-12-16 --loans 20 --into inbox     (the shipped sample day)
            """
    )

    @Option(help: "The business date.")
    var date: BusinessDate

    @Option(help: "Loans disbursed that day (and about as many repayments).")
    var loans = 20

    @Option(help: "Where to write: partner folders are made under it (default: var/demo/<date>-<loans>-loans).")
    var into: String?

    @Option(help: "The folder of specs.")
    var mappings = "mappings"

    @Flag(help: "Replace files that are already there with other content.")
    var replace = false

    @Flag(help: "Print one JSON object instead of text: business_date, folder, loans_disbursed, repayments, files (their paths).")
    var json = false

    func validate() throws {
        guard (1...10_000_000).contains(loans) else { throw ValidationError("--loans takes 1 to 10,000,000, not \(loans)") }
    }

    func run() throws {
        let folder = into ?? "var/demo/\(date.date)-\(loans)-loans"
        // The day is written aside first, then moved in file by file, so that nothing in the
        // target changes when a file there would be replaced without --replace.
        let staging = folder + "/.demo-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: staging) }
        try? FileManager.default.removeItem(atPath: staging)
        let written = try SampleDay(date: date.date, loans: loans, mappings: mappings).write(into: staging)
        let relative = written.files.map { String($0.dropFirst(staging.count + 1)) }

        let conflicts = relative.filter { name in
            let target = folder + "/" + name
            return FileManager.default.fileExists(atPath: target)
                && !FileManager.default.contentsEqual(atPath: target, andPath: staging + "/" + name)
        }
        if !conflicts.isEmpty && !replace {
            printError("""
                reckon: \(folder) already holds \(conflicts.count) of the day's files with other content \
                (\(conflicts.joined(separator: ", "))); a batch would take them as corrected re-sends. \
                Nothing was written: choose another --into, or give --replace.
                """)
            throw ExitCode.failure
        }
        for name in relative {
            let target = folder + "/" + name
            try FileManager.default.createDirectory(atPath: (target as NSString).deletingLastPathComponent,
                                                    withIntermediateDirectories: true)
            guard rename(staging + "/" + name, target) == 0 else {
                printError("reckon: \(target): cannot be moved into place: \(String(cString: strerror(errno)))")
                throw ExitCode.failure
            }
        }
        if json {
            typealias J = JSONShape
            print(J.object([("business_date", J.string(date.date.description)), ("folder", J.string(folder)),
                            ("loans_disbursed", String(written.disbursed)), ("repayments", String(written.repayments)),
                            ("files", J.strings(relative.map { folder + "/" + $0 }))]))
            return
        }
        print("a business day \(date.date) in \(folder): \(Plural.count(written.disbursed, "loan")) disbursed, "
              + Plural.count(written.repayments, "repayment"))
        for name in relative { print("  \(folder)/\(name)") }
        if into == nil {
            print("to run it, point the partners' drops in reckon.yaml at \(folder)/<partner>, or copy its folders into inbox/")
        }
    }
}
