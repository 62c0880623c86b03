#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import Foundation
import ReckonCore
import ReckonFiles

/// The reconcile benchmark's day: N platform repayments and N channel bill lines for the
/// same business day, written through the shipped specs (PLAT_REPAY_*.csv in UTF-8, PAY_BILL_*.csv
/// in GBK with back-ticks and summary lines) and, with the same values, as plain UTF-8 CSV
/// for pandas and DuckDB.
///
/// The collections are numbered 0..<N + N/2000 and cut into blocks of 2001 (N must be a
/// multiple of 2000): in each block one collection is missing from the bill (offset 3),
/// one is missing from the platform's file (offset 1003), and two differ in amount (offsets
/// 500, a cent more on the bill, and 1500, a yuan less). So each side has N items, 0.05% of
/// them missing on the other side and 0.1% of the pairs a different amount. Both files are
/// in time order, and the references are a permutation of the collection numbers, so
/// neither side arrives in key order.
struct ReconcileData {
    let size: Int
    let day = CivilDate(year: 2024, month: 12, day: 16)!

    static let block = 2001

    /// Collections missing on each side, and pairs whose amounts differ.
    var missingPerSide: Int { size / 2000 }
    var amountDifferences: Int { size / 1000 }
    var collections: Int { size + missingPerSide }

    init(size: Int) throws {
        guard size > 0, size % 2000 == 0 else { throw ValidationError("--size must be a positive multiple of 2,000 (got \(size))") }
        self.size = size
    }

    /// Where the files go: `folder/inbox/{platform,channel}/` and `folder/csv/`.
    struct Paths {
        let repayments: String
        let bill: String
        let repaymentsCSV: String
        let billCSV: String
    }

    func paths(in folder: String) -> Paths {
        let stamp = "20241216"
        return Paths(repayments: "\(folder)/inbox/platform/PLAT_REPAY_\(stamp).csv", bill: "\(folder)/inbox/channel/PAY_BILL_\(stamp).csv",
                     repaymentsCSV: "\(folder)/csv/repayments.csv", billCSV: "\(folder)/csv/bill.csv")
    }

    /// One collection: what the platform says and what the channel's bill says of it.
    struct Collection {
        let index: Int
        let reference: String
        let repayID: String
        let loanID: String
        let period: Int
        let repayType: String
        let second: Int
        let principal: Int64
        let interest: Int64
        let penalty: Int64
        var total: Int64 { principal + interest + penalty }
        let billAmount: Int64
        let onPlatform: Bool
        let onBill: Bool
    }

    func collection(_ index: Int) -> Collection {
        let offset = index % Self.block
        var random = SplitMix64(seed: UInt64(index) &+ 0x5EED)
        let roll = random.next() % 100
        let repayType = roll < 90 ? "normal" : roll < 95 ? "early_settlement" : "overdue"
        let principal = Int64(random.next() % 500_000) + 1_000
        let interest = Int64(random.next() % 20_000)
        let penalty: Int64 = repayType == "overdue" ? Int64(random.next() % 2_000) + 1 : 0
        let total = principal + interest + penalty
        let billAmount = offset == 500 ? total + 1 : offset == 1500 ? total - 100 : total
        // A permutation of 0..<collections (the multiplier is prime to it): references in no
        // particular order against the files' time order.
        let permuted = Int((UInt64(index) &* multiplier &+ 12_345) % UInt64(collections))
        return Collection(index: index, reference: "4200" + "20241216" + Self.pad(permuted, 12),
                          repayID: "R20241216" + Self.pad(index, 10), loanID: "L2024" + Self.pad(index % 9_999_999, 12),
                          period: 1 + index % 12, repayType: repayType, second: Int(Int64(index) * 86_400 / Int64(collections)),
                          principal: principal, interest: interest, penalty: penalty, billAmount: billAmount,
                          onPlatform: offset != 1003, onBill: offset != 3)
    }

    /// A multiplier prime to the number of collections.
    private var multiplier: UInt64 {
        var candidate: UInt64 = 2_654_435_761
        while gcd(candidate, UInt64(collections)) != 1 { candidate += 2 }
        return candidate
    }

    private func gcd(_ a: UInt64, _ b: UInt64) -> UInt64 { b == 0 ? a : gcd(b, a % b) }

