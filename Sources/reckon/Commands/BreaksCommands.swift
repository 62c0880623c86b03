import ArgumentParser
import Foundation
import ReckonCore
import ReckonFiles
import ReckonLedger

struct BreaksCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "breaks",
        abstract: "Work the reconciliation's breaks: list, show, match by hand, resolve, reopen, approve; audit the action log.",
        discussion: """
            Every action is kept with who (--as NAME, or $USER) and when, in the break's history \
            and in the action log, whose rows are hash-chained (reckon breaks audit checks them). \
            Above reconciliation.approval_above in reckon.yaml, a match or resolution awaits a \
            second person's reckon breaks approve ID.
            """,
        subcommands: [BreaksList.self, BreaksShow.self, BreaksMatch.self, BreaksResolve.self, BreaksReopen.self, BreaksApprove.self,
                      BreaksAudit.self]
    )
}

/// Who acts on breaks: `--as`, or the login name.
struct BreakActorOption: ParsableArguments {
    @Option(name: .customLong("as"), help: ArgumentHelp("Who acts (default: $USER).", valueName: "name"))
    var actor: String?

    var name: String {
        actor ?? ProcessInfo.processInfo.environment["USER"] ?? ProcessInfo.processInfo.environment["LOGNAME"] ?? "unknown"
    }
}

