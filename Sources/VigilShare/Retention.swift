import VigilCore

/// Depersonalisation of passenger data in stored alerts once its retention period has passed
/// (EU PNR Directive 2016/681, art. 12: six months, then masking of the data that could
/// identify the passenger).
///
/// An alert resting wholly or partly on passenger events loses, after the period: a traveller
/// subject's particulars and key, every explanation (they quote names, documents and trips),
/// and the ids of the passenger events (positions stay). Financial evidence and the finding
/// ids, versions and scores stay. The signature goes too: it covered what was removed.
public enum Retention {
    public static let defaultPeriod: Duration = .seconds(180 * 86_400)
    static let marker = "[depersonalised: passenger data past its retention period]"

    /// The depersonalised alert, or `nil` when it needs no change (no passenger evidence, or
    /// still within the period at `asOf`).
    public static func depersonalise(_ alert: Alert, asOf: EventTime, period: Duration = defaultPeriod) -> Alert? {
        guard alert.evidence.contains(where: { $0.passenger == true }), alert.ts + period <= asOf else { return nil }
        var out = alert
        var treated = alert.redactions ?? [:]
        // A financial subject keeps its account and bank; a traveller's key is passenger data.
        let masked: Set<AlertField> = alert.subject.field.hasPrefix("traveller")
            ? [.subjectValue, .subjectName, .subjectDOB, .subjectDocument, .subjectNationality]
            : [.subjectName, .subjectDOB, .subjectDocument, .subjectNationality]
        for field in AlertField.subjectFields where masked.contains(field) && out.subject[keyPath: field.subjectKeyPath!] != nil {
            out.subject[keyPath: field.subjectKeyPath!] = nil
            treated[field.rawValue] = "depersonalise"
        }
        for i in out.findings.indices where out.findings[i].explanation != marker {
            out.findings[i].explanation = marker
            treated[AlertField.explanation.rawValue] = "depersonalise"
        }
        for i in out.evidence.indices where out.evidence[i].passenger == true && out.evidence[i].eventId != "masked" {
            out.evidence[i].eventId = "masked"
            treated[AlertField.evidence.rawValue] = "depersonalise"
        }
        if out == alert { return nil }
        out.redactions = treated
        out.signature = nil
        return out
    }
}
