import ReckonCore

/// Whether a partner's SFTP folder must be listed at a daemon's look, or is known unchanged
/// since its last listing by the folder's own modification time — one `stat` round trip
/// instead of a listing's four (open, read, read to the end, close), for the server and for
/// reckon. A hundred partners looked at every half second are mostly quiet folders.
///
/// A folder's time changes when a name in it is made, renamed or removed, to the second
/// (SFTP v3). The time is trusted only once it is proven: a change in the same second as
/// the listing that saw the time would not move it, so a folder is left unlisted only after
/// a listing taken at least ``settleNanoseconds`` after its current time was first seen (the
/// server's clock was then past that second, and any later change moves the time). It is
/// listed all the same when any of its files is being watched for its size to hold (a file
/// written in place does not move its folder's time), after an error, and at least every
/// ``listAtLeastEveryNanoseconds`` (so a file rewritten in place under its own name, which
/// moves only the file's time, is seen that late at most). When such a listing finds a
/// name came or went though the folder's time did not move (a server that keeps no folder
/// times), the time is distrusted and the folder listed at every look from then on.
/// Pure: the caller stats and lists, and gives the monotonic time.
public struct QuietFolder: Sendable {
    /// What the server says of the folder itself.
    public struct Stamp: Sendable, Equatable {
        public let modifiedSeconds: Int64

        public init(modifiedSeconds: Int64) {
            self.modifiedSeconds = modifiedSeconds
        }
    }

    /// A listing and what the readiness rules decided from it for a business day.
    public struct Kept: Sendable, Equatable {
        public let listing: RemoteListing
        public let date: CivilDate?
        public let decisions: [String: RemoteReadiness.Decision]

        public init(listing: RemoteListing, date: CivilDate?, decisions: [String: RemoteReadiness.Decision]) {
            self.listing = listing
            self.date = date
            self.decisions = decisions
        }
    }

    /// Longer than a second of the server's clock (with room for its rate to differ).
    public static let settleNanoseconds: UInt64 = 2_000_000_000
    /// A quiet folder is still listed this often: the bound on how late a change its time
    /// does not show is seen (and found out).
    public static let listAtLeastEveryNanoseconds: UInt64 = 10_000_000_000

    private var stamp: Stamp?
    private var stampSeenAt: UInt64 = 0
    /// When the stat before the last listing was taken, and that listing.
    private var listedAt: UInt64?
    private var kept: Kept?
    private var mustList = true
    /// False once a listing showed the folder's time does not follow its names.
    public private(set) var timeIsTrusted = true

    public init() {}

    /// The folder's stamp as just read (nil: the server gave no time, or the stat failed):
    /// the last listing and its decisions when they still hold for `date`, nil when the
    /// folder must be listed now.
    public mutating func unchanged(_ now: Stamp?, date: CivilDate?, atNanoseconds time: UInt64) -> Kept? {
        guard let now else {
            forget()
            return nil
        }
        if now != stamp {
            stamp = now
            stampSeenAt = time
            return nil
        }
        guard timeIsTrusted, !mustList, let kept, kept.date == date, let listedAt, listedAt >= stampSeenAt &+ Self.settleNanoseconds,
              time >= listedAt, time - listedAt < Self.listAtLeastEveryNanoseconds else { return nil }
        return kept
    }

    /// Records a listing taken after the stat that gave `stamp` (at `time`). `watching`:
    /// some file in it waits for its size to hold, so the next look lists again. Returns
    /// true when this listing shows, for the first time, that the folder's time does not
    /// follow its names: a name came or went though the time stayed, since a listing that
    /// proved the time. (A file's size or time changing in place is not the folder's to
    /// show: such a change is seen at the next listing, at most ``listAtLeastEveryNanoseconds``
    /// on, unless the file is being watched.)
    public mutating func listed(_ kept: Kept, stamp: Stamp?, atNanoseconds time: UInt64, watching: Bool) -> Bool {
        var distrusted = false
        if timeIsTrusted, !mustList, let stamp, stamp == self.stamp, let previous = self.kept, let listedAt,
           listedAt >= stampSeenAt &+ Self.settleNanoseconds, !Self.sameNames(previous.listing, kept.listing) {
            timeIsTrusted = false
            distrusted = true
        }
        self.stamp = stamp
        self.kept = kept
        listedAt = time
        mustList = watching
        return distrusted
    }

    private static func sameNames(_ a: RemoteListing, _ b: RemoteListing) -> Bool {
        a.files.count == b.files.count && a.refused.count == b.refused.count
            && zip(a.files, b.files).allSatisfy { $0.name == $1.name }
    }

    /// After an error, or when the server gave no time: the next look lists.
    public mutating func forget() {
        stamp = nil
        kept = nil
        listedAt = nil
        mustList = true
    }
}
