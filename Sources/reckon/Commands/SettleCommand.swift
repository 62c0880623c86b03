import ArgumentParser
import ReckonCore
import ReckonFiles
import ReckonLedger
import ReckonSFTP

struct SettleCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "settle",
        abstract: "Write a business day's outbound files: what each partner receives, through its specs.",
        discussion: """
            For each partner with an outbound: section in reckon.yaml, renders each of its files \
            for the day from the ledger through its spec (the bank's settlement file and the \
            plans of the day's loans, the platform's result file, the alert file; README, "What \
            each partner receives") and installs them together in <outbox>/<partner>/<date>/ \
            with their MANIFEST.json, zip and .done marker. Settling a day again with an \
            unchanged ledger writes the same bytes and keeps the version; a corrected file or a \
            resolved break makes a new version, and the old one moves to \
            <archive>/outbound/<partner>/<date>/. reckon batch runs this step after reconcile.

            --dry-run renders the files and prints what would be written and its totals, and \
            installs and records nothing. --json prints one object: business_date, dry_run, \
            partners (each: partner, version, changed, folder, manifest, files: name, file_type, \
            spec, size_bytes, record_count, sha256, control_totals of name and value), errors, \
            summary.

            --deliver then delivers each partner's current set to its SFTP server, as reckon \
            batch's deliver step does (outbound: deliver: {path: …}; once per version, retried \
            with backoff, the remote folder made when missing); --json then adds delivery \
            (partners: partner, version, uploaded remote paths; uploaded; summary).

            Exit status: 0 every partner's files written (and delivered); 1 a partner's files \
            could not all be written (its previous set stays) or delivered, or another run holds \
            the ledger; 2 the configuration cannot be used or names no such partner.
            """
    )

    @Option(help: "The business date, 2024-12-15 or 20241215.")
    var date: BusinessDate

    @Option(help: "Only this partner's files (its name in reckon.yaml).")
    var partner: String?

    @Flag(help: "Render the files and show them; install and record nothing.")
    var dryRun = false

    @Flag(help: "Print one JSON object (see above).")
    var json = false

    @Flag(help: "Then deliver the partners' sets to their SFTP servers (outbound: deliver:), as reckon batch's deliver step does.")
    var deliver = false

    @OptionGroup var lockWait: LockWaitOption

    @OptionGroup var options: ConfigOptions

    func run() throws {
        let config = try options.load()
        if let partner {
            guard let found = config.partner(partner) else {
                printError("reckon: no partner '\(partner)'; partners are \(config.partners.map(\.id).joined(separator: ", "))")
                throw ExitCode(2)
            }
            guard found.outbound != nil else {
                let receiving = config.partners.filter { $0.outbound != nil }.map(\.id)
                printError("reckon: partner \(partner) receives no files (no outbound: in \(options.config))"
                           + (receiving.isEmpty ? "" : "; partners that do: \(receiving.joined(separator: ", "))"))
                throw ExitCode(2)
            }
        }
        let ledger = try options.ledger(config)
        if deliver && dryRun {
            printError("reckon: --deliver delivers installed sets; a dry run installs none")
            throw ExitCode(2)
        }
        let report: SettleReport
        var delivery: DeliverReport?
        do {
            // A dry run stages too, in the folder a real run uses: one at a time.
            let writer = try WriterLock.acquire(ledger, waitSeconds: lockWait.seconds(config))
            defer { writer.release() }
            report = try ledger.runSettleStep(date: date.date, config: config, partner: partner, dryRun: dryRun)
            // Delivered only when every set was installed whole (a failed settle delivers nothing).
            if deliver && report.succeeded {
                delivery = try ledger.runDeliverStep(date: date.date, config: config, partner: partner) { delivery in
                    SFTPDelivery.deliver(delivery, config: config)
                }
            }
        } catch {
            printError("reckon: \(error)")
            throw ExitCode.failure
        }
        if json {
            print(SettleText.json(report, delivery: delivery))
        } else {
            SettleText.show(report)
            if let delivery {
                print("delivery: \(delivery.summary)")
                for path in delivery.partners.flatMap(\.uploaded) { print("  ↑ \(path)") }
            }
        }
        if !report.succeeded {
            if !json { for error in report.errors { printError("reckon: settle: \(error)") } }
            throw ExitCode.failure
        }
        if let delivery, !delivery.errors.isEmpty {
            if !json { for error in delivery.errors { printError("reckon: deliver: \(error)") } }
            throw ExitCode.failure
        }
    }
}

/// The settle step's outcome, as text and as JSON.
enum SettleText {
    static func show(_ report: SettleReport) {
        print("settle \(report.date)\(report.dryRun ? " (dry run: nothing installed or recorded)" : "")")
        let table = TextTable([("partner", false), ("version", false), ("file", false), ("type", false), ("records", true),
                               ("bytes", true), ("sha256", false)])
        var rows: [[String]] = []
        for partner in report.partners {
            let version = report.dryRun ? "-" : "v\(partner.version ?? 0)" + (partner.changed == false ? " (same)" : "")
            for file in partner.files {
                rows.append([partner.partner, version, file.fileName, file.kind.rawValue, AmountText.grouped(file.recordCount),
                             AmountText.grouped(file.sizeBytes), String(file.sha256Hex.prefix(12))])
            }
        }
        for line in table.render(rows) { print(line) }
        for partner in report.partners {
            for file in partner.files where !file.controlTotals.isEmpty {
                let totals = "  \(partner.partner)/\(file.fileName): " + file.controlTotals.map { "\($0.name) \($0.value)" }.joined(separator: ", ")
                for line in wrapped(totals) { print(line) }
            }
            if let manifest = partner.manifestPath { print("  \(partner.partner): \(manifest)") }
        }
        print((report.succeeded ? "settled: " : "failed: ") + report.summary)
    }

    static func json(_ report: SettleReport, delivery: DeliverReport? = nil) -> String {
        typealias J = JSONShape
        var fields = [
            ("business_date", J.string(report.date.description)),
            ("dry_run", J.bool(report.dryRun)),
            ("partners", J.array(report.partners.map(partner))),
            ("errors", J.strings(report.errors + (delivery?.errors.map { "deliver: \($0)" } ?? []))),
            ("summary", J.string(report.summary)),
        ]
        if let delivery { fields.append(("delivery", BatchText.delivery(delivery))) }
        return J.object(fields)
    }

    static func partner(_ partner: SettledPartner) -> String {
        typealias J = JSONShape
        return J.object([
            ("partner", J.string(partner.partner)), ("version", J.number(partner.version)),
            ("changed", partner.changed.map(J.bool) ?? "null"), ("folder", J.string(partner.folder)),
            ("manifest", J.string(partner.manifestPath)),
            ("files", J.array(partner.files.map { file in
                J.object([("name", J.string(file.fileName)), ("file_type", J.string(file.kind.rawValue)), ("spec", J.string(file.spec)),
                          ("size_bytes", J.number(file.sizeBytes)), ("record_count", J.number(file.recordCount)),
                          ("sha256", J.string(file.sha256Hex)),
                          ("control_totals", J.array(file.controlTotals.map { J.object([("name", J.string($0.name)), ("value", J.string($0.value))]) }))])
            })),
        ])
    }
}
