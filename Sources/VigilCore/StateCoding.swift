/// A plain binary form for snapshots of learnt state (anomaly baselines and sketches): fixed-width
/// little-endian numbers, doubles by their bit patterns (so a value reads back exactly, and a
/// restored detector scores as the one that wrote it), texts and arrays after their lengths.
///
/// The form carries no field names: each type writes and reads its fields in one order, in one
/// place (its `write(to:)` and `read(from:)`), and a snapshot file says which version of the
/// form it holds (``StateSnapshot``).
public struct StateWriter {
    public private(set) var bytes: [UInt8] = []

    public init() {}

    public mutating func write(_ v: UInt64) {
        withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) }
    }

    public mutating func write(_ v: Int64) { write(UInt64(bitPattern: v)) }
    public mutating func write(_ v: Int) { write(Int64(v)) }
    public mutating func write(_ v: Double) { write(v.bitPattern) }
    public mutating func write(_ v: Bool) { bytes.append(v ? 1 : 0) }

    public mutating func write(_ v: Double?) {
        write(v != nil)
        if let v { write(v) }
    }

    public mutating func write(_ s: String) { write(bytes: Array(s.utf8)) }

    public mutating func write(bytes b: [UInt8]) {
        write(b.count)
        bytes.append(contentsOf: b)
    }

    public mutating func write(_ values: [Double]) {
        write(values.count)
        for v in values { write(v) }
    }
}

/// Reads what ``StateWriter`` wrote, in the same order. Every read checks that the bytes are
/// there and lengths are plausible, so a damaged file is an error, not a crash.
public struct StateReader {
    private let data: [UInt8]
    public private(set) var position = 0

    public init(_ bytes: [UInt8]) { data = bytes }

    public var isAtEnd: Bool { position == data.count }

    public mutating func uint64() throws(StateError) -> UInt64 {
        guard data.count - position >= 8 else { throw StateError("ends early at byte \(position)") }
        var v: UInt64 = 0
        for i in 0..<8 { v |= UInt64(data[position + i]) << (8 * UInt64(i)) }
        position += 8
        return v
    }

    public mutating func int64() throws(StateError) -> Int64 { Int64(bitPattern: try uint64()) }
    public mutating func int() throws(StateError) -> Int { Int(try int64()) }
    public mutating func double() throws(StateError) -> Double { Double(bitPattern: try uint64()) }

    public mutating func bool() throws(StateError) -> Bool {
        guard position < data.count else { throw StateError("ends early at byte \(position)") }
        defer { position += 1 }
        switch data[position] {
        case 0: return false
        case 1: return true
        default: throw StateError("byte \(position) should be 0 or 1, is \(data[position])")
        }
    }

    public mutating func optionalDouble() throws(StateError) -> Double? { try bool() ? try double() : nil }

    /// A count of things of at least `size` bytes each that follow: no more than the bytes left
    /// can hold, so a damaged count cannot make a reader allocate without bound.
    public mutating func count(ofAtLeast size: Int) throws(StateError) -> Int {
        let at = position
        let n = try int()
        guard n >= 0, n <= (data.count - position) / max(1, size) else {
            throw StateError("count \(n) at byte \(at) does not fit in the \(data.count - position) bytes left")
        }
        return n
    }

    public mutating func bytes() throws(StateError) -> [UInt8] {
        let n = try count(ofAtLeast: 1)
        defer { position += n }
        return Array(data[position..<position + n])
    }

    public mutating func string() throws(StateError) -> String {
        let at = position
        guard let s = String(validating: try bytes(), as: UTF8.self) else { throw StateError("text at byte \(at) is not UTF-8") }
        return s
    }

    public mutating func doubles() throws(StateError) -> [Double] {
        let n = try count(ofAtLeast: 8)
        var out: [Double] = []
        out.reserveCapacity(n)
        for _ in 0..<n { out.append(try double()) }
        return out
    }
}

/// Why state could not be read back.
public struct StateError: Error, Sendable, Equatable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
