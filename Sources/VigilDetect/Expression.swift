import Foundation
import VigilCore

/// A value in the rule language. Amounts are exact decimals.
public enum Value: Sendable, Hashable, CustomStringConvertible {
    case decimal(Decimal)
    case string(String)
    case bool(Bool)
    case null

    public var description: String {
        switch self {
        case .decimal(let d): return DecimalText.format(d)
        case .string(let s): return "\"\(s)\""
        case .bool(let b): return String(b)
        case .null: return "null"
        }
    }
}

/// The static type of an expression, checked when a rule is compiled (not per event).
public enum ValueType: String, Sendable, Hashable {
    case decimal = "number", string, bool, any
}

/// The fields an expression may name, with their types and how to read them from `Input`.
public struct Schema<Input>: Sendable {
    public struct Field: Sendable {
        public var type: ValueType
        public var read: @Sendable (Input) -> Value
        /// Typed readers (set for text and number fields): compiled comparisons, keys and list
        /// tests call them directly rather than boxing every value into a ``Value``.
        public var text: (@Sendable (Input) -> String?)?
        public var number: (@Sendable (Input) -> Decimal?)?
        /// Set for whole-number fields (a window's count and distinct count): compared with a
        /// whole constant, they are compared as integers, with no `Decimal` made per event. The
        /// second argument is a limit: a value of at least the limit may be given as the limit,
        /// which is all a comparison with a smaller constant needs (a distinct count stops there).
        public var integer: (@Sendable (Input, _ limit: Int) -> Int?)?

        public init(type: ValueType, read: @escaping @Sendable (Input) -> Value) {
            self.type = type
            self.read = read
        }

        /// The typed reader of a text field (a general one when the field was built without it).
        public var readText: @Sendable (Input) -> String? {
            if let text { return text }
            let read = self.read
            return { if case .string(let s) = read($0) { return s }; return nil }
        }

        /// A text field; absent (`nil`) reads as `null`.
        public static func text(_ read: @escaping @Sendable (Input) -> String?) -> Field {
            var f = Field(type: .string) { read($0).map(Value.string) ?? .null }
            f.text = read
            return f
        }

        /// A number field; absent (`nil`) reads as `null`.
        public static func number(_ read: @escaping @Sendable (Input) -> Decimal?) -> Field {
            var f = Field(type: .decimal) { read($0).map(Value.decimal) ?? .null }
            f.number = read
            return f
        }

        /// A whole-number field; a number to the language.
        public static func integer(_ read: @escaping @Sendable (Input) -> Int?) -> Field {
            integer(upTo: { input, _ in read(input) })
        }

        /// A whole-number field read up to a limit (see ``integer``): `read(input, limit)` may stop
        /// counting at `limit`.
        public static func integer(upTo read: @escaping @Sendable (Input, Int) -> Int?) -> Field {
            var f = number { read($0, .max).map { Decimal($0) } }
            f.integer = read
            return f
        }
    }
    public var name: String
    public var fields: [String: Field]

    public init(name: String, fields: [String: Field]) {
        self.name = name
        self.fields = fields
    }
}

/// A rule expression that failed to compile, with the 1-based column where the problem starts.
public struct ExpressionError: Error, Sendable, Hashable, CustomStringConvertible {
    public var column: Int
    public var message: String
    public var hint: String?

    public var description: String {
        "column \(column): \(message)" + (hint.map { " (hint: \($0))" } ?? "")
    }
}

/// A compiled expression: a tree of closures built once, evaluated per event without re-parsing.
public struct CompiledExpression<Input>: Sendable {
    public let source: String
    public let type: ValueType
    let eval: @Sendable (Input) -> Value
    let predicate: @Sendable (Input) -> Bool
    /// The conditions joined by the expression's top-level `and`s (the whole expression when it
    /// has none, or an `or` at the top), each with the fields it reads: each must hold for the
    /// expression to hold, so one that reads only a field of a closed set of values can be
    /// decided for every value once, before any event (see the detector's channel index).
    let conjuncts: [Conjunct]

