import Foundation

/// reckon's configuration (`reckon.yaml`): where the ledger and the folders are, who the
/// partners are, which files each sends and how to read and post them, and the products.
/// Paths are relative to the configuration file's folder.
public struct ReckonConfig: Sendable {
    public let origin: String
    /// The folder the configuration's paths are relative to.
    public let root: String
    public let databasePath: String
    public let currency: String
    public let archiveFolder: String
    public let quarantineFolder: String
    public let outboxFolder: String
    /// Balances below this line raise a warning (seed 000: 500,000.00 by default).
    public let balanceWarning: DecimalAmount
    public let partners: [PartnerConfig]
    public let products: [ProductConfig]
    /// The working-day calendar file (holidays and make-up working days), if any.
    public let calendarPath: String?
    /// Base-rate history shipped as data (SCHEDULES.md §G), read through `baseRateSpecPath`;
    /// base-rate files ingested later add to it.
    public let baseRateHistoryPath: String?
    public let baseRateSpecPath: String?
    /// Reconciliation rules, the approval threshold and alert commands (`reconciliation:`).
    public var reconciliation = ReconciliationConfig()
    /// The time zone of the business: deadlines of expected files (`by:`) are in it, and
    /// "now"'s business day is its date (`timezone:`, default Asia/Shanghai).
    public var timeZone = ReckonConfig.defaultTimeZone

    /// China's time, where the partnership works.
    public static let defaultTimeZone = TimeZone(identifier: "Asia/Shanghai")!
    /// How long a writing command waits for another writer of the ledger before refusing
    /// (`ledger: {wait_for_lock_seconds: …}`; `--wait-for-lock` overrides it). 0: refuse at once.
    public var writerLockWaitSeconds = 0.0
    /// Scheduled tasks (`tasks:`, seed 000 §15), in the file's order.
    public var tasks: [TaskConfig] = []
    /// How `reckon run` runs (`daemon:`): its poll interval and its /healthz and /metrics address.
    public var daemon = DaemonConfig()

    public func partner(_ id: String) -> PartnerConfig? { partners.first { $0.id == id } }
    public func product(_ code: String) -> ProductConfig? { products.first { $0.code == code } }

    /// The configuration's error type: the same shape as a spec's (file, key path, line).
    public typealias Error = SpecError
}

public enum PartnerRole: String, Sendable, CaseIterable {
    case platform, bank, channel, guarantor, core
}

public struct PartnerConfig: Sendable {
    public let id: String
    public let name: String
    public let role: PartnerRole
    /// The local folder the partner's files arrive in.
    public let drop: String?
    /// The partner's SFTP drop, fetched into `drop` before the local collect rules run.
    public let sftp: SFTPDropConfig?
    /// For channels: the code other partners' files use for it (`WXPAY`), which names its
    /// clearing account.
    public let channelCode: String?
    public let files: [FileTypeConfig]
    /// What reckon sends the partner each business day (`outbound:`), if anything.
    public var outbound: OutboundConfig?
    /// Zip archives the partner drops, unpacked into `drop` by the collect step; their
    /// entries are then collected as the partner's files (`archives:`).
    public var archives: [InboundArchiveConfig] = []

    public func fileType(_ id: String) -> FileTypeConfig? { files.first { $0.id == id } }
}

public struct FileTypeConfig: Sendable {
    public let id: String
    public let specPath: String
    public let name: FileNamePattern
    /// Whether the file's events are posted to the ledger (the partner whose books these
    /// are), or only stored for reconciliation (the other partners' views).
    public let posts: Bool
    /// Lenient files post their valid records and report the rest (never when a control
    /// total fails); strict files (the default) post all or nothing.
    public let lenient: Bool
    public let readiness: Readiness
    /// On which business days a file of this type is expected (a missing one is an alert
    /// and keeps the day from reporting success).
    public let expected: ExpectedFiles
}

/// On which business days a partner's file type is expected: every day, the working days
/// of the configured calendar, or never (sent on demand). `from` is the first business day
/// it is expected on: a file type taken on later does not make earlier days incomplete.
public struct ExpectedFiles: Sendable, Equatable {
    public enum Days: String, Sendable, CaseIterable {
        case everyDay = "every-day"
        case workingDays = "working-days"
        case onDemand = "on-demand"
    }

