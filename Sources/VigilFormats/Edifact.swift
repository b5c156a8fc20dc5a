import VigilCore

/// The service characters of a UN/EDIFACT interchange (ISO 9735), from its `UNA` string or the
/// defaults.
struct EdifactSeparators: Sendable, Hashable {
    var component: UInt8 = UInt8(ascii: ":")
    var element: UInt8 = UInt8(ascii: "+")
    var release: UInt8? = UInt8(ascii: "?")
    var terminator: UInt8 = UInt8(ascii: "'")
}

/// A short code — a segment tag (`NAD`) or a qualifier (`178`, `FL`, `AVF`) — packed into an
/// integer: decoders switch over codes for every segment, and comparing integers costs a
/// fraction of building and comparing strings. Up to four ASCII characters; `none` stands for
/// an absent, empty or longer value, so it matches no literal.
struct EdifactCode: Hashable, Sendable, ExpressibleByStringLiteral, CustomStringConvertible {
    let code: UInt32

    static let none = EdifactCode(code: 0)

    init(code: UInt32) { self.code = code }

    @inline(__always)
    init(_ bytes: some Collection<UInt8>) {
        code = bytes.isEmpty || bytes.count > 4 ? 0 : bytes.reduce(0) { $0 << 8 | UInt32($1) }
    }

    @inline(__always)
    init(stringLiteral value: StaticString) {
        precondition(value.utf8CodeUnitCount <= 4, "EDIFACT codes have at most four characters")
        self.init(UnsafeBufferPointer(start: value.utf8Start, count: value.utf8CodeUnitCount))
    }

    var description: String {
        String(decoding: (0 ..< 4).reversed().map { UInt8(truncatingIfNeeded: code >> ($0 * 8)) }.filter { $0 != 0 }, as: UTF8.self)
    }
}

/// One segment: its tag and its data elements, each a list of components. A segment is a view
/// (the interchange's storage and an index) that keeps only where its data lies: components are
/// found by walking those few bytes when a decoder asks, which costs less than building a table
/// of every component of every segment up front.
struct EdifactSegment {
    fileprivate let storage: EdifactStorage
    fileprivate let index: Int

    fileprivate struct Head {
        var tag: EdifactCode
        var number: Int32
        var line: Int32
        /// The data after the tag and its element separator, up to (not including) the terminator.
        var start: Int32
        var end: Int32
    }

    private var head: Head { storage.heads[index] }

    var tag: EdifactCode { head.tag }
    /// 1-based position in the interchange (UNA not counted), as EDIFACT tools number them.
    var number: Int { Int(head.number) }
    /// Line of the original input the segment starts on.
    var line: Int { Int(head.line) }

    /// Component `component` of data element `element` (both 0-based, the tag not counted), or
    /// `nil` when absent or empty.
    subscript(element: Int, component: Int = 0) -> String? {
        var found: String?
        forEachComponent(of: element) { c, range, dirty in
            guard c == component else { return c < component }
            if !range.isEmpty { found = storage.text(range, dirty: dirty) }
            return false
        }
        return found
    }

    /// Component `component` of element `element` as a code, for comparing qualifiers without
    /// building a string; `.none` when absent, empty or longer than four characters.
    func code(_ element: Int, _ component: Int = 0) -> EdifactCode {
        var found = EdifactCode.none
        forEachComponent(of: element) { c, range, dirty in
            guard c == component else { return c < component }
            found = dirty ? EdifactCode(storage.text(range, dirty: true).utf8) : EdifactCode(storage.bytes[range].trimmingASCIIWhitespace())
            return false
        }
        return found
    }

    /// All non-empty components of one element, in order.
    func components(_ element: Int) -> [String] {
        var out: [String] = []
        forEachComponent(of: element) { _, range, dirty in
            if !range.isEmpty { out.append(storage.text(range, dirty: dirty)) }
            return true
        }
        return out
    }

    /// How many data elements the segment has (trailing empty ones included).
    var elementCount: Int {
        var n = 0
        walk { e, _, _, _ in n = e + 1; return true }
        return n
    }

