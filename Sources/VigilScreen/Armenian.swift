/// Armenian names in Latin letters as lists and passports spell them (Նիկոլ Փաշինյան `Nikol
/// Pashinyan`, Ռոբերտ Քոչարյան `Robert Kocharyan`), where ICU writes the scientific
/// transliteration, whose letters lose their marks here (`Pʻašinyan` → `pasinyan`, `Kʻočʻaryan` →
/// `kocaryan`): `շ` `sh`, `չ` and `ճ` `ch`, `ժ` `zh`, `խ` `kh`, `ղ` `gh`, `ց` and `ծ` `ts`, `ջ` `j`,
/// `ու` `u`, `և` `ev`, and `ե` `ye` and `ո` `vo` at a word's start (Երևան `Yerevan`).
enum Armenian {
    /// The Armenian block.
    static let scalars: ClosedRange<UInt32> = 0x0530...0x058F

    /// `s` with its Armenian letters in Latin ones (lower case), everything else as it was.
    static func transliterate(_ s: String) -> String {
        let u = Array(s.lowercased().unicodeScalars)
        var out = ""
        var i = 0
        while i < u.count {
            let c = u[i]
            guard scalars.contains(c.value) else {
                out.unicodeScalars.append(c)
                i += 1
                continue
            }
            let wordStart = i == 0 || !scalars.contains(u[i - 1].value)
            if c == "ո", i + 1 < u.count, u[i + 1] == "ւ" {
                out += "u"
                i += 2
                continue
            }
            switch c {
            case "ե" where wordStart: out += "ye"
            case "ո" where wordStart: out += "vo"
            case "և" where wordStart: out += "yev"
            default: out += letters[c] ?? ""
            }
            i += 1
        }
        return out
    }

    private static let letters: [Unicode.Scalar: String] = [
        "ա": "a", "բ": "b", "գ": "g", "դ": "d", "ե": "e", "զ": "z", "է": "e", "ը": "y", "թ": "t", "ժ": "zh", "ի": "i", "լ": "l",
        "խ": "kh", "ծ": "ts", "կ": "k", "հ": "h", "ձ": "dz", "ղ": "gh", "ճ": "ch", "մ": "m", "յ": "y", "ն": "n", "շ": "sh",
        "ո": "o", "չ": "ch", "պ": "p", "ջ": "j", "ռ": "r", "ս": "s", "վ": "v", "տ": "t", "ր": "r", "ց": "ts", "ւ": "v", "փ": "p",
        "ք": "k", "օ": "o", "ֆ": "f", "և": "ev",
    ]
}
