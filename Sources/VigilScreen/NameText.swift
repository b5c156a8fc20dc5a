import Foundation
import VigilCore

/// What a name is the name of: the words that carry no identity differ (honorifics for people,
/// legal forms for companies).
public enum NameKind: String, Sendable, Hashable, Codable, CaseIterable {
    case person, organization, vessel, unknown

    /// Reads the schemas the lists and the evaluation files use (`Person`, `Company`,
    /// `Organization`, `LegalEntity`, `Vessel`, OFAC's `individual`, UN's `ENTITY`, …).
    public init(schema: String) {
        switch schema.lowercased() {
        case "person", "individual", "people": self = .person
        case "company", "organization", "organisation", "legalentity", "entity", "-0-": self = .organization
        case "vessel", "aircraft": self = .vessel
        default: self = .unknown
        }
    }

    /// A kind as a person gives it (`person`, `organization`, `vessel`, `unknown`, or a schema
    /// ``init(schema:)`` reads); nil for anything else, which would otherwise pass as unknown.
    public init?(given text: String) {
        let kind = NameKind(schema: text)
        guard kind != .unknown || text.lowercased() == "unknown" else { return nil }
        self = kind
    }
}

/// A name brought to a form that can be compared across scripts and spellings: transliterated to
/// Latin, without accents, lower case, split into tokens, each token with its weight and its
/// consonant skeleton.
///
/// This is done once per list entry when a list loads, and once per query.
///
/// A class: the screener hands a listed name to the matcher for every query it is a candidate
/// of, and a struct of four arrays was copied (each buffer retained and released) every time.
public final class NormalizedName: Sendable, Hashable {
    public struct Token: Sendable, Hashable {
        public var text: String
        public var role: Role
        /// The consonants of the token in sound classes (`Qaddafi` and `Gaddafi` both `ktf`),
        /// used to find candidates and to compare names written from an abjad (Arabic, Hebrew,
        /// Persian script), Thai or Khmer, whose transliterations lack most vowels.
        public var skeleton: String
        /// A word naming what kind of body an organisation is (`committee`, `bureau`,
        /// ``NameText/kindOfBodyWords``): two names with different such words may well name one
        /// body, so they do not conflict (``NameMatcher/conflicts(_:_:_:_:)``).
        public var namesKindOfBody = false
    }

    public enum Role: String, Sendable, Hashable {
        /// A word that identifies.
        case name
        /// `bin`, `al`, `van`, `de`…: part of the name, but common to many.
        case particle
        /// A company's legal form (`ltd`, `gmbh`, `jsc`…), in one spelling per form.
        case legalForm
        /// Digits or a Roman numeral.
        case number
        /// A patronymic (`Oleksandrovych`): it names the father, so it pairs only with another
        /// patronymic, and weighs less than a given name or surname.
        case patronymic
        /// A word many company names share (`bank`, `international`): it pairs like a name and
        /// weighs half.
        case common

        /// How much a token of this role counts in a name's score.
        var weight: Double {
            switch self {
            case .name: 1
            case .number, .patronymic, .common: 0.5
            case .legalForm: 0.3
            case .particle: 0.2
            }
        }
    }

    public let original: String
    public let kind: NameKind
    public let tokens: [Token]
    /// The script the original was written in (of several, the one whose vowels are guesses).
    let script: NameText.Script
    /// Whether the original was written in a script whose transliteration leaves most vowels
    /// out (an abjad such as Arabic or Hebrew, Thai, Khmer): its vowels are guesses.
    public var vowelsGuessed: Bool { script.vowelsGuessed }
    /// Whether the original was in a script other than Latin.
    public let transliterated: Bool

    /// What the matcher pairs: single tokens, and runs of two or three adjacent tokens joined
    /// (so `Ramimakhlouf` can pair with `Rami Makhlouf`). Built once with the name.
    /// A class: the matcher passes units around per token pair, and a struct of five arrays
    /// and strings was copied (and its buffers retained) on every pass.
    final class Unit: Sendable {
        /// The name's tokens it covers: one, or a run of two or three joined.
        let tokens: Range<Int>
        /// Its bytes are what the matcher compares (read in place: a name's units are built per
        /// query, and a copy of the bytes as an array was one more allocation per unit).
        let text: String
        let role: Role
        /// For joined tokens, their first letters (`Jean Claude` → `jc`).
        let initials: String
        /// The given names this token is, or is a short form of (`ted`: edward, theodore).
        let givenNames: Set<String>?
        /// The tokens covered, as bits (a name keeps at most 64 tokens), and their summed weight.
        let mask: UInt64
        let weight: Double
        /// The text with the usual transliteration variants made one (`y`, `j` → `i`; `w` → `v`;
        /// `ph` → `f`; `kh` → `h`; `ou`, `oo` → `u`; doubled letters once): `Volodymyr` and
        /// `Volodimir`, `Zelenskyy` and `Zelenskij`, `Nooristani` and `Nuristani` fold alike.
        let folded: String
        /// For a text with `zh` or `j`: folded the same way except that `zh` is `j` and `j` stays
        /// itself (``fold(_:zhAsJ:)``). Russian `ж` is `zh` in English spellings and `j` in French
        /// and Central Asian ones (`Zhalolov`/`Jalolov`, `Khozhakhmedovich`/`Hojahmedovich`); it
        /// cannot go into `folded`, where `j` is already `y` (`Juri`/`Yuri`): `Zhanna` would
        /// then be `Yana`. Nil otherwise, and in a Korean name (``koreanFolded``).
        let jFolded: String?
        /// Which of `a`–`z` (bits 0–25) and other bytes (bit 26) the text holds: a cheap bound on
        /// how many characters two units can have in common.
        let letters: UInt32

        /// In a Korean name, the text with its romanizations' differences folded (``Hangul/fold(_:)``).
        let koreanFolded: String?
        /// For a name token of four letters or more of a person (or of a name of unknown kind): its
        /// consonant skeleton with its first letter's kind (``keyFirst(_:)``) and its last letter.
        /// Two tokens with one key differ only in their inner vowels, the way Latin spellings of
        /// one Arabic or Persian name do (`Khaled`/`Khalid`, `Hekmatyar`/`Hikmetyar`,
        /// `Yaghoubi`/`Yaghubi`); a final vowel changes a name too often to be ignored
        /// (`Mario`/`Maria`). Empty otherwise: a company's words are not transliterated names
        /// (`Metal`/`Motel`).
        let vowelsKey: String

        init(tokens: Range<Int>, text: String, role: Role, initials: String = "", weight: Double, korean: Bool = false, skeleton: String = "") {
            self.tokens = tokens
            self.text = text
            koreanFolded = korean ? Hangul.fold(text) : nil
            let b = text.utf8
            if tokens.count == 1 && role == .name && b.count >= 4 && !skeleton.isEmpty {
                // The skeleton and two bytes, written in place: no array or concatenation per token.
                var skeleton = skeleton
                let (first, last) = (Self.keyFirst(b.first!), b.last!)
                vowelsKey = skeleton.withUTF8 { s in
                    NameText.string(capacity: s.count + 2) { out in
                        _ = out.initialize(from: s)
                        out[s.count] = first
                        out[s.count + 1] = last
                        return s.count + 2
                    }
                }
            } else {
                vowelsKey = ""
            }
            self.role = role
            self.initials = initials
            var text = text
            let letters = text.withUTF8 { $0.reduce(0) { $0 | Self.bit($1) } }
            self.letters = letters
            folded = text.withUTF8 { Self.fold($0, zhAsJ: false) }
            // Every query's tokens come through here: the letter set says whether a second
            // spelling may be needed before the bytes are read again. (A scan of every token, and
            // the fold testing which spelling it made at every byte, took this initialiser from
            // 4.8 % of a screening to 7.8 % in a profile.)
            let z = Self.bit(UInt8(ascii: "z")), h = Self.bit(UInt8(ascii: "h"))
            let zhOrJ = letters & Self.bit(UInt8(ascii: "j")) != 0
                || (letters & (z | h) == z | h && NameText.hasPair(b, UInt8(ascii: "z"), UInt8(ascii: "h")))
            jFolded = !korean && zhOrJ ? text.withUTF8 { Self.fold($0, zhAsJ: true) } : nil
            givenNames = tokens.count != 1 ? nil : role == .name ? NameText.nicknames[text]
                : role == .patronymic ? NameText.patronymicGivenNames(text) : nil
            mask = tokens.reduce(0) { $0 | 1 << UInt64($1) }
            self.weight = weight
        }

        /// How ``vowelsKey`` holds a token's first letter: a consonant as `C` (the skeleton then
        /// starts with its sound class, so `Qadhafi` and `Gaddafi` share a key), a vowel (or `h`,
        /// `w`, `y`) as itself (`Omar` and `Amir` do not).
        static func keyFirst(_ c: UInt8) -> UInt8 {
            NameText.soundClass(c, []) == 0 ? c : UInt8(ascii: "C")
        }

