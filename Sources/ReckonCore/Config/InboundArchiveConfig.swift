/// A zip archive a partner drops (`archives:` under the partner in reckon.yaml): when it is
/// complete (the same readiness rules as a file type's, but for the trailer), it is unpacked
/// into the partner's drop folder and its entries are collected as the partner's files.
///
/// ```yaml
/// archives:
///   daily: {name: "BANK_{yyyyMMdd}.zip", ready: {marker: "{name}.ok"}, limits: {max_entries: 20}}
/// ```
public struct InboundArchiveConfig: Sendable {
    public let id: String
    public let name: FileNamePattern
    public let readiness: Readiness
    public let limits: ArchiveLimits

    public init(id: String, name: FileNamePattern, readiness: Readiness = .stable(seconds: 2), limits: ArchiveLimits = ArchiveLimits()) {
        self.id = id
        self.name = name
        self.readiness = readiness
        self.limits = limits
    }
}

/// How much one inbound archive may unpack to. The defaults are the safe ones: a partner's day
/// is a handful of files, each well under a gigabyte, and text files rarely compress more than
/// 20 to 1, so 200 to 1 is far past honest data and well short of a zip bomb.
public struct ArchiveLimits: Sendable, Equatable {
    public var maxEntries: Int
    public var maxEntryBytes: Int
    public var maxTotalBytes: Int
    /// Unpacked bytes per compressed byte, per entry (checked once an entry is past 1 MiB).
    public var maxCompressionRatio: Int

    public init(maxEntries: Int = 100, maxEntryBytes: Int = 1 << 30, maxTotalBytes: Int = 4 << 30, maxCompressionRatio: Int = 200) {
        self.maxEntries = maxEntries
        self.maxEntryBytes = maxEntryBytes
        self.maxTotalBytes = maxTotalBytes
        self.maxCompressionRatio = maxCompressionRatio
    }
}

extension InboundArchiveConfig {
    static let limitKeys = ["max_entries", "max_entry_bytes", "max_total_bytes", "max_compression_ratio"]

    /// One entry of a partner's `archives:`.
    static func load(_ id: String, _ node: SpecNode) throws(SpecError) -> InboundArchiveConfig {
        let map = try node.mapping(allowed: ["name", "ready", "limits"])
        let nameNode = try map.required("name")
        let pattern = try FileNamePattern.load(nameNode)
        var readiness = Readiness.stable(seconds: 2)
        if let readyNode = map["ready"] {
            let ready = try readyNode.mapping(allowed: ["marker", "stable_seconds"])
            guard ready.entries.count == 1 else {
                throw readyNode.error("give one rule: marker or stable_seconds (an archive has no trailer record)")
            }
            if let marker = ready["marker"] {
                readiness = .marker(try marker.string())
            } else if let seconds = ready["stable_seconds"] {
                readiness = .stable(seconds: try seconds.int(in: 0...86_400))
            }
        }
        var limits = ArchiveLimits()
        if let limitsNode = map["limits"] {
            let given = try limitsNode.mapping(allowed: limitKeys)
            if let n = given["max_entries"] { limits.maxEntries = try n.int(in: 1...100_000) }
            if let n = given["max_entry_bytes"] { limits.maxEntryBytes = try n.int(in: 1...(1 << 40)) }
            if let n = given["max_total_bytes"] { limits.maxTotalBytes = try n.int(in: 1...(1 << 42)) }
            if let n = given["max_compression_ratio"] { limits.maxCompressionRatio = try n.int(in: 1...10_000) }
        }
        return InboundArchiveConfig(id: id, name: pattern, readiness: readiness, limits: limits)
    }
}
