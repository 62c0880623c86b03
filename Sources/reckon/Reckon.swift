import ArgumentParser
import Foundation
import ReckonFiles
import ReckonLedger

@main
struct Reckon: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reckon",
        abstract: "Exchange, book and reconcile the daily account files of a lending partnership.",
        discussion: """
            reckon reads the partners' files (fixed-width, CSV, XML) through declarative mapping \
            specs in mappings/, books them into a double-entry ledger, makes the loans' repayment \
            plans, and reconciles every partner's view against them.

            Start with the sample day in inbox/: the files of 2024-12-16 from the bank, the \
            lending platform, the payment channel and the bank's core system.

              # the bank's settlement file through its spec: records, totals, problems
              reckon spec check mappings/bank-settlement.yaml \\
                  inbox/bank/BANK_SETTLE_20241216.txt --show 5
              # the whole day: collect, post to the ledger, bring the plans to the day
              reckon batch --date 2024-12-16
              reckon status          # what ran, and the files received
              reckon spec test       # every spec's own examples

            `make demo` runs the earlier days of the sample loans too and shows balances and plans.
            """,
        version: "0.1.0",
        subcommands: [SpecCommand.self, BatchCommand.self, RunCommand.self, DemoCommand.self, IngestCommand.self, FilesCommand.self, PlanCommand.self, ReconcileCommand.self, SettleCommand.self, ReportCommand.self, AlertsCommand.self, BreaksCommand.self, OutboxCommand.self, TasksCommand.self, LedgerCommand.self, StatusCommand.self, PauseCommand.self, ResumeCommand.self, SwitchesCommand.self]
    )

    /// ArgumentParser's `main`, with standard output written line by line and checked (see
    /// ``StandardOutput``), and file errors from Foundation said in one line.
    static func main() {
        StandardOutput.makeLineBuffered()
        CrashPoints.connectOutbox()
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            if let line = FileErrorText.line(for: error) {
                printError("reckon: \(line)")
                _ = StandardOutput.finish()
                Foundation.exit(EXIT_FAILURE)
            }
            exit(withError: error)
        }
        if !StandardOutput.finish() { exit(withError: ExitCode.failure) }
    }
}