    /// Calls `body` with each component of `element` (its index, byte range, and whether it holds
    /// release characters or line breaks) until `body` returns false.
    private func forEachComponent(of element: Int, _ body: (Int, Range<Int>, Bool) -> Bool) {
        walk { e, c, range, dirty in
            if e < element { return true }
            return e == element && body(c, range, dirty)
        }
    }

    /// Walks the segment's data: `body` gets element, component, byte range and the dirty flag of
    /// each component in order, and stops the walk by returning false.
    private func walk(_ body: (Int, Int, Range<Int>, Bool) -> Bool) {
        let h = head
        guard h.start < h.end else { return }
        let sep = storage.separators
        // No release character: a value no byte can take.
        let release = sep.release.map(UInt16.init) ?? 0x100
        storage.bytes.withUnsafeBufferPointer { b in
            let end = Int(h.end)
            var e = 0, c = 0, i = Int(h.start), valueStart = i, dirty = false
            while true {
                if i >= end || b[i] == sep.element || b[i] == sep.component {
                    guard body(e, c, valueStart ..< min(i, end), dirty), i < end else { return }
                    if b[i] == sep.element { e += 1; c = 0 } else { c += 1 }
                    i += 1
                    valueStart = i
                    dirty = false
                } else if UInt16(b[i]) == release {
                    dirty = true
                    i += 2
                } else {
                    if b[i] == 0x0A || b[i] == 0x0D { dirty = true }
                    i += 1
                }
            }
        }
    }

    /// `line 12, segment 14 (NAD)`, optionally with `element 4` (1-based, as in implementation guides).
    func location(element: Int? = nil) -> String {
        var s = "line \(line), segment \(number) (\(tag))"
        if let element { s += ", element \(element + 1)" }
        return s
    }
}

/// A parsed EDIFACT interchange: tolerant of how messages travel (SITA Type-B and e-mail
/// wrapping, headers and footers around it, any separators), strict about structure (every
/// segment terminated, `UNH`/`UNT` and `UNB`/`UNZ` references paired).
struct EdifactInterchange {
    private(set) var separators = EdifactSeparators()
    private(set) var segments: EdifactSegments
    let format: FeedFormat

    /// Longest segment accepted, in bytes: PNR free text runs to a few kilobytes at most.
    static let maxSegmentBytes = 1 << 20

    init(_ input: [UInt8], format: FeedFormat) throws(FormatError) {
        self.format = format
        guard let start = Self.interchangeStart(input) else {
            throw FormatError(format, "no UNA or UNB segment: not an EDIFACT interchange")
        }
        var line = 1 + input[..<start].count(where: { $0 == 0x0A })
        var i = start
        if input[i...].starts(with: "UNA".utf8) {
            (separators, i) = try Self.serviceString(input, at: i, format: format)
        }
        // Character set from UNB's syntax identifier (`UNB+UNOC:3`): UNOC…UNOK are ISO 8859 (read
        // as Latin-1, exact for UNOC, the one seen in practice), UNOW and UNOY are UTF-8, the rest ASCII.
        let syntaxID = Self.find("UNB", in: input, from: i).map { String(decoding: input[($0 + 3)...].dropFirst().prefix(4), as: UTF8.self) } ?? ""
        let latin1 = syntaxID.hasPrefix("UNO") && ("UNOC"..."UNOK").contains(syntaxID)
        let utf8Syntax = syntaxID == "UNOW" || syntaxID == "UNOY"
        // One table of segments that every segment view shares: a few allocations per
        // interchange rather than one (or several) per segment.
        var heads: [EdifactSegment.Head] = []
        let (sep, fmt) = (separators, format)
        try input.withUnsafeBufferPointer { (b) throws(FormatError) in
            try Self.scan(b, from: i, separators: sep, format: fmt, line: &line, utf8Syntax: utf8Syntax, into: &heads)
        }
        segments = EdifactSegments(storage: EdifactStorage(bytes: input, heads: heads, separators: separators, latin1: latin1))
        try checkEnvelope()
    }

    /// Where the interchange begins: `UNA` if present, else `UNB`. Anything before it (a
    /// teletype routing header, mail headers) is not part of the message.
    private static func interchangeStart(_ b: [UInt8]) -> Int? {
        find("UNA", in: b, from: 0, wordStart: true) ?? find("UNB", in: b, from: 0, wordStart: true)
    }

