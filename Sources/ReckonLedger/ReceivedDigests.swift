import Foundation
import GRDB

extension Ledger {
    /// Whether the ledger has dealt with these bytes from the partner before (posted, an
    /// earlier version sent again, set aside; a refused file is tried again, so it does not
    /// count). The daemon asks it of the files present when it starts, so a restart does not
    /// run again every day whose files are still in the drops.
    public func hasReceived(sha256: String, partner: String) throws(LedgerError) -> Bool {
        try read { db in
            try Bool.fetchOne(db, sql: """
                SELECT EXISTS (SELECT 1 FROM received_file WHERE sha256 = ? AND partner = ? AND status <> 'rejected')
                """, arguments: [sha256, partner]) ?? false
        }
    }
}
