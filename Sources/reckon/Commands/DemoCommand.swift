import ArgumentParser
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
            clean. The same date and size give the same bytes. The first loan of the day is the \
            12,000.00 at 9% over 12 months of SCHEDULES.md §A.
            """
    )

    @Option(help: "The business date.")
    var date: BusinessDate

    @Option(help: "Loans disbursed that day (and about as many repayments).")
    var loans = 20

    @Option(help: "Where to write: partner folders are made under it.")
    var into = "inbox"

    @Option(help: "The folder of specs.")
    var mappings = "mappings"

    func validate() throws {
        guard (1...10_000_000).contains(loans) else { throw ValidationError("--loans takes 1 to 10,000,000") }
    }

    func run() throws {
        let written = try SampleDay(date: date.date, loans: loans, mappings: mappings).write(into: into)
        print("a business day \(date.date): \(written.disbursed) loans disbursed, \(written.repayments) repayments")
        for file in written.files { print("  \(file)") }
    }
}
