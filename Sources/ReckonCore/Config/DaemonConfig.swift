import Foundation

/// How `reckon run` (the daemon) runs (`daemon:` in reckon.yaml): how often it looks at the
/// drops and its scheduled work, and where it serves /healthz and /metrics, if anywhere.
public struct DaemonConfig: Sendable, Equatable {
    /// Seconds between two looks (ticks): the drops, SFTP, due tasks, deadlines. A file that
    /// comes complete while the daemon is idle waits up to this long to be seen; whole
    /// seconds or down to a tenth (`0.5`).
    public var pollSeconds: Double
    /// Where /healthz and /metrics are served; nil: no server.
    public var http: HTTPEndpoint?

    public struct HTTPEndpoint: Sendable, Equatable {
        /// A loopback address (`127.0.0.1`, `::1`, `localhost`): refused otherwise at load.
        public let address: String
        public let port: Int

        public init(address: String, port: Int) {
            self.address = address
            self.port = port
        }
    }

    public static let defaultPollSeconds: Double = 5
    /// The shortest look interval: below it a hundred partners' listings would keep the
    /// servers busy for nothing.
    public static let minimumPollSeconds = 0.1

    public init(pollSeconds: Double = DaemonConfig.defaultPollSeconds, http: HTTPEndpoint? = nil) {
        self.pollSeconds = pollSeconds
        self.http = http
    }

    /// Seconds as reckon.yaml writes them: `5`, `0.5`.
    public static func secondsText(_ seconds: Double) -> String {
        seconds == seconds.rounded() && abs(seconds) < 1e15 ? String(Int(seconds)) : String(seconds)
    }

    /// Whether an address stays on this machine: 127.0.0.0/8, ::1 or localhost
    /// (``MonitoringAddress``, the check the server makes again before it binds).
    public static func isLoopback(_ address: String) -> Bool {
        MonitoringAddress.isLoopback(address)
    }
}

extension DaemonConfig {
    /// The `daemon:` mapping, checked: `poll_seconds` 0.1 to 3,600; `http:` a loopback address
    /// and a port (the metrics endpoint is never exposed beyond the machine by reckon itself).
    static func load(_ node: SpecNode) throws(SpecError) -> DaemonConfig {
        let map = try node.mapping(allowed: ["poll_seconds", "http"])
        var config = DaemonConfig()
        if let poll = map["poll_seconds"] { config.pollSeconds = try poll.seconds(in: minimumPollSeconds...3600) }
        if let httpNode = map["http"] {
            let http = try httpNode.mapping(allowed: ["address", "port"])
            let addressNode = try http.required("address")
            let address = try addressNode.string()
            guard isLoopback(address) else {
                throw addressNode.error("'\(address)' is not a loopback address; /healthz and /metrics are served on "
                                        + "127.0.0.1, ::1 or localhost only (put a proxy in front to reach them from elsewhere)")
            }
            config.http = HTTPEndpoint(address: address, port: try http.required("port").int(in: 1...65_535))
        }
        return config
    }
}
