import Foundation
import ReckonCore
#if canImport(Glibc)
import Glibc
#endif

/// One partner's outbound files for one business day: staged, then installed as a set.
///
/// The set is built whole in a staging folder beside the day's folder
/// (`outbox/<partner>/.<date>.staging/`, the same file system): the files, then the manifest,
/// then the zip, then the `.done` marker, each flushed and renamed into place there. The
/// staging folder is then swapped with the day's folder in one `renameat2(RENAME_EXCHANGE)`
/// (a plain rename for the day's first set), so `outbox/<partner>/<date>/` is always either
/// the old complete set or the new complete set. The replaced set, now in the staging
/// folder, is moved into the archive (`<archive>/<partner>/<date>/<name>.v<N>`) and the staging
/// folder removed. A crash after the swap leaves the replaced set in the staging folder;
/// the next `stagingPath(for:)`, `install` or `discardStaging` archives it first (a staging
/// folder whose manifest is older than the day's is a replaced set; any other is an
/// unfinished new one, which the next install rebuilds).
public struct OutboxDay: Sendable {
    public let outboxRoot: String
    public let archiveRoot: String
    public let partner: String
    public let date: CivilDate

    public init(outboxRoot: String, archiveRoot: String, partner: String, date: CivilDate) {
        self.outboxRoot = outboxRoot
        self.archiveRoot = archiveRoot
        self.partner = partner
        self.date = date
    }

    /// `outbox/<partner>/<date>`: the installed set.
    public var dayFolder: String { partnerFolder + "/\(date)" }
    /// `outbox/<partner>/.<date>.staging`: where the next set is built.
    public var stagingFolder: String { partnerFolder + "/.\(date).staging" }
    /// `<archive>/<partner>/<date>`: replaced versions, `<name>.v<N>`.
    public var archiveFolder: String { archiveRoot + "/\(partner)/\(date)" }
    public var manifestPath: String { dayFolder + "/" + OutboxManifest.fileName }
    var partnerFolder: String { outboxRoot + "/" + partner }

    /// Where a file of this name is written before install (a staging folder beside the
    /// day's folder, same file system). The writer flushes it; install does the rest.
    public func stagingPath(for fileName: String) throws -> String {
        try checkPartner()
        try checkName(fileName, what: "an outbound file's name")
        try finishReplacedSet()
        try makeFolder(stagingFolder)
        return stagingFolder + "/" + fileName
    }

    /// The installed set's manifest, if the day has one.
    public func installedManifest() throws -> OutboxManifest? {
        try checkPartner()
        return try manifest(in: dayFolder)
    }

    /// Installs the staged files as the day's set: unchanged bytes → nothing changes (same
    /// version, files untouched); otherwise a new version: the set is completed in the
    /// staging folder (manifest last, then the optional zip and `.done` marker), swapped in,
    /// and the old version's files move to `archiveRoot/<partner>/<date>/<name>.v<N>`.
    public func install(_ files: [StagedFile], options: OutboxOptions, reason: String) throws -> OutboxInstall {
        try checkPartner()
        let lock = try lockDay()
        defer { close(lock) }
        try finishReplacedSet()
        let listed = try checkStaged(files, options: options)
        let installed = try manifest(in: dayFolder)
        var manifest = OutboxManifest(partner: partner, businessDate: date.description, version: 0, reason: reason,
                                      files: listed, zip: options.zipName, doneMarker: options.doneMarkerName)
        if let installed, installed.sameSet(as: manifest), isIntact(installed) {
            try removeFolder(stagingFolder)
            return result(installed, changed: false, archived: [])
        }
        manifest.version = max(installed?.version ?? 0, try highestArchivedVersion()) + 1
        try stage(manifest, files: files)
        try swapIn()
        let archived = try finishReplacedSet()
        OutboxStepHook.hit(.installFinished)
        return result(manifest, changed: true, archived: archived)
    }

    /// Removes the staging folder (a dry run, or an abandoned attempt), once a replaced set
    /// left in it by a crash is archived.
    public func discardStaging() throws {
        try checkPartner()
        let lock = try lockDay()
        defer { close(lock) }
        try finishReplacedSet()
        try removeFolder(stagingFolder)
    }