    /// Where `tag` next occurs at or after `from` (when `wordStart`, only where no letter or
    /// digit precedes it).
    private static func find(_ tag: StaticString, in b: [UInt8], from: Int, wordStart: Bool = false) -> Int? {
        var i = from
        while let j = b.firstIndex(of: tag, from: i) {
            if !wordStart || j == 0 || !isAlnum(b[j - 1]) { return j }
            i = j + 1
        }
        return nil
    }

    /// Reads `UNA:+.? '`. Real feeds get it wrong: a character missing (`UNA:+\*'`) or a
    /// typographic quote as terminator (`UNA:+.\*’`). When the declared terminator is not the
    /// one that actually ends the `UNB` segment, the observed one wins and the release
    /// character is taken from the characters declared, so such messages still read.
    /// Returns the separators and where the segment after the service string starts.
    private static func serviceString(_ b: [UInt8], at i: Int, format: FeedFormat) throws(FormatError) -> (EdifactSeparators, Int) {
        guard i + 9 <= b.count else { throw FormatError(format, at: "line 1, UNA", "service string advice is truncated") }
        let declared = Array(b[i + 3 ..< i + 9])
        var s = EdifactSeparators(component: declared[0], element: declared[1],
                                  release: declared[3] == 0x20 ? nil : declared[3], terminator: declared[5])
        guard s.component != s.element, !isAlnum(s.component), !isAlnum(s.element) else {
            throw FormatError(format, at: "line 1, UNA", "component separator '\(Character(Unicode.Scalar(s.component)))' and data element separator '\(Character(Unicode.Scalar(s.element)))' must be distinct punctuation")
        }
        // The UNB segment that follows must end in the terminator; find what it really ends in.
        guard let unb = find("UNB", in: b, from: i + 3),
              let unh = find("UNH", in: b, from: unb) ?? find("UNG", in: b, from: unb)
        else { return (s, i + 9) }
        var j = unh - 1
        while j > unb, isSpace(b[j]) { j -= 1 }
        let observed = b[j]
        if observed != s.terminator, !isAlnum(observed), observed < 0x80 {
            let between = b[(i + 3) ..< unb].filter { !isSpace($0) && $0 < 0x80 }
            s.terminator = observed
            s.release = between.first { $0 == UInt8(ascii: "?") || $0 == UInt8(ascii: "\\") }
            return (s, unb)
        }
        return (s, i + 9)
    }

