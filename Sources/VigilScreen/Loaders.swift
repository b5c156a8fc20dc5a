import Foundation
import VigilCore
import VigilFormats

/// Reads list files into ``Watchlist``s. The format is told from the file:
/// - `.xml`: the UN Security Council Consolidated List, the EU's consolidated financial
///   sanctions file (``EUList``) or OFAC's SDN XML (``OFACXMLList``), told apart by the root element;
/// - a folder, or a file named `sdn.csv` or `cons_prim.csv`: OFAC's legacy CSV set (the primary
///   file, with `alt`, `add` and `comments` files beside it when present);
/// - `.json`, `.jsonl`, `.ijson`, `.ftm.json`: FollowTheMoney entities, one JSON object per line
///   (OpenSanctions' export) or a JSON array of them; only persons, organisations and vessels are
///   kept. Records in Senzing's format (OpenSanctions' other export, ``SenzingList``) likewise;
/// - any other `.csv`, by its header (``CSVList``): FinCEN's 314(a) subject lists, GTAS's
///   watch-list layout, the US Consolidated Screening List, or a simple list (`name` required;
///   `id`, `kind`, `aliases` separated by `;`, `birth_date`, `country`, `document` optional).
public enum WatchlistLoader {
    public enum Format: String, Sendable { case un, ofac, ftm, csv }

    public static func format(of path: String) -> Format {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue { return .ofac }
        let file = (path as NSString).lastPathComponent.lowercased()
        if file.hasSuffix(".xml") { return .un }
        if ["sdn.csv", "cons_prim.csv"].contains(file) { return .ofac }
        if file.hasSuffix(".json") || file.hasSuffix(".jsonl") || file.hasSuffix(".ijson") { return .ftm }
        return .csv
    }

    public static func load(name: String, path: String) throws(WatchlistError) -> Watchlist {
        switch format(of: path) {
        case .un: return try UNList.load(name: name, path: path)
        case .ofac: return try OFACList.load(name: name, path: path)
        case .ftm: return try FtMList.load(name: name, path: path)
        case .csv: return try CSVList.load(name: name, path: path)
        }
    }

    static func read(_ path: String) throws(WatchlistError) -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw WatchlistError(file: path, FileProblem.reason(path))
        }
        return Array(data)
    }

    /// A name given in parts (given, middle and last names, a suffix), in reading order; nil when
    /// there are none. Empty parts are left out.
    static func fullName(_ parts: String?...) -> String? {
        let present = parts.compactMap { $0 }.filter { !$0.isEmpty }
        return present.isEmpty ? nil : present.joined(separator: " ")
    }

    static func csv(_ bytes: [UInt8], file: String) throws(WatchlistError) -> [CSVDecoder.Record] {
        // OFAC's files end with a DOS end-of-file byte (0x1A).
        var bytes = bytes
        while let last = bytes.last, last == 0x1A || last == 0x0A || last == 0x0D { bytes.removeLast() }
        do { return try CSVDecoder.records(bytes, delimiter: UInt8(ascii: ",")) } catch {
            throw WatchlistError(file: file, location: error.location, error.message)
        }
    }
}

/// The UN Security Council Consolidated List (XML, `CONSOLIDATED_LIST`).
enum UNList {
    static func load(name: String, path: String) throws(WatchlistError) -> Watchlist {
        let bytes = try WatchlistLoader.read(path)
        let root: XMLElement
        do { root = try XMLReader.parse(bytes) } catch { throw WatchlistError(file: path, location: "line \(error.line)", error.message) }
        // The EU's consolidated financial sanctions file is XML too.
        if root.name == "export" { return try EUList.watchlist(name: name, root: root, bytes: bytes, file: path) }
        // And OFAC publishes its SDN list as XML beside the legacy CSV set.
        if root.name == "sdnList" { return try OFACXMLList.watchlist(name: name, root: root, bytes: bytes, file: path) }
        guard root.name == "CONSOLIDATED_LIST" else {
            throw WatchlistError(file: path, location: "line \(root.line)",
                                 "root element is <\(root.name)>, not <CONSOLIDATED_LIST> (the UN list), <export> (the EU's financial sanctions file) or <sdnList> (OFAC's SDN XML)")
        }
        var entries: [WatchlistEntry] = []
        for (group, item, kind) in [("INDIVIDUALS", "INDIVIDUAL", NameKind.person), ("ENTITIES", "ENTITY", .organization)] {
            for (n, e) in (root.child(group)?.children(item) ?? []).enumerated() {
                entries.append(try entry(e, kind: kind, at: "\(item)[\(n + 1)]", file: path))
            }
        }
        return Watchlist(version: ListVersion(name: name, format: "un", sha256: Watchlist.digest([bytes]),
                                              generated: root.attribute("dateGenerated"), entries: entries.count),
                         entries: entries)
    }

