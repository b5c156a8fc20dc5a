import VigilCore

/// A small, safe XML reader for business messages (ISO 20022): elements, attributes, text,
/// comments, CDATA, processing instructions, the five predefined entities and character
/// references — and nothing that lets input make the reader do unbounded work: a DOCTYPE (and so
/// any entity definition or expansion) is refused, nesting is capped at
/// `DecodeLimits.maxXMLDepth`, and input must be well-formed UTF-8.
///
/// Namespace prefixes are dropped from names (`head:AppHdr` reads as `AppHdr`); the root
/// `Document` namespace, which names the ISO 20022 message, is kept on each element as `xmlns`.
package final class XMLElement {
    package let name: String
    package let line: Int
    // Constants, made once the element is read: as variables of a class, every append of a
    // child went through the runtime's exclusivity check (a tenth of reading a camt.053).
    package let attributes: [(name: String, value: String)]
    package let text: String
    package let children: [XMLElement]

    init(name: String, line: Int, attributes: [(name: String, value: String)], text: String = "", children: [XMLElement] = []) {
        self.name = name
        self.line = line
        self.attributes = attributes
        self.text = text
        self.children = children
    }

    package func attribute(_ name: String) -> String? { attributes.first { $0.name == name }?.value }

    /// The first child with this local name.
    package func child(_ name: String) -> XMLElement? { children.first { $0.name == name } }

    /// All children with this local name.
    package func children(_ name: String) -> [XMLElement] { children.filter { $0.name == name } }

    /// The element at a `/`-separated path of child names below this one.
    package func at(_ path: String) -> XMLElement? {
        // Walked without splitting the path into an array: decoders look up dozens of paths
        // per transaction.
        var e = self
        var rest = Substring(path)
        while true {
            let slash = rest.utf8.firstIndex(of: UInt8(ascii: "/"))
            let step = slash.map { rest[..<$0] } ?? rest
            guard let next = e.children.first(where: { $0.name == step }) else { return nil }
            e = next
            guard let slash else { return e }
            rest = rest[rest.utf8.index(after: slash)...]
        }
    }

    /// Trimmed text at a path, `nil` when absent or empty.
    package subscript(_ path: String) -> String? {
        guard let t = at(path)?.text, !t.isEmpty else { return nil }
        return t
    }

    /// Every descendant (depth first) with this local name.
    ///
    /// Walked recursively (the depth is at most ``DecodeLimits/maxXMLDepth``): a stack of the
    /// children reversed copied and retained every element, and finding a message's Document
    /// and AppHdr so was a seventh of decoding a pacs.008.
    package func descendants(_ name: String) -> [XMLElement] {
        var out: [XMLElement] = []
        _ = walk { e in
            if e.name == name { out.append(e) }
            return true
        }
        return out
    }

    /// The first of ``descendants(_:)``, without walking on past it.
    package func firstDescendant(_ name: String) -> XMLElement? {
        var found: XMLElement?
        _ = walk { e in
            if e.name == name { found = e }
            return found == nil
        }
        return found
    }

    /// Visits the descendants depth first while `visit` says to go on; false once it said stop.
    private func walk(_ visit: (XMLElement) -> Bool) -> Bool {
        for c in children {
            guard visit(c), c.walk(visit) else { return false }
        }
        return true
    }

    /// `/Document/FIToFICstmrCdtTrf/CdtTrfTxInf[2]`: where `target` sits below this element,
    /// for error messages (found by search, since errors are rare and elements keep no parent).
    package func path(to target: XMLElement) -> String? {
        steps(to: target).map { "/" + $0.joined(separator: "/") }
    }

    private func steps(to target: XMLElement) -> [String]? {
        if target === self { return [name] }
        for child in children {
            guard let rest = child.steps(to: target) else { continue }
            let namesakes = children.filter { $0.name == child.name }
            let step = namesakes.count > 1 ? "\(child.name)[\(namesakes.firstIndex { $0 === child }! + 1)]" : child.name
            return [name, step] + rest.dropFirst()
        }
        return nil
    }
}

