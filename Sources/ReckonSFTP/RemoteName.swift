import ReckonCore

/// A file name as an SFTP server gave it, checked before it names anything locally: one
/// plain name, so the drop folder + name stays inside the drop folder.
public enum RemoteName {
    /// `name` when it is safe to use as a local file name in a drop folder; otherwise an
    /// error naming it (escaped) and saying why. Refused: empty, `.` and `..`, anything with
    /// a `/` or `\` (a path, absolute or climbing out with `../`), NUL and other control
    /// characters, and bytes that are not UTF-8.
    public static func checked(_ name: String) throws(SFTPError) -> String {
        // Every name of every listing passes here at each look: the checks read bytes, and
        // the name is escaped for the message only when it is refused.
        func refused(_ reason: String) -> SFTPError { .unsafeRemoteName(name: DisplayText.escaped(name), reason: reason) }
        if name.isEmpty { throw refused("it is empty") }
        if name == "." || name == ".." { throw refused("it names a folder, not a file") }
        if name.utf8.first == UInt8(ascii: "/") { throw refused("it is an absolute path") }
        if name.utf8.contains(where: { $0 == UInt8(ascii: "/") || $0 == UInt8(ascii: "\\") }) {
            throw refused("it is a path, not a plain file name (it could leave the drop folder)")
        }
        if name.unicodeScalars.contains(where: { $0.value < 0x20 || (0x7F...0x9F).contains($0.value) }) {
            throw refused("it contains a control character")
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
