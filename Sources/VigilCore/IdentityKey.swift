import Foundation

/// Phone numbers, e-mail addresses and document numbers in the one form in which they are
/// compared: a bank's records, an airline's booking and a sanctions list each write them their
/// own way. Identity links between payments and travellers, and watchlist hits on contacts and
/// documents, all use these.
public enum IdentityKey {
    /// How many trailing digits of a phone number are compared.
    ///
    /// The same number is written with its country code (`+33 1 23 45 67 89`), with the
    /// international prefix (`0033…`, `011 33…`), or in national form with a trunk zero (`01 23 45
    /// 67 89`). The last nine digits are the same in every form of a number of nine national
    /// digits or more, which most countries' numbers have (France's, Spain's, Switzerland's and
    /// most of the Gulf's have nine; ten adds the trunk zero or the country code's last digit and
    /// misses them).
    public static let phoneDigits = 9

    /// The fewest digits a phone number must have to be compared at all: a shorter one is an
    /// extension or a fragment, and would link strangers.
    public static let phoneMinimumDigits = 7

    /// The comparable part of a phone number: its last ``phoneDigits`` digits, whatever the
    /// punctuation and prefix. `nil` for fewer than ``phoneMinimumDigits`` digits.
    public static func phone(_ text: String) -> String? {
        var digits: [UInt8] = []
        digits.reserveCapacity(text.utf8.count)
        for c in text.utf8 where c >= 0x30 && c <= 0x39 { digits.append(c) }
        guard digits.count >= phoneMinimumDigits else { return nil }
        return String(decoding: digits.suffix(phoneDigits), as: UTF8.self)
    }

    /// An e-mail address trimmed and in lower case: the domain is case-insensitive, and though
    /// RFC 5321 lets a server treat the local part's case as significant, mail systems in use do
    /// not. `nil` without an `@` between two parts.
    public static func email(_ text: String) -> String? {
        let v = text.trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
        guard let at = v.firstIndex(of: "@"), at != v.startIndex, v.index(after: at) != v.endIndex else { return nil }
        return v
    }

    /// A document number (passport, national identity, registration, a wallet address) as upper-case
    /// Latin letters and digits: `P 123-456 7` and `p1234567` are one number. Travel documents'
    /// numbers are in the Latin alphabet (ICAO 9303), and so are the lists' identifiers.
    public static func document(_ text: String) -> String {
        String(text.uppercased().unicodeScalars.filter { ("A"..."Z").contains($0) || ("0"..."9").contains($0) }.map(Character.init))
    }
}
