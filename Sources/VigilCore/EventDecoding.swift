import Foundation

/// Why an input could not be turned into a canonical event: what was wrong and where.
public struct EventDecodingError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Dotted path of the offending field (`debtor.account`), or `nil` for the whole message.
    public var field: String?
    public var reason: String

    public init(field: String?, reason: String) {
        self.field = field
        self.reason = reason
    }

    public var description: String {
        if let field { return "field '\(field)': \(reason)" }
        return reason
    }
}

/// Canonical JSON → events, with field-level validation beyond what the JSON types say.
public enum CanonicalDecoder {
    /// The members of a canonical transaction, payment party and source that are read.
    private enum TransactionKey: Int, JSONKey {
        case id, ts, amount, currency, channel, debtor, creditor, reference, source
        static let matcher = keyMatcher(objects: [.debtor: PartyKey.matcher, .creditor: PartyKey.matcher, .source: SourceKey.matcher])
    }

    private enum PartyKey: Int, JSONKey {
        case account, name, country, bic, institution, address, dob, idNumber, phone, email, cardHash
        static let matcher = keyMatcher()
    }

    private enum SourceKey: Int, JSONKey {
        case format, institution, file
        static let matcher = keyMatcher()
    }

    /// The partition key of a canonical transaction: its `debtor.account`, if it can be read,
    /// whatever else is wrong with the message (an invalid one is still keyed like its account's
    /// other messages, so its dead letter keeps their order).
    public static func debtorAccount(in bytes: [UInt8]) -> [UInt8]? {
        guard let account = try? JSONReader.withObject(bytes, TransactionKey.self, { o throws(EventDecodingError) in
            try o.requiredObject(.debtor, PartyKey.self) { p throws(EventDecodingError) in try p.requiredNonNullString(.account) }
        }), !account.isEmpty else { return nil }
        return Array(account.utf8)
    }

    /// Decodes and validates one canonical transaction (one Kafka message value).
    public static func transaction(from bytes: [UInt8]) throws(EventDecodingError) -> Transaction {
        try JSONReader.withObject(bytes, TransactionKey.self) { o throws(EventDecodingError) in
            // Fields are read in this fixed order, so the first error reported is always the same.
            let id = try o.requiredNonNullString(.id), ts = try o.requiredTime(.ts), amount = try o.requiredDecimal(.amount)
            let currency = try o.requiredNonNullString(.currency)
            let (channel, knownChannel) = try o.optionalString(.channel, usually: Self.channels)
            let debtor = try o.requiredObject(.debtor, PartyKey.self, party)
            let creditor = try o.requiredObject(.creditor, PartyKey.self, party)
            let reference = try o.optionalString(.reference)
            let source = try o.optionalObject(.source, SourceKey.self) { s throws(EventDecodingError) in
                EventSource(format: try s.optionalString(.format), institution: try s.optionalString(.institution),
                            file: try s.optionalString(.file))
            }
            // Checked before the transaction is built, so it is built once, in place (a channel
            // read as one of the known ones needs no check).
            try validate(id: id, currency: currency, channel: knownChannel ? nil : channel, debtor: debtor, creditor: creditor)
            return Transaction(id: id, ts: ts, amount: amount, currency: currency, channel: channel, debtor: debtor,
                               creditor: creditor, reference: reference, source: source)
        }
    }

    private static func party(_ o: borrowing JSONObjectReader<PartyKey>) throws(EventDecodingError) -> Party {
        Party(account: try o.requiredNonNullString(.account), name: try o.optionalString(.name),
              country: try o.optionalString(.country), bic: try o.optionalString(.bic),
              institution: try o.optionalString(.institution), address: try o.optionalString(.address),
              dob: try o.optionalString(.dob), idNumber: try o.optionalString(.idNumber), phone: try o.optionalString(.phone),
              email: try o.optionalString(.email), cardHash: try o.optionalString(.cardHash))
    }

    /// The channels, read as these strings: one of them is neither made nor checked per message.
    private static let channels = KnownTexts(Transaction.channels.sorted())

    /// Checks what JSON types cannot: non-empty ids, ISO code shapes, known channels.
    public static func validate(_ tx: Transaction) throws(EventDecodingError) {
        try validate(id: tx.id, currency: tx.currency, channel: tx.channel, debtor: tx.debtor, creditor: tx.creditor)
    }

    private static func validate(id: String, currency: String, channel: String?, debtor: Party, creditor: Party) throws(EventDecodingError) {
        if id.isEmpty { throw EventDecodingError(field: "id", reason: "must not be empty") }
        if !isUpperAlpha(currency, count: 3) {
            throw EventDecodingError(field: "currency", reason: "'\(currency)' is not an ISO 4217 code (three capital letters)")
        }
        if let channel, !Transaction.channels.contains(channel) {
            throw EventDecodingError(field: "channel", reason: "'\(channel)' is not one of \(Transaction.channels.sorted().joined(separator: ", "))")
        }
        try validate(debtor, "debtor")
        try validate(creditor, "creditor")
    }

    private static func validate(_ party: Party, _ role: StaticString) throws(EventDecodingError) {
        if party.account.isEmpty { throw EventDecodingError(field: "\(role).account", reason: "must not be empty") }
        if let country = party.country, !isUpperAlpha(country, count: 2) {
            throw EventDecodingError(field: "\(role).country", reason: "'\(country)' is not an ISO 3166-1 alpha-2 code")
        }
    }

    private static func isUpperAlpha(_ s: String, count: Int) -> Bool {
        s.utf8.count == count && s.utf8.allSatisfy { $0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z") }
    }
}
