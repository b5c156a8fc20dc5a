import Foundation

/// A strict JSON reader for canonical events, much faster than `JSONDecoder` (which dominated
/// replay and pipeline profiles), with the same field-level error messages.
///
/// It works in two steps: a syntax pass over the whole text that records where each member of an
/// object is (nothing is copied), then typed reads of the fields Vigil knows, in a fixed order —
/// so the first error reported for a message is always the same one.
struct JSONReader {
    enum Kind { case object, array, string, number, bool, null }

    struct Slot {
        var kind: Kind
        var start: Int
        var end: Int
    }

    struct Invalid: Error {}

    let bytes: UnsafeBufferPointer<UInt8>

    // MARK: Syntax pass

    /// One member of an object: where its key's text is (without quotes) and its value.
    struct Member {
        var keyStart: Int
        var keyEnd: Int
        var keyHasEscape: Bool
        var value: Slot
    }

    /// The members of an object, in order. Keys are not copied: lookups compare bytes, which is
    /// what makes this faster than a dictionary for the handful of members an event has.
    func members(_ slot: Slot) throws(Invalid) -> [Member] {
        try members(at: slot.start).members
    }

    /// Parses the object starting at `start` (a `{`), checking the syntax of every value, and
    /// returns its members and the index just after its closing brace.
    func members(at start: Int) throws(Invalid) -> (members: [Member], end: Int) {
        var i = start + 1
        var out: [Member] = []
        out.reserveCapacity(8)
        skipSpace(&i)
        if i < bytes.count, bytes[i] == UInt8(ascii: "}") { return (out, i + 1) }
        while true {
            skipSpace(&i)
            guard i < bytes.count, bytes[i] == UInt8(ascii: "\"") else { throw Invalid() }
            let keyStart = i + 1
            try skipString(&i)
            let keyEnd = i - 1
            var escape = false
            for k in keyStart..<keyEnd where bytes[k] == UInt8(ascii: "\\") { escape = true; break }
            skipSpace(&i)
            guard i < bytes.count, bytes[i] == UInt8(ascii: ":") else { throw Invalid() }
            i += 1
            skipSpace(&i)
            let value = try skipValue(&i)
            out.append(Member(keyStart: keyStart, keyEnd: keyEnd, keyHasEscape: escape, value: value))
            skipSpace(&i)
            guard i < bytes.count else { throw Invalid() }
            if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
            if bytes[i] == UInt8(ascii: "}") { return (out, i + 1) }
            throw Invalid()
        }
    }

    /// The members of a document that is one object, in a single pass; `nil` when the document
    /// is valid JSON of another kind.
    func topLevelMembers() throws(Invalid) -> [Member]? {
        var i = 0
        skipSpace(&i)
        guard i < bytes.count, bytes[i] == UInt8(ascii: "{") else {
            _ = try document()
            return nil
        }
        let (members, end) = try members(at: i)
        var j = end
        skipSpace(&j)
        guard j == bytes.count else { throw Invalid() }
        return members
    }

    /// The first member with this key (as Foundation's `JSONDecoder` resolves repeated keys).
    func slot(_ key: String, in members: [Member]) -> Slot? {
        var key = key
        return key.withUTF8 { k in
            for m in members {
                if m.keyHasEscape {
                    if (try? string(Slot(kind: .string, start: m.keyStart - 1, end: m.keyEnd + 1))) == String(decoding: k, as: UTF8.self) { return m.value }
                    continue
                }
                guard m.keyEnd - m.keyStart == k.count else { continue }
                var same = true
                for j in 0..<k.count where bytes[m.keyStart + j] != k[j] { same = false; break }
                if same { return m.value }
            }
            return nil
        }
    }

    /// The whole text as one value, checked for syntax end to end.
    func document() throws(Invalid) -> Slot {
        var i = 0
        skipSpace(&i)
        let slot = try skipValue(&i)
        skipSpace(&i)
        guard i == bytes.count else { throw Invalid() }
        return slot
    }

    private func skipSpace(_ i: inout Int) {
        while i < bytes.count {
            let c = bytes[i]
            guard c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09 else { return }
            i += 1
        }
    }

