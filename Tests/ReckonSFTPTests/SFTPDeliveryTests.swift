import Foundation
import Testing

@Suite("reckon batch delivering outbound sets over SFTP", .serialized, .enabled(if: TestSSHServer.unavailable == nil, "sshd is not installed"))
struct SFTPDeliveryTests {
    /// The sample day with the platform's files fetched from, and its outbound set delivered
    /// to, the test server (`deliver: {path: …}` under its `outbound:`).
    func deliveringWorkspace(_ fixture: SFTPFixture, to delivered: String) throws -> String {
        for name in try FileManager.default.contentsOfDirectory(atPath: repositoryRoot + "/inbox/platform") {
            try FileManager.default.copyItem(atPath: repositoryRoot + "/inbox/platform/" + name, toPath: fixture.remote + "/" + name)
        }
        let config = try SFTPBatchTests().workspace(fixture.scratch, "sftp", platformDrop: try fixture.platformDrop())
        let yaml = try String(contentsOfFile: config, encoding: .utf8)
        let platformDone = "      done: \"RECKON_{yyyyMMdd}.done\"\n\n  bank:"
        #expect(yaml.contains(platformDone))
        try yaml.replacingOccurrences(of: platformDone, with: "      done: \"RECKON_{yyyyMMdd}.done\"\n      deliver: {path: \(delivered)}\n\n  bank:")
            .write(toFile: config, atomically: true, encoding: .utf8)
        return config
    }

    func json(_ text: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    }

    /// The platform's outbound files as `outbox list --json` shows them: name v version → remote
    /// name (`-` when not delivered).
    func listed(_ config: String, _ scratch: Scratch) throws -> [String: String] {
        let list = try reckon(["outbox", "list", "--date", "2024-12-16", "--partner", "platform", "--json", "--config", config], scratch: scratch)
        let files = try #require(try json(list.output)["files"] as? [[String: Any]])
        var result: [String: String] = [:]
        for file in files {
            let delivered = file["delivered_at"] as? String
            result["\(file["name"]!) v\(file["version"]!)"] = delivered == nil ? "-" : (file["remote_name"] as? String ?? "?")
        }
        return result
    }

    func bytes(_ path: String) throws -> Data { try Data(contentsOf: URL(fileURLWithPath: path)) }

    func modified(_ path: String) throws -> Date {
        try #require(try FileManager.default.attributesOfItem(atPath: path)[.modificationDate] as? Date)
    }

