import Foundation
import ReckonLedger
import Testing

/// The outbox through the real binary: `reckon outbox list`, and a partner-day's set
/// installed by a process killed (SIGKILL) at every outbox crash point, first and last hit.
/// The files are plain bytes written here and installed with the hidden test-support
/// command `reckon outbox install-fixture` (the settle step renders the real ones).
@Suite("Outbox command", .serialized)
struct OutboxCommandTests {
    static let day = "2024-12-16"

    /// A workspace with two fixture folders: version 1 (settlement, plans) and version 2
    /// (settlement changed, plans gone, results new).
    struct Fixture {
        let folder: ScratchFolder
        let drops = ScratchFolder()
        var config: String { folder.path + "/reckon.yaml" }
        var dayFolder: String { folder.path + "/outbox/bank/\(OutboxCommandTests.day)" }
        var archiveFolder: String { folder.path + "/var/archive/outbound/bank/\(OutboxCommandTests.day)" }
        var stagingFolder: String { folder.path + "/outbox/bank/.\(OutboxCommandTests.day).staging" }

        init() throws {
            folder = try workspace(drops.path)
            for (set, files) in [("v1", [("settlement.txt", "D|1|100.00\nD|2|200.00\n"), ("plans.csv", "loan,period\nL1,1\n")]),
                                 ("v2", [("settlement.txt", "D|1|100.00\nD|2|250.00\n"), ("results.csv", "line,status\n1,posted\n")])] {
                try FileManager.default.createDirectory(atPath: folder.path + "/" + set, withIntermediateDirectories: true)
                for (name, text) in files { _ = folder.write(set + "/" + name, text) }
            }
        }

        func install(_ set: String, reason: String, environment: [String: String] = [:]) throws -> Finished {
            try runReckon(["outbox", "install-fixture", "--from", folder.path + "/" + set, "--partner", "bank", "--date", OutboxCommandTests.day,
                           "--zip", "bank_20241216.zip", "--done", ".done", "--reason", reason, "--config", config], environment: environment)
        }

        func files(under path: String) -> [String: Data] {
            var found: [String: Data] = [:]
            for case let name as String in FileManager.default.enumerator(atPath: path) ?? .init() {
                var isFolder: ObjCBool = false
                if FileManager.default.fileExists(atPath: path + "/" + name, isDirectory: &isFolder), !isFolder.boolValue {
                    found[name] = FileManager.default.contents(atPath: path + "/" + name)
                }
            }
            return found
        }

        /// `outbox list --json`: name, version and SHA-256 of every recorded file.
        func recorded() throws -> [String] {
            let list = try reckon("outbox", "list", "--json", "--config", config)
            #expect(list.status == 0, "\(list.stderr)")
            return try (jsonObject(list.stdout)["files"] as? [[String: Any]] ?? []).map {
                "\($0["name"] ?? "") v\($0["version"] ?? "") \($0["current"] ?? "") \($0["sha256"] ?? "")"
            }
        }
    }

    /// What a reader may see as the day's set: the manifest and, as a set, the files it lists
    /// (a reader takes nothing else), each with the bytes the manifest says.
    static func visibleSet(_ fixture: Fixture, label: String) throws -> [String: Data]? {
        let all = fixture.files(under: fixture.dayFolder)
        guard let manifestBytes = all["MANIFEST.json"] else { return nil }
        let manifest = try #require(try JSONSerialization.jsonObject(with: manifestBytes) as? [String: Any])
        var set: [String: Data] = ["MANIFEST.json": manifestBytes]
        for file in manifest["files"] as? [[String: Any]] ?? [] {
            let name = try #require(file["name"] as? String)
            let bytes = try #require(all[name], "\(label): the manifest lists \(name), which is not there")
            #expect(bytes.count == file["size_bytes"] as? Int, "\(label): \(name)'s size")
            set[name] = bytes
        }
        for extra in [manifest["zip"] as? String, manifest["done_marker"] as? String].compactMap({ $0 }) {
            set[extra] = try #require(all[extra], "\(label): the manifest names \(extra), which is not there")
        }
        #expect(Set(all.keys) == Set(set.keys), "\(label): the day's folder holds files its manifest does not name")
        return set
    }

