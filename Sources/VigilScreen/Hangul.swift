import Foundation

/// Korean names written in Hangul, brought to the spellings lists use.
///
/// ICU romanizes Hangul by the Revised Romanization, syllable after syllable, as one word when
/// the name is written without spaces (as Korean names are): 김정은 becomes `gimjeong-eun`, where
/// lists have `Kim Jong Un`. Three conventions close most of that gap:
/// - a Korean name is a surname of one syllable (a few of two) followed by the given name, so
///   a word of two to four syllables that starts with a known surname is split after it;
/// - surnames have conventional spellings that no romanization system produces (김 Kim, 박 Park,
///   이 Lee, 최 Choi; the North's 리 Ri, 로 Ro): those are used;
/// - in given names, the vowels `eo` and `eu` are written `o` and `u` by the older
///   McCune–Reischauer system and in most names on lists (정은 `jeongeun` → `jongun`).
enum Hangul {
    /// Conventional spellings of the common surnames (two-syllable ones included).
    static let surnames: [String: String] = [
        "김": "kim", "이": "lee", "리": "ri", "박": "park", "최": "choi", "정": "jung", "강": "kang", "조": "cho",
        "윤": "yoon", "장": "jang", "임": "lim", "림": "rim", "한": "han", "오": "oh", "서": "seo", "신": "shin",
        "권": "kwon", "황": "hwang", "안": "ahn", "송": "song", "류": "ryu", "유": "yoo", "전": "jeon", "홍": "hong",
        "고": "ko", "문": "moon", "양": "yang", "손": "son", "배": "bae", "백": "baek", "허": "heo", "남": "nam",
        "심": "shim", "노": "noh", "로": "ro", "하": "ha", "곽": "kwak", "성": "sung", "차": "cha", "주": "joo",
        "우": "woo", "구": "koo", "민": "min", "진": "jin", "나": "na", "지": "ji", "엄": "um", "채": "chae",
        "원": "won", "천": "chun", "방": "bang", "공": "kong", "현": "hyun", "함": "ham", "변": "byun", "염": "yeom",
        "여": "yeo", "추": "choo", "도": "do", "소": "so", "석": "seok", "선": "sun", "설": "seol", "마": "ma",
        "길": "gil", "연": "yeon", "위": "wi", "표": "pyo", "명": "myung", "기": "ki", "반": "ban", "왕": "wang",
        "금": "keum", "옥": "ok", "육": "yook", "인": "in", "맹": "maeng", "제": "je", "모": "mo", "탁": "tak",
        "국": "kook", "편": "pyun", "용": "yong",
        "남궁": "namgung", "황보": "hwangbo", "제갈": "jegal", "선우": "sunwoo", "독고": "dokgo", "사공": "sagong",
        "서문": "seomun",
    ]

    static func isSyllable(_ u: Unicode.Scalar) -> Bool { (0xAC00...0xD7A3).contains(u.value) }

    /// `s` with its runs of Hangul syllables in Latin letters (lower case), everything else as it
    /// was. A run that starts the name is a whole name (its surname split off); a later one is a
    /// given name (`김 정은`: 정 is a surname too, but not here).
    static func romanize(_ s: String) -> String {
        var out = "", run = ""
        func flush() {
            if !run.isEmpty {
                out += isLoanword(run) ? loanword(run) : out.allSatisfy(\.isWhitespace) ? name(run) : givenName(run)
            }
            run = ""
        }
        for ch in s {
            if ch.unicodeScalars.allSatisfy(isSyllable) { run.append(ch) } else {
                flush()
                out.append(ch)
            }
        }
        flush()
        return out
    }

    /// Revised Romanization's letters for the parts of a syllable (Unicode orders the syllables
    /// by initial, vowel and final): the initial consonants, the vowels, and the finals as a
    /// name's last sound is said.
    private static let initialLetters = ["g", "kk", "n", "d", "tt", "r", "m", "b", "pp", "s", "ss", "", "j", "jj", "ch", "k", "t", "p", "h"]
    private static let vowelLetters = ["a", "ae", "ya", "yae", "eo", "e", "yeo", "ye", "o", "wa", "wae", "oe", "yo", "u", "wo", "we", "wi",
                                       "yu", "eu", "ui", "i"]
    private static let finalLetters = ["", "k", "k", "k", "n", "n", "n", "t", "l", "k", "m", "l", "l", "l", "p", "l", "m", "p", "p", "t", "t",
                                       "ng", "t", "t", "k", "t", "p", "t"]
    /// Indexes in those tables: the initials ㄹ, ㅇ (none) and ㅊ, the vowels ㅡ and ㅣ, the final ㄹ.
    private static let initialR = 5, initialNone = 11, initialCh = 14, vowelEu = 18, vowelI = 20, finalL = 8

