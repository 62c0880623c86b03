import PropertyBased
import ReckonCore
import Testing

@Suite("Random and hostile input")
struct RobustnessTests {
    static let specs = ["bank-settlement.yaml", "bank-plan.yaml", "platform-loans.yaml", "platform-repayments.yaml",
                        "channel-bill.yaml", "nacha.yaml", "alipay-bill.yaml", "wechat-bill.yaml", "jd-bill.yaml", "icbc-debit.yaml"]

    @Test(arguments: specs)
    func randomBytesNeverCrash(_ name: String) async throws {
        let spec = try shippedSpec(name)
        await propertyCheck(count: 60, input: Gen.uint8().array(of: 0...3000)) { bytes in
            let (report, _) = read(spec, bytes, options: CheckOptions(maxProblems: 5), readBytes: 97)
            // Whatever happened is accounted for: every problem has a place, and nothing
            // random passes as a clean file with records in it.
            for problem in report.problems {
                #expect(problem.location.line >= 1)
            }
            #expect(!(report.isClean && report.recordsRead > 3))
        }
    }

    @Test(arguments: specs)
    func mutatedSamplesNeverCrash(_ name: String) async throws {
        // Flip bytes of a real file: a realistic kind of garbage.
        let spec = try shippedSpec(name)
        let sample = try #require(spec.examples.first).file
        let original = try [UInt8](contentsOfFile: mappingsFolder + "/" + sample)
        await propertyCheck(count: 40, input: Gen.int(in: 0...Int.max).array(of: 1...20)) { positions in
            var bytes = original
            for position in positions where !bytes.isEmpty {
                bytes[position % bytes.count] = UInt8(truncatingIfNeeded: position >> 8)
            }
            let (report, _) = read(spec, bytes, options: CheckOptions(maxProblems: 3))
            #expect(report.problems.count <= 3)
            #expect(report.recordsRead + report.recordsRejected + report.skipped > 0 || report.failure != nil || bytes.isEmpty)
        }
    }

    @Test func aHundredMegabyteLineIsRefusedWithBoundedMemory() throws {
        let spec = try shippedSpec("platform-repayments.yaml")
        var reader = DelimitedReader(spec: spec, source: EndlessLine(bytes: 100 << 20))
        let report = FileCheck.run(&reader, spec: spec, file: "endless.csv")
        let failure = try #require(report.failure)
        #expect(failure.location?.line == 1)
        #expect(failure.reason.hasPrefix("no record end within 1048576 bytes"))
        var fixed = FixedWidthReader(spec: try shippedSpec("bank-settlement.yaml"), source: EndlessLine(bytes: 100 << 20))
        let fixedReport = FileCheck.run(&fixed, spec: try shippedSpec("bank-settlement.yaml"), file: "endless.txt")
        #expect(fixedReport.failure?.reason.hasPrefix("no line end within 1048576 bytes") == true)
    }

    @Test func emptyFile() throws {
        let (report, _) = read(try shippedSpec("bank-settlement.yaml"), [UInt8]())
        #expect(!report.isClean)
        #expect(report.structure.count == 2)
    }
}

/// A source of one endless line of 'x', without ever holding it.
struct EndlessLine: ByteSource {
    var remaining: Int
    init(bytes: Int) { remaining = bytes }
    mutating func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let count = min(buffer.count, remaining)
        buffer.baseAddress?.initializeMemory(as: UInt8.self, repeating: UInt8(ascii: "x"), count: count)
        remaining -= count
        return count
    }
}

extension Array where Element == UInt8 {
    init(contentsOfFile path: String) throws {
        let source = try FileBytes(path: path)
        self = source.bytes
    }
}

/// Reads a small file whole (test fixtures only).
struct FileBytes {
    let bytes: [UInt8]
    init(path: String) throws {
        guard let handle = fopen(path, "rb") else { throw CocoaLikeError(path: path) }
        defer { fclose(handle) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = fread(&chunk, 1, chunk.count, handle)
            if count <= 0 { break }
            bytes += chunk[0..<count]
        }
        self.bytes = bytes
    }
}

struct CocoaLikeError: Error { let path: String }

@Suite("The byte-level pattern matcher agrees with Regex")
struct SimplePatternTests {
    static let patterns = ["[A-Z]{3}", "[0-9]{8}", "[A-Z0-9]{6,24}", "CRDT|DBIT", "L[0-9]+", "[a-c]*x?", "SETTLE", "[0-9]{2,}-[0-9]", "a{2}b{0,2}|c+"]

    @Test(arguments: patterns)
    func agreement(_ pattern: String) async throws {
        let regex = try Regex(pattern)
        let spec = try SpecRegex(pattern)
        let alphabet = Array("ABCDLTRSEIBx0123456789abc-é人 ")
        await propertyCheck(count: 300, input: Gen.int(in: 0..<alphabet.count).array(of: 0...30)) { indexes in
            let text = String(indexes.map { alphabet[$0] })
            let expected = (try? regex.wholeMatch(in: text)) != nil
            #expect(spec.matchesWhole(text) == expected, "\(pattern) on '\(text)'")
        }
    }
}

import Glibc