    @Test func anInstallKilledAtEveryOutboxCrashPointLeavesTheOldOrTheNewSetAndTheNextOneCompletesIt() throws {
        let outboxPoints = CrashPoint.allCases.filter { $0.rawValue.hasPrefix("outbox-") }
        #expect(outboxPoints.count == 5)

        // Clean runs: version 1, then version 2 with a trace of the points it reaches.
        let clean = try Fixture()
        #expect(try clean.install("v1", reason: "first").status == 0)
        let oldSet = try #require(try Self.visibleSet(clean, label: "clean v1"))
        let firstTrace = clean.folder.path + "/trace-first", trace = clean.folder.path + "/trace"
        let fresh = try Fixture()
        #expect(try fresh.install("v1", reason: "first", environment: ["RECKON_CRASH_TRACE": firstTrace]).status == 0)
        let replaced = try clean.install("v2", reason: "break B1 resolved", environment: ["RECKON_CRASH_TRACE": trace])
        #expect(replaced.status == 0 && replaced.stdout == "bank 2024-12-16: version 2\n", "\(replaced.stdout)\(replaced.stderr)")
        let newSet = try #require(try Self.visibleSet(clean, label: "clean v2"))
        let cleanArchive = clean.files(under: clean.archiveFolder)
        #expect(cleanArchive.keys.sorted() == ["MANIFEST.json.v1", "bank_20241216.zip.v1", "plans.csv.v1", "settlement.txt.v1"])
        #expect(cleanArchive["settlement.txt.v1"] == oldSet["settlement.txt"])
        let cleanRecord = try clean.recorded()

        func outboxHits(_ trace: String) throws -> [String] {
            try String(contentsOfFile: trace, encoding: .utf8).split(separator: "\n").map(String.init).filter { $0.hasPrefix("outbox-") }
        }
        let hits = try outboxHits(trace)
        #expect(hits == ["outbox-manifest-staged", "outbox-set-staged", "outbox-set-swapped"]
                + Array(repeating: "outbox-old-file-archived", count: 4) + ["outbox-install-finished"])
        let firstHits = try outboxHits(firstTrace)
        #expect(firstHits == ["outbox-manifest-staged", "outbox-set-staged", "outbox-set-swapped", "outbox-install-finished"])

        // Replacing version 1 by version 2, killed at each point.
        for point in outboxPoints {
            let count = hits.filter { $0 == point.rawValue }.count
            for nth in Set([1, count]).sorted() where count > 0 {
                let label = "v1→v2 killed at \(point.rawValue):\(nth)"
                let fixture = try Fixture()
                #expect(try fixture.install("v1", reason: "first").status == 0)
                let killed = try fixture.install("v2", reason: "break B1 resolved", environment: ["RECKON_CRASH_AT": "\(point.rawValue):\(nth)"])
                #expect(killed.signalled && killed.status == SIGKILL, "\(label): not killed there: \(killed.stdout)\(killed.stderr)")
                let swapped = hits.firstIndex(of: "outbox-set-swapped")!
                let at = hits.indices.filter { hits[$0] == point.rawValue }[nth - 1]
                let visible = try Self.visibleSet(fixture, label: label)
                #expect(visible == (at >= swapped ? newSet : oldSet), "\(label): the day's set is neither the old one nor the new one whole")

                let rerun = try fixture.install("v2", reason: "break B1 resolved")
                #expect(rerun.status == 0, "\(label): \(rerun.stdout)\(rerun.stderr)")
                #expect(try Self.visibleSet(fixture, label: label) == newSet, "\(label): the rerun's set differs from a clean run's")
                #expect(fixture.files(under: fixture.archiveFolder) == cleanArchive, "\(label): the archive differs from a clean run's")
                #expect(!FileManager.default.fileExists(atPath: fixture.stagingFolder), "\(label): the staging folder is left")
                #expect(try fixture.recorded() == cleanRecord, "\(label): the ledger's record differs")
            }
        }

