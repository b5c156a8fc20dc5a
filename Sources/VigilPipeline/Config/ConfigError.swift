/// A problem in a configuration or pipeline file, or in an environment override: what is wrong
/// and exactly where, in the `file:line:column` form editors and CI annotate.
public struct ConfigError: Error, Sendable, Hashable, CustomStringConvertible {
    public var file: String
    public var line: Int?
    public var column: Int?
    public var message: String
    public var hint: String?

    public init(file: String, line: Int? = nil, column: Int? = nil, message: String, hint: String? = nil) {
        self.file = file
        self.line = line
        self.column = column
        self.message = message
        self.hint = hint
    }

    public var description: String {
        var s = file
        if let line { s += ":\(line)" }
        if let column { s += ":\(column)" }
        s += ": error: \(message)"
        if let hint { s += " (hint: \(hint))" }
        return s
    }
}
