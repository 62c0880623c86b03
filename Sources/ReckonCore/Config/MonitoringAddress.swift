#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Why the monitoring endpoint's configured address was refused.
public enum MonitoringAddressError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Anything but 127.0.0.0/8, ::1 or localhost: /healthz and /metrics carry no
    /// authentication, so they are never offered beyond the machine.
    case notLoopback(address: String)
    case portOutOfRange(port: Int)

    public var description: String {
        switch self {
        case .notLoopback(let address):
            return "daemon.http.address \"\(address)\" is not a loopback address: /healthz and /metrics "
                + "are served on 127.0.0.0/8, ::1 or localhost only"
        case .portOutOfRange(let port):
            return "daemon.http.port \(port) is out of range: 0 to 65535 (0 picks a free port)"
        }
    }
}

/// A loopback address and port the monitoring endpoint may bind, checked.
public struct MonitoringAddress: Sendable, Equatable {
    /// The host to bind: the configured address, an IPv6 one without its brackets.
    public let host: String
    public let port: Int

    /// Checks `daemon: {http: {address, port}}` (the daemon's configuration calls it at load;
    /// `MonitoringServer` calls it again before binding).
    public static func validate(address: String, port: Int) throws(MonitoringAddressError) -> MonitoringAddress {
        guard let host = loopbackHost(address) else { throw .notLoopback(address: address) }
        guard (0...65_535).contains(port) else { throw .portOutOfRange(port: port) }
        return MonitoringAddress(host: host, port: port)
    }

    /// Whether `address` is `localhost`, an IPv4 address in 127.0.0.0/8 (dotted quad) or the
    /// IPv6 loopback `::1` (any spelling, brackets allowed).
    public static func isLoopback(_ address: String) -> Bool {
        loopbackHost(address) != nil
    }

    private static func loopbackHost(_ address: String) -> String? {
        if address.lowercased() == "localhost" { return address }
        var v4 = in_addr()
        if inet_pton(AF_INET, address, &v4) == 1 {
            // s_addr is in network byte order: its first byte in memory is the first octet.
            let firstOctet = withUnsafeBytes(of: &v4) { $0[0] }
            return firstOctet == 127 ? address : nil
        }
        let unbracketed = address.hasPrefix("[") && address.hasSuffix("]")
            ? String(address.dropFirst().dropLast()) : address
        var v6 = in6_addr()
        if inet_pton(AF_INET6, unbracketed, &v6) == 1 {
            let isLoopback = withUnsafeBytes(of: &v6) { bytes in
                bytes.prefix(15).allSatisfy { $0 == 0 } && bytes[15] == 1
            }
            return isLoopback ? unbracketed : nil
        }
        return nil
    }
}
