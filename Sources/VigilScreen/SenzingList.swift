import Foundation

/// Records in Senzing's entity format, which OpenSanctions exports its datasets in beside
/// FollowTheMoney (`senzing.json`), and which entity-resolution users keep their own lists in:
/// one JSON object per record (per line, or in one array), with `RECORD_ID`, `RECORD_TYPE`
/// (`PERSON`, `ORGANIZATION`) and attributes either flat on the record (`NAME_FIRST`,
/// `NAME_LAST`, `DATE_OF_BIRTH`, `PASSPORT_NUMBER`, `PHONE_NUMBER`, `EMAIL_ADDRESS`…) or in lists
/// of groups (`NAMES: [{NAME_TYPE, NAME_FULL}]`, `DATES`, `COUNTRIES`, `IDENTIFIERS`, `RISKS`, or
/// all of them in `FEATURES`).
/// An attribute may carry a usage before its name (`PRIMARY_NAME_FULL`).
enum SenzingList {
    static func watchlist(name: String, _ objects: [(location: String, object: [String: Any])], bytes: [UInt8], file: String) throws(WatchlistError) -> Watchlist {
        var entries: [WatchlistEntry] = []
        var newest: String?
        for (location, object) in objects {
            guard let id = object["RECORD_ID"].map({ "\($0)" }), !id.isEmpty else {
                throw WatchlistError(file: file, location: location, "a Senzing record needs a RECORD_ID")
            }
            let groups = Self.groups(object)
            guard let entry = entry(id: id, groups) else { continue }
            entries.append(entry)
            if let change = object["LAST_CHANGE"] as? String, change > (newest ?? "") { newest = change }
        }
        return Watchlist(version: ListVersion(name: name, format: "senzing", sha256: Watchlist.digest([bytes]), generated: newest, entries: entries.count),
                         entries: entries)
    }

    /// The record's attributes in groups: its own flat ones, then each object in its lists.
    static func groups(_ record: [String: Any]) -> [[String: String]] {
        func strings(_ o: [String: Any]) -> [String: String] {
            o.compactMapValues { v in (v as? String).map { $0.trimmingCharacters(in: .whitespaces) }.flatMap { $0.isEmpty ? nil : $0 } }
        }
        var out = [strings(record)]
        for key in record.keys.sorted() {
            for case let group as [String: Any] in record[key] as? [Any] ?? [] { out.append(strings(group)) }
        }
        return out
    }

    /// The entry a record's groups describe; nil for a record with no name.
    static func entry(id: String, _ groups: [[String: String]]) -> WatchlistEntry? {
        var names: [WatchlistEntry.Name] = []
        var person = false, organization = false
        var e = WatchlistEntry(id: id, kind: .unknown, names: [])
        for g in groups {
            switch g["RECORD_TYPE"]?.uppercased() {
            case "PERSON"?: person = true
            case "ORGANIZATION"?: organization = true
            default: break
            }
            // Each usage's name: the attributes before which the same usage stands.
            for usage in Set(g.keys.compactMap(Self.nameUsage)).sorted() {
                func v(_ attribute: String) -> String? { g[usage + attribute] }
                let text: String?
                if let org = v("NAME_ORG") {
                    organization = true
                    text = org
                } else if let full = v("NAME_FULL") {
                    text = full
                } else {
                    if v("NAME_LAST") != nil || v("NAME_FIRST") != nil { person = true }
                    text = WatchlistLoader.fullName(v("NAME_FIRST"), v("NAME_MIDDLE"), v("NAME_LAST"), v("NAME_SUFFIX"))
                }
                guard let text, !names.contains(where: { $0.text == text }) else { continue }
                let type = (g["NAME_TYPE"] ?? String(usage.dropLast())).uppercased()
                let primary = type == "PRIMARY" || (type.isEmpty && names.isEmpty)
                names.append(.init(text: text, quality: primary ? "primary" : "strong"))
            }
            if let dob = g["DATE_OF_BIRTH"].flatMap(Self.date) {
                person = true
                if !e.birthDates.contains(dob) { e.birthDates.append(dob) }
            }
            for key in ["NATIONALITY", "CITIZENSHIP", "REGISTRATION_COUNTRY", "ADDR_COUNTRY"] {
                if let c = g[key], !e.countries.contains(c) { e.countries.append(c) }
            }
            for (kind, country) in [("PASSPORT", "PASSPORT_COUNTRY"), ("NATIONAL_ID", "NATIONAL_ID_COUNTRY"), ("TAX_ID", "TAX_ID_COUNTRY"),
                                    ("DRIVERS_LICENSE", "DRIVERS_LICENSE_STATE"), ("SSN", ""), ("LEI", ""), ("OTHER_ID", "OTHER_ID_COUNTRY")] {
                guard let number = g[kind + "_NUMBER"] ?? (kind == "SSN" ? g["SSN"] : nil) else { continue }
                let type = kind == "OTHER_ID" ? g["OTHER_ID_TYPE"] : kind
                // OpenSanctions names its own entity id this way: it is no document.
                if type == "OPEN_SANCTIONS" { continue }
                e.documents.append(.init(type: type, number: number, country: country.isEmpty ? nil : g[country]))
            }
            if let topic = g["TOPIC"], !e.programs.contains(topic) { e.programs.append(topic) }
            if let address = g["EMAIL_ADDRESS"], !e.emails.contains(address) { e.emails.append(address) }
            if let number = g["PHONE_NUMBER"], !e.phones.contains(number) { e.phones.append(number) }
        }
        guard !names.isEmpty else { return nil }
        // A record whose names are all aliases: its first is the one it goes by.
        if !names.contains(where: { $0.quality == "primary" }) { names[0].quality = "primary" }
        e.names = names
        e.kind = person == organization ? .unknown : person ? .person : .organization
        return e
    }

    /// The usage before a name attribute (`PRIMARY_` of `PRIMARY_NAME_FULL`, empty for
    /// `NAME_FULL`); nil for other attributes.
    static func nameUsage(_ key: String) -> String? {
        for attribute in ["NAME_ORG", "NAME_FULL", "NAME_LAST", "NAME_FIRST"] where key.hasSuffix(attribute) {
            let usage = key.dropLast(attribute.count)
            if usage.isEmpty || usage.hasSuffix("_") { return String(usage) }
        }
        return nil
    }

    /// A date of birth as `YYYY-MM-DD`, `YYYY-MM` or `YYYY`: Senzing's records write them so, or
    /// as `YYYYMMDD`; others are left out.
    static func date(_ text: String) -> String? {
        if ScreeningQuery.isBirthDate(text) { return text }
        let u = Array(text.utf8)
        guard u.count == 8, u.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
        let d = "\(text.prefix(4))-\(text.dropFirst(4).prefix(2))-\(text.suffix(2))"
        return ScreeningQuery.isBirthDate(d) ? d : nil
    }
}
