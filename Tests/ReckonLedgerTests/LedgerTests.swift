import Foundation
import GRDB
import ReckonCore
import ReckonFiles
@testable import ReckonLedger
import Testing

let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .deletingLastPathComponent().deletingLastPathComponent().path

/// A ledger in a scratch folder, configured like the shipped sample (the repository's specs).
final class Workspace {
    let folder: String
    let config: ReckonConfig
    let ledger: Ledger

    /// `configure`: a change to the sample reckon.yaml (its products, say).
    init(lenientRepayments: Bool = false, configure: (String) -> String = { $0 }) throws {
        folder = NSTemporaryDirectory() + "reckon-ledger-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        var yaml = try String(contentsOfFile: repositoryRoot + "/reckon.yaml", encoding: .utf8)
            .replacingOccurrences(of: "spec: mappings/", with: "spec: \(repositoryRoot)/mappings/")
            .replacingOccurrences(of: " data/", with: " \(repositoryRoot)/data/")
        if lenientRepayments {
            yaml = yaml.replacingOccurrences(of: "name: \"PLAT_REPAY_{yyyyMMdd}.csv\"\n        post: true",
                                             with: "name: \"PLAT_REPAY_{yyyyMMdd}.csv\"\n        post: true\n        mode: lenient")
        }
        yaml = configure(yaml)
        let path = folder + "/reckon.yaml"
        try yaml.write(toFile: path, atomically: true, encoding: .utf8)
        config = try ConfigFile.load(path)
        ledger = try Ledger(path: config.databasePath)
        try ledger.register(config.partners)
    }

    deinit { try? FileManager.default.removeItem(atPath: folder) }

