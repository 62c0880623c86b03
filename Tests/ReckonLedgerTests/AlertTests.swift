import Foundation
import GRDB
import ReckonCore
import ReckonFiles
@testable import ReckonLedger
import Testing

/// The one alert list (issue 10, item 6; seed 000 §19): every alert through AlertBook with a
/// catalogued code and severity, the list and who read it, the day's alert file, and the
/// commands run for alert codes.
@Suite("Alerts", .serialized)
struct AlertTests {
    // MARK: The catalogue

    /// Every code reckon raises, clears or looks up in SQL, wherever in Sources, read from the
    /// source text: a literal code must be catalogued, an alert is inserted only by AlertBook,
    /// and a `code:` argument Swift cannot check (a variable) is refused.
    @Test func everyAlertCodeInTheSourcesIsCatalogued() throws {
        let (codes, problems) = try Self.alertCodesInSources()
        #expect(problems.isEmpty, "\(problems)")
        let catalogued = Set(AlertCode.allCases.map(\.rawValue))
        for (code, places) in codes.sorted(by: { $0.key < $1.key }) {
            #expect(catalogued.contains(code), "\(code) is not in AlertCatalogue (used at \(places))")
        }
        // The scan finds what is raised today (it cannot pass by finding nothing).
        #expect(Set(codes.keys).isSuperset(of: [
            "file_missing", "earlier_version_resent", "repayments_incomplete", "missing_partner_plan", "plan_failed",
            "plan_withdrawn", "repayment_without_plan", "repayment_unapplied", "early_settlement_short", "alert_command_failed",
        ]), "\(codes.keys.sorted())")
    }

    @Test func theScanRefusesAnUncataloguedOrUncheckableCode() throws {
        let (codes, problems) = Self.alertCodes(in: """
            try AlertBook.raise(db, code: "made_up", severity: .info, subject: s, day: d, message: m, at: t)
            try AlertBook.raise(db, code: someCode, severity: .info, subject: s, day: d, message: m, at: t)
            try db.execute(sql: "INSERT INTO alert (kind) VALUES ('x')")
            try db.execute(sql: "UPDATE alert SET cleared_on = ? WHERE kind = 'also_made_up' AND e.kind = 'repayment'")
            """, file: "Sources/ReckonLedger/Example.swift")
        #expect(codes.keys.sorted() == ["also_made_up", "made_up"])
        #expect(problems == [
            "Sources/ReckonLedger/Example.swift:2: AlertBook.raise(code: someCode …): give the code as a literal or an AlertCode",
            "Sources/ReckonLedger/Example.swift:3: inserts into alert itself: raise through AlertBook",
        ])
    }

    @Test func theReadmeCataloguesEveryCodeWithItsSeverity() throws {
        let readme = try String(contentsOfFile: repositoryRoot + "/README.md", encoding: .utf8)
        var rows: [String: String] = [:]
        for line in readme.split(separator: "\n") where line.hasPrefix("| `") {
            let cells = line.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
            guard cells.count >= 4, cells[0].hasPrefix("`"), AlertSeverity(rawValue: cells[1]) != nil else { continue }
            rows[cells[0].trimmingCharacters(in: CharacterSet(charactersIn: "`"))] = cells[1]
        }
        #expect(rows == Dictionary(uniqueKeysWithValues: AlertCatalogue.entries.map { ($0.code.rawValue, $0.severity.rawValue) }))
    }

    @Test func theCatalogueGivesEachCodeItsSeverity() {
        #expect(AlertCatalogue.entries.count == AlertCode.allCases.count)
        #expect(AlertCatalogue.severity(of: "breaks_found") == .warning)
        #expect(AlertCatalogue.severity(of: "balance_below_warning") == .critical)
        #expect(AlertCatalogue.severity(of: "alert_command_failed") == .warning)
        #expect(AlertCatalogue.severity(of: "plan_withdrawn") == .info)
        #expect(AlertCatalogue.severity(of: "no_such_code") == nil)
        for entry in AlertCatalogue.entries {
            #expect(!entry.meaning.isEmpty && !entry.raisedWhen.isEmpty && !entry.whatToDo.isEmpty, "\(entry.code)")
        }
    }

    @Test func commandsForCodesReckonNeverRaisesAreNamed() throws {
        let folder = try DayFolder(copy: false)
        var config = folder.config
        config.reconciliation.alertCommands = ["file_missing": AlertCommand(arguments: ["/bin/true"], timeoutSeconds: 1)]
        #expect(AlertCatalogue.unknownCommandCodes(config) == nil)
        config.reconciliation.alertCommands["fle_missing"] = AlertCommand(arguments: ["/bin/true"], timeoutSeconds: 1)
        #expect(AlertCatalogue.unknownCommandCodes(config) == "reconciliation.alert_commands: 'fle_missing' is not an alert code; "
                + "the codes are " + AlertCode.allCases.map(\.rawValue).joined(separator: ", "))
    }

    // MARK: Raising

    @Test func anAlertRaisedAgainIsTheSameAlertWithItsFirstRaiseTime() throws {
        let (folder, ledger) = try Self.scratch()
        defer { withExtendedLifetime(folder) {} }
        let first = try ledger.write { db in
            try AlertBook.raise(db, .missingPartnerPlan, subject: "L1", day: "2024-12-17", message: "m", at: "2024-12-17T01:00:00Z")
        }
        let again = try ledger.write { db in
            try AlertBook.raise(db, .missingPartnerPlan, subject: "L1", day: "2024-12-17", message: "m", at: "2024-12-18T01:00:00Z")
        }
        // Raised for an earlier day (a day run after a later one): it moves to that day.
        let earlier = try ledger.write { db in
            try AlertBook.raise(db, .missingPartnerPlan, subject: "L1", day: "2024-12-16", message: "m2", at: "2024-12-19T01:00:00Z")
        }
        #expect([first, again, earlier] == [true, false, false])
        let alert = try #require(try ledger.alerts().only)
        #expect(alert.businessDate == "2024-12-16" && alert.message == "m2" && alert.raisedAt == "2024-12-17T01:00:00Z")
        #expect(alert.severity == .warning)
        // The catalogue's severity wins over a caller's.
        try ledger.write { db in
            try AlertBook.raise(db, code: "plan_withdrawn", severity: .critical, subject: "L2", day: "2024-12-16", message: "m", at: "t")
        }
        #expect(try ledger.alerts(Ledger.AlertFilter(code: "plan_withdrawn")).map(\.severity) == [.info])
    }

    @Test func aConditionThatComesBackOpensItsAlertAgainUnreadAndAnnounced() throws {
        let (folder, ledger) = try Self.scratch()
        defer { withExtendedLifetime(folder) {} }
        func raise(at time: String) throws -> Bool {
            try ledger.write { db in
                try AlertBook.raise(db, .fileMissing, subject: "bank/plans/2024-12-16", day: "2024-12-16", message: "gone",
                                    at: time, reopening: true)
            }
        }
        #expect(try raise(at: "2024-12-16T01:00:00Z"))
        #expect(try !raise(at: "2024-12-16T02:00:00Z"))
        _ = try ledger.runAlertCommands(date: CivilDate(year: 2024, month: 12, day: 16)!, config: folder.config)
        let id = try #require(try ledger.alerts().only?.id)
        _ = try ledger.markAlertsRead(ids: [id], by: "alice", at: "2024-12-16T03:00:00Z")
        try ledger.write { db in try AlertBook.clear(db, .fileMissing, subject: "bank/plans/2024-12-16", day: "2024-12-16") }
        #expect(try Self.pending(ledger) == [])
        #expect(try raise(at: "2024-12-16T04:00:00Z"))
        let reopened = try #require(try ledger.alerts().only)
        #expect(reopened.id == id && reopened.clearedOn == nil && reopened.readAt == nil && reopened.readBy == nil)
        #expect(reopened.raisedAt == "2024-12-16T04:00:00Z")
        #expect(try Self.pending(ledger) == [id])
    }

    /// A ledger from before the catalogue: its alerts all took migration 010's default
    /// severity; 012 gives them the catalogue's.
    @Test func alertsOfAnEarlierLedgerGetTheirSeverities() throws {
        let older = try OlderLedger(upTo: "010 reconciliation: breaks, their history and actions, runs; alerts read", rows: """
            INSERT INTO alert (business_date, kind, subject, message, raised_at) VALUES
                ('2024-12-16', 'plan_withdrawn', 'L1', 'm', 't'), ('2024-12-16', 'file_missing', 'x', 'm', 't')
            """)
        defer { withExtendedLifetime(older) {} }
        let path = older.path
        let ledger = try Ledger(path: path)
        #expect(try ledger.alerts().map { "\($0.kind) \($0.severity)" } == ["file_missing warning", "plan_withdrawn info"])
        #expect(try Self.pending(ledger) == [])
    }

    // MARK: The list and who read it

    @Test func theListFiltersByDayCodeUnreadAndRaisedTimeAndKeepsWhoReadWhat() throws {
        let (folder, ledger) = try Self.scratch()
        defer { withExtendedLifetime(folder) {} }
        let a = try Self.raise(ledger, .fileMissing, "bank/plans/2024-12-16", day: "2024-12-16", at: "2024-12-16T00:59:59Z")
        let b = try Self.raise(ledger, .fileMissing, "bank/plans/2024-12-17", day: "2024-12-17", at: "2024-12-17T01:00:00Z")
        let c = try Self.raise(ledger, .planFailed, "L1", day: "2024-12-16", at: "2024-12-16T01:00:00Z")
        let d = try Self.raise(ledger, .missingPartnerPlan, "L2", day: "2024-12-17", at: "2024-12-17T01:00:01Z")
        func ids(_ filter: Ledger.AlertFilter) throws -> [Int64] { try ledger.alerts(filter).map(\.id) }
        #expect(try ids(.init()) == [a, c, b, d])  // by day, then code and subject
        #expect(try ids(.init(date: CivilDate(year: 2024, month: 12, day: 16)!)) == [a, c])
        #expect(try ids(.init(code: "file_missing")) == [a, b])
        // Before is strict: an alert raised at the very second is not before it.
        #expect(try ids(.init(raisedBefore: "2024-12-16T01:00:00Z")) == [a])
        #expect(try ids(.init(raisedBefore: "2024-12-16T01:00:01Z")) == [a, c])

        let first = try ledger.markAlertsRead(ids: [c, a], by: "alice", at: "2024-12-18T02:00:00Z")
        #expect(first.marked.map(\.id) == [a, c] && first.alreadyRead.isEmpty)
        #expect(first.marked.allSatisfy { $0.readBy == "alice" && $0.readAt == "2024-12-18T02:00:00Z" })
        #expect(try ids(.init(unreadOnly: true)) == [b, d])

        // The first reader is kept.
        let second = try ledger.markAlertsRead(ids: [a, b], by: "bob", at: "2024-12-18T03:00:00Z")
        #expect(second.marked.map(\.id) == [b] && second.alreadyRead.map(\.id) == [a])
        #expect(try ledger.alerts().first { $0.id == a }?.readBy == "alice")

        // An id the ledger does not have marks nothing.
        let unknown = #expect(throws: LedgerError.self) {
            try ledger.markAlertsRead(ids: [d, 999], by: "carol", at: "2024-12-18T04:00:00Z")
        }
        #expect(unknown?.message == "no alert #999 in the ledger (reckon alerts list lists them); nothing was marked read")
        #expect(try ids(.init(unreadOnly: true)) == [d])
        let nobody = #expect(throws: LedgerError.self) {
            try ledger.markAlertsRead(ids: [d], by: " ", at: "2024-12-18T04:00:00Z")
        }
        #expect(nobody?.message == "who read the alerts is needed (--as NAME, or $USER)")

        // Every unread alert a filter takes, at once.
        #expect(try ledger.markAlertsRead(.init(raisedBefore: "2024-12-17T01:00:01Z"), by: "carol", at: "t").marked.isEmpty)
        let all = try ledger.markAlertsRead(.init(raisedBefore: "2024-12-17T01:00:02Z"), by: "carol", at: "2024-12-18T05:00:00Z")
        #expect(all.marked.map(\.id) == [d] && all.marked.first?.readBy == "carol")
        #expect(try ids(.init(unreadOnly: true)) == [])
    }

    // MARK: The day's alert file

    @Test func theDaysAlertFileHasOneObjectPerLineByCodeAndSubject() throws {
        let (folder, ledger) = try Self.scratch()
        defer { withExtendedLifetime(folder) {} }
        let day = CivilDate(year: 2024, month: 12, day: 16)!
        let late = try Self.raise(ledger, .planFailed, "L1", day: "2024-12-16", at: "2024-12-16T01:00:02Z",
                                  message: "loan \"L1\" cannot be planned:\nterm 0")
        let missing = try Self.raise(ledger, .fileMissing, "bank/plans/2024-12-16", day: "2024-12-16", at: "2024-12-16T01:00:01Z")
        _ = try Self.raise(ledger, .fileMissing, "bank/plans/2024-12-17", day: "2024-12-17", at: "2024-12-17T01:00:00Z")
        let early = try Self.raise(ledger, .fileMissing, "bank/bills/2024-12-16", day: "2024-12-16", at: "2024-12-16T01:00:03Z")
        try ledger.write { db in try AlertBook.clear(db, .fileMissing, subject: "bank/bills/2024-12-16", day: "2024-12-18") }

        let written = try ledger.writeAlertFile(date: day, config: folder.config)
        #expect(written.path == folder.root + "/outbox/alerts/2024-12-16.jsonl" && written.count == 3)
        let expected = """
            {"id":\(early),"business_date":"2024-12-16","code":"file_missing","severity":"warning","subject":"bank/bills/2024-12-16","message":"message of bank/bills/2024-12-16","raised_at":"2024-12-16T01:00:03Z","cleared_on":"2024-12-18"}
            {"id":\(missing),"business_date":"2024-12-16","code":"file_missing","severity":"warning","subject":"bank/plans/2024-12-16","message":"message of bank/plans/2024-12-16","raised_at":"2024-12-16T01:00:01Z","cleared_on":null}
            {"id":\(late),"business_date":"2024-12-16","code":"plan_failed","severity":"warning","subject":"L1","message":"loan \\"L1\\" cannot be planned:\\nterm 0","raised_at":"2024-12-16T01:00:02Z","cleared_on":null}

            """
        let bytes = try Data(contentsOf: URL(fileURLWithPath: written.path))
        #expect(String(decoding: bytes, as: UTF8.self) == expected)

        // Reading the alerts is not what the file says: written again, the same bytes.
        _ = try ledger.markAlertsRead(ids: [missing], by: "alice", at: "2024-12-16T05:00:00Z")
        try ledger.writeAlertFile(date: day, config: folder.config)
        #expect(try Data(contentsOf: URL(fileURLWithPath: written.path)) == bytes)
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.root + "/outbox/alerts") == ["2024-12-16.jsonl"])

        // Asked to stop while writing (a graceful stop): the earlier file stays, nothing is left beside it.
        try ledger.write { db in try AlertBook.clear(db, .fileMissing, subject: "bank/plans/2024-12-16", day: "2024-12-18") }
        do {
            _ = try ledger.writeAlertFile(date: day, config: folder.config, shouldStop: { true })
            Issue.record("an alert file asked to stop was written")
        } catch {
            #expect(error.abandoned && error.message.contains("2024-12-16"))
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: written.path)) == bytes)
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.root + "/outbox/alerts") == ["2024-12-16.jsonl"])

        // A day without alerts has its file, empty.
        let quiet = try ledger.writeAlertFile(date: CivilDate(year: 2024, month: 12, day: 20)!, config: folder.config)
        let quietBytes = try Data(contentsOf: URL(fileURLWithPath: quiet.path))
        #expect(quiet.count == 0 && quietBytes.isEmpty)
    }

    /// A batch writes its day's alert file last; run again, it writes the same bytes: the
    /// times in it are the ledger's first-raise times, not the time of the run.
    @Test func aDayRunAgainWritesTheSameAlertFileByteForByte() throws {
        let folder = try DayFolder(readiness: PlanStepTests.allReady, copy: false, expectedFiles: true)
        defer { withExtendedLifetime(folder) {} }
        let ledger = try folder.ledger()
        let tuesday = CivilDate(year: 2024, month: 12, day: 17)!
        let first = try Batch.run(BatchOptions(date: tuesday), config: folder.config, ledger: ledger)
        let path = folder.root + "/outbox/alerts/2024-12-17.jsonl"
        #expect(first.alertFile == path && first.alertFileCount == 8, "\(Batch.summary(first))")
        // The alerts' raise times are made distinct and old, so a run writing its own clock
        // into the file could not give them back.
        try ledger.write { db in try db.execute(sql: "UPDATE alert SET raised_at = printf('2000-01-01T00:00:%02dZ', id)") }
        let second = try Batch.run(BatchOptions(date: tuesday), config: folder.config, ledger: ledger)
        #expect(second.alertFileCount == 8)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        let lines = try String(decoding: bytes, as: UTF8.self).split(separator: "\n").map {
            try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
        #expect(lines.map { $0["raised_at"] as? String } == lines.map { String(format: "2000-01-01T00:00:%02dZ", $0["id"] as? Int ?? -1) })
        #expect(lines.map { "\($0["code"] ?? "") \($0["subject"] ?? "")" } == [
            "file_missing bank/plans/2024-12-17", "file_missing bank/settlements/2024-12-17", "file_missing bank/statements/2024-12-17",
            "file_missing channel/bills/2024-12-17", "file_missing core/loan_ledger/2024-12-17", "file_missing platform/loans/2024-12-17",
            "file_missing platform/repayments/2024-12-17", "repayments_incomplete platform/repayments/2024-12-17",
        ])
        _ = try Batch.run(BatchOptions(date: tuesday), config: folder.config, ledger: ledger)
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == bytes)
    }

    // MARK: Alert commands

    @Test func aCommandGetsTheAlertAsJSONOnItsStandardInputOnce() throws {
        let (folder, ledger) = try Self.scratch()
        defer { withExtendedLifetime(folder) {} }
        let scripts = try Scripts()
        defer { withExtendedLifetime(scripts) {} }
        var config = folder.config
        config.reconciliation.alertCommands = [
            "file_missing": AlertCommand(arguments: [scripts.record, scripts.folder + "/got", scripts.folder + "/env"], timeoutSeconds: 10),
        ]
        let a = try Self.raise(ledger, .fileMissing, "bank/plans/2024-12-16", day: "2024-12-16", at: "2024-12-16T01:00:00Z")
        _ = try Self.raise(ledger, .planFailed, "L1", day: "2024-12-16", at: "2024-12-16T01:00:00Z")
        let b = try Self.raise(ledger, .fileMissing, "bank/bills/2024-12-16", day: "2024-12-16", at: "2024-12-16T01:00:01Z")
        // Cleared before the commands run: nothing to pass on.
        _ = try Self.raise(ledger, .fileMissing, "core/loan_ledger/2024-12-16", day: "2024-12-16", at: "2024-12-16T01:00:02Z")
        try ledger.write { db in try AlertBook.clear(db, .fileMissing, subject: "core/loan_ledger/2024-12-16", day: "2024-12-16") }

        let day = CivilDate(year: 2024, month: 12, day: 16)!
        let report = try ledger.runAlertCommands(date: day, config: config)
        #expect(report.ran == 2 && report.failures.isEmpty)
        let alerts = try ledger.alerts()
        let json = [a, b].map { id in alerts.first { $0.id == id }!.json() + "\n" }.joined()
        #expect(try String(contentsOfFile: scripts.folder + "/got", encoding: .utf8) == json)
        #expect(try String(contentsOfFile: scripts.folder + "/env", encoding: .utf8) == "\(a) file_missing warning\n\(b) file_missing warning\n")
        #expect(try Self.pending(ledger) == [])

        // Announced once: the next run passes on nothing again.
        #expect(try ledger.runAlertCommands(date: day, config: config).ran == 0)
        #expect(try String(contentsOfFile: scripts.folder + "/got", encoding: .utf8) == json)
    }

    @Test func aCommandThatFailsTimesOutOrCannotStartIsRecordedAndTheOthersStillRun() throws {
        let (folder, ledger) = try Self.scratch()
        defer { withExtendedLifetime(folder) {} }
        let scripts = try Scripts()
        defer { withExtendedLifetime(scripts) {} }
        var config = folder.config
        config.reconciliation.alertCommands = [
            "file_missing": AlertCommand(arguments: [scripts.fail], timeoutSeconds: 10),
            "plan_failed": AlertCommand(arguments: [scripts.slow], timeoutSeconds: 1),
            "missing_partner_plan": AlertCommand(arguments: [scripts.stubborn], timeoutSeconds: 1),
            "repayment_unapplied": AlertCommand(arguments: ["/nonexistent/notify"], timeoutSeconds: 10),
            "early_settlement_short": AlertCommand(arguments: ["no-such-notifier-on-path"], timeoutSeconds: 10),
            "earlier_version_resent": AlertCommand(arguments: [scripts.record, scripts.folder + "/got", scripts.folder + "/env"],
                                                   timeoutSeconds: 10),
        ]
        let missing = try Self.raise(ledger, .fileMissing, "bank/plans/2024-12-16", day: "2024-12-16", at: "t")
        let failed = try Self.raise(ledger, .planFailed, "L1", day: "2024-12-16", at: "t")
        let noPlan = try Self.raise(ledger, .missingPartnerPlan, "L2", day: "2024-12-16", at: "t")
        let unapplied = try Self.raise(ledger, .repaymentUnapplied, "p/f:3", day: "2024-12-16", at: "t")
        let short = try Self.raise(ledger, .earlySettlementShort, "p/f:4", day: "2024-12-16", at: "t")
        let resent = try Self.raise(ledger, .earlierVersionResent, "p/f/2024-12-16/abc", day: "2024-12-16", at: "t")

        let report = try ledger.runAlertCommands(date: CivilDate(year: 2024, month: 12, day: 17)!, config: config, graceSeconds: 1)
        #expect(report.ran == 6)
        let expected = [
            "file_missing #\(missing): the command for file_missing alert #\(missing) (\(scripts.fail)) exited with status 3: "
                + "the gateway said no / try later",
            "plan_failed #\(failed): the command for plan_failed alert #\(failed) (\(scripts.slow)) did not finish within its limit "
                + "of 1 s and was stopped: waiting",
            "missing_partner_plan #\(noPlan): the command for missing_partner_plan alert #\(noPlan) (\(scripts.stubborn)) did not "
                + "finish within its limit of 1 s and was stopped",
            "repayment_unapplied #\(unapplied): the command for repayment_unapplied alert #\(unapplied) (/nonexistent/notify) "
                + "could not be started: /nonexistent/notify: no such program",
            "early_settlement_short #\(short): the command for early_settlement_short alert #\(short) (no-such-notifier-on-path) "
                + "could not be started: no-such-notifier-on-path: no such program on PATH",
        ]
        #expect(report.failures == expected.map { String($0.drop { $0 != ":" }.dropFirst(2)) })
        let recorded = try ledger.alerts(.init(code: "alert_command_failed"))
        #expect(recorded.map { "\($0.subject): \($0.message)" }.sorted() == expected.sorted())
        #expect(recorded.allSatisfy { $0.businessDate == "2024-12-17" && $0.severity == .warning && $0.clearedOn == nil })
        // The command after the failures ran all the same.
        #expect(try String(contentsOfFile: scripts.folder + "/env", encoding: .utf8) == "\(resent) earlier_version_resent warning\n")
        #expect(try Self.pending(ledger) == [])
    }

    @Test func aFailingCommandForFailuresIsRecordedOnceAndNotRunForItself() throws {
        let (folder, ledger) = try Self.scratch()
        defer { withExtendedLifetime(folder) {} }
        let scripts = try Scripts()
        defer { withExtendedLifetime(scripts) {} }
        var config = folder.config
        config.reconciliation.alertCommands = [
            "file_missing": AlertCommand(arguments: [scripts.fail], timeoutSeconds: 10),
            "alert_command_failed": AlertCommand(arguments: [scripts.fail], timeoutSeconds: 10),
        ]
        let missing = try Self.raise(ledger, .fileMissing, "bank/plans/2024-12-16", day: "2024-12-16", at: "t")
        let day = CivilDate(year: 2024, month: 12, day: 16)!
        let report = try ledger.runAlertCommands(date: day, config: config)
        #expect(report.ran == 2 && report.failures.count == 2)
        let failure = try #require(try ledger.alerts(.init(code: "alert_command_failed")).first { $0.subject == "file_missing #\(missing)" })
        #expect(try ledger.alerts(.init(code: "alert_command_failed")).map(\.subject)
                == ["alert_command_failed #\(failure.id)", "file_missing #\(missing)"])
        #expect(try Self.pending(ledger) == [])
        #expect(try ledger.runAlertCommands(date: day, config: config).ran == 0)
    }

    /// The batch passes its alerts on once its steps have committed; a command that fails
    /// fails the run, which still ends and is recorded, and the day's file has the failure.
    @Test func aBatchRunsTheCommandsAfterItsStepsAndAFailingOneDoesNotStopIt() throws {
        let folder = try DayFolder(readiness: PlanStepTests.allReady, copy: false, expectedFiles: true)
        defer { withExtendedLifetime(folder) {} }
        let scripts = try Scripts()
        defer { withExtendedLifetime(scripts) {} }
        var config = folder.config
        config.reconciliation.alertCommands = [
            "file_missing": AlertCommand(arguments: [scripts.record, scripts.folder + "/got", scripts.folder + "/env"], timeoutSeconds: 10),
            "repayments_incomplete": AlertCommand(arguments: [scripts.fail], timeoutSeconds: 10),
        ]
        let ledger = try folder.ledger()
        let tuesday = CivilDate(year: 2024, month: 12, day: 17)!
        let report = try Batch.run(BatchOptions(date: tuesday), config: config, ledger: ledger)
        #expect(report.alertCommands?.ran == 8 && report.alertCommands?.failures.count == 1)
        #expect(report.outcome == .failed)
        let failure = try #require(report.alertCommands?.failures.first)
        #expect(report.errors.contains(failure))
        #expect(Batch.summary(report).hasSuffix("; 8 alert commands run, 1 failed"), "\(Batch.summary(report))")
        #expect(try ledger.batchRuns().first?.status == "failed")
        let env = try String(contentsOfFile: scripts.folder + "/env", encoding: .utf8).split(separator: "\n")
        #expect(env.count == 7 && env.allSatisfy { $0.hasSuffix(" file_missing warning") })
        let file = try String(contentsOfFile: folder.root + "/outbox/alerts/2024-12-17.jsonl", encoding: .utf8)
        #expect(file.split(separator: "\n").count == 9 && file.contains("\"code\":\"alert_command_failed\""))

        // Run again: nothing new to pass on.
        let again = try Batch.run(BatchOptions(date: tuesday), config: config, ledger: ledger)
        #expect(again.alertCommands?.ran == 0 && again.outcome == .incomplete, "\(Batch.summary(again))")
        #expect(try String(contentsOfFile: scripts.folder + "/env", encoding: .utf8).split(separator: "\n").count == 7)
    }

    // MARK: Support

    /// Small shell scripts in a scratch folder, run as alert commands.
    final class Scripts {
        let folder = NSTemporaryDirectory() + "reckon-alert-scripts-" + UUID().uuidString
        /// Appends its standard input to the file `$1`, and the alert's id, code and severity
        /// from the environment to `$2`.
        var record: String { folder + "/record.sh" }
        /// Says why on standard error and exits 3.
        var fail: String { folder + "/fail.sh" }
        /// Sleeps well past a one-second limit.
        var slow: String { folder + "/slow.sh" }
        /// Ignores SIGTERM (as its sleep does): only SIGKILL stops it.
        var stubborn: String { folder + "/stubborn.sh" }

        init() throws {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            for (path, text) in [
                (record, "cat >> \"$1\"\necho \"$RECKON_ALERT_ID $RECKON_ALERT_CODE $RECKON_ALERT_SEVERITY\" >> \"$2\"\n"),
                (fail, "echo 'the gateway said no' >&2\necho 'try later' >&2\nexit 3\n"),
                (slow, "echo waiting >&2\nsleep 60\n"),
                (stubborn, "trap '' TERM\nsleep 60\n"),
            ] {
                try ("#!/bin/sh\n" + text).write(toFile: path, atomically: true, encoding: .utf8)
                try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: path)
            }
        }

        deinit { try? FileManager.default.removeItem(atPath: folder) }
    }

    static func scratch() throws -> (DayFolder, Ledger) {
        let folder = try DayFolder(copy: false)
        return (folder, try folder.ledger())
    }

    @discardableResult
    static func raise(_ ledger: Ledger, _ code: AlertCode, _ subject: String, day: String, at time: String,
                      message: String? = nil) throws -> Int64 {
        try ledger.write { db in
            try AlertBook.raise(db, code, subject: subject, day: day, message: message ?? "message of \(subject)", at: time)
            return try Int64.fetchOne(db, sql: "SELECT id FROM alert WHERE kind = ? AND subject = ?", arguments: [code.rawValue, subject])!
        }
    }

    static func pending(_ ledger: Ledger) throws -> [Int64] {
        try ledger.read { db in try Int64.fetchAll(db, sql: "SELECT id FROM alert WHERE announce_pending = 1 ORDER BY id") }
    }

    // MARK: Reading the sources

    /// Every alert code the sources name, with where, and what breaks the rules.
    static func alertCodesInSources() throws -> (codes: [String: [String]], problems: [String]) {
        var codes: [String: [String]] = [:], problems: [String] = []
        let sources = repositoryRoot + "/Sources"
        guard let files = FileManager.default.enumerator(atPath: sources) else { return ([:], ["no \(sources)"]) }
        for case let relative as String in files where relative.hasSuffix(".swift") {
            let text = try String(contentsOfFile: sources + "/" + relative, encoding: .utf8)
            let found = alertCodes(in: text, file: "Sources/" + relative)
            codes.merge(found.codes) { $0 + $1 }
            problems += found.problems
        }
        return (codes, problems)
    }

    /// The codes one source text names: `AlertBook.raise`/`clear` calls (a literal `code:`,
    /// `AlertCode.x.rawValue`, or an `AlertCode` case), calls of a step's own `raise(.x`, and
    /// `kind = '…'`/`kind IN ('…')` in SQL about alerts. Comment lines are skipped.
    static func alertCodes(in text: String, file: String) -> (codes: [String: [String]], problems: [String]) {
        var codes: [String: [String]] = [:], problems: [String] = []
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map {
            $0.trimmingCharacters(in: .whitespaces).hasPrefix("//") ? "" : String($0)
        }
        let code = lines.joined(separator: "\n")
        let caseNames = Dictionary(uniqueKeysWithValues: AlertCode.allCases.map { ("\($0)", $0.rawValue) })
        func lineNumber(_ offset: String.Index) -> Int { code[..<offset].filter { $0 == "\n" }.count + 1 }
        func found(_ name: String, _ at: String.Index) { codes[name, default: []].append("\(file):\(lineNumber(at))") }
        func matches(_ pattern: String, in text: String) -> [(Range<String.Index>, [String])] {
            let regex = try! NSRegularExpression(pattern: pattern)
            return regex.matches(in: text, range: NSRange(text.startIndex..., in: text)).map { match in
                (Range(match.range, in: text)!, (1..<match.numberOfRanges).map { index in
                    Range(match.range(at: index), in: text).map { String(text[$0]) } ?? ""
                })
            }
        }
        for (range, groups) in matches(#"AlertBook\.(?:raise|clear)\(\s*\w+\s*,\s*(code:\s*)?([^,)]*)"#, in: code) {
            let argument = groups[1].trimmingCharacters(in: .whitespaces)
            if let literal = matches(#"^"([^"]*)"$"#, in: argument).first?.1.first {
                found(literal, range.lowerBound)
            } else if let name = matches(#"^(?:AlertCode)?\.(\w+)(?:\.rawValue)?$"#, in: argument).first?.1.first {
                found(caseNames[name] ?? "AlertCode.\(name)", range.lowerBound)
            } else if !groups[0].isEmpty && !file.hasSuffix("ReckonLedger/Alerts.swift") {
                problems.append("\(file):\(lineNumber(range.lowerBound)): AlertBook.\(code[range].contains("raise") ? "raise" : "clear")"
                                + "(code: \(argument) …): give the code as a literal or an AlertCode")
            }
        }
        for (range, groups) in matches(#"(?<![\w.])raise\(\.(\w+)"#, in: code) {
            found(caseNames[groups[0]] ?? "AlertCode.\(groups[0])", range.lowerBound)
        }
        for (range, _) in matches(#"INSERT INTO alert\b"#, in: code) where !file.hasSuffix("ReckonLedger/Alerts.swift") {
            problems.append("\(file):\(lineNumber(range.lowerBound)): inserts into alert itself: raise through AlertBook")
        }
        for (offset, line) in lines.enumerated() where line.contains("alert") {
            let at = code.index(code.startIndex, offsetBy: lines[..<offset].reduce(0) { $0 + $1.count + 1 })
            for (_, groups) in matches(#"(?<![\w.])(?:a\.)?kind\s*=\s*'(\w+)'"#, in: line) { found(groups[0], at) }
            for (_, groups) in matches(#"kind IN \(([^)]*)\)"#, in: line) {
                for (_, quoted) in matches(#"'(\w+)'"#, in: groups[0]) { found(quoted[0], at) }
            }
        }
        return (codes, problems)
    }
}

extension Array {
    /// The one element of an array that should have exactly one.
    var only: Element? { count == 1 ? first : nil }
}
