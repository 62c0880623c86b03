import Foundation
import ReckonCore
import ReckonFiles

/// Which of a file type's files in an SFTP folder are complete, by the rules local drops
/// use (``Collector``): a marker file beside it (`{name}.ok`, in the same listing); or its
/// size — and, remotely, its modification time — the same across two listings at least the
/// type's seconds apart on the monotonic clock (``StabilityWatch``). The trailer rule needs
/// the file's contents: a trailer file is fetched once it is stable over
/// `trailerWatchSeconds`, and the local collect's trailer rule decides after (a copy still
/// without its trailer waits there, and is fetched again when the server's copy changes).
/// A file still growing on the server is never taken early.
public struct RemoteReadiness {
    public let clock: MonotonicClock
    public let sleeper: any Sleeper
    /// How long a trailer file's size must hold before it is fetched to be read.
    public let trailerWatchSeconds: Int

    public init(clock: MonotonicClock = .system, sleeper: any Sleeper = SystemSleeper(), trailerWatchSeconds: Int = 2) {
        self.clock = clock
        self.sleeper = sleeper
        self.trailerWatchSeconds = trailerWatchSeconds
    }

    /// A remote file that is there but not taken yet, and the rule that holds it back.
    public struct Waiting: Sendable, Equatable {
        public let file: RemoteFile
        public let reason: String

        public init(file: RemoteFile, reason: String) {
            self.file = file
            self.reason = reason
        }
    }

    public struct Decision: Sendable, Equatable {
        public var ready: [RemoteFile] = []
        public var waiting: [Waiting] = []
    }

    /// The type's files for `date` (any date when nil, or when the pattern has none) that
    /// are complete. `list` lists the folder: once for the marker rule, twice for the
    /// others, with the required time slept between (nothing is slept when no file waits).
    public func decide(_ type: FileTypeConfig, date: CivilDate?,
                       list: () throws(SFTPError) -> RemoteListing) throws(SFTPError) -> Decision {
        try decide(name: type.name, readiness: type.readiness, date: date, list: list)
    }

    /// The same for a name pattern and readiness rule given apart.
    public func decide(name pattern: FileNamePattern, readiness: Readiness, date: CivilDate?,
                       list: () throws(SFTPError) -> RemoteListing) throws(SFTPError) -> Decision {
        let first = try list()
        let candidates = first.files.filter { file in
            let match = pattern.match(file.name)
            return match.matches && (date == nil || match.date == nil || match.date == date)
        }
        var decision = Decision()
        guard !candidates.isEmpty else { return decision }
        let seconds: Int
        switch readiness {
        case .marker(let pattern):
            for file in candidates {
                let marker = Collector.markerName(pattern, for: file.name)
                if first.file(named: marker) != nil {
                    decision.ready.append(file)
                } else {
                    decision.waiting.append(Waiting(file: file, reason: "no marker file \(marker) on the server yet"))
                }
            }
            return decision
        case .stable(let required): seconds = required
        case .trailer: seconds = trailerWatchSeconds
        }
        var watch = StabilityWatch()
        let start = clock.nowNanoseconds()
        var ready = Set<String>()
        for file in candidates where watch.observe(file.name, size: file.sizeBytes, also: [file.modifiedSeconds],
                                                    atNanoseconds: start, requiredSeconds: seconds) {
            ready.insert(file.name)
        }
        if ready.count < candidates.count {
            sleeper.sleep(seconds: Double(seconds))
            let second = try list()
            let time = clock.nowNanoseconds()
            for file in candidates where !ready.contains(file.name) {
                guard let again = second.file(named: file.name) else { continue }
                if watch.observe(file.name, size: again.sizeBytes, also: [again.modifiedSeconds], atNanoseconds: time,
                                 requiredSeconds: seconds) {
                    ready.insert(file.name)
                }
            }
            for file in candidates where !ready.contains(file.name) {
                decision.waiting.append(Waiting(file: file, reason: "its size or time is still changing on the server "
                                                + "(they must stay the same for \(seconds) s)"))
            }
            // The second listing's figures, which are the ones that held.
            decision.ready = candidates.filter { ready.contains($0.name) }.map { second.file(named: $0.name) ?? $0 }
        } else {
            decision.ready = candidates
        }
        return decision
    }
}
