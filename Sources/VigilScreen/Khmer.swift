/// Khmer names in Latin letters, as lists spell them (ប៉ុល ពត `Pol Pot`, ហ៊ុន សែន `Hun Sen`, ខៀវ
/// សំផន `Khieu Samphan`), which ICU cannot do: it has no transliterator for Khmer and leaves it
/// as it is.
///
/// Letter for letter, by the usual spellings of the United Nations' romanization (UNGEGN):
/// each consonant, subscript consonants (after the coeng ្) included, and each vowel sign as it
/// is written in names (ា `a`, ុ `o`, ួ `uo`, ៀ `ie`, ែ `ae` …). A consonant under the
/// toandakhiat (៍) is silent and dropped; the signs that only choose a consonant's series
/// (៉, ៊) or shorten a vowel (់) add no letter. The inherent vowels are not written (ពត is `pt`,
/// lists `Pot`): as with an abjad or Thai, the vowels are guesses, and the matcher compares the
/// tokens by their consonants too.
enum Khmer {
    /// The Khmer block, and Khmer symbols.
    static let scalars: ClosedRange<UInt32> = 0x1780...0x17FF, symbols: ClosedRange<UInt32> = 0x19E0...0x19FF
    static func isKhmer(_ u: Unicode.Scalar) -> Bool { scalars.contains(u.value) || symbols.contains(u.value) }

    /// `s` with its Khmer letters in Latin ones (lower case), everything else as it was.
    static func transliterate(_ s: String) -> String {
        var out = ""
        for ch in s where !ch.unicodeScalars.contains("\u{17CD}") {
            for u in ch.unicodeScalars {
                if let latin = letters[u] { out += latin } else if !isKhmer(u) { out.unicodeScalars.append(u) }
            }
        }
        return out
    }

    private static let letters: [Unicode.Scalar: String] = {
        var m: [Unicode.Scalar: String] = [:]
        func add(_ first: UInt32, _ spellings: [String]) {
            for (i, spelling) in spellings.enumerated() { m[Unicode.Scalar(first + UInt32(i))!] = spelling }
        }
        // Consonants, ក (U+1780) to អ (U+17A2), which carries a vowel and is not written.
        add(0x1780, ["k", "kh", "k", "kh", "ng", "ch", "chh", "ch", "chh", "nh", "d", "th", "d", "th", "n", "t", "th", "t", "th", "n",
                     "b", "ph", "p", "ph", "m", "y", "r", "l", "v", "s", "s", "s", "h", "l", ""])
        // Independent vowels, ឣ (U+17A3) to ឳ (U+17B3).
        add(0x17A3, ["a", "a", "e", "ei", "o", "ou", "ou", "au", "rue", "rue", "lue", "lue", "ae", "ai", "ao", "ao", "au"])
        // Dependent vowels, ា (U+17B6) to ៅ (U+17C5); then nikahit (ំ `m`), reahmuk (ះ `h`) and
        // yuukaleapintu (ៈ `a`).
        add(0x17B6, ["a", "e", "ei", "oe", "eu", "o", "ou", "uo", "aeu", "oea", "ie", "e", "ae", "ai", "ao", "au", "m", "h", "a"])
        // Khmer digits.
        add(0x17E0, ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"])
        return m
    }()
}
