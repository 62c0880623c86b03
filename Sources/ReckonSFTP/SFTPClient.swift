import CLibSSH2
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A file fetched from an SFTP drop into a local folder.
public struct DownloadedFile: Sendable, Equatable {
    public let remotePath: String
    public let localPath: String
    public let sizeBytes: Int64

    public init(remotePath: String, localPath: String, sizeBytes: Int64) {
        self.remotePath = remotePath
        self.localPath = localPath
        self.sizeBytes = sizeBytes
    }
}

/// A file delivered to an SFTP drop.
public struct UploadedFile: Sendable, Equatable {
    public let remotePath: String
    public let sizeBytes: Int64

    public init(remotePath: String, sizeBytes: Int64) {
        self.remotePath = remotePath
        self.sizeBytes = sizeBytes
    }
}

/// One partner's SFTP server, reached safely: the host key must be the one known_hosts pins,
/// the login is by key, every wait has a deadline, and files move whole — a download is
/// renamed into the local folder only once complete and of the server's size, an upload
/// is renamed on the server only once complete and of the local size. One connection is
/// kept between requests (made again when it broke, the server closed it, or it sat idle
/// past the idle deadline); ``SFTPSessions`` keeps a client per partner between fetches.
/// Not for concurrent use: one client per thread. Retrying is the caller's, through a
/// ``RetryPolicy``; every error says whether it is worth it.
public final class SFTPClient {
    public let settings: SFTPSettings
    /// Bytes per read or write request; the one buffer a transfer uses.
    public let chunkBytes: Int
    private let environment: [String: String]
    private let clock: MonotonicClock
    private let log: (String) -> Void
    private var connection: SFTPConnection?
    private var lastUsedNanoseconds: UInt64 = 0

    /// `environment` is where an `env:` passphrase is looked up (the process's by default);
    /// `log` hears one line per connection, transfer and failure (never a secret).
    public init(settings: SFTPSettings, chunkBytes: Int = 256 * 1024,
                environment: [String: String] = ProcessInfo.processInfo.environment,
                clock: MonotonicClock = .system, log: @escaping (String) -> Void = { _ in }) {
        self.settings = settings
        self.chunkBytes = max(4096, chunkBytes)
        self.environment = environment
        self.clock = clock
        self.log = log
    }

    deinit { connection?.close() }

    /// Closes the connection (the next request makes a new one).
    public func close() {
        connection?.close()
        connection = nil
    }

    // MARK: Requests

    /// The folder's regular files (names checked; refused names reported apart).
    public func list(folder: String) throws(SFTPError) -> RemoteListing {
        try using { connection throws(SFTPError) in try connection.list(folder: folder) }
    }

    /// The folder's modification time, nil when the server gives none (``QuietFolder``).
    public func folderStamp(_ folder: String) throws(SFTPError) -> QuietFolder.Stamp? {
        try using { connection throws(SFTPError) in try connection.folderStamp(folder.isEmpty ? "." : folder) }
    }

    /// Fetches `folder/name` into `localFolder/name`: streamed through one buffer to a
    /// hidden temporary name, its size checked against the server's, then flushed and
    /// renamed into place. Nothing is left at the final name unless the file is whole.
    /// `afterChunk` hears the bytes received so far after each chunk written.
    public func download(_ name: String, from folder: String, into localFolder: String,
                         afterChunk: ((Int64) -> Void)? = nil) throws(SFTPError) -> DownloadedFile {
        let name = try RemoteName.checked(name)
        let remotePath = RemotePath.join(folder, name)
        let chunkBytes = self.chunkBytes
        let file = try using { connection throws(SFTPError) -> DownloadedFile in
            let handle = try connection.open(remotePath, flags: LIBSSH2_FXF_READ, doing: "opening")
            defer { connection.closeHandle(handle) }
            var attributes = LIBSSH2_SFTP_ATTRIBUTES()
            let status = try connection.call("reading the size of") { libssh2_sftp_fstat_ex(handle, &attributes, 0) }
            guard status == 0 else { throw connection.failure(status, doing: "reading the size of", path: remotePath) }
            let expectedBytes = Int64(attributes.filesize)
            let local = try LocalDownload(folder: localFolder, name: name)
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: chunkBytes, alignment: 16)
            defer { buffer.deallocate() }
            let start = buffer.baseAddress!.assumingMemoryBound(to: CChar.self)
            while true {
                let count = try connection.callCount("downloading \(remotePath)") { libssh2_sftp_read(handle, start, chunkBytes) }
                if count == 0 { break }
                guard count > 0 else { throw connection.failure(Int32(count), doing: "downloading", path: remotePath) }
                try local.write(UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
                afterChunk?(local.sizeBytes)
            }
            guard local.sizeBytes == expectedBytes else {
                throw .sizeMismatch(endpoint: connection.endpoint.description, path: remotePath,
                                    expectedBytes: expectedBytes, transferredBytes: local.sizeBytes)
            }
            let modified = attributes.flags & UInt(LIBSSH2_SFTP_ATTR_ACMODTIME) != 0 ? Int64(attributes.mtime) : nil
            try local.commit(modifiedSeconds: modified)
            return DownloadedFile(remotePath: remotePath, localPath: local.path, sizeBytes: local.sizeBytes)
        }
        log("sftp \(settings.endpoint): downloaded \(remotePath) (\(file.sizeBytes) bytes) to \(file.localPath)")
        return file
    }

