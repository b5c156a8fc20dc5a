import Foundation

/// Greek names in Latin letters as Greek passports and documents write them: ELOT 743 (the
/// UN's romanization of Modern Greek), where ICU transliterates Ancient Greek — `η` as `ē`,
/// which loses its mark here (`Αλέξης Τσίπρας` was `Alexes`, the passport's `Alexis`;
/// `Μητσοτάκης` `Metsotakes`, not `Mitsotakis`), and `αυ`, `ευ` as `au`, `eu`.
///
/// `η`, `ι`, `υ`, `ει`, `οι` are said `i` and `η` is written `i`, `υ` `y`; `ου` is `ou`; `αυ`, `ευ`,
/// `ηυ` are `av`, `ev`, `iv` before a vowel or a voiced consonant and `af`, `ef`, `if` before a
/// voiceless one or at a word's end (`Ευάγγελος` `Evangelos`, `Ευθύμιος` `Efthymios`); `γγ`, `γξ`,
/// `γχ` are `ng`, `nx`, `nch`; `β` `v`, `χ` `ch`, `θ` `th`, `φ` `f`, `ψ` `ps`, `ω` `o`. A diaeresis
/// keeps two vowels apart (`Αϊδίνης` `Aidinis`, not a digraph). `μπ`, `ντ` and `γκ` stay `mp`,
/// `nt`, `gk`, as the passports write them.
enum Greek {
    /// The Greek and Coptic block, and Greek Extended (polytonic letters).
    static let scalars: ClosedRange<UInt32> = 0x0370...0x03FF, extended: ClosedRange<UInt32> = 0x1F00...0x1FFF
    static func isGreek(_ u: Unicode.Scalar) -> Bool { scalars.contains(u.value) || extended.contains(u.value) }

    /// `s` with its Greek letters in Latin ones (lower case), everything else as it was.
    static func transliterate(_ s: String) -> String {
        // Letters apart from their marks; a diaeresis is remembered on its letter, the other
        // marks (accents, breathings, iota subscript) are dropped.
        var letters: [(letter: Unicode.Scalar, diaeresis: Bool)] = []
        for u in s.lowercased().decomposedStringWithCanonicalMapping.unicodeScalars {
            switch u.value {
            case 0x0308: if !letters.isEmpty { letters[letters.count - 1].diaeresis = true }
            case 0x0300...0x036F: continue
            default: letters.append((u, false))
            }
        }
        func at(_ i: Int) -> Unicode.Scalar? { i >= 0 && i < letters.count ? letters[i].letter : nil }
        var out = ""
        var i = 0
        while i < letters.count {
            let c = letters[i].letter, next = at(i + 1), nextApart = i + 1 < letters.count && letters[i + 1].diaeresis
            guard isGreek(c) else {
                out.unicodeScalars.append(c)
                i += 1
                continue
            }
            // Two letters read as one.
            if let next, !nextApart {
                switch (c, next) {
                case ("ο", "υ"): out += "ou"; i += 2; continue
                case ("α", "ι"): out += "ai"; i += 2; continue
                case ("ε", "ι"): out += "ei"; i += 2; continue
                case ("ο", "ι"): out += "oi"; i += 2; continue
                case ("υ", "ι"): out += "yi"; i += 2; continue
                case ("α", "υ"), ("ε", "υ"), ("η", "υ"):
                    let voiceless = at(i + 2).map { !isGreek($0) || Self.voiceless.contains($0) } ?? true
                    out += (c == "α" ? "a" : c == "ε" ? "e" : "i") + (voiceless ? "f" : "v")
                    i += 2
                    continue
                case ("γ", "γ"): out += "ng"; i += 2; continue
                case ("γ", "ξ"): out += "nx"; i += 2; continue
                case ("γ", "χ"): out += "nch"; i += 2; continue
                default: break
                }
            }
            out += Self.letters[c] ?? ""
            i += 1
        }
        return out
    }

    private static let voiceless: Set<Unicode.Scalar> = ["θ", "κ", "ξ", "π", "σ", "ς", "τ", "φ", "χ", "ψ"]

    private static let letters: [Unicode.Scalar: String] = [
        "α": "a", "β": "v", "γ": "g", "δ": "d", "ε": "e", "ζ": "z", "η": "i", "θ": "th", "ι": "i", "κ": "k", "λ": "l", "μ": "m",
        "ν": "n", "ξ": "x", "ο": "o", "π": "p", "ρ": "r", "σ": "s", "ς": "s", "τ": "t", "υ": "y", "φ": "f", "χ": "ch", "ψ": "ps",
        "ω": "o", "ϐ": "v", "ϑ": "th", "ϕ": "f", "ϲ": "s", "ϝ": "w", "ϙ": "q", "ϟ": "q", "ϛ": "st", "ϡ": "ss", "ϳ": "j",
    ]
}