struct BreaksList: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List the breaks: pending and open ones by default, oldest business day first, with their ages.",
        discussion: """
            A table: the break's number, its business day, its age in working days (of its rule's \
            calendar, to the latest day reconciled or --date), partner, rule, kind, status (* when a \
            match or resolution awaits approval), amount and match key. --json prints one object: \
            as_of (the day ages count to) and breaks, each with id, rule, partner, kind, kind_label, \
            status, business_date, found_on, updated_on, closed_on, age_working_days, calendar, \
            match_key, amount_minor, currency, summary, reason, note, acted_by and awaiting_approval \
            (null, or action, maker, at, reason, note, break_ids, amount_minor, approval_above_minor, \
            action_id).
            """)

    @Option(help: "List as of this business day: breaks of later days are left out, and ages count to it (default: the latest day reconciled).")
    var date: BusinessDate?

    @Option(help: "Only this partner's breaks.")
    var partner: String?

    @Option(help: "Only this rule's breaks.")
    var rule: String?

    @Option(help: ArgumentHelp("Only this kind: \(BreakKind.allCases.map(\.rawValue).joined(separator: ", ")).", valueName: "kind"))
    var kind: String?

    @Option(help: ArgumentHelp("Only these statuses, comma-separated: pending, open, matched, resolved, closed; or all (default: pending,open).",
                               valueName: "status"))
    var status: String?

    @Option(name: .customLong("older-than"), help: ArgumentHelp("Only breaks older than this many working days.", valueName: "days"))
    var olderThan: Int?

    @Flag(help: "Print one JSON object instead of text (see above).")
    var json = false

    @OptionGroup var options: ConfigOptions

    func validate() throws {
        if let kind, BreakKind(rawValue: kind) == nil {
            throw ValidationError("'\(kind)' is not a kind of break; kinds are \(BreakKind.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        _ = try Self.statuses(status)
        if let olderThan, olderThan < 0 { throw ValidationError("--older-than takes a number of working days, 0 or more") }
    }

    /// `open,matched`, `all` (nil: every status), or the default: pending and open.
    static func statuses(_ text: String?) throws -> Set<BreakStatus>? {
        guard let text else { return [.pending, .open] }
        if text == "all" { return nil }
        var statuses = Set<BreakStatus>()
        for part in text.split(separator: ",", omittingEmptySubsequences: false) {
            let name = part.trimmingCharacters(in: .whitespaces)
            guard let status = BreakStatus(rawValue: name) else {
                throw ValidationError("'\(name)' is not a status of a break; statuses are "
                                      + BreakStatus.allCases.map(\.rawValue).joined(separator: ", ") + ", or all")
            }
            statuses.insert(status)
        }
        return statuses
    }

    func run() throws {
        let config = try options.load()
        let ages = try BreaksText.ages(config)
        let ledger = try options.readingLedger(config)
        let filter = BreakFilter(asOf: date?.date, partner: partner, rule: rule, kind: kind.flatMap(BreakKind.init(rawValue:)),
                                 statuses: try Self.statuses(status), olderThanWorkingDays: olderThan)
        let listing: BreakListing
        do {
            listing = try ledger.breaks(filter, ages: ages)
        } catch {
            printError("reckon: \(error)")
            throw ExitCode.failure
        }
        if json {
            print(JSONShape.object([("as_of", JSONShape.string(listing.asOf?.description)),
                                    ("breaks", JSONShape.array(listing.breaks.map { BreaksJSON.reconBreak($0, ages: ages) }))]))
            return
        }
        for line in BreaksText.list(listing) { print(line) }
    }
}

struct BreaksShow: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show",
        abstract: "Show a break: its fields with their signed deltas, its items on both sides with file and line, its history and actions.",
        discussion: """
            Deltas are theirs − ours (the rule's right side less its left): amounts in minor units \
            printed as amounts, dates in working days. --json prints one object: the break's members \
            as reckon breaks list gives them, then as_of, fields (name, kind; amounts: ours_minor, \
            theirs_minor, delta_minor; dates: ours, theirs, delta_working_days; text: ours, theirs), \
            items (side left or right, role, ref, file_id, file, line, record: source, kind, loan_id, \
            period, date, principal_minor, interest_minor, penalty_minor, fee_minor, amount_minor, \
            currency, reference, status, other_fields), history (business_date, at, status, kind, \
            what, by, action_id), actions (id, action, break_ids, by, at, reason, note, detail, \
            previous_hash, hash) and adjustment (amount_minor, entry_id, settle_on, fixed_by_file: \
            the settlement file that carried it; null for a break resolved without one).
            """)

    @Argument(help: "The break's number (reckon breaks list).")
    var id: Int64

    @Option(help: "Count its age to this business day (default: the latest day reconciled).")
    var date: BusinessDate?

    @Flag(help: "Print one JSON object instead of text (see above).")
    var json = false

    @OptionGroup var options: ConfigOptions

    func run() throws {
        let config = try options.load()
        let ages = try BreaksText.ages(config)
        let ledger = try options.readingLedger(config)
        let detail: BreakDetail
        do {
            detail = try ledger.breakDetail(id, asOf: date?.date, ages: ages)
        } catch {
            printError("reckon: \(error)")
            throw ExitCode.failure
        }
        if json {
            print(BreaksJSON.detail(detail, ages: ages))
            return
        }
        for line in BreaksText.show(detail) { print(line) }
    }
}

/// The part every action shares: take the writer lock, act, print what was done.
protocol BreakActionCommand {
    var options: ConfigOptions { get }
    var lockWait: LockWaitOption { get }
    var json: Bool { get }
}

extension BreakActionCommand {
    func act(_ body: (Ledger, ReckonConfig) throws -> BreakActionOutcome) throws {
        let config = try options.load()
        let ledger = try options.ledger(config)
        let outcome: BreakActionOutcome
        do {
            let writer = try WriterLock.acquire(ledger, waitSeconds: lockWait.seconds(config))
            defer { writer.release() }
            outcome = try body(ledger, config)
        } catch {
            printError("reckon: \(error)")
            throw ExitCode.failure
        }
        print(json ? BreaksJSON.outcome(outcome) : BreaksText.outcome(outcome).joined(separator: "\n"))
    }
}

struct BreaksMatch: ParsableCommand, BreakActionCommand {
    static let configuration = CommandConfiguration(
        commandName: "match",
        abstract: "Match breaks by hand: they become matched, their items recorded with the action.",
        discussion: """
            For example a missing_ours and a missing_theirs that are one payment under two \
            references: reckon breaks match 12 13 --note "same payment, the channel truncated the reference". \
            The breaks must be pending or open, of one rule and one currency. When the largest of \
            their amounts is above reconciliation.approval_above, nothing changes yet: the match \
            awaits a second person's reckon breaks approve ID. --json prints one object: action, \
            applied, status, previous_status, break_ids, by, at, reason, note, amount_minor, \
            currency, awaiting_approval (the proposal, or null), approves, action_id, hash.
            """)