    private static func scan(_ b: UnsafeBufferPointer<UInt8>, from start: Int, separators sep: EdifactSeparators, format: FeedFormat,
                             line: inout Int, utf8Syntax: Bool,
                             into heads: inout [EdifactSegment.Head]) throws(FormatError) {
        let smartQuoteEnds = sep.terminator == UInt8(ascii: "'") && !utf8Syntax
        let release = sep.release.map(UInt16.init) ?? 0x100
        var i = start
        var number = 0
        while i < b.count {
            // Between segments: line breaks and padding are transport, not data.
            while i < b.count, isSpace(b[i]) {
                if b[i] == 0x0A { line += 1 }
                i += 1
            }
            if i >= b.count { break }
            let segLine = line
            let segStart = i
            // Tag: alphanumerics, possibly split by a line break when the transport wrapped it.
            var tagCode: UInt32 = 0, tagLength = 0
            while i < b.count, b[i] != sep.element, b[i] != sep.terminator, b[i] != sep.component {
                // Spaces after a complete tag (`UNG *PAXLST`) are padding some senders add.
                if b[i] == 0x20, tagLength == 3 { i += 1; continue }
                if b[i] == 0x0A { line += 1 } else if b[i] != 0x0D {
                    guard isAlnum(b[i]), tagLength < 3 else {
                        number += 1
                        throw FormatError(format, at: "line \(line), segment \(number)",
                                          "expected a segment tag of three letters, found '\(String(decoding: b[segStart...i].prefix(20), as: UTF8.self))'")
                    }
                    tagCode = tagCode << 8 | UInt32(b[i])
                    tagLength += 1
                }
                i += 1
            }
            number += 1
            let tag = EdifactCode(code: tagCode)
            guard tagLength == 3 else {
                let found = String(decoding: b[segStart ..< i].filter(isAlnum), as: UTF8.self)
                throw FormatError(format, at: "line \(segLine), segment \(number)", i >= b.count ? "input ends inside a segment tag" : "expected a segment tag of three letters, found '\(found)'")
            }
            var terminated = false
            var dataStart = i, dataEnd = i
            if i < b.count, b[i] == sep.terminator {
                i += 1
                terminated = true
            } else if i < b.count, b[i] == sep.element {
                i += 1
                dataStart = i
                while i < b.count {
                    let c = b[i]
                    // Messages retyped from PDF guides end segments with a typographic apostrophe
                    // (U+2019); in the ASCII-based character sets EDIFACT feeds use it cannot be data.
                    if c == sep.terminator || (smartQuoteEnds && c == 0xE2 && i + 2 < b.count && b[i + 1] == 0x80 && b[i + 2] == 0x99) {
                        dataEnd = i
                        i += c == sep.terminator ? 1 : 3
                        terminated = true
                        break
                    }
                    if UInt16(c) == release { i += 2; continue }
                    if c == 0x0A { line += 1 }
                    i += 1
                }
                // Checked once the end is found, not per byte: the scan allocates nothing per
                // byte, so a long segment costs time in proportion to its length, no more.
                if i - segStart > Self.maxSegmentBytes {
                    throw FormatError(format, at: "line \(segLine), segment \(number) (\(tag))", "segment longer than \(Self.maxSegmentBytes) bytes")
                }
                // A last UNZ that lacks only its terminator (saved without it) is complete;
                // one that runs on over further lines is garbage, not a trailer.
                if !terminated, tag == "UNZ", b[dataStart...].trimmingASCIIWhitespace().firstIndex(of: 0x0A) == nil {
                    dataEnd = b[dataStart...].trimmingASCIIWhitespace().endIndex
                    terminated = true
                }
            }
            guard terminated else {
                throw FormatError(format, at: "line \(segLine), segment \(number) (\(tag))",
                                  "input ends inside the segment: no terminator '\(Character(Unicode.Scalar(sep.terminator)))' (truncated message?)")
            }
            heads.append(.init(tag: tag, number: Int32(number), line: Int32(segLine), start: Int32(dataStart), end: Int32(max(dataStart, dataEnd))))
            // The interchange ends with UNZ; what follows (a mail footer) is not part of it.
            if tag == "UNZ" { break }
            if tag == "UNB", number != 1 {
                throw FormatError(format, at: "line \(segLine), segment \(number) (UNB)", "a second UNB before the UNZ of the first interchange")
            }
        }
    }

    /// UNB first, UNZ last with the same control reference; every UNH closed by a UNT with its
    /// reference. Segment counts are not checked: wrapped feeds routinely carry wrong ones.
    private func checkEnvelope() throws(FormatError) {
        guard let first = segments.first, first.tag == "UNB" else {
            throw FormatError(format, at: segments.first?.location(), "interchange must start with UNB")
        }
        guard let last = segments.last, last.tag == "UNZ" else {
            throw FormatError(format, at: segments.last?.location(), "no UNZ trailer after the last segment (truncated interchange?)")
        }
        // UNZ's control reference is not compared with UNB's: airline test and production feeds
        // alike carry mismatches, and the reference adds nothing to the events.
        var open: EdifactSegment?
        for s in segments {
            switch s.tag {
            case "UNH":
                if let o = open { throw FormatError(format, at: s.location(), "UNH before the UNT of message '\(o[0] ?? "")' (\(o.location()))") }
                guard s[0] != nil else { throw FormatError(format, at: s.location(element: 0), "message reference number is missing") }
                open = s
            case "UNT":
                guard open != nil else { throw FormatError(format, at: s.location(), "UNT without a UNH") }
                // UNT's reference is not compared with UNH's: feeds omit or mistype it (`140211180 0`),
                // and the pairing itself is what delimits the message.
                open = nil
            case "UNZ", "UNE", "UNG", "UNB":
                if let o = open { throw FormatError(format, at: s.location(), "\(s.tag) inside message '\(o[0] ?? "")': its UNT is missing") }
            default:
                guard open != nil else { throw FormatError(format, at: s.location(), "segment outside a UNH…UNT message") }
            }
        }
    }

}

