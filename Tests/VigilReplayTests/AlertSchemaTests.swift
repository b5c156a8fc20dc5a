import Foundation
import Testing
import VigilCore
import VigilShare

/// docs/alert.schema.json is what partners build their consumers against: it must describe the
/// alerts Vigil really publishes, and nothing they cannot carry.
@Suite("The alert schema for partners")
struct AlertSchemaTests {
    static let schemaPath = repoRoot.appendingPathComponent("docs/alert.schema.json").path

    static func schema() throws -> [String: Any] {
        let data = try #require(FileManager.default.contents(atPath: schemaPath), "cannot read \(schemaPath)")
        return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    /// An alert with every optional member set, signed: what the schema must admit at the most.
    static func fullAlert() throws -> [UInt8] {
        var alert = Alert(id: Alert.deterministicID(pipeline: .init(name: "p", version: "1"), findings: [], eventIDs: ["e1"]),
                          ts: try #require(EventTime(rfc3339: "2024-03-06T08:17:13.250Z")), pipeline: .init(name: "p", version: "1"),
                          findings: [.init(kind: .screening, id: "watchlist", version: 2, score: 0.91, explanation: "name 0.91")],
                          score: 0.91,
                          subject: .init(field: "traveller.document", value: "ps:945ca017561f67695c23fac56e04d195", name: "Ivan PETROV",
                                         dob: "1970", document: "X1234567", nationality: "RU", institution: "BANKBEBB"),
                          evidence: [.init(topic: "pax.api", partition: 3, offset: 17, eventId: "api-1",
                                           ts: try #require(EventTime(rfc3339: "2024-03-06T08:17:13Z")), passenger: true)],
                          tlp: "TLP:AMBER+STRICT", purpose: "counter-terrorism", consent: "prior-consent", partner: "border-unit")
        alert.reviewOnly = true
        alert.redactions = ["subject.value": "pseudonymise", "subject.dob": "generalise", "findings.explanation": "redact"]
        return try AlertSigner(privateKey: .init(repeating: 7, count: 32)).signed(alert).json
    }

    @Test("the golden alerts (the unit's own and a partner's copies) and a fully populated, signed alert conform")
    func conforming() throws {
        let schema = try Self.schema()
        var lines: [[UInt8]] = [try Self.fullAlert()]
        for file in ["sample-feed.default.golden.jsonl", "sample-feed.default.fiu-partner.golden.jsonl"] {
            let text = try String(contentsOfFile: try fixture(file), encoding: .utf8)
            lines += text.split(separator: "\n").map { Array($0.utf8) }
        }
        #expect(lines.count == 1 + 11 + 11)
        for line in lines {
            let value = try JSONSerialization.jsonObject(with: Data(line))
            let problems = SchemaCheck(root: schema).problems(value, against: schema, at: "$")
            #expect(problems == [], "\(String(decoding: line, as: UTF8.self))")
        }
    }

    @Test("every member the schema names is one a published alert carries")
    func noMemberTheAlertsLack() throws {
        let schema = try Self.schema()
        let full = try #require(try JSONSerialization.jsonObject(with: Data(try Self.fullAlert())) as? [String: Any])
        func names(_ s: [String: Any]) -> Set<String> { Set((s["properties"] as? [String: Any] ?? [:]).keys) }
        let properties = try #require(schema["properties"] as? [String: [String: Any]])
        #expect(names(schema) == Set(full.keys))
        #expect(names(try #require(properties["subject"])) == Set(try #require(full["subject"] as? [String: Any]).keys))
        #expect(names(try #require(properties["pipeline"])) == Set(try #require(full["pipeline"] as? [String: Any]).keys))
        let finding = try #require((properties["findings"]?["items"]) as? [String: Any])
        #expect(names(finding) == Set(try #require((full["findings"] as? [[String: Any]])?.first).keys))
        let evidence = try #require((properties["evidence"]?["items"]) as? [String: Any])
        #expect(names(evidence) == Set(try #require((full["evidence"] as? [[String: Any]])?.first).keys))
        // The labels and field paths it lists are Vigil's own.
        #expect(Set(properties["tlp"]?["enum"] as? [String] ?? []) == Set(TLP.allCases.map(\.description)))
        let paths = (properties["redactions"]?["propertyNames"] as? [String: Any])?["enum"] as? [String]
        #expect(Set(paths ?? []) == Set(AlertField.allCases.map(\.rawValue)))
        let treatments = (properties["redactions"]?["additionalProperties"] as? [String: Any])?["enum"] as? [String]
        #expect(Set(treatments ?? []) == Set(FieldTreatment.allCases.map(\.rawValue)).subtracting(["pass"]))
        #expect(properties["schema"]?["const"] as? Int == Alert.schemaVersion)
    }

    @Test("the check itself refuses what the schema does not allow")
    func refusals() throws {
        let schema = try Self.schema()
        let check = SchemaCheck(root: schema)
        let full = try #require(try JSONSerialization.jsonObject(with: Data(try Self.fullAlert())) as? [String: Any])
        func problems(_ change: (inout [String: Any]) -> Void) -> [String] {
            var a = full
            change(&a)
            return check.problems(a, against: schema, at: "$")
        }
        #expect(problems { $0["extra"] = 1 } == ["$: member 'extra' is not in the schema"])
        #expect(problems { $0["id"] = nil } == ["$: member 'id' is missing"])
        #expect(problems { $0["score"] = 1.5 } == ["$.score: 1.5 is above 1"])
        #expect(problems { $0["tlp"] = "AMBER" } == ["$.tlp: \"AMBER\" is not one of the allowed values"])
        #expect(problems { $0["ts"] = "2024-03-06 08:17:13" } == ["$.ts: \"2024-03-06 08:17:13\" does not match the pattern"])
        #expect(problems { $0["redactions"] = ["subject.ssn": "redact"] } == ["$.redactions: member name \"subject.ssn\" is not one of the allowed values"])
        #expect(problems { $0["findings"] = [] } == ["$.findings: fewer than 1 items"])
        #expect(problems { $0["schema"] = 2 } == ["$.schema: 2 is not the constant 1"])
    }
}

/// The part of JSON Schema 2020-12 that docs/alert.schema.json uses: type, const, enum,
/// pattern, minLength, minimum, maximum, minItems, required, properties, additionalProperties,
/// propertyNames, items and local `$ref`s. A keyword it does not know fails the check, so the
/// schema cannot grow past what is checked here unnoticed.
struct SchemaCheck {
    let root: [String: Any]
    static let known: Set<String> = ["$schema", "$id", "$defs", "$ref", "title", "description", "type", "const", "enum", "pattern",
                                     "minLength", "minimum", "maximum", "minItems", "required", "properties",
                                     "additionalProperties", "propertyNames", "items"]

    func problems(_ value: Any, against schema: [String: Any], at path: String) -> [String] {
        if let unknown = schema.keys.first(where: { !Self.known.contains($0) }) { return ["\(path): schema keyword '\(unknown)' is not checked"] }
        if let ref = schema["$ref"] as? String {
            let name = String(ref.dropFirst("#/$defs/".count))
            guard let target = (root["$defs"] as? [String: Any])?[name] as? [String: Any] else { return ["\(path): no definition \(ref)"] }
            return problems(value, against: target, at: path)
        }
        var out: [String] = []
        func text(_ v: Any) -> String {
            (try? JSONSerialization.data(withJSONObject: v, options: [.fragmentsAllowed])).map { String(decoding: $0, as: UTF8.self) } ?? "\(v)"
        }
        if let type = schema["type"] as? String, !Self.isType(value, type) { return ["\(path): \(text(value)) is not of type \(type)"] }
        if let c = schema["const"], text(c) != text(value) { out.append("\(path): \(text(value)) is not the constant \(text(c))") }
        if let e = schema["enum"] as? [Any], !e.contains(where: { text($0) == text(value) }) {
            out.append("\(path): \(text(value)) is not one of the allowed values")
        }
        if let s = value as? String {
            if let p = schema["pattern"] as? String, s.range(of: p, options: .regularExpression) == nil { out.append("\(path): \(text(s)) does not match the pattern") }
            if let m = schema["minLength"] as? Int, s.count < m { out.append("\(path): shorter than \(m)") }
        }
        if let n = value as? NSNumber, !(value is Bool) {
            if let m = schema["minimum"] as? Double, n.doubleValue < m { out.append("\(path): \(n) is below \(text(m))") }
            if let m = schema["maximum"] as? Double, n.doubleValue > m { out.append("\(path): \(n) is above \(text(m))") }
        }
        if let a = value as? [Any] {
            if let m = schema["minItems"] as? Int, a.count < m { out.append("\(path): fewer than \(m) items") }
            if let items = schema["items"] as? [String: Any] {
                for (i, v) in a.enumerated() { out += problems(v, against: items, at: "\(path)[\(i)]") }
            }
        }
        if let o = value as? [String: Any] {
            let properties = schema["properties"] as? [String: [String: Any]] ?? [:]
            for name in schema["required"] as? [String] ?? [] where o[name] == nil { out.append("\(path): member '\(name)' is missing") }
            for (name, v) in o.sorted(by: { $0.key < $1.key }) {
                if let names = schema["propertyNames"] as? [String: Any] {
                    out += problems(name, against: names, at: path).map { $0.replacingOccurrences(of: "\(path): ", with: "\(path): member name ") }
                }
                if let p = properties[name] {
                    out += problems(v, against: p, at: "\(path).\(name)")
                } else if let extra = schema["additionalProperties"] as? [String: Any] {
                    out += problems(v, against: extra, at: "\(path).\(name)")
                } else if schema["additionalProperties"] as? Bool == false {
                    out.append("\(path): member '\(name)' is not in the schema")
                }
            }
        }
        return out
    }

    /// JSON's `true` and `false` come as numbers of this class (and `1` as a number that also
    /// casts to `Bool`, so `is Bool` cannot tell them apart).
    static let booleanClass: AnyClass = Swift.type(of: NSNumber(value: true))

    static func isType(_ value: Any, _ type: String) -> Bool {
        switch type {
        case "object": value is [String: Any]
        case "array": value is [Any]
        case "string": value is String
        case "boolean": value is NSNumber && Swift.type(of: value as AnyObject) == booleanClass
        case "integer": (value as? NSNumber).map { !isType(value, "boolean") && $0.doubleValue == $0.doubleValue.rounded() } ?? false
        case "number": value is NSNumber && !isType(value, "boolean")
        default: false
        }
    }
}
