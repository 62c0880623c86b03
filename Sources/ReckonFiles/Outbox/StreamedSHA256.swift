import Crypto
import Foundation

/// A file's size and SHA-256 (lowercase hex), read in 1 MiB chunks: memory is the chunk.
struct StreamedSHA256: Equatable {
    let size: Int
    let sha256Hex: String

    static func of(path: String) throws(FileAccessError) -> StreamedSHA256 {
        var hasher = SHA256()
        var size = 0
        try FileByteSource(path: path).forEachChunk(chunkBytes: 1 << 20) { chunk in
            hasher.update(bufferPointer: chunk)
            size += chunk.count
        }
        return StreamedSHA256(size: size, sha256Hex: OutboxDigest.hex(hasher.finalize()))
    }
}

/// SHA-256 as outbound manifests write it: lowercase hex.
public enum OutboxDigest {
    public static func sha256Hex(_ bytes: some DataProtocol) -> String { hex(SHA256.hash(data: bytes)) }

    /// A file's SHA-256, read in chunks.
    public static func sha256Hex(path: String) throws(FileAccessError) -> String { try StreamedSHA256.of(path: path).sha256Hex }

    static func hex(_ digest: SHA256.Digest) -> String { digest.map { String(format: "%02x", $0) }.joined() }
}
