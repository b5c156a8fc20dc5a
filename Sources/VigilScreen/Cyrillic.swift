import Foundation

/// Cyrillic names in Latin letters as sanctions lists and passports spell them (`Горбачёв`
/// `Gorbachev`, `Ельцин` `Yeltsin`, `Шойгу` `Shoigu`, `Навальный` `Navalny`), which ICU's
/// transliterator does not: it follows ISO 9, whose letters with marks lose the marks here
/// (`č` → `c`, `š` → `s`) and leave `Gorbacev`, `Elcin`, `Sojgu`, which pair with nothing on a
/// list.
///
/// Russian by the BGN/PCGN romanization, as the lists mostly write it: `ж` `zh`, `х` `kh`, `ц`
/// `ts`, `ч` `ch`, `ш` `sh`, `щ` `shch`, `й` and `ы` `y`, `ю` `yu`, `я` `ya`, the hard and soft
/// signs dropped, and `е` `ye` at the start of a word and after a vowel or a sign (`Ельцин`,
/// `Назарбаев` `Nazarbayev`), `e` elsewhere; `ё` as `е` (`Хрущёв` `Khrushchev`, as passports
/// write it). A name with letters only Ukrainian has (`і`, `ї`, `є`, `ґ`) is read as
/// Ukrainian, one with `ў` (or `і` beside `ы` or `э`) as Belarusian: `г` is then `h`, and `и`
/// (Ukrainian) `y` (`Григорій` `Hryhoriy`, `Лукашэнка` `Lukashenka`). One with letters only
/// Serbian or Macedonian has (`ђ`, `ј`, `љ`, `њ`, `ћ`, `џ`, `ѓ`, `ќ`, `ѕ`) is written as
/// its own Latin alphabet is, its marks dropped as the lists drop them (`Милошевић`
/// `Milosevic`, `Караџић` `Karadzic`). The letters of Kazakh, Kyrgyz and Tajik names are
/// their nearest Latin ones (`Нұрсұлтан` `Nursultan`). Bulgarian cannot be told from Russian
/// letter by letter and is read as Russian.
enum Cyrillic {
    /// The Cyrillic block and its supplement.
    static let scalars: ClosedRange<UInt32> = 0x0400...0x052F

    /// `s` with its Cyrillic letters in Latin ones (lower case), everything else as it was.
    static func transliterate(_ s: String) -> String {
        // Composed first (`й` may come as `и` and a breve), then stress marks (`Влади́мир`) and
        // other combining marks go: `е` after a vowel is told by the letter before it.
        let letters = s.precomposedStringWithCanonicalMapping.lowercased().unicodeScalars.filter { !(0x0300...0x036F).contains($0.value) }
        let language = Language(letters)
        var out = ""
        out.unicodeScalars.reserveCapacity(letters.count * 2)
        var previous: Unicode.Scalar?
        for u in letters {
            defer { previous = u }
            guard scalars.contains(u.value) else {
                out.unicodeScalars.append(u)
                continue
            }
            switch (language, u) {
            case (.serbian, _): out += serbian[u] ?? common[u] ?? ""
            case (.ukrainian, "г"), (.belarusian, "г"): out += "h"
            case (.ukrainian, "и"): out += "y"
            case (.ukrainian, "е"): out += "e"
            case (_, "е"), (_, "ё"):
                // `ye` where the sound is: at a word's start, after a vowel or a sign.
                let startsSyllable = previous.map { !scalars.contains($0.value) || vowelsAndSigns.contains($0) } ?? true
                out += startsSyllable ? "ye" : "e"
            default: out += common[u] ?? ""
            }
        }
        return out
    }

    private enum Language {
        case russian, ukrainian, belarusian, serbian

        init(_ letters: some Sequence<Unicode.Scalar>) {
            var seen = Set<Unicode.Scalar>()
            for u in letters where Cyrillic.scalars.contains(u.value) { seen.insert(u) }
            if !seen.isDisjoint(with: ["ђ", "ј", "љ", "њ", "ћ", "џ", "ѓ", "ќ", "ѕ"]) {
                self = .serbian
            } else if seen.contains("ў") || (seen.contains("і") && (seen.contains("ы") || seen.contains("э"))) {
                self = .belarusian
            } else if !seen.isDisjoint(with: ["і", "ї", "є", "ґ"]) {
                self = .ukrainian
            } else {
                self = .russian
            }
        }
    }

    private static let vowelsAndSigns: Set<Unicode.Scalar> = ["а", "е", "ё", "и", "о", "у", "ы", "э", "ю", "я", "і", "ї", "є", "ъ", "ь", "ў"]

    /// Russian (BGN/PCGN), with the letters of the other languages that use Cyrillic.
    private static let common: [Unicode.Scalar: String] = [
        "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "ж": "zh", "з": "z", "и": "i", "й": "y", "к": "k", "л": "l",
        "м": "m", "н": "n", "о": "o", "п": "p", "р": "r", "с": "s", "т": "t", "у": "u", "ф": "f", "х": "kh", "ц": "ts",
        "ч": "ch", "ш": "sh", "щ": "shch", "ъ": "", "ы": "y", "ь": "", "э": "e", "ю": "yu", "я": "ya",
        // Ukrainian and Belarusian.
        "і": "i", "ї": "yi", "є": "ye", "ґ": "g", "ў": "u",
        // Kazakh, Kyrgyz, Tajik, Tatar, Bashkir, Azerbaijani and Mongolian Cyrillic.
        "ә": "a", "ғ": "gh", "қ": "k", "ң": "ng", "ө": "o", "ұ": "u", "ү": "u", "һ": "h", "ҳ": "kh", "ҷ": "j", "ӣ": "i",
        "ӯ": "u", "җ": "zh", "ҫ": "s", "ҙ": "z", "ҡ": "k", "ӊ": "ng", "ӆ": "l", "ҹ": "j", "ҝ": "g", "ӏ": "",
    ]

    /// Serbian and Macedonian, as their Latin alphabets write them without the marks.
    private static let serbian: [Unicode.Scalar: String] = [
        "ђ": "dj", "ж": "z", "ј": "j", "љ": "lj", "њ": "nj", "ћ": "c", "х": "h", "ц": "c", "ч": "c", "џ": "dz", "ш": "s",
        "ѓ": "gj", "ќ": "kj", "ѕ": "dz", "е": "e",
    ]
}
