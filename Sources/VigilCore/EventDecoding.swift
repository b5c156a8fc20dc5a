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
    /// Decodes and validates one canonical transaction (one Kafka message value).
    public static func transaction(from bytes: [UInt8]) throws(EventDecodingError) -> Transaction {
        let tx: Transaction
        do {
            tx = try JSONDecoder().decode(Transaction.self, from: Data(bytes))
        } catch let error as DecodingError {
            throw describe(error)
        } catch {
            throw EventDecodingError(field: nil, reason: "\(error)")
        }
        try validate(tx)
        return tx
    }

    /// Checks what JSON types cannot: non-empty ids, ISO code shapes, known channels.
    public static func validate(_ tx: Transaction) throws(EventDecodingError) {
        if tx.id.isEmpty { throw EventDecodingError(field: "id", reason: "must not be empty") }
        if !isUpperAlpha(tx.currency, count: 3) {
            throw EventDecodingError(field: "currency", reason: "'\(tx.currency)' is not an ISO 4217 code (three capital letters)")
        }
        if let channel = tx.channel, !Transaction.channels.contains(channel) {
            throw EventDecodingError(field: "channel", reason: "'\(channel)' is not one of \(Transaction.channels.sorted().joined(separator: ", "))")
        }
        for (name, party) in [("debtor", tx.debtor), ("creditor", tx.creditor)] {
            if party.account.isEmpty { throw EventDecodingError(field: "\(name).account", reason: "must not be empty") }
            if let country = party.country, !isUpperAlpha(country, count: 2) {
                throw EventDecodingError(field: "\(name).country", reason: "'\(country)' is not an ISO 3166-1 alpha-2 code")
            }
        }
    }

    private static func isUpperAlpha(_ s: String, count: Int) -> Bool {
        s.utf8.count == count && s.utf8.allSatisfy { $0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z") }
    }

    /// Turns Foundation's decoding errors into one line naming the field.
    static func describe(_ error: DecodingError) -> EventDecodingError {
        func path(_ keys: [any CodingKey]) -> String? {
            let p = keys.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
                .replacingOccurrences(of: ".[", with: "[")
            return p.isEmpty ? nil : p
        }
        switch error {
        case .keyNotFound(let key, let ctx):
            return EventDecodingError(field: path(ctx.codingPath + [key]), reason: "required field is missing")
        case .typeMismatch(let type, let ctx):
            return EventDecodingError(field: path(ctx.codingPath), reason: "expected \(jsonType(type))")
        case .valueNotFound(let type, let ctx):
            return EventDecodingError(field: path(ctx.codingPath), reason: "expected \(jsonType(type)), found null")
        case .dataCorrupted(let ctx):
            if ctx.codingPath.isEmpty {
                return EventDecodingError(field: nil, reason: "not valid JSON")
            }
            return EventDecodingError(field: path(ctx.codingPath), reason: ctx.debugDescription)
        @unknown default:
            return EventDecodingError(field: nil, reason: "\(error)")
        }
    }

    private static func jsonType(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: return "a string"
        case is Decimal.Type, is Int.Type, is Double.Type: return "a number"
        case is Bool.Type: return "true or false"
        default: return "an object"
        }
    }
}