    struct Conjunct: Sendable {
        var fields: Set<String>
        var test: @Sendable (Input) -> Bool
    }

    public func evaluate(_ input: Input) -> Value { eval(input) }

    /// For predicates: anything but `true` (including `null` from a missing field) is false.
    public func test(_ input: Input) -> Bool { predicate(input) }
}

/// Compiles the expression language:
///
///     expr := or;  or := and ("or" and)*;  and := not ("and" not)*;  not := "not" not | cmp
///     cmp  := sum (("=="|"!="|"<"|"<="|">"|">=") sum)*   -- chained: 8000 <= amount < 10000
///           | sum ["not"] "in" ("[" literal ("," literal)* "]" | lists.NAME)   -- a named list
///           | sum ("contains"|"startswith"|"endswith"|"matches") "string"  -- matches: a regular expression
///           | sum "is" ["not"] "null"                        -- a field absent (or present)
///     sum  := term (("+"|"-") term)*;  term := unary (("*"|"/"|"%") unary)*;  unary := "-" unary | atom
///     atom := number | "string" | 'string' | true | false | null | field.path | "(" expr ")"
///
/// Comparisons with a missing (null) field are false, so `amount > 5` never fires on no amount.
public enum ExpressionCompiler {
    public static func compile<Input>(_ source: String, schema: Schema<Input>, lists: [String: Set<String>] = [:],
                                      expecting: ValueType? = .bool) throws(ExpressionError) -> CompiledExpression<Input> {
        var parser = try Parser(source: source, schema: schema, lists: lists)
        let node = try parser.parseExpression()
        guard parser.atEnd else {
            throw ExpressionError(column: parser.column, message: "unexpected '\(parser.currentText)'", hint: "combine conditions with 'and' / 'or'")
        }
        if let expecting, expecting != node.type, node.type != .any {
            throw ExpressionError(column: 1, message: "expression is a \(node.type.rawValue), expected a \(expecting.rawValue)",
                                  hint: expecting == .bool ? "compare it, e.g. 'amount >= 10000'" : nil)
        }
        let conjuncts = parser.conjuncts ?? [.init(fields: Set(parser.fieldsRead), test: node.asTest)]
        return CompiledExpression(source: source, type: node.type, eval: node.eval, predicate: node.asTest, conjuncts: conjuncts)
    }
}

// MARK: - Lexer

private enum Token: Equatable {
    case number(Decimal, String)
    case string(String)
    case ident(String)
    case op(String)
    case end
}

private struct Lexed {
    var token: Token
    var column: Int
}

