import Foundation
import VigilCore

/// A list file that cannot be used: which file, where in it, and why.
public struct WatchlistError: Error, Sendable, Hashable, CustomStringConvertible {
    public var file: String
    /// `line 12`, `line 40, column 'name'`, `INDIVIDUAL[3]/DATAID`…
    public var location: String?
    public var message: String

    public init(file: String, location: String? = nil, _ message: String) {
        self.file = file
        self.location = location
        self.message = message
    }

    public var description: String { "\(file)\(location.map { ": \($0)" } ?? ""): \(message)" }
}

/// One listed person, organisation or vessel, with everything a hit can be checked against.
public struct WatchlistEntry: Sendable, Hashable, Codable {
    public struct Name: Sendable, Hashable, Codable {
        public var text: String
        /// `primary`, `strong` (a good a.k.a.), `weak` (a low-quality alias, as the UN and OFAC
        /// mark them), `original-script`.
        public var quality: String
    }

    public struct Document: Sendable, Hashable, Codable {
        public var type: String?
        public var number: String
        public var country: String?

        /// A wallet the entry holds, as OFAC types it (`Digital Currency Address - XBT`, `- ETH`, …).
        public var isDigitalCurrencyAddress: Bool { type?.lowercased().hasPrefix("digital currency address") == true }

        /// A bank's SWIFT/BIC (ISO 9362), as OFAC and OpenSanctions give a listed bank's.
        public var isBIC: Bool { type == WatchlistEntry.Document.bicType }
        public static let bicType = "SWIFT/BIC"
    }

    /// The list's own identifier (UN `REFERENCE_NUMBER`, OFAC `ent_num`, an OpenSanctions id).
    public var id: String
    public var kind: NameKind
    public var names: [Name]
    /// Dates of birth as the list gives them: `YYYY-MM-DD`, `YYYY-MM` or `YYYY`.
    public var birthDates: [String] = []
    /// Nationalities and countries (of citizenship, residence, registration), as written.
    public var countries: [String] = []
    public var documents: [Document] = []
    /// Sanctions programmes or list types (`DRC`, `SDGT`, `sanction`…).
    public var programs: [String] = []
    /// E-mail addresses the list gives for the entry, as written (OFAC's `Email Address …`): a
    /// booking's or a payment party's contact address that is one of them is a hit
    /// (``Screener/screen(email:)``).
    public var emails: [String] = []
    /// Phone numbers the list gives for the entry, as written (OFAC's `Phone Number …`), compared
    /// as ``IdentityKey/phone(_:)`` reads them (``Screener/screen(phone:)``).
    public var phones: [String] = []

    public init(id: String, kind: NameKind, names: [Name]) {
        self.id = id
        self.kind = kind
        self.names = names
    }
}

/// Which version of a list a hit came from: its content hash and the list's own date.
public struct ListVersion: Sendable, Hashable, Codable {
    public var name: String
    public var format: String
    /// SHA-256 of the file's bytes (of all its files, in order, for a multi-file list).
    public var sha256: String
    /// When the publisher generated the list, if the file says (UN `dateGenerated`, OpenSanctions'
    /// newest `last_change`); OFAC's CSV files do not.
    public var generated: String?
    public var entries: Int

    /// `UN@2026-02-27/1a2b3c4d5e6f`: what an alert cites.
    public var label: String { "\(name)@\(generated.map { String($0.prefix(10)) + "/" } ?? "")\(sha256.prefix(12))" }
}

/// A loaded list: its entries and its version.
public struct Watchlist: Sendable {
    public var version: ListVersion
    public var entries: [WatchlistEntry]

    public init(version: ListVersion, entries: [WatchlistEntry]) {
        self.version = version
        self.entries = entries
    }

    /// What the list gives to screen against: `8976 entries; 82 BICs, 97 wallets, 232 e-mail
    /// addresses, 88 phone numbers` (the kinds it has none of are left out), so an operator sees
    /// what hits can rest on besides names.
    public var summary: String {
        func count(_ n: Int, _ one: String, _ many: String) -> String? { n == 0 ? nil : "\(n) \(n == 1 ? one : many)" }
        let documents = entries.flatMap(\.documents)
        let kinds = [count(documents.count(where: \.isBIC), "BIC", "BICs"),
                     count(documents.count(where: \.isDigitalCurrencyAddress), "wallet", "wallets"),
                     count(entries.reduce(0) { $0 + $1.emails.count }, "e-mail address", "e-mail addresses"),
                     count(entries.reduce(0) { $0 + $1.phones.count }, "phone number", "phone numbers")].compactMap { $0 }
        return (count(entries.count, "entry", "entries") ?? "no entries") + (kinds.isEmpty ? "" : "; " + kinds.joined(separator: ", "))
    }

    /// Hex SHA-256 of some files' bytes, in order.
    static func digest(_ parts: [[UInt8]]) -> String {
        var h = SHA256()
        for p in parts { h.update(p) }
        return h.finalize().map { String(format: "%02x", $0) }.joined()
    }
}
