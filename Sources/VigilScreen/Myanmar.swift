/// Burmese names in Latin letters as they are spelt in English (မင်းအောင်လှိုင် `Min Aung
/// Hlaing`, အောင်ဆန်းစုကြည် `Aung San Suu Kyi`, သန်းရွှေ `Than Shwe`): a word per syllable, as the
/// Latin spellings write them. ICU writes Burmese letter by letter and without breaks
/// (`mainnaaunglhaine`), which pairs with nothing.
///
/// A syllable is an initial consonant with its medials (`ျ`, `ြ` `y`; `ွ` `w`; `ှ` making `လ`
/// `hl`, `မ` `hm`, `ရ` `sh`), its vowel signs, and a final consonant silenced by the asat (`်`) or
/// stacked under the next (`္`); the vowel and the final together are spelt as names spell them
/// (`ောင်` `aung`, `ိုင်` `aing`, `င်` `in`, `န်` `an`, `ိန်` `ein`, `ော်` `aw`, `ည်` `i`). Tones add no letter.
enum Myanmar {
    static let scalars: ClosedRange<UInt32> = 0x1000...0x109F

    /// `s` with its Burmese letters in Latin ones (lower case), a space between syllables;
    /// everything else as it was.
    static func transliterate(_ s: String) -> String {
        let u = Array(s.unicodeScalars)
        var out = ""
        var syllable: Syllable?
        func finish() {
            guard let done = syllable else { return }
            if let last = out.unicodeScalars.last, last != " " { out += " " }
            out += done.latin
            syllable = nil
        }
        var i = 0
        while i < u.count {
            let v = u[i].value
            // The sign after a consonant, past the tone marks (`န့်`: the dot below comes first).
            var after = i + 1
            while after < u.count, u[after].value == 0x1037 || u[after].value == 0x1038 { after += 1 }
            let next = after < u.count ? u[after].value : 0
            switch v {
            case 0x1000...0x1021:
                // Silenced or stacked under the next: the current syllable's final.
                if next == 0x103A || next == 0x1039, syllable != nil, syllable!.final == nil, syllable!.onset != nil || !syllable!.vowel.isEmpty {
                    syllable!.final = v
                    for tone in u[i + 1 ..< after] {
                        if tone.value == 0x1038 { syllable!.highTone = true } else { syllable!.creaky = true }
                    }
                    i = after + 1
                    continue
                }
                finish()
                syllable = Syllable(onset: v)
            case 0x1023...0x102A:  // a vowel written on its own
                finish()
                syllable = Syllable(onset: nil, vowel: [v])
            case 0x102B...0x1032: syllable?.vowel.append(v)
            case 0x103B, 0x103C: syllable?.medialY = true
            case 0x103D: syllable?.medialW = true
            case 0x103E: syllable?.medialH = true
            case 0x1036:  // anusvara: a nasal, as `မ်`
                if syllable?.final == nil { syllable?.final = 0x1019 }
            case 0x1038: syllable?.highTone = true
            case 0x1037: syllable?.creaky = true
            case 0x1040...0x1049:
                finish()
                out.unicodeScalars.append(Unicode.Scalar(UInt8(0x30 + v - 0x1040)))
            case 0x1000...0x109F: break  // tones, the asat after a vowel, other signs
            default:
                finish()
                out.unicodeScalars.append(u[i])
            }
            i += 1
        }
        finish()
        return out
    }

    private struct Syllable {
        /// The initial consonant; nil for a vowel written on its own (or after `အ`, which carries one).
        var onset: UInt32?
        var vowel: [UInt32] = []
        var final: UInt32?
        var medialY = false, medialW = false, medialH = false
        /// The visarga (`း`): an open `ေ` is then spelt `ay` (`ထေး` `Htay`, `အေး` `Aye`) and `ို` `oe`
        /// (`စိုး` `Soe`), as names spell them; without it `e` and `o` (`နေ` `Ne`, `ကို` `Ko`).
        var highTone = false
        /// The dot below (`့`): a nasal final is then spelt with a `t` after it (`မြင့်` `Myint`,
        /// `ညွန့်` `Nyunt`, `သန့်` `Thant`).
        var creaky = false

