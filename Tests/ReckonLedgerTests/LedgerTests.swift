import Foundation
import GRDB
import ReckonCore
import ReckonFiles
import ReckonLedger
import Testing

let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .deletingLastPathComponent().deletingLastPathComponent().path

/// A ledger in a scratch folder, configured like the shipped sample (the repository's specs).
final class Workspace {
    let folder: String
    let config: ReckonConfig
    let ledger: Ledger

    init(lenientRepayments: Bool = false) throws {
        folder = NSTemporaryDirectory() + "reckon-ledger-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        var yaml = try String(contentsOfFile: repositoryRoot + "/reckon.yaml", encoding: .utf8)
            .replacingOccurrences(of: "spec: mappings/", with: "spec: \(repositoryRoot)/mappings/")
        if lenientRepayments {
            yaml = yaml.replacingOccurrences(of: "name: \"PLAT_REPAY_{yyyyMMdd}.csv\"\n        post: true",
                                             with: "name: \"PLAT_REPAY_{yyyyMMdd}.csv\"\n        post: true\n        mode: lenient")
        }
        let path = folder + "/reckon.yaml"
        try yaml.write(toFile: path, atomically: true, encoding: .utf8)
        config = try ConfigFile.load(path)
        ledger = try Ledger(path: config.databasePath)
        try ledger.register(config.partners)
    }

    deinit { try? FileManager.default.removeItem(atPath: folder) }

    /// A copy of a sample partner file (`platform/PLAT_LOAN_20241115.csv`: the partner is for
    /// the reader; the fixtures are in mappings/samples/partners), optionally changed.
    func file(_ sample: String, named name: String? = nil, _ change: (String) -> String = { $0 }) throws -> String {
        let source = repositoryRoot + "/mappings/samples/partners/" + (sample as NSString).lastPathComponent
        let target = folder + "/incoming/" + (name ?? (sample as NSString).lastPathComponent)
        try FileManager.default.createDirectory(atPath: folder + "/incoming", withIntermediateDirectories: true)
        try? FileManager.default.removeItem(atPath: target)
        let data = try Data(contentsOf: URL(fileURLWithPath: source))
        if let text = String(data: data, encoding: .utf8) {
            try change(text).write(toFile: target, atomically: true, encoding: .utf8)
        } else {
            try data.write(to: URL(fileURLWithPath: target))
        }
        return target
    }

    func ingest(_ path: String, _ partner: String, _ type: String, date: CivilDate? = nil) throws -> IngestResult {
        let partnerConfig = try #require(config.partner(partner))
        return try ledger.ingest(IngestRequest(path: path, partner: partnerConfig, fileType: try #require(partnerConfig.fileType(type)),
                                               businessDate: date), config: config)
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

    @Test func aRecordPostedBeforeIsADuplicate() throws {
        let space = try Workspace()
        _ = try space.ingest(try space.file("platform/PLAT_REPAY_20241215.csv"), "platform", "repayments")
        // The next day's file repeats R202412150005 and adds one new repayment.
        let next = try space.file("platform/PLAT_REPAY_20241215.csv", named: "PLAT_REPAY_20241216.csv") { text in
            var lines = text.split(separator: "\n").map(String.init)
            let repeated = lines[5]
            let new = repeated.replacingOccurrences(of: "R202412150005", with: "R202412160001")
                .replacingOccurrences(of: "2024-12-15 16:05:51", with: "2024-12-16 08:00:00")
            lines = [lines[0], repeated, new, "#TOTAL,2,9101.06"]
            return lines.joined(separator: "\n") + "\n"
        }
        let result = try space.ingest(next, "platform", "repayments")
        #expect(result.outcome == .posted)
        #expect(result.events == 1)
        #expect(result.duplicates.count == 1)
        #expect(result.duplicates.first?.contains("repayment R202412150005 was stored before, from PLAT_REPAY_20241215.csv line 6") == true)
        #expect(try space.ledger.verify().ok)
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
        // The original's bytes again are a repeated delivery, not a correction.
        #expect(try space.ingest(try space.file("platform/PLAT_REPAY_20241215.csv"), "platform", "repayments").outcome == .repeated)
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
        #expect(quarantined.contains("/var/quarantine/2024-12-15/platform/PLAT_REPAY_20241215.csv"))
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

    @Test func postingsCannotBeChangedOrDeleted() throws {
        let space = try Workspace()
        _ = try space.ingest(try space.file("platform/PLAT_LOAN_20241115.csv"), "platform", "loans")
        let database = try DatabaseQueue(path: space.config.databasePath)
        #expect(throws: (any Error).self) { try database.write { try $0.execute(sql: "UPDATE posting SET amount_minor = 1") } }
        #expect(throws: (any Error).self) { try database.write { try $0.execute(sql: "DELETE FROM posting") } }
        #expect(throws: (any Error).self) { try database.write { try $0.execute(sql: "DELETE FROM journal_entry") } }
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
        #expect(throws: LedgerError.self) { try space.ingest(odd, "platform", "loans") }
        let dated = try space.ingest(odd, "platform", "loans", date: CivilDate(year: 2024, month: 11, day: 15))
        #expect(dated.businessDate == CivilDate(year: 2024, month: 11, day: 15))
        #expect(dated.archivePath?.hasSuffix("/var/archive/2024-11-15/platform/loans-export.csv") == true)
    }
}
