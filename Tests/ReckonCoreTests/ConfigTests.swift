import Foundation
import ReckonCore
import PropertyBased
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
        let problem = try #require(throws: ConfigProblem.self) { try FileNamePattern("X_{yyyyQQ}.csv") }
        #expect(problem.message == "'{yyyyQQ}' in 'X_{yyyyQQ}.csv' is not a date layout: unknown token 'QQ' in format 'yyyyQQ' "
                + "(use yyyy yy MM dd HH mm ss S… XXX, or iso8601)")
    }

    /// The glob matcher against the regular expression it replaced (the oracle): the same
    /// names match, with the same dates, for patterns with stars, a date and literals that
    /// look like both. Names of printable ASCII are matched on bytes, others (a line break,
    /// `é`, `中`, a combining accent) on characters: both ways are drawn.
    @Test func fileNamePatternsMatchAsTheirRegularExpressionsDid() async {
        await propertyCheck(count: 3_000, input: Gen.int(in: 0...Int.max)) { seed in
            var random = SplitMix64(seed: UInt64(seed))
            func below(_ bound: Int) -> Int { Int.random(in: 0..<bound, using: &random) }
            let letters: [String] = ["a", "b", "_", "1", "0", ".", "2", "é", "中", "e\u{301}"]
            var pattern = ""
            var hasDate = false
            for _ in 0..<below(7) {
                switch below(5) {
                case 0: pattern += "*"
                case 1 where !hasDate: pattern += "{yyyyMMdd}"; hasDate = true
                default: pattern += letters[below(letters.count)]
                }
            }
            // A name made from the pattern (so that many match), then sometimes spoiled.
            var name = ""
            for part in pattern.replacingOccurrences(of: "{yyyyMMdd}", with: "D") {
                switch part {
                case "*": for _ in 0..<below(4) { name += (letters + ["\n", "9"])[below(letters.count + 2)] }
                case "D": name += ["20241215", "20240229", "20231301", "2024121", "202412150"][below(5)]
                default: name.append(part)
                }
            }
            if below(3) == 0, !name.isEmpty {
                var characters = Array(name)
                characters.remove(at: below(characters.count))
                if below(2) == 0 { characters.insert(Character(letters[below(letters.count)]), at: below(characters.count + 1)) }
                name = String(characters)
            }
            let glob = try! FileNamePattern(pattern)
            let oracle = Self.regexMatch(pattern: pattern, name: name)
            #expect(glob.match(name) == oracle, "pattern '\(pattern)', name '\(name)'")
        }
    }

    /// How the patterns were matched before: a regular expression, `*` as `.*` and the date
    /// as a capture of its width.
    static func regexMatch(pattern: String, name: String) -> (matches: Bool, date: CivilDate?) {
        var text = "^"
        var rest = Substring(pattern)
        while let c = rest.first {
            if rest.hasPrefix("{yyyyMMdd}") {
                text += "(.{8})"
                rest = rest.dropFirst("{yyyyMMdd}".count)
                continue
            }
            text += c == "*" ? ".*" : ("\\^$.|?+()[]{}".contains(c) ? "\\" + String(c) : String(c))
            rest.removeFirst()
        }
        let regex = try! Regex(text + "$")
        guard let match = try? regex.firstMatch(in: name) else { return (false, nil) }
        guard pattern.contains("{yyyyMMdd}") else { return (true, nil) }
        guard let captured = match.output[1].substring else { return (false, nil) }
        let format = try! DateTimeFormat(pattern: "yyyyMMdd", content: .date)
        let date = Array(String(captured).utf8).withUnsafeBytes { format.parse($0)?.date }
        return (date != nil, date)
    }

    @Test func aLongHostileNameDoesNotBacktrackForever() throws {
        let pattern = try FileNamePattern("*a*a*a*a*a*b")
        let name = String(repeating: "a", count: 255)
        #expect(pattern.match(name) == (false, nil))
        #expect(pattern.match(name + "b") == (true, nil))
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

    static let products = """
        partners: {p: {role: platform}}
        calendar: data/calendar-cn.yaml
        base_rates: {history: data/lpr-history.csv, spec: mappings/lpr-history.yaml}
        products:
          CL12:
            method: equal-installment
            rate: {base: 1y, spread_bp: 590, repricing: base-rate-change}
            amount: {min: "1000.00", max: "200000.00"}
            term: {min: 3, max: 12}
            day_count: actual/365
            rounding: half-even
            due_day: 20
            non_working_due_date: next-working-day-accrue
            penalty: {factor: "1.3", base: overdue-principal}
            compensation: {days: 3, at: "17:30"}
            fee: {monthly_rate: "0.3%"}
          BL90:
            method: bullet
            rate: "9%"
            term: {min: 7, max: 90, unit: days}
            fee: {per_period: "5.00"}
          OWN: {method: flat, rate: contract}
          PLAIN: {margin_rate: "0.10"}
        """

    @Test func productPlanSettings() throws {
        let config = try ConfigLoader.load(yaml: Self.products, origin: "/srv/reckon/reckon.yaml")
        #expect(config.calendarPath == "/srv/reckon/data/calendar-cn.yaml")
        #expect(config.baseRateHistoryPath == "/srv/reckon/data/lpr-history.csv")
        #expect(config.baseRateSpecPath == "/srv/reckon/mappings/lpr-history.yaml")
        let cl12 = try #require(config.product("CL12")?.plan)
        #expect(cl12.method == .equalInstallment)
        #expect(cl12.pricing == .floating(tenor: "1y", spreadBasisPoints: 590, repricing: .baseRateChange))
        #expect(cl12.amountMinor == 100_000...20_000_000 && cl12.term == 3...12 && cl12.termUnit == .months)
        #expect(cl12.dayCount == .actual365 && cl12.rounding == .halfEven && cl12.dueDay == 20)
        #expect(cl12.nonWorkingDueDate == .nextWorkingDay(accrueExtraDays: true))
        #expect(cl12.servicing.penaltyFactor == Decimal(string: "1.3") && cl12.servicing.penaltyBase == .overduePrincipal)
        #expect(cl12.servicing.compensationDays == 3 && cl12.servicing.compensationTime == TimeOfDay(hour: 17, minute: 30, second: 0))
        #expect(cl12.fee == .principalRate(Decimal(string: "0.003")!))
        #expect(config.product("BL90")?.plan?.fee == .fixed(500))
        let bullet = try #require(config.product("BL90")?.plan)
        #expect(bullet.pricing == .fixed(Decimal(string: "0.09")!) && bullet.termUnit == .days && bullet.term == 7...90)
        // No day count given: the method's standard, resolved into each loan's contract.
        #expect(bullet.dayCount == nil && config.product("OWN")?.plan?.dayCount == nil)
        let bulletContract = try LoanContract(settings: bullet, principalMinor: 1_000_000, term: 90, startDate: CivilDate(iso: "2024-01-31")!,
                                              firstDueDate: nil, statedRate: nil)
        #expect(bulletContract.dayCount == "actual/360")
        let flatContract = try LoanContract(settings: try #require(config.product("OWN")?.plan), principalMinor: 1_000_000, term: 12,
                                            startDate: CivilDate(iso: "2024-01-31")!, firstDueDate: nil, statedRate: Decimal(string: "0.09"))
        #expect(flatContract.dayCount == "monthly/360")
        #expect(config.product("OWN")?.plan?.pricing == .contract)
        #expect(config.product("PLAIN")?.plan == nil)
        // The ranges refuse what the seed's product page says they refuse, bounds included.
        #expect(cl12.refusal(product: "CL12", principalMinor: 100_000, term: 12, method: .equalInstallment) == nil)
        #expect(cl12.refusal(product: "CL12", principalMinor: 99_999, term: 12, method: nil)?.field == "principal")
        #expect(cl12.refusal(product: "CL12", principalMinor: 100_000, term: 13, method: nil)?.field == "term")
        #expect(cl12.refusal(product: "CL12", principalMinor: 100_000, term: 12, method: .flat)?.reason
                == "the repayment method flat is not product CL12's (equal-installment)")
    }

    @Test func productSettingErrorsNameTheKey() throws {
        func problem(_ from: String, _ to: String) -> SpecError? { error(Self.products.replacingOccurrences(of: from, with: to)) }
        let method = try #require(problem("method: equal-installment", "method: annuity"))
        #expect(method.keyPath == "products.CL12.method" && method.message.contains("unknown method"))
        #expect(problem("rate: \"9%\"", "rate: \"9\"")?.message.contains("is not a rate") == true)
        #expect(problem("day_count: actual/365", "day_count: 30/365E")?.message.contains("monthly/360, monthly/365") == true)
        #expect(problem("term: {min: 3, max: 12}", "term: {min: 12, max: 3}")?.message.contains("min 12 is above max 3") == true)
        #expect(problem("unit: days}", "unit: weeks}")?.message.contains("months or days") == true)
        #expect(problem("method: flat, rate: contract", "rate: contract")?.message.contains("plan settings need a method") == true)
        #expect(problem("at: \"17:30\"", "at: \"25:00\"")?.message.contains("HH:mm") == true)
        #expect(problem("fee: {per_period: \"5.00\"}", "fee: {per_period: \"5.00\", monthly_rate: \"1%\"}")?.message.contains("give one of") == true)
        #expect(problem("fee: {monthly_rate: \"0.3%\"}", "fee: {monthly_rate: \"30%\"}")?.message.contains("below 10%") == true)
        // Issue 9 item 4: the ranges `plan preview` checks, with the same rules, naming the key.
        let ranges: [(from: String, to: String, keyPath: String, message: String)] = [
            ("rate: \"9%\"", "rate: \"1000%\"", "products.BL90.rate", "'1000%' is out of range: an annual rate is from 0% to 100%, like 9% or 0.09"),
            ("rate: \"9%\"", "rate: \"-1%\"", "products.BL90.rate", "'-1%' is out of range: an annual rate is from 0% to 100%, like 9% or 0.09"),
            ("spread_bp: 590", "spread_bp: 20000", "products.CL12.rate.spread_bp",
             "'20000' is out of range: a spread is from -10000bp to 10000bp, like 590bp or -25bp"),
            ("min: \"1000.00\"", "min: \"0.00\"", "products.CL12.amount.min",
             "'0.00' is out of range: a principal is more than 0.00 and at most 100,000,000,000.00"),
            ("max: \"200000.00\"", "max: \"200,000,000,000.00\"", "products.CL12.amount.max",
             "'200,000,000,000.00' is out of range: a principal is more than 0.00 and at most 100,000,000,000.00"),
            ("min: \"1000.00\"", "min: \"500,000.00\"", "products.CL12.amount", "min 500,000.00 is above max 200,000.00"),
            ("term: {min: 3, max: 12}", "term: {min: 3, max: 700}", "products.CL12.term.max", "700 is out of range: a term is 1 to 600 months"),
            ("min: 7, max: 90", "min: 7, max: 4000", "products.BL90.term.max", "4000 is out of range: a bullet loan's term in days is 1 to 3660 days"),
            ("due_day: 20", "due_day: 32", "products.CL12.due_day", "32 is out of range: a due day is 1 to 31"),
            ("per_period: \"5.00\"", "per_period: \"-5.00\"", "products.BL90.fee.per_period",
             "'-5.00' is out of range: a fee is an amount from 0.00 to 100,000,000,000.00, like 5.00"),
            ("monthly_rate: \"0.3%\"", "monthly_rate: \"10%\"", "products.CL12.fee.monthly_rate",
             "'10%' is not a fee rate: a fee rate is a share of the principal each period, from 0% and below 10%, like 0.3%"),
        ]
        for item in ranges {
            let found = try #require(problem(item.from, item.to), "\(item.to)")
            #expect(found.keyPath == item.keyPath && found.message == item.message, "\(item.to): \(found)")
        }
        // Amounts are read as they print.
        let grouped = try ConfigLoader.load(yaml: Self.products.replacingOccurrences(of: "max: \"200000.00\"", with: "max: \"200,000.00\""),
                                            origin: "/srv/reckon/reckon.yaml")
        #expect(grouped.product("CL12")?.plan?.amountMinor == 100_000...20_000_000)
        let noCalendar = try #require(problem("calendar: data/calendar-cn.yaml\n", ""))
        #expect(noCalendar.keyPath == "products.CL12" && noCalendar.message.contains("names no calendar"))
    }
}