    @Argument(help: "The breaks' numbers.")
    var ids: [Int64]

    @Option(help: "Why they match: kept with the action.")
    var note: String

    @OptionGroup var actor: BreakActorOption

    @Flag(help: "Print one JSON object instead of text (see above).")
    var json = false

    @OptionGroup var lockWait: LockWaitOption

    @OptionGroup var options: ConfigOptions

    func run() throws {
        try act { ledger, config in
            try ledger.matchBreaks(ids, note: note, actor: actor.name, approvalAboveMinor: config.reconciliation.approvalAboveMinor)
        }
    }
}

struct BreaksResolve: ParsableCommand, BreakActionCommand {
    static let configuration = CommandConfiguration(
        commandName: "resolve",
        abstract: "Resolve a break with a reason and a note.",
        discussion: """
            Reasons: \(ResolutionReason.allCases.map { "\($0.rawValue) — \($0.meaning)" }.joined(separator: "; ")). \
            Above reconciliation.approval_above the resolution awaits a second person's \
            reckon breaks approve ID. --json as reckon breaks match.
            """)

    @Argument(help: "The break's number.")
    var id: Int64

    @Option(help: ArgumentHelp("Why: \(ResolutionReason.allCases.map(\.rawValue).joined(separator: ", ")).", valueName: "reason"))
    var reason: String

    @Option(help: "What was done: kept with the action.")
    var note: String

    @Option(help: ArgumentHelp("With --reason adjusted: the adjustment booked (a journal entry naming the break) and carried by the next day's settlement file, like 0.01 or -1,200.00.", valueName: "amount"))
    var amount: String?

    @OptionGroup var actor: BreakActorOption

    @Flag(help: "Print one JSON object instead of text (see reckon breaks match).")
    var json = false

    @OptionGroup var lockWait: LockWaitOption

    @OptionGroup var options: ConfigOptions

    func validate() throws {
        guard ResolutionReason(rawValue: reason) != nil else {
            throw ValidationError("'\(reason)' is not a reason a break is resolved with; the reasons are \(ResolutionReason.catalogue)")
        }
        _ = try amountMinor()
    }

    /// The adjustment in minor units, as amounts print (`1,200.00`) or plainly.
    func amountMinor() throws -> Int64? {
        guard let amount else { return nil }
        switch AmountText.minor(amount) {
        case .success(let minor): return minor
        case .failure(.tooManyDecimals): throw ValidationError("--amount \(amount): an amount has at most two decimals, like 0.01")
        case .failure(.tooLarge): throw ValidationError("--amount \(amount): too large")
        case .failure(.notAnAmount): throw ValidationError("--amount \(amount): not an amount; write it like 1,200.00 or -0.01")
        }
    }

    func run() throws {
        let adjustment = try amountMinor()
        try act { ledger, config in
            try ledger.resolveBreak(id, reason: ResolutionReason(rawValue: reason)!, note: note, actor: actor.name,
                                    approvalAboveMinor: config.reconciliation.approvalAboveMinor, adjustmentMinor: adjustment)
        }
    }
}

struct BreaksReopen: ParsableCommand, BreakActionCommand {
    static let configuration = CommandConfiguration(
        commandName: "reopen",
        abstract: "Reopen a matched, resolved or closed break (no approval needed).",
        discussion: """
            Breaks matched by hand together are reopened together. On a break whose match or \
            resolution awaits approval, withdraws that proposal. --json as reckon breaks match.
            """)

    @Argument(help: "The break's number.")
    var id: Int64

    @Option(help: "Why: kept with the action.")
    var note: String

    @OptionGroup var actor: BreakActorOption

    @Flag(help: "Print one JSON object instead of text (see reckon breaks match).")
    var json = false

