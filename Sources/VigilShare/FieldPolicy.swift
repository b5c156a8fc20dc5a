import VigilCore

/// The fields of an alert that can say something about a person or a company, and so need a
/// policy before an alert leaves the unit. Everything else on an alert (ids, scores, labels,
/// rule ids and versions, times) describes the detection and always passes.
public enum AlertField: String, Sendable, Hashable, CaseIterable, Comparable {
    case subjectValue = "subject.value"
    case subjectName = "subject.name"
    case subjectDOB = "subject.dob"
    case subjectDocument = "subject.document"
    case subjectNationality = "subject.nationality"
    case subjectInstitution = "subject.institution"
    /// Explanations quote the values compared, which may be amounts, accounts or names.
    case explanation = "findings.explanation"
    /// The event ids (and positions) of the input events behind the alert.
    case evidence

    /// What a policy may do with the field. Generalising is defined only where a coarser value
    /// exists (a date of birth's year, an account's institution); pseudonymising only where a
    /// value can be matched again (identifiers, names, dates).
    public var treatments: [FieldTreatment] {
        switch self {
        case .subjectValue: [.pass, .redact, .pseudonymise, .generalise]
        case .subjectDOB: [.pass, .redact, .pseudonymise, .generalise]
        case .subjectName, .subjectDocument, .evidence: [.pass, .redact, .pseudonymise]
        case .subjectNationality, .subjectInstitution, .explanation: [.pass, .redact]
        }
    }

    public static func < (a: AlertField, b: AlertField) -> Bool { a.rawValue < b.rawValue }

    /// Where the field lives on the subject; `nil` for explanations and evidence.
    var subjectKeyPath: WritableKeyPath<Alert.Subject, String?>? {
        switch self {
        case .subjectValue: \.value
        case .subjectName: \.name
        case .subjectDOB: \.dob
        case .subjectDocument: \.document
        case .subjectNationality: \.nationality
        case .subjectInstitution: \.institution
        case .explanation, .evidence: nil
        }
    }

    /// The subject's fields, in declaration order.
    static let subjectFields = allCases.filter { $0.subjectKeyPath != nil }
}

/// What happens to a field on a partner's copy of an alert.
public enum FieldTreatment: String, Sendable, Hashable, CaseIterable {
    /// Sent as it is.
    case pass
    /// Left out (an explanation reads `[redacted]`, evidence is an empty list).
    case redact
    /// Replaced by `ps:` and the first 128 bits of HMAC-SHA256 under the partner's own key:
    /// the same value always gives the same pseudonym for one partner, and different ones
    /// for different partners, so a partner can link its alerts but not join with another's.
    case pseudonymise
    /// Made coarser: a date of birth becomes its year, an account its institution.
    case generalise
}

/// One partner's sharing agreement: where its alerts go, which labels and purposes it may
/// receive, which alerts it gets, and what it may see of each.
public struct PartnerPolicy: Sendable, Hashable {
    /// Which alerts the partner gets.
    public struct Route: Sendable, Hashable {
        /// Alerts with a finding (rule, typology, screening or anomaly stage) of one of these ids;
        /// `nil`: every alert.
        public var findings: Set<String>?
        /// Alerts scoring at least this. Default: 0.
        public var minScore: Double = 0
        /// Whether review-only alerts (passenger data alone, or a review-only typology) are
        /// shared too. Default: `true` — they arrive marked `reviewOnly`, never actionable.
        public var reviewOnly = true

        public init(findings: Set<String>? = nil, minScore: Double = 0, reviewOnly: Bool = true) {
            self.findings = findings
            self.minScore = minScore
            self.reviewOnly = reviewOnly
        }

        public func accepts(_ alert: Alert) -> Bool {
            guard alert.score + 1e-9 >= minScore else { return false }
            if alert.reviewOnly == true, !reviewOnly { return false }
            guard let findings else { return true }
            return alert.findings.contains { findings.contains($0.id) }
        }
    }

    public var name: String
    public var topic: String
    /// The labels the partner may receive.
    public var tlp: Set<TLP>
    /// What the partner may use alerts for, e.g. `aml-investigation`.
    public var purposes: Set<String>
    /// Onward dissemination, written on each copy, e.g. `prior-consent` (Egmont principle 32).
    public var consent: String
    public var route: Route
    /// Fields without an entry are not allowed: an alert carrying one is held.
    public var fields: [AlertField: FieldTreatment]

    public init(name: String, topic: String, tlp: Set<TLP>, purposes: Set<String>, consent: String,
                route: Route = Route(), fields: [AlertField: FieldTreatment]) {
        self.name = name
        self.topic = topic
        self.tlp = tlp
        self.purposes = purposes
        self.consent = consent
        self.route = route
        self.fields = fields
    }

    /// Whether the policy needs the partner's pseudonym key.
    public var pseudonymises: Bool { fields.values.contains(.pseudonymise) }
}
