import ReckonCore
import Testing

@Suite("Configuration")
struct ConfigTests {
    static let minimal = """
        partners:
          platform:
            role: platform
            drop: inbox/platform
            files:
              repayments: {spec: mappings/platform-repayments.yaml, name: "PLAT_REPAY_{yyyyMMdd}.csv", post: true}
          channel:
            role: channel
            channel_code: WXPAY
            files:
              bills: {spec: mappings/channel-bill.yaml, name: "PAY_BILL_*_{yyyy-MM-dd}.csv", ready: {marker: "{name}.ok"}, mode: lenient}
        products:
          CL12: {margin_rate: "0.10"}
        """

    func error(_ yaml: String) -> SpecError? {
        do {
            _ = try ConfigLoader.load(yaml: yaml, origin: "/srv/reckon/reckon.yaml")
            return nil
        } catch {
            return error
        }
    }

    @Test func defaultsAndPaths() throws {
        let config = try ConfigLoader.load(yaml: Self.minimal, origin: "/srv/reckon/reckon.yaml")
        #expect(config.databasePath == "/srv/reckon/var/reckon.sqlite")
        #expect(config.currency == "CNY")
        #expect(config.balanceWarning == DecimalAmount(units: 50_000_000, scale: 2))
        let platform = try #require(config.partner("platform"))
        #expect(platform.drop == "/srv/reckon/inbox/platform")
        let repayments = try #require(platform.fileType("repayments"))
        #expect(repayments.specPath == "/srv/reckon/mappings/platform-repayments.yaml")
        #expect(repayments.posts)
        #expect(!repayments.lenient)
        #expect(repayments.readiness == .stable(seconds: 2))
        let bills = try #require(config.partner("channel")?.fileType("bills"))
        #expect(bills.lenient)
        #expect(bills.readiness == .marker("{name}.ok"))
        #expect(config.product("CL12")?.marginRate == DecimalAmount(units: 100_000, scale: 6))
    }

    @Test func fileNamePatterns() throws {
        let pattern = try FileNamePattern("PLAT_REPAY_{yyyyMMdd}.csv")
        #expect(pattern.match("PLAT_REPAY_20241215.csv").date == CivilDate(year: 2024, month: 12, day: 15))
        #expect(pattern.match("PLAT_REPAY_20241315.csv").matches == false)  // no 13th month
        #expect(pattern.match("PLAT_REPAY_20241215.csv.ok").matches == false)
        #expect(pattern.name(for: CivilDate(year: 2024, month: 1, day: 5)!) == "PLAT_REPAY_20240105.csv")
        let star = try FileNamePattern("PAY_BILL_*_{yyyy-MM-dd}.csv")
        #expect(star.match("PAY_BILL_1900000109_2024-12-15.csv").date == CivilDate(year: 2024, month: 12, day: 15))
        let plain = try FileNamePattern("institutions.txt")
        #expect(plain.match("institutions.txt") == (true, nil))
        #expect(throws: ConfigProblem.self) { try FileNamePattern("X_{yyyyQQ}.csv") }
    }

    @Test func errorsNameTheKey() throws {
        let unknown = try #require(error(Self.minimal.replacingOccurrences(of: "post: true", with: "posts: true")))
        #expect(unknown.keyPath == "partners.platform.files.repayments.posts")
        #expect(unknown.message.contains("did you mean 'post'"))
        #expect(unknown.file == "/srv/reckon/reckon.yaml")
        #expect(error(Self.minimal.replacingOccurrences(of: "role: platform", with: "role: lender"))?.message.contains("unknown role 'lender'") == true)
        #expect(error(Self.minimal.replacingOccurrences(of: "    channel_code: WXPAY\n", with: ""))?.message.contains("a channel needs a channel_code") == true)
        let badName = try #require(error(Self.minimal.replacingOccurrences(of: "{yyyyMMdd}", with: "{yyyyMMd}")))
        #expect(badName.keyPath == "partners.platform.files.repayments.name")
        #expect(error(Self.minimal.replacingOccurrences(of: "\"0.10\"", with: "\"1.5\""))?.message.contains("between 0 and 1") == true)
        #expect(error("ledger: {currency: yuan}\npartners: {p: {role: bank}}")?.message.contains("three-letter") == true)
        #expect(error("partners: {}")?.message.contains("at least one partner") == true)
    }
}
