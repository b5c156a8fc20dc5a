import Foundation
import VigilFormats

/// A CSV file's header: its columns found by name (trimmed, in any case), and its rows' values
/// read by column.
struct CSVHeader {
    /// The header's fields as written, for error messages.
    let fields: [String]
    private let names: [String]

    init(_ header: CSVDecoder.Record) {
        fields = header.fields
        var names = header.fields.map { $0.trimmed(" \t\r\n").lowercased() }
        // A byte-order mark that a lossy conversion turned into replacement characters (U+FFFD)
        // is not part of the first column's name.
        if let first = names.first {
            names[0] = String(String.UnicodeScalarView(first.unicodeScalars.drop { $0 == "\u{FEFF}" || $0 == "\u{FFFD}" }))
        }
        self.names = names
    }

    /// The first of `names` the header has.
    func column(_ names: String...) -> Int? { names.lazy.compactMap { self.names.firstIndex(of: $0) }.first }

    func has(_ names: String...) -> Bool { names.allSatisfy { self.names.contains($0) } }

    /// A row's value in a column, trimmed; nil when the column or the value is missing.
    func value(_ column: Int?, of row: CSVDecoder.Record) -> String? {
        guard let column, column < row.fields.count else { return nil }
        let v = row.fields[column].trimmed(" \t\r\n")
        return v.isEmpty ? nil : v
    }

    /// Where a row's value is, for an error: `line 12, column 'name'`.
    func location(_ row: CSVDecoder.Record, _ column: Int) -> String { "line \(row.line), column '\(fields[column])'" }

    /// Whether a row is the empty line a file may end with.
    static func isBlank(_ row: CSVDecoder.Record) -> Bool { row.fields.count == 1 && row.fields[0].isEmpty }
}

/// The columns of a simple CSV of names: a list kept by hand (``SimpleCSVList``) or names to
/// screen (``ScreeningBatch``). `name` is required; `id`, `kind`, `aliases`, `birth_date`,
/// `country`, `document`, `phone` and `email` are read when present.
struct NameColumns {
    let header: CSVHeader
    let name: Int
    let id, kind, aliases, birthDate, country, document, phone, email: Int?

    init(_ header: CSVDecoder.Record, file: String) throws(WatchlistError) {
        let h = CSVHeader(header)
        guard let name = h.column("name", "full_name", "fullname") else {
            throw WatchlistError(file: file, location: "line \(header.line)", "no 'name' column (found: \(header.fields.joined(separator: ", ")))")
        }
        self.header = h
        self.name = name
        id = h.column("id")
        kind = h.column("kind", "schema", "type")
        aliases = h.column("aliases", "alias")
        birthDate = h.column("birth_date", "dob", "date_of_birth")
        country = h.column("country", "nationality")
        document = h.column("document", "passport")
        phone = h.column("phone", "telephone")
        email = h.column("email", "e-mail")
    }

    func field(_ column: Int?, of row: CSVDecoder.Record) -> String? { header.value(column, of: row) }

    func location(_ row: CSVDecoder.Record, _ column: Int) -> String { header.location(row, column) }

    /// The row's name; an error naming its place when it is empty.
    func name(of row: CSVDecoder.Record, file: String) throws(WatchlistError) -> String {
        guard let text = field(name, of: row) else { throw WatchlistError(file: file, location: location(row, name), "empty name") }
        return text
    }
}

/// Lists published as CSV, told apart by their header row: FinCEN's 314(a) subject lists, the
/// watch-list import layout of GTAS (the passenger screening system of US CBP, used by PIUs),
/// the US Consolidated Screening List, and a list kept by hand (``SimpleCSVList``).
enum CSVList {
    static func load(name: String, path: String) throws(WatchlistError) -> Watchlist {
        let bytes = try WatchlistLoader.read(path)
        let rows = try WatchlistLoader.csv(bytes, file: path)
        guard let first = rows.first else { throw WatchlistError(file: path, "empty file: a header row is required") }
        let header = CSVHeader(first)
        let body = rows.dropFirst().filter { !CSVHeader.isBlank($0) }
        let (format, entries): (String, [WatchlistEntry])
        if header.has("tracking_number"), header.has("last_name") || header.has("business_name") {
            (format, entries) = ("fincen-314a", try FinCEN314a.entries(header, body, file: path))
        } else if header.has("firstname", "lastname") {
            (format, entries) = ("gtas", try GTASWatchlist.entries(header, body, file: path))
        } else if header.has("source", "name", "alt_names") {
            (format, entries) = ("csl", try ConsolidatedScreeningList.entries(header, body, file: path))
        } else {
            (format, entries) = ("csv", try SimpleCSVList.entries(first, body, file: path))
        }
        return Watchlist(version: ListVersion(name: name, format: format, sha256: Watchlist.digest([bytes]), generated: nil, entries: entries.count),
                         entries: entries)
    }

