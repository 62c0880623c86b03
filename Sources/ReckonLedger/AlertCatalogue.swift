import ReckonCore

/// Every alert reckon raises, by its stable code (the alert list, the day's alert file,
/// `alert_commands` in reckon.yaml and scripts refer to them). A new alert gets a case here,
/// its entry in ``AlertCatalogue``, and a row in the README's catalogue (a test checks all
/// three agree).
public enum AlertCode: String, Sendable, CaseIterable, Codable {
    // Files
    case fileMissing = "file_missing"
    case fileLate = "file_late"
    case earlierVersionResent = "earlier_version_resent"
    case repaymentsIncomplete = "repayments_incomplete"
    // Plans
    case missingPartnerPlan = "missing_partner_plan"
    case planFailed = "plan_failed"
    case planWithdrawn = "plan_withdrawn"
    case repaymentWithoutPlan = "repayment_without_plan"
    case repaymentUnapplied = "repayment_unapplied"
    case earlySettlementShort = "early_settlement_short"
    // Reconciliation
    case breaksFound = "breaks_found"
    case balanceBelowWarning = "balance_below_warning"
    // Alerts themselves
    case alertCommandFailed = "alert_command_failed"
    // Partners' drops
    case sftpHostKeyRefused = "sftp_host_key_refused"
    case inboundArchiveRefused = "inbound_archive_refused"
    // Scheduled tasks
    case taskFailed = "task_failed"
    case calendarNextYearMissing = "calendar_next_year_missing"
    case lprFixingMissing = "lpr_fixing_missing"
}

/// What an alert code means, how much it matters, when it is raised and what to do about it:
/// the one table the severities come from, and the README's catalogue in code.
public struct AlertCatalogueEntry: Sendable {
    public let code: AlertCode
    public let severity: AlertSeverity
    /// One line: what the alert says.
    public let meaning: String
    /// When it is raised and what clears it.
    public let raisedWhen: String
    /// What the person reading it does.
    public let whatToDo: String
}

public enum AlertCatalogue {
    /// Every code's entry, in the order of ``AlertCode``.
    public static let entries: [AlertCatalogueEntry] = AlertCode.allCases.map(entry)

    /// A code's severity; nil for a code that is not catalogued.
    public static func severity(of code: String) -> AlertSeverity? {
        AlertCode(rawValue: code).map { entry($0).severity }
    }

    /// What is wrong with the alert codes reckon.yaml gives commands for (`reconciliation:
    /// alert_commands:`), when one is not a code reckon raises; nil when every one is.
    public static func unknownCommandCodes(_ config: ReckonConfig) -> String? {
        let unknown = config.reconciliation.alertCommands.keys.filter { AlertCode(rawValue: $0) == nil }.sorted()
        guard !unknown.isEmpty else { return nil }
        return "reconciliation.alert_commands: " + unknown.map { "'\($0)'" }.joined(separator: ", ")
            + (unknown.count == 1 ? " is not an alert code" : " are not alert codes")
            + "; the codes are " + AlertCode.allCases.map(\.rawValue).joined(separator: ", ")
    }