    @OptionGroup var lockWait: LockWaitOption

    @OptionGroup var options: ConfigOptions

    func run() throws {
        try act { ledger, _ in try ledger.reopenBreak(id, note: note, actor: actor.name) }
    }
}

struct BreaksApprove: ParsableCommand, BreakActionCommand {
    static let configuration = CommandConfiguration(
        commandName: "approve",
        abstract: "Approve the match or resolution awaiting approval on a break; it then applies. Its maker cannot approve it.",
        discussion: "--json as reckon breaks match.")

    @Argument(help: "The break's number.")
    var id: Int64

    @Option(help: "A note kept with the approval.")
    var note: String?

    @OptionGroup var actor: BreakActorOption

    @Flag(help: "Print one JSON object instead of text (see reckon breaks match).")
    var json = false

    @OptionGroup var lockWait: LockWaitOption

    @OptionGroup var options: ConfigOptions

    func run() throws {
        try act { ledger, _ in try ledger.approveBreak(id, actor: actor.name, note: note) }
    }
}

struct BreaksAudit: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit",
        abstract: "Verify the break action log's hash chain and name its first broken link.",
        discussion: """
            Recomputes each row's hash (README, "Working the breaks") and checks each row's \
            previous_hash, the ids (a gap is deleted rows) and the breaks' history against the log \
            (rows deleted from its end). Exit status 1 when the chain is broken. --json prints one \
            object: actions, intact, last_id, last_hash, first_broken (null, or row_id, problem: \
            edited_row, missing_rows, wrong_previous_hash or replaced_row; message, expected, found).
            """)

    @Flag(help: "Print one JSON object instead of text (see above).")
    var json = false

    @OptionGroup var options: ConfigOptions

    func run() throws {
        let config = try options.load()
        let ledger = try options.readingLedger(config)
        let audit: BreakAudit
        do {
            audit = try ledger.auditBreakActions()
        } catch {
            printError("reckon: \(error)")
            throw ExitCode.failure
        }
        if json {
            typealias J = JSONShape
            let broken = audit.firstBroken.map {
                J.object([("row_id", String($0.rowID)), ("problem", J.string($0.problem.rawValue)), ("message", J.string($0.message)),
                          ("expected", J.string($0.expected)), ("found", J.string($0.found))])
            }
            print(J.object([("actions", String(audit.actions)), ("intact", J.bool(audit.intact)), ("last_id", J.number(audit.lastID)),
                            ("last_hash", J.string(audit.lastHash)), ("first_broken", broken ?? "null")]))
        } else {
            let count = Plural.count(audit.actions, "action")
            if let broken = audit.firstBroken {
                for line in wrapped("break action log: \(count); the hash chain is broken at row #\(broken.rowID): \(broken.message)") {
                    print(line)
                }
            } else if let lastID = audit.lastID, let hash = audit.lastHash {
                print("break action log: \(count), the hash chain holds; last row #\(lastID), hash \(hash)")
            } else {
                print("break action log: no actions yet")
            }
        }
        if !audit.intact { throw ExitCode.failure }
    }
}

// MARK: Output

/// Breaks in text.
enum BreaksText {
    /// Working days counted by each rule's calendar, from reckon.yaml and its calendar file.
    static func ages(_ config: ReckonConfig) throws -> WorkingDayCount {
        var calendar: BusinessCalendar?
        if let path = config.calendarPath {
            do {
                calendar = try BusinessCalendar.load(yaml: try String(contentsOfFile: path, encoding: .utf8), origin: path)
            } catch let error as SpecError {
                printError("reckon: \(error)")
                throw ExitCode.failure
            } catch {
                printError("reckon: \(path): cannot be read (the working-day calendar reckon.yaml names)")
                throw ExitCode.failure
            }
        }
        return WorkingDayCount(calendar: calendar, calendarPath: config.calendarPath, rules: config.reconciliation.rules)
    }

    static func amount(_ minor: Int64, _ currency: String) -> String { "\(AmountText.printed(units: minor)) \(currency)" }