private func lex(_ source: String) throws(ExpressionError) -> [Lexed] {
    let chars = Array(source.unicodeScalars)
    var i = 0
    var out: [Lexed] = []
    func isIdentStart(_ c: Unicode.Scalar) -> Bool { c.properties.isAlphabetic || c == "_" }
    func isIdent(_ c: Unicode.Scalar) -> Bool { isIdentStart(c) || ("0"..."9").contains(c) || c == "." || c == "-" }
    while i < chars.count {
        let c = chars[i]
        let col = i + 1
        if c == " " || c == "\t" || c == "\n" || c == "\r" { i += 1; continue }
        if ("0"..."9").contains(c) {
            var j = i
            while j < chars.count, ("0"..."9").contains(chars[j]) || chars[j] == "." || chars[j] == "_" { j += 1 }
            let text = String(String.UnicodeScalarView(chars[i..<j])).replacingOccurrences(of: "_", with: "")
            guard let d = DecimalText.parse(text) else {
                throw ExpressionError(column: col, message: "'\(text)' is not a number")
            }
            out.append(Lexed(token: .number(d, text), column: col))
            i = j
            continue
        }
        if c == "\"" || c == "'" {
            var j = i + 1
            var s = String.UnicodeScalarView()
            while j < chars.count, chars[j] != c {
                if chars[j] == "\\", j + 1 < chars.count { j += 1 }
                s.append(chars[j])
                j += 1
            }
            guard j < chars.count else { throw ExpressionError(column: col, message: "string is not closed", hint: "add the closing \(c)") }
            out.append(Lexed(token: .string(String(s)), column: col))
            i = j + 1
            continue
        }
        if isIdentStart(c) {
            var j = i
            // '-' is allowed inside names only between letters (e.g. none today); stop at " -".
            while j < chars.count, isIdent(chars[j]), !(chars[j] == "-" && (j + 1 >= chars.count || !isIdentStart(chars[j + 1]))) { j += 1 }
            out.append(Lexed(token: .ident(String(String.UnicodeScalarView(chars[i..<j]))), column: col))
            i = j
            continue
        }
        let two = i + 1 < chars.count ? String(String.UnicodeScalarView([c, chars[i + 1]])) : ""
        if ["==", "!=", "<=", ">="].contains(two) {
            out.append(Lexed(token: .op(two), column: col))
            i += 2
            continue
        }
        if "<>+-*/%()[],".unicodeScalars.contains(c) {
            out.append(Lexed(token: .op(String(c)), column: col))
            i += 1
            continue
        }
        if c == "=" {
            throw ExpressionError(column: col, message: "'=' is not an operator", hint: "use '==' to compare")
        }
        if c == "&" || c == "|" {
            throw ExpressionError(column: col, message: "'\(c)' is not an operator", hint: "use 'and' / 'or'")
        }
        throw ExpressionError(column: col, message: "unexpected character '\(c)'")
    }
    out.append(Lexed(token: .end, column: chars.count + 1))
    return out
}

// MARK: - Parser producing typed closures

/// A compiled sub-expression. Besides the general `eval`, a node carries the typed form of its
/// type (`test` for conditions, `number`, `text`), and the nodes above it call that one: an
/// event then flows through plain Bool/Decimal/String closures with no ``Value`` boxed or
/// switched on, which is most of the cost of evaluating a rule.
private struct Node<Input> {
    var type: ValueType
    var eval: @Sendable (Input) -> Value
    /// Set for literals, so `in [...]` lists and constant folding can use them.
    var constant: Value?
    var test: (@Sendable (Input) -> Bool)?
    var number: (@Sendable (Input) -> Decimal?)?
    var text: (@Sendable (Input) -> String?)?
    /// A field's whole-number reader (see ``Schema/Field/integer``).
    var integer: (@Sendable (Input, Int) -> Int?)?

    init(type: ValueType, eval: @escaping @Sendable (Input) -> Value, constant: Value? = nil) {
        self.type = type
        self.eval = eval
        self.constant = constant
    }

    /// A condition (type bool) from its typed form.
    static func condition(_ test: @escaping @Sendable (Input) -> Bool) -> Node {
        var n = Node(type: .bool, eval: { .bool(test($0)) })
        n.test = test
        return n
    }

    /// A number from its typed form; `nil` reads as `null`.
    static func number(_ read: @escaping @Sendable (Input) -> Decimal?, constant: Decimal? = nil) -> Node {
        var n = Node(type: .decimal, eval: { read($0).map(Value.decimal) ?? .null }, constant: constant.map(Value.decimal))
        n.number = read
        return n
    }

    /// A text from its typed form; `nil` reads as `null`.
    static func text(_ read: @escaping @Sendable (Input) -> String?, constant: String? = nil) -> Node {
        var n = Node(type: .string, eval: { read($0).map(Value.string) ?? .null }, constant: constant.map(Value.string))
        n.text = read
        return n
    }

    var asTest: @Sendable (Input) -> Bool {
        if let test { return test }
        let f = eval
        return { if case .bool(true) = f($0) { return true }; return false }
    }

    var asNumber: @Sendable (Input) -> Decimal? {
        if let number { return number }
        let f = eval
        return { if case .decimal(let d) = f($0) { return d }; return nil }
    }

    var asText: @Sendable (Input) -> String? {
        if let text { return text }
        let f = eval
        return { if case .string(let s) = f($0) { return s }; return nil }
    }
}

