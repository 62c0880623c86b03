import Foundation
import ReckonCore
import Testing

/// `daemon:` in reckon.yaml (issue 12, items 4 and 7): the poll interval and the loopback
/// address /healthz and /metrics are served on, checked at load.
@Suite("The daemon's configuration")
struct DaemonConfigTests {
    func config(_ daemon: String) throws -> ReckonConfig {
        try ConfigLoader.load(yaml: """
            partners:
              platform:
                role: platform
            \(daemon)
            """, origin: "/srv/reckon/reckon.yaml")
    }

    func problem(_ daemon: String) -> String? {
        do {
            _ = try config(daemon)
            return nil
        } catch {
            return "\(error)"
        }
    }

    @Test func withoutADaemonKeyItPollsEveryFiveSecondsAndServesNothing() throws {
        #expect(try config("").daemon == DaemonConfig(pollSeconds: 5, http: nil))
    }

    @Test func thePollIntervalAndTheLoopbackAddressAreRead() throws {
        let loaded = try config("daemon: {poll_seconds: 2, http: {address: 127.0.0.1, port: 9464}}").daemon
        #expect(loaded == DaemonConfig(pollSeconds: 2, http: .init(address: "127.0.0.1", port: 9464)))
        #expect(try config("daemon: {poll_seconds: 0.5}").daemon.pollSeconds == 0.5)
        #expect(try config("daemon: {poll_seconds: 0.25}").daemon.pollSeconds == 0.25)
        #expect(DaemonConfig.secondsText(0.5) == "0.5" && DaemonConfig.secondsText(5) == "5")
        #expect(try config("daemon: {http: {address: '::1', port: 9000}}").daemon.http == .init(address: "::1", port: 9000))
        #expect(try config("daemon: {http: {address: localhost, port: 1}}").daemon.http?.address == "localhost")
    }

    @Test func aNonLoopbackAddressIsRefusedAtLoad() {
        #expect(problem("daemon: {http: {address: 0.0.0.0, port: 9464}}") == "/srv/reckon/reckon.yaml:4: daemon.http.address: "
                + "'0.0.0.0' is not a loopback address; /healthz and /metrics are served on 127.0.0.1, ::1 or localhost only "
                + "(put a proxy in front to reach them from elsewhere)")
        #expect(problem("daemon: {http: {address: 10.1.2.3, port: 9464}}")?.contains("'10.1.2.3' is not a loopback address") == true)
        #expect(problem("daemon: {http: {address: 127.0.0.256, port: 9464}}")?.contains("is not a loopback address") == true)
        #expect(problem("daemon: {http: {address: 127.example.com, port: 9464}}")?.contains("is not a loopback address") == true)
    }

    @Test func outOfRangeOrUnknownSettingsAreRefusedNamingTheirKey() {
        #expect(problem("daemon: {poll_seconds: 0}")?.contains("daemon.poll_seconds") == true)
        #expect(problem("daemon: {poll_seconds: 3601}")?.contains("daemon.poll_seconds") == true)
        // Down to a tenth of a second, at most three decimals, written as a number.
        #expect(problem("daemon: {poll_seconds: 0.05}")?.contains("0.05 is out of range (0.1…3600)") == true)
        #expect(problem("daemon: {poll_seconds: 0.0001}")?.contains("at most three decimals") == true)
        #expect(problem("daemon: {poll_seconds: 1e1}")?.contains("expected a number of seconds") == true)
        #expect(problem("daemon: {poll_seconds: .5}")?.contains("expected a number of seconds") == true)
        #expect(problem("daemon: {poll_seconds: -1}")?.contains("expected a number of seconds") == true)
        #expect(problem("daemon: {http: {address: 127.0.0.1, port: 70000}}")?.contains("daemon.http.port") == true)
        #expect(problem("daemon: {http: {address: 127.0.0.1}}")?.contains("port") == true)
        #expect(problem("daemon: {poll: 5}")?.contains("poll") == true)
    }

    @Test func loopbackAddresses() {
        for address in ["127.0.0.1", "127.1.2.3", "::1", "[::1]", "localhost"] { #expect(DaemonConfig.isLoopback(address), "\(address)") }
        for address in ["0.0.0.0", "192.168.1.1", "::", "127.0.0", "127.0.0.1.5", "", "local host"] {
            #expect(!DaemonConfig.isLoopback(address), "\(address)")
        }
    }
}