        /// Inlined into its two callers, each with `zhAsJ` a constant, so that neither tests it per byte.
        @inline(__always)
        static func fold(_ b: UnsafeBufferPointer<UInt8>, zhAsJ: Bool) -> String {
            NameText.string(capacity: b.count) { out in
                var n = 0
                var i = 0
                while i < b.count {
                    var c = b[i]
                    let next: UInt8 = i + 1 < b.count ? b[i + 1] : 0
                    // German spellings of Slavic names: `sch` is `sh`, `tsch` is `ch` (`Kalaschow`, `Tschatayev`).
                    if c == UInt8(ascii: "s"), next == UInt8(ascii: "c"), i + 2 < b.count, b[i + 2] == UInt8(ascii: "h") {
                        if n > 0, out[n - 1] == UInt8(ascii: "t") { out[n - 1] = UInt8(ascii: "c") } else { out[n] = UInt8(ascii: "s"); n += 1 }
                        out[n] = UInt8(ascii: "h"); n += 1
                        i += 3
                        continue
                    }
                    switch (c, next) {
                    case (UInt8(ascii: "p"), UInt8(ascii: "h")): c = UInt8(ascii: "f"); i += 1
                    case (UInt8(ascii: "k"), UInt8(ascii: "h")): c = UInt8(ascii: "h"); i += 1
                    case (UInt8(ascii: "o"), UInt8(ascii: "u")), (UInt8(ascii: "o"), UInt8(ascii: "o")): c = UInt8(ascii: "u"); i += 1
                    case (UInt8(ascii: "z"), UInt8(ascii: "h")) where zhAsJ: c = UInt8(ascii: "j"); i += 1
                    case (UInt8(ascii: "j"), _) where zhAsJ: break
                    case (UInt8(ascii: "y"), _), (UInt8(ascii: "j"), _): c = UInt8(ascii: "i")
                    case (UInt8(ascii: "w"), _): c = UInt8(ascii: "v")
                    default: break
                    }
                    if n == 0 || out[n - 1] != c {
                        out[n] = c
                        n += 1
                    }
                    i += 1
                }
                return n
            }
        }

        static func bit(_ b: UInt8) -> UInt32 { b >= 97 && b <= 122 ? 1 << UInt32(b - 97) : 1 << 26 }

        /// Whether the Jaro-Winkler similarity of two texts can reach a threshold, from an upper
        /// bound: each letter one has and the other lacks is missing at least once, and the
        /// bonus is for the common prefix they have (`prefix`, at most 4, or more than they have).
        /// Most pairs of different names stop here, from their letter sets, lengths and first
        /// letters alone.
        ///
        /// The bound is Jaro-Winkler with `m` matching characters (at most the letters both texts
        /// have), no transpositions and a common prefix of `p`: `jaro = (m/a + m/b + 1) / 3`, and
        /// `jaro + 0.1p(1 - jaro)` reaches `t` when `m(a + b) ≥ k·a·b`, with `k = 3(t - 0.1p) /
        /// (1 - 0.1p) - 1`, made once per threshold. So a pair costs two products, not two
        /// divisions: their latency was about a third of the matcher's test of a pair
        /// (``NameMatcher``'s `cannotPair`), and most pairs end there.
        struct LetterBound: Sendable {
            let threshold: Double
            /// `k` for a prefix of 0 to 4, less a margin: never stricter than the bound computed
            /// directly, whatever the rounding, so it rules out no pair that one would keep.
            private let k: SIMD8<Double>

            init(threshold t: Double) {
                threshold = t
                var k = SIMD8<Double>(repeating: 0)
                for p in 0...4 { k[p] = 3 * (t - 0.1 * Double(p)) / (1 - 0.1 * Double(p)) - 1 - 1e-9 }
                self.k = k
            }

            func mayReach(_ a: UInt32, _ countA: Int, _ b: UInt32, _ countB: Int, prefix: Int) -> Bool {
                let m = min(countA - (a & ~b).nonzeroBitCount, countB - (b & ~a).nonzeroBitCount)
                guard m > 0 else { return threshold <= 0 }
                return Double(m * (countA + countB)) >= k[min(4, prefix)] * Double(countA * countB)
            }
        }

        /// The first four bytes of a text (fewer: zeros after them), the first in the lowest byte.
        static func prefix(_ text: String) -> UInt32 {
            var p: UInt32 = 0
            for (i, b) in text.utf8.prefix(4).enumerated() { p |= UInt32(b) << UInt32(8 * i) }
            return p
        }

        /// How many of the first four bytes two prefixes share (4 when all; more than the texts
        /// have when one is shorter and the other starts with it: a bound, never less).
        static func commonPrefix(_ a: UInt32, _ b: UInt32) -> Int { (a ^ b).trailingZeroBitCount / 8 }
    }

    let units: [Unit]

    /// What the matcher reads of every token pair, as plain values, one per unit: most pairs of
    /// different names are ruled out from these alone, without following a unit's references
    /// (nor retaining them).
    struct Head {
        // The fields the matcher's first test of a pair reads (``NameMatcher``'s `cannotPair`)
        // come first, within 56 bytes: most pairs end there, on heads mostly not in cache, and a
        // trial that moved `count` to byte 60 screened generated wires' names 6 % slower.

        /// Of the text's bytes: equal texts have equal hashes.
        var hash: UInt64
        var letters: UInt32
        var count: Int32
        var tokens: UInt8
        /// The first four bytes of the text (``Unit/prefix(_:)``), and a hash of the folded text:
        /// what bounds the pair's similarity beside the letters.
        var prefix: UInt32
        var foldedHash: UInt64
        var first: UInt8 { UInt8(truncatingIfNeeded: prefix) }
        var role: Role
        var hasGivenNames: Bool
        /// Of ``Unit/koreanFolded`` in a Korean name, else of ``Unit/jFolded``; 0 without either.
        /// One field for both (a unit has one at most), so that the heads, read for every
        /// candidate, do not grow.
        var spellingHash: UInt64
        /// Of ``Unit/vowelsKey``; 0 without one.
        var vowelsHash: UInt64
        var mask: UInt64
        var weight: Double
        /// The unit's number in the screener's vocabulary of list units (units alike in all that
        /// the matcher reads share one), so a query compares each at most once; -1 outside it.
        var id: Int32 = -1
        /// The unit itself, unretained (the name's `units` own it): the matcher compares the
        /// units of a pair its heads leave open, and retaining each (a write to an object of a
        /// candidate, mostly not in cache) and releasing it cost about as much as the reads.
        let unit: Unmanaged<Unit>

        init(_ u: Unit) {
            unit = .passUnretained(u)
            hash = FNV1a.hash(u.text.utf8)
            letters = u.letters
            count = Int32(u.text.utf8.count)
            tokens = UInt8(u.tokens.count)
            prefix = Unit.prefix(u.text)
            foldedHash = FNV1a.hash(u.folded.utf8)
            role = u.role
            hasGivenNames = u.givenNames != nil
            spellingHash = (u.koreanFolded ?? u.jFolded).map { FNV1a.hash($0.utf8) } ?? 0
            vowelsHash = u.vowelsKey.isEmpty ? 0 : FNV1a.hash(u.vowelsKey.utf8)
            mask = u.mask
            weight = u.weight
        }
    }

    let heads: [Head]

    /// What the matcher reads of a unit beside its text: equal keys, equal comparisons.
    struct UnitKey: Hashable {
        var text: String
        var role: Role
        var tokens: Int
        var initials: String
    }

    /// Numbers listed units, those alike in all the matcher reads with one number (see
    /// ``PairCache``). Used while a screener is built, then dropped.
    final class UnitVocabulary {
        private var ids: [UnitKey: Int32] = [:]
        var count: Int { ids.count }

        func number(_ key: UnitKey) -> Int32 {
            if let id = ids[key] { return id }
            ids[key] = Int32(ids.count)
            return Int32(ids.count - 1)
        }
    }

    private static func units(_ t: [Token], korean: Bool, person: Bool) -> [Unit] {
        var out: [Unit] = []
        // Singles, then runs of two and of three.
        out.reserveCapacity(3 * t.count)
        for (i, token) in t.enumerated() {
            out.append(Unit(tokens: i..<(i + 1), text: token.text, role: token.role, weight: token.role.weight, korean: korean,
                            skeleton: person ? token.skeleton : ""))
        }
        for length in 2...3 where t.count >= length {
            for i in 0...(t.count - length) {
                let run = i..<(i + length)
                // Particles may sit inside a run (`van der bilt`), not at its end. A given name and
                // its patronymic make one too: their initials are how a Russian is written (`Putin
                // V.V.`).
                let patronymic = length == 2 && t[i].role == .name && t[i + 1].role == .patronymic
                guard patronymic || (t[run.upperBound - 1].role == .name && run.allSatisfy({ t[$0].role == .name || t[$0].role == .particle }))
                else { continue }
                var text = "", initials = ""
                for k in run {
                    text += t[k].text
                    if let first = t[k].text.first { initials.append(first) }
                }
                out.append(Unit(tokens: run, text: text, role: .name, initials: initials, weight: run.reduce(0) { $0 + t[$1].role.weight }, korean: korean))
            }
        }
        return out
    }