    /// A copy of a sample partner file (`platform/PLAT_LOAN_20241115.csv`: the partner is for
    /// the reader; the fixtures are in mappings/samples/partners), optionally changed.
    func file(_ sample: String, named name: String? = nil, _ change: (String) throws -> String = { $0 }) throws -> String {
        let source = repositoryRoot + "/mappings/samples/partners/" + (sample as NSString).lastPathComponent
        let target = folder + "/incoming/" + (name ?? (sample as NSString).lastPathComponent)
        try FileManager.default.createDirectory(atPath: folder + "/incoming", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: (target as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try? FileManager.default.removeItem(atPath: target)
        let data = try Data(contentsOf: URL(fileURLWithPath: source))
        if let text = String(data: data, encoding: .utf8) {
            try change(text).write(toFile: target, atomically: true, encoding: .utf8)
        } else {
            try data.write(to: URL(fileURLWithPath: target))
        }
        return target
    }

    func ingest(_ path: String, _ partner: String, _ type: String, date: CivilDate? = nil,
                options: CheckOptions = CheckOptions()) throws -> IngestResult {
        let partnerConfig = try #require(config.partner(partner))
        return try ledger.ingest(IngestRequest(path: path, partner: partnerConfig, fileType: try #require(partnerConfig.fileType(type)),
                                               businessDate: date), config: config, options: options)
    }

    func balance(_ account: String) throws -> Int64 {
        try ledger.balances(account: account).first { $0.account == account }?.amountMinor ?? 0
    }
}

@Suite("The ledger", .serialized)
struct LedgerTests {
    @Test func theSampleDayPostsToTheCent() throws {
        let space = try Workspace()
        let loans = try space.ingest(try space.file("platform/PLAT_LOAN_20241115.csv"), "platform", "loans")
        #expect(loans.outcome == .posted)
        #expect(loans.events == 3)
        #expect(loans.entries == 5)  // three disbursements, two margin freezes (CL03 has no margin)
        let repayments = try space.ingest(try space.file("platform/PLAT_REPAY_20241215.csv"), "platform", "repayments")
        #expect(repayments.outcome == .posted)
        let bill = try space.ingest(try space.file("channel/PAY_BILL_20241215.csv"), "channel", "bills")
        #expect(bill.outcome == .posted)
        let settlement = try space.ingest(try space.file("bank/BANK_SETTLE_20241215.txt"), "bank", "settlements")
        #expect(settlement.outcome == .posted)
        #expect(settlement.entries == 0)  // the bank's view: stored, not posted

        // 12,000.00 disbursed, 959.42 repaid.
        #expect(try space.balance("loan:L202411150001:principal") == 1_104_058)
        #expect(try space.balance("loan:L202411150002:principal") == 1_666_667)
        #expect(try space.balance("loan:L202411150003:principal") == 1_500_000)
        // 47,000.00 paid out; 9,743.96 settled in by the channel (9,753.71 less 9.75 fees).
        #expect(try space.balance("bank:settlement") == -4_700_000 + 974_396)
        #expect(try space.balance("expense:channel_fee") == 975)
        // Collected by the channel and settled by it: the clearing account is square.
        #expect(try space.balance("channel:WXPAY:clearing") == 0)
        #expect(try space.balance("income:interest") == -43082)
        #expect(try space.balance("income:penalty") == -394)
        // Margin: 10% frozen on CL12 and CL06, released with the principal repaid.
        #expect(try space.balance("margin:frozen:L202411150001") == 120_000 - 9594)
        #expect(try space.balance("margin:frozen:L202411150002") == 200_000 - 33333)
        #expect(try space.balance("margin:frozen:L202411150003") == 0)
        let verification = try space.ledger.verify()
        #expect(verification.ok)
        #expect(verification.entries == 5 + 7 + 5)
    }

    /// Repayments posted before their loans' disbursements (an earlier day run after a later
    /// one) release the margin when the loans come, as they would have on the day: the same
    /// entries, on the repayments' lines, and the same balances as the other way round.
    @Test func repaymentsPostedBeforeTheirLoansReleaseMarginWhenTheLoansCome() throws {
        func run(_ files: [(String, String)]) throws -> Workspace {
            let space = try Workspace()
            for (file, type) in files {
                #expect(try space.ingest(try space.file("platform/" + file), "platform", type).outcome == .posted)
            }
            return space
        }
        let inOrder = try run([("PLAT_LOAN_20241115.csv", "loans"), ("PLAT_REPAY_20241215.csv", "repayments")])
        let backwards = try run([("PLAT_REPAY_20241215.csv", "repayments"), ("PLAT_LOAN_20241115.csv", "loans")])
        #expect(try backwards.balance("margin:frozen:L202411150001") == 120_000 - 9594)
        #expect(try backwards.balance("margin:frozen:L202411150002") == 200_000 - 33333)
        #expect(try backwards.balance("margin:available") == -(120_000 - 9594) - (200_000 - 33333))
        let export = try backwards.ledger.export()
        #expect(export.contains("\t2\tmargin_release\t2024-12-15\t-\tmargin:available 9594 CNY; margin:frozen:L202411150001 -9594 CNY\n"))
        #expect(export.contains("\t3\tmargin_release\t2024-12-15\t-\tmargin:available 33333 CNY; margin:frozen:L202411150002 -33333 CNY\n"))
        #expect(export == (try inOrder.ledger.export()))
        #expect(try backwards.ledger.verify().ok)
        // A corrected re-send of the loans finds the margin released already.
        let corrected = try backwards.file("platform/PLAT_LOAN_20241115.csv") { text in
            text.replacingOccurrences(of: "CL03,王芳,440305********2468,15000.00", with: "CL03,王芳,440305********2468,16000.00")
                .replacingOccurrences(of: "#TOTAL,3,47000.00", with: "#TOTAL,3,48000.00")
        }
        #expect(try backwards.ingest(corrected, "platform", "loans").superseded != nil)
        #expect(try backwards.balance("margin:frozen:L202411150001") == 120_000 - 9594)
        #expect(try backwards.balance("margin:frozen:L202411150002") == 200_000 - 33333)
        #expect(try backwards.ledger.verify().ok)
    }

    @Test func theSameBytesAgainChangeNothing() throws {
        let space = try Workspace()
        let path = try space.file("platform/PLAT_LOAN_20241115.csv")
        let first = try space.ingest(path, "platform", "loans")
        let before = try space.ledger.export()
        let again = try space.ingest(path, "platform", "loans")
        #expect(again.outcome == .repeated)
        #expect(again.fileID == first.fileID)
        #expect(try space.ledger.export() == before)
    }

    /// The next day's file repeats R202412150005 and adds one new repayment.
    func nextDayRepeatingOne(_ space: Workspace) throws -> String {
        try space.file("platform/PLAT_REPAY_20241215.csv", named: "PLAT_REPAY_20241216.csv") { text in
            let lines = text.split(separator: "\n").map(String.init)
            let repeated = try lines.element(at: 5)
            #expect(repeated.hasPrefix("R202412150005,"))
            let new = repeated.replacingOccurrences(of: "R202412150005", with: "R202412160001")
                .replacingOccurrences(of: "2024-12-15 16:05:51", with: "2024-12-16 08:00:00")
            return [try lines.element(at: 0), repeated, new, "#TOTAL,2,9101.06"].joined(separator: "\n") + "\n"
        }
    }

    @Test func aStrictFileWithARecordPostedBeforeIsRefusedWhole() throws {
        let space = try Workspace()
        _ = try space.ingest(try space.file("platform/PLAT_REPAY_20241215.csv"), "platform", "repayments")
        let entries = try space.ledger.verify().entries
        let result = try space.ingest(try nextDayRepeatingOne(space), "platform", "repayments")
        #expect(result.outcome == .rejected)
        #expect(result.events == 0)
        #expect(result.duplicateCount == 1)
        let problems = try #require(result.report).problems.map(\.description)
        #expect(problems == ["line 2: repayment key R202412150005 was stored before, from PLAT_REPAY_20241215.csv line 6"])
        let report = try String(contentsOfFile: try #require(result.reportPath), encoding: .utf8)
        #expect(report.contains("line 2: repayment key R202412150005 was stored before, from PLAT_REPAY_20241215.csv line 6"))
        #expect(report.contains("nothing from this file was posted"))
        // Nothing of it was posted; the refusal is recorded with its duplicate.
        let files = try space.ledger.receivedFiles()
        #expect(files.first.map { "\($0.status) \($0.recordsRejected) \($0.duplicates)" } == "rejected 1 1")
        #expect(try space.ledger.verify().entries == entries)
        #expect(try space.balance("channel:WXPAY:clearing") == 975_371)
    }

    @Test func aLenientFileWithARecordPostedBeforePostsTheRestAndSaysWhatItDidNotPost() throws {
        let space = try Workspace(lenientRepayments: true)
        _ = try space.ingest(try space.file("platform/PLAT_REPAY_20241215.csv"), "platform", "repayments")
        let result = try space.ingest(try nextDayRepeatingOne(space), "platform", "repayments")
        #expect(result.outcome == .posted)
        #expect(result.events == 1)
        #expect(result.recordsNotPosted == 1)
        #expect(result.duplicateCount == 1)
        #expect(result.duplicates == ["line 2: repayment key R202412150005 was stored before, from PLAT_REPAY_20241215.csv line 6"])
        // 9,101.06 declared, 4,550.53 posted: the shortfall is R202412150005's 4,550.53.
        #expect(try space.balance("channel:WXPAY:clearing") == 975_371 + 455_053)
        #expect(try space.ledger.verify().ok)
    }

    /// With no product freezing margin, the posting rules depend on the record alone and run
    /// on the reading thread, beside the writer's inserts; with one that does (here a
    /// product no loan uses) they run on the writer, which can read the ledger. Both post the
    /// sample day the same, a record the rules refuse included.
    @Test func postingRulesOnTheReadingThreadPostWhatTheWriterWould() throws {
        let noMargin = { (yaml: String) in yaml.replacingOccurrences(of: "    margin_rate: \"0.10\"\n", with: "") }
        let onReader = try Workspace(lenientRepayments: true, configure: noMargin)
        let onWriter = try Workspace(lenientRepayments: true) {
            noMargin($0).replacingOccurrences(of: "\nproducts:\n", with: "\nproducts:\n  UNUSED:\n    margin_rate: \"0.05\"\n")
        }
        #expect(RecordOnlyRules(config: onReader.config, partnerChannelCode: nil) != nil)
        #expect(RecordOnlyRules(config: onWriter.config, partnerChannelCode: nil) == nil)
        var journals: [[String]] = []
        for space in [onReader, onWriter] {
            #expect(try space.ingest(try space.file("platform/PLAT_LOAN_20241115.csv"), "platform", "loans").entries == 3)
            // R202412150002's interest a cent more than its total allows: the rules refuse it
            // (the trailer's sum of totals still holds), and the rest posts.
            let repayments = try space.ingest(try space.file("platform/PLAT_REPAY_20241215.csv") {
                $0.replacingOccurrences(of: "3333.33,180.00,0.00,0.00,3513.33,", with: "3333.33,180.01,0.00,0.00,3513.33,")
            }, "platform", "repayments")
            #expect(repayments.outcome == .posted)
            #expect(repayments.events == 4)
            #expect(repayments.recordsNotPosted == 1)
            #expect(repayments.report?.problems.map(\.description).first?.contains("is not principal + interest + penalty + fee") == true)
            #expect(try space.ingest(try space.file("channel/PAY_BILL_20241215.csv"), "channel", "bills").outcome == .posted)
            journals.append(try space.ledger.database.read { db in
                try Row.fetchAll(db, sql: """
                    SELECT e.kind, e.line, e.business_date, p.leg, p.account, p.amount_minor, p.currency
                    FROM journal_entry e JOIN posting p ON p.entry_id = e.id ORDER BY e.id, p.leg
                    """).map { "\($0)" }
            })
            #expect(try space.ledger.verify().ok)
        }
        #expect(journals[0].count > 20)
        #expect(journals[0] == journals[1])
    }

    /// The sample day's file with its line 3 (R202412150002) repeated as line 7; the trailer
    /// counts it (six records, 13,267.04).
    func dayWithARepeatedLine(_ space: Workspace) throws -> String {
        try space.file("platform/PLAT_REPAY_20241215.csv") { text in
            try Self.repeatingLine3(text)
        }
    }

    /// The sample day's repayments (a header, five records, a trailer) with line 3 repeated
    /// as line 7 and the trailer counting it.
    static func repeatingLine3(_ text: String) throws -> String {
        var lines = text.split(separator: "\n").map(String.init)
        try #require(lines.count == 7 && lines[6] == "#TOTAL,5,9753.71", "\(lines)")
        lines.insert(lines[2], at: 6)
        lines[7] = "#TOTAL,6,13267.04"
        return lines.joined(separator: "\n") + "\n"
    }

    @Test func aStrictFileRepeatingARecordIsRefusedNamingBothLines() throws {
        let space = try Workspace()
        let result = try space.ingest(try dayWithARepeatedLine(space), "platform", "repayments")
        #expect(result.outcome == .rejected)
        let report = try #require(result.report)
        #expect(report.controlsHold)   // the trailer counts the repeat: only the key refuses it
        #expect(report.problems.map(\.description) == ["line 7: repayment repeats line 3, key R202412150002"])
        let text = try String(contentsOfFile: try #require(result.reportPath), encoding: .utf8)
        #expect(text.contains("line 7: repayment repeats line 3, key R202412150002"))
        #expect(try space.ledger.verify().entries == 0)
        #expect(try space.balance("channel:WXPAY:clearing") == 0)
    }

    @Test func aLenientFileRepeatingARecordPostsTheRestAndCountsTheShortfall() throws {
        let space = try Workspace(lenientRepayments: true)
        let result = try space.ingest(try dayWithARepeatedLine(space), "platform", "repayments")
        #expect(result.outcome == .posted)
        #expect(result.events == 5)
        #expect(result.recordsNotPosted == 1)
        #expect(result.duplicates == ["line 7: repayment repeats line 3, key R202412150002"])
        // 13,267.04 declared; 9,753.71 posted (the repeat's 3,513.33 not twice).
        #expect(try space.balance("channel:WXPAY:clearing") == 975_371)
        let file = try #require(try space.ledger.receivedFiles().first)
        #expect("\(file.status) \(file.recordsRead) \(file.recordsRejected) \(file.duplicates) \(file.events)" == "posted 6 1 1 5")   // six read: five repayments and the trailer
    }

    @Test func duplicatesAreAllCountedButOnlyTheFirstDescribed() throws {
        let space = try Workspace(lenientRepayments: true)
        _ = try space.ingest(try space.file("platform/PLAT_REPAY_20241215.csv"), "platform", "repayments")
        // The next day's file has the same five repayments in another order.
        let again = try space.file("platform/PLAT_REPAY_20241215.csv", named: "PLAT_REPAY_20241216.csv") { text in
            var lines = text.split(separator: "\n").map(String.init)
            lines.swapAt(1, 2)
            return lines.joined(separator: "\n") + "\n"
        }
        let result = try space.ingest(again, "platform", "repayments", options: CheckOptions(maxProblems: 2))
        #expect(result.outcome == .posted)
        #expect(result.events == 0)
        #expect(result.duplicateCount == 5)
        #expect(result.recordsNotPosted == 5)
        #expect(result.duplicates.count == 2)
        #expect(result.report?.problemsOmitted == 3)
        #expect(try space.ledger.receivedFiles().first?.duplicates == 5)
    }

    @Test func aCorrectedResendSupersedesTheEarlierFile() throws {
        let space = try Workspace()
        _ = try space.ingest(try space.file("platform/PLAT_LOAN_20241115.csv"), "platform", "loans")
        let original = try space.ingest(try space.file("platform/PLAT_REPAY_20241215.csv"), "platform", "repayments")
        // The platform re-sends the day: R2 paid 100.00 less principal.
        let corrected = try space.file("platform/PLAT_REPAY_20241215.csv") { text in
            text.replacingOccurrences(of: "3333.33,180.00,0.00,0.00,3513.33", with: "3233.33,180.00,0.00,0.00,3413.33")
                .replacingOccurrences(of: "#TOTAL,5,9753.71", with: "#TOTAL,5,9653.71")
        }
        let result = try space.ingest(corrected, "platform", "repayments")
        #expect(result.outcome == .posted)
        #expect(result.superseded == original.fileID)
        // Only the corrected file counts now.
        #expect(try space.balance("loan:L202411150002:principal") == 2_000_000 - 323_333)
        #expect(try space.balance("channel:WXPAY:clearing") == 965_371)
        let files = try space.ledger.receivedFiles(date: CivilDate(year: 2024, month: 12, day: 15))
        #expect(files.map(\.status) == ["posted", "superseded"])
        // The original's entries are still there, reversed by entries of the new file.
        let export = try space.ledger.export()
        #expect(export.components(separatedBy: "\treversal\t").count - 1 == original.entries)
        #expect(try space.ledger.verify().ok)
        // The corrected bytes again are a repeated delivery; the original's are an earlier
        // version (FileVersionTests).
        #expect(try space.ingest(corrected, "platform", "repayments").outcome == .repeated)
        // A third version supersedes the second, not the first again.
        let third = try space.file("platform/PLAT_REPAY_20241215.csv") { text in
            text.replacingOccurrences(of: "WXPAY,4200002024121500000003", with: "WXPAY,4200002024121500000099")
        }
        let result3 = try space.ingest(third, "platform", "repayments")
        #expect(result3.superseded == result.fileID)
        #expect(try space.balance("loan:L202411150002:principal") == 2_000_000 - 333_333)
        #expect(try space.ledger.verify().ok)
    }

    @Test func aBadFileIsQuarantinedAndPostsNothing() throws {
        let space = try Workspace()
        let before = try space.ledger.export()
        let bad = try space.file("platform/PLAT_REPAY_20241215.csv") { text in
            text.replacingOccurrences(of: "R202412150003,L202411150003,1,NORMAL", with: "R202412150003,L202411150003,1,SOMETIMES")
        }
        let result = try space.ingest(bad, "platform", "repayments")
        #expect(result.outcome == .rejected)
        #expect(result.events == 0)
        let quarantined = try #require(result.quarantinePath)
        #expect(quarantined.hasSuffix("/var/quarantine/2024-12-15/platform/repayments/PLAT_REPAY_20241215.csv"))
        #expect(result.reportPath == quarantined + ".report.txt")
        let report = try String(contentsOfFile: quarantined + ".report.txt", encoding: .utf8)
        #expect(report.contains("nothing from this file was posted"))
        #expect(report.contains("line 4: repayment field 'repay_type' = 'SOMETIMES': code 'SOMETIMES' is not in the code map"))
        // The ledger records the rejected file, and nothing else changed.
        #expect(try space.ledger.receivedFiles().first?.status == "rejected")
        #expect(try space.balance("channel:WXPAY:clearing") == 0)
        #expect(try space.ledger.verify().entries == 0)
        _ = before
    }

    @Test func aPostingProblemRejectsTheFile() throws {
        let space = try Workspace()
        // The total no longer adds up: reading passes, posting refuses.
        let bad = try space.file("platform/PLAT_REPAY_20241215.csv") { text in
            text.replacingOccurrences(of: "959.42,90.00,0.00,0.00,1049.42", with: "959.42,90.00,0.00,0.00,1049.43")
                .replacingOccurrences(of: "#TOTAL,5,9753.71", with: "#TOTAL,5,9753.72")
        }
        let result = try space.ingest(bad, "platform", "repayments")
        #expect(result.outcome == .rejected)
        #expect(result.report?.problems.first?.description == "line 2: repayment field 'total' = '1049.43': the total 1049.43 is not principal + interest + penalty + fee = 1049.42")
    }

    @Test func problemsFromReadingAndPostingAreReportedInLineOrder() throws {
        let space = try Workspace()
        // Line 2 fails posting (its total is off), line 4 fails reading (an unknown code):
        // posting runs behind reading, but the report keeps the file's order.
        let bad = try space.file("platform/PLAT_REPAY_20241215.csv") { text in
            text.replacingOccurrences(of: "959.42,90.00,0.00,0.00,1049.42", with: "959.42,90.00,0.00,0.00,1049.43")
                .replacingOccurrences(of: "#TOTAL,5,9753.71", with: "#TOTAL,5,9753.72")
                .replacingOccurrences(of: "R202412150003,L202411150003,1,NORMAL", with: "R202412150003,L202411150003,1,SOMETIMES")
        }
        let result = try space.ingest(bad, "platform", "repayments")
        #expect(result.outcome == .rejected)
        #expect(result.report?.problems.map(\.location.line) == [2, 4])
        #expect(result.report?.recordsRejected == 2)
    }

    @Test func eventsKeepTheirFieldsInTypedColumns() throws {
        let space = try Workspace()
        _ = try space.ingest(try space.file("platform/PLAT_REPAY_20241215.csv"), "platform", "repayments")
        let row = try #require(try space.ledger.read { db in
            try Row.fetchOne(db, sql: """
                SELECT kind, loan_id, period, event_date, principal_minor, interest_minor, penalty_minor, fee_minor,
                       amount_minor, currency, reference, other_fields FROM event WHERE line = 5
                """)
        })
        #expect(row[0] as String == "repayment")
        #expect(row[1] as String == "L202410150007")
        #expect(row[2] as Int64 == 2)
        #expect(row[3] as String == "2024-12-15")
        #expect([row[4], row[5], row[6], row[7], row[8]] as [Int64] == [50431, 4218, 394, 0, 55043])
        #expect(row[9] as String == "CNY")
        #expect(row[10] as String == "4200002024121500000004")
        // What has no column stays, exactly, in JSON (the moment of payment with its time).
        #expect(row[11] as String == #"{"repay_id":"R202412150004","repay_type":"overdue","paid_at":"2024-12-15T11:45:38","channel":"WXPAY","status":"success"}"#)
    }

    @Test func recordKeysAreTheCanonicalTextOfTheirFields() throws {
        let space = try Workspace()
        _ = try space.ingest(try space.file("bank/BANK_SETTLE_20241215.txt"), "bank", "settlements")
        let keys = try space.ledger.read { db in try String.fetchAll(db, sql: "SELECT key FROM record_key ORDER BY event_id LIMIT 2") }
        // loan_id, period, paid_on (a date, in ISO form), channel_reference.
        #expect(keys == ["bank|repayment|L202411150001|1|2024-12-15|4200002024121500000001",
                         "bank|repayment|L202411150002|1|2024-12-15|4200002024121500000002"])
    }

