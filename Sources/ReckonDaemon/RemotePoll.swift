import Foundation
import Logging
import ReckonCore
import ReckonLedger

/// Polls the partners' SFTP drops into their local ones, once per tick, through the same
/// fetch `reckon batch` uses (``DaemonHooks/makeBatchOptions``). Nothing is fetched while
/// an operator has paused `collect`. What a fetch finds goes to the day's run, which records
/// it (host-key alerts, problems) as a batch's collect step does.
struct RemotePoll: Sendable {
    let config: ReckonConfig
    let hooks: DaemonHooks
    let metrics: RunMetrics
    let logger: Logger

    var hasRemoteDrops: Bool { config.partners.contains { $0.sftp != nil } }

    func poll(_ date: CivilDate, paused: Set<BatchStep>) -> RemoteDropsFetched? {
        guard hasRemoteDrops else { return nil }
        if paused.contains(.collect) {
            logger.notice("collect is paused: the SFTP drops are not fetched", metadata: ["business_date": "\(date)"])
            return nil
        }
        guard let fetch = hooks.makeBatchOptions(date, [.collect], nil).fetchRemoteDrops else { return nil }
        let fetched = fetch(date, nil)
        for partner in config.partners where partner.sftp != nil && !fetched.fetchedPartners.contains(partner.id) {
            metrics.recordSFTPError(partner: partner.id)
        }
        for problem in fetched.problems {
            logger.error("\(problem)", metadata: ["business_date": "\(date)"])
        }
        return fetched
    }
}
