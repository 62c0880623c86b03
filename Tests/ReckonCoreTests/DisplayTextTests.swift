import PropertyBased
import ReckonCore
import Testing

@Suite("Values from files shown safely: control characters and undecodable bytes escaped")
struct DisplayTextTests {
    @Test func controlCharactersAreWrittenAsCodePoints() {
        #expect(DisplayText.escaped("a\u{0}b\u{1B}[31mc\u{7F}d\u{85}e\u{9B}f\u{202E}g\u{2028}h\u{FEFF}i\tj\nk\r")
                == "a\\u{0}b\\u{1B}[31mc\\u{7F}d\\u{85}e\\u{9B}f\\u{202E}g\\u{2028}h\\u{FEFF}i\\u{9}j\\u{A}k\\u{D}")
        // Text, Chinese and a backslash are shown as they are.
        #expect(DisplayText.escaped("张伟 O'Brien C:\\x 1,049.42") == "张伟 O'Brien C:\\x 1,049.42")
    }

    @Test func bytesThatAreNotUTF8AreWrittenAsBytes() {
        #expect(DisplayText.escaped(utf8: [0x61, 0xC3, 0x28, 0x62]) == "a\\xC3(b")
        #expect(DisplayText.escaped(utf8: [0xFF, 0x00, 0xE5, 0xBC, 0xA0]) == "\\xFF\\u{0}张")
        // A surrogate's bytes, and a character cut off at the end.
        #expect(DisplayText.escaped(utf8: [0xED, 0xA0, 0x80, 0x41, 0xE5, 0xBC]) == "\\xED\\xA0\\x80A\\xE5\\xBC")
        // Shortened between characters, never inside one.
        #expect(DisplayText.escaped(utf8: Array("ab张伟".utf8), limit: 4) == "ab…")
        #expect(DisplayText.escaped(utf8: Array("ab张伟".utf8), limit: 5) == "ab张…")
    }

    @Test func undecodableBytesInAnotherEncoding() {
        let bytes: [UInt8] = [0x41, 0x1B, 0xD5, 0xC5, 0xFF]
        #expect(bytes.withUnsafeBytes { DisplayText.escaped(undecodable: $0) } == "A\\u{1B}\\xD5\\xC5\\xFF")
    }

    @Test func escapingIsIdempotentAndLeavesNothingATerminalActsOn() async {
        let alphabet: [Unicode.Scalar] = ["z", "\\", "{", "}", "\u{0}", "\u{1B}", "\u{7F}", "\u{85}", "\u{9F}", "\u{A0}", "\u{202A}",
                                          "\u{2066}", "\u{FEFF}", "张", "\u{1F600}", "\n", "u", "x"]
        await propertyCheck(count: 300, input: Gen.uint64()) { seed in
            var rng = SplitMix64(seed: seed)
            var text = ""
            for _ in 0..<Int.random(in: 0..<40, using: &rng) {
                text.unicodeScalars.append(alphabet[Int.random(in: 0..<alphabet.count, using: &rng)])
            }
            let shown = DisplayText.escaped(text)
            #expect(DisplayText.escaped(shown) == shown, "\(seed)")
            #expect(!shown.unicodeScalars.contains { $0.value < 0x20 || (0x7F...0x9F).contains($0.value) || $0 == "\u{202A}" || $0 == "\u{2066}" || $0 == "\u{FEFF}" },
                    "\(seed)")
            // Nothing is lost: every escape stands for exactly the character it replaced.
            #expect(unescape(shown) == text, "\(seed)")
        }
    }

    /// The inverse of the `\u{…}` form, for the property above (the alphabet's own `\u{`
    /// sequences never close with a valid code, so they cannot be mistaken).
    func unescape(_ shown: String) -> String {
        var out = ""
        var rest = Substring(shown)
        while let range = rest.range(of: "\\u{") {
            out += rest[..<range.lowerBound]
            let tail = rest[range.upperBound...]
            if let close = tail.firstIndex(of: "}"), let value = UInt32(tail[..<close], radix: 16), let scalar = Unicode.Scalar(value),
               DisplayTextProbe.needsEscape(scalar) {
                out.unicodeScalars.append(scalar)
                rest = tail[tail.index(after: close)...]
            } else {
                out += "\\u{"
                rest = tail
            }
        }
        return out + rest
    }

    @Test func reportsShowWhatTheFileHoldsEscaped() throws {
        let spec = try loadSpec("format: delimited\nrecords: {r: {fields: {name: {column: 1}, code: {column: 2, codes: {A: alpha}}}}}")
        let bytes = Array("Zh\u{1B}[2J\u{0}ang,A\nWang,B\u{7}\n".utf8) + [0x61, 0xC3, 0x28, 0x2C, 0x41, 0x0A]
        let (report, records) = read(spec, bytes)
        let text = ReportText.render(report, spec: spec, shown: records)
        #expect(!text.unicodeScalars.contains { ($0.value < 0x20 && $0 != "\n") || (0x7F...0x9F).contains($0.value) }, "\(text)")
        #expect(problemTexts(report) == [
            "line 2: r field 'code' = 'B\\u{7}': code 'B\\u{7}' is not in the code map (A)",
            "line 3: r field 'name' = 'a\\xC3(': bytes 0xC3 0x28 are not valid UTF-8: 0xC3 starts a 2-byte character, and 0x28 cannot continue it (byte offset 22)",
        ])
        #expect(text.contains("    1     r     Zh\\u{1B}[2J\\u{0}ang  alpha\n"), "\(text)")
        // The raw value kept for JSON is the escaped text, and the JSON is valid.
        #expect(report.problems.last?.problem.rawValue == "a\\xC3(")
    }

    @Test func jsonEscapesTheSameCharacters() {
        #expect(JSONText.quote("a\u{0}\u{1B}\u{7F}\u{85}\u{2028}\u{202E}\"\\张") == "\"a\\u0000\\u001b\\u007f\\u0085\\u2028\\u202e\\\"\\\\张\"")
    }
}

/// The escaped set, as the tests state it independently of the implementation.
enum DisplayTextProbe {
    static func needsEscape(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value) || (0x2028...0x202E).contains(scalar.value)
            || (0x2066...0x2069).contains(scalar.value) || scalar.value == 0xFEFF
    }
}
