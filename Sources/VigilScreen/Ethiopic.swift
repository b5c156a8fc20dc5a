/// Amharic and Tigrinya names in Latin letters as they are spelt in English (መለስ ዜናዊ `Meles
/// Zenawi`, ቴድሮስ `Tedros`, ኢሳያስ አፈወርቂ `Isaias Afwerki`), where ICU writes the first-order
/// vowel `ä` as `a` (`Malas`) and the sixth-order one as `ǝ`.
///
/// Each letter is a consonant with one of seven vowels, in rows of eight from U+1200: the first
/// order `e` (`a` on a vowel carrier or `h`, አ `A`), then `u`, `i`, `a`, `e`, none (the sixth, mostly
/// unsaid and unwritten), `o`; the eighth, where there is one, `wa`. The ejectives are written as
/// their plain consonants (ቀ `k`: `Afwerki`, ጠ `t`, ጨ `ch`, ጰ `p`).
enum Ethiopic {
    static let scalars: ClosedRange<UInt32> = 0x1200...0x137F

    /// `s` with its Ethiopic letters in Latin ones, everything else as it was.
    static func transliterate(_ s: String) -> String {
        var out = ""
        for u in s.unicodeScalars {
            let v = u.value
            guard scalars.contains(v) else {
                out.unicodeScalars.append(u)
                continue
            }
            if v >= 0x1369, v <= 0x137C {
                continue  // Ethiopic numerals (a name has none that a list would write so)
            }
            if v >= 0x1361, v <= 0x1368 {
                out += " "  // word space and punctuation
                continue
            }
            let row = Int(v - 0x1200) / 8, order = Int(v - 0x1200) % 8
            guard row < rows.count, let consonant = rows[row] else { continue }
            let vowel: String
            switch order {
            // On a vowel carrier or `h`, the first order is said `a` (አበበ `Abebe`, ሀብታሙ `Habtamu`).
            case 0: vowel = consonant.isEmpty || consonant == "h" ? "a" : "e"
            case 1: vowel = "u"
            case 2: vowel = "i"
            case 3: vowel = "a"
            case 4: vowel = "e"
            case 5: vowel = ""
            case 6: vowel = "o"
            default: vowel = "wa"
            }
            out += consonant + vowel
        }
        return out
    }

    /// The consonant of each row of eight from U+1200 (`""` for the vowel carriers አ, ዐ; nil
    /// for rows with no letters here). Labialised rows (`qw`, `kw`, `gw`…) have rows of their own.
    private static let rows: [String?] = [
        "h", "l", "h", "m", "s", "r", "s", "sh", "k", "kw", "k", "kw", "b", "v", "t", "ch",  // 1200–127F
        "h", "hw", "n", "ny", "", "k", "kw", "kh", "khw", "w", "", "z", "zh", "y", "d", "d",  // 1280–12FF
        "j", "g", "gw", "ng", "t", "ch", "p", "ts", "ts", "f", "p", nil, nil, nil, nil, nil,  // 1300–137F
    ]
}