    @Test func theDaysSetIsDeliveredOnceAndANewVersionAgain() throws {
        let fixture = try SFTPFixture()
        let delivered = try fixture.scratch.folder("to-platform")
        let config = try deliveringWorkspace(fixture, to: delivered)
        let outbox = URL(fileURLWithPath: config).deletingLastPathComponent().path + "/outbox/platform/2024-12-16"

        let first = try reckon(["batch", "--date", "2024-12-16", "--json", "--config", config], scratch: fixture.scratch)
        let firstReport = try json(first.output)
        #expect(!(firstReport["errors"] as? [String] ?? []).contains { $0.hasPrefix("deliver step") }, "\(first.output)")
        let delivery = try #require(firstReport["delivery"] as? [String: Any], "\(first.output)\n\(first.errors)")
        #expect(delivery["uploaded"] as? Int == 4)
        #expect(delivery["summary"] as? String == "platform v1 (4 files uploaded)")

        // Exactly the manifest's files, byte for byte, with the manifest and the marker;
        // no temporary name left.
        let names = ["MANIFEST.json", "RECKON_20241216.done", "RECKON_ALERT_20241216.csv", "RECKON_RESULT_20241216.csv"]
        #expect(try FileManager.default.contentsOfDirectory(atPath: delivered).sorted() == names)
        for name in names { #expect(try bytes(delivered + "/" + name) == bytes(outbox + "/" + name), "\(name)") }
        // The marker went last.
        let uploaded = try #require((delivery["partners"] as? [[String: Any]])?.first?["uploaded"] as? [String])
        #expect(uploaded == ["RECKON_ALERT_20241216.csv", "RECKON_RESULT_20241216.csv", "MANIFEST.json", "RECKON_20241216.done"]
                    .map { delivered + "/" + $0 })
        #expect(try listed(config, fixture.scratch) == ["RECKON_ALERT_20241216.csv v1": delivered + "/RECKON_ALERT_20241216.csv",
                                                         "RECKON_RESULT_20241216.csv v1": delivered + "/RECKON_RESULT_20241216.csv"])

        // The same day again: the set is unchanged and already delivered, nothing is uploaded.
        let times = try names.map { try modified(delivered + "/" + $0) }
        let again = try reckon(["batch", "--date", "2024-12-16", "--json", "--config", config], scratch: fixture.scratch)
        let againDelivery = try #require(try json(again.output)["delivery"] as? [String: Any])
        #expect(againDelivery["uploaded"] as? Int == 0)
        #expect(againDelivery["summary"] as? String == "platform v1 (already delivered)")
        #expect(try names.map { try modified(delivered + "/" + $0) } == times)

        // The platform corrects its repayments: the set's new version is delivered and recorded.
        let file = fixture.remote + "/PLAT_REPAY_20241216.csv"
        let corrected = try String(contentsOfFile: file, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false)
            .filter { !$0.hasPrefix("R20241216000020,") }.joined(separator: "\n")
            .replacingOccurrences(of: "#TOTAL,20,125183.57,", with: "#TOTAL,19,120545.97,")
        try corrected.write(toFile: file, atomically: true, encoding: .utf8)
        let third = try reckon(["batch", "--date", "2024-12-16", "--config", config], scratch: fixture.scratch)
        #expect(third.output.contains("delivery: platform v2 (4 files uploaded)\n"), "\(third.output)\n\(third.errors)")
        // The first version's marker was withdrawn before the new files went up.
        let log = third.errors.components(separatedBy: "\n")
        let withdrawn = try #require(log.firstIndex { $0.hasSuffix(": removed \(delivered)/RECKON_20241216.done") }, "\(third.errors)")
        let firstUpload = try #require(log.firstIndex { $0.contains(": uploaded ") }, "\(third.errors)")
        #expect(withdrawn < firstUpload)
        for name in names { #expect(try bytes(delivered + "/" + name) == bytes(outbox + "/" + name), "\(name)") }
        let records = try listed(config, fixture.scratch)
        #expect(records["RECKON_RESULT_20241216.csv v2"] == (delivered + "/RECKON_RESULT_20241216.csv"))
        #expect(records["RECKON_ALERT_20241216.csv v2"] == (delivered + "/RECKON_ALERT_20241216.csv"))
        #expect(records["RECKON_RESULT_20241216.csv v1"] == (delivered + "/RECKON_RESULT_20241216.csv"))
    }

    @Test func deliverWithoutAnSFTPDropIsRefusedAtLoad() throws {
        let scratch = try Scratch()
        let config = try SFTPBatchTests().workspace(scratch, "local", platformDrop: "    drop: inbox/platform\n")
        let yaml = try String(contentsOfFile: config, encoding: .utf8)
        try yaml.replacingOccurrences(of: "      done: \"RECKON_{yyyyMMdd}.done\"\n\n  bank:",
                                      with: "      done: \"RECKON_{yyyyMMdd}.done\"\n      deliver: {path: out}\n\n  bank:")
            .write(toFile: config, atomically: true, encoding: .utf8)
        let run = try reckon(["batch", "--date", "2024-12-16", "--config", config], scratch: scratch)
        #expect(run.status == 2)
        #expect(run.errors.contains("deliver: needs the partner's drop to be an SFTP drop (drop: {folder: …, sftp: {…}})"), "\(run.errors)")
    }
}