    public let days: Days
    public let from: CivilDate?
    /// By when the file must be complete (`by: "08:30"`), in the configuration's time zone;
    /// nil: by the end of the day's batch (only missing, never late).
    public let by: FileDeadline?

    public init(days: Days, from: CivilDate? = nil, by: FileDeadline? = nil) {
        self.days = days
        self.from = from
        self.by = by
    }

    public static let onDemand = ExpectedFiles(days: .onDemand)

    /// Whether a file is expected on `day`; `isWorkingDay` answers for the calendar.
    public func isExpected(on day: CivilDate, isWorkingDay: (CivilDate) -> Bool) -> Bool {
        if let from, day < from { return false }
        switch days {
        case .everyDay: return true
        case .workingDays: return isWorkingDay(day)
        case .onDemand: return false
        }
    }

    /// For people: `every day`, `on working days`, `on demand`, with `from …` when given.
    public var description: String {
        let text: String
        switch days {
        case .everyDay: text = "every day"
        case .workingDays: text = "on working days"
        case .onDemand: text = "on demand"
        }
        return (from.map { text + " from \($0)" } ?? text) + (by.map { " by \($0)" } ?? "")
    }
}

/// When a file in a drop counts as complete.
public enum Readiness: Sendable, Equatable {
    /// A marker file beside it, named by a pattern (`{name}.ok`).
    case marker(String)
    /// Its size has not changed for this long (measured on the monotonic clock).
    case stable(seconds: Int)
    /// Its spec's trailer record is present (the last record kind with `occurs: 1`).
    case trailer
}

public struct ProductConfig: Sendable {
    public let code: String
    public let description: String?
    /// How the product's loans are planned and which loans it accepts; nil when the
    /// configuration gives no method (loans are then planned from their own records).
    public let plan: ProductPlanSettings?
    /// Share of a disbursed principal frozen from the margin deposit, released as principal
    /// is repaid; nil when the product does not check margin.
    public let marginRate: DecimalAmount?
}

/// A file name with a business-date placeholder: `PLAT_LOAN_{yyyyMMdd}.csv`. `*` matches
/// any run of characters.
///
/// Matched by a small glob matcher rather than a compiled regular expression: a
/// configuration with a thousand file types compiled a thousand `Regex`es at every
/// command's start (0.57 G instructions, most of loading it). It keeps the regular
/// expression's meaning: `*` and the date's characters match anything but a line break,
/// the stars are greedy, and the date is the one the first such match captures.
///
/// A name of printable ASCII (nearly every file name) is matched on its bytes, where a
/// character is a byte; any other name on its characters. The daemon matches every name
/// in every drop against every file type at each look: on characters, that was a third
/// of its idle time.
public struct FileNamePattern: Sendable, CustomStringConvertible {
    public let pattern: String
    private let parts: [Part]
    private let dateFormat: DateTimeFormat?

    enum Part: Sendable, Equatable {
        case literal(Literal)
        case star
        case date(width: Int)
    }

    /// A literal run of the pattern, as characters and, when it is printable ASCII, as bytes
    /// (nil otherwise: no printable-ASCII name can hold it).
    struct Literal: Sendable, Equatable {
        let characters: [Character]
        let bytes: [UInt8]?
    }

    public init(_ pattern: String) throws(ConfigProblem) {
        self.pattern = pattern
        var parts: [Part] = []
        var literal: [Character] = []
        var format: DateTimeFormat?
        func endLiteral() {
            if !literal.isEmpty {
                let bytes = Array(String(literal).utf8)
                parts.append(.literal(Literal(characters: literal, bytes: bytes.allSatisfy(Self.isPrintableASCII) ? bytes : nil)))
            }
            literal = []
        }
        var rest = Substring(pattern)
        while let c = rest.first {
            if c == "{" {
                guard let close = rest.firstIndex(of: "}") else { throw ConfigProblem("unclosed { in '\(pattern)'") }
                let inner = String(rest[rest.index(after: rest.startIndex)..<close])
                guard format == nil else { throw ConfigProblem("'\(pattern)' has two date placeholders") }
                do {
                    format = try DateTimeFormat(pattern: inner, content: .date)
                } catch {
                    throw ConfigProblem("'{\(inner)}' in '\(pattern)' is not a date layout: \(error)")
                }
                guard let width = format?.fixedWidth else { throw ConfigProblem("the date layout in '\(pattern)' must have a fixed width") }
                endLiteral()
                parts.append(.date(width: width))
                rest = rest[rest.index(after: close)...]
                continue
            }
            if c == "*" {
                endLiteral()
                if parts.last != .star { parts.append(.star) }  // `**` means what `*` does
            } else {
                literal.append(c)
            }
            rest.removeFirst()
        }
        endLiteral()
        self.parts = parts
        dateFormat = format
    }

