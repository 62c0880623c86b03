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
            let core = try best(["measure-settle", "--spec", specPath, "--records", String(count), "--core-only", path])
            let parse = try best(["measure", "--mode", "parse", "--spec", specPath, path])
            let input = try best(["measure-settle", "--spec", specPath, "--records", String(count), "--values-only", path])
            rows.append(ResultRow(file: label, task: "parse + validate", measurement: parse, ceiling: nil))
            rows.append(ResultRow(file: label, task: "building the values only (render's input)", measurement: input, ceiling: parse))
            rows.append(ResultRow(file: label, task: "render, bytes only (FileRenderer)", measurement: core, ceiling: parse))
            rows.append(ResultRow(file: label, task: "render to disk (SpecFileWriter, SHA-256, fsync)", measurement: render, ceiling: parse))
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
    @Flag(help: "Render the bytes through FileRenderer and drop them: no file, digest or fsync.")
    var coreOnly = false
    @Flag(help: "Only build the values, render nothing: the render figures' input, which parsing has no counterpart of.")
    var valuesOnly = false
    @Argument var file: String

    func run() throws {
        let loaded = try SpecFile.load(spec)
        let day = CivilDate(year: 2024, month: 12, day: 16)!
        // Loan ids and references as a settle step has them: strings it read from the ledger.
        let loans = (0..<10_000).map { FieldValue.text("L2024" + String(100_000_000_000 + $0)) }
        let start = Clock.now()
        if coreOnly {
            try renderBytes(loaded, day: day, loans: loans, start: start)
            return
        }
        if valuesOnly {
            let kind = try FileRenderer(plan: try RenderPlan(spec: loaded)).detailKind(named: "repayment")
            let at = FieldIndexes(kind)
            var values = [FieldValue](repeating: .empty, count: kind.fields.count)
            var seed: UInt64 = 0x9E37_79B9_7F4A_7C15
            var checksum = 0
            for record in 0..<records {
                fill(&values, record: record, seed: &seed, at: at, day: day, loans: loans)
                // Keeps the optimiser from dropping the work.
                if case .decimal(let total) = values[at.total] { checksum &+= Int(total.units) }
            }
            let seconds = Clock.now() - start
            print("\(seconds) \(checksum == 42 ? 1 : 0) \(records) \(PeakMemory.kibibytes())")
            return
        }
        // The header's values are known up front (it holds no totals): written first, the
        // file hashed as it is written.
        let writer = try SpecFileWriter(spec: loaded, path: file, header: [
            "file_type": .text("SETTLE"), "bank_code": .text("BKCN0001"), "business_date": .date(day),
            "created_at": .dateTime(DateTime(date: day, time: TimeOfDay(hour: 0, minute: 0, second: 0)!)), "currency": .text("CNY"),
        ])
        let kind = try writer.kind(named: "repayment")
        let at = FieldIndexes(kind)
        var values = [FieldValue](repeating: .empty, count: kind.fields.count)
        var seed: UInt64 = 0x9E37_79B9_7F4A_7C15
        for record in 0..<records {
            fill(&values, record: record, seed: &seed, at: at, day: day, loans: loans)
            try writer.add(kind, values: values)
        }
        let file = try writer.finish()
        let seconds = Clock.now() - start
        print("\(seconds) \(file.sizeBytes) \(file.recordCount) \(PeakMemory.kibibytes())")
    }

    /// The same records through the pure renderer, into a buffer emptied every megabyte.
    private func renderBytes(_ spec: MappingSpec, day: CivilDate, loans: [FieldValue], start: Double) throws {
        var renderer = try FileRenderer(plan: try RenderPlan(spec: spec))
        let kind = try renderer.detailKind(named: "repayment")
        let at = FieldIndexes(kind)
        var values = [FieldValue](repeating: .empty, count: kind.fields.count)
        var seed: UInt64 = 0x9E37_79B9_7F4A_7C15
        var buffer: [UInt8] = []
        buffer.reserveCapacity(1 << 21)
        var bytes = 0
        for record in 0..<records {
            fill(&values, record: record, seed: &seed, at: at, day: day, loans: loans)
            try renderer.append(kind, values, to: &buffer)
            if buffer.count >= 1 << 20 { bytes += buffer.count; buffer.removeAll(keepingCapacity: true) }
        }
        bytes += buffer.count + renderer.prologue().count
        bytes += try renderer.header([
            "file_type": .text("SETTLE"), "bank_code": .text("BKCN0001"), "business_date": .date(day),
            "created_at": .dateTime(DateTime(date: day, time: TimeOfDay(hour: 0, minute: 0, second: 0)!)), "currency": .text("CNY"),
        ]).count
        bytes += try renderer.trailer([:]).count
        let seconds = Clock.now() - start
        print("\(seconds) \(bytes) \(renderer.recordCount) \(PeakMemory.kibibytes())")
    }

    /// One repayment's values, by field index, as the settle step would build them.
    private func fill(_ values: inout [FieldValue], record: Int, seed: inout UInt64, at: FieldIndexes, day: CivilDate, loans: [FieldValue]) {
        let (sequence, loan, period, type, paidOn) = (at.sequence, at.loan, at.period, at.type, at.paidOn)
        let (principalAt, interestAt, penaltyAt, feeAt, totalAt) = (at.principal, at.interest, at.penalty, at.fee, at.total)
        let (currency, reference, status, remark) = (at.currency, at.reference, at.status, at.remark)
        do {
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
        }
    }
}

/// The repayment's field positions, looked up by name once.
struct FieldIndexes {
    let sequence, loan, period, type, paidOn, principal, interest, penalty, fee, total, currency, reference, status, remark: Int

    init(_ kind: RecordKind) {
        func index(_ name: String) -> Int { kind.fieldIndex(named: name)! }
        (sequence, loan, period, type, paidOn) = (index("sequence"), index("loan_id"), index("period"), index("repay_type"), index("paid_on"))
        (principal, interest, penalty, fee, total) = (index("principal"), index("interest"), index("penalty"), index("fee"), index("total"))
        (currency, reference, status, remark) = (index("currency"), index("channel_reference"), index("status"), index("remark"))
    }
}