    /// A date as US lists write it, month first (`2/8/1988`, `11-10-1975`), as `YYYY-MM-DD`;
    /// an error naming its place when it is not one.
    static func monthFirstDate(_ text: String, at location: String, file: String) throws(WatchlistError) -> String {
        let parts = text.split(whereSeparator: { $0 == "/" || $0 == "-" })
        if parts.count == 3, parts[2].count == 4, (1...2).contains(parts[0].count), (1...2).contains(parts[1].count),
           let m = Int(parts[0]), let d = Int(parts[1]), let y = Int(parts[2]) {
            let date = "\(y)-\(m < 10 ? "0" : "")\(m)-\(d < 10 ? "0" : "")\(d)"
            if ScreeningQuery.isBirthDate(date) { return date }
        }
        throw WatchlistError(file: file, location: location, "'\(text)' is not a date written month first (M/D/YYYY)")
    }
}

/// A list kept by hand: a CSV with a header naming its columns (``NameColumns``).
enum SimpleCSVList {
    static func entries(_ header: CSVDecoder.Record, _ rows: [CSVDecoder.Record], file: String) throws(WatchlistError) -> [WatchlistEntry] {
        let columns = try NameColumns(header, file: file)
        var entries: [WatchlistEntry] = []
        for row in rows {
            var e = WatchlistEntry(id: columns.field(columns.id, of: row) ?? "line-\(row.line)",
                                   kind: columns.field(columns.kind, of: row).map(NameKind.init(schema:)) ?? .unknown,
                                   names: [.init(text: try columns.name(of: row, file: file), quality: "primary")])
            e.names += (columns.field(columns.aliases, of: row) ?? "").split(separator: ";").map { .init(text: $0.trimmed(" \t\r\n"), quality: "strong") }
            e.birthDates = columns.field(columns.birthDate, of: row).map { [$0] } ?? []
            e.countries = columns.field(columns.country, of: row).map { [$0] } ?? []
            e.documents = columns.field(columns.document, of: row).map { [.init(type: nil, number: $0, country: nil)] } ?? []
            e.phones = columns.field(columns.phone, of: row).map { [$0] } ?? []
            e.emails = columns.field(columns.email, of: row).map { [$0] } ?? []
            entries.append(e)
        }
        return entries
    }
}

