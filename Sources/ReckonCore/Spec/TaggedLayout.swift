/// Tagged text files (`format: tagged`): SWIFT MT940, MT942 and the other FIN-style
/// messages. A record is a block that starts with a tag line `:TAG:` (two letters or digits
/// and an optional letter: `:20:`, `:61:`, `:60F:`, `:NS:`) and goes on over the following
/// lines until the next tag line, a message's end (`-` or `-}`), or the file's end. SWIFT
/// envelope blocks (`{1:…}{2:…}{3:…}{4:` and the `{5:…}` trailer) and blank lines are
/// passed over; a file may hold any number of messages. FIN's line syntax is fixed (a
/// content line never starts with `:` or `-`).
public struct TaggedLayout: Sendable {
    /// Lines outside any block (a bank's own header lines before a message's first tag,
    /// such as ABN AMRO's `ABNANL2A` / `940`): rejected as matching no kind, or skipped
    /// (`outside_tags:`). A line that starts with `:` without being a tag line is always
    /// rejected: it is most likely a tag written wrong.
    public let outsideTags: UnmatchedRecordPolicy
    /// A tag line whose tag no kind reads, inside a message (`unknown_tags:`): rejected as
    /// matching no kind (`reject`, the default), or read as a line of the text before it
    /// (`text`: free text that wrapped a time such as `T16:26:37` so that `:26:37` starts a
    /// line). A `default: true` kind reads every tag, so there is none unknown.
    public let unknownTags: UnknownTagPolicy

    public enum UnknownTagPolicy: String, Sendable {
        case reject
        case text
    }

    public init(outsideTags: UnmatchedRecordPolicy = .reject, unknownTags: UnknownTagPolicy = .reject) {
        self.outsideTags = outsideTags
        self.unknownTags = unknownTags
    }
}

/// How the lines of a value that spans several lines are joined (`join_lines:`).
public enum LineJoin: String, Sendable, CaseIterable {
    /// Kept as a line feed: the value is what the file says, line for line (the default).
    case newline
    /// Replaced by one space: free text wrapped at 65 characters reads as one line.
    case space
    /// Removed: structured text cut at a fixed width (`?20…?21…`) reads as written.
    case none

    var separator: String {
        switch self {
        case .newline: return "\n"
        case .space: return " "
        case .none: return ""
        }
    }
}

/// A tagged record kind's layout: what its own tag's content holds and which tags that
/// follow it belong to the same record.
public struct TaggedKindLayout: Sendable {
    /// The tags the kind is told by (`when: {tag: "60F|60M"}`).
    public let tags: [String]
    /// The content of the kind's own tag, lines joined by line feeds, must match this as a
    /// whole (`content:`); its capture groups are the fields with `capture: N`. Nil: fields
    /// take whole tags.
    public let content: SpecRegex?
    /// Tags that, coming right after the kind's own (in any order, each once), are parts of
    /// the same record (`followed_by: ["86"]`): a statement line and its information to the
    /// account owner. Without them the record is complete as well.
    public let followedBy: [String]
    /// Per field (in the kind's field order): how its lines are joined.
    public let joins: [LineJoin]

    public init(tags: [String], content: SpecRegex?, followedBy: [String], joins: [LineJoin]) {
        self.tags = tags
        self.content = content
        self.followedBy = followedBy
        self.joins = joins
    }

    /// Whether `tag` is the syntax of a FIN tag: two ASCII letters or digits and an
    /// optional upper-case letter.
    public static func isTagName(_ tag: String) -> Bool {
        let bytes = Array(tag.utf8)
        guard bytes.count == 2 || bytes.count == 3 else { return false }
        func alnum(_ b: UInt8) -> Bool { (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) }
        guard alnum(bytes[0]), alnum(bytes[1]) else { return false }
        return bytes.count == 2 || (bytes[2] >= 0x41 && bytes[2] <= 0x5A)
    }
}
