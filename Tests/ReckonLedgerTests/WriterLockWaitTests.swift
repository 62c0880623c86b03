import Foundation
import ReckonCore
@testable import ReckonLedger
import Testing

/// The writer lock's bounded wait (issue 12 item 6), in one process through two ledgers
/// (open file description locks conflict between them as between processes).
@Suite("Waiting for the writer lock", .serialized)
struct WriterLockWaitTests {
    @Test func aWaitingWriterTakesTheLockOnceItsHolderLetsItGo() throws {
        let folder = try DayFolder(copy: false)
        let ledger = try folder.ledger()
        let first = try WriterLock.acquire(ledger, purpose: "reckon files set-aside")
        #expect(WriterLock.holder(ledgerPath: ledger.path).map { "\($0.pid) \($0.host) \($0.purpose)" }
                == "\(getpid()) \(ProcessState.hostName) reckon files set-aside")
        let other = try Ledger(path: ledger.path)
        // Without a wait, refused at once naming the holder; no batch run is recorded.
        let since = try #require(WriterLock.holder(ledgerPath: ledger.path)?.since)
        let refused = try #require(throws: LedgerError.self) { try WriterLock.acquire(other) }
        #expect(refused.message == "another reckon process is writing the ledger \(ledger.path) (reckon files set-aside, "
                + "pid \(getpid()) on \(ProcessState.hostName), since \(since)); one writer at a time: try again when it ends")

        // A second writer waiting (for as long as it takes: the bound is only a safety net)
        // finds the lock held, and gets it once the first lets it go: nothing is refused.
        var triesWhileHeld = 0
        let second = try WriterLock.acquire(other, waitSeconds: 600, purpose: "reckon batch") {
            triesWhileHeld += 1
            first.release()
        }
        #expect(triesWhileHeld == 1)
        #expect(WriterLock.holder(ledgerPath: ledger.path).map { "\($0.pid) \($0.purpose)" } == "\(getpid()) reckon batch")
        second.release()
        #expect(WriterLock.holder(ledgerPath: ledger.path) == nil && !WriterLock.isHeld(ledgerPath: ledger.path))
    }
}

