/// An instant in event time: microseconds since 1970-01-01T00:00:00Z.
///
/// Detection code only ever sees event time (from the event itself), never the wall clock, so a
/// replay of recorded data gives the same results. Parsing and formatting are RFC 3339 and
/// implemented here (not with a locale-dependent formatter) so they are exact and fast.
public struct EventTime: Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
    public var microseconds: Int64

    public init(microseconds: Int64) { self.microseconds = microseconds }

    public init(seconds: Int64) { self.microseconds = seconds * 1_000_000 }

    public static func < (lhs: EventTime, rhs: EventTime) -> Bool { lhs.microseconds < rhs.microseconds }

    public static func + (lhs: EventTime, rhs: Duration) -> EventTime {
        EventTime(microseconds: lhs.microseconds + rhs.microseconds)
    }

    public static func - (lhs: EventTime, rhs: Duration) -> EventTime {
        EventTime(microseconds: lhs.microseconds - rhs.microseconds)
    }

    /// Parses an RFC 3339 timestamp: `2024-03-01T09:30:00Z`, `2024-03-01T09:30:00.123+01:00`,
    /// lower-case `t`/`z` and a space instead of `T` (RFC 3339 §5.6 allows them). Returns `nil`
    /// for anything else, including out-of-range fields (month 13, minute 60).
    public init?(rfc3339 text: String) {
        var s = text
        guard let value = s.withUTF8({ EventTime.parse($0) }) else { return nil }
        self = value
    }

    static func parse(_ b: UnsafeBufferPointer<UInt8>) -> EventTime? {
        var i = 0
        func digits(_ n: Int) -> Int? {
            guard i + n <= b.count else { return nil }
            var v = 0
            for k in 0..<n {
                let c = b[i + k]
                guard c >= 48 && c <= 57 else { return nil }
                v = v * 10 + Int(c - 48)
            }
            i += n
            return v
        }
        func expect(_ c: UInt8) -> Bool {
            guard i < b.count, b[i] == c else { return false }
            i += 1
            return true
        }
        guard let year = digits(4), expect(UInt8(ascii: "-")), let month = digits(2), expect(UInt8(ascii: "-")),
              let day = digits(2) else { return nil }
        guard i < b.count, b[i] == UInt8(ascii: "T") || b[i] == UInt8(ascii: "t") || b[i] == UInt8(ascii: " ") else { return nil }
        i += 1
        guard let hour = digits(2), expect(UInt8(ascii: ":")), let minute = digits(2), expect(UInt8(ascii: ":")),
              let second = digits(2) else { return nil }
        var micros = 0
        if i < b.count, b[i] == UInt8(ascii: ".") {
            i += 1
            var n = 0
            while i < b.count, b[i] >= 48 && b[i] <= 57 {
                if n < 6 { micros = micros * 10 + Int(b[i] - 48) }
                n += 1
                i += 1
            }
            guard n > 0 else { return nil }
            for _ in n..<max(n, 6) { micros *= 10 }
        }
        guard i < b.count else { return nil }
        var offsetSeconds = 0
        switch b[i] {
        case UInt8(ascii: "Z"), UInt8(ascii: "z"):
            i += 1
        case UInt8(ascii: "+"), UInt8(ascii: "-"):
            let sign = b[i] == UInt8(ascii: "-") ? -1 : 1
            i += 1
            guard let oh = digits(2), expect(UInt8(ascii: ":")), let om = digits(2), oh < 24, om < 60 else { return nil }
            offsetSeconds = sign * (oh * 3600 + om * 60)
        default:
            return nil
        }
        guard i == b.count else { return nil }
        guard (1...12).contains(month), day >= 1, day <= daysIn(month: month, year: year),
              hour < 24, minute < 60, second <= 60 else { return nil }
        let days = daysFromCivil(year: year, month: month, day: day)
        let secs = Int64(days) * 86_400 + Int64(hour * 3600 + minute * 60 + min(second, 59)) - Int64(offsetSeconds)
        return EventTime(microseconds: secs * 1_000_000 + Int64(micros))
    }

    /// A civil date and time in UTC (or at the given offset from UTC); `nil` when a field is out
    /// of range. Decoders of formats that write dates as digits (EDIFACT, SWIFT, ISO 20022 dates)
    /// build times through this, so every format validates dates the same way.
    public init?(year: Int, month: Int, day: Int, hour: Int = 0, minute: Int = 0, second: Int = 0,
                 microsecond: Int = 0, offsetSeconds: Int = 0) {
        guard (1...9999).contains(year), (1...12).contains(month), day >= 1, day <= daysIn(month: month, year: year),
              (0..<24).contains(hour), (0..<60).contains(minute), (0...60).contains(second),
              (0..<1_000_000).contains(microsecond) else { return nil }
        let days = daysFromCivil(year: year, month: month, day: day)
        let secs = Int64(days) * 86_400 + Int64(hour * 3600 + minute * 60 + min(second, 59)) - Int64(offsetSeconds)
        self.init(microseconds: secs * 1_000_000 + Int64(microsecond))
    }

    /// The UTC calendar date, `YYYY-MM-DD`.
    public var dateText: String { formatted(dateOnly: true) }

    /// `YYYY-MM-DD` for a valid civil date (`nil` otherwise), without going through an instant:
    /// decoders turn every date of birth and document expiry into this form.
    public static func dateText(year: Int, month: Int, day: Int) -> String? {
        guard (1...9999).contains(year), (1...12).contains(month), day >= 1, day <= daysIn(month: month, year: year) else { return nil }
        return write(year: year, month: month, day: day, time: nil)
    }

    /// RFC 3339 in UTC, with milliseconds or microseconds only when they are not zero.
    public var rfc3339: String { formatted(dateOnly: false) }

    private func formatted(dateOnly: Bool) -> String {
        let secs = microseconds >= 0 ? microseconds / 1_000_000 : (microseconds - 999_999) / 1_000_000
        let micros = Int(microseconds - secs * 1_000_000)
        let days = secs >= 0 ? secs / 86_400 : (secs - 86_399) / 86_400
        let (y, m, d) = civilFromDays(Int(days))
        return Self.write(year: y, month: m, day: d, time: dateOnly ? nil : (Int(secs - days * 86_400), micros))
    }

    /// Digits written straight into the string's storage: this runs for every event a decoder
    /// or the JSON encoder produces, and interpolation with padding costs several times as much.
    /// `time` is seconds into the day and microseconds.
    private static func write(year y: Int, month m: Int, day d: Int, time: (seconds: Int, micros: Int)?) -> String {
        // Years outside 0…9999 cannot be written in RFC 3339; they only arise from arbitrary
        // microsecond counts, and are written as plain signed numbers rather than wrapped.
        let year = (0...9999).contains(y) ? "" : String(y)
        // A date fits a small (inline) string when the capacity asked for is small too.
        let body = String(unsafeUninitializedCapacity: time == nil ? 10 : 27) { out in
            var n = 0
            func put(_ value: Int, _ width: Int) {
                var v = value
                for k in stride(from: width - 1, through: 0, by: -1) {
                    out[n + k] = UInt8(truncatingIfNeeded: 48 + v % 10)
                    v /= 10
                }
                n += width
            }
            func put(_ c: Unicode.Scalar) {
                out[n] = UInt8(truncatingIfNeeded: c.value)
                n += 1
            }
            if year.isEmpty { put(y, 4) }
            put("-"); put(m, 2); put("-"); put(d, 2)
            guard let (rem, micros) = time else { return n }
            put("T"); put(rem / 3600, 2); put(":"); put(rem / 60 % 60, 2); put(":"); put(rem % 60, 2)
            if micros != 0 {
                put(".")
                if micros % 1000 == 0 { put(micros / 1000, 3) } else { put(micros, 6) }
            }
            put("Z")
            return n
        }
        return year.isEmpty ? body : year + body
    }

    public var description: String { rfc3339 }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        let text = try c.decode(String.self)
        guard let t = EventTime(rfc3339: text) else {
            throw DecodingError.dataCorruptedError(in: c, debugDescription: "'\(text)' is not an RFC 3339 timestamp")
        }
        self = t
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(rfc3339)
    }
}

