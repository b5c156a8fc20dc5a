/// String similarities over UTF-8 bytes (names are ASCII once normalised; the few letters left
/// outside it compare as their bytes).
enum Similarity {
    /// Jaro-Winkler similarity in [0, 1]: 1 for equal strings, a bonus for a common prefix of up
    /// to four characters (names differ more often at their ends).
    static func jaroWinkler(_ a: [UInt8], _ b: [UInt8]) -> Double {
        a.withUnsafeBufferPointer { x in b.withUnsafeBufferPointer { y in jaroWinkler(x, y) } }
    }

    static func jaroWinkler(_ a: String, _ b: String) -> Double {
        var (a, b) = (a, b)
        return a.withUTF8 { x in b.withUTF8 { y in jaroWinkler(x, y) } }
    }

    static func jaroWinkler(_ a: UnsafeBufferPointer<UInt8>, _ b: UnsafeBufferPointer<UInt8>) -> Double {
        let j = jaro(a, b)
        guard j > 0.7 else { return j }
        var prefix = 0
        while prefix < min(4, a.count, b.count), a[prefix] == b[prefix] { prefix += 1 }
        return j + Double(prefix) * 0.1 * (1 - j)
    }

    static func jaro(_ a: UnsafeBufferPointer<UInt8>, _ b: UnsafeBufferPointer<UInt8>) -> Double {
        if a.isEmpty || b.isEmpty { return a.isEmpty && b.isEmpty ? 1 : 0 }
        if a.count == b.count, memcmp(a.baseAddress!, b.baseAddress!, a.count) == 0 { return 1 }
        if a.count <= 64, b.count <= 64 { return shortJaro(a, b) }
        return longJaro(a, b)
    }

