import CLibSSH2
import Foundation
import ReckonCore

/// A regular file in a remote folder, as the server lists it.
public struct RemoteFile: Sendable, Equatable {
    public let name: String
    public let sizeBytes: Int64
    /// Seconds since 1970 as the server reports them (whole seconds in SFTP v3).
    public let modifiedSeconds: Int64

    public init(name: String, sizeBytes: Int64, modifiedSeconds: Int64) {
        self.name = name
        self.sizeBytes = sizeBytes
        self.modifiedSeconds = modifiedSeconds
    }
}

/// What a remote folder holds: its regular files with safe names, and the names refused
/// (each error names the file, escaped). Folders, links and other special files are left
/// out: a link could lead anywhere on the server.
public struct RemoteListing: Sendable, Equatable {
    /// In name order, so that a name is found by halving (a look asks for each file's
    /// marker, and a busy folder holds thousands of files).
    public private(set) var files: [RemoteFile] = []
    public var refused: [SFTPError] = []

    public init(files: [RemoteFile] = [], refused: [SFTPError] = []) {
        self.files = files.sorted { $0.name < $1.name }
        self.refused = refused
    }

    /// The files one of the patterns matches, with the business date a name carries.
    public func matching(_ pattern: FileNamePattern) -> [RemoteFile] {
        files.filter { pattern.match($0.name).matches }
    }

    public func file(named name: String) -> RemoteFile? {
        var low = 0, high = files.count
        while low < high {
            let middle = (low + high) / 2
            if files[middle].name < name { low = middle + 1 } else { high = middle }
        }
        return low < files.count && files[low].name == name ? files[low] : nil
    }
}

/// A remote path: a folder and a name in it.
enum RemotePath {
    /// The parts of a remote folder path to make (`.` and empty parts dropped), or an error
    /// when a part would climb (`..`) or cannot be shown safely.
    static func checkedFolder(_ path: String) throws(SFTPError) -> [String] {
        let shown = DisplayText.escaped(path)
        if path.unicodeScalars.contains(where: { $0.value < 0x20 || (0x7F...0x9F).contains($0.value) }) {
            throw .unsafeRemoteName(name: shown, reason: "the folder's path contains a control character")
        }
        if path.contains("\\") { throw .unsafeRemoteName(name: shown, reason: "the folder's path contains a backslash") }
        let parts = path.split(separator: "/").map(String.init).filter { $0 != "." }
        if parts.contains("..") { throw .unsafeRemoteName(name: shown, reason: "the folder's path climbs with ..") }
        return parts
    }

    static func join(_ folder: String, _ name: String) -> String {
        if folder.isEmpty || folder == "." { return name }
        return folder.hasSuffix("/") ? folder + name : folder + "/" + name
    }
}

/// The SFTP requests themselves, on one connection.
extension SFTPConnection {
    private var channel: OpaquePointer {
        get throws(SFTPError) {
            guard let sftp, isUsable else {
                throw .connectionLost(endpoint: endpoint.description, doing: "using SFTP", reason: "the connection was closed")
            }
            return sftp
        }
    }

    func list(folder: String) throws(SFTPError) -> RemoteListing {
        let sftp = try channel
        let doing = "listing"
        guard let handle = try callPointer(doing, {
            libssh2_sftp_open_ex(sftp, folder, UInt32(folder.utf8.count), 0, 0, LIBSSH2_SFTP_OPENDIR)
        }) else { throw failure(libssh2_session_last_errno(sessionPointer), doing: doing, path: folder) }
        defer { closeHandle(handle) }
        var files: [RemoteFile] = []
        var refused: [SFTPError] = []
        var nameBuffer = [CChar](repeating: 0, count: 4096)
        while true {
            var attributes = LIBSSH2_SFTP_ATTRIBUTES()
            let length = try call(doing) {
                libssh2_sftp_readdir_ex(handle, &nameBuffer, nameBuffer.count, nil, 0, &attributes)
            }
            if length == 0 { break }
            guard length > 0 else { throw failure(length, doing: doing, path: folder) }
            let bytes = nameBuffer.prefix(Int(length)).map { UInt8(bitPattern: $0) }
            if bytes == Array(".".utf8) || bytes == Array("..".utf8) { continue }
            let permissions = attributes.flags & UInt(LIBSSH2_SFTP_ATTR_PERMISSIONS) != 0 ? attributes.permissions : 0
            guard permissions & UInt(LIBSSH2_SFTP_S_IFMT) == UInt(LIBSSH2_SFTP_S_IFREG) else { continue }
            do {
                let name = try RemoteName.checked(bytes: bytes)
                files.append(RemoteFile(name: name, sizeBytes: Int64(attributes.filesize), modifiedSeconds: Int64(attributes.mtime)))
            } catch {
                refused.append(error)
            }
        }
        return RemoteListing(files: files, refused: refused)
    }

