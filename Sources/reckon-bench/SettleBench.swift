#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import Foundation
import ReckonCore
import ReckonFiles

/// `reckon-bench settle`: the bank's settlement file of a 1,000,000-repayment day written
/// through its spec (mappings/bank-settlement.yaml) by SpecFileWriter, next to parsing the
/// same file back through the same spec.
struct SettleBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "settle",
        abstract: "Writing the settlement file through its spec, against parsing it back.",
        discussion: """
            In a fresh child process each: SpecFileWriter writes N repayments in the bank's \
            fixed-width GBK settlement layout (values built per record as the settle step would, \
            by field index; the header first, the trailer's totals computed, the file hashed as it \
            is written, then fsync), and the written file is read \
            back through the same spec with full validation and control totals (the parse \
            figures). With --scale-check the file is also written ten times larger, to show that \
            peak memory does not grow with it. Each task runs --runs times; the best is reported.
            """
    )

    @Option(help: "Repayments in the file.")
    var records = 1_000_000

    @Option(help: "Folder for the written files.")
    var workDir = "/tmp/reckon-bench"

    @Option(help: "The folder holding the specs.")
    var mappings = "mappings"

    @Option(help: "Timed runs per measurement; the best is reported.")
    var runs = 3

    @Flag(inversion: .prefixedNo, help: "Also write and parse a file ten times larger (peak memory must stay flat).")
    var scaleCheck = false

    func run() throws {
        mkdir(workDir, 0o755)
        let specPath = "\(mappings)/bank-settlement.yaml"
        print(MachineInfo.describe())
        print("records: \(records.formatted())\n")
        var rows: [ResultRow] = []
        for count in scaleCheck ? [records, records * 10] : [records] {
            let path = "\(workDir)/settle-out-\(count).txt"
            let label = count == records ? "settlement" : "settlement ×10"
            let runs = count == records ? max(1, self.runs) : 1
            func best(_ arguments: [String]) throws -> Measurement {
                try (0..<runs).map { _ in try Child.measure(arguments) }.min { $0.seconds < $1.seconds }!
            }
            let render = try best(["measure-settle", "--spec", specPath, "--records", String(count), path])
            let parse = try best(["measure", "--mode", "parse", "--spec", specPath, path])
            rows.append(ResultRow(file: label, task: "parse + validate", measurement: parse, ceiling: nil))
            rows.append(ResultRow(file: label, task: "render (SpecFileWriter)", measurement: render, ceiling: parse))
            unlink(path)
        }
        print(ResultRow.table(rows).replacingOccurrences(of: "time ÷ line scan", with: "time ÷ parse"))
    }
}

/// The measured writing, run in a child so its peak memory is its own.
struct MeasureSettle: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "measure-settle", shouldDisplay: false)

    @Option var spec: String
    @Option var records: Int
    @Argument var file: String

    func run() throws {
        let loaded = try SpecFile.load(spec)
        let day = CivilDate(year: 2024, month: 12, day: 16)!
        // Loan ids and references as a settle step has them: strings it read from the ledger.
        let loans = (0..<10_000).map { FieldValue.text("L2024" + String(100_000_000_000 + $0)) }
        let start = Clock.now()
        // The header's values are known up front (it holds no totals): written first, the
        // file hashed as it is written.
        let writer = try SpecFileWriter(spec: loaded, path: file, header: [
            "file_type": .text("SETTLE"), "bank_code": .text("BKCN0001"), "business_date": .date(day),
            "created_at": .dateTime(DateTime(date: day, time: TimeOfDay(hour: 0, minute: 0, second: 0)!)), "currency": .text("CNY"),
        ])
        let kind = try writer.kind(named: "repayment")
        func index(_ name: String) -> Int { kind.fieldIndex(named: name)! }
        let (sequence, loan, period, type, paidOn) = (index("sequence"), index("loan_id"), index("period"), index("repay_type"), index("paid_on"))
        let (principalAt, interestAt, penaltyAt, feeAt, totalAt) = (index("principal"), index("interest"), index("penalty"), index("fee"), index("total"))
        let (currency, reference, status, remark) = (index("currency"), index("channel_reference"), index("status"), index("remark"))
        var values = [FieldValue](repeating: .empty, count: kind.fields.count)
        var seed: UInt64 = 0x9E37_79B9_7F4A_7C15
        for record in 0..<records {
            seed = seed &* 6364136223846793005 &+ 1442695040888963407
            let random = seed >> 33
            let roll = random % 100
            let principal = Int64(random % 500_000) + 1_000
            let interest = Int64((random >> 8) % 20_000)
            let penalty: Int64 = roll >= 95 ? Int64((random >> 4) % 2_000) + 1 : 0
            values[sequence] = .integer(Int64(record + 1))
            values[loan] = loans[record % loans.count]
            values[period] = .integer(Int64(1 + record % 36))
            values[type] = .text(roll < 90 ? "normal" : roll < 95 ? "early_settlement" : "overdue")
            values[paidOn] = .date(day)
            values[principalAt] = .decimal(DecimalAmount(units: principal, scale: 2))
            values[interestAt] = .decimal(DecimalAmount(units: interest, scale: 2))
            values[penaltyAt] = .decimal(DecimalAmount(units: penalty, scale: 2))
            values[feeAt] = .decimal(DecimalAmount(units: 0, scale: 2))
            values[totalAt] = .decimal(DecimalAmount(units: principal + interest + penalty, scale: 2))
            values[currency] = .text("CNY")
            values[reference] = record % 4 == 0 ? .empty : loans[(record / 4) % loans.count]
            values[status] = .text("settled")
            values[remark] = roll >= 90 && roll < 95 ? .text("提前结清") : .empty
            try writer.add(kind, values: values)
        }
        let file = try writer.finish()
        let seconds = Clock.now() - start
        print("\(seconds) \(file.sizeBytes) \(file.recordCount) \(PeakMemory.kibibytes())")
    }
}