/// FinCEN's 314(a) subject lists, persons or businesses, as FinCEN sends them to institutions:
/// a row per name of a subject, under the case's tracking number (which a hit cites, and which
/// a case's several subjects share). Rows of one case that give the same identifying number (or,
/// without one, the same surname and birth date, or business name) are one subject, with each
/// row's names. Persons: `last_name`, `first_name`, `middle_name`, `suffix`,
/// the same with `alias_`, `number` and `number_type` (SSN, passport…), `dob` (M/D/YYYY),
/// `country`. Businesses: `business_name`, `dba_name` (an alias), `number`, `country`.
enum FinCEN314a {
    static func entries(_ h: CSVHeader, _ rows: [CSVDecoder.Record], file: String) throws(WatchlistError) -> [WatchlistEntry] {
        let tracking = h.column("tracking_number")!
        let business = h.column("business_name"), dba = h.column("dba_name")
        let last = h.column("last_name"), first = h.column("first_name"), middle = h.column("middle_name"), suffix = h.column("suffix")
        let aliasLast = h.column("alias_last_name"), aliasFirst = h.column("alias_first_name")
        let aliasMiddle = h.column("alias_middle_name"), aliasSuffix = h.column("alias_suffix")
        let number = h.column("number"), numberType = h.column("number_type"), dob = h.column("dob"), country = h.column("country")
        let phone = h.column("phone"), electronic = h.column("electronic_address"), electronicType = h.column("electronic_address_type")
        let person = business == nil
        var entries: [WatchlistEntry] = []
        var bySubject: [String: Int] = [:]
        for row in rows {
            guard let id = h.value(tracking, of: row) else { throw WatchlistError(file: file, location: h.location(row, tracking), "no tracking number") }
            func v(_ c: Int?) -> String? { h.value(c, of: row) }
            guard let name = person ? WatchlistLoader.fullName(v(first), v(middle), v(last), v(suffix)) : v(business) else {
                throw WatchlistError(file: file, location: h.location(row, (person ? last : business)!), "no name")
            }
            let birth = try v(dob).map { text throws(WatchlistError) in try CSVList.monthFirstDate(text, at: h.location(row, dob!), file: file) }
            let subject = "\(id)|" + (v(number).map { "#\($0)" } ?? (person ? "\(v(last)?.lowercased() ?? "")|\(birth ?? "")" : name.lowercased()))
            let index = bySubject[subject] ?? {
                var e = WatchlistEntry(id: id, kind: person ? .person : .organization, names: [])
                e.programs = ["314(a)"]
                entries.append(e)
                bySubject[subject] = entries.count - 1
                return entries.count - 1
            }()
            let alias = person ? WatchlistLoader.fullName(v(aliasFirst), v(aliasMiddle), v(aliasLast), v(aliasSuffix)) : v(dba)
            // The first row's name is the entry's primary name; the rest are its aliases.
            for text in [name, alias].compactMap({ $0 }) where !entries[index].names.contains(where: { $0.text == text }) {
                entries[index].names.append(.init(text: text, quality: entries[index].names.isEmpty ? "primary" : "strong"))
            }
            if let birth, !entries[index].birthDates.contains(birth) { entries[index].birthDates.append(birth) }
            if let n = v(number) {
                let d = WatchlistEntry.Document(type: v(numberType), number: n, country: v(country))
                if !entries[index].documents.contains(d) { entries[index].documents.append(d) }
            }
            if let c = v(country), !entries[index].countries.contains(c) { entries[index].countries.append(c) }
            if let p = v(phone), !entries[index].phones.contains(p) { entries[index].phones.append(p) }
            // An electronic address is an e-mail address, a website or an IP address; the type says which.
            if let a = v(electronic), v(electronicType)?.lowercased().contains("mail") ?? a.contains("@"), !entries[index].emails.contains(a) {
                entries[index].emails.append(a)
            }
        }
        return entries
    }
}

/// The watch-list import layout of GTAS (`firstname`, `lastname`, `middlename`, `dob` month
/// first, `documentcountry`, `documentnumber`, `documenttype`, `coc` — country of citizenship).
/// A person listed on several rows, one per travel document, is one entry with each document:
/// rows with the same names and birth date are merged.
enum GTASWatchlist {
    static func entries(_ h: CSVHeader, _ rows: [CSVDecoder.Record], file: String) throws(WatchlistError) -> [WatchlistEntry] {
        let first = h.column("firstname")!, last = h.column("lastname")!, middle = h.column("middlename"), dob = h.column("dob")
        let docCountry = h.column("documentcountry"), docNumber = h.column("documentnumber"), docType = h.column("documenttype")
        let citizenship = h.column("coc"), phone = h.column("phone"), email = h.column("email")
        var entries: [WatchlistEntry] = []
        var byPerson: [String: Int] = [:]
        for row in rows {
            func v(_ c: Int?) -> String? { h.value(c, of: row) }
            guard v(last) != nil, let name = WatchlistLoader.fullName(v(first), v(middle), v(last)) else {
                throw WatchlistError(file: file, location: h.location(row, last), "no last name")
            }
            let birth = try v(dob).map { text throws(WatchlistError) in try CSVList.monthFirstDate(text, at: h.location(row, dob!), file: file) }
            let key = "\(name.lowercased())|\(birth ?? "")"
            let index = byPerson[key] ?? {
                var e = WatchlistEntry(id: "line-\(row.line)", kind: .person, names: [.init(text: name, quality: "primary")])
                e.birthDates = birth.map { [$0] } ?? []
                entries.append(e)
                byPerson[key] = entries.count - 1
                return entries.count - 1
            }()
            if let n = v(docNumber) {
                let d = WatchlistEntry.Document(type: v(docType), number: n, country: v(docCountry))
                if !entries[index].documents.contains(d) { entries[index].documents.append(d) }
            }
            for c in [v(citizenship), v(docCountry)].compactMap({ $0 }) where !entries[index].countries.contains(c) {
                entries[index].countries.append(c)
            }
            if let p = v(phone), !entries[index].phones.contains(p) { entries[index].phones.append(p) }
            if let m = v(email), !entries[index].emails.contains(m) { entries[index].emails.append(m) }
        }
        return entries
    }
}