    public var description: String { pattern }
    public var hasDate: Bool { dateFormat != nil }

    /// Whether `name` fits the pattern, and the business date it carries (nil when the
    /// pattern has no date placeholder).
    public func match(_ name: String) -> (matches: Bool, date: CivilDate?) {
        var name = name
        let onBytes = name.withUTF8 { bytes -> (matches: Bool, date: CivilDate?)? in
            guard bytes.allSatisfy(Self.isPrintableASCII) else { return nil }
            return outcome(of: bytes) { format, range in format.parse(UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: bytes[range])))?.date }
        }
        if let onBytes { return onBytes }
        let characters = Array(name)
        return outcome(of: characters) { format, range in Array(String(characters[range]).utf8).withUnsafeBytes { format.parse($0)?.date } }
    }

    private static func isPrintableASCII(_ byte: UInt8) -> Bool { byte >= 0x20 && byte < 0x7F }

    /// The match over a name's units (bytes or characters); `parseDate` reads the date from
    /// the units the date placeholder took.
    private func outcome<Name: RandomAccessCollection>(of name: Name, parseDate: (DateTimeFormat, Range<Int>) -> CivilDate?)
        -> (matches: Bool, date: CivilDate?) where Name.Index == Int, Name.Element: NameUnit {
        var search = Search(parts: parts, name: name)
        guard search.matches(part: 0, from: 0) else { return (false, nil) }
        guard let dateFormat else { return (true, nil) }
        guard let dateRange = search.date else { return (false, nil) }
        let date = parseDate(dateFormat, dateRange)
        return (date != nil, date)
    }

    /// One name against the parts. Stars try their longest run first, as the regular
    /// expression did; a part that failed from a position is remembered, so several stars
    /// cost at most parts × length² steps, never an exponential backtrack on a hostile name.
    /// (Without a star nothing is tried twice, and nothing is remembered.)
    private struct Search<Name: RandomAccessCollection> where Name.Index == Int, Name.Element: NameUnit {
        let parts: [Part]
        let name: Name
        var failed: Set<Int> = []
        var date: Range<Int>?
        private let remembers: Bool

        init(parts: [Part], name: Name) {
            self.parts = parts
            self.name = name
            remembers = parts.contains(.star)
        }

        /// Whether `parts[part...]` match the name from `start` to its end.
        mutating func matches(part: Int, from start: Int) -> Bool {
            guard part < parts.count else { return start == name.count }
            let key = part * (name.count + 1) + start
            if remembers && failed.contains(key) { return false }
            let matched: Bool
            switch parts[part] {
            case .literal(let literal):
                guard let text = Name.Element.units(of: literal) else {
                    matched = false
                    break
                }
                matched = name.count - start >= text.count && name[start..<(start + text.count)].elementsEqual(text)
                    && matches(part: part + 1, from: start + text.count)
            case .date(let width):
                let end = start + width
                matched = end <= name.count && !name[start..<end].contains(where: \.breaksLine) && matches(part: part + 1, from: end)
                if matched { date = start..<end }
            case .star:
                var end = name[start...].firstIndex(where: \.breaksLine) ?? name.count
                var found = false
                while end >= start && !found {
                    found = matches(part: part + 1, from: end)
                    end -= 1
                }
                matched = found
            }
            if !matched && remembers { failed.insert(key) }
            return matched
        }
    }

    /// The name for a business date (`*` becomes nothing).
    public func name(for date: CivilDate) -> String {
        var result = ""
        var rest = Substring(pattern)
        while let c = rest.first {
            if c == "{", let close = rest.firstIndex(of: "}") {
                result += dateFormat?.render(date: date, time: nil, utcOffsetMinutes: nil) ?? ""
                rest = rest[rest.index(after: close)...]
                continue
            }
            if c != "*" { result.append(c) }
            rest.removeFirst()
        }
        return result
    }
}

/// What a name is matched in: its characters, or the bytes of a printable-ASCII name.
protocol NameUnit: Equatable {
    /// A line break, which neither `*` nor the date matches (as `.` in a regular expression).
    var breaksLine: Bool { get }
    /// A literal of the pattern in these units; nil when no name in them can hold it.
    static func units(of literal: FileNamePattern.Literal) -> [Self]?
}

