import Foundation

/// A private key's passphrase, held only while logging in. It prints as nothing
/// (`description`, `debugDescription` and reflection all withhold it), so a log line or an
/// error built from it cannot leak it; its bytes are wiped when it goes.
final class Passphrase: CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// NUL-terminated, for libssh2.
    private var bytes: [CChar]

    private init(_ text: some Collection<UInt8>) {
        bytes = text.map { CChar(bitPattern: $0) } + [0]
    }

    deinit {
        for index in bytes.indices { bytes[index] = 0 }
    }

    var description: String { "(passphrase withheld)" }
    var debugDescription: String { description }
    var customMirror: Mirror { Mirror(self, children: [:]) }

    func withCString<R>(_ body: (UnsafePointer<CChar>) throws -> R) rethrows -> R {
        try bytes.withUnsafeBufferPointer { try body($0.baseAddress!) }
    }

    /// The passphrase from where the configuration says it is: a file's first line (its
    /// line break dropped), or an environment variable. Errors say where, never what.
    static func read(_ source: PassphraseSource, environment: [String: String]) throws(SFTPError) -> Passphrase {
        switch source {
        case .environment(let name):
            guard let value = environment[name] else { throw .passphraseUnavailable(source: source.description, reason: "it is not set") }
            guard !value.isEmpty else { throw .passphraseUnavailable(source: source.description, reason: "it is empty") }
            return Passphrase(value.utf8)
        case .file(let path):
            guard let data = FileManager.default.contents(atPath: path) else {
                throw .passphraseUnavailable(source: source.description, reason: "it cannot be read")
            }
            var line = data.prefix { $0 != 0x0A }
            if line.last == 0x0D { line = line.dropLast() }
            guard !line.isEmpty else { throw .passphraseUnavailable(source: source.description, reason: "its first line is empty") }
            guard !line.contains(0) else { throw .passphraseUnavailable(source: source.description, reason: "it holds a NUL byte") }
            return Passphrase(line)
        }
    }
}
