import Foundation
import ReckonCore
import ReckonFiles
import Testing

/// The specs an `outbound:` section names are checked when reckon.yaml loads: a spec that
/// could never be written for its file type is refused there, naming the key.
@Suite("Outbound specs checked at load")
struct OutboundSpecCheckTests {
    /// A reckon.yaml in a scratch folder naming `spec` for the bank's settlement file.
    func load(spec: String, header: String = "{file_type: SETTLE, bank_code: BKCN0001}") throws -> Result<ReckonConfig, SpecError> {
        let folder = NSTemporaryDirectory() + "reckon-outbound-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let yaml = """
            partners:
              bank:
                role: bank
                outbound:
                  files:
                    settlement: {spec: \(spec), name: "RECKON_SETTLE_{yyyyMMdd}.txt", header: \(header)}
            """
        try yaml.write(toFile: folder + "/reckon.yaml", atomically: true, encoding: .utf8)
        return Result { () throws(SpecError) in try ConfigFile.load(folder + "/reckon.yaml") }
    }

    @Test func theShippedSettlementSpecLoads() throws {
        let config = try load(spec: mappings + "/reckon-settlement.yaml").get()
        #expect(config.partner("bank")?.outbound?.files.first?.kind == .settlement)
    }

    @Test func aSpecThatCannotBeWrittenForItsTypeIsRefusedNamingTheKey() throws {
        guard case .failure(let missing) = try load(spec: mappings + "/no-such.yaml") else { Issue.record("loaded"); return }
        #expect(missing.keyPath == "partners.bank.outbound.files.settlement.spec" && missing.line == 6)
        #expect(missing.message.hasPrefix("the settlement file's spec cannot be used: "), "\(missing)")

        // The platform's layout has no `repayment` kind fit for a settlement: its `repayment`
        // requires repay_id, which a settlement line does not have.
        guard case .failure(let field) = try load(spec: mappings + "/platform-repayments.yaml", header: "{}") else { Issue.record("loaded"); return }
        #expect(field.message.hasPrefix("\(mappings)/platform-repayments.yaml: repayment.repay_id is required, but a settlement file has no such value"),
                "\(field)")

        guard case .failure(let kind) = try load(spec: mappings + "/reckon-plan.yaml") else { Issue.record("loaded"); return }
        #expect(kind.message == "\(mappings)/reckon-plan.yaml has no record kind 'repayment', which a settlement file's details are written through")

        guard case .failure(let header) = try load(spec: mappings + "/reckon-settlement.yaml", header: "{file_type: SETTLE, bank_code: B, branch: X}")
        else { Issue.record("loaded"); return }
        #expect(header.message.hasPrefix("header: \(mappings)/reckon-settlement.yaml has no header or trailer field 'branch'; its fields are "),
                "\(header)")

        guard case .failure(let required) = try load(spec: mappings + "/reckon-settlement.yaml", header: "{file_type: SETTLE}")
        else { Issue.record("loaded"); return }
        #expect(required.message.hasPrefix("\(mappings)/reckon-settlement.yaml: header.bank_code is required, but a settlement file has no such value"),
                "\(required)")
    }
}
