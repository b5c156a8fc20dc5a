import Foundation

/// A strict JSON reader for canonical events, much faster than `JSONDecoder` (which dominated
/// replay and pipeline profiles), with the same field-level error messages.
///
/// It works in two steps: a syntax pass over the whole text that records where each member of an
/// object is (nothing is copied), then typed reads of the fields Vigil knows, in a fixed order —
/// so the first error reported for a message is always the same one.
struct JSONReader {
    enum Kind { case object, array, string, number, bool, null }

    /// Where a value is. Positions are kept in 32 bits (documents are limited to 2 GiB) so that
    /// an object's table of slots is small to copy.
    struct Slot {
        var kind: Kind
        /// A string with escapes, which must be resolved to read it (found by the syntax pass,
        /// so a plain string is read without a second look at its bytes).
        var escaped: Bool
        private var from: Int32
        private var to: Int32

        init(kind: Kind, start: Int, end: Int, escaped: Bool = false) {
            self.kind = kind
            self.escaped = escaped
            from = Int32(truncatingIfNeeded: start)
            to = Int32(truncatingIfNeeded: end)
        }

        var start: Int { Int(from) }
        var end: Int { Int(to) }
    }

    struct Invalid: Error {}

    let bytes: UnsafeBufferPointer<UInt8>

    // MARK: Syntax pass

    /// The members of one object that a reader asks for, by their key's index in a ``JSONKey``
    /// enum. A fixed inline table: finding them allocates nothing.
    typealias Fields = InlineArray<12, Slot?>
    /// The tables of an object's members that are objects themselves (a transaction's `debtor`,
    /// `creditor` and `source`), in the order of ``JSONKeyMatcher/objects``: filled in place.
    typealias Members = UnsafeMutableBufferPointer<Fields>

    /// Parses the object starting at `start` (a `{`) in one pass, checking the syntax of every
    /// value, and keeps where the members `matcher` names are (the first of repeated keys, as
    /// Foundation's `JSONDecoder` resolves them) in `found`, which is filled in place (the table
    /// is not small to copy); others are checked and skipped. Returns the index just after the
    /// closing brace.
    ///
    /// With `members`, a member the matcher knows as an object has its own members found in the
    /// same pass, into its table there: read afterwards, it is not scanned a second time (the
    /// parties are most of a transaction's bytes).
    func fields(at start: Int, _ matcher: JSONKeyMatcher, into found: inout Fields, members: Members? = nil) throws(Invalid) -> Int {
        var i = start + 1
        skipSpace(&i)
        if i < bytes.count, bytes[i] == UInt8(ascii: "}") { return i + 1 }
        while true {
            skipSpace(&i)
            guard i < bytes.count, bytes[i] == UInt8(ascii: "\"") else { throw Invalid() }
            let keyStart = i
            let escaped = try skipString(&i)
            let key = Slot(kind: .string, start: keyStart, end: i, escaped: escaped)
            skipSpace(&i)
            guard i < bytes.count, bytes[i] == UInt8(ascii: ":") else { throw Invalid() }
            i += 1
            skipSpace(&i)
            if let k = try index(of: key, in: matcher), found[k] == nil {
                let object = matcher.objectIndex[k]
                if object >= 0, let members, i < bytes.count, bytes[i] == UInt8(ascii: "{") {
                    let valueStart = i
                    i = try fields(at: i, matcher.objects[object], into: &members[object])
                    found[k] = Slot(kind: .object, start: valueStart, end: i)
                } else {
                    found[k] = try skipValue(&i)
                }
            } else {
                _ = try skipValue(&i)
            }
            skipSpace(&i)
            guard i < bytes.count else { throw Invalid() }
            if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
            if bytes[i] == UInt8(ascii: "}") { return i + 1 }
            throw Invalid()
        }
    }

    /// Which of the matcher's keys the key in `slot` (a string, quotes included) is.
    func index(of slot: Slot, in matcher: JSONKeyMatcher) throws(Invalid) -> Int? {
        if slot.escaped { return matcher.index(of: Array(try string(slot).utf8)) }
        let start = slot.start + 1, count = slot.end - slot.start - 2
        // A key is followed by at least `":0}`, so its first eight bytes can mostly be read as one word.
        let word: UInt64
        if start + 8 <= bytes.count {
            let all = UnsafeRawPointer(bytes.baseAddress! + start).loadUnaligned(as: UInt64.self)
            word = count >= 8 ? all : all & ((1 << (UInt64(count) * 8)) &- 1)
        } else {
            word = JSONKeyMatcher.word(UnsafeBufferPointer(rebasing: bytes[start..<(start + count)]))
        }
        return matcher.index(count: count, firstWord: word) { key in
            memcmp(key.baseAddress! + 8, bytes.baseAddress! + start + 8, count - 8) == 0
        }
    }