        var latin: String { initial + rhyme }

        private var initial: String {
            guard let onset else { return "" }
            var c = Myanmar.consonants[Int(onset - 0x1000)]
            if medialH { c = Myanmar.withH[c] ?? "h" + c }
            if medialY { c = Myanmar.withY[c] ?? c + "y" }
            // `ွ` before `န်`, `တ်`, `ပ်`, `မ်` is the vowel `u` (`ထွန်း` `Htun`), not a `w`.
            if medialW, !(vowel.isEmpty && [0x1014, 0x1019, 0x1010, 0x1015].contains(final ?? 0)) { c += "w" }
            return c
        }

        private var rhyme: String {
            // The vowel: `ေ` + `ာ` is `aw`, `ိ` + `ု` is `o`.
            let signs = Set(vowel)
            let v: String
            if signs.contains(0x1031), signs.contains(0x102C) || signs.contains(0x102B) { v = "aw" }
            else if signs.contains(0x102D), signs.contains(0x102F) { v = "o" }
            else if let s = vowel.first { v = Myanmar.vowels[s] ?? "" }
            else { v = "" }
            guard let final else {
                if v.isEmpty { return onset == nil ? "" : "a" }
                if highTone, v == "e" { return onset == 0x1021 ? "aye" : "ay" }
                if highTone, v == "o" { return "oe" }
                return v
            }
            let w = medialW && v.isEmpty
            switch final {
            case 0x1000: return Myanmar.beforeK[v] ?? v + "k"  // က်
            case 0x1004: return (Myanmar.beforeNg[v] ?? v + "ng") + (creaky ? "t" : "")  // င်
            case 0x1005: return "it"  // စ်
            case 0x1009, 0x100A: return v.isEmpty ? "i" : v  // ည်
            case 0x1010, 0x1015: return w ? "ut" : Myanmar.beforeT[v] ?? v + "t"  // တ်, ပ်
            case 0x1014, 0x1019: return (w ? "un" : Myanmar.beforeN[v] ?? v + "n") + (creaky ? "t" : "")  // န်, မ်, ံ
            case 0x101A: return "e"  // ယ်
            default: return (v.isEmpty ? "a" : v) + Myanmar.consonants[Int(final - 0x1000)]
            }
        }
    }

    /// Initials with the medial `ှ`, and with `ျ` or `ြ`, where names spell them otherwise than
    /// `h` before or `y` after.
    private static let withH = ["l": "hl", "m": "hm", "n": "hn", "ng": "hng", "y": "sh", "w": "hw"]
    private static let withY = ["k": "ky", "kh": "ch", "g": "gy", "hp": "phy", "ht": "ht"]

    /// A vowel (`""`: none written) with the final `က်`, `င်`, `တ်`/`ပ်` and `န်`/`မ်`, as names
    /// spell the rhyme.
    private static let beforeK = ["": "et", "o": "aik", "aw": "auk", "u": "ok", "i": "eik"]
    private static let beforeNg = ["": "in", "o": "aing", "aw": "aung", "u": "ung"]
    private static let beforeT = ["": "at", "i": "eik", "u": "ok", "o": "aik"]
    private static let beforeN = ["": "an", "i": "ein", "u": "on", "o": "aing"]

    /// U+1000 (က) to U+1021 (အ, which carries a vowel and is not written).
    private static let consonants = [
        "k", "kh", "g", "g", "ng", "s", "s", "z", "z", "ny", "ny", "t", "ht", "d", "d", "n", "t", "ht", "d", "d", "n",
        "p", "hp", "b", "b", "m", "y", "y", "l", "w", "th", "h", "l", "",
    ]

    private static let vowels: [UInt32: String] = [
        0x102B: "a", 0x102C: "a", 0x102D: "i", 0x102E: "i", 0x102F: "u", 0x1030: "u", 0x1031: "e", 0x1032: "e",
        0x1023: "i", 0x1024: "i", 0x1025: "u", 0x1026: "u", 0x1027: "e", 0x1029: "aw", 0x102A: "aw",
    ]
}