    /// `+0.01`, `-3,513.33`: a delta with its sign.
    static func signed(_ minor: Int64) -> String { (minor > 0 ? "+" : "") + AmountText.printed(units: minor) }

    /// `break #12`, `breaks #12, #13`.
    static func named(_ ids: [Int64]) -> String {
        (ids.count == 1 ? "break " : "breaks ") + ids.map { "#\($0)" }.joined(separator: ", ")
    }

    static func list(_ listing: BreakListing) -> [String] {
        let asOf = listing.asOf.map { " to \($0)" } ?? ""
        guard !listing.breaks.isEmpty else { return ["no breaks"] }
        let table = TextTable([("#", true), ("day", false), ("age", true), ("partner", false), ("rule", false), ("kind", false),
                               ("status", false), ("amount", true), ("key", false)])
        var lines = table.render(listing.breaks.map { found in
            [String(found.id), found.businessDate.description, String(found.ageWorkingDays), found.partner, found.rule, found.kind.rawValue,
             found.status.rawValue + (found.awaitingApproval == nil ? "" : "*"), amount(found.amountMinor, found.currency), found.matchKey]
        })
        let counts = BreakStatus.allCases.compactMap { status -> String? in
            let count = listing.breaks.filter { $0.status == status }.count
            return count == 0 ? nil : "\(AmountText.grouped(count)) \(status.rawValue)"
        }
        var footer = "\(Plural.count(listing.breaks.count, "break")): \(counts.joined(separator: ", ")); ages in working days\(asOf)"
        let awaiting = listing.breaks.filter { $0.awaitingApproval != nil }.count
        if awaiting > 0 { footer += "; * \(AmountText.grouped(awaiting)) \(awaiting == 1 ? "awaits" : "await") approval (reckon breaks show ID)" }
        lines += wrapped(footer)
        return lines
    }

    static func show(_ detail: BreakDetail) -> [String] {
        let found = detail.reconBreak
        var lines = ["break #\(found.id): \(found.kind.rawValue) (\(found.kind.label)), \(found.status.rawValue)"]
        lines.append("  rule \(found.rule), partner \(found.partner), key \(found.matchKey)")
        lines.append("  amount \(amount(found.amountMinor, found.currency))")
        let age = detail.asOf.map { "; age \(Plural.count(found.ageWorkingDays, "working day")) to \(min($0, found.closedOn ?? $0)) (calendar \(detail.calendar))" } ?? ""
        lines += wrapped("  business day \(found.businessDate), found on \(found.foundOn), updated on \(found.updatedOn)\(age)")
        lines += wrapped("  \(found.summary)")
        let by = found.actedBy.map { " by \($0)" } ?? ""
        switch found.status {
        case .matched: lines += wrapped("  matched by hand\(by) on \(found.closedOn?.description ?? "?"): \(found.note ?? "")")
        case .resolved: lines += wrapped("  resolved (\(found.reason ?? "?"))\(by) on \(found.closedOn?.description ?? "?"): \(found.note ?? "")")
        case .closed: lines.append("  closed on \(found.closedOn?.description ?? "?") by a later file")
        case .pending, .open: if let note = found.note, let actor = found.actedBy { lines += wrapped("  last action by \(actor): \(note)") }
        }
        if let adjustment = detail.adjustment {
            if let entry = adjustment.entryID {
                let carried = adjustment.fixedByFile.map { "carried by \($0)" }
                    ?? "to be carried by the settlement file of \(adjustment.settleOn?.description ?? "?")"
                lines += wrapped("  adjustment \(amount(adjustment.amountMinor, found.currency)): journal entry #\(entry), \(carried)")
            } else {
                lines += wrapped("  adjustment \(amount(adjustment.amountMinor, found.currency)) proposed: booked when the resolution is approved")
            }
        }
        if let proposal = found.awaitingApproval {
            let what = proposal.action == "match" ? "match of \(named(proposal.breakIDs))" : "resolution (\(proposal.reason ?? "?"))"
            lines += wrapped("  awaits approval: the \(what) proposed by \(proposal.maker) at \(TimeText.local(proposal.at)): "
                             + "\(amount(proposal.amountMinor, found.currency)) is above the approval line "
                             + "\(AmountText.printed(units: proposal.approvalAboveMinor)); someone other than \(proposal.maker) "
                             + "approves it with reckon breaks approve \(found.id)")
        }
        if !found.fields.isEmpty {
            lines += ["", "fields (delta = theirs − ours)"]
            let table = TextTable([("field", false), ("ours", true), ("theirs", true), ("delta", true)])
            lines += table.render(found.fields.map { [$0.name, value($0.ours), value($0.theirs), delta($0)] }, indent: "  ")
        }
        lines += ["", "items"]
        if detail.items.isEmpty { lines.append("  none") }
        for item in detail.items {
            var text = "  \(item.side == .left ? "ours  " : "theirs")  \(item.role)  \(item.ref)"
            if let file = item.fileName { text += "  \(file)" + (item.line.map { " line \($0)" } ?? "") }
            text += ": " + (item.record.map(record) ?? "no longer in the ledger")
            lines += wrapped(text, indent: "          ")
        }
        lines += ["", "history"]
        if detail.history.isEmpty { lines.append("  none") }
        for entry in detail.history {
            lines += wrapped("  \(entry.businessDate)  \(TimeText.local(entry.at))  \(entry.status)  \(entry.what)", indent: "          ")
        }
        if !detail.actions.isEmpty {
            lines += ["", "actions"]
            for action in detail.actions {
                var text = "  #\(action.id)  \(TimeText.local(action.actedAt))  \(action.actor)  \(action.action)  \(named(action.breakIDs))"
                if let reason = action.reason { text += "  (\(reason))" }
                if let note = action.note { text += ": \(note)" }
                lines += wrapped(text, indent: "          ")
            }
        }
        return lines
    }

