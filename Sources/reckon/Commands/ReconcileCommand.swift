import ArgumentParser
import ReckonCore
import ReckonFiles
import ReckonLedger

struct ReconcileCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reconcile",
        abstract: "Reconcile a business day: every rule of reckon.yaml over what the ledger holds.",
        discussion: """
            Each rule pairs the day's items of two sides (a partner's events, or our plan lines and \
            allocations) by its key, compares the fields it names within their tolerances, and files \
            what does not agree as breaks: missing on our side or theirs, amount, date, status, \
            duplicate, ambiguous, plan or allocation mismatch; statement rules check a bank \
            statement's arithmetic, its continuity with the previous one and the warning line. An \
            item whose counterpart may still come stays pending for the rule's pending_days; the \
            items of earlier days' open breaks are tried again, and a break whose counterpart \
            arrives is closed, its history kept. Running a day again changes nothing; a break keeps \
            its number across runs. reckon batch runs this step after plan.

            Exit status: 0 reconciled (breaks found are listed, not a failure: see reckon breaks \
            list); 1 the step failed or another run holds the ledger; 2 the configuration cannot be \
            used or names no such rule.
            """
    )

    @Option(help: "The business date, 2024-12-15 or 20241215.")
    var date: BusinessDate

    @Option(help: "Only this rule (its name in reckon.yaml).")
    var rule: String?

    @Flag(help: "Print one JSON object: business_date, rules (each: rule, partner, skipped, left_items, right_items, matched, matched_minor, pending, pending_minor, breaks, breaks_minor, new_breaks, closed_breaks), currency, summary.")
    var json = false

    @OptionGroup var lockWait: LockWaitOption

    @OptionGroup var options: ConfigOptions

    func run() throws {
        let config = try options.load()
        if let rule, config.reconciliation.rule(rule) == nil {
            let names = config.reconciliation.rules.map(\.name)
            printError("reckon: no reconciliation rule '\(rule)'; \(names.isEmpty ? "\(options.config) has none" : "rules are \(names.joined(separator: ", "))")")
            throw ExitCode(2)
        }
        let ledger = try options.ledger(config)
        let report: ReconcileReport
        do {
            let reference = try ReferenceData.load(config)
            let writer = try WriterLock.acquire(ledger, waitSeconds: lockWait.seconds(config))
            defer { writer.release() }
            report = try ledger.runReconcileStep(date: date.date, config: config, reference: reference, rule: rule)
        } catch {
            printError("reckon: \(error)")
            throw ExitCode.failure
        }
        if json {
            print(ReconcileText.json(report, currency: config.currency))
        } else {
            ReconcileText.show(report)
        }
    }
}

/// The reconcile step's outcome, as text and as JSON.
enum ReconcileText {
    static func show(_ report: ReconcileReport) {
        let table = TextTable([("rule", false), ("partner", false), ("left", true), ("right", true), ("matched", true),
                               ("amount", true), ("pending", true), ("breaks", true), ("amount", true), ("new", true), ("closed", true)])
        var rows: [[String]] = []
        for rule in report.rules {
            if rule.skipped {
                rows.append([rule.rule, rule.partner, "-", "-", "-", "-", "-", "-", "-", "-", "-"])
                continue
            }
            rows.append([rule.rule, rule.partner, AmountText.grouped(rule.leftItems), AmountText.grouped(rule.rightItems),
                       AmountText.grouped(rule.matched), AmountText.printed(units: rule.matchedMinor), AmountText.grouped(rule.pending),
                       AmountText.grouped(rule.broken), AmountText.printed(units: rule.brokenMinor), AmountText.grouped(rule.newBreaks),
                       AmountText.grouped(rule.closedBreaks)])
        }
        print("reconciliation of \(report.date)")
        for line in table.render(rows) { print(line) }
        let skipped = report.rules.filter(\.skipped).map(\.rule)
        if !skipped.isEmpty { print("not applied yet on \(report.date) (from:): \(skipped.joined(separator: ", "))") }
        print("reconciled: \(report.summary)")
        if report.openBreaks > 0 { print("breaks: reckon breaks list --date \(report.date)") }
    }

    static func json(_ report: ReconcileReport, currency: String) -> String {
        typealias J = JSONShape
        return J.object([
            ("business_date", J.string(report.date.description)),
            ("rules", J.array(report.rules.map(rule))),
            ("currency", J.string(currency)),
            ("summary", J.string(report.summary)),
        ])
    }

    static func rule(_ rule: RuleOutcome) -> String {
        typealias J = JSONShape
        return J.object([
            ("rule", J.string(rule.rule)), ("partner", J.string(rule.partner)), ("skipped", J.bool(rule.skipped)),
            ("left_items", J.number(rule.leftItems)), ("right_items", J.number(rule.rightItems)),
            ("matched", J.number(rule.matched)), ("matched_minor", J.number(rule.matchedMinor)),
            ("pending", J.number(rule.pending)), ("pending_minor", J.number(rule.pendingMinor)),
            ("breaks", J.number(rule.broken)), ("breaks_minor", J.number(rule.brokenMinor)),
            ("new_breaks", J.number(rule.newBreaks)), ("closed_breaks", J.number(rule.closedBreaks)),
        ])
    }
}
