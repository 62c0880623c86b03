import ReckonCore
import Testing

@Suite("Encodings: strict decoding, BOMs, byte and character positions")
struct EncodingTests {
    func gbk(_ text: String) -> [UInt8] { TextEncoder.encode(text, as: .gbk)! }

    /// A fixed-width layout with a 6-byte name between an id and an amount.
    func nameLayout(_ encoding: String, positions: String = "bytes") throws -> MappingSpec {
        try loadSpec("""
            format: fixed-width
            encoding: \(encoding)
            record_length: 12
            positions: \(positions)
            records:
              r:
                fields:
                  id:     {start: 1, length: 2}
                  name:   {start: 3, length: 6}
                  amount: {start: 9, length: 4, type: integer}
            """)
    }

    @Test func gbkPositionsCountBytes() throws {
        // 张伟 is four GBK bytes: 张伟 + two spaces fill the six-byte name.
        let line = Array("01".utf8) + gbk("张伟") + Array("  0042".utf8)
        let spec = try nameLayout("gbk")
        let (report, records) = read(spec, line + [0x0A])
        #expect(report.isClean)
        #expect(records.first?.values == [.text("01"), .text("张伟"), .integer(42)])
    }

    @Test func gb18030DecodesWhatGBKCannot() throws {
        // U+20AC € and U+1F600 take GB18030's four-byte form.
        let bytes = TextEncoder.encode("€😀", as: .gb18030)!
        #expect(bytes.count == 6)
        let spec = try loadSpec("format: delimited\nencoding: gb18030\nrecords: {r: {fields: {v: {column: 1}}}}")
        #expect(read(spec, bytes + [0x0A]).records.first?.values == [.text("€😀")])
    }

    @Test func boundaryInsideAGBKCharacter() throws {
        // 张伟X: the name field ends after 5 bytes of "张伟X " shifted by one, so 伟 is cut.
        let line = Array("0".utf8) + gbk("张伟") + Array("  00042".utf8)
        let (report, _) = read(try nameLayout("gbk"), line)
        #expect(report.recordsRejected == 1)
        let problem = try #require(report.problems.first)
        #expect(problem.location.line == 1)
        #expect(problem.problem.byteOffset == 2)
        #expect(problem.problem.reason == "the field boundary at position 3 splits a multibyte GBK character")
    }

    @Test func boundaryInsideAUTF8Character() throws {
        // é is two bytes: the name slice starts on its second byte.
        let line = Array("0é".utf8) + Array("xxxxx0042".utf8)
        let (report, _) = read(try nameLayout("utf-8"), line)
        let problem = try #require(report.problems.first)
        #expect(problem.problem.reason == "the field boundary at position 3 splits a multibyte character")
        #expect(problem.problem.byteOffset == 2)
    }

    @Test func characterPositions() throws {
        // Counting characters, ż takes one position and the line is 12 characters (13 bytes).
        let line = "01Aużti0042"
        let spec = try nameLayout("utf-8", positions: "characters")
        let (report, records) = read(spec, "01Aużtin0042\n")
        #expect(report.isClean, "\(problemTexts(report))")
        #expect(records.first?.values == [.text("01"), .text("Aużtin"), .integer(42)])
        // Counting bytes, the same line is one byte too long, and the message says why.
        let (byBytes, _) = read(try nameLayout("utf-8"), "01Aużtin0042\n")
        #expect(problemTexts(byBytes) == ["line 1: r the record is 13 bytes long; this layout's records are 12 (the line has multibyte characters: if the partner counts characters, set positions: characters)"])
        _ = line
    }

