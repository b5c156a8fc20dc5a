/// Sinhala names in Latin letters as they are spelt in English (මහින්ද රාජපක්ෂ `Mahinda
/// Rajapaksa`, ගෝඨාභය `Gotabaya`), which ICU does not transliterate at all.
///
/// A consonant carries the vowel `a` unless a vowel sign or the al-lakuna (්) follows it, and
/// keeps it at a word's end (Sinhala says it: `Mahinda`). The aspirated letters of Sanskrit
/// words are said, and spelt, without the aspiration (ඨ `t`, භ `b`: `Gotabaya`), ෂ is `s`
/// (`Rajapaksa`), ව is `w` (`Wickremesinghe`), the anusvara `ng`, and the prenasalised letters
/// `ng`, `nd`, `mb`.
enum Sinhala {
    static let scalars: ClosedRange<UInt32> = 0x0D80...0x0DFF

    /// `s` with its Sinhala letters in Latin ones (lower case), everything else as it was.
    static func transliterate(_ s: String) -> String {
        var out = ""
        /// The consonant written last, while it may still take its inherent vowel.
        var pending: String?
        func flush(_ vowel: String) {
            if let p = pending { out += p + vowel }
            pending = nil
        }
        for u in s.unicodeScalars {
            let v = u.value
            if v == 0x200C || v == 0x200D { continue }  // joiners choose a conjunct's shape
            guard scalars.contains(v) else {
                flush("a")
                out.unicodeScalars.append(u)
                continue
            }
            if let c = consonants[v] {
                flush("a")
                pending = c
            } else if v == 0x0DCA {
                flush("")
            } else if let sign = vowelSigns[v] {
                if pending == nil { out += sign } else { flush(sign) }
            } else if let vowel = vowels[v] {
                flush("a")
                out += vowel
            } else if v == 0x0D82 {  // anusvara: said `ng` (සිංහ `singha`)
                flush("a")
                out += "ng"
            } else if v == 0x0D83 {
                flush("a")
                out += "h"
            } else if (0x0DE6...0x0DEF).contains(v) {
                flush("a")
                out.unicodeScalars.append(Unicode.Scalar(UInt8(0x30 + v - 0x0DE6)))
            }
        }
        flush("a")
        return out
    }

    private static let consonants: [UInt32: String] = [
        0x0D9A: "k", 0x0D9B: "k", 0x0D9C: "g", 0x0D9D: "g", 0x0D9E: "ng", 0x0D9F: "ng", 0x0DA0: "ch", 0x0DA1: "ch", 0x0DA2: "j",
        0x0DA3: "j", 0x0DA4: "ny", 0x0DA5: "gny", 0x0DA6: "nj", 0x0DA7: "t", 0x0DA8: "t", 0x0DA9: "d", 0x0DAA: "d", 0x0DAB: "n",
        0x0DAC: "nd", 0x0DAD: "t", 0x0DAE: "t", 0x0DAF: "d", 0x0DB0: "d", 0x0DB1: "n", 0x0DB3: "nd", 0x0DB4: "p", 0x0DB5: "p",
        0x0DB6: "b", 0x0DB7: "b", 0x0DB8: "m", 0x0DB9: "mb", 0x0DBA: "y", 0x0DBB: "r", 0x0DBD: "l", 0x0DC0: "w", 0x0DC1: "sh",
        0x0DC2: "s", 0x0DC3: "s", 0x0DC4: "h", 0x0DC5: "l", 0x0DC6: "f",
    ]

    private static let vowels: [UInt32: String] = [
        0x0D85: "a", 0x0D86: "a", 0x0D87: "ae", 0x0D88: "ae", 0x0D89: "i", 0x0D8A: "i", 0x0D8B: "u", 0x0D8C: "u", 0x0D8D: "ri",
        0x0D8E: "ri", 0x0D8F: "li", 0x0D90: "li", 0x0D91: "e", 0x0D92: "e", 0x0D93: "ai", 0x0D94: "o", 0x0D95: "o", 0x0D96: "au",
    ]

    private static let vowelSigns: [UInt32: String] = [
        0x0DCF: "a", 0x0DD0: "ae", 0x0DD1: "ae", 0x0DD2: "i", 0x0DD3: "i", 0x0DD4: "u", 0x0DD6: "u", 0x0DD8: "ru", 0x0DD9: "e",
        0x0DDA: "e", 0x0DDB: "ai", 0x0DDC: "o", 0x0DDD: "o", 0x0DDE: "au", 0x0DDF: "lu", 0x0DF2: "ru", 0x0DF3: "lu",
    ]
}