    /// The names one alias element lists: split at `;` and at an enumeration (` b) `).
    static func spellings(_ text: String) -> [String] {
        // Nearly every name has neither (a regular expression per name cost a third of loading).
        guard text.utf8.contains(where: { $0 == UInt8(ascii: ";") || $0 == UInt8(ascii: ")") }) else { return [text] }
        return text.split(separator: ";").flatMap { part -> [Substring] in
            var pieces: [Substring] = [], rest = part[...]
            // ` b) `, ` c) `…: a letter and a parenthesis between spaces.
            while let r = rest.firstRange(of: /\s[a-z]\)\s/) {
                pieces.append(rest[..<r.lowerBound])
                rest = rest[r.upperBound...]
            }
            return pieces + [rest]
        }
        .map { $0.trimmingCharacters(in: .whitespaces) }
        .map { $0.hasPrefix("a) ") ? String($0.dropFirst(3)) : $0 }
        .filter { !$0.isEmpty }
    }

    private static func entry(_ e: XMLElement, kind: NameKind, at location: String, file: String) throws(WatchlistError) -> WatchlistEntry {
        guard let id = e["REFERENCE_NUMBER"] ?? e["DATAID"] else {
            throw WatchlistError(file: file, location: "\(location) (line \(e.line))", "no REFERENCE_NUMBER or DATAID")
        }
        let primary = ["FIRST_NAME", "SECOND_NAME", "THIRD_NAME", "FOURTH_NAME"].compactMap { e[$0]?.trimmed(" \t\r\n") }
            .filter { !$0.isEmpty }.joined(separator: " ")
        guard !primary.isEmpty else {
            throw WatchlistError(file: file, location: "\(location) (line \(e.line))", "no name (FIRST_NAME is empty)")
        }
        // Once, an entity's name holds two (`… (CAGL) ; GREAT LAKES BUSINESS COMPANY (GLBC)`):
        // the first is its name, the others aliases.
        let given = Self.spellings(primary)
        var names = [WatchlistEntry.Name(text: given.first ?? primary, quality: "primary")] + given.dropFirst().map { .init(text: $0, quality: "strong") }
        if let original = e["NAME_ORIGINAL_SCRIPT"] { names.append(.init(text: original, quality: "original-script")) }
        for alias in e.children(kind == .person ? "INDIVIDUAL_ALIAS" : "ENTITY_ALIAS") {
            guard let text = alias["ALIAS_NAME"] else { continue }
            // The UN marks each alias `Good` or `Low` quality. Some hold several spellings
            // (`Mohammad Islami; Mohamed Islami; Mohammed Islami`, once with `b)` between two
            // groups): each is a name of its own, or a query would be scored against all of them
            // as one long name.
            let quality = alias["QUALITY"]?.lowercased() == "low" ? "weak" : "strong"
            names += Self.spellings(text).map { .init(text: $0, quality: quality) }
        }
        var out = WatchlistEntry(id: id, kind: kind, names: names)
        out.programs = [e["UN_LIST_TYPE"]].compactMap { $0 }
        out.countries = e.children("NATIONALITY").flatMap { $0.children("VALUE") }.map(\.text).filter { !$0.isEmpty }
        for a in e.children(kind == .person ? "INDIVIDUAL_ADDRESS" : "ENTITY_ADDRESS") { if let c = a["COUNTRY"] { out.countries.append(c) } }
        for d in e.children("INDIVIDUAL_DATE_OF_BIRTH") {
            if let date = d["DATE"] { out.birthDates.append(String(date.prefix(10))) }
            else if let year = d["YEAR"] { out.birthDates.append(year) }
            else if let from = d["FROM_YEAR"].flatMap(Int.init), let to = d["TO_YEAR"].flatMap(Int.init), from <= to, to - from <= 20 {
                out.birthDates += (from...to).map(String.init)
            }
        }
        for d in e.children("INDIVIDUAL_DOCUMENT") {
            guard let number = d["NUMBER"] else { continue }
            out.documents.append(.init(type: d["TYPE_OF_DOCUMENT"], number: number, country: d["ISSUING_COUNTRY"] ?? d["COUNTRY_OF_ISSUE"]))
        }
        return out
    }
}

