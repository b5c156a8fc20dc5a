/// Durations as written in pipeline files: `24h`, `30m`, `90s`, `500ms`, `7d`, `1h30m`.
public enum DurationText {
    public static func parse(_ text: String) -> Duration? {
        var total: Int64 = 0
        var number: Int64?
        var unit = ""
        var sawAny = false
        func flush() -> Bool {
            guard let n = number else { return unit.isEmpty }
            let ms: Int64
            switch unit {
            case "ms": ms = 1
            case "s": ms = 1_000
            case "m": ms = 60_000
            case "h": ms = 3_600_000
            case "d": ms = 86_400_000
            default: return false
            }
            total += n * ms
            number = nil
            unit = ""
            sawAny = true
            return true
        }
        for ch in text {
            if let d = ch.wholeNumberValue, ch.isASCII {
                if !unit.isEmpty { guard flush() else { return nil } }
                number = (number ?? 0) * 10 + Int64(d)
                guard number! < 1_000_000_000 else { return nil }
            } else if ch.isLetter, number != nil {
                unit.append(ch)
            } else {
                return nil
            }
        }
        guard flush(), sawAny else { return nil }
        return .milliseconds(total)
    }

    /// An exact rendering in hours and smaller units, as analysts write windows: `24h`, `1m30s`.
    public static func format(_ d: Duration) -> String {
        var ms = d.components.seconds * 1000 + d.components.attoseconds / 1_000_000_000_000_000
        if ms == 0 { return "0s" }
        var out = ""
        for (unit, size) in [("h", Int64(3_600_000)), ("m", 60_000), ("s", 1_000), ("ms", 1)] where ms >= size {
            out += "\(ms / size)\(unit)"
            ms %= size
        }
        return out
    }
}
