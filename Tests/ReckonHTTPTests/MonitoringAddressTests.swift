import ReckonCore
import ReckonHTTP
import Testing

@Suite struct MonitoringAddressTests {
    @Test(arguments: [
        ("127.0.0.1", "127.0.0.1"), ("127.255.10.9", "127.255.10.9"), ("localhost", "localhost"),
        ("LocalHost", "LocalHost"), ("::1", "::1"), ("[::1]", "::1"), ("0:0:0:0:0:0:0:1", "0:0:0:0:0:0:0:1"),
    ])
    func loopbackAddressesAreAccepted(address: String, host: String) throws {
        let checked = try MonitoringAddress.validate(address: address, port: 9464)
        #expect(checked.host == host)
        #expect(checked.port == 9464)
    }

    @Test(arguments: [
        "0.0.0.0", "192.168.1.10", "10.0.0.1", "128.0.0.1", "126.255.255.255", "::", "::2",
        "::ffff:127.0.0.1", "example.com", "127.0.0.1.example.com", "localhost.example.com", "",
        " 127.0.0.1", "127.1", "[127.0.0.1]",
    ])
    func otherAddressesAreRefused(address: String) {
        #expect(!MonitoringAddress.isLoopback(address))
        #expect(throws: MonitoringAddressError.notLoopback(address: address)) {
            try MonitoringAddress.validate(address: address, port: 9464)
        }
    }

    @Test func theRefusalSaysWhy() {
        #expect(MonitoringAddressError.notLoopback(address: "0.0.0.0").description
            == #"daemon.http.address "0.0.0.0" is not a loopback address: /healthz and /metrics are served on 127.0.0.0/8, ::1 or localhost only"#)
    }

    @Test func portsOutsideTheTCPRangeAreRefused() {
        #expect(throws: MonitoringAddressError.portOutOfRange(port: 65_536)) {
            try MonitoringAddress.validate(address: "127.0.0.1", port: 65_536)
        }
        #expect(throws: MonitoringAddressError.portOutOfRange(port: -1)) {
            try MonitoringAddress.validate(address: "127.0.0.1", port: -1)
        }
        #expect(MonitoringAddressError.portOutOfRange(port: 65_536).description
            == "daemon.http.port 65536 is out of range: 0 to 65535 (0 picks a free port)")
        #expect((try? MonitoringAddress.validate(address: "127.0.0.1", port: 0)) != nil)
    }
}
