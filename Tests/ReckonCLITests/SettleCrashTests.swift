import Foundation
import ReckonLedger
import Testing

/// `reckon settle` killed with SIGKILL while it replaces a day's set (a new version of the
/// platform's files after a break was resolved), at every settle and outbox crash point
/// (``CrashPoint``: a new one is covered without being listed here), at its first hit and
/// its last: the day's folder holds the old complete set or the new one, never a mix, and
/// the next run completes the new one, the old one archived, as a run that was never
/// killed leaves it.
@Suite(.serialized) struct SettleCrashTests {
    typealias SampleDays = ReconciliationEndToEndTests.SampleDays

    /// The points a settle passes through: its own and the outbox's install.
    static let points = CrashPoint.allCases.filter { $0.rawValue.hasPrefix("settle-") || $0.rawValue.hasPrefix("outbox-") }

    /// Every file under `folder` by relative path, with its bytes.
    static func files(_ folder: String) -> [String: Data] {
        var found: [String: Data] = [:]
        guard let names = FileManager.default.enumerator(atPath: folder) else { return found }
        for case let name as String in names {
            var isFolder: ObjCBool = false
            let path = folder + "/" + name
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder), !isFolder.boolValue else { continue }
            found[name] = FileManager.default.contents(atPath: path)
        }
        return found
    }

    /// A copy of the ledger's folder (ledger, outbox, archive), to kill a settle in.
    static func copy(_ folder: ScratchFolder) throws -> ScratchFolder {
        let copy = ScratchFolder()
        try FileManager.default.removeItem(atPath: copy.path)
        try FileManager.default.copyItem(atPath: folder.path, toPath: copy.path)
        return copy
    }

    static func settle(_ folder: ScratchFolder, environment: [String: String] = [:]) throws -> Finished {
        try runReckon(["settle", "--date", "2024-12-16", "--config", folder.path + "/reckon.yaml"], environment: environment)
    }

    static func versions(_ folder: ScratchFolder) throws -> [String] {
        let listed = try jsonObject(try cli(["outbox", "list", "--date", "2024-12-16", "--json", "--config", folder.path + "/reckon.yaml"]).stdout)
        return try #require(listed["files"] as? [[String: Any]]).map { "\($0["partner"]!)/\($0["name"]!) v\($0["version"]!)" }
    }

    @Test func aSettleKilledAtEachCrashPointLeavesTheOldSetOrTheNewAndTheNextRunCompletesIt() throws {
        let days = try SampleDays()
        let day = "/outbox/platform/2024-12-16"
        let old = Self.files(days.folder.path + day), bank = Self.files(days.folder.path + "/outbox/bank/2024-12-16")
        // The ledger changes: the cent off is resolved, so the platform's result file is new.
        let cent = try #require((try jsonObject(try days.run("breaks", "list", "--kind", "amount", "--json").stdout)["breaks"]
            as? [[String: Any]])?.first?["id"] as? Int)
        #expect(try days.run("breaks", "resolve", "\(cent)", "--reason", "timing", "--note", "the channel rounds", "--as", "alice").status == 0)

        let clean = try Self.copy(days.folder)
        let trace = clean.path + "/crash-trace"
        let settled = try Self.settle(clean, environment: ["RECKON_CRASH_TRACE": trace])
        #expect(settled.status == 0, "\(settled.stdout)\(settled.stderr)")
        let new = Self.files(clean.path + day)
        #expect(new != old && new["RECKON_RESULT_20241216.csv"] != old["RECKON_RESULT_20241216.csv"])
        let archive = Self.files(clean.path + "/var/archive/outbound")
        #expect(archive.keys.sorted() == ["platform/2024-12-16/MANIFEST.json.v1", "platform/2024-12-16/RECKON_ALERT_20241216.csv.v1",
                                          "platform/2024-12-16/RECKON_RESULT_20241216.csv.v1"])
        #expect(archive["platform/2024-12-16/RECKON_RESULT_20241216.csv.v1"] == old["RECKON_RESULT_20241216.csv"])
        let versions = try Self.versions(clean)

        let hits = try String(contentsOfFile: trace, encoding: .utf8).split(separator: "\n").map(String.init)
        for point in Self.points {
            #expect(hits.contains(point.rawValue), "a settle that replaces a set never reaches the crash point \(point.rawValue)")
        }
        for point in Self.points {
            let count = hits.filter { $0 == point.rawValue }.count
            for nth in Set([1, count]).sorted() where count > 0 {
                let label = "killed at \(point.rawValue):\(nth)"
                let folder = try Self.copy(days.folder)
                let killed = try Self.settle(folder, environment: ["RECKON_CRASH_AT": "\(point.rawValue):\(nth)"])
                #expect(killed.signalled && killed.status == SIGKILL, "\(label): not killed there: \(killed.stdout)\(killed.stderr)")
                let left = Self.files(folder.path + day)
                #expect(left == old || left == new, "\(label): the day's folder is neither set: \(left.keys.sorted())")
                #expect(Self.files(folder.path + "/outbox/bank/2024-12-16") == bank, "\(label): the bank's set changed")
                let rerun = try Self.settle(folder)
                #expect(rerun.status == 0, "\(label): \(rerun.stdout)\(rerun.stderr)")
                #expect(Self.files(folder.path + day) == new, "\(label): the next run did not complete the new set")
                #expect(Self.files(folder.path + "/var/archive/outbound") == archive, "\(label): the archive differs")
                #expect(try Self.versions(folder) == versions, "\(label)")
            }
        }
    }
}