    @Test func invalidBytesAreErrorsWithOffsets() throws {
        let spec = try loadSpec("format: delimited\nencoding: gbk\nrecords: {r: {fields: {a: {column: 1}, b: {column: 2}}}}")
        // 0xFF is no GBK lead byte.
        let bytes = Array("ok,ok\n".utf8) + Array("x,".utf8) + [0xFF, 0x41] + [0x0A]
        let (report, _) = read(spec, bytes)
        let problem = try #require(report.problems.first)
        #expect(problem.location.line == 2)
        #expect(problem.problem.field == "b")
        #expect(problem.problem.byteOffset == 8)
        #expect(problem.problem.reason == "byte 0xFF is not valid GBK")
        #expect(problem.problem.rawValue == "\\xFFA")
    }

    @Test func invalidUTF8NeverBecomesReplacementCharacters() throws {
        let spec = try loadSpec("format: delimited\nrecords: {r: {fields: {a: {column: 1}, b: {column: 2}}}}")
        // A truncated sequence, a lead byte followed by ASCII, an overlong form, a
        // surrogate, past U+10FFFF, a stray continuation byte: each refused where the bad
        // character starts, naming its bytes and the field.
        let cases: [([UInt8], String, String)] = [
            ([0xC3], "ab\\xC3", "a UTF-8 character is cut off: 0xC3 and nothing after (incomplete multibyte sequence)"),
            ([0xC3, 0x28], "ab\\xC3(", "bytes 0xC3 0x28 are not valid UTF-8: 0xC3 starts a 2-byte character, and 0x28 cannot continue it"),
            ([0xC0, 0x80], "ab\\xC0\\x80", "byte 0xC0 is not valid UTF-8"),
            ([0xE0, 0x80, 0x80], "ab\\xE0\\x80\\x80", "bytes 0xE0 0x80 are not valid UTF-8: 0xE0 starts a 3-byte character, and 0x80 cannot continue it"),
            ([0xED, 0xA0, 0x80], "ab\\xED\\xA0\\x80", "bytes 0xED 0xA0 are not valid UTF-8: 0xED starts a 3-byte character, and 0xA0 cannot continue it"),
            ([0xF4, 0x90, 0x80, 0x80], "ab\\xF4\\x90\\x80\\x80", "bytes 0xF4 0x90 are not valid UTF-8: 0xF4 starts a 4-byte character, and 0x90 cannot continue it"),
            ([0x80], "ab\\x80", "byte 0x80 is not valid UTF-8"),
        ]
        for (bad, raw, reason) in cases {
            let (report, records) = read(spec, Array("ok,ab".utf8) + bad + [0x0A])
            #expect(records.isEmpty)
            #expect(report.recordsRejected == 1)
            #expect(problemTexts(report) == ["line 1: r field 'b' = '\(raw)': \(reason) (byte offset 5)"], "\(bad)")
        }
    }