    public convenience init(_ name: String, kind: NameKind = .unknown) {
        self.init(name, kind: kind, vocabulary: nil)
    }

    /// A listed name: its units are numbered in the screener's `vocabulary`.
    init(_ name: String, kind: NameKind, vocabulary: UnitVocabulary?) {
        original = name
        let (latin, script) = NameText.latin(name)
        self.script = script
        transliterated = script != .latin
        let read = NameText.tokens(latin, kind: kind, script: script)
        self.kind = read.kind
        // A name of more than 64 tokens is not a name; the matcher keeps token sets as bits.
        tokens = Array(read.tokens.prefix(64))
        let person = self.kind != .organization && self.kind != .vessel  // (or of unknown kind)
        korean = person && Hangul.isKoreanName(tokens)
        units = Self.units(tokens, korean: korean, person: person)
        heads = units.map { u in
            var head = Head(u)
            if let vocabulary { head.id = vocabulary.number(UnitKey(text: u.text, role: u.role, tokens: u.tokens.count, initials: u.initials)) }
            return head
        }
        nameTokenCount = tokens.count { $0.role == .name || $0.role == .number }
        let n = tokens.count
        marriedSurname = person && n >= 4 && tokens[n - 1].role == .name && tokens[n - 2].role == .particle
            && tokens[n - 2].text == "de" ? 1 << UInt64(n - 1) : 0
    }

    /// A Korean person's name in Latin letters (``Hangul/isKoreanName(_:)``): against another,
    /// spellings are compared folded and a syllable left out counts in full.
    let korean: Bool

    /// The identifying tokens (names and numbers).
    public var nameTokens: [Token] { tokens.filter { $0.role == .name || $0.role == .number } }

    /// How many tokens are names or numbers (what the matcher counts per candidate).
    let nameTokenCount: Int

    // Two names are the same name if they were made from the same text as the same kind.
    public static func == (a: NormalizedName, b: NormalizedName) -> Bool { a.original == b.original && a.kind == b.kind }
    public func hash(into h: inout Hasher) {
        h.combine(original)
        h.combine(kind)
    }

    /// Whether this names an organisation (or may: an unknown kind is read as either).
    var isOrganization: Bool { kind == .organization || kind == .vessel }

    /// As a mask of its position, the last token of a person's name that ends in `de` and a
    /// surname: a Spanish married name (`Lucy Amparo Vargas de Cuadros`, her husband's surname
    /// where `Lucy Amparo Vargas Nunez` has her mother's). 0 otherwise.
    /// Stored, not computed: the matcher reads it for every candidate it aligns (computed, it
    /// was 3 % of a screening in a profile).
    let marriedSurname: UInt64
}

enum NameText {
    enum Script {
        case latin
        /// Arabic script and the abjads near it (Syriac, Thaana): most vowels unwritten, the
        /// article written joined to the word.
        case abjad
        /// Hebrew, an abjad too, where one letter is `b` or `v` (ב) and another `p` or `f` (פ).
        case hebrew
        /// Thai (and Lao, written with Thai letters) and Khmer: their inherent vowels unwritten (``Thai``, ``Khmer``).
        case thai, khmer
        case other

        /// Whether a transliteration leaves most vowels out, so that they are guesses.
        var vowelsGuessed: Bool { self == .abjad || self == .hebrew || self == .thai || self == .khmer }
    }

    /// Latin letters, no accents, lower case; and what script the input was in.
    static func latin(_ s: String) -> (String, Script) {
        let (text, script, hangul) = letters(s)
        // Korean names follow conventions of their own (``Hangul``): romanized before ICU.
        return hangul ? (letters(Hangul.romanize(s)).text, .other) : (text, script)
    }

    /// Latin letters beyond ASCII: with accents, and the letters of other languages' Latin
    /// alphabets (Azerbaijani `ə`, Akan and Ewe `ɔ`, `ɛ`).
    private static func isLatin(_ u: Unicode.Scalar) -> Bool {
        (0x00C0...0x02AF).contains(u.value) || (0x1E00...0x1EFF).contains(u.value)
    }

    /// Scripts written in Latin by Vigil's rules rather than ICU's, whose transliterations are
    /// not how names in them are spelt (``Cyrillic``, ``Indic``, ``Greek``, ``Myanmar``,
    /// ``Armenian``, ``Ethiopic``; ``Sinhala``, which ICU does not transliterate), when a name's letters outside
    /// Latin are all in one of them.
    private enum OwnRules {
        case cyrillic, indic, greek, myanmar, armenian, sinhala, ethiopic

        init?(_ u: Unicode.Scalar) {
            switch u.value {
            case Cyrillic.scalars: self = .cyrillic
            case Indic.scalars: self = .indic
            case Greek.scalars, Greek.extended: self = .greek
            case Myanmar.scalars: self = .myanmar
            case Armenian.scalars: self = .armenian
            case Sinhala.scalars: self = .sinhala
            case Ethiopic.scalars: self = .ethiopic
            default: return nil
            }
        }

        func transliterate(_ s: String) -> String {
            switch self {
            case .cyrillic: Cyrillic.transliterate(s)
            case .indic: Indic.transliterate(s)
            case .greek: Greek.transliterate(s)
            case .myanmar: Myanmar.transliterate(s)
            case .armenian: Armenian.transliterate(s)
            case .sinhala: Sinhala.transliterate(s)
            case .ethiopic: Ethiopic.transliterate(s)
            }
        }
    }

    /// Latin letters and the script; or, when Hangul syllables were seen, only that.
    private static func letters(_ s: String) -> (text: String, script: Script, hangul: Bool) {
        var script = Script.latin
        var needsTransform = false, hangul = false
        // The one script of Vigil's own rules that every letter not in Latin is in, if there is one.
        var own: OwnRules?, mixed = false
        for u in s.unicodeScalars where u.value >= 0x80 {
            if let rules = OwnRules(u) {
                if own == nil { own = rules } else if own != rules { mixed = true }
            } else if !isLatin(u), u.properties.isAlphabetic {
                mixed = true
            }
            switch u.value {
            case 0x0590...0x05FF, 0xFB1D...0xFB4F: script = .hebrew; needsTransform = true
            case 0x0600...0x08FF, 0xFB50...0xFDFF, 0xFE70...0xFEFF: script = .abjad; needsTransform = true
            case Thai.scalars, Thai.laoScalars: script = .thai; needsTransform = true
            case Khmer.scalars, Khmer.symbols: script = .khmer; needsTransform = true
            case _ where isLatin(u): needsTransform = true  // Latin with accents, and other alphabets' letters (`ə`)
            case 0x2000...0x206F: break  // punctuation: quotes, dashes
            default:
                if u.properties.isAlphabetic, script == .latin { script = .other }
                needsTransform = true
                hangul = hangul || Hangul.isSyllable(u)
            }
        }
        if hangul { return ("", .other, true) }  // romanized by the caller first
        guard needsTransform else { return (s.lowercased(), .latin, false) }
        // ICU transliterates other scripts; it builds a transliterator on every call, so Latin
        // with accents (most names on the lists) is only decomposed and stripped of its marks.
        let t = switch script {
        case .latin: s
        case .thai: Thai.transliterate(Thai.laoAsThai(s))
        case .khmer: Khmer.transliterate(s)
        case .other where own != nil && !mixed: own!.transliterate(s)
        default: s.applyingTransform(.toLatin, reverse: false) ?? s
        }
        var out = ""
        out.unicodeScalars.reserveCapacity(t.unicodeScalars.count)
        for u in t.decomposedStringWithCanonicalMapping.lowercased().unicodeScalars {
            switch u.value {
            case 0x0300...0x036F, 0x1AB0...0x1AFF, 0x1DC0...0x1DFF, 0x20D0...0x20FF, 0xFE20...0xFE2F: continue  // combining marks
            default: break
            }
            // Letters that are not a base letter plus a mark, so stripping marks keeps them as they are.
            switch u {
            case "ß": out += "ss"
            case "æ": out += "ae"
            case "œ": out += "oe"
            case "ø": out += "o"
            case "ł": out += "l"
            case "đ", "ð": out += "d"
            case "þ": out += "th"
            case "ı": out += "i"
            // Azerbaijani's schwa, which lists write `a` (`Əliyev` `Aliyev`, `Məmmədov` `Mammadov`).
            case "ə": out += "a"
            case "ɛ": out += "e"
            case "ɔ": out += "o"
            case "ŋ": out += "ng"
            // Transliteration marks for ayin and hamza carry no letter of their own in Latin spellings.
            case "\u{02BF}", "\u{02BE}", "\u{02BC}", "\u{02BB}", "\u{02B9}", "\u{02BA}", "\u{02C8}": continue
            default: out.unicodeScalars.append(u)
            }
        }
        return (out, script, hangul)
    }