/// OFAC's legacy CSV files: `sdn.csv` (or the non-SDN `cons_prim.csv`) with `alt`, `add` and
/// `comments` beside it. Fields are `-0-` when empty; dates of birth, nationalities and documents
/// are in the remarks (`DOB 12 Jan 1960; nationality Iran; Passport A123 (Iran)`).
enum OFACList {
    static func load(name: String, path: String) throws(WatchlistError) -> Watchlist {
        var isDirectory: ObjCBool = false
        _ = FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory)
        let folder = isDirectory.boolValue ? path : (path as NSString).deletingLastPathComponent
        let primary = isDirectory.boolValue
            ? ["sdn.csv", "cons_prim.csv"].map { (folder as NSString).appendingPathComponent($0) }.first { FileManager.default.fileExists(atPath: $0) }
            : path
        guard let primary else { throw WatchlistError(file: path, "no sdn.csv or cons_prim.csv in this folder") }
        let prefix = (primary as NSString).lastPathComponent.hasPrefix("cons_") ? "cons_" : ""
        func sibling(_ base: String) -> String? {
            let p = (folder as NSString).appendingPathComponent(prefix == "cons_" ? "cons_\(base).csv" : (base == "comments" ? "sdn_comments.csv" : "\(base).csv"))
            return FileManager.default.fileExists(atPath: p) ? p : nil
        }
        let primaryBytes = try WatchlistLoader.read(primary)
        var parts = [primaryBytes]
        var entries: [WatchlistEntry] = []
        var index: [String: Int] = [:]
        var remarks: [String: String] = [:]
        func value(_ s: String) -> String? {
            let t = s.trimmed(" \t\r\n")
            return t.isEmpty || t == "-0-" ? nil : t
        }
        for row in try WatchlistLoader.csv(primaryBytes, file: primary) {
            guard row.fields.count >= 4 else {
                throw WatchlistError(file: primary, location: "line \(row.line)", "\(row.fields.count) fields; an SDN row has 12 (ent_num, SDN_Name, SDN_Type, Program, …)")
            }
            guard let id = value(row.fields[0]), Int(id) != nil else {
                throw WatchlistError(file: primary, location: "line \(row.line), column ent_num", "'\(row.fields[0])' is not an entry number")
            }
            guard let sdnName = value(row.fields[1]) else {
                throw WatchlistError(file: primary, location: "line \(row.line), column SDN_Name", "empty name")
            }
            var e = WatchlistEntry(id: id, kind: NameKind(schema: value(row.fields[2]) ?? "-0-"),
                                   names: [.init(text: displayName(sdnName), quality: "primary")])
            e.programs = (value(row.fields[3]) ?? "").split(separator: "]").map { $0.trimmingCharacters(in: CharacterSet(charactersIn: "[] ")) }
                .filter { !$0.isEmpty }
            if row.fields.count >= 12, let r = value(row.fields[11]) { remarks[id] = r }
            index[id] = entries.count
            entries.append(e)
        }
        if let comments = sibling("comments") {
            let bytes = try WatchlistLoader.read(comments)
            parts.append(bytes)
            // Remarks too long for the main file continue here.
            for row in try WatchlistLoader.csv(bytes, file: comments) where row.fields.count >= 2 {
                remarks[row.fields[0], default: ""] += row.fields[1]
            }
        }
        if let alt = sibling("alt") {
            let bytes = try WatchlistLoader.read(alt)
            parts.append(bytes)
            for row in try WatchlistLoader.csv(bytes, file: alt) where row.fields.count >= 4 {
                guard let i = index[row.fields[0].trimmed(" \t\r\n")], let text = value(row.fields[3]) else { continue }
                // OFAC marks low-quality aliases `weak` in alt_remarks.
                let weak = row.fields.count >= 5 && row.fields[4].lowercased().contains("weak")
                entries[i].names.append(.init(text: displayName(text), quality: weak ? "weak" : "strong"))
            }
        }
        if let add = sibling("add") {
            let bytes = try WatchlistLoader.read(add)
            parts.append(bytes)
            for row in try WatchlistLoader.csv(bytes, file: add) where row.fields.count >= 5 {
                guard let i = index[row.fields[0].trimmed(" \t\r\n")], let country = value(row.fields[4]) else { continue }
                entries[i].countries.append(country)
            }
        }
        for (id, text) in remarks { if let i = index[id] { apply(remarks: text, to: &entries[i]) } }
        return Watchlist(version: ListVersion(name: name, format: "ofac", sha256: Watchlist.digest(parts), generated: nil, entries: entries.count),
                         entries: entries)
    }

    /// `SMITH, John` → `John SMITH`: OFAC writes individuals surname first.
    static func displayName(_ s: String) -> String {
        let parts = s.split(separator: ",", maxSplits: 1).map { $0.trimmed(" \t\r\n") }
        guard parts.count == 2, !parts[1].isEmpty, !parts[1].contains(",") else { return s }
        return "\(parts[1]) \(parts[0])"
    }

    static let months = ["jan": "01", "feb": "02", "mar": "03", "apr": "04", "may": "05", "jun": "06", "jul": "07", "aug": "08",
                         "sep": "09", "oct": "10", "nov": "11", "dec": "12"]

    /// Reads the `;`-separated remarks OFAC uses for identifying details. A second value of a
    /// kind is written `alt. DOB 1936`, `alt. Passport …`: it counts as much as the first.
    static func apply(remarks: String, to e: inout WatchlistEntry) {
        // The remarks end with a full stop, which is no part of their last value (`alt. DOB 1990.`).
        let remarks = remarks.trimmed(" \t\r\n")
        for part in (remarks.hasSuffix(".") ? remarks.dropLast() : remarks[...]).split(separator: ";").map({ $0.trimmed(" \t\r\n") }) {
            var words = part.split(separator: " ").map(String.init)
            if words.first?.lowercased() == "alt." { words.removeFirst() }
            guard let first = words.first else { continue }
            // `Digital Currency Address - XBT 12QtD5…`: a wallet the entry holds.
            if words.count >= 6, words[0 ..< 4].map({ $0.lowercased() }) == ["digital", "currency", "address", "-"] {
                e.documents.append(.init(type: words[0 ..< 5].joined(separator: " "), number: words[5], country: nil))
                continue
            }
            // `Telephone: …`, `Email: …`
            switch first.lowercased().trimmed(":") {
            case "dob":
                e.birthDates += birthDates(words.dropFirst())
            case "nationality", "citizen":
                let country = words.dropFirst().joined(separator: " ")
                if !country.isEmpty { e.countries.append(country) }
            case "passport":
                if words.count >= 2 { e.documents.append(document("Passport", words.dropFirst())) }
            case "email":
                // `Email Address mycryptodeals@yandex.ru`, `Email 9400658@rambler.ru`
                if let address = words.first(where: { $0.contains("@") }) { e.emails.append(address) }
            case "phone", "telephone":
                // `Phone Number 982188526300`, `Telephone: (98)(21)(66153220)`, `PHONE 850 2 381 8221`
                let number = words.drop { !$0.contains(where: \.isNumber) && !$0.hasPrefix("+") && !$0.hasPrefix("(") }
                if !number.isEmpty { e.phones.append(number.joined(separator: " ")) }
            case "national" where words.count > 2 && words[1].lowercased() == "id" && words[2].lowercased().hasPrefix("no"):
                // `National ID No. 123 (Iran)`
                if words.count > 3 { e.documents.append(document("National ID", words[3...])) }
            default:
                if let d = identifier(words) { e.documents.append(d) }
            }
        }
    }

    /// An identifier among the remarks, of any of the many types OFAC gives (`Cedula No. 16247821
    /// (Colombia)`, `NIT # 800146749-7`, `R.F.C. DIB-771110-HQ1 (Mexico)`, `SWIFT/BIC BKMTIRTH`,
    /// `Vessel Registration Identification IMO 9187629`, `Registration ID HRB 26136 (Germany)`),
    /// read as the XML list's `idList` reads them. Its type is the words before the number; a short
    /// capitalised prefix before the digits (`HRB`, `IMO`, a passport's series `AC`) belongs to the
    /// number. Nil for a remark that is no identifier: a date, a place, a role, a link, a sanctions
    /// note, an aircraft's model, or a type that names no identifier.
    static func identifier(_ words: [String]) -> WatchlistEntry.Document? {
        // A BIC need have no digit (`BKMTIRTH`).
        let first = words.count > 1 && words[0] == WatchlistEntry.Document.bicType ? 1 : words.firstIndex { $0.contains(where: \.isNumber) }
        guard var n = first, n > 0 else { return nil }
        // `Passport AC 123456`, `Registration ID HRB 26136`: the prefix is part of the number.
        if n > 1, (2...4).contains(words[n - 1].count), words[n - 1].allSatisfy({ $0.isUppercase || $0 == "-" }), words[n - 1] != "ID" { n -= 1 }
        let type = words[..<n].joined(separator: " ")
        guard isIdentifierType(type) else { return nil }
        let d = document(type, words[n...])
        // A number has digits (`2nd Vice President` is a role).
        guard d.number.count(where: \.isNumber) >= 3 || (type == WatchlistEntry.Document.bicType && !d.number.isEmpty) else { return nil }
        return d
    }

    /// Whether the words before a remark's number name an identifier: a word such identifiers'
    /// names have (`No.`, `Number`, `#`, `ID`, `Passport`, `License`…), or an abbreviation
    /// (`R.F.C.`, `SSN`, `MMSI`) — and none of the remarks whose values have digits but identify
    /// no one (dates, sanctions notes, aircraft details, a name's Chinese telegraph code).
    static func isIdentifierType(_ type: String) -> Bool {
        let t = type.lowercased()
        guard let first = type.first, first.isUppercase, !type.contains(","), !type.hasSuffix("issued"),
              OFACXMLList.isDocument(type),
              !["dob", "pob", "linked to", "caatsa", "effective date", "listing date", "purchase/sales", "equity ticker", "chinese commercial code",
                "aircraft manufacture date", "aircraft model", "aircraft operator", "fax", "telex", "website", "president", "commander",
                "director", "officer", "vice-", "brigadier", "individual's"].contains(where: t.hasPrefix) else { return false }
        let words = t.split(separator: " ")
        let named = ["no", "no.", "no.:", "number", "number:", "#", "id", "id:", "passport", "license", "licence", "card", "certificate",
                     "registration", "registry", "identification", "identidad", "document", "permit", "code", "swift/bic", "bik"]
        if words.contains(where: { named.contains(String($0)) }) { return true }
        // `R.F.C.`, `C.U.R.P.`, `D.N.I.`; `SSN`, `RFC`, `MMSI`, `RSIN`, `RTN`, `ISIN`, `US FEIN`.
        return type.split(separator: " ").contains { w in
            (w.count >= 4 && w.filter { $0 == "." }.count >= 2 && w.allSatisfy { $0.isUppercase || $0 == "." })
                || ((3...4).contains(w.count) && w.allSatisfy(\.isUppercase))
        }
    }

    /// A date of birth as OFAC writes it, in words: `12 Jan 1960`, `Jan 1960`, `1960`, `circa
    /// 1960`, `1958 to 1962` (each year of a range of at most 20); none for anything else.
    static func birthDates(_ words: ArraySlice<String>) -> [String] {
        let w = words.filter { $0.lowercased() != "circa" }
        if w.count >= 3, let d = Int(w[0]), let m = months[w[1].lowercased().prefix(3).description], Int(w[2]) != nil {
            return ["\(w[2])-\(m)-\(d < 10 ? "0" : "")\(d)"]
        } else if w.count >= 2, let m = months[w[0].lowercased().prefix(3).description], Int(w[1]) != nil {
            return ["\(w[1])-\(m)"]
        } else if let y = w.first, Int(y) != nil, y.count == 4 {
            if w.count >= 3, w[1] == "to", let from = Int(y), let to = Int(w[2]), from <= to, to - from <= 20 {
                return (from...to).map(String.init)
            }
            return [y]
        }
        return []
    }

    /// A document of the remarks: the number, then the issuing country in brackets, then notes
    /// (`Passport 008827 (Iran) issued 1999`, `Immigration No. A7800002 Border Crossing`,
    /// `No. T04338017, expired 08 May 2013`) that are no part of either.
    private static func document(_ type: String, _ rest: ArraySlice<String>) -> WatchlistEntry.Document {
        let open = rest.firstIndex { $0.hasPrefix("(") } ?? rest.endIndex
        var number = rest[..<open].enumerated().prefix { i, w in i == 0 || !(w.count >= 2 && w.contains(where: \.isLowercase)) }.map(\.element)
        if let last = number.last, last.hasSuffix(",") { number[number.count - 1] = String(last.dropLast()) }
        var country: String?
        if open < rest.endIndex, let close = rest[open...].firstIndex(where: { $0.hasSuffix(")") }) {
            country = rest[open...close].joined(separator: " ").trimmed("()")
        }
        return .init(type: type, number: number.joined(separator: " "), country: country)
    }
}

