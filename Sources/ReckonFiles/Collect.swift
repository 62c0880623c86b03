import Foundation
import ReckonCore

/// A partner file found in a drop for a business day.
public struct CollectedFile: Sendable, Equatable {
    public let path: String
    public let partner: String
    public let fileType: String
}

/// A file that is there but does not count yet, and the rule that holds it back.
public struct WaitingFile: Sendable, Equatable {
    public let path: String
    public let partner: String
    public let fileType: String
    public let reason: String
}

/// The collect step: which partner files for a business day are in their drops and
/// complete. A file counts only once its type's readiness rule holds: its marker file is
/// there, its size has not changed for the configured time (measured on the monotonic
/// clock, never from the file's modification time), or its spec's trailer record is present.
public struct Collector {
    public let config: ReckonConfig
    /// How long to keep watching files whose size is not yet known to be stable.
    public let maximumWaitSeconds: Double
    private let now: () -> UInt64
    /// Looks at files kept from earlier collects (the daemon's ticks): a file seen stable
    /// before counts at once, so a wait of 0 never blocks. Nil: this collect's own looks.
    private let watch: SharedStabilityWatch?

    public init(config: ReckonConfig, maximumWaitSeconds: Double = 30, watch: SharedStabilityWatch? = nil,
                now: @escaping () -> UInt64 = { DispatchTime.now().uptimeNanoseconds }) {
        self.config = config
        self.maximumWaitSeconds = maximumWaitSeconds
        self.watch = watch
        self.now = now
    }

    public struct Result: Sendable {
        public var ready: [CollectedFile] = []
        public var waiting: [WaitingFile] = []
        /// Files in drops that fit no file type of their partner.
        public var unknown: [String] = []

        public init() {}
    }

