import Foundation
import ReckonCore
import ReckonFiles

/// What fetching the SFTP drops did: files fetched into local drops, files left on the
/// servers for now (with the rule that holds each), and what went wrong.
public struct SFTPFetchReport: Sendable {
    public struct Waiting: Sendable, Equatable {
        public let partner: String
        public let fileType: String
        public let name: String
        public let reason: String
    }

    public var fetched: [DownloadedFile] = []
    public var waiting: [Waiting] = []
    /// Remote paths moved to a partner's `done` folder.
    public var movedToDone: [String] = []
    /// One line per failure: the partner, and the error (which names the server).
    public var problems: [String] = []
    /// Partners whose server presented a host key known_hosts does not pin (mismatched or
    /// unknown), with the error that names the host and the fingerprints: an alert each.
    public var hostKeyRefusals: [(partner: String, message: String)] = []
    /// Partners whose drop was fetched without a failure.
    public var fetchedPartners: [String] = []
    /// Files waiting for their size and time to hold on the server (stable and trailer
    /// rules): the daemon looks again soon rather than call itself idle.
    public var settling: Int { waiting.filter { $0.reason.hasPrefix("its size or time is still changing") }.count }

    public init() {}

    /// Another partner's report added after this one's (partners' reports are merged in
    /// reckon.yaml's order, however they were fetched).
    mutating func append(_ other: SFTPFetchReport) {
        fetched += other.fetched
        waiting += other.waiting
        movedToDone += other.movedToDone
        problems += other.problems
        hostKeyRefusals += other.hostKeyRefusals
        fetchedPartners += other.fetchedPartners
    }
}

/// The first part of the collect step for partners with an SFTP drop: each partner's
/// server is listed, each of its file types' files of the day that are complete there
/// (``RemoteReadiness``: marker, stable size and time, or stable then the local trailer
/// rule) is fetched into the partner's local drop — with its marker, when the type has
/// one — unless the same file (name, size, time) is there already, and moved to the
/// `done` folder when one is configured. The local collect rules then run as for any drop.
/// A server that fails is tried again by the retry policy; what still fails is a problem
/// of the run, and the other partners are fetched all the same.
public struct SFTPDropFetcher {
    public let config: ReckonConfig
    public var retry: RetryPolicy
    public var clock: MonotonicClock
    public var sleeper: any Sleeper
    public var environment: [String: String]
    public var log: (String) -> Void
    /// Where each partner's client and watch are kept between fetches (the daemon's): the
    /// stable and trailer rules are then judged over successive fetches, without waiting.
    /// Nil: a client per partner per fetch, closed when its drop is fetched, and the rules'
    /// seconds waited within the fetch (`reckon batch`).
    public var sessions: SFTPSessions?
    /// How many partners' drops are fetched at once, each on its own connection: a look is
    /// mostly waiting for the servers' replies (a listing is several round trips), so with
    /// many partners one after the other the look takes longer than the files' posting.
    /// 1 (the default): one after the other. The clock, sleeper and log must then be safe
    /// to use from several threads (the system's are).
    public var partnersAtOnce = 1
    /// What the CLI and the daemon use: enough to overlap the servers' round trips, few
    /// enough that a hundred partners do not make a hundred threads.
    public static let defaultPartnersAtOnce = 8

    public init(config: ReckonConfig, retry: RetryPolicy = RetryPolicy(), clock: MonotonicClock = .system,
                sleeper: any Sleeper = SystemSleeper(), environment: [String: String] = ProcessInfo.processInfo.environment,
                log: @escaping (String) -> Void = { _ in }) {
        self.config = config
        self.retry = retry
        self.clock = clock
        self.sleeper = sleeper
        self.environment = environment
        self.log = log
    }

    /// The client settings for a partner's SFTP drop.
    public static func settings(_ drop: SFTPDropConfig) -> SFTPSettings {
        let passphrase: PassphraseSource? = drop.passphrase.map {
            switch $0 {
            case .file(let path): return .file(path)
            case .environment(let name): return .environment(name)
            }
        }
        return SFTPSettings(endpoint: SFTPEndpoint(host: drop.host, port: drop.port),
                            credentials: SFTPCredentials(user: drop.user, privateKeyPath: drop.keyPath, passphrase: passphrase),
                            knownHostsPath: drop.knownHostsPath,
                            timeouts: SFTPTimeouts(connectTimeoutSeconds: Double(drop.connectTimeoutSeconds),
                                                   readTimeoutSeconds: Double(drop.readTimeoutSeconds)))
    }

