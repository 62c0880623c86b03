import Foundation

/// What a scheduled task does: one of a fixed set (seed 000 §15 2, the tasks that apply to
/// reckon). The raw value is the method's name in reckon.yaml.
public enum TaskMethod: String, Sendable, CaseIterable {
    /// 日结初始化: the settle and deliver steps of the day before (`days_back`), so the
    /// partners get their settlement files.
    case settleDay = "settle_day"
    /// 次年日历配置提醒: an alert when the working-day calendar lacks next year.
    case calendarReminder = "calendar_next_year"
    /// 每月20日LPR利率配置提醒: an alert when the base-rate history has no fixing this month.
    case lprReminder = "lpr_reminder"
    /// 账户余额预警: the latest statement balance of every account against the warning line.
    case balanceCheck = "balance_check"
    /// 放款第二天后，查询是否缺少资产的还款计划: the plan step of the day, which raises
    /// `missing_partner_plan` for loans disbursed the day before without a partner plan.
    case missingPlanCheck = "missing_plan_check"
    /// 定时至sftp等拉取账单: collect (fetching SFTP drops) and ingest of the day.
    case pullBills = "pull_bills"
    /// 根据sftp核验账单数据: the reconcile step of the day before.
    case verifyBills = "verify_bills"

    /// The parameters the method takes (`parameters:` in reckon.yaml), with what each is.
    public var parameters: [(name: String, meaning: String)] {
        let daysBack = ("days_back", "which business day: today less this many days")
        let partner = ("partner", "only this partner (default: every partner)")
        switch self {
        case .settleDay: return [daysBack, partner]
        case .calendarReminder, .lprReminder, .missingPlanCheck: return []
        case .balanceCheck:
            return [("accounts", "only these accounts, comma-separated (default: every account with a statement balance)"),
                    ("warning_line", "the warning line (default: thresholds: balance_warning)")]
        case .pullBills: return [partner, daysBack]
        case .verifyBills: return [daysBack]
        }
    }

    /// `days_back` when the method is given none.
    public var defaultDaysBack: Int {
        switch self {
        case .settleDay, .verifyBills: return 1
        default: return 0
        }
    }
}

/// One scheduled task from reckon.yaml's `tasks:` (seed 000 §15 1): its identifier (the key,
/// letters and underscores, at most 50; it cannot change, a new identifier is a new task),
/// its name (unique, at most 50 characters), schedule, method and parameters.
public struct TaskConfig: Sendable {
    public let id: String
    public let name: String
    public let schedule: TaskSchedule
    public let method: TaskMethod
    /// As given, in order; values as text.
    public let parameters: [(name: String, value: String)]

    public init(id: String, name: String, schedule: TaskSchedule, method: TaskMethod, parameters: [(name: String, value: String)] = []) {
        self.id = id
        self.name = name
        self.schedule = schedule
        self.method = method
        self.parameters = parameters
    }

    public func parameter(_ name: String) -> String? { parameters.first { $0.name == name }?.value }

    /// `days_back`, or the method's default.
    public var daysBack: Int { parameter("days_back").flatMap { Int($0) } ?? method.defaultDaysBack }

    /// The longest identifier and name (seed 000 §15: 上限50个字符).
    public static let maximumLength = 50
}

enum TaskConfigLoader {
    /// `tasks:` — each task under its identifier:
    ///
    /// ```yaml
    /// tasks:
    ///   daily_settlement:
    ///     name: daily settlement (日结初始化)
    ///     schedule: {cron: "30 6 * * *", days: working-days}
    ///     method: settle_day
    ///     parameters: {days_back: 1}
    /// ```
    static func load(_ node: SpecNode, hasCalendar: Bool, partners: [PartnerConfig]) throws(SpecError) -> [TaskConfig] {
        var tasks: [TaskConfig] = []
        var names: [String: String] = [:]
        for (id, taskNode) in try node.entries() {
            guard !id.isEmpty, id.count <= TaskConfig.maximumLength,
                  id.unicodeScalars.allSatisfy({ ($0.isASCII && $0.properties.isAlphabetic) || $0 == "_" }) else {
                throw taskNode.error("a task's identifier is letters and underscores, at most \(TaskConfig.maximumLength): '\(id)' is not")
            }
            let map = try taskNode.mapping(allowed: ["name", "schedule", "method", "parameters"])
            let nameNode = try map.required("name")
            let name = try nameNode.string()
            guard !name.trimmingCharacters(in: .whitespaces).isEmpty, name.count <= TaskConfig.maximumLength else {
                throw nameNode.error("a task's name is 1 to \(TaskConfig.maximumLength) characters; this has \(name.count)")
            }
            if let other = names[name] { throw nameNode.error("the name '\(name)' is task \(other)'s already: names are unique") }
            names[name] = id
            let methodNode = try map.required("method")
            let methodText = try methodNode.string()
            guard let method = TaskMethod(rawValue: methodText) else {
                throw methodNode.error("'\(methodText)' is not a task method; the methods are "
                                       + TaskMethod.allCases.map(\.rawValue).joined(separator: ", "))
            }
            let schedule = try schedule(try map.required("schedule"), hasCalendar: hasCalendar)
            var parameters: [(name: String, value: String)] = []
            if let parametersNode = map["parameters"] {
                let allowed = method.parameters.map(\.name)
                let given = try parametersNode.mapping(allowed: allowed)
                for (key, valueNode) in given.entries {
                    let value = try valueNode.string()
                    switch key {
                    case "days_back":
                        guard let days = Int(value), (0...366).contains(days) else { throw valueNode.error("'\(value)' is not a number of days 0-366") }
                    case "partner":
                        guard partners.contains(where: { $0.id == value }) else {
                            throw valueNode.error("no partner '\(value)'; the configuration has \(partners.map(\.id).joined(separator: ", "))")
                        }
                    case "warning_line":
                        _ = try ConfigLoader.money(valueNode)
                    default:
                        break
                    }
                    parameters.append((key, value))
                }
            }
            tasks.append(TaskConfig(id: id, name: name, schedule: schedule, method: method, parameters: parameters))
        }
        return tasks
    }

    /// `"*/5 * * * *"`, or `{cron: "0 6 * * *", days: working-days}`.
    private static func schedule(_ node: SpecNode, hasCalendar: Bool) throws(SpecError) -> TaskSchedule {
        var cronNode = node
        var daysNode: SpecNode?
        if !node.isScalar {
            let map = try node.mapping(allowed: ["cron", "days"])
            cronNode = try map.required("cron")
            daysNode = map["days"]
        }
        let cronText = try cronNode.string()
        do {
            let cron = try CronExpression(cronText)
            let days = try daysNode.map { n throws(SpecError) -> ScheduleDays in
                do {
                    return try ScheduleDays(try n.string(), schedule: cron.text)
                } catch let error as ScheduleError {
                    throw n.error(error.description)
                } catch let error as SpecError {
                    throw error
                } catch {
                    throw n.error("\(error)")
                }
            } ?? .everyDay
            if days.needsCalendar && !hasCalendar, let daysNode {
                throw daysNode.error("\(days) needs the working-day calendar, but reckon.yaml names none (calendar: data/calendar-cn.yaml)")
            }
            return try TaskSchedule(cron: cron, days: days)
        } catch let error as ScheduleError {
            throw cronNode.error(error.description)
        } catch let error as SpecError {
            throw error
        } catch {
            throw cronNode.error("\(error)")
        }
    }
}
