/// Reads `reconciliation:` from `reckon.yaml`. What needs the specs (that a field exists on
/// a side, and its type) is checked by ``ReconRuleLoader/resolveFields`` once they are
/// loaded; everything else here.
enum ReconRuleLoader {
    static func load(_ node: SpecNode, partners: [PartnerConfig], calendarPath: String?,
                     balanceWarningMinor: Int64) throws(SpecError) -> ReconciliationConfig {
        let top = try node.mapping(allowed: ["approval_above", "alert_commands", "rules"])
        var config = ReconciliationConfig()
        if let approval = top["approval_above"] {
            let amount = try ConfigLoader.money(approval)
            guard amount.units >= 0, let minor = amount.rescaled(to: 2)?.units else { throw approval.error("an amount like 50,000.00") }
            config.approvalAboveMinor = minor
        }
        if let commands = top["alert_commands"] {
            for (code, commandNode) in try commands.entries() {
                let map = try commandNode.mapping(allowed: ["run", "timeout_seconds"])
                let run = try map.required("run").strings()
                guard let program = run.first, !program.isEmpty else { throw try map.required("run").error("name the program to run") }
                config.alertCommands[code] = AlertCommand(arguments: run, timeoutSeconds: try map["timeout_seconds"]?.int(in: 1...600) ?? 10)
            }
        }
        let calendars = calendarNames(calendarPath)
        var names = Set<String>()
        for (name, ruleNode) in try top["rules"]?.entries() ?? [] {
            guard names.insert(name).inserted else { throw ruleNode.error("rule '\(name)' is given twice") }
            config.rules.append(try rule(name, ruleNode, partners: partners, calendars: calendars,
                                         defaultCalendar: calendars.first ?? ReconRule.everyDay, warningMinor: balanceWarningMinor))
        }
        return config
    }

    /// The names a rule may give its calendar: the configured one by its file name
    /// (`data/calendar-cn.yaml`: `cn` or `calendar-cn`), and the built-in two.
    static func calendarNames(_ path: String?) -> [String] {
        var names: [String] = []
        if let path {
            var stem = String(path.split(separator: "/").last ?? "")
            if let dot = stem.lastIndex(of: ".") { stem = String(stem[..<dot]) }
            names.append(stem.hasPrefix("calendar-") ? String(stem.dropFirst("calendar-".count)) : stem)
            names.append(stem)
        }
        return names + [ReconRule.weekdays, ReconRule.everyDay]
    }

    private static func place(_ node: SpecNode) -> ConfigPlace { ConfigPlace(file: node.origin, keyPath: node.path, line: node.line) }

