import Foundation
import Testing

/// `reckon run` with a partner's SFTP drop (issue 12, items 4 and 9): the daemon fetches the
/// platform's files from the test server, posts them with the day's other files, settles
/// the day and delivers the platform's set to its server, ending with the ledger
/// `reckon batch` makes of the same files read from a local drop.
@Suite("reckon run with an SFTP drop", .serialized, .enabled(if: TestSSHServer.unavailable == nil, "sshd is not installed"))
struct SFTPDaemonTests {
    @Test func theDaemonFetchesOverSFTPPostsSettlesAndDeliversAsTheBatchDoes() throws {
        let fixture = try SFTPFixture()
        let delivered = try fixture.scratch.folder("to-platform")
        let overSFTP = try SFTPDeliveryTests().deliveringWorkspace(fixture, to: delivered)
        let local = try SFTPBatchTests().workspace(fixture.scratch, "by-folder", platformDrop: "    drop: inbox/platform\n")

        let daemon = try reckon(["run", "--date", "2024-12-16", "--settle", "--exit-when-idle", "--config", overSFTP], scratch: fixture.scratch)
        #expect(daemon.status == 0, "\(daemon.errors)")
        #expect(daemon.errors.contains("sftp 127.0.0.1:\(fixture.server.port): downloaded \(fixture.remote)/PLAT_REPAY_20241216.csv"),
                "\(daemon.errors)")
        #expect(daemon.errors.contains("file=\(fixture.local)/PLAT_REPAY_20241216.csv file_type=repayments partner=platform [ReckonDaemon] file posted"),
                "\(daemon.errors)")
        #expect(try fixture.localNames() == ["PLAT_LOAN_20241216.csv", "PLAT_REPAY_20241216.csv"])
        // One login to the platform's server for all the daemon's looks (issue 12, item 10):
        // the connection is kept from tick to tick (four here: ingest, plan, settle, idle),
        // not made again at each. (The deliver step's upload connects on its own.)
        #expect(daemon.errors.components(separatedBy: "[ReckonDaemon] run started").count - 1 == 3, "\(daemon.errors)")
        #expect(daemon.errors.components(separatedBy: "[reckon] sftp 127.0.0.1:\(fixture.server.port): connected as ").count - 1 == 1,
                "\(daemon.errors)")

        // Settled and delivered once: the platform's set on its server, byte for byte.
        #expect(daemon.errors.components(separatedBy: "steps=settle,deliver").count == 2, "\(daemon.errors)")
        let outbox = URL(fileURLWithPath: overSFTP).deletingLastPathComponent().path + "/outbox/platform/2024-12-16"
        let names = ["MANIFEST.json", "RECKON_20241216.done", "RECKON_ALERT_20241216.csv", "RECKON_RESULT_20241216.csv"]
        #expect(try FileManager.default.contentsOfDirectory(atPath: delivered).sorted() == names)
        for name in names {
            #expect(FileManager.default.contents(atPath: delivered + "/" + name) == FileManager.default.contents(atPath: outbox + "/" + name),
                    "\(name)")
        }

        let batch = try reckon(["batch", "--date", "2024-12-16", "--config", local], scratch: fixture.scratch)
        #expect(batch.status == 0, "\(batch.output)")
        let exportByDaemon = try reckon(["ledger", "export", "--config", overSFTP], scratch: fixture.scratch)
        let exportByBatch = try reckon(["ledger", "export", "--config", local], scratch: fixture.scratch)
        #expect(exportByDaemon.output.contains("PLAT_REPAY_20241216.csv"))
        #expect(exportByDaemon.output == exportByBatch.output)
    }
}

extension SFTPDaemonTests {
    /// A day no file comes on: the refused host key is still an alert of the day, recorded
    /// once (a collect-only run), not at every tick.
    @Test func aRefusedHostKeyIsAnAlertEvenWhenNoFileComes() throws {
        let fixture = try SFTPFixture()
        let impostor = try KeyPair(in: fixture.scratch.folder("other"), name: "other_host")
        let wrongPin = try fixture.server.knownHosts(pinning: impostor)
        let config = try SFTPBatchTests().workspace(fixture.scratch, "sftp", platformDrop: try fixture.platformDrop(knownHosts: wrongPin))
        let daemon = try reckon(["run", "--date", "2024-12-17", "--exit-when-idle", "--config", config], scratch: fixture.scratch)
        #expect(daemon.status == 0, "\(daemon.errors)")
        #expect(daemon.errors.components(separatedBy: "steps=collect [ReckonDaemon] run started").count == 2, "\(daemon.errors)")
        let listed = try reckon(["alerts", "list", "--date", "2024-12-17", "--code", "sftp_host_key_refused", "--json",
                                 "--config", config], scratch: fixture.scratch)
        let alerts = (try JSONSerialization.jsonObject(with: Data(listed.output.utf8)) as? [String: Any])?["alerts"] as? [[String: Any]]
        #expect(alerts?.count == 1 && alerts?.first?["subject"] as? String == "platform/sftp", "\(listed.output)")
        #expect((alerts?.first?["message"] as? String)?.contains(try impostor.fingerprint) == true, "\(listed.output)")
    }
}
