import Foundation

/// Thai names, brought nearer the spellings lists use (the Royal Thai General System: สมชาย
/// `Somchai`, ประยุทธ์ `Prayut`, ทักษิณ `Thaksin`).
///
/// ICU transliterates Thai by ISO 11940, letter for letter: it keeps the letters Thai writes but
/// does not pronounce, and writes some letters as nobody spells a name. Four steps close most of
/// that gap:
/// - a letter under the thanthakhat (์) is silent and is dropped (ประยุทธ์ `prayuth`, not
///   `prayuthth`);
/// - จ is `ch`, as ฉ and ช are (ISO 11940: `c`, which the consonant keys read as `k`);
/// - a consonant that ends a word is read as a final one: Thai has six final sounds, and many
///   letters for each (วงศ์สวัสดิ์ `Wongsawat`: ส ends it as `t`; ธนาธร `Thanathorn`: ร as `n`),
///   and ร after a consonant that closes a syllable is silent (ชินวัตร `chinwat`);
/// - อ, ISO's `x`, either carries the vowel written after it and is silent (โอชา `ocha`), or is
///   itself the vowel `o` (ก่อน `kon`).
///
/// And ICU breaks Thai words where its dictionary sees words in them (ชินวัตร `chin watr`), where
/// a name's spelling has one word: each word written with a space is transliterated alone, and
/// stays one word.
///
/// What stays: the vowels Thai leaves unwritten (สมชาย is `smchay`). As with an abjad, its vowels
/// are guesses, and the matcher compares its tokens by their consonants too.
enum Thai {
    /// The Thai block.
    static let scalars: ClosedRange<UInt32> = 0x0E00...0x0E7F
    static func isThai(_ u: Unicode.Scalar) -> Bool { scalars.contains(u.value) }

    /// In Latin letters by ICU (ISO 11940, with its marks), silent letters dropped, จ as ช, a
    /// word's last consonant as a final, อ read, each word as one.
    static func transliterate(_ s: String) -> String {
        s.split(separator: " ", omittingEmptySubsequences: false).map { word in
            guard word.unicodeScalars.contains(where: isThai) else {
                // A word in another script beside Thai ones: as ICU writes it.
                return word.allSatisfy(\.isASCII) ? String(word) : String(word).applyingTransform(.toLatin, reverse: false) ?? String(word)
            }
            var thai = String.UnicodeScalarView()
            // A silent letter and the marks on it are one character (ทร์ is ท, then ร with the mark).
            for ch in word where !ch.unicodeScalars.contains("\u{0E4C}") {
                for u in ch.unicodeScalars { thai.append(u == "\u{0E08}" ? "\u{0E0A}" : u) }
            }
            // ร after a consonant that closes a syllable (one written after a vowel above or
            // below the line: ชินวัตร, ประวิตร, บุตร) is silent; after a consonant that opens one it
            // is the final `n` of an unwritten `o` (ธนาธร), which the next step reads.
            let letters = Array(thai)
            if letters.count >= 3, letters[letters.count - 1] == "\u{0E23}", isConsonant(letters[letters.count - 2]),
               closesWithNext(letters[letters.count - 3]) {
                thai.removeLast()
            }
            // Not after a vowel written before its consonant (ไซ `sai`): that consonant opens its syllable.
            if thai.count >= 2, let last = thai.last, let final = finals[last], let before = thai.dropLast().last,
               !(0x0E40...0x0E44).contains(before.value) {
                thai.removeLast()
                thai.append(final)
            }
            let latin = String(thai).applyingTransform(.toLatin, reverse: false) ?? String(thai)
            // ISO 11940's `x` is อ, unless the word has an `x` of its own.
            let ownX = word.unicodeScalars.contains { $0 == "x" || $0 == "X" }
            return ownX ? latin.filter { $0 != " " } : vowelCarriers(latin.filter { $0 != " " })
        }.joined(separator: " ")
    }

    /// The Lao block, laid out as Thai's: most Lao letters are the Thai letter 0x80 below.
    static let laoScalars: ClosedRange<UInt32> = 0x0E80...0x0EFF

    /// Lao written with the Thai letters of the same sounds, so that Lao names are read as
    /// Thai ones are (ICU has no transliterator for Lao, and left it as it was): ທອງລຸນ is ทองลุน,
    /// `thonglun` (`Thongloun`). The letters Thai lacks: ໜ ໝ are ຫ with ນ, ມ; the subscript ຼ
    /// is ລ; ຽ is ຍ; ໍ is the vowel อ; ຊ (`s`) is ซ; the vowel ົ, which Thai leaves unwritten,
    /// is dropped.
    static func laoAsThai(_ s: String) -> String {
        var out = String.UnicodeScalarView()
        for u in s.unicodeScalars {
            guard laoScalars.contains(u.value) else {
                out.append(u)
                continue
            }
            switch u.value {
            case 0x0EDC: out.append(contentsOf: "หน".unicodeScalars)
            case 0x0EDD: out.append(contentsOf: "หม".unicodeScalars)
            case 0x0EBC: out.append("ล")
            case 0x0EBD: out.append("ย")
            case 0x0EBB: break
            case 0x0E8A: out.append("ซ")  // ຊ is `s`, as ซ, not ช
            case 0x0ECD: out.append("อ")  // ໍ is the vowel `o` (ວໍ `vo`)
            default: if let thai = Unicode.Scalar(u.value - 0x80), scalars.contains(thai.value) { out.append(thai) }
            }
        }
        return String(out)
    }

    /// Consonants: ก to ฮ.
    private static func isConsonant(_ u: Unicode.Scalar) -> Bool { (0x0E01...0x0E2E).contains(u.value) }
    /// The vowels written above or below a consonant (ั ิ ี ึ ื ุ ู): a consonant right after one
    /// ends that syllable.
    private static func closesWithNext(_ u: Unicode.Scalar) -> Bool { u == "\u{0E31}" || (0x0E34...0x0E3A).contains(u.value) }

    /// Consonants whose sound as a final is another's: the letter ICU writes with that sound.
    private static let finals: [Unicode.Scalar: Unicode.Scalar] = {
        var m: [Unicode.Scalar: Unicode.Scalar] = [:]
        func sound(_ letters: String, _ as: Unicode.Scalar) { for u in letters.unicodeScalars { m[u] = `as` } }
        sound("ขฃคฅฆ", "ก")  // k
        sound("จฉชซฌดฎฏฐฑฒถทธศษส", "ต")  // t
        sound("บพฟภ", "ป")  // p
        sound("ญณรลฬ", "น")  // n
        return m
    }()

    /// ICU's transliteration with each `x` (อ) read as silent before a vowel and as `o`
    /// elsewhere. ISO 11940 marks vowels with diacritics (`ā`, `ạ`) and writes แ `æ`, ไ `ı`:
    /// a vowel is one of these letters, marked or not.
    private static func vowelCarriers(_ latin: String) -> String {
        let scalars = Array(latin.decomposedStringWithCanonicalMapping.unicodeScalars)
        var out = String.UnicodeScalarView()
        for (i, u) in scalars.enumerated() {
            guard u == "x" else {
                out.append(u)
                continue
            }
            if !(i + 1 < scalars.count && "aeiouæı".unicodeScalars.contains(scalars[i + 1])) { out.append("o") }
        }
        return String(out)
    }
}
