import Foundation
import VigilCore

/// ISO 20022 XML → canonical transactions.
///
/// The message is named by its `Document` namespace (`urn:iso:std:iso:20022:tech:xsd:pacs.008.001.08`,
/// or a community variant such as SIX's `…/pain.001.001.03.ch.02.xsd`), so every version from
/// `.001.02` on reads through the same mapping: where versions renamed an element (`BIC` →
/// `BICFI`, a bare date → `Dt`/`DtTm`), both are accepted. The business application header
/// (`AppHdr`) and a transport envelope around it are optional.
///
/// | message | one transaction per | debtor → creditor |
/// |---|---|---|
/// | pacs.008 | `CdtTrfTxInf` | `Dbtr`/`DbtrAcct`/`DbtrAgt` → `Cdtr`/… |
/// | pacs.009 | `CdtTrfTxInf` | the underlying customers of a COV, else the institutions |
/// | pacs.004 | `TxInf` | the return chain's `Dbtr` → `Cdtr` (or the original parties, swapped) |
/// | pacs.003 | `DrctDbtTxInf` | the debited `Dbtr` → the collecting `Cdtr` (a customer direct debit) |
/// | pacs.010 | `CdtInstr/DrctDbtTxInf` | the debited institution → the credit instruction's `Cdtr` |
/// | pain.001 | `CdtTrfTxInf` | the payment information's `Dbtr` → the transaction's `Cdtr` |
/// | camt.053/054 (and 052) | `Ntry`, or each `TxDtls` of a batch that states their amounts | the statement account and the related party, by `CdtDbtInd` |
enum ISO20022 {
    static func format(of kind: String) -> FeedFormat? {
        switch kind {
        case "pacs.008", "pacs.009", "pacs.004", "pacs.003", "pacs.010": .pacs008
        case "pain.001", "pain.008": .pain001
        case "camt.053", "camt.052": .camt053
        case "camt.054": .camt054
        default: nil
        }
    }