/// What UNB says about an interchange: who sent it, its control reference, when it was prepared.
struct EdifactEnvelope {
    var sender: String
    var reference: String
    var prepared: EventTime?
    /// The year two-digit years are resolved against: the preparation year, never the wall clock.
    var referenceYear: Int
}

extension EdifactInterchange {
    var envelope: EdifactEnvelope {
        let unb = segments[0]
        let prepared = unb[3].flatMap { EdifactDate.time($0 + (unb[3, 1] ?? "0000"), qualifier: "201", referenceYear: 2000) }
        return EdifactEnvelope(sender: unb[1] ?? "unknown", reference: unb[4] ?? "", prepared: prepared,
                               referenceYear: prepared.map { Int($0.dateText.prefix(4))! } ?? 2000)
    }

    /// Each UNH…UNT message, checked to be of `type`: its UNH and the segments between UNH and UNT.
    func messages(of type: String) throws(FormatError) -> [(header: EdifactSegment, body: Slice<EdifactSegments>)] {
        var out: [(header: EdifactSegment, body: Slice<EdifactSegments>)] = []
        var i = 0
        while i < segments.count {
            guard segments[i].tag == "UNH" else { i += 1; continue }
            let unh = segments[i]
            guard unh[1] == type else {
                throw FormatError(format, at: unh.location(element: 1), "message type '\(unh[1] ?? "")' is not \(type)")
            }
            // checkEnvelope guarantees the UNT.
            var j = i + 1
            while segments[j].tag != "UNT" { j += 1 }
            out.append((unh, segments[(i + 1) ..< j]))
            i = j + 1
        }
        return out
    }
}

/// The segments of an interchange, in order.
struct EdifactSegments: RandomAccessCollection {
    fileprivate let storage: EdifactStorage
    var startIndex: Int { 0 }
    var endIndex: Int { storage.heads.count }
    subscript(position: Int) -> EdifactSegment { EdifactSegment(storage: storage, index: position) }
}

/// The interchange's bytes and the tables of its segments and components, shared by the
/// segment views.
final class EdifactStorage: Sendable {
    let bytes: [UInt8]
    fileprivate let heads: [EdifactSegment.Head]
    let separators: EdifactSeparators
    let latin1: Bool

    fileprivate init(bytes: [UInt8], heads: [EdifactSegment.Head], separators: EdifactSeparators, latin1: Bool) {
        self.bytes = bytes
        self.heads = heads
        self.separators = separators
        self.latin1 = latin1
    }

    /// A component's text: release characters and transport line breaks removed (when `dirty`),
    /// decoded as Latin-1 or UTF-8 (invalid sequences become U+FFFD, never a crash), trimmed.
    fileprivate func text(_ range: Range<Int>, dirty: Bool) -> String {
        var raw: ArraySlice<UInt8> = bytes[range]
        if dirty {
            var out: [UInt8] = []
            out.reserveCapacity(range.count)
            var i = range.lowerBound
            while i < range.upperBound {
                let c = bytes[i]
                if c == separators.release, i + 1 < range.upperBound {
                    out.append(bytes[i + 1])
                    i += 2
                    continue
                }
                if c != 0x0A && c != 0x0D { out.append(c) }
                i += 1
            }
            raw = out[...]
        }
        raw = raw.trimmingASCIIWhitespace()
        if latin1, raw.contains(where: { $0 >= 0x80 }) {
            return String(latin1: raw)
        }
        return String(decoding: raw, as: UTF8.self)
    }
}

@inline(__always) private func isAlnum(_ c: UInt8) -> Bool {
    (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A)
}

@inline(__always) private func isSpace(_ c: UInt8) -> Bool { c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09 }

/// EDIFACT date/time values (DTM format qualifiers 101, 102, 201, 203, 204 and the bare forms
/// airlines send without a qualifier).
enum EdifactDate {
    /// Two-digit years are resolved against the message's own date, never the wall clock, so a
    /// replay decodes the same: `past` picks the latest year not after the reference (dates of
    /// birth), otherwise the year nearest to it (flights, document expiry).
    static func year(_ yy: Int, reference: Int, past: Bool) -> Int {
        let century = reference / 100 * 100
        var y = century + yy
        if past {
            if y > reference { y -= 100 }
        } else {
            if y > reference + 50 { y -= 100 } else if y < reference - 50 { y += 100 }
        }
        return y
    }

