import Foundation
import Testing
import VigilCore
@testable import VigilDetect

func tx(_ id: String, _ ts: String, _ amount: String, channel: String? = "cash", currency: String = "USD",
        debtor: String = "ACC-1", creditor: String = "ACC-9") -> Transaction {
    Transaction(id: id, ts: EventTime(rfc3339: ts)!, amount: Decimal(string: amount)!, currency: currency, channel: channel,
                debtor: Party(account: debtor, country: "US"), creditor: Party(account: creditor))
}

@Suite("Rule expressions")
struct ExpressionTests {
    func holds(_ source: String, _ t: Transaction) throws -> Bool {
        try ExpressionCompiler.compile(source, schema: .transaction).test(t)
    }

    @Test("an expression's top-level conjuncts, each with the fields it reads; an 'or' at the top leaves the whole")
    func conjuncts() throws {
        func parts(_ source: String) throws -> [Set<String>] {
            try ExpressionCompiler.compile(source, schema: .transaction).conjuncts.map(\.fields)
        }
        #expect(try parts(#"channel == "cash" and 8000 <= amount < 10000"#) == [["channel"], ["amount"]])
        #expect(try parts(#"channel not in ["cash", "card"] and (amount > 5 or debtor.country == creditor.country)"#)
                == [["channel"], ["amount", "debtor.country", "creditor.country"]])
        #expect(try parts(#"channel == "cash" or amount > 5 and currency == "USD""#) == [["channel", "amount", "currency"]])
        #expect(try parts(#"not (channel == "cash" and amount > 1)"#) == [["channel", "amount"]])
        #expect(try parts(#"(channel == "wire" and amount > 1) and currency == "USD""#) == [["channel", "amount"], ["currency"]])
        #expect(try parts("false") == [[]])
        // Each conjunct tests its own part.
        let e = try ExpressionCompiler.compile(#"channel == "cash" and amount > 5"#, schema: .transaction)
        let t = tx("a", "2024-01-01T00:00:00Z", "1", channel: "cash")
        #expect(e.conjuncts.map { $0.test(t) } == [true, false])
    }

    @Test("whole-number fields compare as integers with whole constants, and as decimals otherwise")
    func integerFields() throws {
        let schema = Schema<Int?>(name: "counts", fields: ["n": .integer { $0 }])
        func holds(_ source: String, _ n: Int?) throws -> Bool { try ExpressionCompiler.compile(source, schema: schema).test(n) }
        for (source, below, at, above) in [("n >= 3", false, true, true), ("n > 3", false, false, true), ("n <= 3", true, true, false),
                                           ("n < 3", true, false, false), ("n == 3", false, true, false), ("n != 3", true, false, true)] {
            #expect(try holds(source, 2) == below && holds(source, 3) == at && holds(source, 4) == above, "\(source)")
            #expect(try !holds(source, nil), "\(source) on null")
        }
        // A fractional or huge constant takes the decimal path, with the same answers.
        #expect(try holds("n >= 2.5", 3) && !holds("n >= 2.5", 2) && holds("n < 3.0", 2))
        #expect(try !holds("n >= 100000000000000000000000", Int.max) && holds("n < 100000000000000000000000", Int.max))
        // As a number in arithmetic too.
        #expect(try holds("n * 2 + 0.5 == 6.5", 3))
    }