/// The US Consolidated Screening List (trade.gov's CSV: the Treasury's, Commerce's and State's
/// export and sanctions lists in one): `name`, `alt_names` (`;`-separated), `type`
/// (`Individual`, `Entity`, `Vessel`), `programs`, `source` (the list an entry comes from),
/// `dates_of_birth`, `nationalities`, `citizenships` and `ids` (`Passport, 836238033, KP;
/// Gender, Male`: each identifier's type, number and country, in either order).
enum ConsolidatedScreeningList {
    static func entries(_ h: CSVHeader, _ rows: [CSVDecoder.Record], file: String) throws(WatchlistError) -> [WatchlistEntry] {
        let name = h.column("name")!, alt = h.column("alt_names"), type = h.column("type")
        let entityNumber = h.column("entity_number"), hashID = h.column("_id", "id")
        let programs = h.column("programs"), source = h.column("source"), dobs = h.column("dates_of_birth")
        let nationalities = h.column("nationalities"), citizenships = h.column("citizenships"), ids = h.column("ids")
        func list(_ text: String?) -> [String] { (text ?? "").split(separator: ";").map { $0.trimmed(" \t\r\n") }.filter { !$0.isEmpty } }
        return try rows.map { row throws(WatchlistError) in
            func v(_ c: Int?) -> String? { h.value(c, of: row) }
            // The State Department's entries end `; and any successor, sub-unit, or subsidiary thereof`.
            guard let text = v(name).map({ $0.components(separatedBy: "; and any ")[0].trimmed(" \t\r\n") }), !text.isEmpty else {
                throw WatchlistError(file: file, location: h.location(row, name), "empty name")
            }
            let kind = v(type).map(NameKind.init(schema:)) ?? .unknown
            // Entries from OFAC's lists keep its `SURNAME, Given` for individuals.
            let reading = kind == .person ? OFACList.displayName : { $0 }
            var e = WatchlistEntry(id: v(entityNumber) ?? v(hashID) ?? "line-\(row.line)", kind: kind, names: [.init(text: reading(text), quality: "primary")])
            e.names += list(v(alt)).map { .init(text: reading($0), quality: "strong") }
            e.birthDates = list(v(dobs)).filter(ScreeningQuery.isBirthDate)
            e.countries = list(v(nationalities)) + list(v(citizenships))
            for id in list(v(ids)) { Self.add(identifier: id, to: &e) }
            e.programs = list(v(programs)) + [v(source)].compactMap { $0 }
            return e
        }
    }

    /// Reads an identifier of the `ids` column into the entry: its parts are the type, the value
    /// and a country code, in the order the source list gave them (`Passport, 836238033, KP`;
    /// `9400658@rambler.ru, Email Address`). E-mail addresses and phone numbers are contacts; a
    /// document needs a number, and OFAC's remarks filed among the identifiers (`Gender`,
    /// `Website`, sanctions notes) are none.
    static func add(identifier text: String, to e: inout WatchlistEntry) {
        let parts = text.split(separator: ",").map { $0.trimmed(" \t\r\n") }
        switch parts.first(where: { $0.lowercased() == "email address" || $0.lowercased() == "phone number" })?.lowercased() {
        case "email address"?:
            if let address = parts.first(where: { $0.contains("@") }) { e.emails.append(address) }
        case "phone number"?:
            if let number = parts.first(where: { $0.lowercased() != "phone number" }) { e.phones.append(number) }
        case _ where parts.contains(WatchlistEntry.Document.bicType):
            // A BIC may have no digit (`BKMTIRTH`).
            if let bic = parts.first(where: { $0 != WatchlistEntry.Document.bicType && $0.utf8.count >= 8 }) {
                e.documents.append(.init(type: WatchlistEntry.Document.bicType, number: bic, country: nil))
            }
        default:
            if let d = document(text), OFACXMLList.isDocument(d.type ?? "") { e.documents.append(d) }
        }
    }

    /// An identifier of the `ids` column, when it has a number: its parts are the type, the
    /// number (the part with digits) and a country code, in the order the source list gave them.
    static func document(_ text: String) -> WatchlistEntry.Document? {
        let parts = text.split(separator: ",").map { $0.trimmed(" \t\r\n") }
        guard let number = parts.first(where: { $0.contains(where: \.isNumber) && !$0.contains(" ") }) else { return nil }
        let rest = parts.filter { $0 != number }
        let country = rest.first { $0.utf8.count == 2 && $0.allSatisfy(\.isUppercase) }
        return .init(type: rest.first { $0 != country }, number: number, country: country)
    }
}
