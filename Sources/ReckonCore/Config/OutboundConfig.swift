/// What reckon sends a partner each business day (`outbound:` under the partner in
/// reckon.yaml): which files, each through its spec and under its name, and how the day's
/// set is delivered (an optional zip of the files and `.done` marker).
public struct OutboundConfig: Sendable {
    public let files: [OutboundFileConfig]
    /// The zip of the day's files (`RECKON_{yyyyMMdd}.zip`), when the partner wants one.
    public let zipName: FileNamePattern?
    /// The marker written after everything else (`RECKON_{yyyyMMdd}.done`).
    public let doneName: FileNamePattern?
    /// The folder on the partner's SFTP server the day's set is delivered to
    /// (`deliver: {path: …}`); nil: the set is not delivered.
    public let deliverPath: String?

    public init(files: [OutboundFileConfig], zipName: FileNamePattern? = nil, doneName: FileNamePattern? = nil,
                deliverPath: String? = nil) {
        self.files = files
        self.zipName = zipName
        self.doneName = doneName
        self.deliverPath = deliverPath
    }
}

/// One outbound file of a partner's day: what it carries, its spec and its name.
public struct OutboundFileConfig: Sendable {
    public let kind: OutboundFileKind
    public let specPath: String
    public let name: FileNamePattern
    /// Fixed values of the header and trailer (`header: {bank_code: BKCN0001}`): what the
    /// partner's layout asks for that the ledger does not know.
    public let header: [String: String]
    /// Where the `spec:` key is in reckon.yaml, for a complaint about the spec it names.
    public let specKeyPath: String
    public let specLine: Int?

    public init(kind: OutboundFileKind, specPath: String, name: FileNamePattern, header: [String: String] = [:],
                specKeyPath: String = "", specLine: Int? = nil) {
        self.kind = kind
        self.specPath = specPath
        self.name = name
        self.header = header
        self.specKeyPath = specKeyPath
        self.specLine = specLine
    }
}

/// What an outbound file carries. Each kind's records are written through one record kind of
/// its spec (`detailKind`) with the fields named here; the spec's other kinds (header and
/// trailer) get `headerFields`, and their control fields are computed by the renderer.
public enum OutboundFileKind: String, Sendable, CaseIterable {
    /// For the bank: what was collected on the day per loan and period, split into principal,
    /// interest, penalty and fee; the guarantor's compensations; adjustments of resolved breaks.
    case settlement
    /// For the bank: the repayment plans of the loans disbursed on the day.
    case plans
    /// For the platform: every record it sent that day with its status.
    case results
    /// The day's alerts.
    case alerts

    /// The record kind of the spec the details are written through.
    public var detailKind: String {
        switch self {
        case .settlement: return "repayment"
        case .plans: return "plan_line"
        case .results: return "result"
        case .alerts: return "alert"
        }
    }

    /// The fields the settle step gives each detail record.
    public var detailFields: Set<String> {
        switch self {
        case .settlement:
            return ["sequence", "loan_id", "period", "repay_type", "paid_on", "principal", "interest", "penalty", "fee", "total",
                    "currency", "channel_reference", "status", "remark", "break_id"]
        case .plans:
            return ["loan_id", "borrower_name", "period", "due_on", "principal", "interest", "fee", "total", "balance", "status"]
        case .results:
            return ["file", "line", "record_kind", "loan_id", "reference", "amount", "status", "break_id", "reason"]
        case .alerts:
            return ["business_date", "severity", "code", "subject", "message", "raised_at", "cleared_on"]
        }
    }

    /// The fields the settle step gives the other record kinds (header and trailer), besides
    /// the fixed values the file's `header:` gives.
    public static let headerFields: Set<String> = ["business_date", "currency", "partner"]
}

extension ConfigLoader {
    /// `outbound: {files: {settlement: {spec: …, name: …}, …}, zip: …, done: …}`.
    static func outbound(_ node: SpecNode, path: (String) -> String) throws(SpecError) -> OutboundConfig {
        let map = try node.mapping(allowed: ["files", "zip", "done", "deliver"])
        var files: [OutboundFileConfig] = []
        let filesNode = try map.required("files")
        for (key, fileNode) in try filesNode.entries() {
            guard let kind = OutboundFileKind(rawValue: key) else {
                throw filesNode.error("unknown outbound file type '\(key)'; expected \(OutboundFileKind.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            let fileMap = try fileNode.mapping(allowed: ["spec", "name", "header"])
            let specNode = try fileMap.required("spec")
            var header: [String: String] = [:]
            if let headerNode = fileMap["header"] {
                for (field, value) in try headerNode.entries() { header[field] = try value.string() }
            }
            files.append(OutboundFileConfig(kind: kind, specPath: path(try specNode.string()), name: try pattern(try fileMap.required("name")),
                                            header: header, specKeyPath: specNode.path, specLine: specNode.line))
        }
        guard !files.isEmpty else { throw filesNode.error("name at least one outbound file") }
        var names = Set<String>()
        for file in files where !names.insert(file.name.pattern).inserted {
            throw filesNode.error("two outbound files are named '\(file.name.pattern)'")
        }
        var deliverPath: String?
        if let deliverNode = map["deliver"] {
            let pathNode = try deliverNode.mapping(allowed: ["path"]).required("path")
            let remote = try pathNode.string()
            guard !remote.isEmpty, !remote.contains(where: { $0.isNewline || $0 == "\0" }) else {
                throw pathNode.error("'\(remote)' is not a folder on the SFTP server")
            }
            // Made when missing (as mkdir -p): never anywhere a `..` would lead.
            guard !remote.split(separator: "/").contains("..") else {
                throw pathNode.error("'\(remote)' climbs with ..: give the folder on the SFTP server without .. parts")
            }
            deliverPath = remote
        }
        return OutboundConfig(files: files, zipName: try map["zip"].map { n throws(SpecError) in try pattern(n) },
                              doneName: try map["done"].map { n throws(SpecError) in try pattern(n) }, deliverPath: deliverPath)
    }

    /// A name with the business date in it: an outbound file, its zip or marker.
    static func pattern(_ node: SpecNode) throws(SpecError) -> FileNamePattern {
        let text = try node.string()
        guard !text.contains("*"), !text.contains("/") else { throw node.error("an outbound name is one file name, without * or /") }
        do throws(ConfigProblem) {
            return try FileNamePattern(text)
        } catch {
            throw node.error(error.message)
        }
    }
}
