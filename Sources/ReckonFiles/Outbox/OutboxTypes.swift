import ReckonCore

/// One outbound file written into a partner-day's staging folder, as its writer describes it.
/// The outbox checks its size and SHA-256 against the bytes on disk before installing it.
public struct StagedFile: Sendable, Equatable {
    /// The final name inside `outbox/<partner>/<date>/`.
    public var fileName: String
    /// What the file is for the partner: "settlement", "plans", "results", "alerts", …
    public var fileType: String
    /// The name of the spec it was rendered through.
    public var spec: String
    /// Where it was written (``OutboxDay/stagingPath(for:)``), flushed.
    public var path: String
    public var sizeBytes: Int
    /// Detail records (kinds other than header and trailer).
    public var recordCount: Int
    /// In the spec's control order.
    public var controlTotals: [ControlTotalValue]
    public var sha256Hex: String

    public init(fileName: String, fileType: String, spec: String, path: String, sizeBytes: Int, recordCount: Int,
                controlTotals: [ControlTotalValue], sha256Hex: String) {
        self.fileName = fileName
        self.fileType = fileType
        self.spec = spec
        self.path = path
        self.sizeBytes = sizeBytes
        self.recordCount = recordCount
        self.controlTotals = controlTotals
        self.sha256Hex = sha256Hex
    }
}

/// What a partner-day's set carries besides its files.
public struct OutboxOptions: Sendable, Equatable {
    /// A zip of the day's files and their manifest, written after the manifest; none when nil.
    public var zipName: String?
    /// An empty marker file written after everything else (`.done`); none when nil.
    public var doneMarkerName: String?

    public init(zipName: String? = nil, doneMarkerName: String? = nil) {
        self.zipName = zipName
        self.doneMarkerName = doneMarkerName
    }
}

/// One file of an installed set, as its manifest lists it.
public struct InstalledFile: Sendable, Equatable {
    public let fileName: String
    public let fileType: String
    public let spec: String
    public let sizeBytes: Int
    public let recordCount: Int
    public let controlTotals: [ControlTotalValue]
    public let sha256Hex: String
    /// Where it is: `outbox/<partner>/<date>/<name>`.
    public let path: String

    public init(fileName: String, fileType: String, spec: String, sizeBytes: Int, recordCount: Int,
                controlTotals: [ControlTotalValue], sha256Hex: String, path: String) {
        self.fileName = fileName
        self.fileType = fileType
        self.spec = spec
        self.sizeBytes = sizeBytes
        self.recordCount = recordCount
        self.controlTotals = controlTotals
        self.sha256Hex = sha256Hex
        self.path = path
    }
}

/// What an install left as the partner-day's set.
public struct OutboxInstall: Sendable, Equatable {
    public let partner: String
    public let date: CivilDate
    /// 1 for the first set of the day.
    public let version: Int
    /// False when the staged bytes equal the installed set (nothing was touched).
    public let changed: Bool
    /// Why this version was written, as its manifest says (the earlier reason when unchanged).
    public let reason: String
    /// In name order, as the manifest lists them.
    public let files: [InstalledFile]
    public let manifestPath: String
    public let zipPath: String?
    public let doneMarkerPath: String?
    /// The replaced version's files, now in the archive (`<name>.v<N>`); empty when unchanged.
    public let archivedPaths: [String]

    public init(partner: String, date: CivilDate, version: Int, changed: Bool, reason: String, files: [InstalledFile],
                manifestPath: String, zipPath: String?, doneMarkerPath: String?, archivedPaths: [String]) {
        self.partner = partner
        self.date = date
        self.version = version
        self.changed = changed
        self.reason = reason
        self.files = files
        self.manifestPath = manifestPath
        self.zipPath = zipPath
        self.doneMarkerPath = doneMarkerPath
        self.archivedPaths = archivedPaths
    }
}

/// An install that could not be done, in one line: the partner-day, the path and why.
/// Whatever was visible as the day's set before stays so.
public struct OutboxError: Error, Sendable, Equatable, CustomStringConvertible {
    public let partner: String
    public let date: String
    public let path: String
    public let reason: String

    public init(partner: String, date: String, path: String, reason: String) {
        self.partner = partner
        self.date = date
        self.path = path
        self.reason = reason
    }

    public var description: String { "outbox \(partner) \(date): \(path): \(reason)" }
}
