import ReckonCore

/// A file name as an SFTP server gave it, checked before it names anything locally: one
/// plain name, so the drop folder + name stays inside the drop folder.
public enum RemoteName {
    /// `name` when it is safe to use as a local file name in a drop folder; otherwise an
    /// error naming it (escaped) and saying why. Refused: empty, `.` and `..`, anything with
    /// a `/` or `\` (a path, absolute or climbing out with `../`), NUL and other control
    /// characters, and bytes that are not UTF-8.
    public static func checked(_ name: String) throws(SFTPError) -> String {
        let shown = DisplayText.escaped(name)
        if name.isEmpty { throw .unsafeRemoteName(name: shown, reason: "it is empty") }
        if name == "." || name == ".." { throw .unsafeRemoteName(name: shown, reason: "it names a folder, not a file") }
        if name.hasPrefix("/") { throw .unsafeRemoteName(name: shown, reason: "it is an absolute path") }
        if name.contains("/") || name.contains("\\") {
            throw .unsafeRemoteName(name: shown, reason: "it is a path, not a plain file name (it could leave the drop folder)")
        }
        if name.unicodeScalars.contains(where: { $0.value < 0x20 || (0x7F...0x9F).contains($0.value) }) {
            throw .unsafeRemoteName(name: shown, reason: "it contains a control character")
        }
        return name
    }

    /// A name read from the server as bytes: checked as text once it is valid UTF-8.
    public static func checked(bytes: [UInt8]) throws(SFTPError) -> String {
        guard let name = String(validating: bytes, as: UTF8.self) else {
            throw .unsafeRemoteName(name: DisplayText.escaped(utf8: bytes), reason: "it is not UTF-8")
        }
        return try checked(name)
    }
}