    /// A syllable's initial, vowel and final, as indexes into the tables above.
    private static func parts(_ syllable: Unicode.Scalar) -> (initial: Int, vowel: Int, final: Int) {
        let i = Int(syllable.value - 0xAC00)
        return (i / 588, i % 588 / 28, i % 28)
    }

    /// Whether a word of Hangul is a foreign name written as Korean writes loanwords. Korean
    /// cannot end a syllable on most consonants or start one with two, so a foreign name's
    /// consonants without a vowel get ㅡ as a vowel of their own: a syllable of a consonant and ㅡ
    /// alone (드, 르, 트, 프: 트럼프 for Trump), or, for a cluster with `l`, ㅡ and a final ㄹ before
    /// a ㄹ (블라디미르 for Vladimir, 플로리다). Korean names almost never have either.
    static func isLoanword(_ word: String) -> Bool {
        let syllables = word.unicodeScalars.filter(isSyllable).map(parts)
        return syllables.indices.contains { i in
            let p = syllables[i]
            guard p.vowel == vowelEu, p.initial != initialNone else { return false }
            return p.final == 0 || (p.final == finalL && i + 1 < syllables.count && syllables[i + 1].initial == initialR)
        }
    }

    /// A loanword's letters: a consonant's own ㅡ left out (르 `r`, 블라 `bla`), a last 치 read
    /// `ch` (비치 `bich`), `eo` written `o` (도널드 `donold`, 트럼프 `tromp`): close enough to the
    /// Latin spelling for the matcher's comparisons.
    static func loanword(_ word: String) -> String {
        var out = ""
        var afterL = false
        let scalars = Array(word.unicodeScalars)
        for (n, u) in scalars.enumerated() {
            guard isSyllable(u) else {
                out.unicodeScalars.append(u)
                afterL = false
                continue
            }
            let p = parts(u)
            // ㄹ ending one syllable and starting the next is one `l`.
            if !(afterL && p.initial == initialR) { out += initialLetters[p.initial] }
            let last = n == scalars.count - 1 || !isSyllable(scalars[n + 1])
            let silent = p.initial != initialNone && ((p.vowel == vowelEu && (p.final == 0 || p.final == finalL))
                || (last && p.initial == initialCh && p.vowel == vowelI && p.final == 0))
            if !silent { out += vowelLetters[p.vowel] == "eo" ? "o" : vowelLetters[p.vowel] }
            out += finalLetters[p.final]
            afterL = p.final == finalL
        }
        return out
    }

    /// One word of Hangul syllables as a Korean name: its surname apart in its usual spelling,
    /// then the given name.
    static func name(_ word: String) -> String {
        let syllables = word.map(String.init)
        for length in [2, 1] where syllables.count >= length {
            let head = syllables[0..<length].joined()
            // A name of more than four syllables is not one name: romanized as it is.
            guard let surname = surnames[head], syllables.count <= 4 else { continue }
            let given = syllables[length...].joined()
            return given.isEmpty ? surname : surname + " " + givenName(given)
        }
        return givenName(word)
    }

    /// A given name (or any other Hangul word) romanized by ICU, its syllables joined and `eo`,
    /// `eu` written `o`, `u`.
    static func givenName(_ word: String) -> String {
        let revised = (word.applyingTransform(.toLatin, reverse: false) ?? word).lowercased()
        return revised.filter { $0 != "-" && $0 != "'" && $0 != "\u{2019}" }
            .replacingOccurrences(of: "eo", with: "o").replacingOccurrences(of: "eu", with: "u")
    }
}

/// Korean names already in Latin letters, as lists write them (`KIM Yong Chol`, `Yong-Chol KIM`,
/// `Kim Young-cheol`), which the matcher treats in two ways of their own when both names are
/// Korean:
/// - the North writes by McCune–Reischauer, the South by the Revised Romanization, and lists mix
///   in older spellings: `Pom`/`Bom`, `Chin`/`Jin`, `Chol`/`Cheol`, `Yong`/`Young`, `Chang`/`Jang`.
///   Two tokens that are one spelling once voiced initials are read voiceless (`b` `p`, `d` `t`,
///   `g` `k`, `j` `ch`) and `eo`, `ou` as `o`, `eu`, `oo` as `u` (``fold(_:)``) pair;
/// - a Korean name has no middle names: its given name is one name of (mostly) two syllables,
///   often written as two words, so `Chol Kim` is not `Yong Chol Kim` with a name left out, but
///   another person (on the OFAC list a dozen different Kims matched `Chol KIM` so). A syllable
///   only one name has counts in full.
///
/// A name is Korean when one end is a Korean surname and every word reads as one to three
/// syllables of Korean shape (an initial consonant or none, a vowel, a final consonant or none).
extension Hangul {
    static let latinSurnames: Set<String> = Set(surnames.values).union([
        "pak", "bak", "choe", "chong", "jong", "chon", "ri", "yi", "rim", "yun", "o", "mun", "paek", "pae", "sin", "ju", "chu",
        "hyon", "kye", "an", "ryang", "thae", "tae", "sok", "chang", "jo", "kil", "gim", "ku", "ho", "ryom", "pyon",
    ])

