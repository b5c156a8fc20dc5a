import VigilCore

/// Why a business message could not be decoded: which format, where in it, and what was expected.
///
/// The location is in the format's own terms — `line 12, segment 14 (NAD), element 4` for
/// EDIFACT, an XML path for ISO 20022, `field :32A:` for SWIFT MT — so the person reading a
/// dead-letter header can find the spot in the original message.
public struct FormatError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The format being decoded; `nil` when it could not be told from the content.
    public var format: FeedFormat?
    /// Where in the message, or `nil` when the problem is the message as a whole.
    public var location: String?
    public var message: String

    public init(_ format: FeedFormat?, at location: String? = nil, _ message: String) {
        self.format = format
        self.location = location
        self.message = message
    }

    public var description: String {
        let name = format?.rawValue ?? "unknown format"
        if let location { return "\(name): \(location): \(message)" }
        return "\(name): \(message)"
    }

    /// The pipeline's dead-letter form: the location becomes the header's field.
    public var eventDecodingError: EventDecodingError {
        EventDecodingError(field: location, reason: "\(format?.rawValue ?? "unknown format"): \(message)")
    }
}

/// Limits that keep a decoder's work and memory proportional to its input, whatever the input.
public enum DecodeLimits {
    /// Largest business message accepted (bytes). The 250 KB PNR in the samples is far below it;
    /// Kafka's default `message.max.bytes` is 1 MB.
    public static let maxMessageBytes = 16 << 20
    /// Deepest XML element nesting accepted. ISO 20022 messages nest about 12 levels.
    public static let maxXMLDepth = 64
    /// Most events one business message may produce.
    public static let maxEventsPerMessage = 100_000
}
