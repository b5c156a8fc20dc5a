extension StringProtocol {
    /// Without the given characters at either end (Foundation's version needs a `CharacterSet`
    /// and bridges; these trims are of a few ASCII characters).
    func trimmed(_ set: String) -> String {
        let chars = Set(set)
        var s = Substring(self)
        while let f = s.first, chars.contains(f) { s = s.dropFirst() }
        while let l = s.last, chars.contains(l) { s = s.dropLast() }
        return String(s)
    }
}