    /// Honorifics and titles: they say nothing about who a person is.
    static let honorifics: Set<String> = [
        "mr", "mrs", "ms", "miss", "dr", "prof", "sir", "dame", "lord", "lady", "hon", "rev", "sheikh", "shaikh", "shaykh",
        "sheik", "shekh", "haji", "hajji", "alhaj", "alhaji", "mullah", "mulla", "maulvi", "maulana", "mawlawi", "qari", "mufti", "imam",
        "herr", "frau", "monsieur", "madame", "mme", "senor", "senora", "don", "dona", "jr", "sr", "president", "minister",
        "general", "colonel", "commander", "king", "queen", "prince", "princess",
        // `President` in the languages of the name variants lists carry (`Präsident Putin`, `Президент`).
        "presidente", "prasident", "praesident", "prezident", "prezydent", "presedintele", "presiden", "predsjednik", "elnok",
    ]

    static let particles: Set<String> = [
        "al", "el", "ul", "bin", "ibn", "ben", "bint", "binti", "abu", "umm", "van", "von", "der", "den", "de", "del", "della",
        "di", "da", "dos", "das", "du", "la", "le", "y", "e", "of", "the", "and", "und", "et", "ou", "mac", "ter", "zu",
    ]

    /// Legal forms, each spelling mapped to its family: forms that make the same kind of company
    /// in different countries are one (`GmbH`, `SARL`, `OOO` and `LLC` are all limited-liability
    /// companies; `AG`, `SA`, `JSC` and `OAO` all joint-stock companies). Multi-word forms are
    /// looked up with their words joined.
    static let legalForms: [String: String] = {
        var m: [String: String] = [:]
        let families: [String: [String]] = [
            "llc": ["llc", "ltd", "limited", "ltda", "ltee", "gmbh", "gesellschaftmitbeschrankterhaftung", "sarl",
                    "societearesponsabilitelimitee", "srl", "societatearaspunderelimitata", "ooo", "obsestvosogranicennojotvetstvennostu",
                    "obshchestvosogranichennoyotvetstvennostyu", "obshchestvosogranichennoiotvetstvennostyu",
                    "tov", "too", "rab", "limitedliabilitycompany", "spzoo", "sro", "kft", "bv", "pty", "pte", "sdn", "bhd", "fzllc", "fzco",
                    "fze", "fzc", "aps", "sl"],
            "jsc": ["jsc", "ojsc", "cjsc", "pjsc", "ao", "oao", "zao", "pao", "ag", "aktiengesellschaft", "sa", "societeanonyme",
                    "sociedadanonima", "spa", "nv", "plc", "jointstockcompany", "openjointstockcompany", "closedjointstockcompany",
                    "publicjointstockcompany", "akcionernoeobsestvo", "aktsionernoyeobshchestvo", "otkrytoyeaktsionernoyeobshchestvo",
                    "zakrytoyeaktsionernoyeobshchestvo", "publichnoyeaktsionernoyeobshchestvo", "tbk", "pt", "ab", "as", "oy", "oyj",
                    "zrt", "sas"],
            "inc": ["inc", "incorporated", "corp", "corporation"],
            "co": ["co", "company", "compania", "cia"],
            "lp": ["lp", "llp", "kg", "ohg", "gbr"],
            "nonprofit": ["ano", "ngo", "ev", "foundation", "fund", "charity"],
        ]
        for (family, spellings) in families { for s in spellings { m[s] = family } }
        return m
    }()

    /// The family of a long legal form written with one letter wrong (`Aktiengeselschaft`,
    /// `Lemited`); short forms (`AG`, `SA`) are not guessed, one letter there makes another word.
    /// A word of seven letters or more, against forms of seven or more (`limited`, `company`).
    static func misspeltLegalForm(_ w: String) -> String? {
        let n = w.utf8.count
        guard n >= 7, let first = w.utf8.first else { return nil }
        // Most long words start with no long form's letter, or are of no long form's length:
        // their letters are not looked at.
        var word: [UInt8]?
        for (form, family) in longLegalForms where abs(form.count - n) <= 1 && form.first == first {
            if word == nil {
                guard w.allSatisfy(\.isLetter) else { return nil }
                word = Array(w.utf8)
            }
            if Similarity.levenshtein(word!, form) <= 1 { return family }
        }
        return nil
    }

    private static let longLegalForms: [([UInt8], String)] = legalForms.filter { $0.key.utf8.count >= 7 }
        .sorted { $0.key < $1.key }.map { (Array($0.key.utf8), $0.value) }

    /// Multi-word legal forms, as token sequences to join before lookup.
    static let legalPhrases: [[String]] = [
        ["gesellschaft", "mit", "beschrankter", "haftung"], ["societe", "a", "responsabilite", "limitee"],
        ["societatea", "cu", "raspundere", "limitata"], ["obsestvo", "s", "ogranicennoj", "otvetstvennostu"],
        // Russian forms as ``Cyrillic`` and the lists write them (`Aktsionernoe`: one letter off
        // fits, except in a phrase with a short word).
        ["obshchestvo", "s", "ogranichennoy", "otvetstvennostyu"], ["obshchestvo", "s", "ogranichennoi", "otvetstvennostyu"],
        ["otkrytoye", "aktsionernoye", "obshchestvo"], ["zakrytoye", "aktsionernoye", "obshchestvo"],
        ["publichnoye", "aktsionernoye", "obshchestvo"], ["aktsionernoye", "obshchestvo"],
        ["closed", "joint", "stock", "company"], ["public", "joint", "stock", "company"], ["open", "joint", "stock", "company"],
        ["limited", "liability", "company"], ["joint", "stock", "company"], ["akcionernoe", "obsestvo"], ["societe", "anonyme"],
        ["sociedad", "anonima"], ["sp", "z", "o", "o"], ["sp", "z", "oo"],
    ]

    /// Per first byte, the phrases above (of two words or more) whose first word starts with it,
    /// in their order.
    private static let legalPhrasesByFirstByte: [[Int]] = {
        var m = [[Int]](repeating: [], count: 256)
        for (p, phrase) in legalPhrases.enumerated() where phrase.count > 1 { m[Int(phrase[0].utf8.first!)].append(p) }
        return m
    }()

    /// Number words, so `Forty-Four` is `44` and `First` is `1`.
    static let numberWords: [String: Int] = [
        "zero": 0, "one": 1, "first": 1, "two": 2, "second": 2, "three": 3, "third": 3, "four": 4, "fourth": 4, "five": 5, "fifth": 5,
        "six": 6, "sixth": 6, "seven": 7, "seventh": 7, "eight": 8, "eighth": 8, "nine": 9, "ninth": 9, "ten": 10, "tenth": 10,
        "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18,
        "nineteen": 19, "twenty": 20, "thirty": 30, "forty": 40, "fourty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80,
        "ninety": 90, "eleventh": 11, "twelfth": 12, "thirteenth": 13, "fourteenth": 14, "fifteenth": 15, "sixteenth": 16,
        "seventeenth": 17, "eighteenth": 18, "nineteenth": 19, "twentieth": 20, "thirtieth": 30, "fortieth": 40, "fiftieth": 50,
        "sixtieth": 60, "seventieth": 70, "eightieth": 80, "ninetieth": 90,
    ]

    /// Abbreviations in company names, written out (`Int'l` is `international`).
    static let abbreviations: [String: String] = [
        "intl": "international", "natl": "national", "mfg": "manufacturing", "bros": "brothers", "assn": "association",
        "univ": "university", "svcs": "services", "mgmt": "management", "hldgs": "holdings", "grp": "group", "pvt": "private",
        "eng": "engineering", "engg": "engineering", "shpg": "shipping",
    ]

    /// Words so many company names have that sharing one says little.
    static let commonBusinessWords: Set<String> = [
        "bank", "banco", "banque", "business", "international", "intl", "industries", "industry", "industrial", "group", "holding",
        "holdings", "trading", "trade", "services", "service", "management", "capital", "investment", "investments", "global",
        "systems", "solutions", "technologies", "technology", "enterprises", "enterprise", "general", "national", "import", "export",
        "shipping", "logistics", "consulting", "development", "resources", "energy", "finance", "financial",
    ]

