import Foundation
import ReckonFiles

/// The partners' SFTP clients kept from one fetch to the next, one per partner, each with
/// its connection open: the daemon fetches every few seconds, and connecting (key exchange,
/// host-key check, login) costs more than listing a quiet drop. A kept connection is made
/// again when it broke, the server closed it, or it sat idle past its idle deadline
/// (``SFTPClient``); a partner whose settings, known_hosts file or key file change gets a
/// new client (a pin withdrawn takes effect at the next look, not when the connection ends). Each partner's
/// ``StabilityWatch`` is kept too, so the stable and trailer rules are judged over
/// successive fetches rather than by waiting inside one (``RemoteReadiness/decideOverLooks``).
/// ``closeAll()`` ends the connections (the daemon's stop). Used by one thread at a time,
/// as its clients are; the lock only guards the tables.
public final class SFTPSessions: @unchecked Sendable {
    private let lock = NSLock()
    private var clients: [String: (settings: SFTPSettings, files: [FileStamp?], client: SFTPClient)] = [:]
    private var watches: [String: StabilityWatch] = [:]
    private var quietFolders: [String: QuietFolder] = [:]

    public init() {}

    /// The partner's kept client, or a new one `make` gives (kept from now on). A kept
    /// connection was checked against known_hosts and logged in with the key when it was
    /// made: when either file has changed since (a pin withdrawn or replaced, a key
    /// rotated), the client is closed and a new one connects, checked anew.
    public func client(for partner: String, settings: SFTPSettings, make: () -> SFTPClient) -> SFTPClient {
        let files = Self.stamps(settings)
        return lock.withLock {
            if let kept = clients[partner], kept.settings == settings, kept.files == files { return kept.client }
            clients[partner]?.client.close()
            // Another server or folder, perhaps: what was known of the old one's folder goes.
            quietFolders[partner] = nil
            let made = make()
            clients[partner] = (settings, files, made)
            return made
        }
    }

    /// What says a file is unchanged: inode, size and modification time.
    struct FileStamp: Equatable {
        let inode: UInt64
        let sizeBytes: Int64
        let modifiedNanoseconds: Int64
    }

    private static func stamps(_ settings: SFTPSettings) -> [FileStamp?] {
        [settings.knownHostsPath, settings.credentials.privateKeyPath].map { path in
            var status = stat()
            guard stat(path, &status) == 0 else { return nil }
            return FileStamp(inode: UInt64(status.st_ino), sizeBytes: Int64(status.st_size),
                             modifiedNanoseconds: Int64(status.st_mtim.tv_sec) * 1_000_000_000 + Int64(status.st_mtim.tv_nsec))
        }
    }

    /// `body` with the partner's watch of its remote files, kept for the next fetch.
    public func withWatch<T>(for partner: String, _ body: (inout StabilityWatch) throws(SFTPError) -> T) throws(SFTPError) -> T {
        var watch = lock.withLock { watches[partner] ?? StabilityWatch() }
        defer { lock.withLock { watches[partner] = watch } }
        return try body(&watch)
    }

    /// What the last looks learnt of the partner's folder (``QuietFolder``).
    public func quietFolder(for partner: String) -> QuietFolder {
        lock.withLock { quietFolders[partner] ?? QuietFolder() }
    }

    /// Keeps what a look learnt of the partner's folder, once the look has done all it had to.
    public func keep(_ folder: QuietFolder, for partner: String) {
        lock.withLock { quietFolders[partner] = folder }
    }

    /// How many partners have a client kept.
    public var count: Int { lock.withLock { clients.count } }

    /// Closes every kept connection and forgets the clients.
    public func closeAll() {
        let all = lock.withLock {
            defer { clients = [:] }
            return clients.values.map(\.client)
        }
        for client in all { client.close() }
    }
}