    @Test func lenientFilesPostWhatIsValid() throws {
        let space = try Workspace(lenientRepayments: true)
        let bad = try space.file("platform/PLAT_REPAY_20241215.csv") { text in
            text.replacingOccurrences(of: "R202412150003,L202411150003,1,NORMAL", with: "R202412150003,L202411150003,1,SOMETIMES")
        }
        let result = try space.ingest(bad, "platform", "repayments")
        #expect(result.outcome == .posted)
        #expect(result.events == 4)
        #expect(result.report?.recordsRejected == 1)
        // But never when a control total fails.
        let broken = try space.file("platform/PLAT_REPAY_20241215.csv", named: "PLAT_REPAY_20241216.csv") { text in
            text.replacingOccurrences(of: "#TOTAL,5,9753.71", with: "#TOTAL,6,9753.71")
                .replacingOccurrences(of: "R2024121500", with: "R2024121600")
        }
        #expect(try space.ingest(broken, "platform", "repayments").outcome == .rejected)
    }

    @Test func postingRefusalsPastTheProblemLimitAreCountedNotDescribed() throws {
        let space = try Workspace(lenientRepayments: true)
        // Three totals off by a cent (the control total follows them): posting refuses three records.
        let bad = try space.file("platform/PLAT_REPAY_20241215.csv") { text in
            text.replacingOccurrences(of: ",1049.42,", with: ",1049.43,")
                .replacingOccurrences(of: ",3513.33,", with: ",3513.34,")
                .replacingOccurrences(of: ",4550.53,", with: ",4550.54,")
                .replacingOccurrences(of: "#TOTAL,5,9753.71", with: "#TOTAL,5,9753.74")
        }
        let result = try space.ingest(bad, "platform", "repayments", options: CheckOptions(maxProblems: 1))
        #expect(result.outcome == .posted)
        #expect(result.events == 2)
        #expect(result.report?.recordsRejected == 3)
        #expect(result.report?.problems.map(\.location.line) == [2])
        #expect(result.report?.problemsOmitted == 2)
    }

