import ArgumentParser

@main
struct Reckon: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reckon",
        abstract: "Exchange, book and reconcile the daily account files of a lending partnership.",
        discussion: """
            reckon reads partner files (fixed-width, CSV, XML) through declarative mapping specs \
            in mappings/, books them into a double-entry ledger, and reconciles every partner's \
            view against it.

            Start with `reckon spec check mappings/nacha.yaml mappings/samples/nacha/ppd-debit.ach` \
            to see a file through a spec, or `reckon spec test` to run every spec's examples.
            """,
        version: "0.1.0",
        subcommands: [SpecCommand.self, BatchCommand.self, DemoCommand.self, IngestCommand.self, FilesCommand.self, PlanCommand.self, LedgerCommand.self, StatusCommand.self]
    )
}
