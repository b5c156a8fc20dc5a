import CZlib

/// Small byte helpers used on hot paths and in identifiers.

extension BidirectionalCollection where Element == UInt8 {
    /// Without leading and trailing spaces, tabs, carriage returns and newlines (byte-level, so
    /// cheap on hot paths where Foundation's `trimmingCharacters` would bridge through NSString).
    @inlinable
    public func trimmingASCIIWhitespace() -> SubSequence {
        func isSpace(_ b: UInt8) -> Bool { b == 0x20 || b == 0x09 || b == 0x0D || b == 0x0A }
        guard let first = firstIndex(where: { !isSpace($0) }) else { return self[endIndex...] }
        var last = index(before: endIndex)
        while isSpace(self[last]) { last = index(before: last) }
        return self[first...last]
    }
}

extension Sequence where Element == UInt8 {
    /// Lower-case hexadecimal.
    public var hex: String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        for b in self { out.append(digits[Int(b >> 4)]); out.append(digits[Int(b & 0x0f)]) }
        return String(decoding: out, as: UTF8.self)
    }
}

/// FNV-1a, 64-bit: a cheap, stable hash of bytes, for sharding and for telling texts apart
/// before comparing them. Not for tables whose keys an adversary chooses.
public enum FNV1a {
    public static let offsetBasis: UInt64 = 14_695_981_039_346_656_037

    /// Mixes one value into `h`.
    @inlinable public static func step(_ h: UInt64, _ value: UInt64) -> UInt64 { (h ^ value) &* 1_099_511_628_211 }

    @inlinable public static func hash(_ bytes: some Sequence<UInt8>) -> UInt64 {
        // A string's bytes are mostly contiguous: read through a pointer, not the generic
        // sequence (which decoded a text's UTF-8 view byte by byte).
        bytes.withContiguousStorageIfAvailable { $0.reduce(offsetBasis) { step($0, UInt64($1)) } }
            ?? bytes.reduce(offsetBasis) { step($0, UInt64($1)) }
    }
}

/// CRC-32 (zlib's): tells a damaged or cut-short block or file from a good one, at memory speed.
/// Not a defence against anyone who means to change the bytes (signatures are for that).
public enum CRC32 {
    public static func of(_ bytes: [UInt8]) -> UInt32 {
        bytes.withUnsafeBufferPointer { UInt32(crc32(0, $0.baseAddress, uInt($0.count))) }
    }
}