/// FollowTheMoney entities, one JSON object per line (`{"id", "schema", "properties": {…}}`).
enum FtMList {
    static let kept: [String: NameKind] = [
        "Person": .person, "Organization": .organization, "Company": .organization, "LegalEntity": .organization,
        "PublicBody": .organization, "Vessel": .vessel, "Airplane": .vessel,
    ]

    static func load(name: String, path: String) throws(WatchlistError) -> Watchlist {
        let bytes = try WatchlistLoader.read(path)
        let objects = try objects(bytes, file: path)
        // OpenSanctions also exports its datasets as Senzing records.
        if let first = objects.first?.object, first["RECORD_ID"] != nil, first["schema"] == nil {
            return try SenzingList.watchlist(name: name, objects, bytes: bytes, file: path)
        }
        var entries: [WatchlistEntry] = []
        var newest: String?
        for (location, object) in objects {
            guard let schema = object["schema"] as? String, let id = object["id"] as? String else {
                throw WatchlistError(file: path, location: location, "an entity needs \"id\" and \"schema\"")
            }
            guard let kind = kept[schema] else { continue }
            let p = object["properties"] as? [String: Any] ?? [:]
            func values(_ key: String) -> [String] { (p[key] as? [Any] ?? []).compactMap { $0 as? String } }
            var names = values("name").map { WatchlistEntry.Name(text: $0, quality: "primary") }
            names += (values("alias") + values("previousName")).map { .init(text: $0, quality: "strong") }
            names += values("weakAlias").map { .init(text: $0, quality: "weak") }
            if names.isEmpty, let caption = object["caption"] as? String { names = [.init(text: caption, quality: "primary")] }
            guard !names.isEmpty else { continue }
            var e = WatchlistEntry(id: id, kind: kind, names: names)
            e.birthDates = values("birthDate")
            e.countries = values("nationality") + values("citizenship") + values("country") + values("jurisdiction")
            e.documents = (values("passportNumber").map { WatchlistEntry.Document(type: "Passport", number: $0, country: nil) })
                + values("idNumber").map { .init(type: "ID", number: $0, country: nil) }
                + values("imoNumber").map { .init(type: "IMO", number: $0, country: nil) }
                + values("swiftBic").map { .init(type: WatchlistEntry.Document.bicType, number: $0, country: nil) }
            e.programs = values("topics") + values("program")
            e.emails = values("email")
            e.phones = values("phone")
            if let change = object["last_change"] as? String, change > (newest ?? "") { newest = change }
            entries.append(e)
        }
        return Watchlist(version: ListVersion(name: name, format: "ftm", sha256: Watchlist.digest([bytes]), generated: newest, entries: entries.count),
                         entries: entries)
    }

