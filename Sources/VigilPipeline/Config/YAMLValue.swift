import VigilCore
import Yams

/// A YAML node with its file and position, with typed accessors whose errors say where.
///
/// Files are read as YAML node trees rather than through `Decodable` so every error — an unknown
/// key, a wrong type, a bad rule expression — points at the line and column it comes from.
struct YAMLValue {
    let node: Node
    let file: String
    /// Dotted path from the document root, for messages: `rules[1].within`.
    let path: String

    /// Parses a whole document; an empty document is an empty mapping.
    static func parse(_ text: String, file: String) throws(ConfigError) -> YAMLValue {
        do {
            let node = try Yams.compose(yaml: text) ?? Node.mapping(Node.Mapping([]))
            return YAMLValue(node: node, file: file, path: "")
        } catch let error as YamlError {
            switch error {
            case .scanner(let context, let problem, let mark, _), .parser(let context, let problem, let mark, _),
                 .composer(let context, let problem, let mark, _):
                let about = context.map { " \($0.text)" } ?? ""
                throw ConfigError(file: file, line: mark.line, column: mark.column, message: "invalid YAML: \(problem)\(about)")
            case .duplicatedKeysInMapping(let duplicates, _):
                throw ConfigError(file: file, message: "invalid YAML: key repeated in a mapping: \(duplicates.joined(separator: ", "))")
            default:
                throw ConfigError(file: file, message: "invalid YAML: \(error)")
            }
        } catch {
            throw ConfigError(file: file, message: "invalid YAML: \(error)")
        }
    }

    func error(_ message: String, hint: String? = nil) -> ConfigError {
        ConfigError(file: file, line: node.mark?.line, column: node.mark?.column, message: message, hint: hint)
    }

    private var described: String { path.isEmpty ? "the document" : "'\(path)'" }

    /// The mapping's entries, after checking every key is one of `allowed` (any key when `nil`:
    /// the keys are names the file chooses).
    func mapping(allowed: [String]?) throws(ConfigError) -> [String: YAMLValue] {
        // A section whose keys are all commented out (`formats:` alone) is empty, not an error.
        if case .scalar(let scalar) = node, scalar.string.isEmpty || scalar.string == "~" || scalar.string == "null" { return [:] }
        guard case .mapping(let m) = node else {
            throw error("\(described) must be a mapping of keys to values")
        }
        var out: [String: YAMLValue] = [:]
        for (k, v) in m {
            guard let key = k.string else {
                throw YAMLValue(node: k, file: file, path: path).error("keys must be text")
            }
            if let allowed, !allowed.contains(key) {
                let close = allowed.filter { $0.hasPrefix(String(key.prefix(3))) }
                throw YAMLValue(node: k, file: file, path: path).error(
                    "unknown key '\(key)'" + (path.isEmpty ? "" : " in '\(path)'"),
                    hint: close.isEmpty ? "allowed: \(allowed.joined(separator: ", "))" : "did you mean \(close.joined(separator: " or "))?")
            }
            out[key] = YAMLValue(node: v, file: file, path: path.isEmpty ? key : "\(path).\(key)")
        }
        return out
    }

    func sequence() throws(ConfigError) -> [YAMLValue] {
        guard case .sequence(let s) = node else { throw error("\(described) must be a list") }
        return s.enumerated().map { YAMLValue(node: $1, file: file, path: "\(path)[\($0)]") }
    }

    func string() throws(ConfigError) -> String {
        guard case .scalar(let s) = node else { throw error("\(described) must be text") }
        return s.string
    }

    /// One text, or a list of texts (`key: debtor.account` or `key: [debtor.account, creditor.account]`).
    func stringOrList() throws(ConfigError) -> [String] {
        if case .scalar(let s) = node { return [s.string] }
        guard case .sequence = node else { throw error("\(described) must be text or a list of texts") }
        var out: [String] = []
        for item in try sequence() { out.append(try item.string()) }
        return out
    }

    func bool() throws(ConfigError) -> Bool {
        guard case .scalar = node, let v = node.bool else { throw error("\(described) must be true or false") }
        return v
    }

    func int(in range: ClosedRange<Int>) throws(ConfigError) -> Int {
        guard case .scalar = node, let v = node.int else { throw error("\(described) must be a whole number") }
        guard range.contains(v) else { throw error("\(described) must be between \(range.lowerBound) and \(range.upperBound), got \(v)") }
        return v
    }

    func double(in range: ClosedRange<Double>) throws(ConfigError) -> Double {
        guard case .scalar = node, let v = node.float else { throw error("\(described) must be a number") }
        guard range.contains(v) else { throw error("\(described) must be between \(range.lowerBound) and \(range.upperBound), got \(v)") }
        return v
    }

    func duration() throws(ConfigError) -> Duration {
        let text = try string()
        guard let d = DurationText.parse(text) else {
            throw error("\(described): '\(text)' is not a duration", hint: "write e.g. 500ms, 30s, 15m, 24h, 7d")
        }
        return d
    }

    /// A flat map of text to text (e.g. librdkafka properties).
    func stringMap() throws(ConfigError) -> [String: String] {
        guard case .mapping(let m) = node else { throw error("\(described) must be a mapping") }
        var out: [String: String] = [:]
        for (k, v) in m {
            guard let key = k.string, case .scalar(let s) = v else {
                throw YAMLValue(node: v, file: file, path: path).error("\(described) must map text keys to text values")
            }
            out[key] = s.string
        }
        return out
    }

    /// Where column `column` (1-based) of this scalar's text is in the file, for errors inside
    /// expressions. Exact for plain and quoted scalars on one line; block scalars point at their
    /// first line.
    func position(ofColumn column: Int) -> (line: Int?, column: Int?) {
        guard let mark = node.mark else { return (nil, nil) }
        guard case .scalar(let s) = node else { return (mark.line, mark.column) }
        switch s.style {
        case .plain, .any: return (mark.line, mark.column + column - 1)
        case .singleQuoted, .doubleQuoted: return (mark.line, mark.column + column)
        case .literal, .folded: return (mark.line + 1, nil)
        }
    }
}
