/// Names in the scripts of India (Devanagari, Bengali, Gurmukhi, Gujarati, Oriya, Tamil,
/// Telugu, Kannada, Malayalam) in Latin letters as Indian names are spelt: the Hunterian
/// romanization, India's standard for names (`श` and `ष` `sh`, `च` `ch`, `छ` `chh`), where ICU
/// follows ISO 15919, whose letters lose their marks here (`ś` → `s`, so शाह was `saha`) and
/// which drops Gurmukhi's nasal sign (ਸਿੰਘ was `sigha`, not `singh`).
///
/// A consonant carries the vowel `a` unless a vowel sign or the virama follows it. In Hindi,
/// Marathi, Bengali, Punjabi and Gujarati a word's last inherent `a` is not said, and names are
/// spelt without it (अमित शाह `Amit Shah`, ਸਿੰਘ `Singh`), except after two consonants joined
/// (नरेन्द्र `Narendra`); in the Dravidian scripts it is said and kept. The nasal signs are `n`
/// (`m` before `p`, `b` or `m`). The nine scripts share one layout (each is a block of 128 from
/// U+0900, a letter at the same offset in each), so one table serves them all.
enum Indic {
    static let scalars: ClosedRange<UInt32> = 0x0900...0x0D7F

    /// `s` with the letters of these scripts in Latin ones (lower case), everything else as it was.
    static func transliterate(_ s: String) -> String {
        let u = Array(s.unicodeScalars)
        var out = ""
        out.unicodeScalars.reserveCapacity(u.count * 2)
        /// The consonant written last, while it may still take its inherent vowel.
        var pending: (letters: String, joined: Bool, block: UInt32)?
        /// Whether the consonant before it had its vowel taken by the virama (a cluster).
        var afterVirama = false
        /// Whether `pending` begins its word.
        var wordStart = true
        func flush(vowel: String) {
            guard let p = pending else { return }
            out += p.letters + vowel
            pending = nil
        }
        for (i, scalar) in u.enumerated() {
            // Zero-width joiners choose a conjunct's shape inside a word.
            if scalar.value == 0x200C || scalar.value == 0x200D { continue }
            guard scalars.contains(scalar.value) else {
                // A word ends: its last inherent vowel is not said (in the scripts that drop it).
                if let p = pending { flush(vowel: dropsFinalVowel(p.block) && !wordStart && !p.joined ? "" : "a") }
                out.unicodeScalars.append(scalar)
                wordStart = true
                afterVirama = false
                continue
            }
            let block = (scalar.value - 0x0900) >> 7, offset = Int((scalar.value - 0x0900) & 0x7F)
            if var consonant = consonant(block, offset) {
                if pending != nil { flush(vowel: "a"); wordStart = false }
                // Bengali and Oriya `য`: `j` (যশোর `Jessore`), `y` joined after a consonant.
                if consonant == "j", offset == 0x2F, afterVirama { consonant = "y" }
                pending = (consonant, afterVirama, block)
                afterVirama = false
                continue
            }
            switch offset {
            case 0x3C:  // nukta: the consonant before it another (क़ `q`, ज़ `z`, फ़ `f`, ड़ `r`; Bengali য় `y`)
                if let p = pending { pending!.letters = (block == 1 || block == 4) && p.letters == "j" ? "y" : nukta[p.letters] ?? p.letters }
            case 0x4D:  // virama: no vowel
                flush(vowel: "")
                afterVirama = true
                wordStart = false
            case 0x3E...0x4C, 0x55...0x57, 0x62, 0x63:
                // After a consonant, its vowel; after Gurmukhi's vowel bearers (ੳ, ੲ), the vowel alone.
                if pending == nil { out += vowelSigns[offset] ?? "" } else { flush(vowel: vowelSigns[offset] ?? "") }
                wordStart = false
            case 0x4E where block == 1:  // Bengali's ৎ: a `t` with no vowel
                flush(vowel: "a")
                out += "t"
                wordStart = false
            case 0x7A...0x7F where block == 8:  // Malayalam's chillu letters: a consonant with no vowel
                flush(vowel: "a")
                out += ["n", "n", "r", "l", "l", "k"][offset - 0x7A]
                wordStart = false
            case _ where offset == 0x01 || offset == 0x02 || (offset == 0x70 && block == 2):  // candrabindu, anusvara, Gurmukhi's tippi: a nasal
                flush(vowel: pending == nil ? "" : "a")
                let next = i + 1 < u.count && scalars.contains(u[i + 1].value) ? Int((u[i + 1].value - 0x0900) & 0x7F) : 0
                out += (0x2A...0x2E).contains(next) ? "m" : "n"
                wordStart = false
            case 0x03:  // visarga
                flush(vowel: "a")
                out += "h"
                wordStart = false
            case 0x05...0x14, 0x60, 0x61:  // a vowel written on its own
                flush(vowel: "a")
                out += independentVowels[offset] ?? ""
                wordStart = false
            case 0x66...0x6F:  // digits
                flush(vowel: "a")
                out.unicodeScalars.append(Unicode.Scalar(UInt8(0x30 + offset - 0x66)))
                wordStart = false
            case 0x64, 0x65:  // danda: a stop
                if let p = pending { flush(vowel: dropsFinalVowel(p.block) && !wordStart && !p.joined ? "" : "a") }
                out += " "
                wordStart = true
            default:  // signs that add no letter (Gurmukhi's addak doubles the next consonant: names write it once)
                break
            }
        }
        if let p = pending { flush(vowel: dropsFinalVowel(p.block) && !wordStart && !p.joined ? "" : "a") }
        return out
    }