    /// Fetches the day's complete files of every partner with an SFTP drop (or one).
    /// Up to ``partnersAtOnce`` partners are fetched at a time; the report lists them in
    /// reckon.yaml's order all the same.
    public func fetch(date: CivilDate, partner only: String? = nil) -> SFTPFetchReport {
        let partners = config.partners.filter { (only == nil || $0.id == only) && $0.sftp != nil && $0.drop != nil }
        let lanes = max(1, min(partnersAtOnce, partners.count))
        let reports: [SFTPFetchReport]
        if lanes == 1 {
            reports = partners.map { fetch($0, date: date) }
        } else {
            let work = PartnerLanes(count: partners.count) { index in fetch(partners[index], date: date) }
            reports = work.run(lanes: lanes)
        }
        var report = SFTPFetchReport()
        for partnerReport in reports { report.append(partnerReport) }
        return report
    }

    /// One partner's drop: its own report, the partner's client used by this thread alone.
    private func fetch(_ partner: PartnerConfig, date: CivilDate) -> SFTPFetchReport {
        var report = SFTPFetchReport()
        guard let drop = partner.sftp, let folder = partner.drop else { return report }
        let settings = Self.settings(drop)
        let make = { SFTPClient(settings: settings, environment: environment, clock: clock, log: log) }
        let client = sessions?.client(for: partner.id, settings: settings, make: make) ?? make()
        defer { if sessions == nil { client.close() } }
        do {
            try fetch(partner, drop, into: folder, date: date, client: client, report: &report)
            report.fetchedPartners.append(partner.id)
        } catch {
            report.problems.append("the SFTP drop of \(partner.id): \(error)")
            switch error {
            case .hostKeyMismatch, .hostKeyUnknown: report.hostKeyRefusals.append((partner.id, "\(error)"))
            default: break
            }
        }
        return report
    }

    private func fetch(_ partner: PartnerConfig, _ drop: SFTPDropConfig, into folder: String, date: CivilDate,
                       client: SFTPClient, report: inout SFTPFetchReport) throws(SFTPError) {
        do {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        } catch {
            throw .localFailed(path: folder, reason: "the drop folder cannot be made: \(FileErrorText.reason(error))")
        }
        let list = { () throws(SFTPError) -> RemoteListing in
            try retry.run(sleeper: sleeper, onRetry: onRetry) { _ throws(SFTPError) in try client.list(folder: drop.remotePath) }
        }
        var latest = RemoteListing()
        // The partner's inbound archives are fetched by the same rules as its files (the
        // collect step unpacks them locally); their ids cannot clash with a file type's.
        let kinds = partner.files.map { (id: $0.id, name: $0.name, readiness: $0.readiness) }
            + partner.archives.map { (id: "archives/" + $0.id, name: $0.name, readiness: $0.readiness) }
        let rules = kinds.map { RemoteReadiness.Rule(id: $0.id, name: $0.name, readiness: $0.readiness) }
        // A file fetched before and unchanged is not watched again (each look would wait for
        // it); with a done folder it is still moved there, so it is watched as before.
        let fetchedAlready: (RemoteFile) -> Bool = { drop.doneFolder == nil && Self.alreadyThere($0, in: folder) }
        let readiness = RemoteReadiness(clock: clock, sleeper: sleeper)
        let decisions: [String: RemoteReadiness.Decision]
        var quiet: QuietFolder?
        if let sessions {
            var folder = sessions.quietFolder(for: partner.id)
            let now = clock.nowNanoseconds()
            // Read before the listing: a change between the two is then in the listing, and
            // moves the time the next look reads. A failure here only means a listing.
            let stamp = folder.timeIsTrusted ? try? client.folderStamp(drop.remotePath) : nil
            if let kept = folder.unchanged(stamp, date: date, atNanoseconds: now) {
                latest = kept.listing
                decisions = kept.decisions
            } else {
                // The daemon looks again in a few seconds: a file's stable seconds are judged over
                // its looks, so no partner's fetch waits for them (and holds up the others').
                decisions = try sessions.withWatch(for: partner.id) { watch throws(SFTPError) in
                    try readiness.decideOverLooks(rules, date: date, watch: &watch, fetchedAlready: fetchedAlready) { () throws(SFTPError) in
                        latest = try list()
                        return latest
                    }
                }
                let watching = decisions.values.contains { $0.watching > 0 }
                if folder.listed(.init(listing: latest, date: date, decisions: decisions), stamp: stamp, atNanoseconds: now, watching: watching) {
                    log("sftp \(drop.host):\(drop.port): the folder \(drop.remotePath) of \(partner.id) changed though its time did not; "
                        + "it is listed at every look from now on")
                }
            }
            quiet = folder
        } else {
            decisions = try readiness.decide(rules, date: date, fetchedAlready: fetchedAlready) { () throws(SFTPError) in
                latest = try list()
                return latest
            }
        }
        for name in latest.refused.map(\.description) { report.problems.append("the SFTP drop of \(partner.id): \(name)") }
        for type in kinds {
            guard let decision = decisions[type.id] else { continue }
            for waiting in decision.waiting {
                report.waiting.append(.init(partner: partner.id, fileType: type.id, name: waiting.file.name, reason: waiting.reason))
            }
            for file in decision.ready {
                var names = [file.name]
                if case .marker(let pattern) = type.readiness { names.append(Collector.markerName(pattern, for: file.name)) }
                for name in names {
                    guard let remote = latest.file(named: name) ?? (name == file.name ? file : nil) else { continue }
                    if Self.alreadyThere(remote, in: folder) { continue }
                    let fetched = try retry.run(sleeper: sleeper, onRetry: onRetry) { _ throws(SFTPError) in
                        try client.download(name, from: drop.remotePath, into: folder)
                    }
                    report.fetched.append(fetched)
                }
                if let done = drop.doneFolder {
                    for name in names where latest.file(named: name) != nil || name == file.name {
                        report.movedToDone.append(try client.moveToDone(name, in: drop.remotePath, doneFolder: done))
                    }
                }
            }
        }
        // Kept only once the look did all it had to: after a failure the next look lists.
        if let quiet { sessions?.keep(quiet, for: partner.id) }
    }

