import Foundation
import VigilCore

/// The message formats Vigil reads. Each decodes one business message (one Kafka message, one
/// file) into canonical events.
public enum FeedFormat: String, Sendable, Hashable, CaseIterable, Codable {
    /// Canonical JSON (PRODUCT.md), one object per message: a transaction, or a passenger
    /// event (an object with a `traveller`).
    case json
    /// Any ISO 20022 message, told apart by its Document namespace (what `auto` picks for XML).
    case iso20022
    /// ISO 20022 FI-to-FI payments: credit transfers pacs.008 and pacs.009, payment returns
    /// pacs.004, direct debits pacs.003 and pacs.010.
    case pacs008
    /// ISO 20022 customer initiation: credit transfers pain.001 and direct debits pain.008.
    case pain001
    /// ISO 20022 bank-to-customer statement.
    case camt053
    /// ISO 20022 bank-to-customer debit/credit notification.
    case camt054
    /// SWIFT FIN customer transfers: MT103 (single customer credit transfer) and MT101 (request
    /// for transfer, one event per transaction), single or RJE batch.
    case mt103
    /// SWIFT FIN institution transfers: MT202 and MT202 COV, MT205, MT200 (to the sender's own
    /// account), MT203 (several at once) and MT204 (a direct debit of other institutions).
    case mt202
    /// SWIFT statements: MT940 (customer statement), MT950 and MT942 (interim report), in a
    /// FIN envelope or as banks export them (fields only, statements one after another).
    case mt940
    /// Fedwire Funds Service FAIM tag format.
    case fedwire
    /// CSV export, columns mapped in the configuration.
    case csv
    /// UN/EDIFACT PAXLST (advance passenger information).
    case paxlst
    /// UN/EDIFACT PNRGOV (passenger name record push).
    case pnrgov

    /// What each format produces.
    public var producesPassengers: Bool { self == .paxlst || self == .pnrgov }

    /// Recognises a message by its content: XML root namespace, EDIFACT message type, SWIFT
    /// block 2 message type, Fedwire tags, JSON. `nil` when nothing matches; CSV is never guessed
    /// (any text could be CSV), it must be declared.
    public static func detect(_ bytes: [UInt8]) -> FeedFormat? {
        let head = bytes.prefix(4096)
        let text = String(decoding: head, as: UTF8.self)
        let body = text.drop { $0 == "\u{FEFF}" || $0.isWhitespace }
        // SWIFT FIN and Fedwire start with '{' too, so they are told apart before JSON.
        if body.hasPrefix("{1:") || body.hasPrefix("{2:") {
            guard let type = SwiftMT.messageType(in: text) else { return nil }
            if type == "103" { return .mt103 }
            if ["200", "202", "203", "204", "205"].contains(String(type.prefix(3))) { return .mt202 }
            if SwiftStatement.messageTypes.contains(String(type.prefix(3))) { return .mt940 }
            // Another MT: the MT decoder says which types it reads.
            return .mt103
        }
        // Fedwire: `{1500}`, a tag of four digits in braces.
        let tag = Array(body.utf8.prefix(6))
        if tag.count == 6, tag[0] == UInt8(ascii: "{"), tag[5] == UInt8(ascii: "}"), tag[1 ..< 5].allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) { return .fedwire }
        if body.hasPrefix("{") { return .json }
        // XML: the ISO 20022 decoder identifies the message by its Document namespace.
        if body.hasPrefix("<") { return .iso20022 }
        if text.contains("UNH") || text.contains("UNB") {
            if text.contains("PAXLST") { return .paxlst }
            if text.contains("PNRGOV") { return .pnrgov }
        }
        // A bank's statement export: fields without an envelope, each statement from a line
        // `:20:`, with its account and opening balance (or an interim report's floor limit).
        if body.hasPrefix(":20:") || text.contains("\n:20:"), text.contains(":25"),
           text.contains(":60F:") || text.contains(":60M:") || text.contains(":34F:") { return .mt940 }
        return nil
    }
}