    /// Collects the day's files of every partner (or one), in configuration order. Files
    /// `skipping` names are known to the caller (taken before, unchanged): they are neither
    /// judged (no trailer read, no size watched) nor listed.
    public func collect(date: CivilDate, partner only: String? = nil, skipping: ((String) -> Bool)? = nil) -> Result {
        var result = Result()
        var stableCandidates: [(CollectedFile, Int)] = []
        for partner in config.partners where only == nil || partner.id == only {
            guard let drop = partner.drop else { continue }
            let names = ((try? FileManager.default.contentsOfDirectory(atPath: drop)) ?? []).sorted()
            var claimed = Set<String>()
            for type in partner.files {
                for name in names {
                    let match = type.name.match(name)
                    guard match.matches else { continue }
                    // Files of other days are known, just not today's business.
                    claimed.insert(name)
                    if case .marker(let pattern) = type.readiness {
                        claimed.insert(Self.markerName(pattern, for: name))
                    }
                    guard match.date == nil || match.date == date else { continue }
                    let path = drop + "/" + name
                    if let skipping, skipping(path) { continue }
                    var isFolder: ObjCBool = false
                    guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder), !isFolder.boolValue else { continue }
                    let file = CollectedFile(path: path, partner: partner.id, fileType: type.id)
                    switch type.readiness {
                    case .marker(let pattern):
                        let marker = drop + "/" + Self.markerName(pattern, for: name)
                        if FileManager.default.fileExists(atPath: marker) {
                            result.ready.append(file)
                        } else {
                            result.waiting.append(WaitingFile(path: path, partner: partner.id, fileType: type.id,
                                                              reason: "no marker file \((marker as NSString).lastPathComponent) yet"))
                        }
                    case .trailer:
                        if let reason = Self.trailerMissing(path, type: type) {
                            result.waiting.append(WaitingFile(path: path, partner: partner.id, fileType: type.id, reason: reason))
                        } else {
                            result.ready.append(file)
                        }
                    case .stable(let seconds):
                        stableCandidates.append((file, seconds))
                    }
                }
            }
            // The partner's archives (and their markers) are known too: the collect step
            // unpacks them before this runs (``Collector/collectArchives``).
            for archive in partner.archives {
                for name in names where archive.name.match(name).matches {
                    claimed.insert(name)
                    if case .marker(let pattern) = archive.readiness { claimed.insert(Self.markerName(pattern, for: name)) }
                }
            }
            result.unknown += names.filter { !claimed.contains($0) && !$0.hasPrefix(".") }.map { drop + "/" + $0 }
        }
        let (stable, changing) = waitForStableSizes(stableCandidates)
        result.ready += stable
        result.waiting += changing
        // Keep configuration order: partners, then their file types, then names.
        let order = Dictionary(uniqueKeysWithValues: config.partners.enumerated().flatMap { p, partner in
            partner.files.enumerated().map { ("\(partner.id)/\($0.element.id)", p * 1000 + $0.offset) }
        })
        result.ready.sort { (order["\($0.partner)/\($0.fileType)"] ?? 0, $0.path) < (order["\($1.partner)/\($1.fileType)"] ?? 0, $1.path) }
        return result
    }

    /// The day's inbound archives in the partners' drops (or one partner's), by the same
    /// readiness rules as files (marker or stable size; an archive has no trailer). A ready
    /// one is a ``CollectedFile`` whose `fileType` is the archive's id in `archives:`.
    public func collectArchives(date: CivilDate, partner only: String? = nil) -> Result {
        var result = Result()
        var stableCandidates: [(CollectedFile, Int)] = []
        for partner in config.partners where (only == nil || partner.id == only) && !partner.archives.isEmpty {
            guard let drop = partner.drop else { continue }
            let names = ((try? FileManager.default.contentsOfDirectory(atPath: drop)) ?? []).sorted()
            for archive in partner.archives {
                for name in names where !name.hasPrefix(".") {
                    let match = archive.name.match(name)
                    guard match.matches, match.date == nil || match.date == date else { continue }
                    let path = drop + "/" + name
                    var isFolder: ObjCBool = false
                    guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder), !isFolder.boolValue else { continue }
                    let file = CollectedFile(path: path, partner: partner.id, fileType: archive.id)
                    switch archive.readiness {
                    case .marker(let pattern):
                        let marker = Self.markerName(pattern, for: name)
                        if FileManager.default.fileExists(atPath: drop + "/" + marker) {
                            result.ready.append(file)
                        } else {
                            result.waiting.append(WaitingFile(path: path, partner: partner.id, fileType: archive.id,
                                                              reason: "no marker file \(marker) yet"))
                        }
                    case .stable(let seconds):
                        stableCandidates.append((file, seconds))
                    case .trailer:
                        result.waiting.append(WaitingFile(path: path, partner: partner.id, fileType: archive.id,
                                                          reason: "an archive has no trailer record to wait for"))
                    }
                }
            }
        }
        let (stable, changing) = waitForStableSizes(stableCandidates)
        result.ready += stable
        result.waiting += changing
        return result
    }

    /// Watches sizes until each file has kept its size for its required time, or the
    /// maximum wait is over.
    private func waitForStableSizes(_ candidates: [(CollectedFile, Int)]) -> ([CollectedFile], [WaitingFile]) {
        guard !candidates.isEmpty else { return ([], []) }
        let start = now()
        let watch = self.watch ?? SharedStabilityWatch()
        var stable: Set<String> = []
        while true {
            let time = now()
            for (file, seconds) in candidates where !stable.contains(file.path) {
                if watch.observe(file.path, size: Self.size(file.path), atNanoseconds: time, requiredSeconds: seconds) {
                    stable.insert(file.path)
                }
            }
            if stable.count == candidates.count || Double(now() - start) / 1e9 >= maximumWaitSeconds { break }
            usleep(200_000)
        }
        var ready: [CollectedFile] = []
        var waiting: [WaitingFile] = []
        for (file, seconds) in candidates {
            if stable.contains(file.path) {
                ready.append(file)
            } else {
                waiting.append(WaitingFile(path: file.path, partner: file.partner, fileType: file.fileType,
                                           reason: "its size is still changing (it must stay the same for \(seconds) s)"))
            }
        }
        return (ready, waiting)
    }

    /// The marker file a `.marker` readiness rule waits for beside `name` (`{name}.ok`).
    ///
    /// Spelled out on bytes: Foundation's `replacingOccurrences` goes through `NSString`, and
    /// the daemon asks for every listed file's marker at each look (a tenth of its idle time).
    public static func markerName(_ pattern: String, for name: String) -> String {
        let token = "{name}".utf8
        var marker: [UInt8] = []
        marker.reserveCapacity(pattern.utf8.count + name.utf8.count)
        var rest = pattern.utf8[...]
        while let first = rest.first {
            if first == UInt8(ascii: "{") && rest.starts(with: token) {
                marker += name.utf8
                rest = rest.dropFirst(token.count)
            } else {
                marker.append(first)
                rest = rest.dropFirst()
            }
        }
        return String(decoding: marker, as: UTF8.self)
    }

    static func size(_ path: String) -> Int64 {
        var status = stat()
        return stat(path, &status) == 0 ? Int64(status.st_size) : -1
    }

    /// Nil when the file's spec reads it to the end with its trailer record in it;
    /// otherwise why not.
    static func trailerMissing(_ path: String, type: FileTypeConfig) -> String? {
        guard let spec = try? SpecFile.load(type.specPath) else { return "its spec \(type.specPath) cannot be loaded" }
        guard let trailer = spec.kinds.last(where: { $0.maxOccurs == 1 }) else {
            return "its spec declares no trailer (a last kind with occurs: 1)"
        }
        let report = PartnerFile.check(path, spec: spec, options: CheckOptions(maxProblems: 1))
        if report.failure != nil { return "it cannot be read to its end yet" }
        return report.count(of: trailer.name)?.total ?? 0 > 0 ? nil : "no '\(trailer.name)' record yet"
    }
}