        // The day's first set, killed at each point: nothing, or version 1 whole.
        for point in outboxPoints where firstHits.contains(point.rawValue) {
            let label = "first set killed at \(point.rawValue)"
            let fixture = try Fixture()
            let killed = try fixture.install("v1", reason: "first", environment: ["RECKON_CRASH_AT": point.rawValue])
            #expect(killed.signalled && killed.status == SIGKILL, "\(label): not killed there: \(killed.stdout)\(killed.stderr)")
            let at = firstHits.firstIndex(of: point.rawValue)!
            let visible = try Self.visibleSet(fixture, label: label)
            #expect(visible == (at >= firstHits.firstIndex(of: "outbox-set-swapped")! ? oldSet : nil), "\(label)")
            #expect(try fixture.install("v1", reason: "first").status == 0)
            #expect(try Self.visibleSet(fixture, label: label) == oldSet, "\(label): the rerun's set differs from a clean run's")
            #expect(!FileManager.default.fileExists(atPath: fixture.archiveFolder), "\(label): nothing was replaced, nothing archived")
        }
    }

    @Test func outboxListShowsEveryVersionWhetherCurrentAndWhetherDelivered() throws {
        let fixture = try Fixture()
        let none = try reckon("outbox", "list", "--config", fixture.config)
        #expect(none.status == 1 && none.stderr.hasPrefix("reckon: there is no ledger at "), "as alerts list says it: \(none.stderr)")
        #expect(try fixture.install("v1", reason: "first").status == 0)
        let unchanged = try fixture.install("v1", reason: "again")
        #expect(unchanged.stdout == "bank 2024-12-16: version 1 (unchanged)\n")
        #expect(try fixture.install("v2", reason: "break B1 resolved").status == 0)

        let list = try reckon("outbox", "list", "--date", "2024-12-16", "--config", fixture.config)
        #expect(list.status == 0, "\(list.stderr)")
        #expect(list.stdout == """
            day         partner  name            version  state     type        records  bytes  delivered
            2024-12-16  bank     plans.csv            v1  archived  plans             2     17  no
            2024-12-16  bank     results.csv          v2  current   results           2     21  no
            2024-12-16  bank     settlement.txt       v1  archived  settlement        2     22  no
            2024-12-16  bank     settlement.txt       v2  current   settlement        2     22  no
            4 file versions, 2 current, 0 of them delivered

            """)
        let json = try reckon("outbox", "list", "--partner", "bank", "--json", "--config", fixture.config)
        let files = try #require(try jsonObject(json.stdout)["files"] as? [[String: Any]])
        #expect(files.count == 4)
        let settlement = try #require(files.last)
        #expect(settlement["name"] as? String == "settlement.txt" && settlement["version"] as? Int == 2 && settlement["current"] as? Bool == true)
        #expect(settlement["reason"] as? String == "break B1 resolved" && settlement["size_bytes"] as? Int == 22)
        #expect(settlement["record_count"] as? Int == 2 && settlement["file_type"] as? String == "settlement")
        #expect(settlement["sha256"] as? String == "2e374497dd15572932e9bf5d567a66c1f7cb51922e8e276ef5089369f0e8f53f")
        #expect((settlement["control_totals"] as? [[String: String]]) == [["name": "lines", "value": "2"]])
        #expect(settlement["delivered_at"] is NSNull && settlement["remote_name"] is NSNull)
        #expect((settlement["written_at"] as? String)?.hasSuffix("Z") == true)
        #expect(try reckon("outbox", "list", "--partner", "platform", "--config", fixture.config).stdout == "no outbound files\n")
        #expect(try reckon("outbox", "list", "--date", "2024-12-17", "--json", "--config", fixture.config).stdout == "{\"files\":[]}\n")
    }
}
