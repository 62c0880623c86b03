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
        /// How many of the waiting files are watched for their size and time to hold (the
        /// daemon's looks): their folder is listed at the next look whatever its time says.
        public var watching = 0
    }

    /// The type's files for `date` (any date when nil, or when the pattern has none) that
    /// are complete. `list` lists the folder: once for the marker rule, twice for the
    /// others, with the required time slept between (nothing is slept when no file waits).
    public func decide(_ type: FileTypeConfig, date: CivilDate?,
                       list: () throws(SFTPError) -> RemoteListing) throws(SFTPError) -> Decision {
        try decide([Rule(id: type.id, name: type.name, readiness: type.readiness)], date: date, list: list)[type.id] ?? Decision()
    }

    /// The same for a name pattern and readiness rule given apart.
    public func decide(name pattern: FileNamePattern, readiness: Readiness, date: CivilDate?,
                       list: () throws(SFTPError) -> RemoteListing) throws(SFTPError) -> Decision {
        try decide([Rule(id: "", name: pattern, readiness: readiness)], date: date, list: list)[""] ?? Decision()
    }

    /// A file type's name pattern and readiness rule, by its id.
    public struct Rule: Sendable {
        public let id: String
        public let name: FileNamePattern
        public let readiness: Readiness

        public init(id: String, name: FileNamePattern, readiness: Readiness) {
            self.id = id
            self.name = name
            self.readiness = readiness
        }
    }

    /// The same judged over successive looks, without waiting (the daemon's, which looks
    /// every few seconds): the folder is listed once, and a file under the stable or
    /// trailer rule is ready once `watch` — kept from look to look — has seen its size and
    /// time the same for the rule's seconds on the monotonic clock; until then it waits, as
    /// a local drop's `stable` rule does in the daemon. Nothing is slept, so one partner's
    /// new file does not hold up the others'. The watch forgets the files no longer listed.
    public func decideOverLooks(_ rules: [Rule], date: CivilDate?, watch: inout StabilityWatch,
                                fetchedAlready: (RemoteFile) -> Bool = { _ in false },
                                list: () throws(SFTPError) -> RemoteListing) throws(SFTPError) -> [String: Decision] {
        let listing = try list()
        watch.keepOnly(Set(listing.files.map(\.name)))
        let now = clock.nowNanoseconds()
        var decisions: [String: Decision] = [:]
        for rule in rules {
            var decision = Decision()
            for look in looks(rule, in: listing, date: date, fetchedAlready: fetchedAlready) {
                switch look {
                case .ready(let file): decision.ready.append(file)
                case .waiting(let waiting): decision.waiting.append(waiting)
                case .watch(let file, let seconds):
                    if watch.observe(file.name, size: file.sizeBytes, also: [file.modifiedSeconds], atNanoseconds: now, requiredSeconds: seconds) {
                        decision.ready.append(file)
                    } else {
                        decision.waiting.append(Waiting(file: file, reason: Self.settlingReason(seconds)))
                        decision.watching += 1
                    }
                }
            }
            decision.ready.sort { $0.name < $1.name }
            decisions[rule.id] = decision
        }
        return decisions
    }

    /// What one look at a listing says of a rule's files, before any watching.
    private enum Look {
        case ready(RemoteFile)
        case waiting(Waiting)
        /// Under the stable or trailer rule: ready once its size and time hold for `seconds`.
        case watch(RemoteFile, seconds: Int)
    }

    /// The rule's files of the day in `listing`: a marker rule's are ready or waiting for
    /// their marker; the others are to be watched, except the copies `fetchedAlready` names.
    private func looks(_ rule: Rule, in listing: RemoteListing, date: CivilDate?,
                      fetchedAlready: (RemoteFile) -> Bool) -> [Look] {
        var looks: [Look] = []
        for file in listing.files {
            let match = rule.name.match(file.name)
            guard match.matches, date == nil || match.date == nil || match.date == date else { continue }
            switch rule.readiness {
            case .marker(let pattern):
                let marker = Collector.markerName(pattern, for: file.name)
                looks.append(listing.file(named: marker) != nil
                    ? .ready(file) : .waiting(Waiting(file: file, reason: "no marker file \(marker) on the server yet")))
            case .stable(let required):
                if !fetchedAlready(file) { looks.append(.watch(file, seconds: required)) }
            case .trailer:
                if !fetchedAlready(file) { looks.append(.watch(file, seconds: trailerWatchSeconds)) }
            }
        }
        return looks
    }

    /// Why a file under the stable or trailer rule is not taken yet.
    public static func settlingReason(_ seconds: Int) -> String {
        "its size or time is still changing on the server (they must stay the same for \(seconds) s)"
    }

    /// Several file types of one folder at once, by id: the folder is listed once, and
    /// once more after the longest wait any of their files needs (one wait, not one per type).
    /// A file `fetchedAlready` names (the copy taken before, unchanged) is neither ready nor
    /// waiting under the stable and trailer rules: watching it again would only make each
    /// look wait, for every file of the day still on the server.
    public func decide(_ rules: [Rule], date: CivilDate?, fetchedAlready: (RemoteFile) -> Bool = { _ in false },
                       list: () throws(SFTPError) -> RemoteListing) throws(SFTPError) -> [String: Decision] {
        let first = try list()
        var decisions: [String: Decision] = [:]
        var watched: [(rule: String, file: RemoteFile, seconds: Int)] = []
        var watch = StabilityWatch()
        let start = clock.nowNanoseconds()
        for rule in rules {
            var decision = Decision()
            for look in looks(rule, in: first, date: date, fetchedAlready: fetchedAlready) {
                switch look {
                case .ready(let file): decision.ready.append(file)
                case .waiting(let waiting): decision.waiting.append(waiting)
                case .watch(let file, let seconds):
                    if watch.observe(file.name, size: file.sizeBytes, also: [file.modifiedSeconds], atNanoseconds: start,
                                     requiredSeconds: seconds) {
                        decision.ready.append(file)
                    } else {
                        watched.append((rule.id, file, seconds))
                    }
                }
            }
            decisions[rule.id] = decision
        }
        guard let longest = watched.map(\.seconds).max() else { return decisions }
        sleeper.sleep(seconds: Double(longest))
        let second = try list()
        let time = clock.nowNanoseconds()
        for (rule, file, seconds) in watched {
            guard let again = second.file(named: file.name) else { continue }
            if watch.observe(file.name, size: again.sizeBytes, also: [again.modifiedSeconds], atNanoseconds: time,
                             requiredSeconds: seconds) {
                // The second listing's figures: the ones that held.
                decisions[rule]?.ready.append(again)
            } else {
                decisions[rule]?.waiting.append(Waiting(file: again, reason: Self.settlingReason(seconds)))
            }
        }
        for key in decisions.keys { decisions[key]?.ready.sort { $0.name < $1.name } }
        return decisions
    }
}
