import Testing
@testable import ReckonSFTP

@Suite("The SFTP connection's socket", .enabled(if: TestSSHServer.unavailable == nil, "sshd is not installed"))
struct SFTPSocketTests {
    /// SFTP pipelines small requests (a download's reads); with Nagle's algorithm each one
    /// sent while another was unanswered waited for the server's delayed ACK, up to 40 ms:
    /// a 2 MB download on loopback took 26 to 107 ms (60 at the median) instead of about 20
    /// (issue 12, item 10).
    @Test func requestsAreSentAtOnceNotHeldForTheServersAcknowledgement() throws {
        let fixture = try SFTPFixture()
        let connection = try SFTPConnection(settings: try fixture.settings(), passphrase: nil, clock: .system)
        defer { connection.close() }
        #expect(connection.sendsWithoutDelay)
    }
}