    @Test func invalidUTF8InAFixedWidthRecordNamesItsField() throws {
        // 12 bytes: id "01", name "ab\xC3(xx", amount "0042".
        let line = Array("01ab".utf8) + [0xC3, 0x28] + Array("xx0042".utf8)
        let (report, records) = read(try nameLayout("utf-8"), line + [0x0A])
        #expect(records.isEmpty)
        #expect(problemTexts(report) == [
            "line 1: r field 'name' = 'ab\\xC3(xx': bytes 0xC3 0x28 are not valid UTF-8: 0xC3 starts a 2-byte character, and 0x28 cannot continue it (byte offset 4)",
        ])
        // Counting characters, the field is found the same way.
        let (byCharacters, _) = read(try nameLayout("utf-8", positions: "characters"), Array("01é".utf8) + [0xFF] + Array("xxxx0042\n".utf8))
        #expect(problemTexts(byCharacters) == ["line 1: r field 'name' = 'é\\xFFxxxx': byte 0xFF is not valid UTF-8 (byte offset 4)"])
    }

    @Test func aFileCutInsideACharacter() throws {
        // A GBK file truncated after the first byte of 伟.
        let spec = try loadSpec("format: delimited\nencoding: gbk\nrecords: {r: {fields: {a: {column: 1}}}}")
        let bytes = gbk("张伟")
        let (report, _) = read(spec, Array(bytes.dropLast()))
        let problem = try #require(report.problems.first)
        #expect(problem.problem.reason == "a GBK character is cut off: 0xCE and nothing after (incomplete multibyte sequence)")
        #expect(problem.problem.byteOffset == 2)
    }

    @Test func utf8BOMAtTheStartIsDropped() throws {
        let spec = try loadSpec("format: delimited\nheader: 1\nrecords: {r: {fields: {a: {column: name}}}}")
        let (report, records) = read(spec, [0xEF, 0xBB, 0xBF] + Array("name\nvalue\n".utf8))
        #expect(report.isClean)
        #expect(records.first?.values == [.text("value")])
    }

    @Test func bomAnywhereElseIsAnError() throws {
        let spec = try loadSpec("format: delimited\nrecords: {r: {fields: {a: {column: 1}}}}")
        let (report, _) = read(spec, Array("one\nt".utf8) + [0xEF, 0xBB, 0xBF] + Array("wo\n".utf8))
        let problem = try #require(report.problems.first)
        #expect(problem.location.line == 2)
        #expect(problem.problem.byteOffset == 5)
        #expect(problem.problem.reason == "a byte order mark (U+FEFF) is only allowed at the very start of a file")
    }

    @Test func wrongEncodingIsNamed() throws {
        let gbkSpec = try loadSpec("format: delimited\nencoding: gbk\nrecords: {r: {fields: {a: {column: 1}}}}")
        let (utf8WithBOM, _) = read(gbkSpec, [0xEF, 0xBB, 0xBF] + Array("abc\n".utf8))
        #expect(utf8WithBOM.failure?.reason == "the file starts with a UTF-8 byte order mark, but the spec says gbk: is the file really UTF-8?")
        let (utf16, _) = read(gbkSpec, [0xFF, 0xFE, 0x41, 0x00])
        #expect(utf16.failure?.reason.hasPrefix("the file is UTF-16") == true)
        // GBK bytes read as UTF-8.
        let utf8Spec = try loadSpec("format: delimited\nrecords: {r: {fields: {a: {column: 1}}}}")
        let (gbkAsUTF8, _) = read(utf8Spec, gbk("交易成功") + [0x0A])
        #expect(gbkAsUTF8.problems.first?.problem.reason.hasSuffix("is not valid UTF-8") == true)
    }

    @Test func latinEncodings() throws {
        // ISO-8859-2: 0xBE is ž, 0xA3 is Ł; ISO-8859-1: 0xE9 is é.
        let latin2 = try loadSpec("format: delimited\nencoding: iso-8859-2\nrecords: {r: {fields: {a: {column: 1}}}}")
        #expect(read(latin2, [0xA3, 0xF3, 0x64, 0xBE, 0x0A]).records.first?.values == [.text("Łódž")])
        let latin1 = try loadSpec("format: delimited\nencoding: latin1\nrecords: {r: {fields: {a: {column: 1}}}}")
        #expect(read(latin1, [0x63, 0x61, 0x66, 0xE9, 0x0A]).records.first?.values == [.text("café")])
    }

    /// European banks' files: the euro sign is 0x80 in windows-1252 and 0xA4 in ISO-8859-15.
    @Test func euroEncodings() throws {
        let cp1252 = try loadSpec("format: delimited\nencoding: cp1252\nrecords: {r: {fields: {a: {column: 1}}}}")
        #expect(read(cp1252, [0x80, 0x35, 0x20, 0x93, 0x6F, 0x6B, 0x94, 0x20, 0x8A, 0x0A]).records.first?.values == [.text("€5 “ok” Š")])
        // 0x81 is not a character in windows-1252: an error, never a silent replacement.
        let (undefined, _) = read(cp1252, [0x61, 0x81, 0x0A])
        #expect(undefined.problems.first?.problem.reason == "byte 0x81 is not valid WINDOWS-1252")
        let latin9 = try loadSpec("format: delimited\nencoding: latin-9\nrecords: {r: {fields: {a: {column: 1}}}}")
        #expect(read(latin9, [0xA4, 0x31, 0x0A]).records.first?.values == [.text("€1")])
        #expect(TextEncoder.encode("€", as: .windows1252) == [0x80])
        #expect(TextEncoder.encode("€", as: .iso8859_15) == [0xA4])
        #expect(TextEncoder.encode("€", as: .iso8859_1) == nil)
    }

    @Test func gbkTrailBytesAreNotDelimiters() throws {
        let pipe = try loadSpec("format: delimited\nencoding: gbk\ndelimiter: \"|\"\nrecords: {r: {fields: {a: {column: 1}, b: {column: 2}}}}")
        // 亅 (U+4E85) is 81 7C in GBK: its trail byte is '|'.
        let character = gbk("亅")
        #expect(character.last == 0x7C)
        let (report, records) = read(pipe, character + Array("|x\n".utf8))
        #expect(report.isClean)
        #expect(records.first?.values == [.text("亅"), .text("x")])
    }

    /// Offsets of the GBK characters in `bytes` whose two bytes a read of `readBytes` splits.
    func splitCharacters(_ bytes: [UInt8], readBytes: Int) -> [Int] {
        var split: [Int] = []
        var i = 0
        while i < bytes.count {
            if bytes[i] >= 0x81 {
                if (i + 1) % readBytes == 0 { split.append(i) }
                i += 2
            } else {
                i += 1
            }
        }
        return split
    }

    @Test(arguments: [1, 7, 97])
    func gbkCharactersAcrossReadBoundariesInFixedWidth(_ readBytes: Int) throws {
        let names = ["张伟", "李娜", "王芳", "交易"]
        var file: [UInt8] = []
        var expected: [[FieldValue]] = []
        for index in 0..<100 {
            let name = names[index % names.count]
            // 12 bytes and a line feed: characters fall at every offset modulo 7 and 97.
            let id = index < 10 ? "0\(index)" : "\(index)"
            file += Array(id.utf8) + gbk(name) + Array("  \(1000 + index)".utf8) + [0x0A]
            expected.append([.text(id), .text(name), .integer(Int64(1000 + index))])
        }
        #expect(!splitCharacters(file, readBytes: readBytes).isEmpty, "no character straddles a read boundary")
        let (report, records) = read(try nameLayout("gbk"), file, readBytes: readBytes)
        #expect(report.isClean, "\(problemTexts(report))")
        #expect(records.map(\.values) == expected)
    }

    @Test(arguments: [1, 7, 97])
    func gbkCharactersAcrossReadBoundariesInDelimited(_ readBytes: Int) throws {
        let spec = try loadSpec("format: delimited\nencoding: gbk\ndelimiter: \"|\"\nrecords: {r: {fields: {a: {column: 1}, b: {column: 2}}}}")
        var file: [UInt8] = []
        var expected: [[FieldValue]] = []
        for index in 0..<100 {
            // 亅 is 81 7C: its trail byte is the delimiter, and a read may end on its lead.
            let first = "亅" + String(index), second = String(repeating: "张伟", count: index % 3 + 1)
            file += gbk(first) + Array("|".utf8) + gbk(second) + (index % 2 == 0 ? [0x0A] : [0x0D, 0x0A])
            expected.append([.text(first), .text(second)])
        }
        #expect(!splitCharacters(file, readBytes: readBytes).isEmpty, "no character straddles a read boundary")
        let (report, records) = read(spec, file, readBytes: readBytes)
        #expect(report.isClean, "\(problemTexts(report))")
        #expect(records.map(\.values) == expected)
    }

    @Test func encoderRefusesWhatCannotBeWritten() {
        #expect(TextEncoder.encode("😀", as: .gbk) == nil)
        #expect(TextEncoder.encode("Ł", as: .iso8859_1) == nil)
        #expect(TextEncoder.encode("Ł", as: .iso8859_2) == [0xA3])
    }
}
