import GRDB
import ReckonCore

/// What fetching the partners' remote drops found, as the batch needs it.
public struct RemoteDropsFetched: Sendable {
    /// One line per failure; any makes the run fail.
    public var problems: [String]
    /// Partners whose server presented a host key that known_hosts does not pin, with the
    /// error naming the host and both fingerprints.
    public var hostKeyRefusals: [(partner: String, message: String)]
    /// Partners whose drop was fetched without a failure: their refusal alert clears.
    public var fetchedPartners: [String]
    /// Files on the servers still waiting for their size to hold (judged over the daemon's
    /// looks): the daemon is not idle, and the day's plan waits, while there are any.
    public var settling: Int

    public init(problems: [String] = [], hostKeyRefusals: [(partner: String, message: String)] = [], fetchedPartners: [String] = [],
                settling: Int = 0) {
        self.problems = problems
        self.hostKeyRefusals = hostKeyRefusals
        self.fetchedPartners = fetchedPartners
        self.settling = settling
    }
}

extension Ledger {
    /// A refused host key is an alert of the day (subject `<partner>/sftp`), not only a line
    /// of the run's errors: nothing was fetched from that server, and someone must check
    /// the key with the partner. A later clean fetch clears it.
    func recordHostKeyAlerts(_ fetched: RemoteDropsFetched, date: CivilDate) throws(LedgerError) {
        guard !fetched.hostKeyRefusals.isEmpty || !fetched.fetchedPartners.isEmpty else { return }
        try write { db in
            let day = date.description
            for partner in fetched.fetchedPartners {
                try AlertBook.clear(db, .sftpHostKeyRefused, subject: "\(partner)/sftp", day: day)
            }
            for refusal in fetched.hostKeyRefusals {
                try AlertBook.raise(db, .sftpHostKeyRefused, subject: "\(refusal.partner)/sftp", day: day,
                                    message: refusal.message, reopening: true)
            }
        }
    }
}
