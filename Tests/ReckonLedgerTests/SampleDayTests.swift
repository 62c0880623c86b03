import Foundation
import ReckonCore
import ReckonFiles
import ReckonLedger
import Testing

@Suite("reckon demo's sample day")
struct SampleDayTests {
    let day = CivilDate(year: 2024, month: 12, day: 16)!

    func generate(_ loans: Int) throws -> (folder: String, written: SampleDay.Written) {
        let folder = NSTemporaryDirectory() + "reckon-sample-" + UUID().uuidString
        let written = try SampleDay(date: day, loans: loans, mappings: repositoryRoot + "/mappings").write(into: folder)
        return (folder, written)
    }

    @Test func everyFileReadsCleanThroughItsSpec() throws {
        let (folder, written) = try generate(40)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let specs = ["PLAT_LOAN": "platform-loans", "PLAT_REPAY": "platform-repayments", "BANK_PLAN": "bank-plan",
                     "BANK_SETTLE": "bank-settlement", "PAY_BILL": "channel-bill", "BANK_STMT": "camt053",
                     "CORE_ORG": "core-institutions", "CORE_RATE": "core-base-rates", "CORE_LOAN": "core-loan-ledger"]
        #expect(written.files.count == 9 + 2 * written.historyDays.count)
        for path in written.files {
            let name = (path as NSString).lastPathComponent
            let prefix = specs.keys.first { name.hasPrefix($0 + "_") }!
            let report = PartnerFile.check(path, spec: try SpecFile.load(repositoryRoot + "/mappings/\(specs[prefix]!).yaml"))
            #expect(report.isClean, "\(name): \(report.problems.first.map(String.init(describing:)) ?? "") \(report.controls.filter { !$0.holds }.map(\.control))")
        }
    }

    @Test func theSameDayGivesTheSameBytes() throws {
        let (first, written) = try generate(25)
        let (second, _) = try generate(25)
        defer {
            try? FileManager.default.removeItem(atPath: first)
            try? FileManager.default.removeItem(atPath: second)
        }
        for path in written.files {
            let relative = String(path.dropFirst(first.count))
            #expect(FileManager.default.contentsEqual(atPath: path, andPath: second + relative), "\(relative)")
        }
    }

    /// The shipped inbox/ is `reckon demo --date 2024-12-16 --loans 20`: a change to the
    /// generator or the specs that alters it must come with the regenerated files.
    @Test func theShippedInboxIsWhatTheGeneratorWrites() throws {
        let (folder, written) = try generate(20)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        #expect(written.files.count == 15)
        #expect(written.historyDays.map(\.description) == ["2024-11-06", "2024-11-13", "2024-11-16"])
        for path in written.files {
            let relative = String(path.dropFirst(folder.count))
            #expect(FileManager.default.contentsEqual(atPath: path, andPath: repositoryRoot + "/inbox" + relative),
                    "inbox\(relative) differs: run `reckon demo --date 2024-12-16 --loans 20 --into inbox`")
        }
    }

    @Test func theFirstLoanIsScheduleA() throws {
        let (folder, _) = try generate(3)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let spec = try SpecFile.load(repositoryRoot + "/mappings/bank-plan.yaml")
        var lines: [(Int64, Int64)] = []
        _ = PartnerFile.check(folder + "/bank/BANK_PLAN_20241216.txt", spec: spec) { record in
            guard record.kind.name == "plan_line", record.value(named: "loan_id") == .text("L202412160001") else { return }
            lines.append((record.amount(at: record.kind.fieldIndex(named: "principal")!)!.units,
                          record.amount(at: record.kind.fieldIndex(named: "interest")!)!.units))
        }
        // SCHEDULES.md §A: 12,000.00 at 9% over 12 months, equal installments.
        #expect(lines.map(\.0) == [95942, 96662, 97387, 98117, 98853, 99594, 100341, 101094, 101852, 102616, 103385, 104157])
        #expect(lines.map(\.1) == [9000, 8280, 7555, 6825, 6089, 5348, 4601, 3848, 3090, 2326, 1557, 781])
        #expect(lines.reduce(0) { $0 + $1.0 } == 1_200_000)
    }

    @Test func theDayPostsAndLeavesDifferencesToReconcile() throws {
        let folder = try DayFolder(readiness: ["loans": "{stable_seconds: 0}", "repayments": "{stable_seconds: 0}",
                                               "statements": "{stable_seconds: 0}", "bills": "{stable_seconds: 0}"], copy: false)
        _ = try SampleDay(date: day, loans: 30, mappings: repositoryRoot + "/mappings").write(into: folder.root + "/inbox")
        let ledger = try folder.ledger()
        let report = try Batch.run(BatchOptions(date: day), config: folder.config, ledger: ledger)
        #expect(report.succeeded)
        #expect(report.ingested.count == 9)
        #expect(report.ingested.allSatisfy { $0.outcome == .posted })
        #expect(try ledger.verify().ok)
        let balances = Dictionary(uniqueKeysWithValues: try ledger.balances().map { ($0.account, $0.amountMinor) })
        // One of each repayment kind.
        #expect(balances["guarantor:compensation", default: 0] > 0)
        #expect(balances["income:penalty", default: 0] < 0)
        // Every kind of canonical event is stored, the views and reference files without entries.
        let export = try ledger.export()
        for kind in ["loan_disbursed", "repayment", "plan_line", "channel_bill_line", "bank_statement_line", "balance",
                     "base_rate", "institution", "loan_snapshot"] {
            #expect(export.contains("\t\(kind)\t"), "\(kind)")
        }
        // The bill misses a collection, is a cent off on another and has one the platform
        // does not know: the clearing account is not square, which reconciliation will explain.
        #expect(balances["channel:WXPAY:clearing", default: 0] != 0)
    }
}
