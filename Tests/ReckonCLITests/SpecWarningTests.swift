import Foundation
import Testing

/// Warnings (`warn:`) in `reckon spec check`, text and JSON: counted and listed, the file
/// still clean and the exit status 0.
@Suite("reckon spec check: warnings")
struct SpecWarningTests {
    static let spec = """
        format: delimited
        records:
          payment:
            fields:
              reference: {column: 1, required: true}
              amount: {column: 2, type: decimal}
              currency: {column: 3, warn: {required: true}}
        """

    @Test func warningsAreListedAndTheFileStaysClean() throws {
        let folder = ScratchFolder()
        let spec = folder.write("payments.yaml", Self.spec)
        let file = folder.write("payments.csv", "P1,1.00,EUR\nP2,2.00,\n")
        let result = try reckon("spec", "check", spec, file)
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        #expect(result.stdout.contains("  records   2 read, 0 rejected, 1 warning\n"))
        #expect(result.stdout.contains("  warnings\n    line 2: payment field 'currency': required value is missing\n"))
        #expect(result.stdout.contains("  verdict   ✓ clean (1 warning)"))
    }

    @Test func jsonCarriesTheWarnings() throws {
        let folder = ScratchFolder()
        let spec = folder.write("payments.yaml", Self.spec)
        let file = folder.write("payments.csv", "P1,1.00,\nP2,2.00,\n")
        let result = try reckon("spec", "check", "--json", spec, file)
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        let lines = result.stdout.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        let summary = try #require(lines.last)
        #expect(summary["clean"] as? Bool == true)
        #expect(summary["warnings_count"] as? Int == 2)
        let warnings = try #require(summary["warnings"] as? [[String: Any]])
        #expect(warnings.map { $0["line"] as? Int } == [1, 2])
        #expect(warnings.map { $0["field"] as? String } == ["currency", "currency"])
        #expect(warnings.map { $0["reason"] as? String } == ["required value is missing", "required value is missing"])
        #expect((summary["problems"] as? [Any])?.isEmpty == true)
    }
}

/// A warned file posts, and `reckon ingest` lists its warnings.
@Suite("reckon ingest: warnings")
struct IngestWarningTests {
    @Test func aFileWithWarningsPostsAndListsThem() throws {
        let folder = ScratchFolder()
        let config = try workspace(folder.path)
        let spec = try String(contentsOfFile: repositoryRoot + "/mappings/platform-repayments.yaml", encoding: .utf8)
            .replacingOccurrences(of: "principal:     {column: principal, type: decimal, scale: 2, sign: none, required: true}",
                                  with: "principal:     {column: principal, type: decimal, scale: 2, sign: none, required: true, warn: {max: \"1000.00\"}}")
        try #require(spec.contains("warn: {max"))
        let specPath = folder.write("platform-repayments.yaml", spec)
        let configPath = config.path + "/reckon.yaml"
        let yaml = try String(contentsOfFile: configPath, encoding: .utf8)
            .replacingOccurrences(of: repositoryRoot + "/mappings/platform-repayments.yaml", with: specPath)
        try #require(yaml.contains(specPath))
        try yaml.write(toFile: configPath, atomically: true, encoding: .utf8)
        let path = folder.write("PLAT_REPAY_20241215.csv",
                                try String(contentsOfFile: repositoryRoot + "/mappings/samples/partners/PLAT_REPAY_20241215.csv", encoding: .utf8))
        let result = try reckon("ingest", path, "--partner", "platform", "--type", "repayments", "--config", configPath)
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        let lines = result.stdout.split(separator: "\n").map(String.init)
        #expect(lines.first?.hasPrefix("✓ \(path) (platform/repayments 2024-12-15): 6 records, ") == true)
        #expect(Array(lines.dropFirst()) == [
            "  ! 2 warnings (the records posted):",
            "    line 3: repayment field 'principal' = '3333.33': is above the maximum 1000.00",
            "    line 6: repayment field 'principal' = '4521.89': is above the maximum 1000.00",
        ])
    }
}
