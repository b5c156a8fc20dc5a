import Foundation
import VigilCore

/// What sharing one alert with one partner came to.
public enum Disclosure: Sendable, Hashable {
    /// The partner's route does not take this alert.
    case notRouted
    /// The partner's copy: treated under its field policy, labelled and signed.
    case shared(Alert, fields: [AlertField: FieldTreatment])
    /// Not published: sharing it would break the partner's policy, for this reason.
    case held(reason: String)
}

/// Applies partners' policies to alerts at publish time. Pure: the same alert, policy and keys
/// always give the same copy, byte for byte.
public struct Sharing: Sendable {
    public let partners: [PartnerPolicy]
    public let keys: SharingKeys

    public init(partners: [PartnerPolicy], keys: SharingKeys) {
        self.partners = partners
        self.keys = keys
    }

    /// The unit's own copy, signed when a signing key is configured, with its canonical JSON.
    public func own(_ alert: Alert) -> (alert: Alert, json: [UInt8]) {
        keys.signer?.signed(alert) ?? (alert, alert.canonicalJSON)
    }

    /// The partner's copy of `alert`, or why it is held.
    ///
    /// Checks, in order: the route; the label and the purpose against what the partner may
    /// receive; that every field the alert carries has a policy; the field treatments; that no
    /// passed text still holds a value the policy hides; the signature.
    public func disclose(_ alert: Alert, to partner: PartnerPolicy) -> Disclosure { disclosure(alert, to: partner).disclosure }

    /// ``disclose(_:to:)`` with the shared copy's canonical JSON as signed: what the publisher
    /// sends, encoded once (signing already encodes the copy).
    public func disclosure(_ alert: Alert, to partner: PartnerPolicy) -> (disclosure: Disclosure, json: [UInt8]?) {
        guard partner.route.accepts(alert) else { return (.notRouted, nil) }
        guard let label = TLP(label: alert.tlp), partner.tlp.contains(label) else {
            let allowed = partner.tlp.sorted().map(\.description).joined(separator: ", ")
            return (.held(reason: "\(alert.tlp) is not a label partner \(partner.name) may receive (allowed: \(allowed))"), nil)
        }
        guard partner.purposes.contains(alert.purpose) else {
            return (.held(reason: "purpose \(alert.purpose) is not one partner \(partner.name) may receive alerts for (allowed: \(partner.purposes.sorted().joined(separator: ", ")))"), nil)
        }
        let carried = Self.values(of: alert)
        if let uncovered = carried.keys.sorted().first(where: { partner.fields[$0] == nil }) {
            return (.held(reason: "the alert carries \(uncovered.rawValue), which partner \(partner.name)'s field policy does not allow (give it pass, redact, pseudonymise or generalise)"), nil)
        }
        let pseudonymiser = keys.pseudonymisers[partner.name]
        if partner.pseudonymises, pseudonymiser == nil {
            return (.held(reason: "partner \(partner.name) pseudonymises but its pseudonym key is not loaded"), nil)
        }
        guard let signer = keys.signer else { return (.held(reason: "no signing key: partners receive signed alerts only"), nil) }

        var copy = alert
        copy.partner = partner.name
        copy.consent = partner.consent
        copy.signature = nil
        var applied: [AlertField: FieldTreatment] = [:]
        // Replacements for values that appear inside passed text (explanations quote them).
        var replacements: [(field: AlertField, value: String, treated: String)] = []
        for field in carried.keys.sorted() {
            let treatment = partner.fields[field]!
            let original = carried[field]!
            var treated: String?
            var effective = treatment
            switch treatment {
            case .pass: treated = original
            case .redact: treated = nil
            case .pseudonymise: treated = pseudonymiser!.pseudonym(original)
            case .generalise:
                treated = Self.generalise(field, original, alert.subject)
                if treated == nil { effective = .redact }
            }
            applied[field] = effective
            if field != .explanation, field != .evidence, effective != .pass {
                replacements.append((field, original, treated ?? "[\(field.rawValue) redacted]"))
            }
            Self.set(field, on: &copy, treated, pseudonymiser: effective == .pseudonymise ? pseudonymiser : nil)
        }
        // Longest first, so a name is replaced before a shorter value inside it.
        replacements.sort { $0.value.utf8.count > $1.value.utf8.count }
        if applied[.explanation] == .pass {
            for i in copy.findings.indices {
                for r in replacements where r.value.utf8.count >= 3 {
                    copy.findings[i].explanation = copy.findings[i].explanation.replacingOccurrences(of: r.value, with: r.treated)
                }
            }
        }
        if let leak = Self.leak(in: copy, hidden: replacements.map { ($0.field, $0.value) }) {
            return (.held(reason: "\(leak.place) would disclose \(leak.field.rawValue) to partner \(partner.name), whose policy does not pass it"), nil)
        }
        let hidden = applied.filter { $0.value != .pass }
        copy.redactions = hidden.isEmpty ? nil : Dictionary(uniqueKeysWithValues: hidden.map { ($0.key.rawValue, $0.value.rawValue) })
        let (signed, json) = signer.signed(copy)
        return (.shared(signed, fields: applied), json)
    }