    /// The switch is exhaustive: a code without an entry does not compile.
    public static func entry(_ code: AlertCode) -> AlertCatalogueEntry {
        func entry(_ severity: AlertSeverity, _ meaning: String, when: String, do whatToDo: String) -> AlertCatalogueEntry {
            AlertCatalogueEntry(code: code, severity: severity, meaning: meaning, raisedWhen: when, whatToDo: whatToDo)
        }
        switch code {
        case .fileMissing:
            return entry(.warning, "An expected partner file has not come.",
                         when: "by a batch of the day, for each file type expected that day whose file is not in its drop; "
                             + "cleared when it comes or is set aside",
                         do: "ask the partner for the file, or `reckon files set-aside --date D --partner P --type T --reason …`")
        case .fileLate:
            return entry(.warning, "An expected partner file is past its deadline and has not come complete.",
                         when: "by a batch (at its end) or the daemon, once the file type's deadline (`expected: {…, by: …}`, in "
                             + "reckon.yaml's `timezone:`) has passed without the day's file received; cleared when it comes or is set aside",
                         do: "ask the partner for the file; the run that takes it in processes it and clears the alert")
        case .earlierVersionResent:
            return entry(.warning, "An earlier version of a day's file was sent again after its correction.",
                         when: "at ingest, when the bytes are those of a version a correction replaced; nothing is posted; "
                             + "cleared by an operator's decision",
                         do: "find out which version is right: `reckon files reinstate ID` or `reckon files set-aside ID`")
        case .repaymentsIncomplete:
            return entry(.warning, "The plans of a day were made without its repayments file (refused or missing).",
                         when: "by a batch whose plan step ran while the day's repayments file was refused or had not come; "
                             + "cleared when it is posted or set aside",
                         do: "get the file posted (a fixed re-send, or set aside), then run the day again")
        case .missingPartnerPlan:
            return entry(.warning, "A loan disbursed the day before has no plan from any partner (seed 000 §15 f).",
                         when: "by the plan step of the first day run after the disbursement; cleared on the day a plan comes",
                         do: "ask the partner (the bank) for the loan's plan")
        case .planFailed:
            return entry(.warning, "A disbursed loan cannot be planned: its terms break its product's rules.",
                         when: "by the plan step, for a new loan whose plan the engine refuses",
                         do: "check the loan's record and its product in reckon.yaml; correct the one that is wrong")
        case .planWithdrawn:
            return entry(.info, "A corrected re-send of a disbursements file no longer has a loan: its plan is withdrawn.",
                         when: "by the plan step, after a correction superseded the file the loan came in",
                         do: "nothing, unless the partner withdrew the loan by mistake")
        case .repaymentWithoutPlan:
            return entry(.warning, "A repayment came for a loan that has no plan here.",
                         when: "by the plan step, for a posted repayment of an unknown loan; cleared when the loan is planned",
                         do: "find the loan's disbursement (a file missing or late?); refund if the loan is not ours")
        case .repaymentUnapplied:
            return entry(.warning, "A loan was paid more than it owed: the surplus could not be applied.",
                         when: "by the plan step, when a repayment exceeds everything due on the loan",
                         do: "confirm the payment with the platform and refund the surplus")
        case .earlySettlementShort:
            return entry(.warning, "An early settlement paid less than the pay-off: applied as a partial payment.",
                         when: "by the plan step, for a settlement repayment below the amount needed to close the loan",
                         do: "ask the platform for the difference, or correct the repayment's type")
        case .breaksFound:
            return entry(.warning, "A reconciliation rule found breaks for the day.",
                         when: "by the reconcile step, per rule and day with open breaks",
                         do: "work them: `reckon breaks list --date D --rule R`")
        case .balanceBelowWarning:
            return entry(.critical, "An account's closing balance is below its warning line (default 500,000.00, seed 000).",
                         when: "by the reconcile step, from the day's bank statement",
                         do: "top up the disbursement account before loans are paid out from it")
        case .alertCommandFailed:
            return entry(.warning, "The command configured for an alert code failed: the alert was not passed on.",
                         when: "after a batch, when an alert command exits non-zero, runs past its time limit or cannot be started",
                         do: "fix the command (its error is in the message) and pass the alert on by hand")
        case .sftpHostKeyRefused:
            return entry(.critical, "A partner's SFTP server presented a host key known_hosts does not pin: nothing was fetched from it.",
                         when: "by the collect step, per partner and day; the message names the host and both fingerprints",
                         do: "ask the partner, out of band, whether the key changed; pin the new key in known_hosts only if it did")
        case .inboundArchiveRefused:
            return entry(.critical, "A partner's zip archive was refused: nothing of it was unpacked; it is quarantined whole with a report.",
                         when: "by the collect step, per partner and archive; the message names the entry and the limit or rule it broke",
                         do: "read the report beside the quarantined archive; ask the partner for a proper archive (or raise the "
                             + "archive's limits in reckon.yaml if they are too tight), then remove the refused one from the drop")
        case .taskFailed:
            return entry(.warning, "A scheduled task's run failed: what it should have done is not done.",
                         when: "by a task's run (scheduled or by hand), per task; the message gives its result; cleared by its next successful run",
                         do: "read the result (`reckon tasks list`), fix the cause, then `reckon tasks run ID`")
        case .calendarNextYearMissing:
            return entry(.warning, "The working-day calendar has no holidays for next year (seed 000 §15 c).",
                         when: "by the calendar_next_year task (November by default) when the calendar file lacks next year; "
                             + "cleared by its next run after the year is added",
                         do: "add next year's holidays and make-up working days from the State Council notice to data/calendar-cn.yaml")
        case .lprFixingMissing:
            return entry(.warning, "No LPR fixing of this month is in the base-rate history (seed 000 §15 d).",
                         when: "by the lpr_reminder task (the 20th, or the next working day) when neither the shipped history "
                             + "nor an ingested base-rate file has a fixing published this month; cleared by its next run after one is",
                         do: "add the month's fixing to the base-rate history (data/lpr-history.csv) or ingest the core system's base-rate file")
        }
    }
}
