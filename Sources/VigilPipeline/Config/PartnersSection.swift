import VigilCore
import VigilShare

extension PipelineDefinition {
    /// The handling label and purpose of an alert: the most restrictive label, and the first
    /// purpose, that `output.by-finding` gives any of its findings; the pipeline's otherwise.
    public func labels(for findings: [Alert.Finding]) -> (tlp: String, purpose: String) {
        var tlp = TLP(label: output.tlp) ?? .amber
        var purpose: String?
        for f in findings {
            guard let l = output.byFinding[f.id] else { continue }
            if let t = l.tlp, t > tlp { tlp = t }
            if purpose == nil { purpose = l.purpose }
        }
        return (tlp.description, purpose ?? output.purpose)
    }

    /// `output.by-finding`: finding id → `{ tlp, purpose }`.
    static func labelsByFinding(_ node: YAMLValue, knownFindings: Set<String>) throws(ConfigError) -> [String: Output.Label] {
        var out: [String: Output.Label] = [:]
        for (id, value) in try node.mapping(allowed: nil) {
            guard knownFindings.contains(id) else {
                throw value.error("no rule, typology or stage '\(id)' in this pipeline", hint: knownFindings.sorted().joined(separator: ", "))
            }
            let m = try value.mapping(allowed: ["tlp", "purpose"])
            var label = Output.Label()
            if let v = m["tlp"] { label.tlp = try tlp(v) }
            if let v = m["purpose"] { label.purpose = try v.string() }
            out[id] = label
        }
        return out
    }

    static func tlp(_ node: YAMLValue) throws(ConfigError) -> TLP {
        let text = try node.string()
        guard let label = TLP(label: text) else {
            throw node.error("'\(text)' is not a TLP 2.0 label", hint: TLP.labels.joined(separator: ", "))
        }
        return label
    }

    /// `partners:` — who receives alerts, under which agreement. Keys are never in this file:
    /// they are read from the keys directory or the environment (``SharingKeys``).
    static func partners(_ node: YAMLValue, knownFindings: Set<String>, reserved: Set<String>) throws(ConfigError) -> [PartnerPolicy] {
        var out: [PartnerPolicy] = []
        for item in try node.sequence() {
            let m = try item.mapping(allowed: ["name", "topic", "tlp", "purposes", "onward-dissemination", "receives", "fields"])
            guard let nameNode = m["name"] else { throw item.error("a partner needs a 'name'") }
            let name = try nameNode.string()
            guard !name.isEmpty, name != "local", VigilConfig.isValidTopic(name) else {
                throw nameNode.error("partner name '\(name)' must be letters, digits, '.', '_' or '-' (and not 'local', the unit itself)")
            }
            guard !out.contains(where: { $0.name == name }) else { throw nameNode.error("partner '\(name)' is declared twice") }
            let topic = try m["topic"].map(VigilConfig.topicName) ?? "alerts.\(name)"
            if reserved.contains(topic) || out.contains(where: { $0.topic == topic }) {
                throw (m["topic"] ?? nameNode).error("topic '\(topic)' is already used (inputs, alerts, dead letters, held alerts or another partner)",
                                                     hint: "each partner reads a topic of its own")
            }
            guard let tlpNode = m["tlp"] else {
                throw item.error("partner '\(name)' needs 'tlp': the labels it may receive", hint: "e.g. tlp: [TLP:AMBER, TLP:GREEN, TLP:CLEAR]")
            }
            var labels = Set<TLP>()
            for v in try tlpNode.sequence() { labels.insert(try tlp(v)) }
            guard let purposesNode = m["purposes"] else {
                throw item.error("partner '\(name)' needs 'purposes'", hint: "e.g. purposes: [aml-investigation, counter-terrorism]")
            }
            let purposes = try purposesNode.stringOrList()
            guard !purposes.isEmpty else { throw purposesNode.error("partner '\(name)' needs at least one purpose") }
            let consent = try m["onward-dissemination"]?.string() ?? "prior-consent"

            var route = PartnerPolicy.Route()
            if let r = try m["receives"]?.mapping(allowed: ["findings", "min-score", "review-only"]) {
                if let v = r["findings"] {
                    let ids = try v.stringOrList()
                    for id in ids where !knownFindings.contains(id) {
                        throw v.error("no rule, typology or stage '\(id)' in this pipeline", hint: knownFindings.sorted().joined(separator: ", "))
                    }
                    route.findings = Set(ids)
                }
                if let v = r["min-score"] { route.minScore = try v.double(in: 0...1) }
                if let v = r["review-only"] { route.reviewOnly = try v.bool() }
            }

            guard let fieldsNode = m["fields"] else {
                throw item.error("partner '\(name)' needs a field policy ('fields')",
                                 hint: "e.g. fields: { subject.value: pseudonymise, subject.name: redact, findings.explanation: pass }; fields left out are not allowed")
            }
            var fields: [AlertField: FieldTreatment] = [:]
            for (key, value) in try fieldsNode.mapping(allowed: AlertField.allCases.map(\.rawValue)) {
                let field = AlertField(rawValue: key)!
                let text = try value.string()
                guard let treatment = FieldTreatment(rawValue: text), field.treatments.contains(treatment) else {
                    throw value.error("'\(text)' is not a treatment for \(key)", hint: field.treatments.map(\.rawValue).joined(separator: ", "))
                }
                fields[field] = treatment
            }
            out.append(PartnerPolicy(name: name, topic: topic, tlp: labels, purposes: Set(purposes), consent: consent, route: route, fields: fields))
        }
        return out
    }
}