    /// A file's size and modification time, nil when there is no such file.
    func stat(_ path: String) throws(SFTPError) -> RemoteFile? {
        let sftp = try channel
        var attributes = LIBSSH2_SFTP_ATTRIBUTES()
        let result = try call("reading the size of") {
            libssh2_sftp_stat_ex(sftp, path, UInt32(path.utf8.count), LIBSSH2_SFTP_STAT, &attributes)
        }
        if result != 0 {
            let status = lastStatus
            if status == UInt(LIBSSH2_FX_NO_SUCH_FILE) || status == UInt(LIBSSH2_FX_NO_SUCH_PATH) { return nil }
            throw failure(result, doing: "reading the size of", path: path)
        }
        return RemoteFile(name: (path as NSString).lastPathComponent, sizeBytes: Int64(attributes.filesize),
                          modifiedSeconds: Int64(attributes.mtime))
    }

    /// A folder's modification time, nil when the server gives none for it.
    func folderStamp(_ path: String) throws(SFTPError) -> QuietFolder.Stamp? {
        let sftp = try channel
        var attributes = LIBSSH2_SFTP_ATTRIBUTES()
        let result = try call("reading the time of") {
            libssh2_sftp_stat_ex(sftp, path, UInt32(path.utf8.count), LIBSSH2_SFTP_STAT, &attributes)
        }
        guard result == 0 else { throw failure(result, doing: "reading the time of", path: path) }
        guard attributes.flags & UInt(LIBSSH2_SFTP_ATTR_ACMODTIME) != 0 else { return nil }
        return QuietFolder.Stamp(modifiedSeconds: Int64(attributes.mtime))
    }

    func open(_ path: String, flags: Int32, doing: String) throws(SFTPError) -> OpaquePointer {
        let sftp = try channel
        guard let handle = try callPointer(doing, {
            libssh2_sftp_open_ex(sftp, path, UInt32(path.utf8.count), UInt(flags), 0o644, LIBSSH2_SFTP_OPENFILE)
        }) else { throw failure(libssh2_session_last_errno(sessionPointer), doing: doing, path: path) }
        return handle
    }

    func closeHandle(_ handle: OpaquePointer) {
        guard isUsable else { return }
        _ = try? call("closing a remote file") { libssh2_sftp_close_handle(handle) }
    }

    /// Renames on the server; false when the server refused (the caller decides what next).
    func rename(_ from: String, to: String, overwrite: Bool) throws(SFTPError) -> Bool {
        let sftp = try channel
        let flags = overwrite ? LIBSSH2_SFTP_RENAME_OVERWRITE | LIBSSH2_SFTP_RENAME_ATOMIC | LIBSSH2_SFTP_RENAME_NATIVE : 0
        let result = try call("renaming") {
            libssh2_sftp_rename_ex(sftp, from, UInt32(from.utf8.count), to, UInt32(to.utf8.count), Int(flags))
        }
        if result == 0 { return true }
        guard result == LIBSSH2_ERROR_SFTP_PROTOCOL else { throw failure(result, doing: "renaming", path: from) }
        return false
    }

    func remove(_ path: String) throws(SFTPError) {
        let sftp = try channel
        let result = try call("removing") { libssh2_sftp_unlink_ex(sftp, path, UInt32(path.utf8.count)) }
        if result != 0 { throw failure(result, doing: "removing", path: path) }
    }

    /// Makes a folder unless it is there.
    func makeFolder(_ path: String) throws(SFTPError) {
        let sftp = try channel
        let result = try call("making the folder") { libssh2_sftp_mkdir_ex(sftp, path, UInt32(path.utf8.count), 0o755) }
        if result == 0 { return }
        var attributes = LIBSSH2_SFTP_ATTRIBUTES()
        let exists = try call("reading") { libssh2_sftp_stat_ex(sftp, path, UInt32(path.utf8.count), LIBSSH2_SFTP_STAT, &attributes) }
        guard exists == 0 else { throw failure(result, doing: "making the folder", path: path) }
        guard attributes.permissions & UInt(LIBSSH2_SFTP_S_IFMT) == UInt(LIBSSH2_SFTP_S_IFDIR) else {
            throw .remoteFailed(endpoint: endpoint.description, doing: "making the folder", path: path,
                                reason: "something that is not a folder has that name")
        }
    }
}