/// A ``StabilityWatch`` shared across collects and threads (the daemon keeps one for its
/// whole run), forgetting files that have left the drops.
public final class SharedStabilityWatch: @unchecked Sendable {
    private let lock = NSLock()
    private var watch = StabilityWatch()

    public init() {}

    /// ``StabilityWatch/observe(_:size:also:atNanoseconds:requiredSeconds:)``, under a lock.
    public func observe(_ key: String, size: Int64, atNanoseconds time: UInt64, requiredSeconds: Int) -> Bool {
        lock.lock()
        defer { lock.unlock() }
        return watch.observe(key, size: size, atNanoseconds: time, requiredSeconds: requiredSeconds)
    }

    /// Forgets every file but these (the ones still in the drops), so a long run's memory
    /// does not grow with the files it has seen.
    public func keepOnly(_ keys: Set<String>) {
        lock.lock()
        defer { lock.unlock() }
        watch.keepOnly(keys)
    }
}

/// The `stable` readiness rule over successive looks at files (a local drop's sizes, an SFTP
/// listing's sizes and times): a file counts once what was seen of it has not changed for
/// the required time, measured on the monotonic clock between looks. A change starts the
/// wait again.
public struct StabilityWatch: Sendable {
    private var observed: [String: (signature: [Int64], sinceNanoseconds: UInt64)] = [:]

    public init() {}

    /// Records a look at `key` (its size, and whatever else must stay the same) at a
    /// monotonic time; true once it has stayed the same for `requiredSeconds` (at once for 0).
    public mutating func observe(_ key: String, size: Int64, also: [Int64] = [], atNanoseconds time: UInt64,
                                 requiredSeconds: Int) -> Bool {
        let signature = [size] + also
        if let previous = observed[key], previous.signature == signature {
            return time >= previous.sinceNanoseconds && Double(time - previous.sinceNanoseconds) / 1e9 >= Double(requiredSeconds)
        }
        observed[key] = (signature, time)
        return requiredSeconds == 0
    }

    /// Forgets every key but these.
    public mutating func keepOnly(_ keys: Set<String>) {
        observed = observed.filter { keys.contains($0.key) }
    }
}