private struct Parser<Input> {
    let tokens: [Lexed]
    let schema: Schema<Input>
    let lists: [String: Set<String>]
    var index = 0
    /// Every field named so far, in order: what a sub-expression reads is what it added.
    var fieldsRead: [String] = []
    /// The conjuncts of the `and` chain parsed last, or `nil` after an `or`; the outermost
    /// chain (or `or`) is parsed last, so at the end this describes the whole expression.
    var conjuncts: [CompiledExpression<Input>.Conjunct]?

    init(source: String, schema: Schema<Input>, lists: [String: Set<String>]) throws(ExpressionError) {
        self.tokens = try lex(source)
        self.schema = schema
        self.lists = lists
    }

    var current: Token { tokens[index].token }
    var column: Int { tokens[index].column }
    var atEnd: Bool { current == .end }
    var currentText: String {
        switch current {
        case .number(_, let t): return t
        case .string(let s): return "\"\(s)\""
        case .ident(let s), .op(let s): return s
        case .end: return "end of expression"
        }
    }

    mutating func advance() { if index < tokens.count - 1 { index += 1 } }

    func isKeyword(_ k: String) -> Bool { if case .ident(let s) = current { return s == k }; return false }
    func isOp(_ o: String) -> Bool { if case .op(let s) = current { return s == o }; return false }

    mutating func expectOp(_ o: String, hint: String? = nil) throws(ExpressionError) {
        guard isOp(o) else { throw ExpressionError(column: column, message: "expected '\(o)', found \(currentText)", hint: hint) }
        advance()
    }

    mutating func parseExpression() throws(ExpressionError) -> Node<Input> { try parseOr() }

    mutating func parseOr() throws(ExpressionError) -> Node<Input> {
        var lhs = try parseAnd()
        while isKeyword("or") {
            let col = column
            advance()
            let rhs = try parseAnd()
            try requireBool(lhs, col, "or"); try requireBool(rhs, col, "or")
            let (l, r) = (lhs.asTest, rhs.asTest)
            lhs = .condition { l($0) || r($0) }
            conjuncts = nil
        }
        return lhs
    }

    mutating func parseAnd() throws(ExpressionError) -> Node<Input> {
        var start = fieldsRead.count
        var lhs = try parseNot()
        var parts = [CompiledExpression<Input>.Conjunct(fields: Set(fieldsRead[start...]), test: lhs.asTest)]
        while isKeyword("and") {
            let col = column
            advance()
            start = fieldsRead.count
            let rhs = try parseNot()
            try requireBool(lhs, col, "and"); try requireBool(rhs, col, "and")
            parts.append(.init(fields: Set(fieldsRead[start...]), test: rhs.asTest))
            let (l, r) = (lhs.asTest, rhs.asTest)
            lhs = .condition { l($0) && r($0) }
        }
        conjuncts = parts
        return lhs
    }

    mutating func parseNot() throws(ExpressionError) -> Node<Input> {
        if isKeyword("not") {
            let col = column
            advance()
            let inner = try parseNot()
            try requireBool(inner, col, "not")
            let f = inner.asTest
            return .condition { !f($0) }
        }
        return try parseComparison()
    }

