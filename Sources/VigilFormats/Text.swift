import VigilCore

extension StringProtocol {
    /// Lines ended by `\n` or `\r\n`. A String holds `\r\n` as one Character, which is not
    /// "\n", so splitting at "\n" alone leaves a CRLF text (SWIFT FIN's own line ending) whole.
    ///
    /// Found in the UTF-8 bytes: a `\n` is always a Character boundary, and splitting by
    /// Character (grapheme breaking at every byte) was a quarter of decoding an MT103.
    package func lines(omittingEmpty: Bool = false) -> [SubSequence] {
        // The lines as ``UnsafeBufferPointer/forEachLine(_:)`` finds them in the bytes, then
        // turned into this text's indices, moving forward only.
        var ranges: [Range<Int>] = []
        let u = utf8
        if u.withContiguousStorageIfAvailable({ $0.forEachLine { ranges.append($0.startIndex ..< $0.endIndex) } }) == nil {
            Array(u).withUnsafeBufferPointer { $0.forEachLine { ranges.append($0.startIndex ..< $0.endIndex) } }
        }
        var out: [SubSequence] = []
        var index = u.startIndex, offset = 0
        func advance(to target: Int) -> String.Index {
            index = u.index(index, offsetBy: target - offset)
            offset = target
            return index
        }
        for r in ranges where !(omittingEmpty && r.isEmpty) {
            let start = advance(to: r.lowerBound)
            out.append(self[start ..< advance(to: r.upperBound)])
        }
        return out
    }

    /// Without the given ASCII characters at either end (Foundation's version needs a
    /// `CharacterSet` and bridges; decoders trim a few ASCII characters on hot paths).
    package func trimmed(_ set: StaticString) -> String {
        String(decoding: Substring(self).utf8.trimming(set), as: UTF8.self)
    }
}

extension UnsafeBufferPointer<UInt8> {
    /// Each line, ended by `\n` or `\r\n`, without its ending; the text after the last `\n`
    /// too, if empty (the lines ``StringProtocol/lines(omittingEmpty:)`` gives, as bytes).
    package func forEachLine<E: Error>(_ body: (Slice<Self>) throws(E) -> Void) throws(E) {
        var start = 0
        while start <= count {
            let newline = self[start...].firstIndex(of: 0x0A) ?? count
            let end = newline < count && newline > start && self[newline - 1] == 0x0D ? newline - 1 : newline
            try body(self[start ..< end])
            start = newline + 1
        }
    }
}

extension BidirectionalCollection<UInt8> {
    /// Without the given ASCII characters at either end.
    package func trimming(_ set: StaticString) -> SubSequence {
        let chars = UnsafeBufferPointer(start: set.utf8Start, count: set.utf8CodeUnitCount)
        var start = startIndex, end = endIndex
        while start < end, chars.contains(self[start]) { formIndex(after: &start) }
        while start < end, chars.contains(self[index(before: end)]) { formIndex(before: &end) }
        return self[start ..< end]
    }
}

extension [UInt8] {
    /// Where `pattern` (ASCII) next begins at or after `from`. A plain loop on purpose: the
    /// standard library's generic `firstRange(of:)` and `replace(_:with:)` spend most of their
    /// time looking up generic metadata, which showed as half of PNRGOV decoding.
    package func firstIndex(of pattern: StaticString, from: Int = 0) -> Int? {
        let p = UnsafeBufferPointer(start: pattern.utf8Start, count: pattern.utf8CodeUnitCount)
        guard let first = p.first else { return from }
        var i = Swift.max(from, 0)
        while i + p.count <= count {
            if self[i] == first {
                var k = 1
                while k < p.count, self[i + k] == p[k] { k += 1 }
                if k == p.count { return i }
            }
            i += 1
        }
        return nil
    }

    /// Every occurrence of `pattern` (ASCII), left to right and not overlapping, replaced by `byte`.
    func replacing(_ pattern: StaticString, with byte: UInt8) -> [UInt8] {
        guard var next = firstIndex(of: pattern) else { return self }
        var out: [UInt8] = []
        out.reserveCapacity(count)
        var i = 0
        while true {
            out.append(contentsOf: self[i ..< next])
            out.append(byte)
            i = next + pattern.utf8CodeUnitCount
            guard let n = firstIndex(of: pattern, from: i) else { break }
            next = n
        }
        out.append(contentsOf: self[i...])
        return out
    }
}

extension String {
    /// Bytes read as ISO 8859-1: each byte the code point of the same number. EDIFACT's UNOC
    /// and exports that are not UTF-8 are read so (banks' and Windows tools' code pages agree
    /// with it on letters).
    package init<Bytes: Sequence<UInt8>>(latin1 bytes: Bytes) {
        self = String(String.UnicodeScalarView(bytes.map { Unicode.Scalar($0) }))
    }
}

extension Party {
    /// The account of a counterparty a message does not identify (cash, fees, batch bookings
    /// on a statement; an institution transfer naming no ordering bank): the canonical event
    /// requires an account.
    static let unidentified = "UNIDENTIFIED"
}