    /// The policy-relevant fields the alert carries, with their values (evidence: its event ids).
    static func values(of alert: Alert) -> [AlertField: String] {
        var out: [AlertField: String] = [:]
        for field in AlertField.subjectFields { out[field] = alert.subject[keyPath: field.subjectKeyPath!] }
        if !alert.findings.isEmpty { out[.explanation] = alert.findings.map(\.explanation).joined(separator: "\n") }
        if !alert.evidence.isEmpty { out[.evidence] = alert.evidence.map(\.eventId).joined(separator: "\n") }
        return out
    }

    /// A coarser value, or `nil` when none is known (the field is then redacted).
    static func generalise(_ field: AlertField, _ value: String, _ subject: Alert.Subject) -> String? {
        switch field {
        case .subjectDOB:
            let year = value.prefix(4)
            return year.count == 4 && year.allSatisfy(\.isNumber) ? String(year) : nil
        case .subjectValue:
            // An account generalises to the institution that holds it.
            return subject.institution
        default:
            return nil
        }
    }

    static func set(_ field: AlertField, on alert: inout Alert, _ value: String?, pseudonymiser: Pseudonymiser?) {
        if let keyPath = field.subjectKeyPath { return alert.subject[keyPath: keyPath] = value }
        switch field {
        case .explanation:
            if value == nil { for i in alert.findings.indices { alert.findings[i].explanation = "[redacted]" } }
        case .evidence:
            if value == nil {
                alert.evidence = []
            } else if let pseudonymiser {
                for i in alert.evidence.indices { alert.evidence[i].eventId = pseudonymiser.pseudonym(alert.evidence[i].eventId) }
            }
        default: break
        }
    }

    /// A hidden value still readable in what would be sent (in any case): the last check before
    /// a copy leaves, for values written in another form than the one replaced (a name in
    /// capitals, a document inside a longer code). Values under 4 characters are not searched.
    static func leak(in copy: Alert, hidden: [(field: AlertField, value: String)]) -> (place: String, field: AlertField)? {
        var places: [(String, String)] = copy.findings.map { ("the explanation of \($0.id)", $0.explanation) }
        for field in AlertField.subjectFields {
            if let v = copy.subject[keyPath: field.subjectKeyPath!] { places.append((field.rawValue, v)) }
        }
        places += copy.evidence.map { ("evidence \($0.eventId)", $0.eventId) }
        for (field, value) in hidden where value.utf8.count >= 4 {
            let lowered = value.lowercased()
            if let (place, _) = places.first(where: { $0.1.lowercased().contains(lowered) }) { return (place, field) }
        }
        return nil
    }
}

