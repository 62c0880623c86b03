import Foundation

/// The places in an install where a crash matters. ReckonLedger's `CrashPoint` has a case
/// of the same name for each (ReckonFiles cannot see that enum: ReckonLedger depends on
/// ReckonFiles), and `CrashPoints.connectOutbox()` routes these steps to it.
public enum OutboxInstallStep: String, CaseIterable, Sendable {
    /// The new set's manifest is written in the staging folder (flushed, renamed).
    case manifestStaged = "outbox-manifest-staged"
    /// The new set is complete in the staging folder (manifest, zip, marker), about to be swapped in.
    case setStaged = "outbox-set-staged"
    /// The new set is the day's folder; the replaced one is in the staging folder.
    case setSwapped = "outbox-set-swapped"
    /// One file of the replaced set is in the archive (once per file).
    case oldFileArchived = "outbox-old-file-archived"
    /// The staging folder is gone: the install is complete.
    case installFinished = "outbox-install-finished"
}

/// Where installs report their steps: nowhere unless a crash-test hook is set (once, at
/// process start, by `CrashPoints.connectOutbox()` in ReckonLedger).
public enum OutboxStepHook {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var hook: (@Sendable (OutboxInstallStep) -> Void)?

    /// Sets the function each step is reported to.
    public static func set(_ hook: @escaping @Sendable (OutboxInstallStep) -> Void) {
        lock.lock()
        defer { lock.unlock() }
        self.hook = hook
    }

    static func hit(_ step: OutboxInstallStep) {
        lock.lock()
        let hook = self.hook
        lock.unlock()
        hook?(step)
    }
}
