import Foundation
import GRDB
import ReckonCore
@testable import ReckonLedger
import Testing

/// Opening the ledger for reading (issue 9, items 6 and 11) and exporting it in flat memory
/// (item 20). The commands themselves are tested end to end in ReckonCLITests/ReaderTests.
@Suite("Reading the ledger")
struct LedgerAccessTests {
    @Test func aReaderSeesWhatIsCommittedAndCannotWrite() throws {
        let space = try Workspace()
        _ = try space.ingest(try space.file("platform/PLAT_LOAN_20241115.csv"), "platform", "loans")
        let reader = try Ledger(readingFrom: space.config.databasePath)
        #expect(reader.isReadOnly)
        #expect(try reader.export() == space.ledger.export())
        #expect(try reader.balances(account: "bank:settlement") == space.ledger.balances(account: "bank:settlement"))
        let error = try #require(throws: LedgerError.self) { try reader.register(space.config.partners) }
        #expect(error.message.hasPrefix("writing the ledger \(space.config.databasePath): SQLite error 8: attempt to write a readonly database"),
                "\(error)")
    }

    @Test func aReaderDoesNotMigrateALedgerMadeByAnEarlierReckon() throws {
        let space = try Workspace()
        let path = space.folder + "/older.sqlite"
        let earlier = "005 typed events and a record key table"
        do {
            let queue = try DatabaseQueue(path: path)
            try Schema.migrator.migrate(queue, upTo: earlier)
        }
        let pending = Array(Schema.migrator.migrations.drop { $0 != "006 loans, plans, plan checks and alerts" })
        #expect(pending.count >= 1)
        let error = try #require(throws: LedgerError.self) { try Ledger(readingFrom: path) }
        #expect(error.message == "the ledger \(path) was made by an earlier reckon and needs migrating (\(pending.joined(separator: ", "))); "
                + "a command that writes (reckon batch, reckon ingest) migrates it")
        // Nothing was applied; a writer migrates it, and then it reads.
        let applied = try DatabaseQueue(path: path).read { try Schema.migrator.appliedMigrations($0) }
        #expect(applied.last == earlier)
        _ = try Ledger(path: path)
        #expect(try Ledger(readingFrom: path).verify().ok)
    }

    @Test func thereIsNoLedgerToReadBeforeAnythingIsReceived() throws {
        let space = try Workspace()
        let path = space.folder + "/var/none.sqlite"
        let error = try #require(throws: LedgerError.self) { try Ledger(readingFrom: path) }
        #expect(error.message == "there is no ledger at \(path) yet: nothing has been received (reckon batch or reckon ingest makes it)")
        #expect(!FileManager.default.fileExists(atPath: path))
    }

    /// Counts what an export writes, and keeps nothing.
    struct Tally: TextOutputStream {
        var writes = 0
        var bytes = 0
        var longestWriteBytes = 0
        var text = ""
        let keepsText: Bool

        mutating func write(_ string: String) {
            writes += 1
            bytes += string.utf8.count
            longestWriteBytes = max(longestWriteBytes, string.utf8.count)
            if keepsText { text += string }
        }
    }

    @Test func theExportIsWrittenARowAtATime() throws {
        let space = try Workspace()
        _ = try space.ingest(try space.file("platform/PLAT_LOAN_20241115.csv"), "platform", "loans")
        _ = try space.ingest(try space.file("platform/PLAT_REPAY_20241215.csv"), "platform", "repayments")
        let whole = try space.ledger.export()
        var tally = Tally(keepsText: true)
        try space.ledger.export(to: &tally)
        #expect(tally.text == whole)
        // One write per line (section titles included): nothing is gathered first.
        #expect(tally.writes == whole.split(separator: "\n", omittingEmptySubsequences: false).count - 1)
        #expect(tally.longestWriteBytes == whole.split(separator: "\n").map { $0.utf8.count + 1 }.max())
    }
}