    /// `outbox/<partner>/.<date>.lock`, held (flock) while a set is installed or discarded, so
    /// two processes never swap the same day's folders; the kernel drops it if the process dies.
    private func lockDay() throws -> Int32 {
        try makeFolder(partnerFolder)
        let path = partnerFolder + "/.\(date).lock"
        let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw error(path, "the day's lock cannot be opened: \(String(cString: strerror(errno)))") }
        while flock(descriptor, LOCK_EX) != 0 {
            guard errno == EINTR else {
                let reason = String(cString: strerror(errno))
                close(descriptor)
                throw error(path, "the day's lock cannot be taken: \(reason)")
            }
        }
        return descriptor
    }

    // MARK: Checks

    func error(_ path: String, _ reason: String) -> OutboxError {
        OutboxError(partner: partner, date: date.description, path: path, reason: reason)
    }

    private func checkPartner() throws {
        if let reason = Self.nameProblem(partner) { throw error(outboxRoot, "the partner \"\(partner)\" cannot name a folder: \(reason)") }
    }

    private func checkName(_ name: String, what: String, dotAllowed: Bool = false) throws {
        if let reason = Self.nameProblem(name, dotAllowed: dotAllowed) { throw error(stagingFolder, "\(what) \"\(name)\" cannot be used: \(reason)") }
        if name == OutboxManifest.fileName { throw error(stagingFolder, "\(what) \"\(name)\" cannot be used: it is the manifest's name") }
    }

    /// Why a name cannot be one file in a folder, if it cannot.
    /// A file's name may not start with a dot (partners' tools hide such files); the
    /// marker's may (`.done`).
    static func nameProblem(_ name: String, dotAllowed: Bool = false) -> String? {
        if name.isEmpty { return "it is empty" }
        if name.contains("/") || name.contains("\0") { return "it holds a / or NUL" }
        if name == "." || name == ".." { return "it names a folder" }
        if name.hasPrefix(".") && !dotAllowed { return "it starts with a dot" }
        if name.contains(".partial-") { return "it looks like an unfinished file" }
        return nil
    }

    /// The staged files checked against their bytes (size and SHA-256) and names, as the
    /// manifest will list them.
    private func checkStaged(_ files: [StagedFile], options: OutboxOptions) throws -> [OutboxManifest.File] {
        var names = Set<String>()
        var listed: [OutboxManifest.File] = []
        for file in files {
            try checkName(file.fileName, what: "an outbound file's name")
            guard names.insert(file.fileName).inserted else { throw error(stagingFolder, "two staged files are named \(file.fileName)") }
            let expected = stagingFolder + "/" + file.fileName
            guard file.path == expected else { throw error(file.path, "a staged file must be written at \(expected) (stagingPath(for:))") }
            let bytes = try StreamedSHA256.of(path: file.path)
            guard bytes.size == file.sizeBytes else {
                throw error(file.path, "the staged file has \(bytes.size) bytes, its writer said \(file.sizeBytes)")
            }
            guard bytes.sha256Hex == file.sha256Hex.lowercased() else {
                throw error(file.path, "the staged file's SHA-256 is \(bytes.sha256Hex), its writer said \(file.sha256Hex)")
            }
            listed.append(.init(name: file.fileName, fileType: file.fileType, spec: file.spec, sizeBytes: file.sizeBytes,
                                recordCount: file.recordCount, controlTotals: file.controlTotals, sha256: bytes.sha256Hex))
        }
        if let zip = options.zipName { try checkName(zip, what: "the set's zip name") }
        if let marker = options.doneMarkerName { try checkName(marker, what: "the set's marker name", dotAllowed: true) }
        for extra in [options.zipName, options.doneMarkerName].compactMap({ $0 }) {
            guard names.insert(extra).inserted else { throw error(stagingFolder, "the zip or marker name \(extra) is also a file's") }
        }
        return listed
    }

    /// Whether an installed set's files are all there with their sizes (a set someone cut
    /// short is installed again as a new version).
    private func isIntact(_ manifest: OutboxManifest) -> Bool {
        func size(_ name: String) -> Int? {
            var status = stat()
            return stat(dayFolder + "/" + name, &status) == 0 && (status.st_mode & S_IFMT) == S_IFREG ? Int(status.st_size) : nil
        }
        return manifest.files.allSatisfy { size($0.name) == $0.sizeBytes }
            && [manifest.zip, manifest.doneMarker].compactMap { $0 }.allSatisfy { size($0) != nil }
    }

    private func result(_ manifest: OutboxManifest, changed: Bool, archived: [String]) -> OutboxInstall {
        let files = manifest.files.map {
            InstalledFile(fileName: $0.name, fileType: $0.fileType, spec: $0.spec, sizeBytes: $0.sizeBytes, recordCount: $0.recordCount,
                          controlTotals: $0.controlTotals, sha256Hex: $0.sha256, path: dayFolder + "/" + $0.name)
        }
        return OutboxInstall(partner: partner, date: date, version: manifest.version, changed: changed, reason: manifest.reason,
                             files: files, manifestPath: manifestPath, zipPath: manifest.zip.map { dayFolder + "/" + $0 },
                             doneMarkerPath: manifest.doneMarker.map { dayFolder + "/" + $0 }, archivedPaths: archived)
    }

    // MARK: Staging and swapping

    /// Completes the set in the staging folder: nothing but its files, each flushed; the
    /// manifest; the zip; the marker; the folder flushed.
    private func stage(_ manifest: OutboxManifest, files: [StagedFile]) throws {
        let keep = Set(files.map(\.fileName))
        for name in try entries(of: stagingFolder) where !keep.contains(name) {
            try remove(stagingFolder + "/" + name)
        }
        for file in files { try flush(file.path) }
        try writeWhole(stagingFolder + "/" + OutboxManifest.fileName, manifest.encoded())
        OutboxStepHook.hit(.manifestStaged)
        if let zipName = manifest.zip {
            let entries = manifest.files.map { (name: $0.name, path: stagingFolder + "/" + $0.name) }
                + [(name: OutboxManifest.fileName, path: stagingFolder + "/" + OutboxManifest.fileName)]
            do {
                try DayZip.write(entries: entries, to: stagingFolder + "/" + zipName, date: date)
            } catch {
                throw self.error(error.archive, error.entry.map { "entry \($0): " + error.reason } ?? error.reason)
            }
        }
        if let marker = manifest.doneMarker { try writeWhole(stagingFolder + "/" + marker, []) }
        try flush(stagingFolder)
        OutboxStepHook.hit(.setStaged)
    }

    /// The staging folder becomes the day's folder in one step; the replaced set, if any,
    /// is then in the staging folder.
    private func swapIn() throws {
        var status = stat()
        if lstat(dayFolder, &status) == 0 {
            guard let exchange = Self.renameExchange else {
                throw error(dayFolder, "this system has no renameat2, so a set cannot be replaced in one step")
            }
            guard exchange(AT_FDCWD, stagingFolder, AT_FDCWD, dayFolder, Self.renameExchangeFlag) == 0 else {
                throw error(dayFolder, "swapping in the staged set failed: \(String(cString: strerror(errno)))"
                            + (errno == EINVAL ? " (the file system cannot exchange folders in one step)" : ""))
            }
        } else {
            guard rename(stagingFolder, dayFolder) == 0 else {
                throw error(dayFolder, "renaming the staged set into place failed: \(String(cString: strerror(errno)))")
            }
        }
        try flush(partnerFolder)
        OutboxStepHook.hit(.setSwapped)
    }

    /// glibc's `renameat2`, looked up by name: Swift's Glibc module leaves it out (it is
    /// declared only under _GNU_SOURCE). Linux 3.15 and later; ext4, xfs, btrfs, tmpfs.
    private typealias RenameAt2 = @convention(c) (Int32, UnsafePointer<CChar>, Int32, UnsafePointer<CChar>, UInt32) -> Int32
    private static let renameExchange: RenameAt2? = {
        guard let symbol = dlsym(dlopen(nil, RTLD_NOW), "renameat2") else { return nil }
        return unsafeBitCast(symbol, to: RenameAt2.self)
    }()
    /// RENAME_EXCHANGE in <linux/fs.h>.
    private static let renameExchangeFlag: UInt32 = 1 << 1

    /// If the staging folder holds a set older than the day's (one a crash left after the
    /// swap), moves its files into the archive as `<name>.v<N>` and removes the folder.
    /// Returns the archive paths.
    @discardableResult
    private func finishReplacedSet() throws -> [String] {
        guard let replaced = try manifest(in: stagingFolder), let current = try manifest(in: dayFolder),
              replaced.version < current.version else { return [] }
        try makeFolder(archiveFolder)
        var archived: [String] = []
        // The manifest goes last: while it is there, the folder is known as a replaced set,
        // so a crash in the middle leaves the rest to be archived by the next call.
        let names = try entries(of: stagingFolder).filter { $0 != replaced.doneMarker && !$0.contains(".partial-") && $0 != OutboxManifest.fileName }
        for name in names.sorted() + [OutboxManifest.fileName] {
            let target = archiveFolder + "/\(name).v\(replaced.version)"
            try moveToArchive(stagingFolder + "/" + name, target)
            archived.append(target)
            OutboxStepHook.hit(.oldFileArchived)
        }
        try removeFolder(stagingFolder)
        return archived
    }

    /// The highest version the archive holds for the day (its manifests, `MANIFEST.json.v<N>`).
    private func highestArchivedVersion() throws -> Int {
        let prefix = OutboxManifest.fileName + ".v"
        return (try? FileManager.default.contentsOfDirectory(atPath: archiveFolder))?
            .compactMap { $0.hasPrefix(prefix) ? Int($0.dropFirst(prefix.count)) : nil }.max() ?? 0
    }

    // MARK: Files

    /// A folder's manifest; nil when the folder is missing. A folder without a readable
    /// manifest is not a set reckon made, and is refused rather than replaced.
    private func manifest(in folder: String) throws -> OutboxManifest? {
        var status = stat()
        guard lstat(folder, &status) == 0 else { return nil }
        let path = folder + "/" + OutboxManifest.fileName
        guard let bytes = FileManager.default.contents(atPath: path) else {
            if folder == stagingFolder { return nil }
            throw error(folder, "the folder has no \(OutboxManifest.fileName), so it is no set reckon installed; move it away to install one")
        }
        guard let manifest = OutboxManifest.decode(bytes) else {
            throw error(path, "not a manifest this reckon writes (format \(OutboxManifest.currentFormat))")
        }
        return manifest
    }

    private func moveToArchive(_ source: String, _ target: String) throws {
        var status = stat()
        if stat(target, &status) == 0 {
            // A crash between the copy and the removal of its source: the copy is the file.
            guard try StreamedSHA256.of(path: target) == StreamedSHA256.of(path: source) else {
                throw error(target, "the archive already holds a different file of this name and version")
            }
            try remove(source)
            return
        }
        if rename(source, target) != 0 {
            guard errno == EXDEV else { throw error(target, "archiving \(source) failed: \(String(cString: strerror(errno)))") }
            try copyWhole(source, target)
            try remove(source)
        }
        try flush(archiveFolder)
    }

    private func copyWhole(_ source: String, _ target: String) throws {
        do {
            let copy = try AtomicFile(path: target)
            try FileByteSource(path: source).forEachChunk(chunkBytes: 1 << 20) { chunk throws(FileAccessError) in try copy.write(chunk) }
            try copy.commit()
        } catch {
            throw self.error(target, "archiving \(source) failed: \(FileErrorText.reason(error))")
        }
    }

    private func writeWhole(_ path: String, _ bytes: [UInt8]) throws {
        do {
            let file = try AtomicFile(path: path)
            try file.write(bytes)
            try file.commit()
        } catch {
            throw self.error(path, "writing failed: \(error.reason)")
        }
    }

    /// fsync of a file or folder, so what is in it survives a power cut.
    private func flush(_ path: String) throws {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw error(path, "opening to flush failed: \(String(cString: strerror(errno)))") }
        defer { close(descriptor) }
        guard fsync(descriptor) == 0 else { throw error(path, "flushing failed: \(String(cString: strerror(errno)))") }
    }

    private func entries(of folder: String) throws -> [String] {
        do {
            return try FileManager.default.contentsOfDirectory(atPath: folder)
        } catch {
            throw self.error(folder, "listing failed: \(FileErrorText.reason(error))")
        }
    }

    private func makeFolder(_ folder: String) throws {
        do {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        } catch {
            throw self.error(folder, "the folder cannot be made: \(FileErrorText.reason(error))")
        }
    }

    private func remove(_ path: String) throws {
        guard unlink(path) == 0 || errno == ENOENT else { throw error(path, "removing failed: \(String(cString: strerror(errno)))") }
    }

    private func removeFolder(_ folder: String) throws {
        var status = stat()
        guard lstat(folder, &status) == 0 else { return }
        do {
            try FileManager.default.removeItem(atPath: folder)
        } catch {
            throw self.error(folder, "removing failed: \(FileErrorText.reason(error))")
        }
        try flush(partnerFolder)
    }
}