    private func skipValue(_ i: inout Int) throws(Invalid) -> Slot {
        guard i < bytes.count else { throw Invalid() }
        let start = i
        switch bytes[i] {
        case UInt8(ascii: "{"):
            i += 1
            skipSpace(&i)
            if i < bytes.count, bytes[i] == UInt8(ascii: "}") { i += 1; return Slot(kind: .object, start: start, end: i) }
            while true {
                skipSpace(&i)
                guard i < bytes.count, bytes[i] == UInt8(ascii: "\"") else { throw Invalid() }
                try skipString(&i)
                skipSpace(&i)
                guard i < bytes.count, bytes[i] == UInt8(ascii: ":") else { throw Invalid() }
                i += 1
                skipSpace(&i)
                _ = try skipValue(&i)
                skipSpace(&i)
                guard i < bytes.count else { throw Invalid() }
                if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
                guard bytes[i] == UInt8(ascii: "}") else { throw Invalid() }
                i += 1
                return Slot(kind: .object, start: start, end: i)
            }
        case UInt8(ascii: "["):
            i += 1
            skipSpace(&i)
            if i < bytes.count, bytes[i] == UInt8(ascii: "]") { i += 1; return Slot(kind: .array, start: start, end: i) }
            while true {
                skipSpace(&i)
                _ = try skipValue(&i)
                skipSpace(&i)
                guard i < bytes.count else { throw Invalid() }
                if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
                guard bytes[i] == UInt8(ascii: "]") else { throw Invalid() }
                i += 1
                return Slot(kind: .array, start: start, end: i)
            }
        case UInt8(ascii: "\""):
            try skipString(&i)
            return Slot(kind: .string, start: start, end: i)
        case UInt8(ascii: "t"): try literal("true", &i); return Slot(kind: .bool, start: start, end: i)
        case UInt8(ascii: "f"): try literal("false", &i); return Slot(kind: .bool, start: start, end: i)
        case UInt8(ascii: "n"): try literal("null", &i); return Slot(kind: .null, start: start, end: i)
        default:
            try skipNumber(&i)
            return Slot(kind: .number, start: start, end: i)
        }
    }

    private func literal(_ word: StaticString, _ i: inout Int) throws(Invalid) {
        let w = UnsafeBufferPointer(start: word.utf8Start, count: word.utf8CodeUnitCount)
        guard i + w.count <= bytes.count else { throw Invalid() }
        for k in 0..<w.count where bytes[i + k] != w[k] { throw Invalid() }
        i += w.count
    }

    private func skipString(_ i: inout Int) throws(Invalid) {
        i += 1
        while i < bytes.count {
            let c = bytes[i]
            if c == UInt8(ascii: "\"") { i += 1; return }
            if c == UInt8(ascii: "\\") {
                i += 1
                guard i < bytes.count else { throw Invalid() }
                switch bytes[i] {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"), UInt8(ascii: "f"),
                     UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"): i += 1
                case UInt8(ascii: "u"):
                    guard i + 4 < bytes.count, (1...4).allSatisfy({ hexValue(bytes[i + $0]) != nil }) else { throw Invalid() }
                    i += 5
                default: throw Invalid()
                }
                continue
            }
            guard c >= 0x20 else { throw Invalid() }  // control characters must be escaped
            i += 1
        }
        throw Invalid()
    }

    private func skipNumber(_ i: inout Int) throws(Invalid) {
        func digits(_ i: inout Int) -> Int {
            let s = i
            while i < bytes.count, bytes[i] >= 0x30, bytes[i] <= 0x39 { i += 1 }
            return i - s
        }
        if i < bytes.count, bytes[i] == UInt8(ascii: "-") { i += 1 }
        guard i < bytes.count else { throw Invalid() }
        if bytes[i] == UInt8(ascii: "0") { i += 1 } else { guard digits(&i) > 0 else { throw Invalid() } }
        if i < bytes.count, bytes[i] == UInt8(ascii: ".") {
            i += 1
            guard digits(&i) > 0 else { throw Invalid() }
        }
        if i < bytes.count, bytes[i] == UInt8(ascii: "e") || bytes[i] == UInt8(ascii: "E") {
            i += 1
            if i < bytes.count, bytes[i] == UInt8(ascii: "+") || bytes[i] == UInt8(ascii: "-") { i += 1 }
            guard digits(&i) > 0 else { throw Invalid() }
        }
    }

    // MARK: Typed reads

