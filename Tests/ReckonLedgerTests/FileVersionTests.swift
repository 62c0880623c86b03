import Foundation
import ReckonCore
import ReckonFiles
@testable import ReckonLedger
import Testing

/// Versions of a day's file, refusals tried again, operators' decisions, and where refused
/// files are kept (issue 9, items 8, 10 and 15).
@Suite("File versions and decisions", .serialized)
struct FileVersionTests {
    let day = "2024-12-15"

    /// The platform's repayments of 2024-12-15 and a correction of them (R2 paid 100.00 less
    /// principal), posted in that order after the loans they repay.
    func correctedDay(_ space: Workspace) throws -> (original: IngestResult, corrected: IngestResult, originalPath: String, correctedPath: String) {
        _ = try space.ingest(try space.file("platform/PLAT_LOAN_20241115.csv"), "platform", "loans")
        let originalPath = try space.file("platform/PLAT_REPAY_20241215.csv")
        let original = try space.ingest(originalPath, "platform", "repayments")
        let correctedPath = try space.file("platform/PLAT_REPAY_20241215.csv", named: "corrected/PLAT_REPAY_20241215.csv") { text in
            text.replacingOccurrences(of: "3333.33,180.00,0.00,0.00,3513.33", with: "3233.33,180.00,0.00,0.00,3413.33")
                .replacingOccurrences(of: "#TOTAL,5,9753.71", with: "#TOTAL,5,9653.71")
        }
        let corrected = try space.ingest(correctedPath, "platform", "repayments")
        #expect(corrected.superseded == original.fileID)
        return (original, corrected, originalPath, correctedPath)
    }

