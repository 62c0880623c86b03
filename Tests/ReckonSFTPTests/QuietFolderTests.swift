import ReckonCore
import ReckonSFTP
import Testing

/// When a daemon's look may take a folder's last listing instead of listing it again
/// (issue 12, item 10): plain values, the monotonic time given in seconds.
@Suite("A quiet SFTP folder is not listed again")
struct QuietFolderTests {
    let day = CivilDate(year: 2024, month: 12, day: 16)!
    let stamp = QuietFolder.Stamp(modifiedSeconds: 1_734_300_000)

    func at(_ seconds: Double) -> UInt64 { UInt64(seconds * 1e9) }

    func kept(_ names: [String], sizeBytes: Int64 = 10, date: CivilDate? = nil) -> QuietFolder.Kept {
        QuietFolder.Kept(listing: RemoteListing(files: names.map { RemoteFile(name: $0, sizeBytes: sizeBytes, modifiedSeconds: 1) }),
                         date: date ?? day, decisions: [:])
    }

    /// Lists the folder (as the fetcher does when `unchanged` says nil) at `time`.
    @discardableResult
    func look(_ folder: inout QuietFolder, _ stamp: QuietFolder.Stamp?, at time: Double, names: [String] = ["a.csv"],
              sizeBytes: Int64 = 10, watching: Bool = false) -> (reused: Bool, distrusted: Bool) {
        if folder.unchanged(stamp, date: day, atNanoseconds: at(time)) != nil { return (true, false) }
        let distrusted = folder.listed(kept(names, sizeBytes: sizeBytes), stamp: stamp, atNanoseconds: at(time), watching: watching)
        return (false, distrusted)
    }

    /// A time first seen is proven by a listing at least two seconds later (the server's
    /// clock was then past its second); only then does the same time stand for the listing.
    @Test func aFolderIsListedUntilItsTimeIsProvenThenNotWhileItStaysTheSame() {
        var folder = QuietFolder()
        #expect(look(&folder, stamp, at: 0).reused == false)
        #expect(look(&folder, stamp, at: 0.5).reused == false)
        #expect(look(&folder, stamp, at: 1.9).reused == false)
        #expect(look(&folder, stamp, at: 2.0).reused == false)   // this listing proves the time
        #expect(look(&folder, stamp, at: 2.25).reused == true)
        #expect(folder.unchanged(stamp, date: day, atNanoseconds: at(3)) == kept(["a.csv"]))

        // Its time moves: listed, and again until the new time is proven.
        let moved = QuietFolder.Stamp(modifiedSeconds: stamp.modifiedSeconds + 3)
        #expect(look(&folder, moved, at: 4).reused == false)
        #expect(look(&folder, moved, at: 5).reused == false)
        #expect(look(&folder, moved, at: 6).reused == false)
        #expect(look(&folder, moved, at: 6.25).reused == true)
    }

    @Test func aQuietFolderIsStillListedEveryTenSeconds() {
        var folder = QuietFolder()
        look(&folder, stamp, at: 0)
        look(&folder, stamp, at: 2)
        #expect(look(&folder, stamp, at: 11.9).reused == true)
        #expect(look(&folder, stamp, at: 12).reused == false)
        #expect(look(&folder, stamp, at: 12.25).reused == true)
    }

    /// A file watched for its size to hold is written in place, which does not move its
    /// folder's time: the folder is listed at every look while one is.
    @Test func aFolderWithAFileSettlingIsListedAtEveryLook() {
        var folder = QuietFolder()
        look(&folder, stamp, at: 0, watching: true)
        look(&folder, stamp, at: 3, sizeBytes: 20, watching: true)
        #expect(look(&folder, stamp, at: 4, sizeBytes: 30, watching: true) == (false, false))
        #expect(look(&folder, stamp, at: 5, sizeBytes: 30) == (false, false))
        #expect(look(&folder, stamp, at: 5.5).reused == true)
    }

    @Test func anotherDayNoTimeOrAFailedLookMeansAListing() {
        var folder = QuietFolder()
        look(&folder, stamp, at: 0)
        look(&folder, stamp, at: 2)
        #expect(folder.unchanged(stamp, date: CivilDate(year: 2024, month: 12, day: 17)!, atNanoseconds: at(3)) == nil)
        #expect(folder.unchanged(stamp, date: day, atNanoseconds: at(3)) != nil)
        // No time from the server: listed, and its time proven anew once it gives one.
        #expect(look(&folder, nil, at: 4).reused == false)
        #expect(look(&folder, stamp, at: 4.5).reused == false)
        #expect(look(&folder, stamp, at: 5).reused == false)
        #expect(look(&folder, stamp, at: 6.5).reused == false)
        #expect(look(&folder, stamp, at: 7).reused == true)
        folder.forget()
        #expect(look(&folder, stamp, at: 7.5).reused == false)
    }

    /// A server that keeps no folder times (or keeps them still): the ten-second listing
    /// finds a name that came without the time moving, says so once, and the folder is
    /// listed at every look from then on. A file's size changing in place is not such a sign.
    @Test func aFolderWhoseTimeDoesNotFollowItsNamesIsListedAtEveryLookOnceFound() {
        var folder = QuietFolder()
        look(&folder, stamp, at: 0)
        look(&folder, stamp, at: 2)
        #expect(look(&folder, stamp, at: 12, sizeBytes: 99) == (false, false))
        #expect(folder.timeIsTrusted)
        #expect(look(&folder, stamp, at: 22, names: ["a.csv", "b.csv"]) == (false, true))
        #expect(!folder.timeIsTrusted)
        #expect(look(&folder, stamp, at: 22.5, names: ["a.csv", "b.csv"]) == (false, false))
        #expect(look(&folder, stamp, at: 40, names: ["a.csv", "b.csv", "c.csv"]) == (false, false))

        // A name that came while the time was not yet proven says nothing of the server.
        var young = QuietFolder()
        look(&young, stamp, at: 0)
        #expect(look(&young, stamp, at: 1, names: ["a.csv", "b.csv"]) == (false, false))
        #expect(young.timeIsTrusted)
    }
}