/// One decoded canonical event.
public enum CanonicalEvent: Sendable, Hashable {
    /// A transaction is one reference (its fields are boxed), so events move cheaply.
    case transaction(Transaction)
    /// Boxed for the same reason: travellers, flights and bookings make a large value.
    indirect case passenger(Passenger)

    public var id: String {
        switch self {
        case .transaction(let t): t.id
        case .passenger(let p): p.id
        }
    }

    /// Decodes one canonical JSON object. Transactions first, as the hot path: a passenger
    /// event is tried only when that fails and the object names a `traveller`.
    public static func fromJSON(_ bytes: [UInt8]) throws(EventDecodingError) -> CanonicalEvent {
        do { return .transaction(try CanonicalDecoder.transaction(from: bytes)) } catch {
            guard bytes.firstIndex(of: "\"traveller\"") != nil else { throw error }
            do { return .passenger(try JSONDecoder().decode(Passenger.self, from: Data(bytes))) } catch let e as DecodingError {
                throw Self.passengerError(e)
            } catch {
                throw EventDecodingError(field: nil, reason: "not a passenger event: \(error)")
            }
        }
    }

    /// Where and why a passenger event did not decode, in the canonical decoder's terms.
    private static func passengerError(_ e: DecodingError) -> EventDecodingError {
        func path(_ keys: [any CodingKey]) -> String? {
            keys.isEmpty ? nil : keys.map { $0.intValue.map(String.init) ?? $0.stringValue }.joined(separator: ".")
        }
        switch e {
        case .keyNotFound(let key, let c):
            return EventDecodingError(field: path(c.codingPath + [key]), reason: "is required")
        case .valueNotFound(_, let c), .typeMismatch(_, let c):
            return EventDecodingError(field: path(c.codingPath), reason: "has the wrong type or is null")
        case .dataCorrupted(let c):
            return EventDecodingError(field: path(c.codingPath), reason: c.codingPath.isEmpty ? "not valid JSON" : c.debugDescription)
        @unknown default:
            return EventDecodingError(field: nil, reason: "not a passenger event")
        }
    }

    /// The event as canonical JSON (sorted keys, amounts as strings): the form published to
    /// `fin.transactions` and `pax.*` and printed by `vigil parse`.
    public func json() -> [UInt8] {
        // Encoding values made of strings, numbers and arrays cannot fail.
        switch self {
        case .transaction(let t): t.canonicalJSON
        case .passenger(let p): (try? CanonicalJSON.encode(p)) ?? []
        }
    }
}

/// One business message cut from a file by ``FeedDecoder/split(_:as:)``.
public struct FeedMessage: Sendable, Hashable {
    public var bytes: [UInt8]
    /// Lines of the file before this message's own content: give it to the decoder
    /// (``DecodeOptions/lineOffset``) so positions and made-up ids refer to the file.
    public var lineOffset: Int

    public init(bytes: [UInt8], lineOffset: Int = 0) {
        self.bytes = bytes
        self.lineOffset = lineOffset
    }
}

/// What a decoder needs beyond the bytes.
public struct DecodeOptions: Sendable {
    /// Key of the HMAC that replaces payment-card numbers (PNRGOV FOP). Without one, a PNR that
    /// carries a card number is rejected rather than kept in clear.
    public var cardHashKey: [UInt8]?
    /// Column mapping for `csv`.
    public var csv: CSVMapping?
    /// Recorded as `source.file` on each event.
    public var file: String?
    /// Lines of the file before this message (see ``FeedMessage/lineOffset``): CSV rows report
    /// and are named by their line in the file, not in the cut-out message.
    public var lineOffset = 0
    /// Where the message came from when it has no file (`topic/partition/offset`): CSV rows
    /// without an id column are named after it, so ids stay unique across messages.
    public var origin: String?

    public init(cardHashKey: [UInt8]? = nil, csv: CSVMapping? = nil, file: String? = nil, lineOffset: Int = 0, origin: String? = nil) {
        self.cardHashKey = cardHashKey
        self.csv = csv
        self.file = file
        self.lineOffset = lineOffset
        self.origin = origin
    }
}

