import Foundation

/// The versioned alert envelope published to partner topics (PRODUCT.md "Canonical events").
public struct Alert: Sendable, Hashable, Codable {
    /// Version of this envelope's schema; bumped on any incompatible change.
    public static let schemaVersion = 1

    /// Which pipeline produced the alert.
    public struct PipelineRef: Sendable, Hashable, Codable {
        public var name: String
        public var version: String
        public init(name: String, version: String) {
            self.name = name
            self.version = version
        }
    }

    /// Why the alert fired: one entry per rule, screening hit, anomaly score or typology.
    public struct Finding: Sendable, Hashable, Codable {
        public enum Kind: String, Sendable, Hashable, Codable { case rule, screening, anomaly, typology }
        public var kind: Kind
        public var id: String
        public var version: Int
        /// In [0, 1].
        public var score: Double
        /// Human-readable: what was measured against what threshold.
        public var explanation: String
        public init(kind: Kind, id: String, version: Int, score: Double, explanation: String) {
            self.kind = kind
            self.id = id
            self.version = version
            self.score = score
            self.explanation = explanation
        }
    }

    /// Who the alert is about: the key it was found under and, when the event that completed
    /// the finding names them, the person's or company's particulars. Partner copies carry only
    /// what the partner's field policy lets through (see ``Alert/redactions``).
    public struct Subject: Sendable, Hashable, Codable {
        /// The field the subject was taken from, e.g. `debtor.account`.
        public var field: String
        /// The key's value (an account, a document number); absent when redacted.
        public var value: String?
        public var name: String?
        /// Date of birth, `YYYY-MM-DD` (or only the year, when generalised).
        public var dob: String?
        /// Identity or travel document number.
        public var document: String?
        /// Nationality or country of residence: ISO 3166 alpha-2 (a traveller's alpha-3 or
        /// passport code is written as its alpha-2 code; a code not known stays as the feed gave it).
        public var nationality: String?
        /// The institution holding the account (BIC or the feed's institution code).
        public var institution: String?

        public init(field: String, value: String?, name: String? = nil, dob: String? = nil, document: String? = nil,
                    nationality: String? = nil, institution: String? = nil) {
            self.field = field
            self.value = value
            self.name = name
            self.dob = dob
            self.document = document
            self.nationality = nationality
            self.institution = institution
        }
    }

    /// An input event that contributed to the alert, with where it was read.
    public struct Evidence: Sendable, Hashable, Codable {
        public var topic: String
        public var partition: Int32
        public var offset: Int64
        public var eventId: String
        public var ts: EventTime
        /// `true` for a passenger (API or PNR) event, whose data retention rules apply to;
        /// absent for financial events.
        public var passenger: Bool?
        public init(topic: String, partition: Int32, offset: Int64, eventId: String, ts: EventTime, passenger: Bool? = nil) {
            self.topic = topic
            self.partition = partition
            self.offset = offset
            self.eventId = eventId
            self.ts = ts
            self.passenger = passenger
        }
    }

    public var schema: Int = Alert.schemaVersion
    public var id: String
    /// Event time of the event that completed the finding (never the wall clock).
    public var ts: EventTime
    public var pipeline: PipelineRef
    public var findings: [Finding]
    public var score: Double
    public var subject: Subject
    public var evidence: [Evidence]
    /// TLP 2.0 label, e.g. `TLP:AMBER`.
    public var tlp: String
    /// What the recipient may use the alert for, e.g. `aml-investigation`.
    public var purpose: String
    /// Onward-dissemination rule (Egmont-style), e.g. `prior-consent`.
    public var consent: String
    public var partner: String
    /// Detached signature over the canonical encoding; absent until signing is configured.
    public var signature: String?
    /// `true` when the alert is for a person to review, never for automatic action: a typology
    /// marked review-only raised it, or it rests on passenger data alone. Absent otherwise.
    public var reviewOnly: Bool?
    /// On a partner's copy: how each field its policy does not pass was treated (`redact`,
    /// `pseudonymise`, `generalise`), by field path. Absent on the unit's own copy.
    public var redactions: [String: String]?

    public init(id: String, ts: EventTime, pipeline: PipelineRef, findings: [Finding], score: Double,
                subject: Subject, evidence: [Evidence], tlp: String, purpose: String, consent: String,
                partner: String, signature: String? = nil) {
        self.id = id
        self.ts = ts
        self.pipeline = pipeline
        self.findings = findings
        self.score = score
        self.subject = subject
        self.evidence = evidence
        self.tlp = tlp
        self.purpose = purpose
        self.consent = consent
        self.partner = partner
        self.signature = signature
    }

    /// A deterministic id: the same pipeline version, findings and contributing events always give
    /// the same id, so a consumer can drop a duplicate delivered after a restart.
    ///
    /// Offsets are deliberately left out: the same events re-read from another offset (a replay,
    /// a re-fed file) are the same inputs.
    public static func deterministicID(pipeline: PipelineRef, findings: [Finding], eventIDs: [String]) -> String {
        var text = "vigil-alert-v1\n\(pipeline.name)\n\(pipeline.version)\n"
        for f in findings { text += "\(f.kind.rawValue):\(f.id):\(f.version)\n" }
        for e in eventIDs.sorted() { text += "\(e)\n" }
        return "al-" + SHA256.hash(text.utf8).prefix(16).hex
    }
}

/// Canonical JSON for Vigil's own output: sorted keys, no escaped slashes, one line.
/// The same value always encodes to the same bytes, which replays and signatures rely on.
public enum CanonicalJSON {
    public static func encode<T: Encodable>(_ value: T) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return Array(try encoder.encode(value))
    }
}
