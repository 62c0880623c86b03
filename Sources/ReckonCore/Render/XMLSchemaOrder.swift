/// The element order of the ISO 20022 schemas reckon writes: per parent element, its
/// children in the order the schema's sequence gives them (camt.053.001.02 and
/// camt.054.001.02, the parts a statement or a notification of entries uses). A child the
/// list does not name is refused when a spec is loaded for output, so nothing is written
/// that the schema would reject for its place.
public enum XMLSchemaOrder {
    /// `camt.054.001.02` from `urn:iso:std:iso:20022:tech:xsd:camt.054.001.02`.
    public static func version(ofNamespace namespace: String) -> String? {
        let prefix = "urn:iso:std:iso:20022:tech:xsd:"
        guard namespace.hasPrefix(prefix) else { return nil }
        return String(namespace.dropFirst(prefix.count))
    }

    /// The order for a namespace, when reckon knows its schema.
    public static func order(forNamespace namespace: String) -> [String: [String]]? {
        switch version(ofNamespace: namespace) {
        case "camt.053.001.02": return shared.merging(camt053, uniquingKeysWith: { a, _ in a })
        case "camt.054.001.02": return shared.merging(camt054, uniquingKeysWith: { a, _ in a })
        default: return nil
        }
    }

    static let camt053: [String: [String]] = [
        "Document": ["BkToCstmrStmt"],
        "BkToCstmrStmt": ["GrpHdr", "Stmt", "SplmtryData"],
        "Stmt": ["Id", "StmtPgntn", "ElctrncSeqNb", "LglSeqNb", "CreDtTm", "FrToDt", "CpyDplctInd", "RptgSrc", "Acct",
                 "RltdAcct", "Intrst", "Bal", "TxsSummry", "Ntry", "AddtlStmtInf"],
    ]

    static let camt054: [String: [String]] = [
        "Document": ["BkToCstmrDbtCdtNtfctn"],
        "BkToCstmrDbtCdtNtfctn": ["GrpHdr", "Ntfctn", "SplmtryData"],
        "Ntfctn": ["Id", "NtfctnPgntn", "ElctrncSeqNb", "LglSeqNb", "CreDtTm", "FrToDt", "CpyDplctInd", "RptgSrc", "Acct",
                   "RltdAcct", "Intrst", "TxsSummry", "Ntry", "AddtlNtfctnInf"],
    ]

    /// Types both messages share (version 02 of each).
    static let shared: [String: [String]] = [
        "GrpHdr": ["MsgId", "CreDtTm", "MsgRcpt", "MsgPgntn", "AddtlInf"],
        "FrToDt": ["FrDtTm", "ToDtTm"],
        "Acct": ["Id", "Tp", "Ccy", "Nm", "Ownr", "Svcr"],
        // Keyed by the parent's name alone: choices of different types under one name
        // (an account's Tp is Cd | Prtry, a balance's is CdOrPrtry, SubTp) share a list.
        "Id": ["IBAN", "Othr"],
        "Othr": ["Id", "SchmeNm", "Issr"],
        "Bal": ["Tp", "CdtLine", "Amt", "CdtDbtInd", "Dt", "Avlbty"],
        "Tp": ["CdOrPrtry", "SubTp", "Cd", "Prtry"],
        "CdOrPrtry": ["Cd", "Prtry"],
        "TxsSummry": ["TtlNtries", "TtlCdtNtries", "TtlDbtNtries", "TtlNtriesPerBkTxCd"],
        "TtlNtries": ["NbOfNtries", "Sum", "TtlNetNtryAmt", "CdtDbtInd"],
        "TtlCdtNtries": ["NbOfNtries", "Sum"],
        "TtlDbtNtries": ["NbOfNtries", "Sum"],
        "Ntry": ["NtryRef", "Amt", "CdtDbtInd", "RvslInd", "Sts", "BookgDt", "ValDt", "AcctSvcrRef", "Avlbty", "BkTxCd",
                 "ComssnWvrInd", "AddtlInfInd", "AmtDtls", "Chrgs", "TechInptChanl", "Intrst", "NtryDtls", "AddtlNtryInf"],
        "BookgDt": ["Dt", "DtTm"],
        "ValDt": ["Dt", "DtTm"],
        "BkTxCd": ["Domn", "Prtry"],
        "Domn": ["Cd", "Fmly"],
        "Fmly": ["Cd", "SubFmlyCd"],
        "Prtry": ["Cd", "Issr", "Tp", "Ref"],
        "NtryDtls": ["Btch", "TxDtls"],
        "TxDtls": ["Refs", "AmtDtls", "Avlbty", "BkTxCd", "Chrgs", "Intrst", "RltdPties", "RltdAgts", "Purp", "RltdRmtInf",
                   "RmtInf", "RltdDts", "RltdPric", "RltdQties", "FinInstrmId", "Tax", "RtrInf", "CorpActn", "SfkpgAcct",
                   "AddtlTxInf"],
        "Refs": ["MsgId", "AcctSvcrRef", "PmtInfId", "InstrId", "EndToEndId", "TxId", "MndtId", "ChqNb", "ClrSysRef", "Prtry"],
        "RmtInf": ["Ustrd", "Strd"],
    ]
}
