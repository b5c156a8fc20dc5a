import VigilFormats

/// OFAC's SDN list as XML (`SDN.XML`: root `<sdnList>`), read from its published layout: a
/// `<publshInformation><Publish_Date>` (month first), and per `<sdnEntry>` its `uid`,
/// `firstName`, `lastName`, `sdnType` (`Individual`, `Entity`, `Vessel`, `Aircraft`),
/// `programList/program`, `akaList/aka` (`category` strong or weak), `idList/id` (`idType`,
/// `idNumber`, `idCountry`), `dateOfBirthList/dateOfBirthItem/dateOfBirth` (in words, as in the
/// CSV set's remarks), and the countries of `nationalityList`, `citizenshipList` and
/// `addressList`. No sample of the file is on this machine: the loader follows the layout, and
/// its test reads a file written to it.
enum OFACXMLList {
    static func watchlist(name: String, root: XMLElement, bytes: [UInt8], file: String) throws(WatchlistError) -> Watchlist {
        var entries: [WatchlistEntry] = []
        for (n, e) in root.children("sdnEntry").enumerated() {
            let at = "sdnEntry[\(n + 1)] (line \(e.line))"
            guard let id = text(e, "uid") else { throw WatchlistError(file: file, location: at, "no uid") }
            let kind = NameKind(schema: text(e, "sdnType") ?? "")
            guard let primary = Self.name(e) else { throw WatchlistError(file: file, location: at, "no lastName") }
            var entry = WatchlistEntry(id: id, kind: kind, names: [.init(text: primary, quality: "primary")])
            for aka in e.child("akaList")?.children("aka") ?? [] {
                guard let alias = Self.name(aka), !entry.names.contains(where: { $0.text == alias }) else { continue }
                entry.names.append(.init(text: alias, quality: text(aka, "category")?.lowercased() == "weak" ? "weak" : "strong"))
            }
            entry.programs = (e.child("programList")?.children("program") ?? []).map { $0.text.trimmed(" \t\r\n") }.filter { !$0.isEmpty }
            for item in e.child("dateOfBirthList")?.children("dateOfBirthItem") ?? [] {
                let words = (text(item, "dateOfBirth") ?? "").split(separator: " ").map(String.init)
                for d in OFACList.birthDates(words[...]) where !entry.birthDates.contains(d) { entry.birthDates.append(d) }
            }
            for (list, item) in [("nationalityList", "nationality"), ("citizenshipList", "citizenship"), ("addressList", "address")] {
                for c in (e.child(list)?.children(item) ?? []).compactMap({ text($0, "country") }) where !entry.countries.contains(c) {
                    entry.countries.append(c)
                }
            }
            // Identifiers, and the contacts filed among them, in one pass.
            for i in e.child("idList")?.children("id") ?? [] {
                guard let number = text(i, "idNumber") else { continue }
                let type = text(i, "idType")
                switch type?.lowercased() {
                case "email address": entry.emails.append(number)
                case "phone number": entry.phones.append(number)
                // A number has digits; a BIC need not (`BKMTIRTH`).
                default:
                    guard number.contains(where: \.isNumber) || type == WatchlistEntry.Document.bicType, Self.isDocument(type ?? "") else { continue }
                    entry.documents.append(.init(type: type, number: number, country: text(i, "idCountry")))
                }
            }
            entries.append(entry)
        }
        // `Publish_Date` is month first: `12/04/2026`.
        let published = root.child("publshInformation").flatMap { text($0, "Publish_Date") }.flatMap { date -> String? in
            let p = date.split(separator: "/")
            guard p.count == 3, let m = Int(p[0]), let d = Int(p[1]), p[2].count == 4 else { return nil }
            return "\(p[2])-\(m < 10 ? "0" : "")\(m)-\(d < 10 ? "0" : "")\(d)"
        }
        return Watchlist(version: ListVersion(name: name, format: "ofac-xml", sha256: Watchlist.digest([bytes]), generated: published,
                                              entries: entries.count),
                         entries: entries)
    }

    /// An entry's or alias's name in reading order: `firstName lastName` (an entity has only a
    /// `lastName`).
    private static func name(_ x: XMLElement) -> String? {
        guard let last = text(x, "lastName") else { return nil }
        return text(x, "firstName").map { "\($0) \(last)" } ?? last
    }

    /// Whether an `idType` names an identifier a person or body holds, rather than a remark OFAC
    /// files among them (`Gender`, `Website`, `Secondary sanctions risk:`…), which the document
    /// evidence must not match.
    static func isDocument(_ type: String) -> Bool {
        let t = type.lowercased()
        return !["gender", "website", "email address", "phone number"].contains(t)
            && !["additional sanctions", "secondary sanctions", "transactions prohibited", "organization", "executive order"].contains(where: t.hasPrefix)
    }

    /// A child's text, trimmed; nil when absent or empty.
    private static func text(_ x: XMLElement, _ name: String) -> String? {
        let v = x.child(name)?.text.trimmed(" \t\r\n") ?? ""
        return v.isEmpty ? nil : v
    }
}
