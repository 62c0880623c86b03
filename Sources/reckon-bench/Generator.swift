#if canImport(Glibc)
import Glibc
#endif
import ReckonCore
import ReckonFiles

/// Writes repayment files through the renderer: the sample layouts' header, N repayments
/// with varied values (some early settlements with a Chinese remark, some overdue with
/// penalty), and a trailer whose totals hold.
enum Generator {
    /// `firstIndex` shifts the records' keys (repay_id, loan_id, channel reference) and
    /// values, so files written with different ones are different files of unique records.
    static func write(_ path: String, spec: MappingSpec, records: Int, firstIndex: Int = 0) throws {
        if access(path, R_OK) == 0 { return }  // generated before, deterministic
        let renderer = try RecordRenderer(spec: spec)
        let output = try AtomicFile(path: path)
        let newline: [UInt8] = spec.encoding == .gbk ? [0x0D, 0x0A] : [0x0A]
        let businessDay = CivilDate(year: 2024, month: 12, day: 15)!

        if let header = renderer.header() { try output.write(header + newline) }
        if let headerKind = spec.kind(named: "header") {
            let values = headerKind.fields.map { field -> FieldValue in
                switch field.name {
                case "file_type": return .text("SETTLE")
                case "bank_code": return .text("BKCN0001")
                case "business_date": return .date(businessDay)
                case "created_at": return .dateTime(DateTime(date: businessDay, time: TimeOfDay(hour: 23, minute: 0, second: 0)!))
                case "currency": return .text("CNY")
                default: return .empty
                }
            }
            try output.write(try renderer.render(headerKind, values) + newline)
        }

        let kind = spec.kind(named: "repayment")!
        var totals = [String: Int64]()
        var seed: UInt64 = 0x9E37_79B9_7F4A_7C15 &+ UInt64(firstIndex)
        for index in firstIndex..<(firstIndex + records) {
            seed = seed &* 6364136223846793005 &+ 1442695040888963407
            let random = seed >> 33
            let kindRoll = random % 100
            let repayType = kindRoll < 90 ? "normal" : kindRoll < 95 ? "early_settlement" : "overdue"
            let principal = Int64(random % 500_000) + 1_000
            let interest = Int64((random >> 8) % 20_000)
            let penalty: Int64 = repayType == "overdue" ? Int64((random >> 4) % 2_000) + 1 : 0
            let fee: Int64 = 0
            let total = principal + interest + penalty + fee
            totals["principal", default: 0] += principal
            totals["interest", default: 0] += interest
            totals["penalty", default: 0] += penalty
            totals["fee", default: 0] += fee
            totals["total", default: 0] += total
            let second = index % 86_400
            let paidAt = DateTime(date: businessDay, time: TimeOfDay(hour: second / 3600, minute: second / 60 % 60, second: second % 60)!)
            let values = kind.fields.map { field -> FieldValue in
                switch field.name {
                case "sequence": return .integer(Int64(index - firstIndex + 1))
                case "repay_id": return .text("R20241215" + pad(index, 10))
                case "loan_id": return .text("L2024" + pad(index % 9_999_999, 12))
                case "period": return .integer(Int64(1 + index % 36))
                case "repay_type": return .text(repayType)
                case "paid_on": return .date(businessDay)
                case "paid_at": return .dateTime(paidAt)
                case "principal": return .decimal(DecimalAmount(units: principal, scale: 2))
                case "interest": return .decimal(DecimalAmount(units: interest, scale: 2))
                case "penalty": return .decimal(DecimalAmount(units: penalty, scale: 2))
                case "fee": return .decimal(DecimalAmount(units: fee, scale: 2))
                case "total": return .decimal(DecimalAmount(units: total, scale: 2))
                case "currency": return .text("CNY")
                case "channel": return .text("WXPAY")
                case "channel_reference", "channel_order_no": return .text("42000020241215" + pad(index, 10))
                case "status": return .text(spec.name == "bank-settlement" ? "settled" : "success")
                case "remark": return repayType == "early_settlement" ? .text("提前结清") : .empty
                default: return .empty
                }
            }
            try output.write(try renderer.render(kind, values) + newline)
        }

        for name in ["trailer", "total"] {
            guard let trailer = spec.kind(named: name) else { continue }
            let values = trailer.fields.map { field -> FieldValue in
                switch field.name {
                case "record_count": return .integer(Int64(records))
                case "total_amount": return .decimal(DecimalAmount(units: totals["total"] ?? 0, scale: 2))
                case "principal_total": return .decimal(DecimalAmount(units: totals["principal"] ?? 0, scale: 2))
                case "interest_total": return .decimal(DecimalAmount(units: totals["interest"] ?? 0, scale: 2))
                case "penalty_total": return .decimal(DecimalAmount(units: totals["penalty"] ?? 0, scale: 2))
                case "fee_total": return .decimal(DecimalAmount(units: totals["fee"] ?? 0, scale: 2))
                default: return .empty
                }
            }
            try output.write(try renderer.render(trailer, values) + newline)
        }
        try output.commit()
    }