    /// Parses digits in `YYMMDD`, `CCYYMMDD`, `YYMMDDHHMM`, `CCYYMMDDHHMM` or
    /// `CCYYMMDDHHMMSS` (chosen by length, or by the format qualifier when given).
    static func parse(_ text: String, qualifier: String? = nil, referenceYear: Int, past: Bool) -> (date: (Int, Int, Int), time: (Int, Int, Int)?)? {
        let d = Array(text.utf8)
        guard d.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
        func n(_ from: Int, _ len: Int) -> Int { d[from ..< from + len].reduce(0) { $0 * 10 + Int($1 - 0x30) } }
        switch (qualifier, d.count) {
        case ("101", 6), (nil, 6):
            return ((year(n(0, 2), reference: referenceYear, past: past), n(2, 2), n(4, 2)), nil)
        case ("102", 8), (nil, 8):
            return ((n(0, 4), n(4, 2), n(6, 2)), nil)
        case ("201", 10), (nil, 10):
            return ((year(n(0, 2), reference: referenceYear, past: past), n(2, 2), n(4, 2)), (n(6, 2), n(8, 2), 0))
        case ("203", 12), (nil, 12):
            return ((n(0, 4), n(4, 2), n(6, 2)), (n(8, 2), n(10, 2), 0))
        case ("204", 14), (nil, 14):
            return ((n(0, 4), n(4, 2), n(6, 2)), (n(8, 2), n(10, 2), n(12, 2)))
        default:
            return nil
        }
    }

    static func time(_ text: String, qualifier: String? = nil, referenceYear: Int) -> EventTime? {
        guard let p = parse(text, qualifier: qualifier, referenceYear: referenceYear, past: false) else { return nil }
        let t = p.time ?? (0, 0, 0)
        return EventTime(year: p.date.0, month: p.date.1, day: p.date.2, hour: t.0, minute: t.1, second: t.2)
    }

    /// `YYYY-MM-DD`, validated.
    static func day(_ text: String, qualifier: String? = nil, referenceYear: Int, past: Bool) -> String? {
        guard let p = parse(text, qualifier: qualifier, referenceYear: referenceYear, past: past) else { return nil }
        return EventTime.dateText(year: p.date.0, month: p.date.1, day: p.date.2)
    }

    /// PNRGOV's day-first dates: `DDMMYY` with an optional `HHMM` time.
    static func dayFirst(_ date: String, time: String?, referenceYear: Int) -> EventTime? {
        let d = Array(date.utf8)
        guard d.count == 6, d.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
        func n(_ a: [UInt8], _ from: Int) -> Int { Int(a[from] - 0x30) * 10 + Int(a[from + 1] - 0x30) }
        var hour = 0, minute = 0
        if let time, !time.isEmpty {
            let t = Array(time.utf8)
            guard t.count == 4, t.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
            hour = n(t, 0)
            minute = n(t, 2)
        }
        return EventTime(year: year(n(d, 4), reference: referenceYear, past: false), month: n(d, 2), day: n(d, 0),
                         hour: hour, minute: minute)
    }

    /// `DDMMMYY` as in SSR DOCS (`12JUL64`) → `YYYY-MM-DD`.
    static func dayMonthName(_ text: String, referenceYear: Int, past: Bool) -> String? {
        let u = Array(text.uppercased().utf8)
        guard u.count == 7 || u.count == 9 else { return nil }
        let months = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]
        guard let dd = Int(String(decoding: u[0..<2], as: UTF8.self)),
              let m = months.firstIndex(of: String(decoding: u[2..<5], as: UTF8.self)),
              let yy = Int(String(decoding: u[5...], as: UTF8.self)) else { return nil }
        let y = u.count == 9 ? yy : year(yy, reference: referenceYear, past: past)
        return EventTime.dateText(year: y, month: m + 1, day: dd)
    }
}
