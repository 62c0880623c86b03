import ReckonCore
import ReckonFiles
import ReckonLedger
import ReckonSFTP

/// A day's batch options with the SFTP hooks set up where reckon.yaml asks for them: the
/// partners' SFTP drops fetched into their local ones before the collect rules run, and
/// the deliver step's uploads. One place for `reckon batch` and `reckon run` (the daemon
/// gets it as ``DaemonHooks/makeBatchOptions``), so both fetch and deliver alike.
enum BatchHooks {
    /// `log` hears the SFTP client's lines (retries): stderr for the CLI, the daemon's logger.
    /// `sessions` keeps each partner's SFTP connection between fetches (the daemon's ticks).
    static func options(_ date: CivilDate, steps: [BatchStep], partner: String?, config: ReckonConfig,
                        sessions: SFTPSessions? = nil,
                        log: @escaping @Sendable (String) -> Void = { printError($0) }) -> BatchOptions {
        var options = BatchOptions(date: date, steps: steps, partner: partner)
        if config.partners.contains(where: { $0.sftp != nil }) {
            options.fetchRemoteDrops = { date, partner in
                var fetcher = SFTPDropFetcher(config: config, log: log)
                fetcher.sessions = sessions
                fetcher.partnersAtOnce = SFTPDropFetcher.defaultPartnersAtOnce
                let report = fetcher.fetch(date: date, partner: partner)
                return RemoteDropsFetched(problems: report.problems, hostKeyRefusals: report.hostKeyRefusals,
                                          fetchedPartners: report.fetchedPartners, settling: report.settling)
            }
        }
        if config.partners.contains(where: { $0.outbound?.deliverPath != nil }) {
            options.deliverOutbound = { delivery in SFTPDelivery.deliver(delivery, config: config) }
        }
        return options
    }
}