    mutating func parseComparison() throws(ExpressionError) -> Node<Input> {
        let first = try parseSum()
        // Membership: x in [..] / x not in [..]
        if isKeyword("in") || (isKeyword("not") && index + 1 < tokens.count && tokens[index + 1].token == .ident("in")) {
            let negated = isKeyword("not")
            if negated { advance() }
            advance()
            let col = column
            if case .ident(let name) = current, name.hasPrefix("lists.") {
                let listName = String(name.dropFirst(6))
                guard let members = lists[listName] else {
                    throw ExpressionError(column: col, message: "no list named '\(listName)'",
                                          hint: lists.isEmpty ? "declare it under 'lists:' in the pipeline" : "lists: \(lists.keys.sorted().joined(separator: ", "))")
                }
                guard first.type == .string || first.type == .any else {
                    throw ExpressionError(column: col, message: "a named list holds text, compared with a \(first.type.rawValue)")
                }
                advance()
                let f = first.asText
                let set = TextSet(members)
                return .condition { input in
                    guard let s = f(input) else { return false }
                    return set.contains(s) != negated
                }
            }
            try expectOp("[", hint: "write the list as [\"a\", \"b\"], or name a list: lists.NAME")
            var members: [Value] = []
            while !isOp("]") {
                let item = try parseUnary()
                guard let v = item.constant else {
                    throw ExpressionError(column: col, message: "list members must be literals")
                }
                if first.type != .any, item.type != first.type {
                    throw ExpressionError(column: col, message: "list holds a \(item.type.rawValue), compared with a \(first.type.rawValue)")
                }
                members.append(v)
                if isOp(",") { advance() } else if !isOp("]") {
                    throw ExpressionError(column: column, message: "expected ',' or ']' in list, found \(currentText)")
                }
            }
            advance()
            if first.type == .string {
                // Literal lists are short: comparing each text beats hashing the value.
                let texts = members.compactMap { v -> String? in if case .string(let s) = v { return s }; return nil }
                let f = first.asText
                return .condition { input in
                    guard let s = f(input) else { return false }
                    return texts.contains(s) != negated
                }
            }
            let set = Set(members)
            let f = first.eval
            return .condition { input in
                let v = f(input)
                if case .null = v { return false }
                return set.contains(v) != negated
            }
        }
        for keyword in ["contains", "startswith", "endswith", "matches"] where isKeyword(keyword) {
            return try textTest(keyword, first)
        }
        if isKeyword("is") {
            // The one test that looks at absence: every other comparison with a missing field is false.
            advance()
            let negated = isKeyword("not")
            if negated { advance() }
            guard isKeyword("null") else {
                throw ExpressionError(column: column, message: "expected 'null' after 'is\(negated ? " not" : "")'", hint: "e.g. debtor.name is null")
            }
            advance()
            let f = first.eval
            if let text = first.text { return .condition { (text($0) == nil) != negated } }
            if let number = first.number { return .condition { (number($0) == nil) != negated } }
            return .condition { input in
                if case .null = f(input) { return !negated }
                return negated
            }
        }
        var operands = [first]
        var ops: [(String, Int)] = []
        while case .op(let o) = current, ["==", "!=", "<", "<=", ">", ">="].contains(o) {
            ops.append((o, column))
            advance()
            operands.append(try parseSum())
        }
        guard !ops.isEmpty else { return first }
        // A chain (`a <= b <= c`) is the conjunction of its comparisons. Folded pairwise rather
        // than kept in an array: an array holds closures in the most general calling convention
        // (the result returned through memory), so one taken out of it is called through a
        // thunk to that convention and one back, for every comparison of every rule.
        var chain = try comparison(ops[0].0, operands[0], operands[1], ops[0].1)
        for k in ops.indices.dropFirst() {
            let (l, r) = (chain, try comparison(ops[k].0, operands[k], operands[k + 1], ops[k].1))
            chain = { l($0) && r($0) }
        }
        return .condition(chain)
    }

    /// `x contains "s"`, `startswith`, `endswith` (exact, case-sensitive) and `matches "regex"`
    /// (compiled once; `(?i)` makes it case-insensitive). A missing field never matches.
    mutating func textTest(_ keyword: String, _ subject: Node<Input>) throws(ExpressionError) -> Node<Input> {
        let col = column
        guard subject.type == .string || subject.type == .any else {
            throw ExpressionError(column: col, message: "'\(keyword)' applies to text, not to a \(subject.type.rawValue)")
        }
        advance()
        guard case .string(let text) = current else {
            throw ExpressionError(column: column, message: "'\(keyword)' needs a quoted text after it, found \(currentText)")
        }
        advance()
        let f = subject.asText
        func node(_ test: @escaping @Sendable (String) -> Bool) -> Node<Input> {
            .condition { input in
                guard let s = f(input) else { return false }
                return test(s)
            }
        }
        switch keyword {
        case "contains": return node { $0.contains(text) }
        case "startswith": return node { $0.hasPrefix(text) }
        case "endswith": return node { $0.hasSuffix(text) }
        default:
            let regex: NSRegularExpression
            do { regex = try NSRegularExpression(pattern: text) } catch {
                throw ExpressionError(column: col + keyword.count + 1, message: "'\(text)' is not a valid regular expression")
            }
            let shared = SharedRegex(regex)
            return node { shared.matches($0) }
        }
    }