extension Duration {
    /// In seconds, as a floating-point number (for rates in benchmarks and reports).
    public var inSeconds: Double {
        let (s, atto) = components
        return Double(s) + Double(atto) / 1e18
    }

    /// Whole microseconds (truncating).
    public var microseconds: Int64 {
        let (s, atto) = components
        return s * 1_000_000 + atto / 1_000_000_000_000
    }
}

private func isLeap(_ y: Int) -> Bool { (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 }

private func daysIn(month: Int, year: Int) -> Int {
    switch month {
    case 2: return isLeap(year) ? 29 : 28
    case 4, 6, 9, 11: return 30
    default: return 31
    }
}

// Howard Hinnant's days-from-civil algorithm (proleptic Gregorian calendar).
private func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
    let y = month <= 2 ? year - 1 : year
    let era = (y >= 0 ? y : y - 399) / 400
    let yoe = y - era * 400
    let mp = (month + 9) % 12
    let doy = (153 * mp + 2) / 5 + day - 1
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
    return era * 146_097 + doe - 719_468
}

private func civilFromDays(_ z0: Int) -> (Int, Int, Int) {
    let z = z0 + 719_468
    let era = (z >= 0 ? z : z - 146_096) / 146_097
    let doe = z - era * 146_097
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
    let y = yoe + era * 400
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
    let mp = (5 * doy + 2) / 153
    let d = doy - (153 * mp + 2) / 5 + 1
    let m = mp < 10 ? mp + 3 : mp - 9
    return (m <= 2 ? y + 1 : y, m, d)
}
