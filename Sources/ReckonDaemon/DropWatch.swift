import Foundation
import ReckonCore
import ReckonFiles
import ReckonLedger

/// Which business days have complete files in the local drops that the daemon has not
/// taken yet. Readiness is the collect step's own (``Collector``, with a
/// ``SharedStabilityWatch`` kept across ticks, so a `stable` rule is judged over successive
/// looks and never blocks a tick). A file is taken once a run has dealt with it; a file
/// whose size, time or inode changes (a corrected re-send under the same name) is new again.
/// At start, a file the ledger already has (``knownToLedger``: its SHA-256 received from the
/// partner, not refused, and its day's last run succeeded) is taken, so a restart does not
/// run again every day whose files are still in the drops; every other file is new, and a
/// day whose last run was stopped, interrupted or incomplete runs again. (Later arrivals are never judged by
/// digest: an earlier version sent again must reach ingest, which says so.)
///
/// A file complete is reported at once (the daemon posts it by itself). A day whose files
/// are still settling (a `stable` rule not yet met) is in ``Look/settlingDays``: its plan and
/// reconcile steps wait for them, as `reckon batch` waits up to its `--wait-seconds` (30 s),
/// until they are stable or the first has been settling for ``settleWaitSeconds``, so a day
/// is not planned over half its files for want of two seconds.
public struct DropWatch {
    public let config: ReckonConfig
    public let stability = SharedStabilityWatch()
    private var taken: [String: FileSignature] = [:]
    /// When each file was first seen ready (monotonic), for the completion-to-posting time.
    private var readySince: [String: UInt64] = [:]
    /// When each file still settling was first seen so (monotonic).
    private var settlingSince: [String: UInt64] = [:]
    /// How long a day waits for its settling files before it runs without them.
    public var settleWaitSeconds: Double = 30
    /// Whether the ledger has a file's bytes from its partner already and its day's last run
    /// succeeded (asked at the first look).
    public var knownToLedger: ((_ path: String, _ partner: String, _ date: CivilDate) -> Bool)?
    private var firstLook = true

    public init(config: ReckonConfig) {
        self.config = config
    }

    /// What one look found.
    public struct Look: Sendable {
        /// Days with files ready and not taken, oldest first, with those files.
        public var days: [(date: CivilDate, files: [CollectedFile])] = []
        /// Files still watched for a stable size: the daemon is not idle while there are any.
        public var settling = 0
        /// Days with files still settling, for less than the settle wait: their plan and
        /// reconcile steps wait for them rather than run over half the day's files.
        public var settlingDays: Set<CivilDate> = []
    }

    /// Looks at the drops for `today` (and, unless `onlyToday`, earlier days whose files
    /// are in the drops).
    public mutating func look(today: CivilDate, onlyToday: Bool, now: UInt64 = DispatchTime.now().uptimeNanoseconds) -> Look {
        let present = presentFiles()
        if firstLook, let knownToLedger {
            for (path, file) in present where knownToLedger(path, file.partner, file.date ?? today) {
                taken[path] = file.signature
            }
        }
        firstLook = false
        stability.keepOnly(Set(present.keys))
        taken = taken.filter { present[$0.key] != nil }
        readySince = readySince.filter { present[$0.key] != nil }
        settlingSince = settlingSince.filter { present[$0.key] != nil }
        // Only days with something new are collected, and only their new files judged: a
        // tick over old files costs a stat each (a trailer rule reads a file).
        var days = Set<CivilDate>()
        for (path, file) in present where taken[path] != file.signature {
            let day = file.date ?? today
            if day == today || (!onlyToday && day < today) { days.insert(day) }
        }
        var look = Look()
        let known = { [taken] (path: String) in taken[path] != nil && taken[path] == present[path]?.signature }
        for day in days.sorted() {
            let collected = Collector(config: config, maximumWaitSeconds: 0, watch: stability).collect(date: day, skipping: known)
            let fresh = collected.ready
            for file in collected.ready { settlingSince[file.path] = nil }
            for file in fresh where readySince[file.path] == nil { readySince[file.path] = now }
            let settling = collected.waiting.filter { $0.reason.hasPrefix("its size is still changing") }.map(\.path)
            for path in settling where settlingSince[path] == nil { settlingSince[path] = now }
            look.settling += settling.count
            let waitedEnough = settling.allSatisfy { Double(now &- (settlingSince[$0] ?? now)) / 1e9 >= settleWaitSeconds }
            if !waitedEnough { look.settlingDays.insert(day) }
            if !fresh.isEmpty { look.days.append((day, fresh)) }
        }
        return look
    }

    /// Marks files dealt with (posted, repeated, refused, failed): not taken again until they change.
    public mutating func markTaken(_ paths: [String]) {
        for path in paths {
            if let signature = FileSignature(path: path) { taken[path] = signature }
        }
    }

    /// Seconds since the file was first seen complete, nil when it never was.
    public func secondsSinceReady(_ path: String, now: UInt64 = DispatchTime.now().uptimeNanoseconds) -> Double? {
        Self.secondsSince(readySince[path], now: now)
    }

    /// When each file was first seen complete (monotonic nanoseconds), for a run to measure
    /// its files' latency as it posts them.
    public func readySinceSnapshot() -> [String: UInt64] { readySince }

    /// Seconds from a monotonic time to now; nil for none.
    public static func secondsSince(_ start: UInt64?, now: UInt64 = DispatchTime.now().uptimeNanoseconds) -> Double? {
        start.map { Double(now &- $0) / 1e9 }
    }

    private struct Present {
        let signature: FileSignature
        let partner: String
        let date: CivilDate?
    }

    /// Every file in the drops that fits one of its partner's file types, with its date.
    private func presentFiles() -> [String: Present] {
        var present: [String: Present] = [:]
        for partner in config.partners {
            guard let drop = partner.drop else { continue }
            for name in (try? FileManager.default.contentsOfDirectory(atPath: drop)) ?? [] where !name.hasPrefix(".") {
                guard let match = partner.files.lazy.map({ $0.name.match(name) }).first(where: \.matches) else { continue }
                let path = drop + "/" + name
                guard let signature = FileSignature(path: path) else { continue }
                present[path] = Present(signature: signature, partner: partner.id, date: match.date)
            }
        }
        return present
    }
}

/// What says a file is the same one as before: inode, size and modification time.
struct FileSignature: Equatable, Sendable {
    let inode: UInt64
    let sizeBytes: Int64
    let modifiedNanoseconds: Int64

    init?(path: String) {
        var status = stat()
        guard stat(path, &status) == 0, (status.st_mode & S_IFMT) == S_IFREG else { return nil }
        inode = UInt64(status.st_ino)
        sizeBytes = Int64(status.st_size)
        modifiedNanoseconds = Int64(status.st_mtim.tv_sec) * 1_000_000_000 + Int64(status.st_mtim.tv_nsec)
    }
}
