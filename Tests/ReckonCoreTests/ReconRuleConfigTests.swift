import ReckonCore
import Testing

@Suite("Reconciliation rules in reckon.yaml")
struct ReconRuleConfigTests {
    static let yaml = """
        partners:
          platform:
            role: platform
            files:
              repayments: {spec: mappings/platform-repayments.yaml, name: "PLAT_REPAY_{yyyyMMdd}.csv", post: true}
              plans: {spec: mappings/platform-plans.yaml, name: "PLAT_PLAN_{yyyyMMdd}.csv"}
          channel:
            role: channel
            channel_code: WXPAY
            files:
              bills: {spec: mappings/channel-bill.yaml, name: "PAY_BILL_*_{yyyy-MM-dd}.csv"}
        calendar: data/calendar-cn.yaml
        reconciliation:
          approval_above: "50,000.00"
          rules:
            bill:
              partner: channel
              left: {events: repayment, partner: platform, file_type: repayments, where: {status: success}}
              right: {events: channel_bill_line, partner: channel, file_type: bills}
              key: [reference]
              compare:
                amount: {tolerance: {minor: 1, bp: 5, combine: min}}
                status: {field: status}
                day: {left: day, right: value_day, window_days: 1}
              pending_days: 2
              failed: {right: {status: {in: [FAILED, CLOSED]}}}
            plan:
              partner: platform
              calendar: weekdays
              left: {ours: plan_lines}
              right: {events: plan_line, partner: platform, file_type: plans}
              key: [loan_id, period]
              missing_per: [loan_id]
              compare:
                total: {}
        """

    static func load(_ yaml: String = yaml) throws(SpecError) -> ReckonConfig {
        try ConfigLoader.load(yaml: yaml, origin: "/srv/reckon/reckon.yaml")
    }

    /// The error `yaml` gives with `replace` replaced by `with`, as `key path: message`.
    static func error(_ replace: String, with replacement: String, resolving: Bool = false) -> String? {
        let text = yaml.replacingOccurrences(of: replace, with: replacement)
        guard text != yaml else { return "the test's text '\(replace)' is not in the configuration" }
        do {
            let config = try load(text)
            if resolving { _ = try config.reconciliation.resolvingFields(fieldKinds) }
            return nil
        } catch {
            return "\(error.keyPath): \(error.message)"
        }
    }

    /// The sides' fields, as the specs would give them.
    static func fieldKinds(_ source: ReconSource, _ name: String) -> ReconFieldLookup {
        kind(source, name).map(ReconFieldLookup.kind) ?? .unknown
    }

    static func kind(_ source: ReconSource, _ name: String) -> ReconFieldKind? {
        switch source.origin {
        case .planLines: return ReconSource.planLineFields[name]
        case .allocations: return ReconSource.allocationFields[name]
        case .events(.repayment, _, _):
            return ["reference": .text, "amount": .amount, "status": .text, "day": .date, "loan_id": .text][name]
                ?? ReconSource.eventFields[name]
        case .events:
            return ["reference": .text, "amount": .amount, "status": .text, "value_day": .date, "loan_id": .text, "period": .integer,
                    "total": .amount][name] ?? ReconSource.eventFields[name]
        }
    }

    @Test func rulesAsWritten() throws {
        let config = try Self.load()
        let reconciliation = try config.reconciliation.resolvingFields(Self.fieldKinds)
        #expect(reconciliation.approvalAboveMinor == 5_000_000)
        #expect(reconciliation.rules.map(\.name) == ["bill", "plan"])
        let bill = try #require(reconciliation.rule("bill"))
        #expect(bill.partner == "channel")
        #expect(bill.place.description == "/srv/reckon/reckon.yaml:17: reconciliation.rules.bill")
        // The configured calendar unless the rule names one.
        #expect(bill.calendar == "cn")
        #expect(reconciliation.rule("plan")?.calendar == "weekdays")
        #expect(bill.key.map(\.left.name) == ["reference"] && bill.key.map(\.right.name) == ["reference"])
        #expect(bill.compared.map(\.name) == ["amount", "status", "day"])
        #expect(bill.compared.map(\.kind) == [.amount, .text, .date])
        #expect(bill.compared[0].tolerance == Tolerance(minor: 1, basisPoints: 5, combine: .min))
        #expect(bill.compared[2].fields.left.name == "day" && bill.compared[2].fields.right.name == "value_day")
        #expect(bill.compared[2].windowDays == 1)
        #expect(bill.pendingDays == 2 && bill.grouping == .oneToOne && bill.missingPerKeyParts == nil)
        #expect(bill.failedLeft.isEmpty && bill.failedRight.map(\.test) == [.oneOf(["FAILED", "CLOSED"])])
        let sides = try #require(bill.sources)
        #expect(sides.left.origin == .events(.repayment, partner: "platform", fileType: "repayments"))
        #expect(sides.left.conditions.map(\.test) == [.equals("success")])
        let plan = try #require(reconciliation.rule("plan"))
        #expect(plan.sources?.left.origin == .planLines && plan.missingPerKeyParts == 1)
    }