    @Test func postingsCannotBeChangedOrDeleted() throws {
        let space = try Workspace()
        _ = try space.ingest(try space.file("platform/PLAT_LOAN_20241115.csv"), "platform", "loans")
        let database = try DatabaseQueue(path: space.config.databasePath)
        // The ledger's triggers refuse, each with its reason.
        for (sql, reason) in [("UPDATE posting SET amount_minor = 1", "postings are never changed: post a reversal"),
                              ("DELETE FROM posting", "postings are never deleted: post a reversal"),
                              ("UPDATE journal_entry SET line = 9", "journal entries are never changed: post a reversal"),
                              ("DELETE FROM journal_entry", "journal entries are never deleted: post a reversal")] {
            let error = try #require(throws: DatabaseError.self) { try database.write { try $0.execute(sql: sql) } }
            #expect(error.resultCode == .SQLITE_CONSTRAINT && error.message == reason, "\(sql): \(error)")
        }
        #expect(try space.ledger.verify().ok)
    }

    @Test func verifyFindsTamperedBalances() throws {
        let space = try Workspace()
        _ = try space.ingest(try space.file("platform/PLAT_LOAN_20241115.csv"), "platform", "loans")
        let database = try DatabaseQueue(path: space.config.databasePath)
        try database.write { try $0.execute(sql: "UPDATE balance SET amount_minor = amount_minor + 1 WHERE account = 'bank:settlement'") }
        let result = try space.ledger.verify()
        #expect(!result.ok)
        #expect(result.balanceMismatches == ["bank:settlement CNY: postings sum to -4700000, stored balance is -4699999"])
    }