    static func isKoreanName(_ tokens: [NormalizedName.Token]) -> Bool {
        guard (2...4).contains(tokens.count), latinSurnames.contains(tokens[0].text) || latinSurnames.contains(tokens[tokens.count - 1].text)
        else { return false }
        return tokens.allSatisfy { $0.role == .name && $0.text.utf8.count <= 12 && readsAsSyllables(Array($0.text.utf8)[...], left: 3) }
    }

    private static let initials: [[UInt8]] = ["", "k", "g", "kk", "n", "d", "t", "tt", "r", "l", "m", "b", "p", "pp", "s", "ss", "sh", "j", "jj", "ch",
                                              "tch", "h", "ts"].map { Array($0.utf8) }
    private static let vowels: [[UInt8]] = ["a", "e", "i", "o", "u", "ae", "eo", "eu", "oe", "ui", "ou", "oo", "ya", "yae", "yeo", "yo", "yu", "ye",
                                            "yoo", "you", "wa", "wae", "wo", "we", "wi", "weo"].map { Array($0.utf8) }
    private static let finals: [[UInt8]] = ["", "k", "n", "l", "m", "p", "ng", "t", "g", "r", "b"].map { Array($0.utf8) }

    /// Whether `w` reads as at most `left` syllables of Korean shape: an initial consonant (or
    /// none), a vowel, a final consonant (or none), each tried in every reading that fits.
    private static func readsAsSyllables(_ w: ArraySlice<UInt8>, left: Int) -> Bool {
        if w.isEmpty { return true }
        guard left > 0 else { return false }
        for i in initials where w.starts(with: i) {
            let afterInitial = w.dropFirst(i.count)
            for v in vowels where afterInitial.starts(with: v) {
                let afterVowel = afterInitial.dropFirst(v.count)
                for f in finals where afterVowel.starts(with: f) {
                    if readsAsSyllables(afterVowel.dropFirst(f.count), left: left - 1) { return true }
                }
            }
        }
        return false
    }

    /// `eo`, `ou`, `eu`, `oo` as `o`, `o`, `u`, `u`, replaced in this order.
    private static let vowelPairs: [(UInt8, UInt8, UInt8)] = [("eo", "o"), ("ou", "o"), ("eu", "u"), ("oo", "u")].map { pair, one in
        (pair.utf8.first!, pair.utf8.last!, one.utf8.first!)
    }

    /// A Korean given name or surname with the romanizations' differences folded (see above):
    /// `eo`, `ou`, `eu`, `oo` replaced in that order, then `b`, `d`, `g` (not after `n`), `j` as
    /// `p`, `t`, `k`, `ch`. By bytes: the query's Korean units are folded at every screening, and
    /// Foundation's four replacements and a loop over characters were 1.5 % of it. (Only the
    /// Latin letters of a name Korean in shape come here, so no combining mark can make a
    /// letter's bytes mean another character.)
    static func fold(_ s: String) -> String {
        var b = Array(s.utf8)
        for (x, y, one) in vowelPairs {
            var n = 0, i = 0
            while i < b.count {
                if i + 1 < b.count, b[i] == x, b[i + 1] == y { b[n] = one; i += 2 } else { b[n] = b[i]; i += 1 }
                n += 1
            }
            b.removeLast(b.count - n)
        }
        var out: [UInt8] = []
        out.reserveCapacity(b.count + 2)
        var previous = UInt8(ascii: " ")
        for c in b {
            switch c {
            case UInt8(ascii: "b"): out.append(UInt8(ascii: "p"))
            case UInt8(ascii: "d"): out.append(UInt8(ascii: "t"))
            case UInt8(ascii: "g") where previous != UInt8(ascii: "n"): out.append(UInt8(ascii: "k"))
            case UInt8(ascii: "j"): out.append(UInt8(ascii: "c")); out.append(UInt8(ascii: "h"))
            default: out.append(c)
            }
            previous = c
        }
        return String(decoding: out, as: UTF8.self)
    }
}
