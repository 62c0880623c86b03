import Foundation

/// A write that failed, said in one line: what was being written, where, and why in the
/// words of strerror ("No space left on device"), not as a Foundation error dump.
public struct FileWriteError: Error, Sendable, CustomStringConvertible {
    public let path: String
    /// What was being written: "the archive copy", "the quarantine report".
    public let what: String
    public let reason: String

    public init(path: String, what: String, reason: String) {
        self.path = path
        self.what = what
        self.reason = reason
    }

    /// From an errno value.
    public init(path: String, what: String, errno code: Int32) {
        self.init(path: path, what: what, reason: String(cString: strerror(code)))
    }

    /// From whatever a file call threw (Foundation's errors included): its reason as
    /// ``FileErrorText/reason(_:)`` finds it.
    public init(path: String, what: String, error: any Error) {
        self.init(path: path, what: what, reason: FileErrorText.reason(error))
    }

    public var description: String { "writing \(what) to \(path) failed: \(reason)" }
}

/// Reasons for failed file operations, in one line, whoever threw them.
public enum FileErrorText {
    /// Why a file operation failed: strerror's words for the POSIX error underneath a
    /// Foundation error (`FileManager.copyItem` on a full disk gives "No space left on
    /// device"), the reason of reckon's own file errors, or the error's description.
    public static func reason(_ error: any Error) -> String {
        switch error {
        case let own as FileAccessError: return own.reason
        case let own as FileWriteError: return own.reason
        case let posix as POSIXError: return String(cString: strerror(posix.code.rawValue))
        default: break
        }
        let ns = error as NSError
        if let code = posixCode(ns) { return String(cString: strerror(code)) }
        return ns.domain == NSCocoaErrorDomain ? ns.localizedDescription : String(describing: error)
    }

    /// The file a Foundation error names, if it names one: for a copy, the destination
    /// (its `NSFilePath` is the source, which is not where the write failed).
    public static func path(_ error: any Error) -> String? {
        let ns = error as NSError
        if let destination = ns.userInfo["NSDestinationFilePath"] as? String { return destination }
        if let path = ns.userInfo[NSFilePathErrorKey] as? String { return path }
        return (ns.userInfo[NSURLErrorKey] as? URL)?.path
    }

    /// One line for an error from Foundation's file calls (`path: reason`); nil for any
    /// other error, which says itself well enough.
    public static func line(for error: any Error) -> String? {
        if error is FileAccessError || error is FileWriteError { return nil }
        let ns = error as NSError
        guard error is CocoaError || error is POSIXError || ns.domain == NSCocoaErrorDomain || ns.domain == NSPOSIXErrorDomain
        else { return nil }
        let reason = reason(error)
        return path(error).map { "\($0): \(reason)" } ?? reason
    }

    /// The errno under a Foundation error: its own code in the POSIX domain, the one it
    /// wraps, or the one a Cocoa file-writing code stands for.
    private static func posixCode(_ error: NSError) -> Int32? {
        if error.domain == NSPOSIXErrorDomain { return Int32(error.code) }
        if let underlying = error.userInfo[NSUnderlyingErrorKey] as? NSError, let code = posixCode(underlying) { return code }
        guard error.domain == NSCocoaErrorDomain else { return nil }
        switch CocoaError.Code(rawValue: error.code) {
        case .fileWriteOutOfSpace: return ENOSPC
        case .fileWriteVolumeReadOnly: return EROFS
        case .fileWriteNoPermission, .fileReadNoPermission: return EACCES
        case .fileNoSuchFile, .fileReadNoSuchFile: return ENOENT
        case .fileWriteFileExists: return EEXIST
        default: return nil
        }
    }
}