    /// Words naming the kind of body an organisation is, or what it does in general terms. Lists
    /// give one body several such names (`Imam Khomeini Relief Committee` is also its `Support
    /// Committee`, `Relief Organization` and `Emdad Committee`), so, unlike its distinctive words,
    /// two different ones facing each other are no evidence of two bodies.
    static let kindOfBodyWords: Set<String> = [
        "administration", "agency", "aid", "alliance", "army", "assembly", "association", "authority", "battalion", "board",
        "branch", "brigade", "bureau", "cell", "center", "centre", "channel", "charitable", "charity", "church", "club", "coalition",
        "college", "commission", "committee", "company", "concern", "corporation", "corps", "council", "department", "directorate",
        "division", "establishment", "factory", "federation", "firm", "force", "forces", "foundation", "front", "fund",
        "headquarters", "hospital", "house", "institute", "institution", "laboratory", "league", "market", "ministry", "mosque",
        "movement", "network", "office", "organisation", "organization", "party", "plant", "program", "programme", "project",
        "regiment", "relief", "school", "shop", "society", "station", "store", "support", "team", "trust", "union", "unit",
        "university", "welfare", "works",
    ]

    /// Short forms of given names and what they are short for (`Ted` is Edward or Theodore), a
    /// few of the same name in another language (`Juan` for John), and the spellings of Korean
    /// surnames (`Pak` for Park).
    static let nicknames: [String: Set<String>] = {
        let table: [String: [String]] = [
            "william": ["bill", "billy", "will", "willy", "liam"], "robert": ["bob", "bobby", "rob", "robbie", "bert"],
            "edward": ["ted", "teddy", "ed", "eddie", "ned"], "theodore": ["ted", "teddy", "theo"], "benjamin": ["ben", "benny", "bibi"],
            "thomas": ["tom", "tommy"], "james": ["jim", "jimmy", "jamie"], "michael": ["mike", "mick", "mickey", "misha"],
            "richard": ["dick", "rick", "ricky", "rich"], "david": ["dave", "davy"], "stephen": ["steve"], "steven": ["steve"],
            "anthony": ["tony"], "christopher": ["chris"], "alexander": ["alex", "sasha", "sandy"],
            "katherine": ["kate", "katie", "kathy"], "catherine": ["kate", "cathy"], "elizabeth": ["liz", "beth", "betty", "eliza"],
            "margaret": ["peggy", "maggie", "meg"], "john": ["jack", "johnny", "juan"], "joseph": ["joe", "joey"], "samuel": ["sam"],
            "daniel": ["dan", "danny"], "nicholas": ["nick"], "peter": ["pete"], "andrew": ["andy", "drew"], "matthew": ["matt"],
            "patrick": ["pat", "paddy"], "susan": ["sue", "susie"], "jennifer": ["jen", "jenny"],
            "ivan": ["vanya"], "barack": ["barry"], "abdullah": ["abdu"],
            // East Slavic given names: the Russian name, its romanizations, and the Ukrainian and
            // Belarusian forms of it (sanctions lists give a Belarusian's name both ways:
            // `Alyaksandr`/`Aleksandr`, `Uladzimir`/`Vladimir`), with their short forms.
            "aleksandr": ["sasha", "alex", "alexander", "alexandr", "aleksander", "alyaksandr", "aliaksandr", "oleksandr", "olexander",
                          "oleksander", "olexandr"],
            "aleksey": ["alexei", "alexey", "aleksei", "alexsei", "oleksiy", "oleksii", "olexiy", "aliaksei", "alyaksei"],
            "sergei": ["seryozha", "sergey", "serguei", "sergiy", "serhiy", "serhii", "sergii", "siarhei"],
            "vladimir": ["vlad", "volodya", "volodymyr", "uladzimir", "wladimir"],
            "dmitry": ["dima", "dmitri", "dmitriy", "dmitrii", "dmitrij", "dmytro", "dzmitry"],
            "nikolai": ["kolya", "nikolay", "mykola", "mikalai", "mikola"],
            "mikhail": ["misha", "mykhailo", "mikhas", "michail", "mihail"],
            "yevgeny": ["zhenya", "evgeny", "evgeniy", "evgenii", "evgeni", "yevgeniy", "yevhen", "yevheniy", "yauhen", "yaugen"],
            "pyotr": ["petr", "petro", "piotr"], "pavel": ["pavlo", "paval"], "andrei": ["andrey", "andriy", "andrii", "andrej"],
            "viktor": ["victor", "viktar"], "grigory": ["grigoriy", "grigori", "hryhoriy", "hryhorii", "ryhor"],
            "yury": ["yuri", "yuriy", "yurii", "iouri"], "igor": ["ihor"], "oleg": ["oleh", "aleh"], "leonid": ["leanid", "lieanid"],
            "vasily": ["vasiliy", "vasili", "vasilii", "vasyl", "vasil"], "valery": ["valeriy", "valerii", "valeri"],
            "vyacheslav": ["viacheslav", "viachaslau", "vyachaslau"], "anatoly": ["anatoliy", "anatolii", "anatol"],
            "konstantin": ["kostiantyn", "kanstantsin", "konstantyn"], "gennady": ["gennadiy", "gennadi", "hennadiy", "henadz"],
            "maksim": ["maxim", "maksym"], "denis": ["denys", "dzianis"], "fyodor": ["fedor", "fiodor", "fedir"],
            "stepan": ["stsiapan", "stiapan"], "vitaly": ["vitaliy", "vitalii"], "kirill": ["kiryl", "kyrylo"],
            "arkady": ["arkadiy", "arkadii", "arkadzi"], "boris": ["barys"], "nikita": ["mykyta", "mikita"],
            "yelena": ["elena", "olena", "alena", "helen"], "natalya": ["natalia", "nataliya", "natallia"],
            "svetlana": ["sviatlana", "svitlana"], "tatyana": ["tatiana", "tatsiana", "tetiana", "tetyana"],
            "yekaterina": ["ekaterina", "katsiaryna", "kateryna"], "lidiya": ["lidia", "lidziya", "lidya", "lydia"], "olga": ["olha", "volha", "volga"],
            "irina": ["iryna"], "yuliya": ["yulia", "iuliia", "yuliia"], "nadezhda": ["nadzeya", "nadiya"],
            // `Mohd` is how Malaysian and Singaporean documents shorten every spelling of it.
            "muhammad": ["mo", "mohd", "muhd"], "mohammed": ["mo", "mohd"], "mohammad": ["mohd"], "mohamed": ["mohd"], "muhammed": ["mohd"],
            // Korean surnames as the South, the North (McCune–Reischauer) and the Revised
            // Romanization write them: 박 Park, Pak, Bak; 이/리 Lee, Ri, Yi; 최 Choi, Choe.
            "park": ["pak", "bak"], "lee": ["ri", "yi", "rhee"], "choi": ["choe"], "jung": ["jong", "chung", "jeong"],
            "kim": ["gim"], "cho": ["jo"], "lim": ["rim", "im"], "ryu": ["yu", "yoo"], "roh": ["ro", "noh"], "kang": ["gang"],
            "kwon": ["gwon"], "kwak": ["gwak"], "shin": ["sin"], "koo": ["ku", "gu"],
        ]
        var m: [String: Set<String>] = [:]
        for (name, shorts) in table {
            m[name, default: []].insert(name)
            for s in shorts { m[s, default: []].insert(name) }
        }
        return m
    }()

    /// What normalisation knows of a word, from one lookup in ``lexicon``. Most words are in none
    /// of the tables above, and asking each table in turn hashed every word eight times.
    struct Lexeme {
        var honorific = false
        var particle = false
        /// A particle a name may start with (`Al Qaeda`).
        var article = false
        var roman = false
        var commonBusinessWord = false
        var kindOfBody = false
        /// A spelling of `Abdul`, which is `Abd al` written as one word.
        var abd = false
        var legalForm: String?
        var abbreviationOf: String?
        var number: Int?
        /// A particle's one spelling (`ibn` is `bin`, `el` is `al`).
        var particleSpelling: String?
    }

    static let lexicon: [String: Lexeme] = {
        var m: [String: Lexeme] = [:]
        func set(_ words: some Sequence<String>, _ update: (inout Lexeme) -> Void) {
            for w in words { update(&m[w, default: Lexeme()]) }
        }
        set(honorifics) { $0.honorific = true }
        set(particles) { $0.particle = true }
        set(["al", "el", "the"]) { $0.article = true }
        set(roman) { $0.roman = true }
        set(commonBusinessWords) { $0.commonBusinessWord = true }
        set(kindOfBodyWords) { $0.kindOfBody = true }
        set(["abdul", "abdel", "abdal", "abdoul", "abdull"]) { $0.abd = true }
        for (w, family) in legalForms { m[w, default: Lexeme()].legalForm = family }
        for (w, full) in abbreviations { m[w, default: Lexeme()].abbreviationOf = full }
        for (w, n) in numberWords { m[w, default: Lexeme()].number = n }
        for (w, one) in ["ibn": "bin", "ben": "bin", "el": "al", "ul": "al"] { m[w, default: Lexeme()].particleSpelling = one }
        return m
    }()