    /// Delivers `localPath` as `folder/name`: written to a hidden temporary name on the
    /// server (`.NAME.partial`), flushed, its size checked, then renamed over the name. A
    /// server that refuses to rename onto an existing file (SFTP v3, OpenSSH's among them)
    /// gets the earlier file moved aside first and removed after, so the name holds the
    /// old file or the new one, never part of one. `afterChunk` hears the bytes sent so far.
    public func upload(_ localPath: String, to folder: String, as name: String,
                       afterChunk: ((Int64) -> Void)? = nil) throws(SFTPError) -> UploadedFile {
        let name = try RemoteName.checked(name)
        let target = RemotePath.join(folder, name)
        let temporary = RemotePath.join(folder, "." + name + ".partial")
        let source = Glibc.open(localPath, O_RDONLY | O_CLOEXEC)
        guard source >= 0 else { throw .localFailed(path: localPath, reason: "opening failed: \(String(cString: strerror(errno)))") }
        defer { Glibc.close(source) }
        let chunkBytes = self.chunkBytes
        let sizeBytes = try using { connection throws(SFTPError) -> Int64 in
            do throws(SFTPError) {
                let sent = try Self.send(source, path: localPath, to: temporary, over: connection, chunkBytes: chunkBytes, afterChunk: afterChunk)
                guard let written = try connection.stat(temporary), written.sizeBytes == sent else {
                    throw SFTPError.sizeMismatch(endpoint: connection.endpoint.description, path: temporary, expectedBytes: sent,
                                                 transferredBytes: (try? connection.stat(temporary))??.sizeBytes ?? 0)
                }
                try Self.replace(target, with: temporary, over: connection)
                return sent
            } catch {
                if connection.isUsable { try? connection.remove(temporary) }
                throw error
            }
        }
        log("sftp \(settings.endpoint): uploaded \(localPath) (\(sizeBytes) bytes) as \(target)")
        return UploadedFile(remotePath: target, sizeBytes: sizeBytes)
    }

    /// Makes `path` and the folders above it that are missing, as `mkdir -p` does (the
    /// deliver step's remote folder). The path is checked first: no `..` part, no control
    /// character or backslash; an existing file where a folder should be is an error.
    public func makeFolders(_ path: String) throws(SFTPError) {
        let parts = try RemotePath.checkedFolder(path)
        guard !parts.isEmpty else { return }
        try using { connection throws(SFTPError) in
            var current = path.hasPrefix("/") ? "" : "."
            for part in parts {
                current = current == "." ? part : current + "/" + part
                try connection.makeFolder(current)
            }
        }
    }

    /// Removes `folder/name` when it is there; whether it was. The deliver step withdraws a
    /// set's `.done` marker this way before the set's new version goes up, so the partner
    /// never sees a marker beside a half-replaced set.
    public func removeIfPresent(_ name: String, in folder: String) throws(SFTPError) -> Bool {
        let name = try RemoteName.checked(name)
        let path = RemotePath.join(folder, name)
        let removed = try using { connection throws(SFTPError) -> Bool in
            guard try connection.stat(path) != nil else { return false }
            try connection.remove(path)
            return true
        }
        if removed { log("sftp \(settings.endpoint): removed \(path)") }
        return removed
    }

    /// Moves a picked-up file into `folder/doneFolder/` (made when missing). A file of the
    /// same name already there (an earlier send) is kept: the new one gets the UTC time it
    /// was moved appended (`NAME.20241216T083000Z`). Returns the new remote path.
    public func moveToDone(_ name: String, in folder: String, doneFolder: String = "done") throws(SFTPError) -> String {
        let name = try RemoteName.checked(name)
        let doneFolder = try RemoteName.checked(doneFolder)
        let from = RemotePath.join(folder, name)
        let done = RemotePath.join(folder, doneFolder)
        let moved = try using { connection throws(SFTPError) -> String in
            try connection.makeFolder(done)
            let to = RemotePath.join(done, name)
            if try connection.rename(from, to: to, overwrite: false) { return to }
            guard try connection.stat(to) != nil else {
                throw connection.failure(LIBSSH2_ERROR_SFTP_PROTOCOL, doing: "moving", path: from)
            }
            let stamped = RemotePath.join(done, name + "." + Self.utcStamp())
            guard try connection.rename(from, to: stamped, overwrite: false) else {
                throw connection.failure(LIBSSH2_ERROR_SFTP_PROTOCOL, doing: "moving", path: from)
            }
            return stamped
        }
        log("sftp \(settings.endpoint): moved \(from) to \(moved)")
        return moved
    }

    // MARK: The connection