    /// Jaro for texts of at most 64 bytes (every name token), with bit operations in place of
    /// the inner loop: where each letter occurs in `b` is a mask, so the first unmatched
    /// occurrence within reach of a letter of `a` is one lowest set bit.
    static func shortJaro(_ a: UnsafeBufferPointer<UInt8>, _ b: UnsafeBufferPointer<UInt8>) -> Double {
        let range = max(0, max(a.count, b.count) / 2 - 1)
        // Positions in `b` of each of `a`–`z` (0–25), and of any other byte (26: checked one by one).
        var positions = (UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0),
                         UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0),
                         UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0))
        func letter(_ c: UInt8) -> Int { c &- 97 < 26 ? Int(c &- 97) : 26 }
        return withUnsafeMutableBytes(of: &positions) { raw in
            let at = raw.bindMemory(to: UInt64.self)
            for j in 0..<b.count { at[letter(b[j])] |= 1 << UInt64(j) }
            var matchedA: UInt64 = 0, matchedB: UInt64 = 0
            for i in 0..<a.count {
                let lo = max(0, i - range), hi = min(b.count - 1, i + range)
                guard lo <= hi else { continue }
                // Bits lo...hi.
                let window: UInt64 = (hi == 63 ? ~0 : (1 << UInt64(hi + 1)) - 1) & ~((1 << UInt64(lo)) - 1)
                let k = letter(a[i])
                var open = at[k] & window & ~matchedB
                if k == 26 {
                    while open != 0, b[open.trailingZeroBitCount] != a[i] { open &= open - 1 }
                }
                guard open != 0 else { continue }
                matchedB |= open & (0 &- open)
                matchedA |= 1 << UInt64(i)
            }
            let matches = matchedA.nonzeroBitCount
            guard matches > 0 else { return 0 }
            // Matched letters of each, in order: those that differ are half-transpositions.
            var transpositions = 0
            var x = matchedA, y = matchedB
            while x != 0 {
                if a[x.trailingZeroBitCount] != b[y.trailingZeroBitCount] { transpositions += 1 }
                x &= x - 1
                y &= y - 1
            }
            return score(matches: matches, transpositions: transpositions, a.count, b.count)
        }
    }

    static func score(matches: Int, transpositions: Int, _ a: Int, _ b: Int) -> Double {
        let m = Double(matches)
        return (m / Double(a) + m / Double(b) + (m - Double(transpositions / 2)) / m) / 3
    }

    /// Jaro for texts up to 128 bytes, matched positions in two words.
    static func longJaro(_ a: UnsafeBufferPointer<UInt8>, _ b: UnsafeBufferPointer<UInt8>) -> Double {
        let range = max(0, max(a.count, b.count) / 2 - 1)
        guard a.count <= 128, b.count <= 128 else { return a.elementsEqual(b) ? 1 : 0 }
        var matchedB = (UInt64(0), UInt64(0))
        var matchedA = (UInt64(0), UInt64(0))
        func isSet(_ m: (UInt64, UInt64), _ i: Int) -> Bool { i < 64 ? m.0 & (1 << UInt64(i)) != 0 : m.1 & (1 << UInt64(i - 64)) != 0 }
        func set(_ m: inout (UInt64, UInt64), _ i: Int) { if i < 64 { m.0 |= 1 << UInt64(i) } else { m.1 |= 1 << UInt64(i - 64) } }
        var matches = 0
        for i in 0..<a.count {
            let lo = max(0, i - range), hi = min(b.count - 1, i + range)
            guard lo <= hi else { continue }
            for j in lo...hi where !isSet(matchedB, j) && a[i] == b[j] {
                set(&matchedB, j)
                set(&matchedA, i)
                matches += 1
                break
            }
        }
        guard matches > 0 else { return 0 }
        var transpositions = 0, k = 0
        for i in 0..<a.count where isSet(matchedA, i) {
            while !isSet(matchedB, k) { k += 1 }
            if a[i] != b[k] { transpositions += 1 }
            k += 1
        }
        return score(matches: matches, transpositions: transpositions, a.count, b.count)
    }

    /// Whether two texts are one edit apart (a byte inserted, deleted or substituted): in one
    /// pass, where ``levenshtein(_:_:)`` fills a table of both lengths multiplied.
    static func oneEditApart(_ x: String, _ y: String) -> Bool {
        var (x, y) = (x, y)
        return x.withUTF8 { a in y.withUTF8 { b in
            let (short, long) = a.count <= b.count ? (a, b) : (b, a)
            guard long.count - short.count <= 1 else { return false }
            var i = 0
            while i < short.count, short[i] == long[i] { i += 1 }
            if i == short.count { return long.count == short.count + 1 }
            // The first difference: substituted (same lengths) or inserted in the longer.
            let skip = long.count == short.count ? 1 : 0
            return short[(i + skip)...].elementsEqual(long[(i + 1)...])
        } }
    }

    /// Levenshtein distance (insertions, deletions, substitutions), for the explanation of a
    /// token pair and for short tokens, where Jaro-Winkler is too generous.
    static func levenshtein(_ x: [UInt8], _ y: [UInt8]) -> Int {
        x.withUnsafeBufferPointer { a in y.withUnsafeBufferPointer { b in levenshtein(a, b) } }
    }

    static func levenshtein(_ x: String, _ y: String) -> Int {
        var (x, y) = (x, y)
        return x.withUTF8 { a in y.withUTF8 { b in levenshtein(a, b) } }
    }

    static func levenshtein(_ x: UnsafeBufferPointer<UInt8>, _ y: UnsafeBufferPointer<UInt8>) -> Int {
        if x.isEmpty { return y.count }
        if y.isEmpty { return x.count }
        // One row of the table, on the stack.
        return withUnsafeTemporaryAllocation(of: Int.self, capacity: y.count + 1) { row in
            for j in 0...y.count { row[j] = j }
            for i in 1...x.count {
                var diagonal = row[0]
                row[0] = i
                for j in 1...y.count {
                    let above = row[j]
                    row[j] = min(row[j] + 1, row[j - 1] + 1, diagonal + (x[i - 1] == y[j - 1] ? 0 : 1))
                    diagonal = above
                }
            }
            return row[y.count]
        }
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