    /// The fields of a document that is one object, in a single pass; `false` when the document
    /// is valid JSON of another kind.
    func topLevelFields(_ matcher: JSONKeyMatcher, into found: inout Fields, members: Members?) throws(Invalid) -> Bool {
        var i = 0
        skipSpace(&i)
        guard i < bytes.count, bytes[i] == UInt8(ascii: "{") else {
            _ = try document()
            return false
        }
        var j = try fields(at: i, matcher, into: &found, members: members)
        skipSpace(&j)
        guard j == bytes.count else { throw Invalid() }
        return true
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
            let escaped = try skipString(&i)
            return Slot(kind: .string, start: start, end: i, escaped: escaped)
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

    /// Moves past a string; whether it has escapes.
    @discardableResult
    private func skipString(_ i: inout Int) throws(Invalid) -> Bool {
        i += 1
        var escaped = false
        while i < bytes.count {
            // Eight bytes at a time up to the first one that needs a look: most string bytes do not.
            while i + 8 <= bytes.count {
                let stop = Self.specialBytes(UnsafeRawPointer(bytes.baseAddress! + i).loadUnaligned(as: UInt64.self))
                if stop != 0 { i += stop.trailingZeroBitCount / 8; break }
                i += 8
            }
            guard i < bytes.count else { break }
            let c = bytes[i]
            if c == UInt8(ascii: "\"") { i += 1; return escaped }
            if c == UInt8(ascii: "\\") {
                escaped = true
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

    /// The high bit of each byte of `word` (read little-endian) that is a quote, a backslash or
    /// a control character. Bits above the first such byte may be wrong (borrows propagate
    /// upward); the lowest set bit is exact, which is all the scan uses.
    @inline(__always)
    private static func specialBytes(_ word: UInt64) -> UInt64 {
        let ones: UInt64 = 0x0101_0101_0101_0101, highs: UInt64 = 0x8080_8080_8080_8080
        func zeroBytes(_ x: UInt64) -> UInt64 { (x &- ones) & ~x & highs }
        let quote = zeroBytes(word ^ (ones &* 0x22)), backslash = zeroBytes(word ^ (ones &* 0x5C))
        let control = (word &- ones &* 0x20) & ~word & highs
        return quote | backslash | control
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
        if let plain = unescaped(slot) { return String(decoding: plain, as: UTF8.self) }
        let inner = UnsafeBufferPointer(rebasing: bytes[(slot.start + 1)..<(slot.end - 1)])
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

/// The members of an object that Vigil reads: an enum whose case names are the JSON keys, so a
/// reader finds them all in one pass and reads them by index (no key comparisons per read).
protocol JSONKey: RawRepresentable<Int>, CaseIterable where AllCases == [Self] {
    /// The keys, indexed by raw value: `static let matcher = keyMatcher()`.
    static var matcher: JSONKeyMatcher { get }
}

extension JSONKey {
    /// A matcher of each case's name; the cases' raw values must be 0, 1, 2… in order.
    /// `objects` names the members that are objects, with the keys of each: their members are
    /// found in the same pass as this object's (see ``JSONReader/fields(at:_:into:members:)``).
    static func keyMatcher(objects: KeyValuePairs<Self, JSONKeyMatcher> = [:]) -> JSONKeyMatcher {
        precondition(allCases.count <= JSONReader.Fields.count && allCases.enumerated().allSatisfy { $0.offset == $0.element.rawValue })
        return JSONKeyMatcher(allCases.map { Array(String(describing: $0).utf8) }, objects: objects.map { ($0.key.rawValue, $0.value) })
    }

    var name: String { String(decoding: Self.matcher.keys[rawValue], as: UTF8.self) }
}

/// A few texts a string member usually holds, each read as its one `String`.
struct KnownTexts: Sendable {
    let values: [String]
    let matcher: JSONKeyMatcher

    init(_ values: [String]) {
        self.values = values
        matcher = JSONKeyMatcher(values.map { Array($0.utf8) })
    }
}

/// Finds which of a few keys a member's name is by its length and its first eight bytes as one
/// integer (the names Vigil reads mostly fit in them): no byte-wise comparison per candidate.
///
/// A class: the readers pass it around per object and per member, and as a struct of five
/// arrays each pass retained and released every one of them.
final class JSONKeyMatcher: Sendable {
    let keys: [[UInt8]]
    private let counts: [Int]
    private let firstWords: [UInt64]
    /// The matchers of the members that are objects, and per key its index among them (-1 for
    /// the others).
    let objects: [JSONKeyMatcher]
    let objectIndex: [Int]

    init(_ keys: [[UInt8]], objects: [(key: Int, matcher: JSONKeyMatcher)] = []) {
        self.keys = keys
        self.objects = objects.map(\.matcher)
        var index = [Int](repeating: -1, count: keys.count)
        for (n, o) in objects.enumerated() { index[o.key] = n }
        objectIndex = index
        counts = keys.map(\.count)
        firstWords = keys.map { $0.withUnsafeBufferPointer { Self.word(UnsafeBufferPointer(rebasing: $0.prefix(8))) } }
    }

    /// Up to the first eight bytes, little-endian, zero above the last.
    static func word(_ bytes: UnsafeBufferPointer<UInt8>) -> UInt64 {
        var w: UInt64 = 0
        for (i, b) in bytes.prefix(8).enumerated() { w |= UInt64(b) << (UInt64(i) * 8) }
        return w
    }

    /// The key of `count` bytes starting with `firstWord`, the rest (beyond eight bytes) checked by `restMatches`.
    func index(count: Int, firstWord: UInt64, restMatches: (UnsafeBufferPointer<UInt8>) -> Bool) -> Int? {
        for k in counts.indices where counts[k] == count && firstWords[k] == firstWord {
            if count <= 8 || keys[k].withUnsafeBufferPointer(restMatches) { return k }
        }
        return nil
    }

    func index(of name: [UInt8]) -> Int? { keys.firstIndex(of: name) }
}

/// Typed access to an object's members, producing ``EventDecodingError``s that name the field.
///
/// Its table of slots lives where its creator put it (on the stack, for the scope of the read)
/// and is read through a pointer: held inline, the table (144 bytes) was copied with the reader
/// for every field read (decoding ran 1.28× faster without those copies). Not copyable, so that
/// it does not outlive that scope by accident.
struct JSONObjectReader<Key: JSONKey>: ~Copyable {
    let reader: JSONReader
    /// The dotted path of this object in the document, for error paths (`debtor`; empty at the
    /// top). Kept as bytes: a member's path is then its key's bytes, with no string built per
    /// object read (only when an error names a field).
    let path: [UInt8]
    let fields: UnsafePointer<JSONReader.Fields>
    /// The tables of this object's object members, filled by the pass that filled `fields`
    /// (only at the top: a member's reader has none, and its own members are scanned when read).
    let members: JSONReader.Members?

    init(reader: JSONReader, path: [UInt8], fields: UnsafePointer<JSONReader.Fields>, members: JSONReader.Members? = nil) {
        self.reader = reader
        self.path = path
        self.fields = fields
        self.members = members
    }

    /// As its element type (an inline array is laid out as its elements): `pointee` or a span of
    /// it copied the whole table per read.
    private func slot(_ key: Key) -> JSONReader.Slot? {
        fields.withMemoryRebound(to: JSONReader.Slot?.self, capacity: JSONReader.Fields.count) { $0[key.rawValue] }
    }

    private func error(_ key: Key, _ reason: String) -> EventDecodingError {
        EventDecodingError(field: path.isEmpty ? key.name : String(decoding: path, as: UTF8.self) + "." + key.name, reason: reason)
    }

    func requiredString(_ key: Key) throws(EventDecodingError) -> String {
        guard let s = try optionalString(key) else { throw error(key, "required field is missing") }
        return s
    }

    /// `nil` when absent or null (as `decodeIfPresent` treats them).
    func optionalString(_ key: Key) throws(EventDecodingError) -> String? {
        guard let slot = slot(key), slot.kind != .null else { return nil }
        guard slot.kind == .string else { throw error(key, "expected a string") }
        do { return try reader.string(slot) } catch { throw self.error(key, "expected a string") }
    }

    /// The same for a member that is usually one of a few texts (a channel): when it is, that
    /// text is returned (found like a key, by its length and first eight bytes), with no string
    /// made or hashed per read; `known` says so.
    func optionalString(_ key: Key, usually texts: KnownTexts) throws(EventDecodingError) -> (text: String?, known: Bool) {
        if let slot = slot(key), slot.kind == .string, let k = try? reader.index(of: slot, in: texts.matcher) {
            return (texts.values[k], true)
        }
        return (try optionalString(key), false)
    }

    /// A required string that must not be null: a null is reported as such.
    func requiredNonNullString(_ key: Key) throws(EventDecodingError) -> String {
        if slot(key)?.kind == .null { throw error(key, "expected a string, found null") }
        return try requiredString(key)
    }

    // Member objects are read through a closure: the reader (its table of 12 slots is 168 bytes
    // with the rest) is built where it is used. Returned by value, it was copied four times per
    // object — a sixth of the time of decoding a canonical transaction.

    /// Runs `body` with a reader of the object member `key`, which must be present.
    func requiredObject<Member: JSONKey, R>(_ key: Key, _: Member.Type,
                                            _ body: (borrowing JSONObjectReader<Member>) throws(EventDecodingError) -> R) throws(EventDecodingError) -> R {
        guard let slot = slot(key) else { throw error(key, "required field is missing") }
        if slot.kind == .null { throw error(key, "expected an object, found null") }
        return try object(key, slot, body)
    }

    /// Runs `body` with a reader of the object member `key`; `nil` when it is absent or null.
    func optionalObject<Member: JSONKey, R>(_ key: Key, _: Member.Type,
                                            _ body: (borrowing JSONObjectReader<Member>) throws(EventDecodingError) -> R) throws(EventDecodingError) -> R? {
        guard let slot = slot(key), slot.kind != .null else { return nil }
        return try object(key, slot, body)
    }

    private func object<Member: JSONKey, R>(_ key: Key, _ slot: JSONReader.Slot,
                                            _ body: (borrowing JSONObjectReader<Member>) throws(EventDecodingError) -> R) throws(EventDecodingError) -> R {
        guard slot.kind == .object else { throw error(key, "expected an object") }
        let matcher = Key.matcher
        let name = matcher.keys[key.rawValue]
        let memberPath = path.isEmpty ? name : path + [UInt8(ascii: ".")] + name
        if let members, matcher.objectIndex[key.rawValue] >= 0 {
            // Found in the pass over this object.
            return try body(JSONObjectReader<Member>(reader: reader, path: memberPath, fields: members.baseAddress! + matcher.objectIndex[key.rawValue]))
        }
        return try withUnsafeTemporaryAllocation(of: JSONReader.Fields.self, capacity: 1) { (table) throws(EventDecodingError) -> R in
            table.initialize(repeating: JSONReader.Fields(repeating: nil))
            do { _ = try reader.fields(at: slot.start, Member.matcher, into: &table[0]) } catch {
                throw EventDecodingError(field: nil, reason: "not valid JSON")
            }
            return try body(JSONObjectReader<Member>(reader: reader, path: memberPath, fields: table.baseAddress!))
        }
    }

    /// A decimal amount given as a string or a JSON number.
    func requiredDecimal(_ key: Key) throws(EventDecodingError) -> Decimal {
        guard let slot = slot(key) else { throw error(key, "required field is missing") }
        switch slot.kind {
        case .string:
            // Digits need no unescaping: read them in place, and make a string only to say what was wrong.
            if let d = reader.unescaped(slot).flatMap(DecimalText.parse) { return d }
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

    func requiredTime(_ key: Key) throws(EventDecodingError) -> EventTime {
        if let slot = slot(key), slot.kind == .string, let t = reader.unescaped(slot).flatMap(EventTime.parse) { return t }
        let text = try requiredNonNullString(key)
        guard let t = EventTime(rfc3339: text) else { throw error(key, "'\(text)' is not an RFC 3339 timestamp") }
        return t
    }
}

extension JSONReader {
    /// The bytes inside a string slot when it has no escapes (`nil` otherwise).
    func unescaped(_ slot: Slot) -> UnsafeBufferPointer<UInt8>? {
        slot.escaped ? nil : UnsafeBufferPointer(rebasing: bytes[(slot.start + 1)..<(slot.end - 1)])
    }

    /// Runs `body` with a reader of the members named by `Key` in the top-level JSON object in `bytes`.
    static func withObject<Key: JSONKey, R>(_ bytes: [UInt8], _: Key.Type, _ body: (borrowing JSONObjectReader<Key>) throws(EventDecodingError) -> R) throws(EventDecodingError) -> R {
        try bytes.withUnsafeBufferPointer { (buffer) throws(EventDecodingError) -> R in
            guard buffer.count < Int32.max else { throw EventDecodingError(field: nil, reason: "a JSON document of 2 GiB or more") }
            let reader = JSONReader(bytes: buffer)
            // On the stack: the object's table, then its object members' tables, filled in one pass.
            let matcher = Key.matcher
            return try withUnsafeTemporaryAllocation(of: JSONReader.Fields.self, capacity: 1 + matcher.objects.count) { (tables) throws(EventDecodingError) -> R in
                tables.initialize(repeating: JSONReader.Fields(repeating: nil))
                let members = matcher.objects.isEmpty ? nil : JSONReader.Members(rebasing: tables[1...])
                let isObject: Bool
                do { isObject = try reader.topLevelFields(matcher, into: &tables[0], members: members) } catch {
                    throw EventDecodingError(field: nil, reason: "not valid JSON")
                }
                guard isObject else {
                    let kind = try? reader.document().kind
                    throw EventDecodingError(field: nil, reason: "expected a JSON object, found \(kind == .array ? "an array" : "a single value")")
                }
                return try body(JSONObjectReader<Key>(reader: reader, path: [], fields: tables.baseAddress!, members: members))
            }
        }
    }
}