    private func using<T>(_ body: (SFTPConnection) throws(SFTPError) -> T) throws(SFTPError) -> T {
        let connection = try connected()
        defer { lastUsedNanoseconds = clock.nowNanoseconds() }
        do {
            return try body(connection)
        } catch {
            if !connection.isUsable || !error.leavesConnectionUsable {
                connection.isUsable = false
                close()
            }
            log("sftp \(settings.endpoint): \(error)")
            throw error
        }
    }

    private func connected() throws(SFTPError) -> SFTPConnection {
        if let connection {
            if connection.isUsable && clock.secondsSince(lastUsedNanoseconds) <= settings.timeouts.idleTimeoutSeconds {
                guard connection.closedByPeer else { return connection }
                log("sftp \(settings.endpoint): the server closed the connection kept open; connecting again")
                connection.isUsable = false
            }
            close()
        }
        let credentials = settings.credentials
        do {
            let passphrase = try credentials.passphrase.map { source throws(SFTPError) in try Passphrase.read(source, environment: environment) }
            let made = try SFTPConnection(settings: settings, passphrase: passphrase, clock: clock)
            log("sftp \(settings.endpoint): connected as \(credentials.user) with the key \(credentials.privateKeyPath); "
                + "its host key \(made.hostKeyFingerprint) is the one known_hosts pins")
            connection = made
            lastUsedNanoseconds = clock.nowNanoseconds()
            return made
        } catch {
            log("sftp \(settings.endpoint): \(error)")
            throw error
        }
    }

    // MARK: Upload's parts

    /// Writes the local file to a new remote file, flushed; the bytes sent.
    private static func send(_ source: Int32, path localPath: String, to remotePath: String, over connection: SFTPConnection,
                             chunkBytes: Int, afterChunk: ((Int64) -> Void)?) throws(SFTPError) -> Int64 {
        let handle = try connection.open(remotePath, flags: LIBSSH2_FXF_WRITE | LIBSSH2_FXF_CREAT | LIBSSH2_FXF_TRUNC, doing: "creating")
        var open = true
        defer { if open { connection.closeHandle(handle) } }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: chunkBytes, alignment: 16)
        defer { buffer.deallocate() }
        var sent: Int64 = 0
        while true {
            let count = Glibc.read(source, buffer.baseAddress!, chunkBytes)
            if count < 0 && errno == EINTR { continue }
            guard count >= 0 else { throw .localFailed(path: localPath, reason: "reading failed: \(String(cString: strerror(errno)))") }
            if count == 0 { break }
            var offset = 0
            while offset < count {
                let start = (buffer.baseAddress! + offset).assumingMemoryBound(to: CChar.self)
                let written = try connection.callCount("uploading \(remotePath)") { libssh2_sftp_write(handle, start, count - offset) }
                guard written > 0 else { throw connection.failure(Int32(written), doing: "writing", path: remotePath) }
                offset += written
            }
            sent += Int64(count)
            afterChunk?(sent)
        }
        // fsync@openssh.com where the server has it; a server without it is not an error.
        let flushed = try connection.call("flushing \(remotePath)") { libssh2_sftp_fsync(handle) }
        if flushed != 0 && flushed != LIBSSH2_ERROR_SFTP_PROTOCOL { throw connection.failure(flushed, doing: "flushing", path: remotePath) }
        open = false
        let closed = try connection.call("closing \(remotePath)") { libssh2_sftp_close_handle(handle) }
        guard closed == 0 else { throw connection.failure(closed, doing: "closing", path: remotePath) }
        return sent
    }

    /// Renames `temporary` over `target`, moving an existing target aside when the server
    /// will not overwrite.
    private static func replace(_ target: String, with temporary: String, over connection: SFTPConnection) throws(SFTPError) {
        let folder = (target as NSString).deletingLastPathComponent
        let aside = RemotePath.join(folder, "." + (target as NSString).lastPathComponent + ".replaced")
        if try connection.rename(temporary, to: target, overwrite: true) {
            // An earlier upload killed between its two renames left the old file aside.
            if try connection.stat(aside) != nil { try? connection.remove(aside) }
            return
        }
        guard try connection.stat(target) != nil else {
            throw connection.failure(LIBSSH2_ERROR_SFTP_PROTOCOL, doing: "renaming", path: temporary)
        }
        if try connection.stat(aside) != nil { try connection.remove(aside) }
        guard try connection.rename(target, to: aside, overwrite: false) else {
            throw connection.failure(LIBSSH2_ERROR_SFTP_PROTOCOL, doing: "moving the earlier version aside of", path: target)
        }
        guard try connection.rename(temporary, to: target, overwrite: false) else {
            let error = connection.failure(LIBSSH2_ERROR_SFTP_PROTOCOL, doing: "renaming", path: temporary)
            _ = try? connection.rename(aside, to: target, overwrite: false)
            throw error
        }
        try? connection.remove(aside)
    }

    private static func utcStamp() -> String {
        var now = time(nil)
        var parts = tm()
        gmtime_r(&now, &parts)
        return String(format: "%04d%02d%02dT%02d%02d%02dZ", parts.tm_year + 1900, parts.tm_mon + 1, parts.tm_mday,
                      parts.tm_hour, parts.tm_min, parts.tm_sec)
    }
}
