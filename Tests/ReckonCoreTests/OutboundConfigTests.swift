import Foundation
import ReckonCore
import Testing

/// `outbound:` in reckon.yaml: what a partner receives, refused at load with the key named.
@Suite("Outbound configuration")
struct OutboundConfigTests {
    static let yaml = """
        partners:
          bank:
            role: bank
            outbound:
              files:
                settlement: {spec: mappings/reckon-settlement.yaml, name: "RECKON_SETTLE_{yyyyMMdd}.txt", header: {bank_code: BKCN0001}}
                plans: {spec: mappings/reckon-plan.yaml, name: "RECKON_PLAN_{yyyyMMdd}.txt"}
              zip: "RECKON_{yyyyMMdd}.zip"
              done: "RECKON_{yyyyMMdd}.done"
        """

    func error(_ yaml: String) -> SpecError? {
        do {
            _ = try ConfigLoader.load(yaml: yaml, origin: "/srv/reckon/reckon.yaml")
            return nil
        } catch {
            return error
        }
    }

    @Test func aPartnersFilesTheirSpecsNamesAndOptions() throws {
        let config = try ConfigLoader.load(yaml: Self.yaml, origin: "/srv/reckon/reckon.yaml")
        let outbound = try #require(config.partner("bank")?.outbound)
        #expect(outbound.files.map(\.kind) == [.settlement, .plans])
        #expect(outbound.files[0].specPath == "/srv/reckon/mappings/reckon-settlement.yaml")
        #expect(outbound.files[0].name.name(for: CivilDate(iso: "2024-12-16")!) == "RECKON_SETTLE_20241216.txt")
        #expect(outbound.files[0].header == ["bank_code": "BKCN0001"] && outbound.files[1].header.isEmpty)
        #expect(outbound.files[0].specKeyPath == "partners.bank.outbound.files.settlement.spec" && outbound.files[0].specLine == 6)
        #expect(outbound.zipName?.name(for: CivilDate(iso: "2024-12-16")!) == "RECKON_20241216.zip")
        #expect(outbound.doneName?.name(for: CivilDate(iso: "2024-12-16")!) == "RECKON_20241216.done")
        #expect(try ConfigLoader.load(yaml: "partners: {p: {role: platform}}", origin: "reckon.yaml").partner("p")?.outbound == nil)
    }

    @Test func unknownKeysTypesAndNamesAreRefusedWithTheirKey() throws {
        let key = try #require(error(Self.yaml.replacingOccurrences(of: "done:", with: "marker:")))
        #expect(key.keyPath == "partners.bank.outbound.marker" && key.message.contains("unknown key 'marker'"), "\(key)")
        let type = try #require(error(Self.yaml.replacingOccurrences(of: "plans: {", with: "statements: {")))
        #expect(type.keyPath == "partners.bank.outbound.files"
                && type.message == "unknown outbound file type 'statements'; expected settlement, plans, results, alerts", "\(type)")
        let fileKey = try #require(error(Self.yaml.replacingOccurrences(of: "name: \"RECKON_PLAN", with: "names: \"RECKON_PLAN")))
        #expect(fileKey.keyPath == "partners.bank.outbound.files.plans.names", "\(fileKey)")
        let star = try #require(error(Self.yaml.replacingOccurrences(of: "RECKON_{yyyyMMdd}.zip", with: "RECKON_*.zip")))
        #expect(star.keyPath == "partners.bank.outbound.zip" && star.message == "an outbound name is one file name, without * or /")
        let layout = try #require(error(Self.yaml.replacingOccurrences(of: "RECKON_{yyyyMMdd}.done", with: "RECKON_{yyyyMMd}.done")))
        #expect(layout.keyPath == "partners.bank.outbound.done", "\(layout)")
        let twice = try #require(error(Self.yaml.replacingOccurrences(of: "RECKON_PLAN_", with: "RECKON_SETTLE_")))
        #expect(twice.message == "two outbound files are named 'RECKON_SETTLE_{yyyyMMdd}.txt'")
        let none = try #require(error("partners: {bank: {role: bank, outbound: {files: {}}}}"))
        #expect(none.keyPath == "partners.bank.outbound.files" && none.message == "name at least one outbound file")
    }
}
