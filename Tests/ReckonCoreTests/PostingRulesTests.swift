import ReckonCore
import Testing

@Suite("Posting rules")
struct PostingRulesTests {
    func context(margin: [String: Int64] = [:], products: [String: String] = [:], frozen: [String: Int64] = [:],
                 channel: String? = nil) -> PostingContext {
        PostingContext(currency: "CNY", partnerChannelCode: channel,
                       marginRate: { product in margin[product].map { DecimalAmount(units: $0, scale: 6) } },
                       productOfLoan: { products[$0] }, frozenMargin: { frozen[$0] ?? 0 })
    }

    func values(_ pairs: [String: FieldValue]) -> (String) -> FieldValue? { { pairs[$0] } }

    @Test func disbursementWithMarginFreeze() throws {
        let entries = try PostingRules.entries(for: .loanDisbursed, value: values([
            "loan_id": .text("L1"), "product": .text("CL12"), "principal": amount(1_200_000),
        ]), context: context(margin: ["CL12": 100_000]))
        #expect(entries.map(\.kind) == [.disbursement, .marginFreeze])
        #expect(entries.map(\.postings) == [
            [Posting("loan:L1:principal", 1_200_000, "CNY"), Posting("bank:settlement", -1_200_000, "CNY")],
            [Posting("margin:frozen:L1", 120_000, "CNY"), Posting("margin:available", -120_000, "CNY")],
        ])
        // No margin rate, no freeze.
        let plain = try PostingRules.entries(for: .loanDisbursed, value: values([
            "loan_id": .text("L1"), "product": .text("CL03"), "principal": amount(1_200_000),
        ]), context: context())
        #expect(plain.map(\.kind) == [.disbursement])
    }

    @Test func repaymentSplitAndMarginRelease() throws {
        let entries = try PostingRules.entries(for: .repayment, value: values([
            "loan_id": .text("L1"), "channel": .text("WXPAY"), "principal": amount(95942), "interest": amount(9000),
            "penalty": amount(394), "fee": amount(0), "total": amount(105_336),
        ]), context: context(margin: ["CL12": 100_000], products: ["L1": "CL12"], frozen: ["L1": 120_000]))
        #expect(entries.map(\.kind) == [.repayment, .marginRelease])
        #expect(entries.map(\.postings) == [
            [
                Posting("channel:WXPAY:clearing", 105_336, "CNY"), Posting("loan:L1:principal", -95942, "CNY"),
                Posting("income:interest", -9000, "CNY"), Posting("income:penalty", -394, "CNY"),
            ],
            // 959.42 × 10% = 95.942, rounded half-up to 95.94.
            [Posting("margin:available", 9594, "CNY"), Posting("margin:frozen:L1", -9594, "CNY")],
        ])
    }

    @Test func earlySettlementReleasesAllFrozenMargin() throws {
        let entries = try PostingRules.entries(for: .repayment, value: values([
            "loan_id": .text("L1"), "repay_type": .text("early_settlement"), "channel": .text("WXPAY"),
            "principal": amount(1_007_396), "interest": amount(4785), "penalty": amount(0), "fee": amount(0),
        ]), context: context(margin: ["CL12": 100_000], products: ["L1": "CL12"], frozen: ["L1": 100_740]))
        #expect(entries.map(\.kind) == [.repayment, .marginRelease])
        #expect(entries.last?.postings.first == Posting("margin:available", 100_740, "CNY"))
    }

    @Test func compensationIsPaidByTheGuarantor() throws {
        let entries = try PostingRules.entries(for: .repayment, value: values([
            "loan_id": .text("L1"), "repay_type": .text("compensation"), "channel": .text("WXPAY"),
            "principal": amount(100), "interest": amount(10), "penalty": amount(0), "fee": amount(0),
        ]), context: context())
        #expect(entries.map(\.kind) == [.compensation])
        #expect(entries.first?.postings.first == Posting("guarantor:compensation", 110, "CNY"))
    }

    @Test func totalsMustAddUp() throws {
        #expect(throws: PostingError("the total 10.53 is not principal + interest + penalty + fee = 10.50", field: "total")) {
            try PostingRules.entries(for: .repayment, value: values([
                "loan_id": .text("L1"), "principal": amount(1000), "interest": amount(50), "penalty": amount(0), "fee": amount(0),
                "total": amount(1053),
            ]), context: context())
        }
        #expect(throws: PostingError("a repayment's parts are never negative (-1000 minor units)", field: "principal")) {
            try PostingRules.entries(for: .repayment, value: values([
                "loan_id": .text("L1"), "principal": amount(-1000), "interest": amount(0), "penalty": amount(0), "fee": amount(0),
            ]), context: context())
        }
    }

    @Test func channelSettlementAndLinesThatMovedNoMoney() throws {
        let entries = try PostingRules.entries(for: .channelBillLine, value: values([
            "reference": .text("4200"), "amount": amount(104_942), "fee": amount(105), "settled": amount(104_837), "status": .text("success"),
        ]), context: context(channel: "WXPAY"))
        #expect(entries.first?.postings == [
            Posting("bank:settlement", 104_837, "CNY"), Posting("expense:channel_fee", 105, "CNY"),
            Posting("channel:WXPAY:clearing", -104_942, "CNY"),
        ])
        #expect(try PostingRules.entries(for: .channelBillLine, value: values([
            "reference": .text("4200"), "amount": amount(100), "status": .text("failed"),
        ]), context: context(channel: "WXPAY")).isEmpty)
        #expect(try PostingRules.entries(for: .bankStatementLine, value: values(["amount": amount(5)]), context: context()).isEmpty)
    }

    @Test func entriesMustBalance() throws {
        #expect(throws: PostingError("the postings do not balance: CNY is off by 1 minor units")) {
            try EntryDraft(.repayment, [Posting("a", 101, "CNY"), Posting("b", -100, "CNY")])
        }
        // Several currencies off: each is named, in order of its code, whatever order the
        // postings come in (a balanced one is not named).
        let expected = PostingError("the postings do not balance: CNY is off by 100 minor units, EUR is off by 7 minor units, "
                                    + "USD is off by -107 minor units")
        let postings = [Posting("a", 100, "CNY"), Posting("b", -107, "USD"), Posting("c", 7, "EUR"),
                        Posting("d", 5, "HKD"), Posting("e", -5, "HKD")]
        for rotation in 0..<postings.count {
            let order = Array(postings[rotation...] + postings[..<rotation])
            #expect(throws: expected) { try EntryDraft(.repayment, order) }
            #expect(throws: expected) { try EntryDraft(.repayment, order.reversed()) }
        }
        // Sums that leave 64 bits are refused, in one currency or several; zero legs drop out.
        let overflow = PostingError("the postings overflow 64-bit minor units")
        #expect(throws: overflow) { try EntryDraft(.repayment, [Posting("a", .max, "CNY"), Posting("b", 1, "CNY"), Posting("c", .min, "CNY")]) }
        #expect(throws: overflow) { try EntryDraft(.repayment, [Posting("a", .max, "CNY"), Posting("d", 1, "USD"), Posting("b", 1, "CNY")]) }
        #expect(try EntryDraft(.repayment, [Posting("a", 5, "CNY"), Posting("z", 0, "USD"), Posting("b", -5, "CNY")]).postings.count == 2)
    }

    @Test func marginSharesRoundHalfUp() {
        let tenPercent = DecimalAmount(units: 100_000, scale: 6)
        #expect(PostingRules.share(95942, tenPercent) == 9594)
        #expect(PostingRules.share(95945, tenPercent) == 9595)  // 9594.5 → 9595
        #expect(PostingRules.share(Int64.max / 2, DecimalAmount(units: 999_999, scale: 6)) != nil)
    }

    /// Every account the chart names, with its kind and loan as the account table stores them.
    @Test func accountKindAndLoan() {
        #expect(Account.kindAndLoan(of: Account.principal("L1")) == ("loan", "L1"))
        #expect(Account.kindAndLoan(of: Account.interest("贷款01")) == ("loan", "贷款01"))
        #expect(Account.kindAndLoan(of: Account.marginFrozen("L1")) == ("margin", "L1"))
        #expect(Account.kindAndLoan(of: Account.marginAvailable) == ("margin", nil))
        #expect(Account.kindAndLoan(of: Account.channelClearing("ALIPAY")) == ("channel", nil))
        #expect(Account.kindAndLoan(of: Account.interestIncome) == ("income", nil))
        #expect(Account.kindAndLoan(of: Account.suspense) == ("suspense", nil))
        #expect(Account.kindAndLoan(of: "cash") == ("cash", nil))
        #expect(Account.kindAndLoan(of: "margin:frozen:a:b") == ("margin", nil))
    }
}