    @Test func withoutACalendarRulesCountWeekdays() throws {
        let config = try Self.load(Self.yaml.replacingOccurrences(of: "calendar: data/calendar-cn.yaml\n", with: ""))
        #expect(config.reconciliation.rule("bill")?.calendar == "weekdays")
    }

    @Test func everyRefusalNamesItsKey() {
        let partners = "partners are platform, channel"
        #expect(Self.error("partner: channel\n      left", with: "partner: bank\n      left")
                == "reconciliation.rules.bill.partner: unknown partner 'bank'; \(partners)")
        #expect(Self.error("partner: channel, file_type", with: "partner: bank, file_type")
                == "reconciliation.rules.bill.right.partner: unknown partner 'bank'; \(partners)")
        #expect(Self.error("file_type: bills", with: "file_type: bill")
                == "reconciliation.rules.bill.right.file_type: partner channel has no file type 'bill'; it has bills")
        let events = CanonicalEvent.allCases.map(\.rawValue).joined(separator: ", ")
        #expect(Self.error("events: repayment", with: "events: repayments")
                == "reconciliation.rules.bill.left.events: unknown source event 'repayments'; events are \(events)")
        #expect(Self.error("ours: plan_lines", with: "ours: plans")
                == "reconciliation.rules.plan.left.ours: unknown source 'plans'; our own sources are plan_lines and allocations")
        #expect(Self.error("calendar: weekdays", with: "calendar: workdays")
                == "reconciliation.rules.plan.calendar: unknown calendar 'workdays'; calendars are cn, calendar-cn, weekdays, calendar-days")
        #expect(Self.error("pending_days: 2", with: "grouping: one-to-some")
                == "reconciliation.rules.bill.grouping: expected one-to-one, one-to-many, many-to-one, many-to-many")
        #expect(Self.error("combine: min", with: "combine: least")
                == "reconciliation.rules.bill.compare.amount.tolerance.combine: expected max (either allowance suffices) or min (both must hold)")
        #expect(Self.error("{ours: plan_lines}", with: "{ours: plan_lines, partner: platform}")
                == "reconciliation.rules.plan.left: a side is either our own records (ours) or a partner's events (events, partner, file_type), not both")
    }

    @Test func missingPerNamesLeadingKeyParts() {
        let refusal = "reconciliation.rules.plan.missing_per: name leading key fields (by their left names), fewer than the whole key: loan_id, period"
        #expect(Self.error("missing_per: [loan_id]", with: "missing_per: [period]") == refusal)
        #expect(Self.error("missing_per: [loan_id]", with: "missing_per: [loan_id, period]") == refusal)
        #expect(Self.error("missing_per: [loan_id]", with: "missing_per: loan_id") == nil)
    }

    /// Found here: a tolerance or a window on the wrong kind of field was blamed on the
    /// field's name (`compare.status.field`), not on the tolerance or window.
    @Test func fieldsAreCheckedAgainstTheSidesWithTheirKeys() {
        #expect(Self.error("status: {field: status}", with: "status: {field: status, tolerance: {minor: 1}}", resolving: true)
                == "reconciliation.rules.bill.compare.status.tolerance: a tolerance applies to amounts; status is text")
        #expect(Self.error("amount: {tolerance: {minor: 1, bp: 5, combine: min}}", with: "amount: {window_days: 2}", resolving: true)
                == "reconciliation.rules.bill.compare.amount.window_days: window_days applies to dates; amount is amount")
        #expect(Self.error("key: [reference]", with: "key: [ref]", resolving: true)
                == "reconciliation.rules.bill.key.0: unknown field 'ref' for this side (repayment events of platform/repayments)")
        #expect(Self.error("status: {field: status}", with: "fee: {}", resolving: true)
                == "reconciliation.rules.bill.compare.fee: unknown field 'fee' for this side (repayment events of platform/repayments)")
        #expect(Self.error("right: value_day", with: "right: settled_on", resolving: true)
                == "reconciliation.rules.bill.compare.day.right: unknown field 'settled_on' for this side (channel_bill_line events of channel/bills)")
        #expect(Self.error("where: {status: success}", with: "where: {state: success}", resolving: true)
                == "reconciliation.rules.bill.left.where.state: unknown field 'state' for this side (repayment events of platform/repayments)")
        #expect(Self.error("{status: {in: [FAILED, CLOSED]}}", with: "{status: {in: [FAILED]}, code: X}", resolving: true)
                == "reconciliation.rules.bill.failed.right.code: unknown field 'code' for this side (channel_bill_line events of channel/bills)")
        #expect(Self.error("total: {}", with: "total: {field: balance_due}", resolving: true)
                == "reconciliation.rules.plan.compare.total.field: unknown field 'balance_due' for this side (our plan lines)")
        #expect(Self.error("key: [reference]", with: "key: [-reference]", resolving: true)
                == "reconciliation.rules.bill.key.0: only an amount can be negated; 'reference' is not one")
        #expect(Self.error("right: value_day", with: "right: amount", resolving: true)
                == "reconciliation.rules.bill.compare.day.right: compares day (date) with amount (amount): unlike kinds")
        // A negated amount is fine.
        #expect(Self.error("amount: {tolerance: {minor: 1, bp: 5, combine: min}}", with: "amount: {left: amount, right: -amount}", resolving: true) == nil)
    }
}