    static func value(_ value: ReconValue?) -> String {
        switch value {
        case nil: return "-"
        case .amount(let minor)?: return AmountText.printed(units: minor)
        case .date(let day)?: return day.description
        case .text(let text)?: return DisplayText.escaped(text)
        }
    }

    static func delta(_ field: BreakField) -> String {
        guard let delta = field.delta else { return field.ours == field.theirs ? "" : "differs" }
        switch field.kind {
        case .date: return (delta > 0 ? "+" : "") + Plural.count(Int(delta), "working day")
        default: return signed(delta)
        }
    }

    /// `repayment of L202412160001 period 1 on 2024-12-16: 3,513.33 CNY (principal 3,333.33, interest 180.00), reference R…`
    static func record(_ record: BreakRecord) -> String {
        var text = record.kind.replacingOccurrences(of: "_", with: " ")
        if let loan = record.loanID { text += " of \(loan)" }
        if let period = record.period { text += " period \(period)" }
        if let date = record.date { text += (record.source == .planLine ? " due " : " on ") + date }
        if let minor = record.amountMinor { text += ": " + amount(minor, record.currency ?? "") }
        let parts = [("principal", record.principalMinor), ("interest", record.interestMinor), ("penalty", record.penaltyMinor),
                     ("fee", record.feeMinor)].compactMap { name, minor in minor.map { "\(name) \(AmountText.printed(units: $0))" } }
        if !parts.isEmpty { text += " (\(parts.joined(separator: ", ")))" }
        if let reference = record.reference { text += ", reference \(DisplayText.escaped(reference))" }
        if let status = record.status { text += ", \(status)" }
        return text
    }