extension Character: NameUnit {
    var breaksLine: Bool { isNewline }
    static func units(of literal: FileNamePattern.Literal) -> [Character]? { literal.characters }
}

extension UInt8: NameUnit {
    var breaksLine: Bool { self >= 0x0A && self <= 0x0D }
    static func units(of literal: FileNamePattern.Literal) -> [UInt8]? { literal.bytes }
}

/// A problem found inside one configuration value, placed by the loader.
public struct ConfigProblem: Error, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
}

public enum ConfigLoader {
    /// Loads and validates `reckon.yaml` text; `origin` is its path (paths in it are relative
    /// to its folder).
    public static func load(yaml: String, origin: String) throws(SpecError) -> ReckonConfig {
        let root = try SpecNode.root(yaml: yaml, origin: origin, what: "the configuration")
        let folder = origin.contains("/") ? String(origin[..<origin.lastIndex(of: "/")!]) : "."
        func path(_ text: String) -> String { text.hasPrefix("/") || folder == "." ? text : folder + "/" + text }

        let top = try root.mapping(allowed: ["ledger", "folders", "thresholds", "partners", "products", "calendar", "base_rates",
                                                "reconciliation", "timezone", "tasks", "daemon"])

        var databasePath = path("var/reckon.sqlite")
        var lockWait = 0.0
        var currency = "CNY"
        if let ledger = top["ledger"] {
            let map = try ledger.mapping(allowed: ["database", "currency", "wait_for_lock_seconds"])
            if let node = map["wait_for_lock_seconds"] { lockWait = Double(try node.int(in: 0...86_400)) }
            if let node = map["database"] { databasePath = path(try node.string()) }
            if let node = map["currency"] {
                currency = try node.string()
                guard currency.count == 3, currency.allSatisfy({ $0.isUppercase && $0.isASCII }) else {
                    throw node.error("a currency is a three-letter ISO 4217 code, like CNY")
                }
            }
        }
        var archive = path("var/archive"), quarantine = path("var/quarantine"), outbox = path("outbox")
        if let folders = top["folders"] {
            let map = try folders.mapping(allowed: ["archive", "quarantine", "outbox"])
            if let node = map["archive"] { archive = path(try node.string()) }
            if let node = map["quarantine"] { quarantine = path(try node.string()) }
            if let node = map["outbox"] { outbox = path(try node.string()) }
        }
        var warning = DecimalAmount(units: 50_000_000, scale: 2)
        if let thresholds = top["thresholds"] {
            let map = try thresholds.mapping(allowed: ["balance_warning"])
            if let node = map["balance_warning"] { warning = try money(node) }
        }

        var partners: [PartnerConfig] = []
        var channelCodes = Set<String>()
        for (id, node) in try top.required("partners").entries() {
            let map = try node.mapping(allowed: ["name", "role", "drop", "channel_code", "files", "outbound", "archives"])
            let roleNode = try map.required("role")
            guard let role = PartnerRole(rawValue: try roleNode.string()) else {
                throw roleNode.error("unknown role '\((try? roleNode.string()) ?? "")'; expected \(PartnerRole.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            var files: [FileTypeConfig] = []
            if let filesNode = map["files"] {
                for (typeID, typeNode) in try filesNode.entries() {
                    files.append(try fileType(typeID, typeNode, hasCalendar: top["calendar"] != nil, path: path))
                }
            }
            let channelCode = try map["channel_code"]?.string()
            if let channelCode, !channelCodes.insert(channelCode).inserted {
                throw map["channel_code"]!.error("channel code '\(channelCode)' is used by two partners")
            }
            if role == .channel && channelCode == nil {
                throw node.error("a channel needs a channel_code: the code other partners' files use for it")
            }
            // `drop: FOLDER`, or `drop: {folder: FOLDER, sftp: {…}}` for a partner's SFTP drop.
            var drop: String?
            var sftp: SFTPDropConfig?
            if let dropNode = map["drop"] {
                if dropNode.isScalar {
                    drop = path(try dropNode.string())
                } else {
                    let dropMap = try dropNode.mapping(allowed: ["folder", "sftp"])
                    drop = path(try dropMap.required("folder").string())
                    sftp = try dropMap["sftp"].map { n throws(SpecError) in try SFTPDropConfig.load(n, path: path) }
                }
            }
            let outboundConfig = try map["outbound"].map { n throws(SpecError) in try outbound(n, path: path) }
            // The set is delivered over the partner's SFTP drop: its server, user and key.
            if outboundConfig?.deliverPath != nil, sftp == nil, let outboundNode = map["outbound"] {
                throw outboundNode.error("deliver: needs the partner's drop to be an SFTP drop (drop: {folder: …, sftp: {…}})")
            }
            var archives: [InboundArchiveConfig] = []
            if let archivesNode = map["archives"] {
                guard drop != nil else { throw archivesNode.error("archives: needs the partner's drop: they are unpacked into it") }
                for (archiveID, archiveNode) in try archivesNode.entries() {
                    archives.append(try InboundArchiveConfig.load(archiveID, archiveNode))
                }
            }
            var partnerConfig = PartnerConfig(id: id, name: try map["name"]?.string() ?? id, role: role,
                                              drop: drop, sftp: sftp, channelCode: channelCode, files: files,
                                              outbound: outboundConfig)
            partnerConfig.archives = archives
            partners.append(partnerConfig)
        }
        guard !partners.isEmpty else { throw try top.required("partners").error("name at least one partner") }

        var products: [ProductConfig] = []
        if let productsNode = top["products"] {
            for (code, node) in try productsNode.entries() {
                let map = try node.mapping(allowed: ["description", "margin_rate"] + ProductSettingsLoader.keys)
                var rate: DecimalAmount?
                if let rateNode = map["margin_rate"] {
                    rate = try decimal(rateNode, scale: 6)
                    guard let rate, rate.units >= 0, rate.units <= 1_000_000 else {
                        throw rateNode.error("a margin rate is a share between 0 and 1")
                    }
                }
                products.append(ProductConfig(code: code, description: try map["description"]?.string(),
                                              plan: try ProductSettingsLoader.settings(map, node: node), marginRate: rate))
            }
        }
        // Moving due dates off holidays needs to know which days those are.
        if top["calendar"] == nil, let product = products.first(where: { $0.plan.map { $0.nonWorkingDueDate != .keep } ?? false }) {
            let node = try productsNode(top).entries().first { $0.key == product.code }!.value
            throw node.error("product \(product.code) moves due dates off non-working days, but reckon.yaml names no calendar (calendar: data/calendar-cn.yaml)")
        }
        var historyPath: String?, rateSpecPath: String?
        if let node = top["base_rates"] {
            let map = try node.mapping(allowed: ["history", "spec"])
            historyPath = try path(map.required("history").string())
            rateSpecPath = try path(map.required("spec").string())
        }
        let calendarPath = try top["calendar"].map { n throws(SpecError) in path(try n.string()) }
        var config = ReckonConfig(origin: origin, root: folder, databasePath: databasePath, currency: currency,
                                  archiveFolder: archive, quarantineFolder: quarantine, outboxFolder: outbox,
                                  balanceWarning: warning, partners: partners, products: products,
                                  calendarPath: calendarPath, baseRateHistoryPath: historyPath, baseRateSpecPath: rateSpecPath)
        config.writerLockWaitSeconds = lockWait
        if let node = top["timezone"] {
            let name = try node.string()
            // TimeZone accepts offsets like GMT+8 too; only IANA names say which rules apply.
            guard name.contains("/") || name == "UTC", let zone = TimeZone(identifier: name) else {
                throw node.error("'\(name)' is not a time zone of the IANA database, like Asia/Shanghai")
            }
            config.timeZone = zone
        }
        if let node = top["daemon"] { config.daemon = try DaemonConfig.load(node) }
        if let node = top["reconciliation"] {
            config.reconciliation = try ReconRuleLoader.load(node, partners: partners, calendarPath: calendarPath,
                                                             balanceWarningMinor: warning.rescaled(to: 2)?.units ?? 50_000_000)
        }
        if let node = top["tasks"] {
            config.tasks = try TaskConfigLoader.load(node, hasCalendar: calendarPath != nil, partners: partners)
        }
        return config
    }

    private static func productsNode(_ top: SpecMapping) throws(SpecError) -> SpecNode { try top.required("products") }

    private static func fileType(_ id: String, _ node: SpecNode, hasCalendar: Bool,
                                 path: (String) -> String) throws(SpecError) -> FileTypeConfig {
        let map = try node.mapping(allowed: ["spec", "name", "post", "mode", "ready", "expected"])
        let nameNode = try map.required("name")
        let pattern = try FileNamePattern.load(nameNode)
        var lenient = false
        if let modeNode = map["mode"] {
            switch try modeNode.string() {
            case "strict": lenient = false
            case "lenient": lenient = true
            default: throw modeNode.error("expected strict or lenient")
            }
        }
        var readiness = Readiness.stable(seconds: 2)
        if let readyNode = map["ready"] {
            let ready = try readyNode.mapping(allowed: ["marker", "stable_seconds", "trailer"])
            guard ready.entries.count == 1 else { throw readyNode.error("give one rule: marker, stable_seconds or trailer") }
            if let marker = ready["marker"] {
                readiness = .marker(try marker.string())
            } else if let seconds = ready["stable_seconds"] {
                readiness = .stable(seconds: try seconds.int(in: 0...86_400))
            } else if try ready["trailer"]?.bool() == true {
                readiness = .trailer
            }
        }
        return FileTypeConfig(id: id, specPath: path(try map.required("spec").string()), name: pattern,
                              posts: try map["post"]?.bool() ?? false, lenient: lenient, readiness: readiness,
                              expected: try map["expected"].map { n throws(SpecError) in try expected(n, hasCalendar: hasCalendar) } ?? .onDemand)
    }

    /// `expected: working-days`, or `expected: {days: every-day, from: 2024-12-16, by: "08:30"}`.
    private static func expected(_ node: SpecNode, hasCalendar: Bool) throws(SpecError) -> ExpectedFiles {
        var daysNode = node
        var from: CivilDate?
        var by: FileDeadline?
        var byNode: SpecNode?
        if !node.isScalar {
            let map = try node.mapping(allowed: ["days", "from", "by"])
            if let node = map["by"] {
                byNode = node
                let text = try node.string()
                guard let deadline = FileDeadline(text: text) else {
                    throw node.error("'\(text)' is not a deadline: HH:mm on the day (08:30), or next-day 08:30, or next-working-day 08:30")
                }
                by = deadline
            }
            daysNode = try map.required("days")
            if let fromNode = map["from"] {
                let text = try fromNode.string()
                guard let date = CivilDate(iso: text) else { throw fromNode.error("'\(text)' is not a date like 2024-12-16") }
                from = date
            }
        }
        let text = try daysNode.string()
        guard let days = ExpectedFiles.Days(rawValue: text) else {
            throw daysNode.error("'\(text)' is not a choice: expected \(ExpectedFiles.Days.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        // Which days are working days is the calendar's to say.
        if days == .workingDays && !hasCalendar {
            throw daysNode.error("working-days needs the working-day calendar, but reckon.yaml names none (calendar: data/calendar-cn.yaml)")
        }
        if let byNode, let by {
            if days == .onDemand { throw byNode.error("a file sent on demand has no deadline: give days: every-day or working-days") }
            if by.day == .nextWorkingDay && !hasCalendar {
                throw byNode.error("next-working-day needs the working-day calendar, but reckon.yaml names none (calendar: data/calendar-cn.yaml)")
            }
        }
        return ExpectedFiles(days: days, from: from, by: by)
    }

    static func decimal(_ node: SpecNode, scale: Int) throws(SpecError) -> DecimalAmount {
        let text = try node.string()
        let bytes = Array(text.utf8)
        let type = FieldType.decimal(DecimalFormat(scale: scale, implied: false, point: UInt8(ascii: "."), thousands: UInt8(ascii: ","), sign: .leading))
        guard case .success(.decimal(let amount)) = bytes.withUnsafeBytes({ ValueParser.parseTyped($0, type: type) }) else {
            throw node.error("'\(text)' is not a decimal number with at most \(scale) decimals")
        }
        return amount
    }

    static func money(_ node: SpecNode) throws(SpecError) -> DecimalAmount { try decimal(node, scale: 2) }
}

extension FileNamePattern {
    /// A `name:` of reckon.yaml (a file type's, an archive's), refused with its key and why.
    static func load(_ node: SpecNode) throws(SpecError) -> FileNamePattern {
        do {
            return try FileNamePattern(try node.string())
        } catch let problem as ConfigProblem {
            throw node.error(problem.message)
        } catch let error as SpecError {
            throw error
        } catch {
            throw node.error("\(error)")
        }
    }
}