    /// Devanagari, Bengali, Gurmukhi and Gujarati write languages that do not say a word's last
    /// inherent vowel.
    private static func dropsFinalVowel(_ block: UInt32) -> Bool { block <= 3 }

    /// The consonant at `offset` of a block, if it is one.
    private static func consonant(_ block: UInt32, _ offset: Int) -> String? {
        switch offset {
        case 0x15...0x39:
            if offset == 0x2F, block == 1 || block == 4 { return "j" }
            if offset == 0x34, block == 5 { return "zh" }  // Tamil's ழ
            return consonants[offset - 0x15]
        case 0x58...0x5F where block <= 2: return nuktaConsonants[offset - 0x58]
        default: return nil
        }
    }

    /// U+0915 (क) to U+0939 (ह).
    private static let consonants = [
        "k", "kh", "g", "gh", "n", "ch", "chh", "j", "jh", "n", "t", "th", "d", "dh", "n", "t", "th", "d", "dh", "n", "n",
        "p", "ph", "b", "bh", "m", "y", "r", "r", "l", "l", "l", "v", "sh", "sh", "s", "h",
    ]

    /// U+0958 to U+095F: Devanagari's consonants with a nukta as one letter (Bengali's ড় ঢ় য়
    /// and Gurmukhi's ਖ਼ ਗ਼ ਜ਼ ੜ ਫ਼ sit at the same offsets).
    private static let nuktaConsonants = ["q", "kh", "gh", "z", "r", "rh", "f", "y"]

    private static let nukta = ["k": "q", "g": "gh", "j": "z", "ph": "f", "d": "r", "dh": "rh", "y": "y"]

    private static let independentVowels: [Int: String] = [
        0x05: "a", 0x06: "a", 0x07: "i", 0x08: "i", 0x09: "u", 0x0A: "u", 0x0B: "ri", 0x0C: "li", 0x0D: "e", 0x0E: "e", 0x0F: "e",
        0x10: "ai", 0x11: "o", 0x12: "o", 0x13: "o", 0x14: "au", 0x60: "ri", 0x61: "li",
    ]

    private static let vowelSigns: [Int: String] = [
        0x3E: "a", 0x3F: "i", 0x40: "i", 0x41: "u", 0x42: "u", 0x43: "ri", 0x44: "ri", 0x45: "e", 0x46: "e", 0x47: "e", 0x48: "ai",
        0x49: "o", 0x4A: "o", 0x4B: "o", 0x4C: "au", 0x55: "", 0x56: "ai", 0x57: "au", 0x62: "li", 0x63: "li",
    ]
}