    /// Writes the four files unless they are there (deterministic: same size, same bytes).
    func write(into folder: String, mappings: String) throws -> Paths {
        let paths = paths(in: folder)
        if [paths.repayments, paths.bill, paths.repaymentsCSV, paths.billCSV].allSatisfy({ FileManager.default.fileExists(atPath: $0) }) {
            return paths
        }
        for sub in ["inbox/platform", "inbox/channel", "csv"] {
            try FileManager.default.createDirectory(atPath: "\(folder)/\(sub)", withIntermediateDirectories: true)
        }
        let repaymentSpec = try SpecFile.load("\(mappings)/platform-repayments.yaml")
        let billSpec = try SpecFile.load("\(mappings)/channel-bill.yaml")
        let repayments = try SpecWriter(paths.repayments, spec: repaymentSpec, newline: [0x0A])
        let bill = try SpecWriter(paths.bill, spec: billSpec, newline: [0x0D, 0x0A])
        let repaymentsCSV = try AtomicFile(path: paths.repaymentsCSV)
        let billCSV = try AtomicFile(path: paths.billCSV)
        try repaymentsCSV.write("repay_id,loan_id,period,repay_type,paid_at,principal,interest,penalty,fee,total,channel,channel_reference,status\n")
        try billCSV.write("occurred_at,merchant_id,merchant_order,reference,type,status,amount,fee,settled\n")
        var repaymentCount = 0, repaymentTotal: Int64 = 0
        var billCount = 0, billAmount: Int64 = 0, billFees: Int64 = 0, billSettled: Int64 = 0
        for index in 0..<collections {
            let item = collection(index)
            let time = TimeOfDay(hour: item.second / 3600, minute: item.second / 60 % 60, second: item.second % 60)!
            let at = DateTime(date: day, time: time)
            let shown = "\(day) \(time)"
            if item.onPlatform {
                repaymentCount += 1
                repaymentTotal += item.total
                try repayments.add("repayment", [
                    "repay_id": .text(item.repayID), "loan_id": .text(item.loanID), "period": .integer(Int64(item.period)),
                    "repay_type": .text(item.repayType), "paid_at": .dateTime(at), "principal": Self.money(item.principal),
                    "interest": Self.money(item.interest), "penalty": Self.money(item.penalty), "fee": Self.money(0),
                    "total": Self.money(item.total), "channel": .text("WXPAY"), "channel_reference": .text(item.reference),
                    "status": .text("success"),
                ])
                try repaymentsCSV.write("\(item.repayID),\(item.loanID),\(item.period),\(item.repayType),\(shown),"
                    + "\(Self.plain(item.principal)),\(Self.plain(item.interest)),\(Self.plain(item.penalty)),0.00,"
                    + "\(Self.plain(item.total)),WXPAY,\(item.reference),success\n")
            }
            if item.onBill {
                let fee = (item.billAmount + 500) / 1000
                billCount += 1
                billAmount += item.billAmount
                billFees += fee
                billSettled += item.billAmount - fee
                try bill.add("transaction", [
                    "occurred_at": .dateTime(at), "merchant_id": .text("1900000109"), "merchant_order": .text(item.repayID),
                    "reference": .text(item.reference), "type": .text("collection"), "status": .text("success"),
                    "amount": Self.money(item.billAmount), "fee": Self.money(fee), "settled": Self.money(item.billAmount - fee),
                    "remark": .text("还款"),
                ])
                try billCSV.write("\(shown),1900000109,\(item.repayID),\(item.reference),collection,success,"
                    + "\(Self.plain(item.billAmount)),\(Self.plain(fee)),\(Self.plain(item.billAmount - fee))\n")
            }
        }
        try repayments.add("total", ["record_count": .integer(Int64(repaymentCount)), "total_amount": Self.money(repaymentTotal)])
        // The summary title line is an ignored kind: written as the channel writes it.
        try bill.addRaw(TextEncoder.encode("总交易单数,总交易金额,总手续费,总结算金额", as: .gbk)!)
        try bill.add("summary", ["record_count": .integer(Int64(billCount)), "total_amount": Self.money(billAmount),
                                 "fee_total": Self.money(billFees), "settled_total": Self.money(billSettled)])
        precondition(repaymentCount == size && billCount == size)
        try repayments.commit()
        try bill.commit()
        try repaymentsCSV.commit()
        try billCSV.commit()
        return paths
    }

    static func money(_ minor: Int64) -> FieldValue { .decimal(DecimalAmount(units: minor, scale: 2)) }

    /// `1049.42`: an amount as the plain CSVs carry it.
    static func plain(_ minor: Int64) -> String { "\(minor / 100).\(pad(Int(minor % 100), 2))" }

    static func pad(_ value: Int, _ width: Int) -> String {
        let digits = String(value)
        return String(repeating: "0", count: max(0, width - digits.count)) + digits
    }
}

/// A partner file written through its spec's renderer, record by record.
private final class SpecWriter {
    let spec: MappingSpec
    let renderer: RecordRenderer
    let file: AtomicFile
    let newline: [UInt8]

    init(_ path: String, spec: MappingSpec, newline: [UInt8]) throws {
        self.spec = spec
        self.newline = newline
        renderer = try RecordRenderer(spec: spec)
        file = try AtomicFile(path: path)
        if let header = renderer.header() { try addRaw(header) }
    }

    func add(_ kind: String, _ values: [String: FieldValue]) throws {
        let recordKind = spec.kind(named: kind)!
        try addRaw(try renderer.render(recordKind, recordKind.fields.map { values[$0.name] ?? .empty }))
    }

    func addRaw(_ bytes: [UInt8]) throws {
        try file.write(bytes)
        try file.write(newline)
    }

    func commit() throws { try file.commit() }
}
