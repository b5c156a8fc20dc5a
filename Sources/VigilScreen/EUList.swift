import VigilFormats

/// The EU's consolidated list of persons, groups and entities subject to financial sanctions
/// (the Financial Sanctions Files' XML, `xmlFullSanctionsList_1_1`: root `<export
/// generationDate=…>`), read from its published layout: each `<sanctionEntity
/// euReferenceNumber=… logicalId=…>` has a `<subjectType code="person|enterprise">`, names as
/// `<nameAlias wholeName firstName middleName lastName strong>`, `<birthdate birthdate year
/// monthOfYear>`, `<citizenship countryIso2Code>`, `<address countryIso2Code>`,
/// `<identification number identificationTypeCode countryIso2Code>` and `<regulation
/// programme>`. No sample of the file is on this machine: the loader follows the layout, and its
/// test reads a file written to it. An excerpt of a 2018 export, retyped from a public
/// repository's comments (not kept), loaded as expected: person and enterprise, the `00` country,
/// a full birth date, a passport, aliases in other scripts.
enum EUList {
    static func watchlist(name: String, root: XMLElement, bytes: [UInt8], file: String) throws(WatchlistError) -> Watchlist {
        var entries: [WatchlistEntry] = []
        for (n, e) in root.children("sanctionEntity").enumerated() {
            let at = "sanctionEntity[\(n + 1)] (line \(e.line))"
            guard let id = value(e, "euReferenceNumber") ?? value(e, "logicalId") else {
                throw WatchlistError(file: file, location: at, "no euReferenceNumber or logicalId")
            }
            let kind: NameKind = switch e.child("subjectType")?.attribute("code") {
            case "person"?: .person
            case "enterprise"?: .organization
            default: .unknown
            }
            var names: [WatchlistEntry.Name] = []
            for alias in e.children("nameAlias") {
                guard let text = value(alias, "wholeName")
                        ?? WatchlistLoader.fullName(alias.attribute("firstName"), alias.attribute("middleName"), alias.attribute("lastName")),
                      !names.contains(where: { $0.text == text }) else { continue }
                // The file marks no primary name: the first is the one the entry is listed under.
                names.append(.init(text: text, quality: names.isEmpty ? "primary" : alias.attribute("strong") == "false" ? "weak" : "strong"))
            }
            guard !names.isEmpty else { throw WatchlistError(file: file, location: at, "no nameAlias with a name") }
            var entry = WatchlistEntry(id: id, kind: kind, names: names)
            for b in e.children("birthdate") {
                let date = value(b, "birthdate")
                    ?? value(b, "year").flatMap { year in
                        guard let month = b.attribute("monthOfYear").flatMap(Int.init), (1...12).contains(month) else { return year }
                        return "\(year)-\(month < 10 ? "0" : "")\(month)"
                    }
                if let date, ScreeningQuery.isBirthDate(date), !entry.birthDates.contains(date) { entry.birthDates.append(date) }
            }
            // `00` is the file's "unknown".
            func country(_ x: XMLElement) -> String? { value(x, "countryIso2Code").flatMap { $0 == "00" ? nil : $0 } }
            for c in (e.children("citizenship") + e.children("address")).compactMap(country) where !entry.countries.contains(c) {
                entry.countries.append(c)
            }
            entry.documents = e.children("identification").compactMap { i in
                value(i, "number").map { .init(type: value(i, "identificationTypeCode"), number: $0, country: country(i)) }
            }
            for p in e.children("regulation").compactMap({ value($0, "programme") }) where !entry.programs.contains(p) {
                entry.programs.append(p)
            }
            entries.append(entry)
        }
        return Watchlist(version: ListVersion(name: name, format: "eu", sha256: Watchlist.digest([bytes]), generated: root.attribute("generationDate"),
                                              entries: entries.count),
                         entries: entries)
    }

    /// An attribute's value; nil when absent or empty (the file writes `""` for what it does not know).
    private static func value(_ x: XMLElement, _ name: String) -> String? { x.attribute(name).flatMap { $0.isEmpty ? nil : $0 } }
}