    private static func rule(_ name: String, _ node: SpecNode, partners: [PartnerConfig], calendars: [String],
                             defaultCalendar: String, warningMinor: Int64) throws(SpecError) -> ReconRule {
        let common = ["description", "partner", "from", "calendar", "check"]
        let probe = try node.mapping(allowed: common + ["left", "right", "key", "compare", "grouping", "pending_days", "failed",
                                                        "missing_per", "balances", "entries", "fields", "warning_below"])
        let partnerNode = try probe.required("partner")
        let partner = try partnerNode.string()
        guard partners.contains(where: { $0.id == partner }) else {
            throw partnerNode.error("unknown partner '\(partner)'; partners are \(partners.map(\.id).joined(separator: ", "))")
        }
        var from: CivilDate?
        if let fromNode = probe["from"] {
            let text = try fromNode.string()
            guard let date = CivilDate(iso: text) else { throw fromNode.error("'\(text)' is not a date like 2024-12-16") }
            from = date
        }
        var calendar = defaultCalendar
        if let calendarNode = probe["calendar"] {
            calendar = try calendarNode.string()
            guard calendars.contains(calendar) else {
                throw calendarNode.error("unknown calendar '\(calendar)'; calendars are \(calendars.joined(separator: ", "))")
            }
        }
        if let check = probe["check"] {
            guard try check.string() == "statement" else { throw check.error("the one check is 'statement'") }
            let map = try node.mapping(allowed: common + ["balances", "entries", "fields", "warning_below"])
            let fields = try map.required("fields").mapping(allowed: ["statement", "account", "opening", "opening_direction", "closing",
                                                                       "closing_direction", "entry_statement", "entry_amount"])
            func field(_ key: String, _ fallback: String?) throws(SpecError) -> FieldRef? {
                if let node = fields[key] { return try fieldRef(node) }
                return fallback.map { FieldRef($0, place: place(fields.node)) }
            }
            var warning: Int64? = warningMinor
            if let warningNode = map["warning_below"] {
                warning = try warningNode.string() == "none" ? nil : ConfigLoader.money(warningNode).rescaled(to: 2)?.units
            }
            let statement = StatementCheck(
                balances: try source(map.required("balances"), partners: partners),
                entries: try source(map.required("entries"), partners: partners),
                statementID: try field("statement", "statement_id")!, account: try field("account", "account")!,
                opening: try field("opening", "opening_balance")!, openingDirection: try field("opening_direction", nil),
                closing: try field("closing", "closing_balance")!, closingDirection: try field("closing_direction", nil),
                entryStatementID: try field("entry_statement", "statement_id")!, entryAmount: try field("entry_amount", "amount")!,
                warningBelowMinor: warning)
            return ReconRule(name: name, description: try map["description"]?.string(), partner: partner, kind: .statement(statement),
                             calendar: calendar, from: from, place: place(node))
        }
        let map = try node.mapping(allowed: common + ["left", "right", "key", "compare", "grouping", "pending_days", "failed", "missing_per"])
        let left = try source(map.required("left"), partners: partners)
        let right = try source(map.required("right"), partners: partners)
        let keyNode = try map.required("key")
        var key: [FieldPair] = []
        for item in try keyNode.items() { key.append(try pair(item)) }
        guard !key.isEmpty else { throw keyNode.error("name at least one key field") }
        var compared: [ComparedField] = []
        for (fieldName, fieldNode) in try map.required("compare").entries() {
            let fieldMap = try fieldNode.mapping(allowed: ["field", "left", "right", "tolerance", "window_days"])
            var tolerance = Tolerance()
            if let toleranceNode = fieldMap["tolerance"] {
                let t = try toleranceNode.mapping(allowed: ["minor", "bp", "combine"])
                var combine = Tolerance.Combine.max
                if let combineNode = t["combine"] {
                    guard let value = Tolerance.Combine(rawValue: try combineNode.string()) else {
                        throw combineNode.error("expected max (either allowance suffices) or min (both must hold)")
                    }
                    combine = value
                }
                tolerance = Tolerance(minor: try t["minor"].map { n throws(SpecError) in Int64(try n.int(in: 0...1_000_000_000)) },
                                      basisPoints: try t["bp"].map { n throws(SpecError) in Int64(try n.int(in: 0...10_000)) },
                                      combine: combine)
            }
            compared.append(ComparedField(name: fieldName, fields: try pair(fieldNode, map: fieldMap, defaultName: fieldName),
                                          kind: .text, tolerance: tolerance,
                                          windowDays: try fieldMap["window_days"]?.int(in: 0...366) ?? 0,
                                          tolerancePlace: fieldMap["tolerance"].map(place), windowPlace: fieldMap["window_days"].map(place)))
        }
        guard !compared.isEmpty else { throw try map.required("compare").error("compare at least one field") }
        var grouping = ReconRule.Grouping.oneToOne
        if let groupingNode = map["grouping"] {
            guard let value = ReconRule.Grouping(rawValue: try groupingNode.string()) else {
                throw groupingNode.error("expected \(ReconRule.Grouping.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            grouping = value
        }
        var failedLeft: [FieldCondition] = [], failedRight: [FieldCondition] = []
        if let failed = map["failed"] {
            let sides = try failed.mapping(allowed: ["left", "right"])
            if let node = sides["left"] { failedLeft = try conditions(node) }
            if let node = sides["right"] { failedRight = try conditions(node) }
        }
        var missingPer: Int?
        if let perNode = map["missing_per"] {
            let names = try perNode.strings()
            guard !names.isEmpty, names.count < key.count, names.enumerated().allSatisfy({ key[$0.offset].left.name == $0.element }) else {
                throw perNode.error("name leading key fields (by their left names), fewer than the whole key: \(key.map(\.left.name).joined(separator: ", "))")
            }
            missingPer = names.count
        }
        return ReconRule(name: name, description: try map["description"]?.string(), partner: partner,
                         kind: .match(left: left, right: right), key: key, compared: compared, grouping: grouping,
                         pendingDays: try map["pending_days"]?.int(in: 0...366) ?? 0, failedLeft: failedLeft,
                         failedRight: failedRight, missingPerKeyParts: missingPer, calendar: calendar, from: from, place: place(node))
    }

    /// `{events: repayment, partner: platform, file_type: repayments, where: {...}}` or
    /// `{ours: plan_lines}`.
    private static func source(_ node: SpecNode, partners: [PartnerConfig]) throws(SpecError) -> ReconSource {
        let map = try node.mapping(allowed: ["events", "partner", "file_type", "ours", "where"])
        let conditions = try map["where"].map { n throws(SpecError) in try self.conditions(n) } ?? []
        if let ours = map["ours"] {
            guard !map.has("events") && !map.has("partner") && !map.has("file_type") else {
                throw node.error("a side is either our own records (ours) or a partner's events (events, partner, file_type), not both")
            }
            switch try ours.string() {
            case "plan_lines": return ReconSource(origin: .planLines, conditions: conditions, place: place(node))
            case "allocations": return ReconSource(origin: .allocations, conditions: conditions, place: place(node))
            default: throw ours.error("unknown source '\(try ours.string())'; our own sources are plan_lines and allocations")
            }
        }
        let eventNode = try map.required("events")
        guard let event = CanonicalEvent(rawValue: try eventNode.string()) else {
            throw eventNode.error("unknown source event '\(try eventNode.string())'; events are \(CanonicalEvent.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        let partnerNode = try map.required("partner")
        let partnerID = try partnerNode.string()
        guard let partner = partners.first(where: { $0.id == partnerID }) else {
            throw partnerNode.error("unknown partner '\(partnerID)'; partners are \(partners.map(\.id).joined(separator: ", "))")
        }
        let typeNode = try map.required("file_type")
        let typeID = try typeNode.string()
        guard partner.fileType(typeID) != nil else {
            throw typeNode.error("partner \(partnerID) has no file type '\(typeID)'; it has \(partner.files.map(\.id).joined(separator: ", "))")
        }
        return ReconSource(origin: .events(event, partner: partnerID, fileType: typeID), conditions: conditions, place: place(node))
    }

    /// `{status: success, repay_type: {not: compensation}, type: {in: [a, b]}, ref: {prefix: WX}}`.
    private static func conditions(_ node: SpecNode) throws(SpecError) -> [FieldCondition] {
        var conditions: [FieldCondition] = []
        for (field, valueNode) in try node.entries() {
            let ref = FieldRef(field, place: place(valueNode))
            if valueNode.isScalar {
                conditions.append(FieldCondition(field: ref, test: .equals(try valueNode.string())))
                continue
            }
            let test = try valueNode.mapping(allowed: ["not", "in", "prefix"])
            guard test.entries.count == 1 else { throw valueNode.error("give one test: not, in or prefix") }
            if let value = test["not"] { conditions.append(FieldCondition(field: ref, test: .notEquals(try value.string()))) }
            if let value = test["in"] { conditions.append(FieldCondition(field: ref, test: .oneOf(try value.strings()))) }
            if let value = test["prefix"] { conditions.append(FieldCondition(field: ref, test: .prefix(try value.string()))) }
        }
        return conditions
    }

    private static func fieldRef(_ node: SpecNode) throws(SpecError) -> FieldRef {
        let text = try node.string()
        let negated = text.hasPrefix("-")
        let name = negated ? String(text.dropFirst()) : text
        guard !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) else {
            throw node.error("'\(text)' is not a field name (a leading - negates an amount)")
        }
        return FieldRef(name, negated: negated, place: place(node))
    }

    /// `reference`, or `{left: total, right: amount}`.
    private static func pair(_ node: SpecNode) throws(SpecError) -> FieldPair {
        if node.isScalar {
            let ref = try fieldRef(node)
            return FieldPair(left: ref, right: ref)
        }
        let map = try node.mapping(allowed: ["left", "right"])
        return FieldPair(left: try fieldRef(map.required("left")), right: try fieldRef(map.required("right")))
    }

    private static func pair(_ node: SpecNode, map: SpecMapping, defaultName: String) throws(SpecError) -> FieldPair {
        if let field = map["field"] {
            guard !map.has("left") && !map.has("right") else { throw node.error("give field (the same on both sides) or left and right") }
            let ref = try fieldRef(field)
            return FieldPair(left: ref, right: ref)
        }
        let fallback = FieldRef(defaultName, place: place(node))
        return FieldPair(left: try map["left"].map { n throws(SpecError) in try fieldRef(n) } ?? fallback,
                         right: try map["right"].map { n throws(SpecError) in try fieldRef(n) } ?? fallback)
    }
}

extension ReconciliationConfig {
    /// Gives every compared field its kind from the sides' field kinds, refusing a field a
    /// side does not have (by its key in `reckon.yaml`) and a comparison of unlike kinds.
    /// `fields` answers, per source, what it knows of a field name.
    public func resolvingFields(_ fields: (ReconSource, String) -> ReconFieldLookup) throws(SpecError) -> ReconciliationConfig {
        var resolved = self
        for (index, rule) in rules.enumerated() {
            /// nil: the side's spec could not be read, so nothing is known (the step that
            /// reads its files says why).
            func kind(_ ref: FieldRef, in source: ReconSource) throws(SpecError) -> ReconFieldKind? {
                switch fields(source, ref.name) {
                case .unknown:
                    throw ref.place.error("unknown field '\(ref.name)' for this side (\(source.origin.label))")
                case .unchecked:
                    return nil
                case .kind(let kind):
                    if ref.negated && kind != .amount { throw ref.place.error("only an amount can be negated; '\(ref.name)' is not one") }
                    return kind
                }
            }
            switch rule.kind {
            case .statement(let check):
                for ref in [check.statementID, check.account, check.opening, check.closing] + [check.openingDirection, check.closingDirection].compactMap({ $0 }) {
                    _ = try kind(ref, in: check.balances)
                }
                for ref in [check.entryStatementID, check.entryAmount] { _ = try kind(ref, in: check.entries) }
                for condition in check.balances.conditions { _ = try kind(condition.field, in: check.balances) }
                for condition in check.entries.conditions { _ = try kind(condition.field, in: check.entries) }
            case .match(let left, let right):
                for condition in left.conditions + rule.failedLeft { _ = try kind(condition.field, in: left) }
                for condition in right.conditions + rule.failedRight { _ = try kind(condition.field, in: right) }
                for pair in rule.key {
                    _ = try kind(pair.left, in: left)
                    _ = try kind(pair.right, in: right)
                }
                var compared = rule.compared
                for (position, field) in compared.enumerated() {
                    let leftKind = try kind(field.fields.left, in: left), rightKind = try kind(field.fields.right, in: right)
                    let a = leftKind ?? rightKind ?? .text, b = rightKind ?? leftKind ?? .text
                    let unified: ReconFieldKind? = a == b ? a : ([a, b].allSatisfy { $0 == .text || $0 == .integer } ? .text : nil)
                    guard let unified else {
                        throw field.fields.right.place.error("compares \(field.fields.left.name) (\(a)) with \(field.fields.right.name) (\(b)): unlike kinds")
                    }
                    if field.tolerance != Tolerance() && unified != .amount {
                        throw (field.tolerancePlace ?? field.fields.left.place).error("a tolerance applies to amounts; \(field.name) is \(unified)")
                    }
                    if field.windowDays > 0 && unified != .date {
                        throw (field.windowPlace ?? field.fields.left.place).error("window_days applies to dates; \(field.name) is \(unified)")
                    }
                    compared[position].kind = unified
                }
                resolved.rules[index] = ReconRule(
                    name: rule.name, description: rule.description, partner: rule.partner, kind: rule.kind, key: rule.key,
                    compared: compared, grouping: rule.grouping, pendingDays: rule.pendingDays, failedLeft: rule.failedLeft,
                    failedRight: rule.failedRight, missingPerKeyParts: rule.missingPerKeyParts, calendar: rule.calendar,
                    from: rule.from, place: rule.place)
            }
        }
        return resolved
    }
}

/// What a side's spec says of a field name.
public enum ReconFieldLookup: Sendable, Equatable {
    case kind(ReconFieldKind)
    /// The side has no such field.
    case unknown
    /// The side's spec could not be read: nothing can be checked.
    case unchecked
}

extension ReconSource.Origin {
    public var label: String {
        switch self {
        case .events(let event, let partner, let fileType): return "\(event.rawValue) events of \(partner)/\(fileType)"
        case .planLines: return "our plan lines"
        case .allocations: return "our allocations"
        }
    }
}