    /// The text of a string slot, with escapes resolved.
    func string(_ slot: Slot) throws(Invalid) -> String {
        let inner = UnsafeBufferPointer(rebasing: bytes[(slot.start + 1)..<(slot.end - 1)])
        guard inner.contains(UInt8(ascii: "\\")) else { return String(decoding: inner, as: UTF8.self) }
        var out: [UInt8] = []
        out.reserveCapacity(inner.count)
        var i = 0
        while i < inner.count {
            let c = inner[i]
            guard c == UInt8(ascii: "\\") else { out.append(c); i += 1; continue }
            let e = inner[i + 1]
            i += 2
            switch e {
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                var scalar = hex4(inner, i)
                i += 4
                // A surrogate pair encodes one scalar outside the Basic Multilingual Plane.
                if (0xD800...0xDBFF).contains(scalar), i + 5 < inner.count, inner[i] == UInt8(ascii: "\\"), inner[i + 1] == UInt8(ascii: "u") {
                    let low = hex4(inner, i + 2)
                    if (0xDC00...0xDFFF).contains(low) {
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                        i += 6
                    }
                }
                out += Array(String(Character(Unicode.Scalar(scalar) ?? "\u{FFFD}")).utf8)
            default: out.append(e)  // \" \\ \/
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The raw text of a slot (for numbers).
    func text(_ slot: Slot) -> String {
        String(decoding: UnsafeBufferPointer(rebasing: bytes[slot.start..<slot.end]), as: UTF8.self)
    }

    private func hex4(_ b: UnsafeBufferPointer<UInt8>, _ i: Int) -> UInt32 {
        (0..<4).reduce(0) { $0 << 4 | UInt32(hexValue(b[i + $1]) ?? 0) }
    }
}

private func hexValue(_ c: UInt8) -> UInt8? {
    switch c {
    case 0x30...0x39: return c - 0x30
    case 0x41...0x46: return c - 0x41 + 10
    case 0x61...0x66: return c - 0x61 + 10
    default: return nil
    }
}

/// Typed access to an object's members, producing ``EventDecodingError``s that name the field.
struct JSONObjectReader {
    let reader: JSONReader
    let memberList: [JSONReader.Member]
    /// Dotted prefix for error paths (`debtor.`).
    let prefix: String

    private func slot(_ key: String) -> JSONReader.Slot? { reader.slot(key, in: memberList) }

    private func error(_ key: String, _ reason: String) -> EventDecodingError {
        EventDecodingError(field: prefix + key, reason: reason)
    }

    private static func describe(_ kind: JSONReader.Kind) -> String {
        switch kind {
        case .string: return "a string"
        case .number: return "a number"
        case .object: return "an object"
        case .array: return "an array"
        case .bool: return "true or false"
        case .null: return "null"
        }
    }

    func requiredString(_ key: String) throws(EventDecodingError) -> String {
        guard let s = try optionalString(key) else { throw error(key, "required field is missing") }
        return s
    }

    /// `nil` when absent or null (as `decodeIfPresent` treats them).
    func optionalString(_ key: String) throws(EventDecodingError) -> String? {
        guard let slot = slot(key), slot.kind != .null else { return nil }
        guard slot.kind == .string else { throw error(key, "expected a string") }
        do { return try reader.string(slot) } catch { throw self.error(key, "expected a string") }
    }

    /// A required string that must not be null: a null is reported as such.
    func requiredNonNullString(_ key: String) throws(EventDecodingError) -> String {
        if slot(key)?.kind == .null { throw error(key, "expected a string, found null") }
        return try requiredString(key)
    }

    func requiredObject(_ key: String) throws(EventDecodingError) -> JSONObjectReader {
        guard let slot = slot(key) else { throw error(key, "required field is missing") }
        if slot.kind == .null { throw error(key, "expected an object, found null") }
        return try object(key, slot)
    }

    func optionalObject(_ key: String) throws(EventDecodingError) -> JSONObjectReader? {
        guard let slot = slot(key), slot.kind != .null else { return nil }
        return try object(key, slot)
    }

    private func object(_ key: String, _ slot: JSONReader.Slot) throws(EventDecodingError) -> JSONObjectReader {
        guard slot.kind == .object else { throw error(key, "expected an object") }
        do { return JSONObjectReader(reader: reader, memberList: try reader.members(slot), prefix: prefix + key + ".") } catch {
            throw EventDecodingError(field: nil, reason: "not valid JSON")
        }
    }

    /// A decimal amount given as a string or a JSON number.
    func requiredDecimal(_ key: String) throws(EventDecodingError) -> Decimal {
        guard let slot = slot(key) else { throw error(key, "required field is missing") }
        switch slot.kind {
        case .string:
            let text = try requiredString(key)
            guard let d = DecimalText.parse(text) else { throw error(key, "'\(text)' is not a decimal amount") }
            return d
        case .number:
            guard let d = DecimalText.parseJSONNumber(reader.text(slot)) else {
                throw error(key, "'\(reader.text(slot))' is not a decimal amount")
            }
            return d
        case .null:
            throw error(key, "expected a number, found null")
        default:
            throw error(key, "expected a number")
        }
    }

    func requiredTime(_ key: String) throws(EventDecodingError) -> EventTime {
        let text = try requiredNonNullString(key)
        guard let t = EventTime(rfc3339: text) else { throw error(key, "'\(text)' is not an RFC 3339 timestamp") }
        return t
    }
}

extension JSONReader {
    /// Runs `body` with an object reader over the top-level JSON object in `bytes`.
    static func withObject<R>(_ bytes: [UInt8], _ body: (JSONObjectReader) throws(EventDecodingError) -> R) throws(EventDecodingError) -> R {
        let result: Result<R, EventDecodingError> = bytes.withUnsafeBufferPointer { buffer in
            let reader = JSONReader(bytes: buffer)
            let members: [Member]
            do {
                guard let found = try reader.topLevelMembers() else {
                    let kind = try reader.document().kind
                    return .failure(EventDecodingError(field: nil, reason: "expected a JSON object, found \(kind == .array ? "an array" : "a single value")"))
                }
                members = found
            } catch {
                return .failure(EventDecodingError(field: nil, reason: "not valid JSON"))
            }
            do throws(EventDecodingError) {
                return .success(try body(JSONObjectReader(reader: reader, memberList: members, prefix: "")))
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }
}