    static func outcome(_ outcome: BreakActionOutcome) -> [String] {
        let action = outcome.action
        let at = TimeText.local(action.actedAt), who = action.actor, ids = named(outcome.breakIDs), number = "(action #\(action.id))"
        let text: String
        switch action.action {
        case "match" where !outcome.applied, "resolve" where !outcome.applied:
            let proposal = outcome.proposal!
            let what = action.action == "match" ? "the match of \(ids)" : "the resolution of \(ids) (\(action.reason ?? "?"))"
            text = "\(what) awaits a second person's approval: \(amount(outcome.amountMinor, outcome.currency)) is above the approval line "
                + "\(AmountText.printed(units: proposal.approvalAboveMinor)); someone other than \(who) approves it with "
                + "reckon breaks approve \(outcome.breakIDs[0]) \(number)"
        case "match": text = "\(ids) matched by hand by \(who) at \(at) \(number)"
        case "resolve": text = "\(ids) resolved (\(action.reason ?? "?")) by \(who) at \(at) \(number)"
        case "reopen":
            let was = outcome.breakIDs.count == 1 ? "it was \(outcome.previousStatus.rawValue)" : "they were matched together"
            text = "\(ids) reopened by \(who) at \(at); \(was) \(number)"
        case "withdraw":
            let proposal = outcome.proposal!
            text = "the \(proposal.action) of \(ids) proposed by \(proposal.maker) at \(TimeText.local(proposal.at)) is withdrawn by \(who) \(number)"
        case "approve":
            let proposal = outcome.proposal!
            let done = proposal.action == "match" ? "matched by hand" : "resolved (\(proposal.reason ?? "?"))"
            text = "\(ids) \(done) as \(proposal.maker) proposed at \(TimeText.local(proposal.at)), approved by \(who) at \(at) \(number)"
        default: text = "\(action.action) of \(ids) by \(who) at \(at) \(number)"
        }
        return wrapped(text)
    }
}

/// Breaks in JSON (README, "JSON output").
enum BreaksJSON {
    typealias J = JSONShape

    static func proposal(_ proposal: BreakProposal) -> String {
        J.object([("action", J.string(proposal.action)), ("maker", J.string(proposal.maker)), ("at", J.string(proposal.at)),
                  ("reason", J.string(proposal.reason)), ("note", J.string(proposal.note)),
                  ("break_ids", J.array(proposal.breakIDs.map(String.init))), ("amount_minor", String(proposal.amountMinor)),
                  ("approval_above_minor", String(proposal.approvalAboveMinor)), ("action_id", String(proposal.actionID))])
    }

    static func members(_ found: ReconBreak, ages: WorkingDayCount) -> [(String, String)] {
        [("id", String(found.id)), ("rule", J.string(found.rule)), ("partner", J.string(found.partner)),
         ("kind", J.string(found.kind.rawValue)), ("kind_label", J.string(found.kind.label)), ("status", J.string(found.status.rawValue)),
         ("business_date", J.string(found.businessDate.description)), ("found_on", J.string(found.foundOn.description)),
         ("updated_on", J.string(found.updatedOn.description)), ("closed_on", J.string(found.closedOn?.description)),
         ("age_working_days", String(found.ageWorkingDays)), ("calendar", J.string(ages.calendarName(rule: found.rule))),
         ("match_key", J.string(found.matchKey)), ("amount_minor", String(found.amountMinor)), ("currency", J.string(found.currency)),
         ("summary", J.string(found.summary)), ("reason", J.string(found.reason)), ("note", J.string(found.note)),
         ("acted_by", J.string(found.actedBy)), ("awaiting_approval", found.awaitingApproval.map(proposal) ?? "null")]
    }

    static func reconBreak(_ found: ReconBreak, ages: WorkingDayCount) -> String { J.object(members(found, ages: ages)) }

    static func field(_ field: BreakField) -> String {
        func text(_ value: ReconValue?) -> String {
            switch value {
            case nil: return "null"
            case .amount(let minor)?: return String(minor)
            case .date(let day)?: return J.string(day.description)
            case .text(let text)?: return J.string(text)
            }
        }
        switch field.kind {
        case .amount, .integer:
            return J.object([("name", J.string(field.name)), ("kind", "\"amount\""), ("ours_minor", text(field.ours)),
                             ("theirs_minor", text(field.theirs)), ("delta_minor", J.number(field.delta))])
        case .date:
            return J.object([("name", J.string(field.name)), ("kind", "\"date\""), ("ours", text(field.ours)), ("theirs", text(field.theirs)),
                             ("delta_working_days", J.number(field.delta))])
        case .text:
            return J.object([("name", J.string(field.name)), ("kind", "\"text\""), ("ours", text(field.ours)), ("theirs", text(field.theirs))])
        }
    }

