import Foundation

extension Decimal {
    /// Exact three-way comparison (-1, 0, 1) of two amounts, for rule conditions evaluated on every
    /// event. Foundation's `<` and `==` normalise both operands in a general routine, which cost
    /// a fifth of rule evaluation; amounts and thresholds almost always have at most 16 significant
    /// digits, so they are compared here as integers after scaling to a common exponent. Anything
    /// else (NaN, wider mantissas, a scale that would overflow) goes to Foundation.
    public static func order(_ a: Decimal, _ b: Decimal) -> Int {
        if let x = a.smallParts, let y = b.smallParts, let order = signedOrder(x, y, magnitudes: compareMagnitudes(x, y)) { return order }
        return a < b ? -1 : a == b ? 0 : 1
    }

    /// The order of two values from their signs and the order of their magnitudes (`nil` when
    /// that is unknown and the signs do not decide).
    fileprivate static func signedOrder(_ x: SmallParts, _ y: SmallParts, magnitudes: Int?) -> Int? {
        if x.negative != y.negative {
            if x.mantissa == 0 && y.mantissa == 0 { return 0 }
            return x.negative ? -1 : 1
        }
        return magnitudes.map { x.negative ? -$0 : $0 }
    }

    fileprivate struct SmallParts {
        var mantissa: UInt64
        var exponent: Int
        var negative: Bool
    }

    /// The mantissa, when it fits in 64 bits (four 16-bit words) and the value is a number.
    ///
    /// Read from the value's bytes, because swift-foundation keeps those fields internal on
    /// Linux. Its layout: byte 0 the exponent; byte 1 the length in 16-bit words (high four
    /// bits), then the negative flag (bit 3) and the compact flag (bit 2); two reserved bytes;
    /// eight 16-bit mantissa words, least significant first. ``layoutConfirmed`` checks that
    /// once against known values; where it differs (Darwin packs the byte the other way round),
    /// every comparison goes to Foundation.
    fileprivate var smallParts: SmallParts? {
        guard Self.layoutConfirmed else { return nil }
        return partsAssumingLayout
    }

    /// ``smallParts`` where ``layoutConfirmed`` is known to hold.
    fileprivate var partsAssumingLayout: SmallParts? {
        withUnsafeBytes(of: self) { raw -> SmallParts? in
            let flags = raw.load(fromByteOffset: 1, as: UInt8.self)
            let length = flags >> 4
            // Length 0 with the negative flag is NaN.
            guard length <= 4, !(length == 0 && flags & 0x08 != 0) else { return nil }
            // The four low words, least significant first: one load (``layoutConfirmed`` holds
            // on little-endian machines only).
            let mantissa = UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 4, as: UInt64.self))
            return SmallParts(mantissa: mantissa, exponent: Int(raw.load(fromByteOffset: 0, as: Int8.self)), negative: flags & 0x08 != 0)
        }
    }

    /// Whether the bytes of a few values read as ``smallParts`` expects (see there).
    private static let layoutConfirmed: Bool = {
        // Little-endian only: ``smallParts`` reads the mantissa's four words as one word.
        guard MemoryLayout<Decimal>.size == 20, UInt16(littleEndian: 1) == 1 else { return false }
        let samples: [(Decimal, UInt64, Int, Bool)] = [
            (Decimal(sign: .minus, exponent: -2, significand: Decimal(1_234_567)), 1_234_567, -2, true),
            (Decimal(sign: .plus, exponent: 3, significand: Decimal(UInt64(0xABCD_1234_5678_9))), 0xABCD_1234_5678_9, 3, false),
        ]
        for (value, mantissa, exponent, negative) in samples {
            let ok = withUnsafeBytes(of: value) { raw -> Bool in
                var m: UInt64 = 0
                for word in 0..<4 { m |= UInt64(raw.load(fromByteOffset: 4 + 2 * word, as: UInt16.self)) << (16 * word) }
                let flags = raw.load(fromByteOffset: 1, as: UInt8.self)
                return m == mantissa && Int(raw.load(fromByteOffset: 0, as: Int8.self)) == exponent && (flags & 0x08 != 0) == negative
                    && Int(flags >> 4) == (64 - mantissa.leadingZeroBitCount + 15) / 16 && value.exponent == exponent
            }
            if !ok { return false }
        }
        return true
    }()

    fileprivate static let powersOfTen: [UInt64] = (0...19).map { n in (0..<n).reduce(1) { r, _ in r * 10 } }

    /// `m × 10^n` (n ≥ 0), when it fits in 64 bits: a mantissa at an exponent `n` lower.
    fileprivate static func scaled(_ m: UInt64, byPowerOfTen n: Int) -> UInt64? {
        guard n < powersOfTen.count else { return nil }
        let (product, overflow) = m.multipliedReportingOverflow(by: powersOfTen[n])
        return overflow ? nil : product
    }

    /// The order of two magnitudes, compared at the smaller exponent when that fits in 64 bits.
    fileprivate static func compareMagnitudes(_ x: SmallParts, _ y: SmallParts) -> Int? {
        let shift = x.exponent - y.exponent
        guard let mx = shift > 0 ? scaled(x.mantissa, byPowerOfTen: shift) : x.mantissa,
              let my = shift < 0 ? scaled(y.mantissa, byPowerOfTen: -shift) : y.mantissa else { return nil }
        return mx < my ? -1 : mx == my ? 0 : 1
    }
}