    /// Endings of East Slavic patronymics (`Oleksandrovych`, `Vladimirovich`, `Ivanovna`, the
    /// Belarusian `Uladzimirauna`): they tell a patronymic; ``patronymicSuffixes`` take one apart.
    static let patronymicEndings = ["ovich", "evich", "ovych", "evych", "ovna", "evna", "ivna", "ovic", "evic", "ich", "auna", "euna"]

    /// Other languages' spellings of the Russian patronymic's endings, with the English one:
    /// French `Vladimirovitch`, German `Wladimirowitsch`, Dutch `Wladimirowitsj`, Scandinavian
    /// `Vladimirovitj`, Catalan `Vladimirovitx`, Hungarian `Vlagyimirovics`, Greek
    /// `Βλαντίμιροβιτς`; German and Polish `-owna` for a daughter's, Belarusian `-awna` (ў as `w`)
    /// for `-auna`. And as the transliterations
    /// of scripts without written vowels leave them: Arabic فلاديميروفيتش `fladymyrwfytsh`,
    /// سيرغييفيتش `syrghyyfytsh`, Persian ولادیمیرویچ `wladymyrwych`, Hebrew ולדימירוביץ' `wldymyrwbyz`.
    static let foreignPatronymicEndings: [(String, String)] = [
        ("ovitch", "ovich"), ("evitch", "evich"), ("owitsch", "ovich"), ("ewitsch", "evich"), ("owitsj", "ovich"), ("ewitsj", "evich"),
        ("ovitsj", "ovich"), ("evitsj", "evich"), ("ovitj", "ovich"), ("evitj", "evich"), ("ovitx", "ovich"), ("evitx", "evich"),
        ("ovics", "ovich"), ("evics", "evich"), ("ovits", "ovich"), ("evits", "evich"), ("owna", "ovna"), ("ewna", "evna"), ("awna", "auna"),
        // (Longer first where one ends the other: the first ending that fits is taken.)
        ("wfytsh", "ovich"), ("yfytsh", "evich"), ("wfna", "ovna"), ("yfna", "evna"), ("ywych", "evich"), ("wych", "ovich"),
        ("wbyz", "ovich"), ("ybyz", "evich"),
    ]

    /// `w` spelt as an English patronymic when it is a patronymic (``patronymicEndings``, or
    /// another language's spelling of them, ``foreignPatronymicEndings``): one name, one spelling.
    static func patronymic(_ w: String) -> String? {
        // Most words end in a letter no ending ends in: told apart without comparing endings.
        guard let last = w.utf8.last, last >= 0x61, last <= 0x7A, patronymicLastLetters & 1 << UInt32(last - 0x61) != 0 else { return nil }
        if patronymicEndings.contains(where: { w.hasSuffix($0) }) { return w }
        guard let (foreign, english) = foreignPatronymicEndings.first(where: { w.hasSuffix($0.0) }) else { return nil }
        return String(w.utf8.dropLast(foreign.utf8.count))! + english
    }

    /// The letters (bits 0–25 for `a`–`z`) the endings above end in.
    private static let patronymicLastLetters: UInt32 = (patronymicEndings + foreignPatronymicEndings.map(\.0))
        .reduce(0) { $0 | 1 << UInt32($1.utf8.last! - 0x61) }

    /// The given name a patronymic is made from, as ``nicknames`` knows it (`Hryhoryavich`,
    /// `Grigoryevich` and `Grigorievich` are all Grigory's son): the suffix taken off, then the
    /// stem's endings that the suffix changed tried back (`Nikola-evich` is Nikolai's,
    /// `Serge-yevich` Sergei's, `Mykola-iovych` Mykola's). Nil when no given name fits.
    static func patronymicGivenNames(_ w: String) -> Set<String>? {
        guard let suffix = patronymicSuffixes.first(where: { w.hasSuffix($0) && w.utf8.count > $0.utf8.count + 2 }) else { return nil }
        let stem = String(w.dropLast(suffix.count))
        var base = Substring(stem)
        while let last = base.last, "aeiyu".contains(last), base.count > 3 { base = base.dropLast() }
        for ending in ["", "y", "i", "iy", "ii", "ai", "ei", "ey", "a"] {
            if let names = nicknames[stem + ending] ?? nicknames[base + ending] { return names }
        }
        return nil
    }

    /// Patronymic suffixes, longest first: Russian, Ukrainian and Belarusian, a son's and a
    /// daughter's.
    private static let patronymicSuffixes = ["iyovych", "iiovych", "yevich", "ievich", "iovych", "yevna", "ievna", "ovich", "evich",
                                             "avich", "ovych", "evych", "ivich", "ovna", "evna", "ivna", "auna", "euna"]

    /// Digits only (by bytes when ASCII; other scripts' digits by their Unicode property).
    private static func isNumber(_ w: String) -> Bool {
        // ASCII digits answer from the bytes; only a word with other bytes is read by characters.
        var ascii = true
        for b in w.utf8 {
            if b >= 0x80 { ascii = false; break }
            if b < 0x30 || b > 0x39 { return false }
        }
        return ascii || w.allSatisfy(\.isNumber)
    }

    static let roman: Set<String> = ["ii", "iii", "iv", "v", "vi", "vii", "viii", "ix", "x", "xi", "xii", "xv", "xx"]

