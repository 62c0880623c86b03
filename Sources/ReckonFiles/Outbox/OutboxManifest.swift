import Foundation
import ReckonCore

/// `MANIFEST.json`: what a partner-day's set is. It is the set's commit point: a reader or
/// deliverer takes the files it lists, checked against their sizes and SHA-256s, and
/// nothing else in the folder. Its bytes depend only on the set (keys sorted, files in name
/// order, no clock time), so a rerun writes the same bytes; when it was installed is the
/// ledger's `outbound_file.written_at`.
public struct OutboxManifest: Codable, Sendable, Equatable {
    public static let fileName = "MANIFEST.json"
    /// The manifest's own layout; raised when its meaning changes.
    public static let currentFormat = 1

    public struct File: Codable, Sendable, Equatable {
        public var name: String
        public var fileType: String
        public var spec: String
        public var sizeBytes: Int
        public var recordCount: Int
        public var controlTotals: [ControlTotalValue]
        public var sha256: String

        enum CodingKeys: String, CodingKey {
            case name, spec, sha256
            case fileType = "file_type", sizeBytes = "size_bytes", recordCount = "record_count", controlTotals = "control_totals"
        }
    }

    public var format: Int
    public var partner: String
    public var businessDate: String
    public var version: Int
    public var reason: String
    public var files: [File]
    public var zip: String?
    public var doneMarker: String?

    enum CodingKeys: String, CodingKey {
        case format, partner, version, reason, files, zip
        case businessDate = "business_date", doneMarker = "done_marker"
    }

    public init(partner: String, businessDate: String, version: Int, reason: String, files: [File], zip: String?, doneMarker: String?) {
        self.format = Self.currentFormat
        self.partner = partner
        self.businessDate = businessDate
        self.version = version
        self.reason = reason
        self.files = files.sorted { $0.name < $1.name }
        self.zip = zip
        self.doneMarker = doneMarker
    }

    /// Its bytes: pretty JSON, keys sorted, `null` written for a missing zip or marker (so
    /// every manifest has the same keys), a final newline.
    public func encoded() -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        // Encodable skips nil optionals; an explicit null keeps the keys the same in every manifest.
        let data = try! encoder.encode(Written(self))
        return Array(data) + [UInt8(ascii: "\n")]
    }

    /// Reads a manifest; nil when it is not one this reckon writes.
    public static func decode(_ bytes: Data) -> OutboxManifest? {
        guard let manifest = try? JSONDecoder().decode(OutboxManifest.self, from: bytes), manifest.format == currentFormat else { return nil }
        return manifest
    }

    /// Whether another set holds the same files (names, types, specs and bytes) and extras.
    func sameSet(as other: OutboxManifest) -> Bool {
        files == other.files && zip == other.zip && doneMarker == other.doneMarker
    }

    /// The manifest with nils encoded as `null`.
    private struct Written: Encodable {
        let manifest: OutboxManifest
        init(_ manifest: OutboxManifest) { self.manifest = manifest }
        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(manifest.format, forKey: .format)
            try container.encode(manifest.partner, forKey: .partner)
            try container.encode(manifest.businessDate, forKey: .businessDate)
            try container.encode(manifest.version, forKey: .version)
            try container.encode(manifest.reason, forKey: .reason)
            try container.encode(manifest.files, forKey: .files)
            try container.encode(manifest.zip, forKey: .zip)
            try container.encode(manifest.doneMarker, forKey: .doneMarker)
        }
    }
}