    /// The entities of a file, with where each is: one JSON object per line (OpenSanctions'
    /// exports), or one JSON array of them (as an API answer or a hand-made file gives them).
    static func objects(_ bytes: [UInt8], file: String) throws(WatchlistError) -> [(location: String, object: [String: Any])] {
        if bytes.first(where: { $0 != 0x20 && $0 != 0x0A && $0 != 0x0D && $0 != 0x09 }) == UInt8(ascii: "[") {
            let array: [Any]
            do { array = try JSONSerialization.jsonObject(with: Data(bytes)) as? [Any] ?? [] } catch {
                throw WatchlistError(file: file, "not JSON: \((error as NSError).userInfo[NSDebugDescriptionErrorKey] ?? error)")
            }
            return try array.enumerated().map { i, element throws(WatchlistError) in
                guard let object = element as? [String: Any] else { throw WatchlistError(file: file, location: "entity [\(i + 1)]", "not a JSON object") }
                return ("entity [\(i + 1)]", object)
            }
        }
        var out: [(location: String, object: [String: Any])] = []
        var lineNumber = 0
        for line in bytes.split(separator: 0x0A, omittingEmptySubsequences: false) {
            lineNumber += 1
            guard line.contains(where: { $0 != 0x20 && $0 != 0x0D && $0 != 0x09 }) else { continue }
            guard let object = try? JSONSerialization.jsonObject(with: Data(line)) as? [String: Any] else {
                throw WatchlistError(file: file, location: "line \(lineNumber)", "not a JSON object (FollowTheMoney files hold one entity per line, or a JSON array of them)")
            }
            out.append(("line \(lineNumber)", object))
        }
        return out
    }
}