    static func record(_ record: BreakRecord) -> String {
        J.object([("source", J.string(record.source.rawValue)), ("kind", J.string(record.kind)), ("loan_id", J.string(record.loanID)),
                  ("period", J.number(record.period)), ("date", J.string(record.date)), ("principal_minor", J.number(record.principalMinor)),
                  ("interest_minor", J.number(record.interestMinor)), ("penalty_minor", J.number(record.penaltyMinor)),
                  ("fee_minor", J.number(record.feeMinor)), ("amount_minor", J.number(record.amountMinor)),
                  ("currency", J.string(record.currency)), ("reference", J.string(record.reference)), ("status", J.string(record.status)),
                  ("other_fields", record.otherFields ?? "null")])
    }

    static func action(_ action: BreakAction) -> String {
        J.object([("id", String(action.id)), ("action", J.string(action.action)), ("break_ids", J.array(action.breakIDs.map(String.init))),
                  ("by", J.string(action.actor)), ("at", J.string(action.actedAt)), ("reason", J.string(action.reason)),
                  ("note", J.string(action.note)), ("detail", action.detail ?? "null"), ("previous_hash", J.string(action.previousHash)),
                  ("hash", J.string(action.hash))])
    }

    static func detail(_ detail: BreakDetail, ages: WorkingDayCount) -> String {
        let items = detail.items.map { item in
            J.object([("side", J.string(item.side.rawValue)), ("role", J.string(item.role)), ("ref", J.string(item.ref)),
                      ("file_id", J.number(item.fileID)), ("file", J.string(item.fileName)), ("line", J.number(item.line)),
                      ("record", item.record.map(record) ?? "null")])
        }
        let history = detail.history.map { entry in
            J.object([("business_date", J.string(entry.businessDate)), ("at", J.string(entry.at)), ("status", J.string(entry.status)),
                      ("kind", J.string(entry.kind)), ("what", J.string(entry.what)), ("by", J.string(entry.actor)),
                      ("action_id", J.number(entry.actionID))])
        }
        return J.object(members(detail.reconBreak, ages: ages) + [
            ("as_of", J.string(detail.asOf?.description)), ("fields", J.array(detail.reconBreak.fields.map(field))),
            ("items", J.array(items)), ("history", J.array(history)), ("actions", J.array(detail.actions.map(action))),
            ("adjustment", detail.adjustment.map { adjustment in
                J.object([("amount_minor", String(adjustment.amountMinor)), ("entry_id", J.number(adjustment.entryID)),
                          ("settle_on", J.string(adjustment.settleOn?.description)), ("fixed_by_file", J.string(adjustment.fixedByFile))])
            } ?? "null"),
        ])
    }

    static func outcome(_ outcome: BreakActionOutcome) -> String {
        let action = outcome.action
        let awaiting = outcome.applied ? nil : outcome.proposal
        let approves = action.action == "approve" ? outcome.proposal : nil
        return J.object([("action", J.string(action.action)), ("applied", J.bool(outcome.applied)), ("status", J.string(outcome.status.rawValue)),
                         ("previous_status", J.string(outcome.previousStatus.rawValue)),
                         ("break_ids", J.array(outcome.breakIDs.map(String.init))), ("by", J.string(action.actor)),
                         ("at", J.string(action.actedAt)), ("reason", J.string(action.reason)), ("note", J.string(action.note)),
                         ("amount_minor", String(outcome.amountMinor)), ("currency", J.string(outcome.currency)),
                         ("awaiting_approval", awaiting.map(proposal) ?? "null"), ("approves", approves.map(proposal) ?? "null"),
                         ("action_id", String(action.id)), ("hash", J.string(action.hash))])
    }
}