    @Test func exportIsTheSameForTheSameInputs() throws {
        func run() throws -> String {
            let space = try Workspace()
            for (file, partner, type) in [("platform/PLAT_LOAN_20241115.csv", "platform", "loans"),
                                          ("platform/PLAT_REPAY_20241215.csv", "platform", "repayments"),
                                          ("channel/PAY_BILL_20241215.csv", "channel", "bills"),
                                          ("bank/BANK_STMT_20241115.xml", "bank", "statements")] {
                _ = try space.ingest(try space.file(file), partner, type)
            }
            return try space.ledger.export()
        }
        let first = try run()
        #expect(first == (try run()))
        #expect(first.contains("# balances\n"))
        #expect(first.contains("bank:settlement\tCNY\t-3725604"))
    }

    @Test func theBusinessDateComesFromTheNameOrTheCaller() throws {
        let space = try Workspace()
        let odd = try space.file("platform/PLAT_LOAN_20241115.csv", named: "loans-export.csv")
        let error = try #require(throws: LedgerError.self) { try space.ingest(odd, "platform", "loans") }
        #expect(error.message == "\(odd): no business date: the name does not fit PLAT_LOAN_{yyyyMMdd}.csv and no --date was given")
        let dated = try space.ingest(odd, "platform", "loans", date: CivilDate(year: 2024, month: 11, day: 15))
        #expect(dated.businessDate == CivilDate(year: 2024, month: 11, day: 15))
        #expect(dated.archivePath?.hasSuffix("/var/archive/2024-11-15/platform/loans-export.csv") == true)
    }
}