    @Test("texts compare by each operator, with the constant on either side or none; a missing text never compares")
    func textComparisons() throws {
        let t = tx("a", "2024-01-01T00:00:00Z", "100", channel: "card")  // debtor.country US, creditor.country missing
        let cases: [(String, Bool)] = [
            (#"channel == "card""#, true), (#"channel != "card""#, false), (#"channel < "cash""#, true), (#"channel <= "card""#, true),
            (#"channel > "card""#, false), (#"channel >= "cash""#, false), (#""cash" > channel"#, true), (#""card" != channel"#, false),
            ("debtor.account < creditor.account", true), ("debtor.account >= creditor.account", false),
            (#"creditor.country == "US""#, false), (#"creditor.country != "US""#, false), (#"creditor.country < "ZZ""#, false),
            ("debtor.country != creditor.country", false),
        ]
        for (source, expected) in cases { #expect(try holds(source, t) == expected, "\(source)") }
    }

    @Test("a named list's set answers as Set<String> does: short, long, empty and non-ASCII texts")
    func textSetAgreesWithSet() {
        let members: Set<String> = ["KP", "IR", "MM", "", "ABCDEFG", "ABCDEFGH", "Türkiye", "CÔTE", "Cote d'Ivoire", "e\u{301}"]
        let set = TextSet(members)
        let probes = Array(members) + ["K", "KPX", "kp", "ABCDEF", "ABCDEFGHI", "Turkiye", "CO\u{302}TE", "\u{e9}", "MM ", " ", "\u{0}"]
        for p in probes { #expect(set.contains(p) == members.contains(p), "\(p.debugDescription)") }
    }

    @Test("text tests and named lists")
    func textAndLists() throws {
        var t = tx("a", "2024-01-01T00:00:00Z", "100")
        t.reference = "INV-2024-0042 consulting"
        t.creditor.country = "IR"
        #expect(try holds(#"reference contains "consulting""#, t))
        #expect(try holds(#"reference startswith "INV-" and not (reference endswith "fees")"#, t))
        #expect(try holds(#"reference matches "^INV-[0-9]{4}-[0-9]+""#, t))
        #expect(try holds(#"reference matches "(?i)CONSULTING""#, t))
        #expect(try !holds(#"debtor.name contains "x""#, t))   // missing field: never matches
        let lists: [String: Set<String>] = ["fatf-call-for-action": ["KP", "IR", "MM"]]
        func listed(_ source: String) throws -> Bool { try ExpressionCompiler.compile(source, schema: .transaction, lists: lists).test(t) }
        #expect(try listed("creditor.country in lists.fatf-call-for-action"))
        #expect(try !listed("debtor.country in lists.fatf-call-for-action"))
        #expect(try listed("debtor.country not in lists.fatf-call-for-action"))
        let unknown = #expect(throws: ExpressionError.self) { try ExpressionCompiler.compile("debtor.country in lists.grey", schema: .transaction, lists: lists) }
        #expect(unknown?.message == "no list named 'grey'" && unknown?.hint == "lists: fatf-call-for-action")
        let badRegex = #expect(throws: ExpressionError.self) { try ExpressionCompiler.compile(#"reference matches "([""#, schema: .transaction) }
        #expect(badRegex?.message.contains("not a valid regular expression") == true)
        #expect(throws: ExpressionError.self) { try ExpressionCompiler.compile(#"amount contains "1""#, schema: .transaction) }
        // Absence, and round amounts.
        #expect(try holds("debtor.name is null and reference is not null", t))
        #expect(try !holds("reference is null", t))
        #expect(try holds("amount % 100 == 0 and amount % 7 == 2", t))
        #expect(try !holds("(amount + 0.5) % 100 == 0", t))
    }

    @Test("comparisons, chains, boolean logic, membership and arithmetic")
    func evaluation() throws {
        let t = tx("a", "2024-01-01T00:00:00Z", "9500.50")
        #expect(try holds(#"amount >= 9000 and channel == "cash""#, t))
        #expect(try holds(#"8000 <= amount < 10000"#, t))
        #expect(try !holds(#"8000 <= amount < 9500.50"#, t))
        #expect(try holds(#"currency in ["USD", "EUR"] and not (channel == 'wire')"#, t))
        #expect(try holds(#"channel not in ["wire"]"#, t))
        #expect(try holds(#"amount * 2 - 1 == 19000"#, t))
        #expect(try holds(#"amount > 1_000 or debtor.account == "x""#, t))
        #expect(try holds(#"debtor.country == "US" and creditor.country == null"#, t))
        #expect(try holds("-amount < 0", t))
    }

    @Test("a missing field makes a comparison false, never an error")
    func missingField() throws {
        let t = tx("a", "2024-01-01T00:00:00Z", "10", channel: nil)
        #expect(try !holds(#"channel == "cash""#, t))
        #expect(try !holds(#"channel != "cash""#, t))
        #expect(try !holds(#"channel in ["cash"]"#, t))
        #expect(try holds(#"channel == null"#, t))
    }

    @Test("compile errors give the column and a hint", arguments: [
        (#"amount >= "10000""#, 8, "cannot compare a number with a string"),
        (#"amount = 5"#, 8, "'=' is not an operator"),
        (#"amout > 5"#, 1, "unknown field 'amout' in transaction"),
        (#"amount > 5 channel == "x""#, 12, "unexpected 'channel'"),
        (#"(amount > 5"#, 12, "expected ')', found end of expression"),
        (#"amount"#, 1, "expression is a number, expected a bool"),
        (#"channel == "cash"#, 12, "string is not closed"),
        (#"amount > 5 && channel == "x""#, 12, "'&' is not an operator"),
    ])
    func errors(source: String, column: Int, message: String) {
        let error = #expect(throws: ExpressionError.self) { try ExpressionCompiler.compile(source, schema: .transaction) }
        #expect(error?.column == column)
        #expect(error?.message == message)
    }
}
