/// The spec keys of tagged files (`format: tagged`) and of `year_from:`, read for the
/// loader: `when: {tag: …}`, a kind's `content:` and `followed_by:`, a field's `tag:`,
/// `capture:` and `join_lines:`.
enum TaggedSpec {
    /// A kind's `content` pattern and `followed_by` tags, before its fields are read.
    struct KindParts {
        let content: SpecRegex?
        let followedBy: [String]
        let followedByNode: SpecNode?
        /// The kind's node, for messages.
        let node: SpecNode
    }

    static let fieldHint = "a field of a tagged kind is a capture group of the kind's content pattern (capture: N) or a whole tag's content (tag: \"86\")"

    /// The layout's own keys: `outside_tags`, `unknown_tags`.
    static func layout(_ top: SpecMapping) throws(SpecError) -> TaggedLayout {
        var outside = UnmatchedRecordPolicy.reject
        if let node = top["outside_tags"] {
            guard let policy = UnmatchedRecordPolicy(rawValue: try node.string()) else {
                throw node.error("expected reject or skip")
            }
            outside = policy
        }
        var unknown = TaggedLayout.UnknownTagPolicy.reject
        if let node = top["unknown_tags"] {
            guard let policy = TaggedLayout.UnknownTagPolicy(rawValue: try node.string()) else {
                throw node.error("expected reject or text")
            }
            unknown = policy
        }
        return TaggedLayout(outsideTags: outside, unknownTags: unknown)
    }

    /// `when: {tag: "60F|60M"}` (or a list): the discriminator of a tagged kind. Nil when
    /// the format is not tagged and the key is absent.
    static func tagMatch(_ map: SpecMapping, _ node: SpecNode, format: FileFormat) throws(SpecError) -> RecordMatch? {
        guard case .tagged = format else {
            if let tag = map["tag"] { throw tag.error("'tag' applies to tagged files (format: tagged)") }
            return nil
        }
        guard let tagNode = map["tag"] else {
            throw node.error("tagged record kinds are told apart by their tag: when: {tag: \"61\"}, or several: {tag: \"60F|60M\"}")
        }
        if map.entries.count > 1 { throw node.error("'tag' stands alone: a tagged block is told by its tag") }
        return .tag(try tags(tagNode))
    }

    /// Tags written `"61"`, `"60F|60M"` or as a list, each checked for FIN tag syntax.
    static func tags(_ node: SpecNode) throws(SpecError) -> [String] {
        var tags: [String] = []
        for text in try node.strings() {
            for part in text.split(separator: "|", omittingEmptySubsequences: false).map(String.init) {
                guard TaggedKindLayout.isTagName(part) else {
                    throw node.error("'\(part)' is not a tag: two letters or digits and an optional upper-case letter, such as 61, 60F or NS (without the colons)")
                }
                if tags.contains(part) { throw node.error("the tag \(part) is named twice") }
                tags.append(part)
            }
        }
        guard !tags.isEmpty else { throw node.error("name at least one tag") }
        return tags
    }

    /// A kind's `content` and `followed_by`; nil outside tagged files, where they (and the
    /// fields' `tag` and `join_lines`) are errors.
    static func kindParts(_ map: SpecMapping, format: FileFormat) throws(SpecError) -> KindParts? {
        guard case .tagged = format else {
            for key in ["content", "followed_by"] {
                if let node = map[key] { throw node.error("'\(key)' applies to tagged record kinds (format: tagged)") }
            }
            if let fields = try? map["fields"]?.entries() {
                for (_, field) in fields {
                    for (key, value) in (try? field.entries()) ?? [] where key == "tag" || key == "join_lines" {
                        throw value.error("'\(key)' applies to fields of tagged files (format: tagged)")
                    }
                }
            }
            return nil
        }
        var content: SpecRegex?
        if let node = map["content"] {
            let text = try node.string()
            do {
                content = try SpecRegex(text)
            } catch {
                throw node.error("'\(text)' is not a valid regular expression: \(error)")
            }
        }
        let followedBy = try map["followed_by"].map { node throws(SpecError) in try tags(node) } ?? []
        return KindParts(content: content, followedBy: followedBy, followedByNode: map["followed_by"], node: map.node)
    }