    func comparison(_ op: String, _ a: Node<Input>, _ b: Node<Input>, _ col: Int) throws(ExpressionError) -> @Sendable (Input) -> Bool {
        if a.type != .any, b.type != .any, a.type != b.type {
            throw ExpressionError(column: col, message: "cannot compare a \(a.type.rawValue) with a \(b.type.rawValue)",
                                  hint: a.type == .decimal || b.type == .decimal ? "numbers are written without quotes" : nil)
        }
        if a.type == .bool, !["==", "!="].contains(op) {
            throw ExpressionError(column: col, message: "'\(op)' does not apply to true/false")
        }
        if a.type == .decimal, b.type == .decimal { return numberComparison(op, a, b) }
        if a.type == .string, b.type == .string { return textComparison(op, a, b) }
        let (l, r) = (a.eval, b.eval)
        switch op {
        case "==": return { input in equal(l(input), r(input)) == true }
        case "!=": return { input in equal(l(input), r(input)) == false }
        default:
            let test = Comparison(op)
            return { input in
                guard let c = order(l(input), r(input)) else { return false }
                return test.holds(c)
            }
        }
    }

    /// A comparison operator, applied to the sign of an ordering (negative, zero, positive).
    /// A switch on it costs less than the call of a closure per test, and conditions run on
    /// every event.
    enum Comparison: Sendable {
        case equal, notEqual, less, lessOrEqual, greater, greaterOrEqual

        init(_ op: String) {
            switch op {
            case "==": self = .equal
            case "!=": self = .notEqual
            case "<": self = .less
            case "<=": self = .lessOrEqual
            case ">": self = .greater
            default: self = .greaterOrEqual
            }
        }

        @inline(__always) static func order(_ x: String, _ y: String) -> Int { x == y ? 0 : x < y ? -1 : 1 }

        @inline(__always) func holds(_ order: Int) -> Bool {
            switch self {
            case .equal: order == 0
            case .notEqual: order != 0
            case .less: order < 0
            case .lessOrEqual: order <= 0
            case .greater: order > 0
            case .greaterOrEqual: order >= 0
            }
        }
    }

    /// Numbers compared as decimals; a comparison with a constant (the usual `amount >= 10000`)
    /// holds the constant rather than calling for it.
    func numberComparison(_ op: String, _ a: Node<Input>, _ b: Node<Input>) -> @Sendable (Input) -> Bool {
        let test = Comparison(op)
        // `count >= 20`: a whole-number field against a whole constant.
        if let read = a.integer, case .decimal(let c)? = b.constant, case let k = NSDecimalNumber(decimal: c).intValue, Decimal(k) == c {
            // Any value above `k` compares alike: counting may stop just past it.
            let limit = k == .max ? k : k + 1
            return { input in read(input, limit).map { test.holds($0 < k ? -1 : $0 == k ? 0 : 1) } ?? false }
        }
        let (l, r) = (a.asNumber, b.asNumber)
        if case .decimal(let c)? = b.constant {
            let c = Decimal.Comparand(c)
            return { input in l(input).map { test.holds(c.order($0)) } ?? false }
        }
        if case .decimal(let c)? = a.constant {
            let c = Decimal.Comparand(c)
            return { input in r(input).map { test.holds(c.reverseOrder($0)) } ?? false }
        }
        return { input in
            guard let x = l(input), let y = r(input) else { return false }
            return test.holds(Decimal.order(x, y))
        }
    }