    /// `pacs.008` in `urn:iso:std:iso:20022:tech:xsd:pacs.008.001.08`: four lower-case letters,
    /// a dot and three digits (a plain scan; a regular expression here cost a third of the decode).
    static func messageKind(in namespace: String) -> String? {
        let u = Array(namespace.utf8)
        guard u.count >= 8 else { return nil }
        for i in 0 ... u.count - 8
        where u[i ..< i + 4].allSatisfy({ $0 >= 0x61 && $0 <= 0x7A }) && u[i + 4] == UInt8(ascii: ".") && u[i + 5 ..< i + 8].allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) {
            return String(decoding: u[i ..< i + 8], as: UTF8.self)
        }
        return nil
    }

    static func decode(_ bytes: [UInt8], expected: FeedFormat, file: String?) throws(FormatError) -> [Transaction] {
        let root: XMLElement
        do { root = try XMLReader.parse(bytes) } catch {
            throw FormatError(expected, at: "line \(error.line)", "malformed XML: \(error.message)")
        }
        let document = root.name == "Document" ? root : root.firstDescendant("Document")
        guard let document, let message = document.children.first else {
            throw FormatError(expected, at: "/\(root.name)", "no ISO 20022 Document element")
        }
        let namespace = document.attribute("xmlns") ?? ""
        guard let kind = messageKind(in: namespace) else {
            throw FormatError(expected, at: root.path(to: document) ?? "/Document",
                              "Document has no ISO 20022 namespace (xmlns=\"urn:iso:std:iso:20022:tech:xsd:pacs.008.001.08\" or similar), so the message cannot be identified")
        }
        guard let format = format(of: kind) else {
            // Status reports, cancellations, investigations, notices: valid messages that move no money.
            return []
        }
        guard format == expected || expected == .iso20022 else {
            throw FormatError(expected, at: "/Document", "this is a \(kind) message, not \(expected.rawValue)")
        }
        let header = root.firstDescendant("AppHdr")
        let sender = header?["Fr/FIId/FinInstnId/BICFI"] ?? header?["Fr/FIId/FinInstnId/BIC"]
        var ctx = Context(root: root, format: expected, source: EventSource(format: kind, institution: sender, file: file))
        ctx.created = try message.child("GrpHdr").flatMap { g throws(FormatError) in try ctx.dateTime(g.child("CreDtTm")) }
        switch kind {
        case "pacs.008", "pacs.009": return try ctx.creditTransfers(message, cover: kind == "pacs.009")
        case "pacs.004": return try ctx.returns(message)
        case "pacs.003", "pacs.010": return try ctx.directDebits(message)
        case "pain.001": return try ctx.initiation(message)
        case "pain.008": return try ctx.collection(message)
        default: return try ctx.entries(message)
        }
    }

    private struct Context {
        let root: XMLElement
        let format: FeedFormat
        let source: EventSource
        var created: EventTime?

        func error(_ at: XMLElement, _ message: String) -> FormatError {
            FormatError(format, at: root.path(to: at) ?? "line \(at.line)", message)
        }

        // MARK: message mappings

        func creditTransfers(_ m: XMLElement, cover: Bool) throws(FormatError) -> [Transaction] {
            let txs = m.children("CdtTrfTxInf")
            guard !txs.isEmpty else { throw error(m, "no CdtTrfTxInf (credit transfer transaction)") }
            return try txs.enumerated().map { (n, tx) throws(FormatError) in
                let (amount, currency) = try self.amount(tx, "IntrBkSttlmAmt")
                // A cover payment's real parties are the customers of the underlying transfer.
                let parties = cover ? (tx.child("UndrlygCstmrCdtTrf") ?? tx) : tx
                let isFI = parties === tx && cover
                return Transaction(
                    id: id(tx.child("PmtId"), fallback: "\(m["GrpHdr/MsgId"] ?? "msg"):\(n + 1)"),
                    ts: try time(tx, dates: ["IntrBkSttlmDt"]), amount: amount, currency: currency, channel: "wire",
                    debtor: try party(parties, "Dbtr", account: "DbtrAcct", agent: "DbtrAgt", institutionParty: isFI),
                    creditor: try party(parties, "Cdtr", account: "CdtrAcct", agent: "CdtrAgt", institutionParty: isFI),
                    reference: remittance(parties) ?? remittance(tx), source: source)
            }
        }

        /// pacs.003 (a creditor's bank collecting from customers) and pacs.010 (an institution
        /// debiting others' accounts): money flows from each debited party to the creditor. In
        /// pacs.010 the creditor is its credit instruction's, and both sides are institutions.
        func directDebits(_ m: XMLElement) throws(FormatError) -> [Transaction] {
            let institutional = m.name == "FIDrctDbt"
            let groups: [(creditors: XMLElement, txs: [XMLElement])] = institutional
                ? m.children("CdtInstr").map { ($0, $0.children("DrctDbtTxInf")) }
                : [(m, m.children("DrctDbtTxInf"))]
            guard groups.contains(where: { !$0.txs.isEmpty }) else {
                throw error(m, institutional ? "no CdtInstr/DrctDbtTxInf (direct debit transaction)" : "no DrctDbtTxInf (direct debit transaction)")
            }
            var out: [Transaction] = []
            for (creditors, txs) in groups {
                for tx in txs {
                    let (amount, currency) = try self.amount(tx, "IntrBkSttlmAmt")
                    // pacs.003 names the creditor in each transaction; pacs.010 once per instruction.
                    let creditorSide = institutional ? creditors : tx
                    out.append(Transaction(
                        id: id(tx.child("PmtId"), fallback: "\(m["GrpHdr/MsgId"] ?? "msg"):\(out.count + 1)"),
                        ts: try time(tx, dates: ["IntrBkSttlmDt", "ReqdColltnDt"]), amount: amount, currency: currency,
                        channel: institutional ? "wire" : "ach",
                        debtor: try party(tx, "Dbtr", account: "DbtrAcct", agent: "DbtrAgt", institutionParty: institutional),
                        creditor: try party(creditorSide, "Cdtr", account: "CdtrAcct", agent: "CdtrAgt", institutionParty: institutional),
                        reference: remittance(tx), source: source))
                }
            }
            return out
        }

        func returns(_ m: XMLElement) throws(FormatError) -> [Transaction] {
            let txs = m.children("TxInf")
            guard !txs.isEmpty else { throw error(m, "no TxInf (returned transaction)") }
            return try txs.enumerated().map { (n, tx) throws(FormatError) in
                let (amount, currency) = try self.amount(tx, "RtrdIntrBkSttlmAmt")
                let debtor: Party, creditor: Party
                if let chain = tx.child("RtrChain") {
                    debtor = try party(chain, "Dbtr", account: "DbtrAcct", agent: "DbtrAgt")
                    creditor = try party(chain, "Cdtr", account: "CdtrAcct", agent: "CdtrAgt")
                } else if let original = tx.child("OrgnlTxRef") {
                    // Before the return chain existed: the original transfer's parties, money flowing back.
                    debtor = try party(original, "Cdtr", account: "CdtrAcct", agent: "CdtrAgt")
                    creditor = try party(original, "Dbtr", account: "DbtrAcct", agent: "DbtrAgt")
                } else {
                    throw error(tx, "returned transaction names no parties (neither RtrChain nor OrgnlTxRef)")
                }
                let rid = tx["RtrId"] ?? tx["OrgnlUETR"].map { "return:" + $0 } ?? "\(m["GrpHdr/MsgId"] ?? "msg"):\(n + 1)"
                return Transaction(id: rid, ts: try time(tx, dates: ["IntrBkSttlmDt"]), amount: amount, currency: currency,
                                   channel: "wire", debtor: debtor, creditor: creditor,
                                   reference: tx["RtrRsnInf/Rsn/Cd"].map { "return reason \($0)" }, source: source)
            }
        }

        func initiation(_ m: XMLElement) throws(FormatError) -> [Transaction] {
            let infos = m.children("PmtInf")
            guard !infos.isEmpty else { throw error(m, "no PmtInf (payment information)") }
            var out: [Transaction] = []
            for info in infos {
                let debtor = try party(info, "Dbtr", account: "DbtrAcct", agent: "DbtrAgt")
                let txs = info.children("CdtTrfTxInf")
                guard !txs.isEmpty else { throw error(info, "no CdtTrfTxInf in this payment information") }
                for (n, tx) in txs.enumerated() {
                    let (amount, currency) = try self.amount(tx, "Amt/InstdAmt", alternative: "Amt/EqvtAmt/Amt")
                    out.append(Transaction(
                        id: id(tx.child("PmtId"), fallback: "\(info["PmtInfId"] ?? "pmtinf"):\(n + 1)"),
                        ts: try time(info, dates: ["ReqdExctnDt"]), amount: amount, currency: currency,
                        channel: channel(info["PmtMtd"]), debtor: debtor,
                        creditor: try party(tx, "Cdtr", account: "CdtrAcct", agent: "CdtrAgt"),
                        reference: remittance(tx), source: source))
                }
            }
            return out
        }

        /// pain.008: the creditor collects from each debtor (direct debit).
        func collection(_ m: XMLElement) throws(FormatError) -> [Transaction] {
            let infos = m.children("PmtInf")
            guard !infos.isEmpty else { throw error(m, "no PmtInf (payment information)") }
            var out: [Transaction] = []
            for info in infos {
                let creditor = try party(info, "Cdtr", account: "CdtrAcct", agent: "CdtrAgt")
                for (n, tx) in info.children("DrctDbtTxInf").enumerated() {
                    let (amount, currency) = try self.amount(tx, "InstdAmt")
                    out.append(Transaction(
                        id: id(tx.child("PmtId"), fallback: "\(info["PmtInfId"] ?? "pmtinf"):\(n + 1)"),
                        ts: try time(info, dates: ["ReqdColltnDt"]), amount: amount, currency: currency, channel: "ach",
                        debtor: try party(tx, "Dbtr", account: "DbtrAcct", agent: "DbtrAgt"), creditor: creditor,
                        reference: remittance(tx), source: source))
                }
            }
            return out
        }

        func entries(_ m: XMLElement) throws(FormatError) -> [Transaction] {
            let reports = m.children.filter { ["Stmt", "Rpt", "Ntfctn"].contains($0.name) }
            guard !reports.isEmpty else { throw error(m, "no Stmt, Rpt or Ntfctn") }
            var out: [Transaction] = []
            for report in reports {
                guard let acct = report.child("Acct") else { throw error(report, "statement has no Acct (the account reported on)") }
                let own = Party(account: try account(acct, at: report), name: acct["Ownr/Nm"],
                                country: acct["Ownr/PstlAdr/Ctry"], bic: acct["Svcr/FinInstnId/BICFI"] ?? acct["Svcr/FinInstnId/BIC"],
                                institution: acct["Svcr/FinInstnId/Nm"], address: address(acct.at("Ownr/PstlAdr")))
                for (n, entry) in report.children("Ntry").enumerated() {
                    let (amount, currency) = try self.amount(entry, "Amt")
                    guard let indicator = entry["CdtDbtInd"], indicator == "CRDT" || indicator == "DBIT" else {
                        throw error(entry.child("CdtDbtInd") ?? entry, "CdtDbtInd must be CRDT or DBIT")
                    }
                    let ts = try time(entry, dates: ["BookgDt", "ValDt"], preferCreated: false)
                    let details = entry.descendants("TxDtls")
                    let entryRefs: [String?] = [entry["NtryRef"], entry["AcctSvcrRef"]]
                    let fallback = "\(report["Id"] ?? "stmt"):\(n + 1)"
                    // A batch booking whose transactions each state their amount is those
                    // transactions, each with its own counterparty (a salary run, a batch of
                    // collections); otherwise the entry is one event, its counterparty that of its
                    // single transaction detail.
                    // (`AmtDtls/TxAmt/Amt` up to camt.053.001.07, `Amt` from .08 on.)
                    let amountPaths = details.map { d in ["AmtDtls/TxAmt/Amt", "Amt"].first { d.at($0) != nil } }
                    if details.count > 1, amountPaths.allSatisfy({ $0 != nil }) {
                        var used = Set<String>()
                        for (k, detail) in details.enumerated() {
                            let (a, c) = try self.amount(detail, amountPaths[k]!)
                            // Banks repeat a reference across a batch's charges: ids stay unique by position.
                            var id = detailID(detail.child("Refs"), entryRefs: []) ?? entryRefs.lazy.compactMap({ $0 }).first.map { "\($0):\(k + 1)" } ?? "\(fallback):\(k + 1)"
                            if !used.insert(id).inserted { id += ":\(k + 1)" }
                            out.append(try booking(entry, detail: detail, id: id, ts: ts, amount: a, currency: c, debit: indicator == "DBIT", own: own))
                        }
                        continue
                    }
                    let detail = details.count == 1 ? details[0] : nil
                    let id = detailID(detail?.child("Refs"), entryRefs: entryRefs) ?? fallback
                    out.append(try booking(entry, detail: detail, id: id, ts: ts, amount: amount, currency: currency, debit: indicator == "DBIT", own: own))
                }
            }
            return out
        }

        /// An entry's id: the transaction's UETR, the entry's own references (when it is the
        /// one event of its entry), the transaction's servicer reference and end-to-end id.
        func detailID(_ refs: XMLElement?, entryRefs: [String?]) -> String? {
            let endToEnd: String? = refs?["EndToEndId"].flatMap { $0 == "NOTPROVIDED" ? nil : $0 }
            let candidates: [String?] = [refs?["UETR"]] + entryRefs + [refs?["AcctSvcrRef"], endToEnd]
            return candidates.lazy.compactMap { $0 }.first
        }

        /// One booking on the statement's account: the counterparty from the transaction
        /// detail's related parties, by the entry's debit or credit.
        func booking(_ entry: XMLElement, detail: XMLElement?, id: String, ts: EventTime, amount: Decimal, currency: String,
                     debit: Bool, own: Party) throws(FormatError) -> Transaction {
            let other: Party
            if let related = detail?.child("RltdPties") {
                other = debit
                    ? try party(related, "Cdtr", account: "CdtrAcct", agent: nil, agents: detail?.child("RltdAgts"), agentName: "CdtrAgt", required: false)
                    : try party(related, "Dbtr", account: "DbtrAcct", agent: nil, agents: detail?.child("RltdAgts"), agentName: "DbtrAgt", required: false)
            } else {
                other = Party(account: Party.unidentified)
            }
            return Transaction(id: id, ts: ts, amount: amount, currency: currency, channel: channel(bankCode: entry.child("BkTxCd")),
                               debtor: debit ? own : other, creditor: debit ? other : own,
                               reference: detail.flatMap { remittance($0) } ?? entry["AddtlNtryInf"], source: source)
        }

        // MARK: elements

        func amount(_ e: XMLElement, _ path: String, alternative: String? = nil) throws(FormatError) -> (Decimal, String) {
            guard let a = e.at(path) ?? alternative.flatMap({ e.at($0) }) else { throw error(e, "missing \(path) (the amount)") }
            guard let value = DecimalText.parse(a.text) else { throw error(a, "'\(a.text)' is not a decimal amount") }
            guard let ccy = a.attribute("Ccy") else { throw error(a, "amount has no Ccy attribute (currency)") }
            return (value, ccy)
        }

        /// UETR, then the end-to-end id (unless `NOTPROVIDED`), the transaction id, the instruction id.
        func id(_ pmtId: XMLElement?, fallback: String) -> String {
            guard let p = pmtId else { return fallback }
            return p["UETR"] ?? p["EndToEndId"].flatMap { $0 == "NOTPROVIDED" ? nil : $0 } ?? p["TxId"] ?? p["InstrId"] ?? fallback
        }

        /// The message's creation time, else the first of the named dates (`2020-11-24`, or a
        /// `Dt`/`DtTm` child); statements prefer the entry's own booking date.
        func time(_ e: XMLElement, dates: [String], preferCreated: Bool = true) throws(FormatError) -> EventTime {
            if preferCreated, let created { return created }
            for name in dates {
                guard let d = e.child(name) else { continue }
                for candidate in [d.child("DtTm"), d.child("Dt"), d] {
                    if let t = try dateTime(candidate) { return t }
                }
            }
            if let created { return created }
            throw error(e, "no time: neither GrpHdr/CreDtTm nor \(dates.joined(separator: " or ")) is present")
        }

        /// ISO 20022 `ISODateTime` (offset optional: read as UTC when absent) or `ISODate`.
        func dateTime(_ e: XMLElement?) throws(FormatError) -> EventTime? {
            guard let e, !e.text.isEmpty else { return nil }
            let t = e.text
            if t.count == 10 {
                guard let v = EventTime(rfc3339: t + "T00:00:00Z") else { throw error(e, "'\(t)' is not a date (YYYY-MM-DD)") }
                return v
            }
            if let v = EventTime(rfc3339: t) ?? EventTime(rfc3339: t + "Z") { return v }
            throw error(e, "'\(t)' is not an ISO date-time")
        }

        /// A party from `Dbtr`/`Cdtr` (a party, or in pacs.009 an institution), its account and agent.
        func party(_ parent: XMLElement, _ role: String, account accountName: String, agent agentName: String?,
                   agents: XMLElement? = nil, agentName relatedAgent: String? = nil, institutionParty: Bool = false,
                   required: Bool = true) throws(FormatError) -> Party {
            let p = parent.child(role)
            // Newer return chains and related parties wrap the party in Pty or name an agent in Agt.
            let who = p?.child("Pty") ?? p
            let agent = agentName.flatMap { parent.child($0) } ?? relatedAgent.flatMap { agents?.child($0) }
            let fi = who?.child("FinInstnId") ?? p?.at("Agt/FinInstnId") ?? agent?.child("FinInstnId")
            // An organisation may be identified by its BIC (Id/OrgId/AnyBIC) instead of an account.
            let anyBIC = who?["Id/OrgId/AnyBIC"] ?? who?["Id/OrgId/BICOrBEI"]
            let bic = fi?["BICFI"] ?? fi?["BIC"] ?? anyBIC
            var account: String?
            if let a = parent.child(accountName) { account = try self.account(a, at: parent) }
            let name = who?["Nm"] ?? (institutionParty ? fi?["Nm"] : nil)
            // Institutions are identified by their BIC; a customer named without an account (return
            // chains do this) by `name:` and the name, so the event keeps who it was.
            let byInstitution = who?.child("FinInstnId") != nil || p?.child("Agt") != nil ? bic : anyBIC
            guard let acct = account ?? byInstitution ?? name.map({ "name:" + $0 }) ?? (required ? nil : Party.unidentified) else {
                throw error(p ?? parent, "\(role): no account (\(accountName)/Id/IBAN or Othr/Id) and no institution BIC")
            }
            let adr = who?.child("PstlAdr")
            // A person's identity as the bank states it (what links them to a traveller): date of
            // birth, a passport or national identity number, phone and e-mail.
            // Child by child, not by path: most parties have neither, and a path is parsed per call.
            let person = who?.child("Id")?.child("PrvtId"), contact = who?.child("CtctDtls")
            let document = person?.children("Othr").first { ["CCPT", "NIDN"].contains($0["SchmeNm/Cd"] ?? "") }?["Id"]
            return Party(account: acct, name: name, country: adr?["Ctry"] ?? who?["CtryOfRes"], bic: bic,
                         institution: fi?["Nm"] ?? fi?["ClrSysMmbId/MmbId"], address: address(adr),
                         dob: person?["DtAndPlcOfBirth/BirthDt"], idNumber: document,
                         phone: contact?["MobNb"] ?? contact?["PhneNb"], email: contact?["EmailAdr"])
        }

        func account(_ a: XMLElement, at: XMLElement) throws(FormatError) -> String {
            guard let id = a["Id/IBAN"] ?? a["Id/Othr/Id"] ?? a["Prxy/Id"] else {
                throw error(a, "account has no Id/IBAN or Id/Othr/Id")
            }
            return id
        }

        func address(_ adr: XMLElement?) -> String? {
            guard let adr else { return nil }
            let lines = adr.children("AdrLine").map(\.text).filter { !$0.isEmpty }
            let structured = [adr["StrtNm"].map { s in adr["BldgNb"].map { "\(s) \($0)" } ?? s },
                              [adr["PstCd"], adr["TwnNm"]].compactMap { $0 }.joined(separator: " "), adr["CtrySubDvsn"]]
                .compactMap { $0 }.filter { !$0.isEmpty }
            let all = lines + structured
            return all.isEmpty ? nil : all.joined(separator: ", ")
        }

        func remittance(_ e: XMLElement) -> String? {
            guard let r = e.child("RmtInf") else { return nil }
            let unstructured = r.children("Ustrd").map(\.text).filter { !$0.isEmpty }
            if !unstructured.isEmpty { return unstructured.joined(separator: " ") }
            return r["Strd/CdtrRefInf/Ref"] ?? r["Strd/RfrdDocInf/Nb"]
        }

        /// pain.001 payment method: TRF (transfer), CHK (cheque), TRA (transfer advice).
        func channel(_ method: String?) -> String {
            method == "CHK" ? "cheque" : "wire"
        }

        /// camt bank transaction code family (ISO external code list): card, cash counter,
        /// cheques, direct debits; everything else booked as a payment is a wire.
        func channel(bankCode: XMLElement?) -> String {
            let family = bankCode?["Domn/Fmly/Cd"]
            let sub = bankCode?["Domn/Fmly/SubFmlyCd"]
            if sub == "CWDL" || sub == "CDPT" || family == "CNTR" { return "cash" }
            switch family {
            case "CCRD", "MCRD": return "card"
            case "ICHQ", "RCHQ": return "cheque"
            case "IDDT", "RDDT": return "ach"
            case nil: return "other"
            default: return "wire"
            }
        }
    }
}