    @Test func theOriginalSentAgainAfterItsCorrectionIsNotPostedAndRaisesAnAlertNamingBothVersions() throws {
        let space = try Workspace()
        let (original, corrected, originalPath, correctedPath) = try correctedDay(space)
        let originalID = try #require(original.fileID), correctedID = try #require(corrected.fileID)
        let before = try space.ledger.export()
        let resent = try space.ingest(originalPath, "platform", "repayments")
        #expect(resent.outcome == .stale)
        let versions = try #require(resent.versions)
        #expect(versions.repeats.fileID == original.fileID && versions.current.fileID == corrected.fileID)
        let originalSHA = try FileDigest(path: originalPath).hex, correctedSHA = try FileDigest(path: correctedPath).hex
        #expect(versions.delivery.sha256 == originalSHA && versions.repeats.sha256 == originalSHA && versions.current.sha256 == correctedSHA)
        // Nothing posted: the correction stays current (R2's principal 3,233.33).
        #expect(try space.balance("loan:L202411150002:principal") == 2_000_000 - 323_333)
        let alerts = try space.ledger.alerts()
        #expect(alerts.map { "\($0.kind) \($0.subject)" } == ["earlier_version_resent platform/repayments/2024-12-15/\(originalSHA.prefix(12))"])
        #expect(alerts.first?.message == "platform/repayments 2024-12-15: PLAT_REPAY_20241215.csv was sent again (SHA-256 \(originalSHA.prefix(12))…, "
                + "received \(versions.delivery.receivedAt)); it is the earlier version PLAT_REPAY_20241215.csv (file #\(originalID), "
                + "SHA-256 \(originalSHA.prefix(12))…, received \(versions.repeats.receivedAt)), which PLAT_REPAY_20241215.csv "
                + "(file #\(correctedID), SHA-256 \(correctedSHA.prefix(12))…, received \(versions.current.receivedAt)) corrected. "
                + "The correction stays current and nothing was posted; `reckon files reinstate \(originalID) --reason …` "
                + "makes the earlier version current again.")
        // Sent a third time: the same undecided delivery, no second alert.
        let third = try space.ingest(originalPath, "platform", "repayments")
        #expect(third.outcome == .stale && third.fileID == resent.fileID)
        #expect(try space.ledger.alerts().count == 1)
        let dayFiles = try space.ledger.dayFiles(CivilDate(iso: day)!, config: space.config, calendar: nil)
        #expect(dayFiles.stale.map(\.fileID) == [try #require(resent.fileID)])
        #expect(!dayFiles.isComplete)
        // The ledger's postings are the correction's: only the delivery's row was added.
        #expect(try space.ledger.export().replacingOccurrences(of: "\tstale\t", with: "") != before)
        #expect(try space.ledger.verify().ok)
    }

    @Test func anOperatorReinstatesTheEarlierVersionWhichReversesTheCorrection() throws {
        let space = try Workspace()
        let (original, corrected, originalPath, correctedPath) = try correctedDay(space)
        let resent = try space.ingest(originalPath, "platform", "repayments")
        let originalID = try #require(original.fileID)
        let reinstated = try space.ledger.reinstate(fileID: try #require(resent.fileID), reason: "the correction was sent by mistake",
                                                    actor: "alice", config: space.config)
        #expect(reinstated.outcome == .posted)
        #expect(reinstated.superseded == corrected.fileID)
        // The original's figures again: R2 paid 3,333.33 of principal.
        #expect(try space.balance("loan:L202411150002:principal") == 2_000_000 - 333_333)
        #expect(try space.balance("channel:WXPAY:clearing") == 975_371)
        #expect(try space.ledger.verify().ok)
        // Every version stays visible, the reinstated one under its own name.
        let files = try space.ledger.receivedFiles(date: CivilDate(iso: day)!)
        #expect(files.map { "\($0.name) \($0.status)" } == ["PLAT_REPAY_20241215.csv posted", "PLAT_REPAY_20241215.csv stale",
                                                            "PLAT_REPAY_20241215.csv superseded", "PLAT_REPAY_20241215.csv superseded"])
        let actions = try space.ledger.fileActions()
        #expect(actions.map { "\($0.kind.rawValue) #\($0.fileID ?? 0) \($0.actor): \($0.reason)" }
                == ["reinstate #\(originalID) alice: the correction was sent by mistake"])
        #expect(try space.ledger.alerts().allSatisfy { $0.clearedOn == day })
        #expect(try space.ledger.dayFiles(CivilDate(iso: day)!, config: space.config, calendar: nil).isComplete)
        // Now the original's bytes are a repeat, and the correction's an earlier version.
        #expect(try space.ingest(originalPath, "platform", "repayments").outcome == .repeated)
        #expect(try space.ingest(correctedPath, "platform", "repayments").outcome == .stale)
        let reinstatedID = try #require(reinstated.fileID)
        let again = try #require(throws: LedgerError.self) {
            try space.ledger.reinstate(fileID: reinstatedID, reason: "again", actor: "alice", config: space.config)
        }
        #expect(again.message == "file #\(reinstatedID) (PLAT_REPAY_20241215.csv) is the current version already")
        do {
            _ = try space.ledger.reinstate(fileID: originalID, reason: "  ", actor: "alice", config: space.config)
            Issue.record("a reinstatement without a reason went through")
        } catch {
            #expect(error.message == "give a reason (--reason): it is kept with the decision")
        }
    }

    @Test func anOperatorSetsAsideTheEarlierVersionSentAgain() throws {
        let space = try Workspace()
        let (_, _, originalPath, _) = try correctedDay(space)
        let resentID = try #require(try space.ingest(originalPath, "platform", "repayments").fileID)
        let action = try space.ledger.setAside(fileID: resentID, reason: "the platform re-sent it by mistake", actor: "bob")
        #expect(action.description.hasPrefix("set aside by bob at ") && action.description.hasSuffix(": the platform re-sent it by mistake"))
        let again = try space.ingest(originalPath, "platform", "repayments")
        #expect(again.outcome == .setAside && again.setAside == action)
        #expect(try space.ledger.alerts().map(\.clearedOn) == [day])
        let state = try space.ledger.dayFiles(CivilDate(iso: day)!, config: space.config, calendar: nil)
        #expect(state.isComplete && state.setAside == [action])
        do {
            _ = try space.ledger.setAside(fileID: resentID, reason: "twice", actor: "bob")
            Issue.record("set aside twice")
        } catch {
            #expect(error.message == "file #\(resentID) (PLAT_REPAY_20241215.csv) was \(action.description)")
        }
    }

    /// The sample loans of 2024-11-15 with CL03's loan at 60,000.00, over the product's
    /// 50,000.00: refused at posting.
    func loansOverTheirProduct(_ folder: DayFolder) throws {
        let path = folder.root + "/inbox/platform/PLAT_LOAN_20241115.csv"
        let text = try String(contentsOfFile: path, encoding: .utf8)
            .replacingOccurrences(of: "CL03,王芳,440305********2468,15000.00,CNY,0.072000,3,IO",
                                  with: "CL03,王芳,440305********2468,60000.00,CNY,0.072000,3,IO")
            .replacingOccurrences(of: "#TOTAL,3,47000.00", with: "#TOTAL,3,92000.00")
        try text.write(toFile: path, atomically: true, encoding: .utf8)
    }

    @Test func aRefusedFileIsTriedAgainOnEveryRunAndPostsOnceTheConfigurationIsFixed() throws {
        let folder = try DayFolder(readiness: PlanStepTests.allReady)
        try loansOverTheirProduct(folder)
        let ledger = try folder.ledger()
        let options = BatchOptions(date: disbursementDay, partner: "platform")
        let first = try Batch.run(options, config: folder.config, ledger: ledger)
        #expect(first.ingested.map(\.outcome) == [.rejected])
        #expect(first.outcome == .failed)
        // Run again: tried again (not a repeated delivery), refused again, its own report.
        let second = try Batch.run(options, config: folder.config, ledger: ledger)
        #expect(second.ingested.map(\.outcome) == [.rejected])
        #expect(second.outcome == .failed)
        let folderPath = folder.root + "/var/quarantine/2024-11-15/platform/loans/PLAT_LOAN_20241115.csv"
        #expect(first.ingested.first?.reportPath == folderPath + ".report.txt")
        #expect(second.ingested.first?.reportPath == folderPath + ".report-2.txt")
        #expect(FileManager.default.fileExists(atPath: folderPath + ".report.txt") && FileManager.default.fileExists(atPath: folderPath + ".report-2.txt"))
        #expect(Batch.summary(second).hasPrefix("0 posted, 0 repeated, 1 rejected, 0 failed, 0 waiting;"))

        // CL03 now takes up to 100,000.00: the same bytes post, and the refusals stay in
        // the file's history.
        let yamlPath = folder.root + "/reckon.yaml"
        let yaml = try String(contentsOfFile: yamlPath, encoding: .utf8)
            .replacingOccurrences(of: "amount: {min: \"1000.00\", max: \"50000.00\"}", with: "amount: {min: \"1000.00\", max: \"100000.00\"}")
        try yaml.write(toFile: yamlPath, atomically: true, encoding: .utf8)
        let third = try Batch.run(options, config: try ConfigFile.load(yamlPath), ledger: ledger)
        #expect(third.ingested.map(\.outcome) == [.posted])
        #expect(third.outcome == .succeeded)
        #expect(try ledger.receivedFiles().map(\.status) == ["posted", "rejected", "rejected"])
        #expect(try ledger.dayFiles(disbursementDay, config: folder.config, calendar: nil).refused.isEmpty)
    }

    @Test func aRefusedFileSetAsideIsNotTriedAgainAndTheDaySucceeds() throws {
        let folder = try DayFolder(readiness: PlanStepTests.allReady)
        try loansOverTheirProduct(folder)
        let ledger = try folder.ledger()
        let options = BatchOptions(date: disbursementDay, partner: "platform")
        let first = try Batch.run(options, config: folder.config, ledger: ledger)
        let refused = try #require(first.ingested.first?.fileID)
        // The file leaves the drop; the day still waits for it.
        try FileManager.default.removeItem(atPath: folder.root + "/inbox/platform/PLAT_LOAN_20241115.csv")
        let waiting = try Batch.run(options, config: folder.config, ledger: ledger)
        #expect(waiting.outcome == .failed)
        #expect(waiting.day?.refused.map(\.fileID) == [refused])
        #expect(Batch.summary(waiting).contains("1 refused file of the day awaiting action: #\(refused) PLAT_LOAN_20241115.csv"))
        _ = try ledger.setAside(fileID: refused, reason: "the platform withdrew the day's loans", actor: "carol")
        let after = try Batch.run(options, config: folder.config, ledger: ledger)
        #expect(after.outcome == .succeeded)
        #expect(after.day?.setAside.map(\.actor) == ["carol"])
        // Back in the drop, the same bytes are not tried again.
        let original = try String(contentsOfFile: repositoryRoot + "/mappings/samples/partners/PLAT_LOAN_20241115.csv", encoding: .utf8)
        try original.write(toFile: folder.root + "/inbox/platform/PLAT_LOAN_20241115.csv", atomically: true, encoding: .utf8)
        try loansOverTheirProduct(folder)
        let again = try Batch.run(options, config: folder.config, ledger: ledger)
        #expect(again.ingested.map(\.outcome) == [.setAside])
        #expect(again.outcome == .succeeded)
        #expect(Batch.summary(again).hasPrefix("0 posted, 0 repeated, 0 rejected, 0 failed, 0 waiting, 1 set aside before;"))
        #expect(try ledger.receivedFiles().map(\.status) == ["rejected"])
    }

    @Test func refusedCopiesAndReportsOfTwoTypesOrTwoVersionsNeverOverwriteEachOther() throws {
        let space = try Workspace()
        let date = CivilDate(iso: day)!
        // One bad file, refused as the platform's loans and as its repayments.
        func version(_ code: String) throws -> String {
            try space.file("platform/PLAT_REPAY_20241215.csv", named: "PLAT_20241215.csv") {
                $0.replacingOccurrences(of: "R202412150003,L202411150003,1,NORMAL", with: "R202412150003,L202411150003,1,\(code)")
            }
        }
        let path = try version("SOMETIMES")
        let asLoans = try space.ingest(path, "platform", "loans", date: date)
        let asRepayments = try space.ingest(path, "platform", "repayments", date: date)
        #expect(asLoans.outcome == .rejected && asRepayments.outcome == .rejected)
        let quarantine = space.folder + "/var/quarantine/2024-12-15/platform"
        #expect(asLoans.reportPath == quarantine + "/loans/PLAT_20241215.csv.report.txt")
        #expect(asRepayments.reportPath == quarantine + "/repayments/PLAT_20241215.csv.report.txt")
        #expect(try String(contentsOfFile: try #require(asLoans.reportPath), encoding: .utf8).contains("file type loans"))
        #expect(try String(contentsOfFile: try #require(asRepayments.reportPath), encoding: .utf8).contains("file type repayments"))
        // A second, different version of the same name: a copy and report of its own.
        let second = try version("NEVER")
        let secondVersion = try space.ingest(second, "platform", "repayments", date: date)
        let sha = try FileDigest(path: second).hex.prefix(12)
        #expect(secondVersion.quarantinePath == quarantine + "/repayments/PLAT_20241215.csv.\(sha)")
        #expect(secondVersion.reportPath == quarantine + "/repayments/PLAT_20241215.csv.\(sha).report.txt")
        let secondReport = try String(contentsOfFile: try #require(secondVersion.reportPath), encoding: .utf8)
        #expect(secondReport.contains("line 4: repayment field 'repay_type' = 'NEVER'"))
        #expect(try String(contentsOfFile: try #require(asRepayments.reportPath), encoding: .utf8).contains("line 4: repayment field 'repay_type' = 'SOMETIMES'"))
        // The ledger (and so status) points at each refusal's own report.
        #expect(try space.ledger.receivedFiles().map(\.reportPath) == [secondVersion.reportPath, asRepayments.reportPath, asLoans.reportPath])
    }

    @Test func copiesLeftByAProcessThatDiedAreRemovedOnTheNextIngestIntoTheirFolder() throws {
        let space = try Workspace()
        let folder = space.folder + "/var/archive/2024-12-15/platform"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let gone = Process()
        gone.executableURL = URL(fileURLWithPath: "/bin/true")
        try gone.run()
        gone.waitUntilExit()
        let deadPID = gone.processIdentifier
        let dead = folder + "/PLAT_REPAY_20241215.csv.partial-\(deadPID)"
        // Process 1 is always alive: its copy in the making stays.
        let live = folder + "/PLAT_REPAY_20241215.csv.partial-1"
        _ = FileManager.default.createFile(atPath: dead, contents: Data("half a copy".utf8))
        _ = FileManager.default.createFile(atPath: live, contents: Data("a copy being made".utf8))
        _ = try space.ingest(try space.file("platform/PLAT_REPAY_20241215.csv"), "platform", "repayments")
        #expect(!FileManager.default.fileExists(atPath: dead))
        #expect(FileManager.default.fileExists(atPath: live))
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder).sorted()
                == ["PLAT_REPAY_20241215.csv", "PLAT_REPAY_20241215.csv.partial-1"])
    }
}