/// The one entry point: bytes of one business message in, its canonical events out.
public enum FeedDecoder {
    /// Cuts a file into business messages, each of which becomes one Kafka message: an RJE
    /// batch into its SWIFT messages, a CSV export into header-plus-row units, JSON Lines into
    /// lines; other formats carry one business message per file.
    public static func split(_ bytes: [UInt8], as format: FeedFormat) -> [FeedMessage] {
        switch format {
        case .mt103, .mt202: return SwiftMT.messages(bytes)
        case .mt940: return SwiftStatement.split(bytes)
        case .csv: return CSVDecoder.splitRows(bytes)
        case .json:
            // JSON Lines (the first line a whole object) into lines, each bad line then failing
            // alone; a pretty-printed object (its first line a lone `{`) stays whole.
            let lines = bytes.split(separator: 0x0A, omittingEmptySubsequences: false).enumerated()
                .map { (n: $0, line: $1.trimmingASCIIWhitespace()) }.filter { !$0.line.isEmpty }
            guard lines.count > 1, let first = lines.first?.line, first.first == UInt8(ascii: "{"), first.last == UInt8(ascii: "}") else {
                return bytes.trimmingASCIIWhitespace().isEmpty ? [] : [FeedMessage(bytes: bytes)]
            }
            return lines.map { FeedMessage(bytes: Array($0.line), lineOffset: $0.n) }
        default: return bytes.trimmingASCIIWhitespace().isEmpty ? [] : [FeedMessage(bytes: bytes)]
        }
    }

    /// Decodes `bytes` as `format`, or as the detected format when `format` is `nil`. Every
    /// event is validated as the canonical JSON decoder would validate it, so downstream stages
    /// cannot tell which format an event came from.
    public static func decode(_ bytes: [UInt8], as format: FeedFormat?, options: DecodeOptions = DecodeOptions()) throws(FormatError) -> [CanonicalEvent] {
        guard let format = format ?? FeedFormat.detect(bytes) else {
            throw FormatError(nil, "cannot tell the format from the content (expected ISO 20022 XML, SWIFT FIN or a statement export, Fedwire tags, EDIFACT PAXLST/PNRGOV or JSON); declare it with --format")
        }
        guard bytes.count <= DecodeLimits.maxMessageBytes else {
            throw FormatError(format, "message of \(bytes.count) bytes exceeds the \(DecodeLimits.maxMessageBytes)-byte limit")
        }
        let events: [CanonicalEvent]
        switch format {
        case .json:
            do { events = [try CanonicalEvent.fromJSON(bytes)] } catch {
                throw FormatError(.json, at: error.field, error.reason)
            }
        case .paxlst:
            events = try PaxlstDecoder.decode(bytes, file: options.file)
        case .pnrgov:
            events = try PnrgovDecoder.decode(bytes, file: options.file, cardHashKey: options.cardHashKey)
        case .iso20022, .pacs008, .pain001, .camt053, .camt054:
            events = try ISO20022.decode(bytes, expected: format, file: options.file).map(CanonicalEvent.transaction)
        case .mt103, .mt202:
            events = try SwiftMT.decode(bytes, expected: format, file: options.file).map(CanonicalEvent.transaction)
        case .mt940:
            events = try SwiftStatement.decode(bytes, file: options.file, lineOffset: options.lineOffset).map(CanonicalEvent.transaction)
        case .fedwire:
            events = try Fedwire.decode(bytes, file: options.file).map(CanonicalEvent.transaction)
        case .csv:
            guard let mapping = options.csv else {
                throw FormatError(.csv, "no column mapping configured (formats.csv in the configuration)")
            }
            events = try CSVDecoder.decode(bytes, mapping: mapping, options: options).map(CanonicalEvent.transaction)
        }
        guard events.count <= DecodeLimits.maxEventsPerMessage else {
            throw FormatError(format, "message yields \(events.count) events, more than the limit of \(DecodeLimits.maxEventsPerMessage)")
        }
        // Canonical JSON was validated as it was read; the native decoders' events are checked here.
        for case .transaction(let t) in events where format != .json {
            do { try CanonicalDecoder.validate(t) } catch {
                throw FormatError(format, at: "event \(t.id), \(error.field ?? "")", error.reason)
            }
        }
        return events
    }
}
