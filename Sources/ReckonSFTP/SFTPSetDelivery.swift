import Foundation

/// One file of an outbound set to put on a partner's server.
public struct SetFile: Sendable, Equatable {
    public let localPath: String
    /// Its name on the server (checked by ``RemoteName`` before anything is sent).
    public let name: String

    public init(localPath: String, name: String) {
        self.localPath = localPath
        self.name = name
    }
}

/// What delivering a set did: the remote path of each file uploaded and renamed into place,
/// by name, and the one problem that stopped it (nil when every file went).
public struct SetDelivered: Sendable, Equatable {
    public var remotePaths: [String: String] = [:]
    public var problem: String?

    public init(remotePaths: [String: String] = [:], problem: String? = nil) {
        self.remotePaths = remotePaths
        self.problem = problem
    }
}

/// The deliver step's uploads of a partner's day's set to its SFTP server: every name is
/// checked before anything is sent (a name the server could not safely take fails the set
/// before its first file, naming the file); the remote folder is made when missing (mkdir
/// -p, no `..`); an earlier version's marker is withdrawn; then each file is uploaded in
/// order (temporary name, rename), each exchange tried again by the ``RetryPolicy`` when its
/// error is worth it (connection lost, timeout, size mismatch), stopping at the first
/// failure so the marker never goes after a failed file.
public struct SFTPSetDelivery {
    public var retry: RetryPolicy
    public var clock: MonotonicClock
    public var sleeper: any Sleeper
    public var environment: [String: String]
    public var log: (String) -> Void

    public init(retry: RetryPolicy = RetryPolicy(), clock: MonotonicClock = .system, sleeper: any Sleeper = SystemSleeper(),
                environment: [String: String] = ProcessInfo.processInfo.environment, log: @escaping (String) -> Void = { _ in }) {
        self.retry = retry
        self.clock = clock
        self.sleeper = sleeper
        self.environment = environment
        self.log = log
    }

    /// Delivers `files` into `folder` on the server `settings` reach; `marker` (the set's
    /// `.done`, also its last file) is removed from the server first. `afterFile` hears each
    /// name once its file is in place (the deliver step's crash point).
    public func deliver(_ files: [SetFile], to folder: String, marker: String?, settings: SFTPSettings,
                        afterFile: (String) -> Void = { _ in }) -> SetDelivered {
        var result = SetDelivered()
        for file in files {
            do {
                _ = try RemoteName.checked(file.name)
            } catch {
                result.problem = "\(file.localPath) cannot be delivered as \(file.name): \(error); nothing of the set was sent"
                return result
            }
        }
        let client = SFTPClient(settings: settings, environment: environment, clock: clock, log: log)
        defer { client.close() }
        do {
            try retried { () throws(SFTPError) in try client.makeFolders(folder) }
        } catch {
            result.problem = "the SFTP delivery folder \(folder) cannot be made: \(error)"
            return result
        }
        if let marker {
            do {
                _ = try retried { () throws(SFTPError) in try client.removeIfPresent(marker, in: folder) }
            } catch {
                result.problem = "the SFTP delivery could not withdraw the earlier \(marker): \(error)"
                return result
            }
        }
        for file in files {
            do {
                result.remotePaths[file.name] = try retried { () throws(SFTPError) in
                    try client.upload(file.localPath, to: folder, as: file.name).remotePath
                }
            } catch {
                result.problem = problem(file, error)
                return result
            }
            afterFile(file.name)
        }
        return result
    }

    private func retried<T>(_ body: () throws(SFTPError) -> T) throws(SFTPError) -> T {
        try retry.run(sleeper: sleeper, onRetry: { attempt, error, delay in
            log("sftp: try \(attempt) failed (\(error)); trying again in \(Int(delay)) s")
        }) { _ throws(SFTPError) in try body() }
    }

    /// The failure of one file, saying what it means for the set: a server that refuses the
    /// file's name (or the folder) refuses it on every run until someone acts, so it says so.
    func problem(_ file: SetFile, _ error: SFTPError) -> String {
        var text = "the SFTP delivery of \(file.name): \(error)"
        if case .remoteFailed = error {
            text += "; \(file.name) and the files after it are not delivered, and every run fails the same way until the "
                + "server takes the name (ask the partner) or the file is named otherwise in reckon.yaml (outbound:)"
        } else if error.isRetryable {
            text += " (tried \(retry.maxAttempts) times); the next run delivers the set again"
        }
        return text
    }
}
