import Foundation
import Logging
import Prometheus
import ReckonHTTP
import ServiceLifecycle
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// A wall clock the test sets by hand.
final class TestClock: @unchecked Sendable {
    private let lock = NSLock()
    private var current: Date

    init(_ start: Date) { current = start }

    var now: Date {
        get { lock.withLock { current } }
        set { lock.withLock { current = newValue } }
    }
}

/// 2026-12-01T02:00:00Z.
let tickTime = Date(timeIntervalSince1970: 1_796_090_400)

/// An HTTP response as read off the socket.
struct HTTPReply: Sendable {
    let statusCode: Int
    /// Header names lowercased.
    let headers: [String: String]
    let body: String
}

enum PlainHTTPError: Error, CustomStringConvertible {
    case socket(String, Int32)
    case malformed(String)

    var description: String {
        switch self {
        case .socket(let call, let code): return "\(call) failed: \(String(cString: strerror(code)))"
        case .malformed(let text): return "malformed HTTP response: \(text)"
        }
    }
}

/// GET over a plain TCP socket to 127.0.0.1 (no HTTP client dependency). The blocking I/O runs
/// on a thread of its own, never on the concurrency pool the server's handlers need.
func httpGet(port: Int, path: String) async throws -> HTTPReply {
    try await withCheckedThrowingContinuation { continuation in
        Thread { continuation.resume(with: Result { try blockingGet(port: port, path: path) }) }.start()
    }
}

/// Runs `body` on a thread of its own while every thread of Swift's cooperative pool (one per
/// core) is held by a blocked task, then lets them go. The blockers give up 60 s after all have
/// started (or 300 s after their own start, should the pool never free enough threads), so a
/// test elsewhere that waits on the pool is delayed, never deadlocked; if one gave up before
/// `body` ended, `body` may have had the pool after all, and this throws.
func withCooperativePoolBlocked<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    let width = ProcessInfo.processInfo.activeProcessorCount
    return try await withCheckedThrowingContinuation { continuation in
        Thread {
            let started = DispatchSemaphore(value: 0)
            let release = DispatchSemaphore(value: 0)
            let ended = DispatchSemaphore(value: 0)
            let blockers = BlockerState()
            for _ in 0..<width {
                Task.detached {
                    started.signal()
                    let since = Date()
                    while release.wait(timeout: .now() + 1) == .timedOut {
                        if blockers.shouldGiveUp(startedAlone: since) {
                            blockers.gaveUp()
                            break
                        }
                    }
                    ended.signal()
                }
            }
            for _ in 0..<width { started.wait() }
            blockers.allStarted()
            let result = Result { try body() }
            for _ in 0..<width { release.signal() }
            for _ in 0..<width { ended.wait() }
            if blockers.gaveUpCount > 0 {
                continuation.resume(throwing: PoolBlockError.blockersGaveUp(blockers.gaveUpCount))
            } else {
                continuation.resume(with: result)
            }
        }.start()
    }
}

enum PoolBlockError: Error, CustomStringConvertible {
    case blockersGaveUp(Int)

    var description: String {
        if case .blockersGaveUp(let count) = self {
            return "\(count) pool blocker(s) gave up after 60 s before the request was answered"
        }
        return ""
    }
}

private final class BlockerState: @unchecked Sendable {
    private let lock = NSLock()
    private var allStartedAt: Date?
    private var gaveUps = 0

    var gaveUpCount: Int { lock.withLock { gaveUps } }
    func allStarted() { lock.withLock { allStartedAt = Date() } }
    func gaveUp() { lock.withLock { gaveUps += 1 } }

    func shouldGiveUp(startedAlone: Date) -> Bool {
        lock.withLock {
            if let allStartedAt { return Date().timeIntervalSince(allStartedAt) > 60 }
            return Date().timeIntervalSince(startedAlone) > 300
        }
    }
}

/// GET on the calling thread (see `httpGet`).
func blockingHTTPGet(port: Int, path: String) throws -> HTTPReply {
    try blockingGet(port: port, path: path)
}

/// Whether anything accepts connections on 127.0.0.1:`port`.
func isListening(port: Int) -> Bool {
    guard let fd = try? connectedSocket(port: port) else { return false }
    close(fd)
    return true
}

private func connectedSocket(port: Int) throws -> Int32 {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw PlainHTTPError.socket("socket", errno) }
    // A safety net against a server that never answers, not a timed assertion.
    var timeout = timeval(tv_sec: 60, tv_usec: 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    let result = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
        }
    }
    guard result == 0 else {
        let code = errno
        close(fd)
        throw PlainHTTPError.socket("connect", code)
    }
    return fd
}

private func blockingGet(port: Int, path: String) throws -> HTTPReply {
    let fd = try connectedSocket(port: port)
    defer { close(fd) }
    let request = Array("GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".utf8)
    guard send(fd, request, request.count, 0) == request.count else { throw PlainHTTPError.socket("send", errno) }
    var received: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65_536)
    while true {
        let count = recv(fd, &chunk, chunk.count, 0)
        if count < 0 { throw PlainHTTPError.socket("recv", errno) }
        if count == 0 { break }
        received += chunk[0..<count]
        if let reply = try? parse(received), reply.body.utf8.count >= contentLength(reply) { return reply }
    }
    return try parse(received)
}

private func contentLength(_ reply: HTTPReply) -> Int {
    reply.headers["content-length"].flatMap { Int($0) } ?? Int.max
}

private func parse(_ bytes: [UInt8]) throws -> HTTPReply {
    let text = String(decoding: bytes, as: UTF8.self)
    guard let split = text.range(of: "\r\n\r\n") else { throw PlainHTTPError.malformed(text) }
    let headLines = text[..<split.lowerBound].components(separatedBy: "\r\n")
    let statusParts = headLines[0].split(separator: " ")
    guard statusParts.count >= 2, let statusCode = Int(statusParts[1]) else { throw PlainHTTPError.malformed(text) }
    var headers: [String: String] = [:]
    for line in headLines.dropFirst() {
        guard let colon = line.firstIndex(of: ":") else { continue }
        headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
    }
    return HTTPReply(statusCode: statusCode, headers: headers, body: String(text[split.upperBound...]))
}

/// Runs a `MonitoringServer` on 127.0.0.1 (a free port) inside a ServiceGroup, hands `body` the
/// bound port, then shuts the group down gracefully and waits for the server to end.
func withMonitoringServer(
    health: HealthState, registry: PrometheusCollectorRegistry,
    _ body: @Sendable (_ port: Int) async throws -> Void
) async throws {
    let logger = quietLogger()
    let (ports, portsContinuation) = AsyncStream.makeStream(of: Int.self)
    let server = MonitoringServer(
        address: "127.0.0.1", port: 0, registry: registry, health: health, logger: logger,
        onRunning: { portsContinuation.yield($0) })
    let group = ServiceGroup(services: [server], logger: logger)
    try await withThrowingTaskGroup(of: Void.self) { tasks in
        tasks.addTask {
            defer { portsContinuation.finish() }
            try await group.run()
        }
        var iterator = ports.makeAsyncIterator()
        let port = try #require(await iterator.next(), "the server never listened")
        do {
            try await body(port)
        } catch {
            await group.triggerGracefulShutdown()
            throw error
        }
        await group.triggerGracefulShutdown()
        try await tasks.waitForAll()
    }
}

/// A logger that keeps the servers' start and stop lines out of the test output.
func quietLogger() -> Logger {
    var logger = Logger(label: "reckon.http.test")
    logger.logLevel = .warning
    return logger
}