    /// Texts compared by their Unicode scalars (what `String` orders by). Against a constant
    /// (`channel == "cash"`, the usual form) the constant is held, not called for.
    func textComparison(_ op: String, _ a: Node<Input>, _ b: Node<Input>) -> @Sendable (Input) -> Bool {
        let test = Comparison(op)
        let (l, r) = (a.asText, b.asText)
        if case .string(let c)? = b.constant {
            switch test {
            case .equal: return { input in l(input) == c }
            case .notEqual: return { input in l(input).map { $0 != c } ?? false }
            default: return { input in l(input).map { test.holds(Comparison.order($0, c)) } ?? false }
            }
        }
        if case .string(let c)? = a.constant {
            return { input in r(input).map { test.holds(Comparison.order(c, $0)) } ?? false }
        }
        return { input in
            guard let x = l(input), let y = r(input) else { return false }
            return test.holds(Comparison.order(x, y))
        }
    }

    mutating func parseSum() throws(ExpressionError) -> Node<Input> {
        var lhs = try parseTerm()
        while isOp("+") || isOp("-") {
            let op = currentText, col = column
            advance()
            lhs = try arithmetic(op, lhs, try parseTerm(), col)
        }
        return lhs
    }

    mutating func parseTerm() throws(ExpressionError) -> Node<Input> {
        var lhs = try parseUnary()
        while isOp("*") || isOp("/") || isOp("%") {
            let op = currentText, col = column
            advance()
            lhs = try arithmetic(op, lhs, try parseUnary(), col)
        }
        return lhs
    }

    func arithmetic(_ op: String, _ a: Node<Input>, _ b: Node<Input>, _ col: Int) throws(ExpressionError) -> Node<Input> {
        for n in [a, b] where n.type != .decimal && n.type != .any {
            throw ExpressionError(column: col, message: "'\(op)' needs numbers, found a \(n.type.rawValue)")
        }
        let (l, r) = (a.asNumber, b.asNumber)
        return .number { input in
            guard let x = l(input), let y = r(input) else { return nil }
            switch op {
            case "+": return x + y
            case "-": return x - y
            case "*": return x * y
            // Remainder of the truncated quotient: `amount % 1000 == 0` finds round amounts.
            case "%":
                guard y != 0 else { return nil }
                var q = x / y, whole = Decimal()
                NSDecimalRound(&whole, &q, 0, .down)
                return x - whole * y
            default: return y == 0 ? nil : x / y
            }
        }
    }

    mutating func parseUnary() throws(ExpressionError) -> Node<Input> {
        if isOp("-") {
            let col = column
            advance()
            let inner = try parseUnary()
            guard inner.type == .decimal || inner.type == .any else {
                throw ExpressionError(column: col, message: "'-' needs a number")
            }
            if case .decimal(let d)? = inner.constant {
                return .number({ _ in -d }, constant: -d)
            }
            let f = inner.asNumber
            return .number { input in f(input).map { -$0 } }
        }
        return try parseAtom()
    }

    mutating func parseAtom() throws(ExpressionError) -> Node<Input> {
        let col = column
        switch current {
        case .number(let d, _):
            advance()
            return .number({ _ in d }, constant: d)
        case .string(let s):
            advance()
            return .text({ _ in s }, constant: s)
        case .ident(let name):
            switch name {
            case "true", "false":
                advance()
                let b = name == "true"
                var n = Node<Input>.condition { _ in b }
                n.constant = .bool(b)
                return n
            case "null":
                advance()
                return Node(type: .any, eval: { _ in .null }, constant: .null)
            case "and", "or", "not", "in", "is", "contains", "startswith", "endswith", "matches":
                throw ExpressionError(column: col, message: "expected a value, found '\(name)'")
            default:
                guard let field = schema.fields[name] else {
                    let known = schema.fields.keys.sorted()
                    let close = known.filter { editDistance($0.lowercased(), name.lowercased()) <= 2 || $0.hasSuffix("." + name) }
                    throw ExpressionError(column: col, message: "unknown field '\(name)' in \(schema.name)",
                                          hint: close.isEmpty ? "fields: \(known.joined(separator: ", "))" : "did you mean \(close.joined(separator: " or "))?")
                }
                advance()
                fieldsRead.append(name)
                var n = Node(type: field.type, eval: field.read)
                n.number = field.number
                n.text = field.text
                n.integer = field.integer
                return n
            }
        case .op("("):
            advance()
            let inner = try parseExpression()
            try expectOp(")", hint: "a '(' is not closed")
            return inner
        case .end:
            throw ExpressionError(column: col, message: "expression ends too early")
        default:
            throw ExpressionError(column: col, message: "unexpected '\(currentText)'")
        }
    }