    /// Where a tagged field's value is: `capture: N` of the kind's content pattern, or
    /// `tag: "86"`, the whole content of that tag.
    static func fieldSource(_ map: SpecMapping, _ node: SpecNode, content: SpecRegex?) throws(SpecError) -> FieldSource {
        for key in ["start", "length", "end", "column", "path"] where map.has(key) {
            throw map[key]!.error("'\(key)' does not apply to tagged files: \(fieldHint)")
        }
        if let captureNode = map["capture"] {
            if let tag = map["tag"] { throw tag.error("give capture or tag, not both") }
            guard let content else {
                throw captureNode.error("capture needs the kind's content pattern (content: '…' with capture groups)")
            }
            let index = try captureNode.int(in: 1...99)
            if index > content.captureCount {
                throw captureNode.error("the content pattern has \(content.captureCount) capture group(s)")
            }
            return .capture(index)
        }
        if let tagNode = map["tag"] {
            return .tag(try tags(tagNode))
        }
        throw node.error(fieldHint)
    }

    /// No tag is the tag of two kinds.
    static func checkKinds(_ kinds: [RecordKind], _ node: SpecNode) throws(SpecError) {
        var owner: [String: String] = [:]
        let entries = (try? node.entries()) ?? []
        for kind in kinds {
            guard case .tag(let tags)? = kind.match else { continue }
            for tag in tags {
                if let other = owner[tag] {
                    let at = entries.first { $0.key == kind.name }?.value ?? node.child(kind.name, node.node)
                    throw at.error("the tag \(tag) is already the tag of record kind '\(other)'")
                }
                owner[tag] = kind.name
            }
        }
    }

    /// The kind's tagged layout, its fields' tags checked against the kind's own and the
    /// ones that follow it.
    static func kindLayout(_ parts: KindParts?, match: RecordMatch?, fieldsNode: SpecNode?,
                           fields: [FieldSpec]) throws(SpecError) -> TaggedKindLayout? {
        guard let parts else { return nil }
        var own: [String] = []
        if case .tag(let tags)? = match { own = tags }
        if let repeated = parts.followedBy.first(where: { own.contains($0) }) {
            throw (parts.followedByNode ?? parts.node).error("the kind's own tag \(repeated) cannot also follow it")
        }
        var joins: [LineJoin] = []
        let entries = (try? fieldsNode?.entries()) ?? []
        for field in fields {
            let fieldNode = entries.first { $0.key == field.name }?.value
            var join = LineJoin.newline
            if let joinNode = (try? fieldNode?.entries())?.first(where: { $0.key == "join_lines" })?.value {
                guard let value = LineJoin(rawValue: try joinNode.string()) else {
                    throw joinNode.error("expected newline, space or none")
                }
                join = value
            }
            joins.append(join)
            if case .tag(let tags) = field.source, let tag = tags.first(where: { !own.contains($0) && !parts.followedBy.contains($0) }) {
                let at = (try? fieldNode?.entries())?.first(where: { $0.key == "tag" })?.value ?? fieldNode ?? parts.node
                let known = own.isEmpty ? "" : "its own tag\(own.count == 1 ? "" : "s") \(own.joined(separator: ", "))"
                let follow = parts.followedBy.isEmpty ? "" : "the tags that follow it (\(parts.followedBy.joined(separator: ", ")))"
                throw at.error("the record holds no tag \(tag): it has \([known, follow].filter { !$0.isEmpty }.joined(separator: " and ")); name it in followed_by to take it from the tag after")
            }
        }
        return TaggedKindLayout(tags: own, content: parts.content, followedBy: parts.followedBy, joins: joins)
    }
}

/// `year_from:`: a date written without its year takes it from another date field of the
/// same record. Any format.
enum YearFromSpec {
    /// The field `year_from` names, checked against the field's own type.
    static func field(_ map: SpecMapping, type: FieldType) throws(SpecError) -> String? {
        guard let node = map["year_from"] else { return nil }
        guard case .date(let format) = type else {
            throw node.error("'year_from' applies to date fields written without their year (format: MMdd)")
        }
        if format.hasDate {
            throw node.error("the format '\(format.pattern)' has its own year; year_from is for dates written without one (MMdd)")
        }
        return try node.string()
    }

    /// Each `year_from` names another date field of the kind, one with its own year.
    static func check(_ fields: [FieldSpec], node: SpecNode) throws(SpecError) {
        for field in fields {
            guard let name = field.yearFrom else { continue }
            let at = node.child(field.name, node.node)
            guard let other = fields.first(where: { $0.name == name }), other !== field else {
                throw at.error("year_from names '\(name)', which is not another field of this record kind")
            }
            guard case .date(let format) = other.type, format.hasDate else {
                throw at.error("year_from names '\(name)', which is not a date with its own year")
            }
        }
    }
}