@Suite("Ledger migrations")
struct MigrationTests {
    /// A ledger written before events had typed columns (migrations 001–004) opens with its
    /// events converted: the same values in the new columns, the rest still in JSON, the
    /// record keys still refusing duplicates.
    /// A new ledger: every migration, WAL, 16 KiB pages, full sync on this connection.
    @Test func aNewLedgerIsSetUpForIngest() throws {
        let folder = NSTemporaryDirectory() + "reckon-new-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let ledger = try Ledger(path: folder + "/var/reckon.sqlite")
        let settings = try ledger.read { db in
            [try String.fetchOne(db, sql: "PRAGMA journal_mode"), try String.fetchOne(db, sql: "PRAGMA page_size"),
             try String.fetchOne(db, sql: "PRAGMA synchronous")]
        }
        #expect(settings == ["wal", "16384", "2"])
        let applied = try ledger.read { db in try String.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations ORDER BY identifier") }
        #expect(applied == Schema.migrator.migrations.sorted())
    }

    @Test func verifyFindsDanglingReferences() throws {
        let space = try Workspace()
        _ = try space.ingest(try space.file("platform/PLAT_LOAN_20241115.csv"), "platform", "loans")
        // Ingest does not have SQLite check references (it writes both ends), and turns the
        // checks back on for the ledger's other writes after the file.
        #expect(throws: LedgerError.self) {
            try space.ledger.write { db in
                try db.execute(sql: "INSERT INTO journal_entry (id, kind, file_id, business_date) VALUES (901, 'adjustment', 77, '2024-11-15')")
            }
        }
        // Verify finds what bypassed them.
        let database = try DatabaseQueue(path: space.config.databasePath)
        try database.writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA foreign_keys = OFF")
            try db.execute(sql: """
                INSERT INTO journal_entry (id, kind, file_id, business_date) VALUES (900, 'adjustment', 77, '2024-11-15');
                INSERT INTO posting (entry_id, leg, account, amount_minor, currency) VALUES (900, 1, 'nowhere:a', 5, 'CNY'), (900, 2, 'nowhere:b', -5, 'CNY');
                INSERT INTO balance (account, currency, amount_minor) VALUES ('nowhere:a', 'CNY', 5), ('nowhere:b', 'CNY', -5);
                """)
        }
        let result = try space.ledger.verify()
        #expect(!result.ok && result.unbalanced.isEmpty && result.mismatches.isEmpty)
        // One line a broken reference: the entry's file, each posting's and balance's account.
        let lines = result.danglingReferences.sorted()
        #expect(lines.count == 5, "\(lines)")
        #expect(lines.filter { $0.hasPrefix("balance row ") && $0.hasSuffix(": refers to a missing account row") }.count == 2)
        #expect(lines.contains("journal_entry row 900: refers to a missing received_file row"))
        #expect(lines.filter { $0 == "posting row ?: refers to a missing account row" }.count == 2)
    }

    @Test func postingsFromBeforeMigration019KeepTheirOrderAsLegs() throws {
        // Two entries whose postings were written interleaved (ids 1, 2, 5 and 3, 4).
        let older = try OlderLedger(upTo: "018 archives: inbound zips unpacked or refused", rows: """
            INSERT INTO partner VALUES ('bank', 'Bank', 'bank');
            INSERT INTO received_file (id, partner, file_type, business_date, name, size, sha256, status, received_at)
            VALUES (1, 'bank', 'settlement', '2024-12-15', 'S.txt', 10, 'ab', 'posted', 'x');
            INSERT INTO journal_entry (id, kind, file_id, business_date) VALUES (1, 'repayment', 1, '2024-12-15'), (2, 'repayment', 1, '2024-12-15');
            INSERT INTO account (code, kind) VALUES ('a', 'a'), ('b', 'b'), ('c', 'c'), ('d', 'd'), ('x', 'x');
            INSERT INTO posting (id, entry_id, account, amount_minor, currency)
            VALUES (1, 1, 'x', 100, 'CNY'), (2, 1, 'b', -60, 'CNY'), (3, 2, 'c', 7, 'CNY'), (4, 2, 'd', -7, 'CNY'), (5, 1, 'a', -40, 'CNY');
            INSERT INTO balance (account, currency, amount_minor)
            VALUES ('x', 'CNY', 100), ('b', 'CNY', -60), ('c', 'CNY', 7), ('d', 'CNY', -7), ('a', 'CNY', -40);
            """)
        defer { withExtendedLifetime(older) {} }
        let path = older.path
        let ledger = try Ledger(path: path)
        let postings = try ledger.read { db in
            try Row.fetchAll(db, sql: "SELECT entry_id, leg, account, amount_minor FROM posting ORDER BY entry_id, leg").map {
                "\($0[0] as Int64)/\($0[1] as Int64) \($0[2] as String) \($0[3] as Int64)"
            }
        }
        #expect(postings == ["1/1 x 100", "1/2 b -60", "1/3 a -40", "2/1 c 7", "2/2 d -7"])
        #expect(try ledger.verify().ok)
        // Still append-only.
        let database = try DatabaseQueue(path: path)
        for sql in ["UPDATE posting SET amount_minor = 1", "DELETE FROM posting"] {
            #expect(throws: DatabaseError.self) { try database.write { try $0.execute(sql: sql) } }
        }
        #expect(try ledger.read { try Int.fetchOne($0, sql: "SELECT count(*) FROM posting") } == 5)
    }

    @Test func eventsFromBeforeTypedColumnsAreConverted() throws {
        let older = try OlderLedger(upTo: "004 batch runs", rows: """
            INSERT INTO partner VALUES ('platform', 'Platform', 'platform');
            INSERT INTO received_file (id, partner, file_type, business_date, name, size, sha256, status, received_at)
            VALUES (1, 'platform', 'repayments', '2024-12-15', 'PLAT_REPAY_20241215.csv', 10, 'ab', 'posted', 'x'),
                   (2, 'platform', 'loans', '2024-11-15', 'PLAT_LOAN_20241115.csv', 10, 'cd', 'posted', 'x');
            INSERT INTO event (id, file_id, line, kind, record_kind, record_key, loan_id, amount_minor, currency, business_date, fields)
            VALUES (7, 1, 2, 'repayment', 'repayment', 'platform|repayment|R1', 'L1', 104942, 'CNY', '2024-12-15',
                    '{"repayment_id":"R1","period":1,"repay_type":"normal","paid_at":"2024-12-15T10:20:30","principal":95942,"interest":9000,"penalty":0,"fee":0,"total":104942,"channel":"WXPAY","channel_reference":"4200"}'),
                   (8, 2, 2, 'loan_disbursed', 'loan', 'platform|loan_disbursed|L1', 'L1', 2000000, 'CNY', '2024-11-15',
                    '{"product":"CL12","principal":2000000,"term":12,"disbursed_on":"2024-11-15"}');
            """)
        defer { withExtendedLifetime(older) {} }
        let path = older.path
        let ledger = try Ledger(path: path)
        let row = try #require(try ledger.read { db in
            try Row.fetchOne(db, sql: "SELECT period, event_date, principal_minor, interest_minor, amount_minor, reference, other_fields FROM event WHERE id = 7")
        })
        #expect(row[0] as Int64 == 1)
        #expect(row[1] as String == "2024-12-15")
        #expect(row[2] as Int64 == 95942)
        #expect(row[3] as Int64 == 9000)
        #expect(row[4] as Int64 == 104942)
        #expect(row[5] as String == "4200")
        #expect(row[6] as String == #"{"repayment_id":"R1","repay_type":"normal","paid_at":"2024-12-15T10:20:30","channel":"WXPAY"}"#)
        let loan = try #require(try ledger.read { db in
            try Row.fetchOne(db, sql: "SELECT event_date, principal_minor, amount_minor, other_fields FROM event WHERE id = 8")
        })
        #expect(loan[0] as String == "2024-11-15")
        #expect(loan[1] as Int64 == 2_000_000)
        #expect(loan[3] as String == #"{"product":"CL12","term":12}"#)
        let keys = try ledger.read { db in try Row.fetchAll(db, sql: "SELECT key, event_id FROM record_key ORDER BY key") }
        #expect(keys.map { "\($0[0] as String) \($0[1] as Int64)" } == ["platform|loan_disbursed|L1 8", "platform|repayment|R1 7"])
        let ranges = try ledger.read { db in try Row.fetchAll(db, sql: "SELECT first_event_id, last_event_id FROM received_file ORDER BY id") }
        #expect(ranges.map { [$0[0] as Int64, $0[1] as Int64] } == [[7, 7], [8, 8]])
    }
}

/// A ledger made by an earlier reckon, for the migration tests: migrated up to `migration`,
/// then `rows` written; its folder is removed when this goes.
final class OlderLedger {
    let folder = NSTemporaryDirectory() + "reckon-migration-" + UUID().uuidString
    var path: String { folder + "/reckon.sqlite" }

    init(upTo migration: String, rows: String) throws {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let old = try DatabaseQueue(path: path)
        try Schema.migrator.migrate(old, upTo: migration)
        try old.write { try $0.execute(sql: rows) }
    }

    deinit { try? FileManager.default.removeItem(atPath: folder) }
}