private func isXMLSpace(_ c: UInt8) -> Bool { c == 0x20 || c == 0x09 || c == 0x0A || c == 0x0D }

package struct XMLError: Error {
    package var line: Int
    package var message: String
}

package enum XMLReader {
    /// Parses a whole document and returns its root element.
    package static func parse(_ bytes: [UInt8]) throws(XMLError) -> XMLElement {
        guard String(validating: bytes, as: UTF8.self) != nil else {
            throw XMLError(line: 1 + (firstInvalidUTF8Line(bytes) ?? 0), message: "input is not valid UTF-8")
        }
        var p = Parser(b: bytes)
        return try p.document()
    }

    /// 0-based line of the first invalid UTF-8 sequence (a newline byte never occurs inside one,
    /// so lines can be checked on their own).
    private static func firstInvalidUTF8Line(_ b: [UInt8]) -> Int? {
        for (n, line) in b.split(separator: 0x0A, omittingEmptySubsequences: false).enumerated()
        where String(validating: line, as: UTF8.self) == nil { return n }
        return nil
    }

    private struct Parser {
        let b: [UInt8]
        var i = 0
        var line = 1

        init(b: [UInt8]) { self.b = b }

        func error(_ m: String) -> XMLError { XMLError(line: line, message: m) }

        mutating func document() throws(XMLError) -> XMLElement {
            if b.starts(with: [0xEF, 0xBB, 0xBF]) { i = 3 }
            var root: XMLElement?
            while true {
                skipSpace()
                if i >= b.count { break }
                guard b[i] == UInt8(ascii: "<") else {
                    throw error(root == nil ? "content before the root element (expected '<')" : "content after the root element")
                }
                if startsWith("<?") { try skip(past: "?>", what: "processing instruction") }
                else if startsWith("<!--") { try skip(past: "-->", what: "comment") }
                else if startsWith("<!DOCTYPE") || startsWith("<!doctype") {
                    throw error("DOCTYPE declarations are not accepted (they allow entity expansion); ISO 20022 messages have none")
                } else if startsWith("<!") {
                    throw error("unexpected markup declaration")
                } else {
                    guard root == nil else { throw error("a second root element") }
                    root = try element(depth: 1)
                }
            }
            guard let root else { throw error("no root element (empty document?)") }
            return root
        }

        mutating func element(depth: Int) throws(XMLError) -> XMLElement {
            guard depth <= DecodeLimits.maxXMLDepth else {
                throw error("elements nested deeper than \(DecodeLimits.maxXMLDepth) levels")
            }
            i += 1 // '<'
            let qnameRange = try nameRange()
            let name = local(qnameRange), startLine = line
            var attributes: [(name: String, value: String)] = []
            var children: [XMLElement] = []
            var qname: String { String(decoding: b[qnameRange], as: UTF8.self) }
            // Attributes.
            while true {
                skipSpace()
                guard i < b.count else { throw error("input ends inside the start tag of <\(qname)>") }
                if b[i] == UInt8(ascii: "/") {
                    guard i + 1 < b.count, b[i + 1] == UInt8(ascii: ">") else { throw error("expected '/>' in <\(qname)>") }
                    i += 2
                    return XMLElement(name: name, line: startLine, attributes: attributes)
                }
                if b[i] == UInt8(ascii: ">") { i += 1; break }
                let an = String(decoding: b[try nameRange()], as: UTF8.self)
                skipSpace()
                guard i < b.count, b[i] == UInt8(ascii: "=") else { throw error("attribute '\(an)' of <\(qname)> has no value") }
                i += 1
                skipSpace()
                guard i < b.count, b[i] == UInt8(ascii: "\"") || b[i] == UInt8(ascii: "'") else {
                    throw error("attribute '\(an)' of <\(qname)>: value must be quoted")
                }
                let quote = b[i]
                i += 1
                let start = i
                while i < b.count, b[i] != quote {
                    if b[i] == UInt8(ascii: "<") { throw error("'<' inside the value of attribute '\(an)'") }
                    if b[i] == 0x0A { line += 1 }
                    i += 1
                }
                guard i < b.count else { throw error("input ends inside attribute '\(an)' of <\(qname)>") }
                let value = try unescape(start, i)
                i += 1
                if an.hasPrefix("xmlns:") || an == "xmlns" {
                    // Keep the namespace the element itself is in (`xmlns`, or `xmlns:pacs` on `pacs:Document`).
                    let prefix = b[qnameRange].firstIndex(of: UInt8(ascii: ":")).map { String(decoding: b[qnameRange.lowerBound ..< $0], as: UTF8.self) }
                    if (an == "xmlns" && prefix == nil) || an == "xmlns:" + (prefix ?? "") {
                        attributes.removeAll { $0.name == "xmlns" }
                        attributes.append(("xmlns", value))
                    } else if !attributes.contains(where: { $0.name == "xmlns" }) {
                        // Only prefixed declarations on an unprefixed element (seen in the wild): the
                        // first stands in, so the message can still be identified.
                        attributes.append(("xmlns", value))
                    }
                } else {
                    attributes.append((local(an), value))
                }
            }
            // Content. Character data is kept as a byte range while it is one uninterrupted run
            // (the usual case: a value, or the whitespace between children); only an entity,
            // CDATA section, comment or child that interrupts non-blank text starts a buffer.
            var buffer: [UInt8]?
            var run = i
            func flush(_ end: Int) {
                let text = b[run ..< end]
                guard !text.isEmpty, buffer != nil || !text.allSatisfy(isXMLSpace) else { return }
                buffer = (buffer ?? []) + text
            }
            while true {
                guard i < b.count else { throw error("input ends inside <\(qname)> (no closing tag)") }
                let c = b[i]
                if c == UInt8(ascii: "<") {
                    if startsWith("</") {
                        let textEnd = i
                        i += 2
                        let close = try nameRange()
                        guard b[close] == b[qnameRange] else {
                            throw error("closing tag </\(String(decoding: b[close], as: UTF8.self))> does not match <\(qname)>")
                        }
                        skipSpace()
                        guard i < b.count, b[i] == UInt8(ascii: ">") else { throw error("expected '>' after </\(qname)") }
                        i += 1
                        let text: String
                        if var buffer {
                            buffer += b[run ..< textEnd]
                            text = String(decoding: buffer.trimmingASCIIWhitespace(), as: UTF8.self)
                        } else {
                            text = String(decoding: b[run ..< textEnd].trimmingASCIIWhitespace(), as: UTF8.self)
                        }
                        return XMLElement(name: name, line: startLine, attributes: attributes, text: text, children: children)
                    }
                    flush(i)
                    if startsWith("<!--") {
                        try skip(past: "-->", what: "comment")
                    } else if startsWith("<![CDATA[") {
                        i += 9
                        let start = i
                        try skip(past: "]]>", what: "CDATA section")
                        buffer = (buffer ?? []) + b[start ..< i - 3]
                    } else if startsWith("<?") {
                        try skip(past: "?>", what: "processing instruction")
                    } else if startsWith("<!") {
                        throw error("unexpected markup declaration inside <\(qname)>")
                    } else {
                        children.append(try element(depth: depth + 1))
                    }
                    run = i
                } else if c == UInt8(ascii: "&") {
                    flush(i)
                    let start = i
                    while i < b.count, b[i] != UInt8(ascii: ";"), i - start < 12 { i += 1 }
                    guard i < b.count, b[i] == UInt8(ascii: ";") else { throw error("unterminated entity reference") }
                    i += 1
                    buffer = (buffer ?? []) + Array(try unescape(start, i).utf8)
                    run = i
                } else {
                    if c == 0x0A { line += 1 }
                    i += 1
                }
            }
        }

        /// The bytes of a name at the cursor, which moves past it.
        mutating func nameRange() throws(XMLError) -> Range<Int> {
            let start = i
            while i < b.count {
                let c = b[i]
                if c == 0x20 || c == 0x09 || c == 0x0A || c == 0x0D || c == UInt8(ascii: ">") || c == UInt8(ascii: "/")
                    || c == UInt8(ascii: "=") || c == UInt8(ascii: "<") { break }
                i += 1
            }
            guard i > start else { throw error("expected a name") }
            return start ..< i
        }

        /// The local part of a qualified name (`head:AppHdr` → `AppHdr`).
        func local(_ q: Range<Int>) -> String {
            let colon = b[q].firstIndex(of: UInt8(ascii: ":"))
            return String(decoding: b[(colon.map { $0 + 1 } ?? q.lowerBound) ..< q.upperBound], as: UTF8.self)
        }

        func local(_ q: String) -> String {
            guard let colon = q.utf8.firstIndex(of: UInt8(ascii: ":")) else { return q }
            return String(q[q.index(after: colon)...])
        }

        /// Text with `&amp;` `&lt;` `&gt;` `&quot;` `&apos;` and `&#…;` replaced; any other entity is an error.
        func unescape(_ from: Int, _ to: Int) throws(XMLError) -> String {
            let slice = b[from ..< to]
            guard slice.contains(UInt8(ascii: "&")) else { return String(decoding: slice, as: UTF8.self) }
            var out = ""
            var k = from
            while k < to {
                if b[k] == UInt8(ascii: "&") {
                    guard let semi = b[k ..< to].firstIndex(of: UInt8(ascii: ";")) else { throw error("unterminated entity reference") }
                    let ref = String(decoding: b[k + 1 ..< semi], as: UTF8.self)
                    switch ref {
                    case "amp": out += "&"
                    case "lt": out += "<"
                    case "gt": out += ">"
                    case "quot": out += "\""
                    case "apos": out += "'"
                    default:
                        let value: UInt32?
                        if ref.hasPrefix("#x") { value = UInt32(ref.dropFirst(2), radix: 16) }
                        else if ref.hasPrefix("#") { value = UInt32(ref.dropFirst(), radix: 10) }
                        else { throw error("undefined entity '&\(ref);' (only the five predefined entities are allowed)") }
                        guard let v = value, let scalar = Unicode.Scalar(v), v != 0 else { throw error("invalid character reference '&\(ref);'") }
                        out.unicodeScalars.append(scalar)
                    }
                    k = semi + 1
                } else {
                    let next = b[k ..< to].firstIndex(of: UInt8(ascii: "&")) ?? to
                    out += String(decoding: b[k ..< next], as: UTF8.self)
                    k = next
                }
            }
            return out
        }

        func startsWith(_ s: StaticString) -> Bool {
            let n = s.utf8CodeUnitCount
            guard i + n <= b.count else { return false }
            let p = s.utf8Start
            for k in 0 ..< n where b[i + k] != p[k] { return false }
            return true
        }

        mutating func skip(past end: StaticString, what: String) throws(XMLError) {
            let n = end.utf8CodeUnitCount
            let p = end.utf8Start
            while i + n <= b.count {
                // The rest compared only where the first byte matches: a comment's text is
                // mostly anything but `-`.
                if b[i] == p[0], startsWith(end) { i += n; return }
                if b[i] == 0x0A { line += 1 }
                i += 1
            }
            throw error("input ends inside a \(what)")
        }

        mutating func skipSpace() {
            while i < b.count, b[i] == 0x20 || b[i] == 0x09 || b[i] == 0x0A || b[i] == 0x0D {
                if b[i] == 0x0A { line += 1 }
                i += 1
            }
        }
    }
}