    private func onRetry(_ attempt: Int, _ error: SFTPError, _ delaySeconds: Double) {
        log("sftp: try \(attempt) failed (\(error)); trying again in \(Int(delaySeconds)) s")
    }

    /// Whether the local drop holds this file already: same name, size and time.
    static func alreadyThere(_ file: RemoteFile, in folder: String) -> Bool {
        var status = stat()
        guard stat(folder + "/" + file.name, &status) == 0 else { return false }
        return Int64(status.st_size) == file.sizeBytes && Int64(status.st_mtim.tv_sec) == file.modifiedSeconds
    }
}

/// The partners' fetches spread over a few threads: each lane takes the next partner not yet
/// taken (a slow server holds up one lane, not the others), and each result goes to its
/// partner's place. The lanes are threads of their own, not `DispatchQueue.concurrentPerform`:
/// that runs as many iterations at once as there are cores (two here), which suits work that
/// computes, not work that waits on a server's reply. Unchecked: the fetches share only what
/// is safe to share (see ``SFTPDropFetcher/partnersAtOnce``), and the lock guards the rest.
final class PartnerLanes<Result: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var next = 0
    private var results: [Result?]
    private let work: (Int) -> Result

    init(count: Int, work: @escaping (Int) -> Result) {
        results = Array(repeating: nil, count: count)
        self.work = work
    }

    /// Runs every item, `lanes` at a time (the calling thread is one of them), and returns
    /// the results in the items' order.
    func run(lanes: Int) -> [Result] {
        let lanes = max(1, min(lanes, results.count))
        let finished = DispatchGroup()
        for _ in 1..<lanes {
            finished.enter()
            let thread = Thread { [self] in
                drain()
                finished.leave()
            }
            thread.name = "reckon-sftp-lane"
            thread.start()
        }
        drain()
        finished.wait()
        return lock.withLock { results.map { $0! } }
    }

    private func drain() {
        while let index = take() {
            let result = work(index)
            lock.withLock { results[index] = result }
        }
    }

    private func take() -> Int? {
        lock.withLock {
            guard next < results.count else { return nil }
            defer { next += 1 }
            return next
        }
    }
}