    func requireBool(_ n: Node<Input>, _ col: Int, _ op: String) throws(ExpressionError) {
        if n.type != .bool && n.type != .any {
            throw ExpressionError(column: col, message: "'\(op)' needs conditions on both sides, found a \(n.type.rawValue)")
        }
    }
}

/// Equality with SQL-like nulls: comparing with a missing value is unknown (`nil`).
private func equal(_ a: Value, _ b: Value) -> Bool? {
    if case .null = a { if case .null = b { return true }; return nil }
    if case .null = b { return nil }
    return a == b
}

private func order(_ a: Value, _ b: Value) -> Int? {
    switch (a, b) {
    case (.decimal(let x), .decimal(let y)): return x < y ? -1 : x == y ? 0 : 1
    case (.string(let x), .string(let y)): return x < y ? -1 : x == y ? 0 : 1
    default: return nil
    }
}

/// Levenshtein distance, for "did you mean" hints on misspelt field names.
func editDistance(_ a: String, _ b: String) -> Int {
    let a = Array(a), b = Array(b)
    guard !a.isEmpty else { return b.count }
    guard !b.isEmpty else { return a.count }
    var previous = Array(0...b.count)
    for i in 1...a.count {
        var current = [i] + Array(repeating: 0, count: b.count)
        for j in 1...b.count {
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
        }
        previous = current
    }
    return previous[b.count]
}

/// A compiled regular expression shared by the workers: `NSRegularExpression` is immutable
/// and documented thread-safe for matching.
private struct SharedRegex: @unchecked Sendable {
    let regex: NSRegularExpression
    init(_ regex: NSRegularExpression) { self.regex = regex }

    func matches(_ s: String) -> Bool {
        regex.firstMatch(in: s, range: NSRange(s.startIndex..., in: s)) != nil
    }
}

/// A named list's texts, for `x in lists.NAME` on every event. The lists hold short codes (the
/// FATF lists are two-letter countries): a text of up to seven bytes is packed with its length
/// into an integer and found by binary search, where `Set<String>` hashed every text with
/// SipHash (a fixed cost larger than the comparisons). Longer texts go to a set.
struct TextSet: Sendable {
    private let packed: [UInt64]
    private let long: Set<String>

    init(_ members: Set<String>) {
        packed = members.compactMap(Self.pack).sorted()
        long = members.filter { Self.pack($0) == nil }
    }

    func contains(_ text: String) -> Bool {
        guard let key = Self.pack(text) else { return !long.isEmpty && long.contains(text) }
        var lo = 0, hi = packed.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if packed[mid] < key { lo = mid + 1 } else { hi = mid }
        }
        return lo < packed.count && packed[lo] == key
    }

    /// The UTF-8 bytes in the low seven bytes and the length in the top one; `nil` past seven
    /// bytes. Equal texts (as `String` compares them: canonically) must pack alike, so only
    /// ASCII is packed, whose texts are equal exactly when their bytes are.
    static func pack(_ text: String) -> UInt64? {
        let utf8 = text.utf8
        guard utf8.count <= 7 else { return nil }
        var key = UInt64(utf8.count) << 56, shift: UInt64 = 0
        for b in utf8 {
            guard b < 0x80 else { return nil }
            key |= UInt64(b) << shift
            shift += 8
        }
        return key
    }
}