extension Decimal {
    /// The value as ``DecimalText/format(_:)`` writes it, from ``smallParts`` (about 0.1 µs);
    /// `nil` where those are not known (wider mantissas, NaN, another layout).
    var plainText: String? {
        guard let parts = smallParts else { return nil }
        var m = parts.mantissa
        guard m != 0 else { return "0" }
        let exponent = parts.exponent, fraction = max(-exponent, 0)
        var digits = 0
        var rest = m
        repeat { digits += 1; rest /= 10 } while rest > 0
        let length = (parts.negative ? 1 : 0) + (exponent >= 0 ? digits + exponent : max(digits - fraction, 1) + 1 + fraction)
        return String(unsafeUninitializedCapacity: length) { out in
            // From the right: the zeros of a positive exponent, or the fraction and its point
            // (with a leading 0 when nothing is left of the point), then the integer digits.
            var i = length
            func put(_ byte: UInt8) { i -= 1; out[i] = byte }
            func putDigit() { put(UInt8(truncatingIfNeeded: m % 10) + UInt8(ascii: "0")); m /= 10 }
            for _ in 0..<max(exponent, 0) { put(UInt8(ascii: "0")) }
            if fraction > 0 {
                for _ in 0..<fraction { putDigit() }
                put(UInt8(ascii: "."))
                if m == 0 { put(UInt8(ascii: "0")) }
            }
            while m > 0 { putDigit() }
            if parts.negative { put(UInt8(ascii: "-")) }
            return length
        }
    }
}

extension Decimal {
    /// Whether ``order(_:_:)`` compares small values itself here (for a test: the layout check).
    static var orderUsesFastPath: Bool { layoutConfirmed }

    /// A constant that many values are compared with (a rule's `amount >= 10000`), prepared
    /// once: its parts are read, and its mantissa scaled to each exponent from 0 down to -7
    /// (amounts mostly have two decimals), so comparing an amount with it is reading the
    /// amount's parts and comparing two integers. It orders exactly as ``order(_:_:)``.
    public struct Comparand: Sendable {
        public let value: Decimal
        private let parts: SmallParts?
        /// `scaled[k]`: the mantissa at exponent `-k`, or `UInt64.max` where that is not exact
        /// in 64 bits (then the general path compares).
        private let scaled: InlineArray<8, UInt64>

        public init(_ value: Decimal) {
            self.value = value
            let parts = value.smallParts
            self.parts = parts
            scaled = InlineArray { k in
                guard let parts, parts.exponent + k >= 0 else { return .max }
                return Decimal.scaled(parts.mantissa, byPowerOfTen: parts.exponent + k) ?? .max
            }
        }

        /// `Decimal.order(x, value)`.
        public func order(_ x: Decimal) -> Int { fastOrder(x) ?? Decimal.order(x, value) }

        /// `Decimal.order(value, x)`.
        public func reverseOrder(_ x: Decimal) -> Int { fastOrder(x).map { -$0 } ?? Decimal.order(value, x) }

        private func fastOrder(_ x: Decimal) -> Int? {
            // `parts` exists only where the layout was confirmed: x's can be read unchecked.
            guard let c = parts, let p = x.partsAssumingLayout else { return nil }
            let k = -p.exponent
            // (`UInt64.max` itself, never a scaled mantissa here, goes the general way.)
            if k >= 0, k < 8, case let m = scaled[k], m != .max {
                return Decimal.signedOrder(p, c, magnitudes: p.mantissa < m ? -1 : p.mantissa == m ? 0 : 1)
            }
            return Decimal.signedOrder(p, c, magnitudes: Decimal.compareMagnitudes(p, c))
        }
    }
}

/// The exact sum of amounts, for window aggregates evaluated on every event. Foundation's `+`
/// allocates three times per addition (its general routine works on variable-length integers);
/// here amounts of up to 18 digits are added as integers at their smallest exponent, and the
/// total becomes a `Decimal` once, through the same compacting initialiser Foundation's sum
/// ends with, so the result is the same value with the same bytes (a test compares them).
/// Whatever does not fit (a wider mantissa, an overflow) continues in Foundation from there.
public struct DecimalSum: Sendable {
    private var mantissa: Int64 = 0
    /// The sum's exponent; `nil` until something is added.
    private var exponent: Int?
    /// The sum once it left the integer path.
    private var slow: Decimal?

    public init() {}

    public mutating func add(_ d: Decimal) {
        if slow == nil, let fast = Self.added(mantissa, exponent, d) {
            (mantissa, exponent) = fast
            return
        }
        slow = value + d
    }

    /// The sum so far plus `d` as a mantissa and exponent, or `nil` when it does not fit.
    private static func added(_ mantissa: Int64, _ exponent: Int?, _ d: Decimal) -> (Int64, Int)? {
        guard let p = d.smallParts, p.mantissa <= UInt64(Int64.max) else { return nil }
        let x = p.negative ? -Int64(p.mantissa) : Int64(p.mantissa)
        guard let exponent else { return (x, p.exponent) }
        // To the smaller exponent: the other side is scaled up by the difference.
        func scaledUp(_ v: Int64, _ n: Int) -> Int64? {
            guard let m = Decimal.scaled(v.magnitude, byPowerOfTen: n), m <= UInt64(Int64.max) else { return nil }
            return v < 0 ? -Int64(m) : Int64(m)
        }
        guard let a = exponent > p.exponent ? scaledUp(mantissa, exponent - p.exponent) : mantissa,
              let b = p.exponent > exponent ? scaledUp(x, p.exponent - exponent) : x else { return nil }
        let (sum, overflow) = a.addingReportingOverflow(b)
        return overflow ? nil : (sum, min(exponent, p.exponent))
    }

    public var value: Decimal {
        if let slow { return slow }
        guard let exponent, mantissa != 0 else { return .zero }
        return Decimal(sign: mantissa < 0 ? .minus : .plus, exponent: exponent, significand: Decimal(mantissa.magnitude))
    }
}