    /// A camt.053.001.08 statement with `entries` entries (credits of 1.00 to 99.99) whose
    /// closing balance holds.
    static func writeStatement(_ path: String, entries: Int) throws {
        if access(path, R_OK) == 0 { return }
        let output = try AtomicFile(path: path)
        // Balances precede entries in camt.053, so the closing balance is summed first.
        let total = (0..<entries).reduce(Int64(0)) { $0 + Int64(100 + $1 % 9900) }
        var body: [UInt8] = []
        func amount(_ cents: Int64) -> String { "\(cents / 100).\(pad(Int(cents % 100), 2))" }
        try output.write(Array("""
            <?xml version="1.0" encoding="UTF-8"?>
            <Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"><BkToCstmrStmt>
            <GrpHdr><MsgId>BENCH</MsgId><CreDtTm>2024-12-15T23:30:00+08:00</CreDtTm></GrpHdr>
            <Stmt><Id>STMT-BENCH</Id><Acct><Id><Othr><Id>6222020000001234</Id></Othr></Id><Ccy>CNY</Ccy></Acct>
            <Bal><Tp><CdOrPrtry><Cd>OPBD</Cd></CdOrPrtry></Tp><Amt Ccy="CNY">0.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>2024-12-15</Dt></Dt></Bal>
            <Bal><Tp><CdOrPrtry><Cd>CLBD</Cd></CdOrPrtry></Tp><Amt Ccy="CNY">\(amount(total))</Amt><CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>2024-12-15</Dt></Dt></Bal>

            """.utf8))
        for index in 0..<entries {
            let cents = Int64(100 + index % 9900)
            body += Array("""
                <Ntry><NtryRef>R\(index)</NtryRef><Amt Ccy="CNY">\(amount(cents))</Amt><CdtDbtInd>CRDT</CdtDbtInd>\
                <Sts><Cd>BOOK</Cd></Sts><BookgDt><Dt>2024-12-15</Dt></BookgDt><ValDt><Dt>2024-12-15</Dt></ValDt>\
                <AcctSvcrRef>BK\(index)</AcctSvcrRef><NtryDtls><TxDtls><Refs><EndToEndId>E2E\(index)</EndToEndId></Refs>\
                <RmtInf><Ustrd>还款 L2024\(pad(index, 8))</Ustrd></RmtInf></TxDtls></NtryDtls></Ntry>

                """.utf8)
            if body.count >= 1 << 20 { try output.write(body); body.removeAll(keepingCapacity: true) }
        }
        try output.write(body)
        try output.write(Array("""
            </Stmt></BkToCstmrStmt></Document>

            """.utf8))
        try output.commit()
    }

    private static func pad(_ value: Int, _ width: Int) -> String {
        let digits = String(value)
        return String(repeating: "0", count: max(0, width - digits.count)) + digits
    }
}