    /// The tokens of `latin`, a name written in `script` transliterated, and the kind they were
    /// read as: `kind`, except that a name of unknown kind with a legal form is read as an
    /// organisation's.
    static func tokens(_ latin: String, kind: NameKind, script: Script = .latin) -> (tokens: [NormalizedName.Token], kind: NameKind) {
        // Dots and apostrophes join (`S.A.R.L.` is `sarl`, `O'Brien` is `obrien`); every other
        // character that is not a letter or digit separates.
        var words: [String] = []
        words.reserveCapacity(8)
        // A possessive is not part of the name (`Deutsche Bank's`). Looked for byte by byte:
        // many names have an apostrophe (`Sa'id`), few a possessive, and Foundation's search
        // for one was 2 % of a screening.
        let latin = hasPossessive(latin.utf8) ? latin.replacingOccurrences(of: "'s ", with: " ").replacingOccurrences(of: "\u{2019}s ", with: " ") : latin
        var depth = 0
        // The word being read, as UTF-8 in a buffer on the stack: a word becomes a string once,
        // small enough (15 bytes) for most to need no allocation.
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: max(1, latin.utf8.count)) { current in
            var n = 0
            func endWord() {
                let word = UnsafeBufferPointer(rebasing: current[0..<n])
                if word.contains(UInt8(ascii: "-")) {
                    splitHyphenated(word, into: &words)
                } else if n > 0 {
                    words.append(String(decoding: word, as: UTF8.self))
                }
                n = 0
            }
            func append(_ ch: Unicode.Scalar) {
                for b in UTF8.encode(ch)! {
                    current[n] = b
                    n += 1
                }
            }
            for ch in latin.unicodeScalars {
                // A qualifier in parentheses (`Deutsche Bank (Schweiz) AG`, `Ahmad (Ahmed)`) is not
                // part of the name.
                if ch == "(" { depth += 1 } else if ch == ")" { depth = max(0, depth - 1) }
                if depth > 0 { continue }
                if ch == "." || ch == "'" || ch == "\u{2019}" || ch == "`" { continue }
                // ASCII (most names) without a Unicode property lookup per character.
                let isWordCharacter = ch.value < 0x80
                    ? (ch.value >= 0x61 && ch.value <= 0x7A) || (ch.value >= 0x41 && ch.value <= 0x5A) || (ch.value >= 0x30 && ch.value <= 0x39)
                    : ch.properties.isAlphabetic
                if isWordCharacter || (ch == "-" && n > 0) {
                    append(ch)  // a hyphen is split or joined below
                } else {
                    endWord()
                }
            }
            endWord()
        }
        if words.isEmpty, depth > 0 || latin.contains("(") {
            // Nothing outside the parentheses: the name is what is inside.
            return tokens(latin.replacingOccurrences(of: "(", with: " ").replacingOccurrences(of: ")", with: " "), kind: kind, script: script)
        }
        for i in words.indices { words[i] = undoLeetspeak(words[i]) }
        if script == .thai || script == .khmer {
            // Transliterated, their words are strings of consonants that may spell a Latin
            // honorific, particle or legal form (ហ៊ុន is `hon`, ពត `pt`): none is looked up.
            return (words.prefix(64).map { w in .init(text: w, role: isNumber(w) ? .number : .name, skeleton: skeleton(w)) }, kind)
        }
        if script == .abjad {
            // Arabic writes the article joined to the word (السيسي is `alsysy`); Latin spellings
            // mostly separate it (`el-Sisi`).
            words = words.flatMap { w in w.hasPrefix("al") && w.utf8.count > 4 ? ["al", String(w.dropFirst(2))] : [w] }
        }
        if script == .abjad || script == .hebrew {
            // "Son of" without its vowel: Arabic بن and Hebrew בן, `bin` and `ben` in Latin.
            for i in words.indices where words[i] == "bn" { words[i] = "bin" }
        }
        // `Abdul` is `Abd al` written as one word; `Int'l` is `international` in a company's name.
        // Most names have neither, nor a number word: their words stay as they are.
        var abd = false, numberWord = false, rewritten = false
        // What the lexicon knows of each word, looked up once: kept for the roles below unless
        // the words change on the way (most names keep theirs).
        var known: [Lexeme?] = []
        known.reserveCapacity(words.count)
        for i in words.indices {
            let x = lexicon[words[i]]
            known.append(x)
            guard let x else { continue }
            abd = abd || x.abd
            numberWord = numberWord || x.number != nil
            if kind != .person, let full = x.abbreviationOf {
                words[i] = full
                rewritten = true
            }
        }
        if abd { words = words.flatMap { lexicon[$0]?.abd == true ? ["abd", "al"] : [$0] } }
        if kind != .person {
            let before = words.count
            words = joinLegalPhrases(words)
            rewritten = rewritten || words.count != before  // (a phrase joins two words or more)
        }
        if kind != .person, numberWord { words = joinNumberWords(words) }
        if abd || numberWord || rewritten { known = words.map { lexicon[$0] } }
        // A legal form makes a name of unknown kind an organisation's (`FMF General Trading LLC`,
        // `King Romans Company Limited`): read as one, `General`, `King` or `Mr` in it are words
        // of the name, not titles to drop, and its common words weigh as in the listed name.
        let kind = kind == .unknown && words.count > 1 && known.contains(where: { $0?.legalForm != nil }) ? NameKind.organization : kind
        var out: [NormalizedName.Token] = []
        out.reserveCapacity(words.count)
        for (n, w) in words.enumerated() {
            var text = w
            let role: NormalizedName.Role
            let x = known[n] ?? Lexeme()
            // A Roman numeral after a name (`Trust IV`, `Henry V`), except, in a name of unknown
            // kind, a single letter with names after it or an initial before it: that is an
            // initial too (`V. V. Putin`, `Putin V. V.`).
            let initial = kind == .unknown && w.utf8.count == 1 && (n < words.count - 1 || (n > 0 && words[n - 1].utf8.count == 1))
            if isNumber(w) || (x.roman && n > 0 && kind != .person && !initial) {
                role = .number
            } else if let ordinal = ordinalDigits(w) {
                role = .number
                text = ordinal
            } else if kind != .person, let form = x.legalForm ?? misspeltLegalForm(w), words.count > 1 {
                role = .legalForm
                text = form
            } else if kind != .organization, x.honorific, words.count > 1, n + 1 == words.count || !isNumber(words[n + 1]) {
                // A title stands before a name; before a number it is a name's word (`MS-13`).
                continue
            } else if x.particle, words.count > 1, n > 0 || x.article {
                // A name does not start with a particle (`Ben` first is a given name), except the
                // Arabic article (`Al Qaeda`).
                role = .particle
                text = x.particleSpelling ?? w
            } else if kind == .organization || kind == .vessel, x.commonBusinessWord, words.count > 1 {
                role = .common
            } else if kind != .organization, n > 0, w.utf8.count > 6, let spelt = patronymic(w) {
                role = .patronymic
                text = spelt
            } else {
                role = .name
            }
            out.append(.init(text: text, role: role, skeleton: skeleton(text), namesKindOfBody: kind != .person && x.kindOfBody))
        }
        if kind != .organization, kind != .vessel, isBelarusian(out) {
            out = out.map { t in
                let text = belarusianAsRussian(t.text, role: t.role)
                return text == t.text ? t : .init(text: text, role: t.role, skeleton: skeleton(text), namesKindOfBody: t.namesKindOfBody)
            }
        }
        return (out, kind)
    }

    /// Whether a person's name is Belarusian as Latin letters write it: a patronymic in `-avich`,
    /// `-auna` or `-euna` (`-awna` is read as `-auna`), or a surname in `-au` or `-eu` (Belarusian
    /// ў where Russian has `-ov`, `-ev`: `IPATAU`, `KARAEU`; not French `-eau`, `-ieu`). Not `-ou`
    /// alone, which French spellings of West African and Arabic names end in far more often
    /// (`Amadou`, `Kansou`).
    static func isBelarusian(_ tokens: [NormalizedName.Token]) -> Bool {
        tokens.contains { t in
            switch t.role {
            case .patronymic: return ["avich", "auna", "euna"].contains { t.text.hasSuffix($0) }
            case .name: return t.text.utf8.count >= 5 && (t.text.hasSuffix("au") || t.text.hasSuffix("eu"))
                && !t.text.hasSuffix("eau") && !t.text.hasSuffix("ieu")
            default: return false
            }
        }
    }

    /// A word of a Belarusian name spelt as its Russian form is, where the lists give both: `h`
    /// that starts it is `g` (`HALAVANAU`, Golovanov), `dz` is `d` (`Vadzim`), a surname's `-au`,
    /// `-ou` are `-ov`, `-eu` is `-ev` and `-enka` is `-enko` (`IPATAU` Ipatov, `ZUBKOU` Zubkov,
    /// `DARASHENKA` Doroshenko). The vowels Belarusian writes as it says them (`a` for an
    /// unstressed `o`) are left to the comparison of inner vowels. Given names the table of
    /// nicknames knows (`Uladzimir`, `Lidziya`) and patronymics (whose endings tell the father's
    /// name, ``patronymicGivenNames(_:)``) stay as they are: those already pair with the Russian
    /// forms.
    static func belarusianAsRussian(_ w: String, role: NormalizedName.Role) -> String {
        guard role == .name, nicknames[w] == nil else { return w }
        var t = w.replacingOccurrences(of: "dz", with: "d")
        if t.hasPrefix("h") { t = "g" + t.dropFirst() }
        if t.utf8.count >= 5 {
            if t.hasSuffix("au") || t.hasSuffix("ou") {
                t = t.dropLast(2) + "ov"
            } else if t.hasSuffix("eu") {
                t = t.dropLast(2) + "ev"
            } else if t.hasSuffix("enka") {
                t = t.dropLast() + "o"  // `LUKASHENKA`, Lukashenko
            }
        }
        return t
    }

    /// `Kassym-Jomart` is two names; `Jong-un`, a Korean given name of two syllables, is one
    /// (it is also written `Jongun`, and a typo in one syllable should not cost a whole name).
    /// Split as the word is read, from its bytes: split afterwards, the name's whole word list
    /// was made again, and each hyphenated word went through a string twice (together 6 % of
    /// screening a name such as `Holder of ACC-0068`).
    private static func splitHyphenated(_ w: UnsafeBufferPointer<UInt8>, into words: inout [String]) {
        // Split on the hyphen's byte (a word holds letters, digits and hyphens only, so no
        // hyphen here begins a longer character): splitting the string by characters was a
        // third of normalising such a name.
        let hyphen = UInt8(ascii: "-"), before = words.count
        var start = 0
        for i in 0...w.count where i == w.count || w[i] == hyphen {
            if i > start { words.append(String(decoding: w[start..<i], as: UTF8.self)) }
            start = i + 1
        }
        // Two short parts are one name (`jong-un`), unless one is a particle (`abu-ali`).
        guard words.count == before + 2 else { return }
        let (a, b) = (words[before], words[before + 1])
        if isShortLetterWord(a), isShortLetterWord(b), !particles.contains(a), !particles.contains(b) {
            words.removeLast(2)
            words.append(a + b)
        }
    }

    /// Two to four letters (`jong`, `un`): byte by byte when ASCII, else by characters.
    private static func isShortLetterWord(_ w: String) -> Bool {
        let bytes = w.utf8
        if bytes.allSatisfy({ $0 < 0x80 }) {
            return (2...4).contains(bytes.count) && bytes.allSatisfy { ($0 | 0x20) >= 0x61 && ($0 | 0x20) <= 0x7A }
        }
        return (2...4).contains(w.count) && w.allSatisfy(\.isLetter)
    }

    /// `Ig0r`, `Sech1n`: a digit between two letters stands for the letter it looks like.
    /// (A code such as `A320` keeps its digits: they are not between letters.)
    private static func undoLeetspeak(_ w: String) -> String {
        let b = w.utf8
        guard b.count >= 3, b.contains(where: { $0 >= 0x30 && $0 <= 0x39 }) else { return w }
        func letter(_ c: UInt8) -> Bool { c >= 0x61 && c <= 0x7A }
        /// The letter a digit looks like, if any.
        func looks(_ c: UInt8) -> UInt8? {
            switch c {
            case 0x30: 0x6F  // 0 o
            case 0x31: 0x69  // 1 i
            case 0x33: 0x65  // 3 e
            case 0x34: 0x61  // 4 a
            case 0x35: 0x73  // 5 s
            case 0x37: 0x74  // 7 t
            case 0x39: 0x67  // 9 g
            default: nil
            }
        }
        // Most words with digits are account or document numbers, with no digit between letters:
        // those are told apart before any copy is made.
        let between = b.withContiguousStorageIfAvailable { p in (1..<(p.count - 1)).contains { letter(p[$0 - 1]) && looks(p[$0]) != nil && letter(p[$0 + 1]) } }
        guard between != false else { return w }
        var out = Array(b)
        // Read where it is written: a digit replaced at i had a letter at i + 1, so no later
        // test reads a byte this loop changed.
        for i in 1..<(out.count - 1) where letter(out[i - 1]) && letter(out[i + 1]) {
            if let l = looks(out[i]) { out[i] = l }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// `1st`, `2nd`, `3rd`, `4th` → their digits.
    private static func ordinalDigits(_ w: String) -> String? {
        // A digit first (or a byte of another script's digit): most words are told apart here.
        guard let first = w.utf8.first, (first >= 0x30 && first <= 0x39) || first >= 0x80 else { return nil }
        for suffix in ["st", "nd", "rd", "th"] where w.hasSuffix(suffix) {
            let digits = w.dropLast(2)
            if !digits.isEmpty, digits.allSatisfy(\.isNumber) { return String(digits) }
        }
        return nil
    }

    /// Runs of number words become one number: `forty four` → `44`, `first` → `1`.
    private static func joinNumberWords(_ words: [String]) -> [String] {
        var out: [String] = []
        var value: Int?
        for w in words {
            if let v = lexicon[w]?.number ?? (value != nil && w.utf8.count == 1 ? Int(w) : nil) {
                if let current = value, current % 10 == 0, current >= 20, v < 10 { value = current + v } else {
                    if let current = value { out.append(String(current)) }
                    value = v
                }
                continue
            }
            if let current = value { out.append(String(current)); value = nil }
            out.append(w)
        }
        if let current = value { out.append(String(current)) }
        return out
    }

    private static func joinLegalPhrases(_ words: [String]) -> [String] {
        // A word of the phrase may be misspelt by one letter (`Joynt Stock Company`), and the
        // name's last word may be cut short (`Joint Stock Compan`: lists truncate long names).
        func fits(_ word: String, _ form: String, last: Bool) -> Bool {
            if word == form { return true }
            let w = word.utf8.count, f = form.utf8.count
            if f >= 5, w >= 4, abs(w - f) <= 1, Similarity.levenshtein(word, form) <= 1 { return true }
            return last && w >= 4 && form.hasPrefix(word)
        }
        // Made when the first phrase is found: most names hold none, and keep their words.
        var out: [String]?
        var i = 0
        outer: while i < words.count {
            // Most words start no phrase: a phrase is tried only where its first letter is (found
            // by the letter: going through all phrases per word retained and released each).
            for p in legalPhrasesByFirstByte[Int(words[i].utf8.first ?? 0)] where i + legalPhrases[p].count <= words.count {
                let phrase = legalPhrases[p]
                let fitsAll = phrase.indices.allSatisfy { k in fits(words[i + k], phrase[k], last: i + k == words.count - 1) }
                // Short words (`sp z o o`) must be exact: one letter there is a different word.
                guard fitsAll, phrase.allSatisfy({ $0.utf8.count >= 4 }) || words[i..<(i + phrase.count)].elementsEqual(phrase) else { continue }
                if out == nil { out = Array(words[..<i]) }
                out!.append(phrase.joined())
                i += phrase.count
                continue outer
            }
            out?.append(words[i])
            i += 1
        }
        return out ?? words
    }

    /// Consonants in sound classes, vowels (and `h`, `w`, `y` between letters) dropped, repeats
    /// collapsed: a key that survives vowel changes and the usual transliteration variants
    /// (`q`/`k`/`g`/`c`, `z`/`s`, `v`/`f`/`ph`, `d`/`t`, `b`/`p`); some letters read otherwise
    /// as `reading` says.
    static func skeleton(_ s: String, _ reading: Reading = []) -> String {
        var s = s
        return s.withUTF8 { b in string(capacity: b.count) { out in skeleton(b, into: out, reading) } }
    }

    /// Letters a skeleton may read otherwise when the vowels of one name are guesses.
    struct Reading: OptionSet {
        let rawValue: UInt8
        /// `w` as the consonant `v`, not a vowel: Hebrew ו and Persian و are either.
        static let wAsV = Reading(rawValue: 1)
        /// `b`, `p`, `f` and `v` as one class: Hebrew writes `b` and `v` with one letter (ב),
        /// `p` and `f` with another (פ).
        static let labials = Reading(rawValue: 2)
    }

    /// Whether the text holds `'s ` or `’s ` (U+2019, bytes E2 80 99).
    static func hasPossessive(_ b: String.UTF8View) -> Bool {
        var last: UInt32 = 0  // the four bytes before the current one, the latest lowest
        for c in b {
            if c == UInt8(ascii: " "), last & 0xFFFF == 0x2773 || last == 0xE280_9973 { return true }  // `'s`, `’s`
            last = last << 8 | UInt32(c)
        }
        return false
    }

    /// Whether `x` is directly followed by `y` somewhere in the bytes.
    static func hasPair(_ b: String.UTF8View, _ x: UInt8, _ y: UInt8) -> Bool {
        zip(b, b.dropFirst()).contains { $0 == x && $1 == y }
    }

    /// Text written byte by byte into a buffer on the stack (at most `capacity` bytes; `write`
    /// returns how many it wrote). Most name tokens then fit in a small string, which needs no
    /// heap allocation at all.
    static func string(capacity: Int, _ write: (UnsafeMutableBufferPointer<UInt8>) -> Int) -> String {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: max(1, capacity)) { buffer in
            String(decoding: UnsafeBufferPointer(rebasing: buffer[0..<write(buffer)]), as: UTF8.self)
        }
    }

    /// The sound class a letter stands for in a skeleton; 0 for vowels, `h`, `w` and `y`.
    @inline(__always)
    static func soundClass(_ c: UInt8, _ reading: Reading) -> UInt8 {
        switch c {
        case UInt8(ascii: "b"), UInt8(ascii: "p"): UInt8(ascii: "p")
        case UInt8(ascii: "c"), UInt8(ascii: "k"), UInt8(ascii: "q"), UInt8(ascii: "g"): UInt8(ascii: "k")
        case UInt8(ascii: "d"), UInt8(ascii: "t"): UInt8(ascii: "t")
        case UInt8(ascii: "f"), UInt8(ascii: "v"): reading.contains(.labials) ? UInt8(ascii: "p") : UInt8(ascii: "f")
        case UInt8(ascii: "w") where reading.contains(.wAsV): reading.contains(.labials) ? UInt8(ascii: "p") : UInt8(ascii: "f")
        case UInt8(ascii: "s"), UInt8(ascii: "z"), UInt8(ascii: "x"): UInt8(ascii: "s")
        case UInt8(ascii: "j"): UInt8(ascii: "j")
        case UInt8(ascii: "l"), UInt8(ascii: "m"), UInt8(ascii: "n"), UInt8(ascii: "r"): c
        case UInt8(ascii: "0")...UInt8(ascii: "9"): c
        default: 0  // vowels, h, w, y
        }
    }

    private static func skeleton(_ b: UnsafeBufferPointer<UInt8>, into out: UnsafeMutableBufferPointer<UInt8>, _ reading: Reading) -> Int {
        let f = reading.contains(.labials) ? UInt8(ascii: "p") : UInt8(ascii: "f")
        var n = 0
        var previous: UInt8 = 0
        var i = 0
        while i < b.count {
            let c = b[i]
            var cls = soundClass(c, reading)
            // Digraphs that are one sound: ph = f, sh/ch = s-like, kh/gh = k.
            if i + 1 < b.count, b[i + 1] == UInt8(ascii: "h") {
                switch c {
                case UInt8(ascii: "p"): cls = f; i += 1
                case UInt8(ascii: "s"), UInt8(ascii: "c"): cls = UInt8(ascii: "s"); i += 1
                case UInt8(ascii: "k"), UInt8(ascii: "g"): cls = UInt8(ascii: "k"); i += 1
                case UInt8(ascii: "t"), UInt8(ascii: "d"): cls = UInt8(ascii: "t"); i += 1
                default: break
                }
            }
            if cls != 0, cls != previous {
                out[n] = cls
                n += 1
            }
            previous = cls
            i += 1
        }
        return n
    }
}
