import Foundation
import Testing
import VigilCore
@testable import VigilDetect

@Suite("Detector: predicate and window rules over event time")
struct DetectorTests {
    static func structuring() -> RuleDefinition {
        var r = RuleDefinition(id: "structuring", version: 2, kind: .window,
                               condition: #"channel == "cash" and 8000 <= amount < 10000"#)
        r.within = .seconds(86_400)
        r.having = "count >= 3"
        return r
    }

    /// A window per (debtor, creditor) pair.
    static func pairRepeat(within: Duration, having: String) -> RuleDefinition {
        var r = RuleDefinition(id: "pair-repeat", version: 1, kind: .window, condition: "amount > 0")
        r.key = ["debtor.account", "creditor.account"]
        r.within = within
        r.having = having
        return r
    }

    static func largeCash() -> RuleDefinition {
        RuleDefinition(id: "large-cash", version: 1, kind: .predicate,
                       condition: #"amount >= 10000 and currency == "USD" and channel == "cash""#)
    }

    func run(_ rules: [RuleDefinition], _ txs: [Transaction], limits: WindowLimits = .init()) throws -> [RuleMatch] {
        let detector = Detector(rules: try CompiledRules(rules), limits: limits)
        return txs.enumerated().flatMap { i, t in
            detector.process(t, origin: EventOrigin(topic: "fin.transactions", partition: 0, offset: Int64(i)))
        }
    }

    @Test("a rule is about its key's first field unless it names a subject; without either, the debtor's account")
    func subjectDefault() {
        var r = RuleDefinition(id: "r", version: 1, kind: .window, condition: "true")
        #expect(r.subject == "debtor.account")
        r.key = ["creditor.account", "debtor.account"]
        #expect(r.subject == "creditor.account")
        r.subject = "debtor.account"
        #expect(r.subject == "debtor.account")
        // A key that is not a text field is reported as the key, not as the subject taken from it.
        var badKey = RuleDefinition(id: "w", version: 1, kind: .window, condition: "true")
        badKey.key = ["amount"]
        badKey.within = .seconds(60)
        badKey.having = "count >= 2"
        let error = #expect(throws: RuleError.self) { try CompiledRules([badKey]) }
        #expect(error?.key == "key")
    }

    @Test("rules ruled out by the event's channel are skipped, and the same rules fire as when every condition is tested")
    func channelIndex() throws {
        let conditions = [
            #"channel == "cash" and amount >= 100"#, #"channel != "cash" and amount >= 100"#,
            #"channel not in ["cash", "card"] and amount > 0"#, #"channel in ["wire", "ach"]"#,
            #"channel is null"#, #"channel is not null and amount > 0"#, #"not (channel == "cash")"#,
            #"channel == "cash" or amount > 500"#, #"amount > 50 and (channel == "wire" or channel == "mobile")"#,
            #"channel == "teleport""#, "false", "true", #"channel < "d" and amount > 0"#,
        ]
        let rules = conditions.enumerated().map { RuleDefinition(id: "r\($0.offset)", version: 1, kind: .predicate, condition: $0.element) }
        let compiled = try CompiledRules(rules)
        let detector = Detector(rules: compiled)
        // Every known channel, none, and one no decoder would let through (built here directly).
        let channels: [String?] = Transaction.channels.sorted() + [nil, "teleport"]
        var offset: Int64 = 0
        for channel in channels {
            for amount in ["0", "100", "1000"] {
                let t = tx("t\(offset)", "2024-01-01T00:00:00Z", amount, channel: channel)
                let fired = detector.process(t, origin: EventOrigin(topic: "t", partition: 0, offset: offset)).map(\.finding.id)
                let expected = compiled.rules.filter { $0.condition.test(t) }.map(\.definition.id)
                #expect(fired == expected, "channel \(channel ?? "null"), amount \(amount)")
                offset += 1
            }
        }
        #expect(detector.process(tx("c", "2024-01-01T00:00:00Z", "1000", channel: "cash"), origin: EventOrigin(topic: "t", partition: 0, offset: offset))
                    .map(\.finding.id) == ["r0", "r5", "r7", "r11", "r12"])
        // What is skipped: for a card payment, every rule with a top-level test of the channel
        // alone that a card fails, and the constant `false`; with an unknown channel, nothing.
        let card = Transaction.channels.sorted().firstIndex(of: "card")!
        #expect(detector.rulesByChannel[card].map { "r\($0)" } == ["r1", "r5", "r6", "r7", "r11", "r12"])
        #expect(detector.rulesByChannel.last == Array(0..<conditions.count))
    }

    @Test("a predicate fires on each matching event, with its evidence")
    func predicate() throws {
        let m = try run([Self.largeCash()], [
            tx("a", "2024-01-01T00:00:00Z", "10000"), tx("b", "2024-01-01T00:00:00Z", "9999.99"),
            tx("c", "2024-01-01T00:00:00Z", "50000", channel: "wire"), tx("d", "2024-01-01T00:00:00Z", "12000", currency: "EUR"),
        ])
        #expect(m.count == 1)
        #expect(m[0].contributions.map(\.eventID) == ["a"])
        #expect(m[0].finding.id == "large-cash" && m[0].subject.value == "ACC-1")
    }

    @Test("rules written with one condition test it once per event, and each still gets its findings")
    func sharedConditions() throws {
        var window = Self.structuring()
        window.id = "structuring-window"
        let predicate = RuleDefinition(id: "structuring-each", version: 1, kind: .predicate, condition: window.condition)
        let rules = try CompiledRules([window, Self.largeCash(), predicate])
        #expect(rules.conditionSlots == [0, 1, 0] && rules.conditionCount == 2)
        let m = try run([window, Self.largeCash(), predicate], [
            tx("a", "2024-01-01T08:00:00Z", "9000"), tx("b", "2024-01-01T09:00:00Z", "12000"),
            tx("c", "2024-01-01T10:00:00Z", "9500"), tx("d", "2024-01-01T11:00:00Z", "8000"),
        ])
        #expect(m.map(\.finding.id) == ["structuring-each", "large-cash", "structuring-each", "structuring-window", "structuring-each"])
        #expect(m[3].contributions.map(\.eventID) == ["a", "c", "d"])
    }

    @Test("three structured deposits within 24 h fire once, with all three as evidence")
    func structuringFires() throws {
        let m = try run([Self.structuring()], [
            tx("a", "2024-01-01T08:00:00Z", "9000"), tx("b", "2024-01-01T12:00:00Z", "9500"),
            tx("x", "2024-01-01T13:00:00Z", "9500", debtor: "OTHER"), tx("c", "2024-01-02T07:59:00Z", "8000"),
            tx("d", "2024-01-02T09:00:00Z", "9100"),
        ])
        #expect(m.count == 1)
        #expect(m[0].contributions.map(\.eventID) == ["a", "b", "c"])
        #expect(m[0].contributions.map(\.origin.offset) == [0, 1, 3])
        #expect(m[0].ts == EventTime(rfc3339: "2024-01-02T07:59:00Z"))
        #expect(m[0].finding.explanation.contains("3 transactions"))
        #expect(m[0].finding.explanation.contains("sum 26500"))
    }

    @Test("near misses do not fire: outside 24 h, at the threshold, other channel")
    func nearMisses() throws {
        let m = try run([Self.structuring()], [
            tx("a", "2024-01-01T08:00:00Z", "9000"), tx("b", "2024-01-01T12:00:00Z", "9500"),
            tx("c", "2024-01-02T08:00:01Z", "9000"),  // a is 24h01s older: out of the window
            tx("d", "2024-01-03T00:00:00Z", "10000"),  // not below the threshold
            tx("e", "2024-01-03T00:00:01Z", "9999", channel: "wire"),
        ])
        #expect(m.isEmpty)
    }

    @Test("a redelivered event (same partition and offset) is not counted twice in a window")
    func redelivery() throws {
        let detector = Detector(rules: try CompiledRules([Self.structuring()]))
        let a = tx("a", "2024-01-01T08:00:00Z", "9000"), b = tx("b", "2024-01-01T09:00:00Z", "9000"), c = tx("c", "2024-01-01T10:00:00Z", "9000")
        func at(_ o: Int64) -> EventOrigin { EventOrigin(topic: "t", partition: 0, offset: o) }
        #expect(detector.process(a, origin: at(0)).isEmpty)
        #expect(detector.process(b, origin: at(1)).isEmpty)
        // After a rebalance, both come again: still two deposits, not four.
        #expect(detector.process(a, origin: at(0)).isEmpty)
        #expect(detector.process(b, origin: at(1)).isEmpty)
        let m = detector.process(c, origin: at(2))
        #expect(m.map { $0.contributions.map(\.eventID) } == [["a", "b", "c"]])
    }

    @Test("the events of one message (a statement, a CSV extract) share its offset and each counts; the message again counts none")
    func eventsOfOneMessage() throws {
        let detector = Detector(rules: try CompiledRules([Self.structuring()]))
        let deposits = [tx("a", "2024-01-01T08:00:00Z", "9000"), tx("b", "2024-01-01T09:00:00Z", "9000"), tx("c", "2024-01-01T10:00:00Z", "9000")]
        let origin = EventOrigin(topic: "t", partition: 0, offset: 7)
        let m = deposits.flatMap { detector.process($0, origin: origin) }
        #expect(m.map { $0.contributions.map(\.eventID) } == [["a", "b", "c"]])
        // Redelivered, the message's first two come back into an empty window, once each.
        #expect(deposits.prefix(2).flatMap { detector.process($0, origin: origin) }.isEmpty)
        #expect(detector.process(deposits[1], origin: origin).isEmpty)
        #expect(detector.process(deposits[2], origin: origin).map { $0.contributions.map(\.eventID) } == [["a", "b", "c"]])
    }

    @Test("a sequence completes within one message: a statement with the deposit and the wire out")
    func sequenceInOneMessage() throws {
        let detector = Detector(rules: try CompiledRules([Self.cashThenWire()]))
        let origin = EventOrigin(topic: "t", partition: 0, offset: 3)
        let m = [tx("c1", "2024-01-01T08:00:00Z", "6000", debtor: "BRANCH", creditor: "X"),
                 tx("w1", "2024-01-01T09:00:00Z", "12000", channel: "wire", debtor: "X", creditor: "F")].flatMap { detector.process($0, origin: origin) }
        #expect(m.map { $0.contributions.map(\.eventID) } == [["c1", "w1"]])
    }

    @Test("a late event is placed in event-time order and counts")
    func lateEvent() throws {
        let m = try run([Self.structuring()], [
            tx("a", "2024-01-01T08:00:00Z", "9000"), tx("c", "2024-01-01T20:00:00Z", "9000"),
            tx("b", "2024-01-01T10:00:00Z", "9000"),
        ])
        #expect(m.count == 1)
        #expect(m[0].contributions.map(\.eventID) == ["a", "b", "c"])
    }

    @Test("late events at the front, in the middle and at the end of a window keep event-time order")
    func lateOrder() throws {
        let m = try run([Self.structuring()], [
            tx("b", "2024-01-01T10:00:00Z", "9500"), tx("d", "2024-01-01T12:00:00Z", "9500"),
            tx("a", "2024-01-01T09:00:00Z", "9500"),
        ] + [tx("c", "2024-01-01T11:00:00Z", "9500", debtor: "ACC-2"), tx("a2", "2024-01-01T09:00:00Z", "9500", debtor: "ACC-2"),
             tx("e", "2024-01-01T13:00:00Z", "9500", debtor: "ACC-2")])
        #expect(m.map { $0.contributions.map(\.eventID) } == [["a", "b", "d"], ["a2", "c", "e"]])
    }

    @Test("after most windows expire, the pool is compacted and windows still fire with their evidence")
    func compaction() throws {
        let detector = Detector(rules: try CompiledRules([Self.structuring()]))
        var offset: Int64 = 0
        func feed(_ t: Transaction) -> [RuleMatch] {
            defer { offset += 1 }
            return detector.process(t, origin: EventOrigin(topic: "fin.transactions", partition: 0, offset: offset))
        }
        // 8,000 keys with one deposit each; two deposits of Z two days later.
        for k in 0..<8_000 { _ = feed(tx("k\(k)", "2024-01-01T00:00:00Z", "9500", debtor: "K-\(k)")) }
        #expect(detector.stats.windowKeys == 8_000)
        _ = feed(tx("z1", "2024-01-03T00:00:00Z", "9500", debtor: "Z"))
        _ = feed(tx("z2", "2024-01-03T01:00:00Z", "9500", debtor: "Z"))
        // Events no rule keeps, until a sweep has run: the 8,000 old keys go.
        for k in 0..<8_100 { _ = feed(tx("n\(k)", "2024-01-03T02:00:00Z", "5", debtor: "N")) }
        #expect(detector.stats.windowKeys == 1 && detector.stats.windowEntries == 2)
        #expect(detector.windowPoolSlots == 2)
        let m = feed(tx("z3", "2024-01-03T03:00:00Z", "9500", debtor: "Z"))
        #expect(m.map { $0.contributions.map(\.eventID) } == [["z1", "z2", "z3"]])
        #expect(m.first?.contributions.map(\.origin.offset) == [8_000, 8_001, 16_102])
        #expect(detector.stats.windowKeys == 0 && detector.stats.windowEntries == 0)
    }

    @Test("a grace period leaves out events that arrive too late, and counts them")
    func grace() throws {
        var r = Self.structuring()
        r.grace = .seconds(3600)
        let detector = Detector(rules: try CompiledRules([r]))
        let input = [tx("a", "2024-01-01T08:00:00Z", "9000"), tx("c", "2024-01-01T20:00:00Z", "9000"),
                     tx("b", "2024-01-01T10:00:00Z", "9000"),   // 10 h behind: beyond the hour of grace
                     tx("d", "2024-01-01T19:30:00Z", "9000")]   // 30 min behind: counts
        let m = input.enumerated().flatMap { detector.process($1, origin: EventOrigin(topic: "t", partition: 0, offset: Int64($0))) }
        #expect(m.map { $0.contributions.map(\.eventID) } == [["a", "d", "c"]])
        #expect(detector.stats.droppedLate == 1)
        var predicate = Self.largeCash()
        predicate.grace = .seconds(60)
        #expect((try? CompiledRules([predicate])) == nil)
    }

    @Test("the per-key cap bounds state and is counted")
    func caps() throws {
        var r = Self.structuring()
        r.having = "count >= 100"
        let detector = Detector(rules: try CompiledRules([r]), limits: WindowLimits(maxEventsPerKey: 5, maxKeys: 2))
        for i in 0..<20 {
            _ = detector.process(tx("e\(i)", "2024-01-01T00:00:\(String(format: "%02d", i))Z", "9000", debtor: "K\(i % 4)"),
                                 origin: EventOrigin(topic: "t", partition: 0, offset: Int64(i)))
        }
        #expect(detector.stats.windowKeys <= 2)
        #expect(detector.stats.windowEntries <= 10)
        #expect(detector.stats.droppedByKeyCap > 0)
    }

    @Test("the same input gives the same matches, run after run")
    func deterministic() throws {
        let input = (0..<300).map { i in
            tx("e\(i)", "2024-01-0\(1 + i / 100)T\(String(format: "%02d", (i / 4) % 24)):00:00Z", i % 5 == 0 ? "12000" : "9100",
               debtor: "K\(i % 7)")
        }
        let a = try run([Self.structuring(), Self.largeCash()], input)
        let b = try run([Self.structuring(), Self.largeCash()], input)
        #expect(!a.isEmpty)
        #expect(a == b)
    }

    @Test("fan-out: distinct counterparties of one account within the window; a repeat payee does not count twice")
    func fanOut() throws {
        var r = RuleDefinition(id: "fan-out", version: 1, kind: .window, condition: "amount > 0")
        r.within = .seconds(86_400)
        r.distinct = "creditor.account"
        r.having = "distinct >= 3"
        let m = try run([r], [
            tx("a", "2024-01-01T08:00:00Z", "100", creditor: "P1"), tx("b", "2024-01-01T09:00:00Z", "100", creditor: "P2"),
            tx("c", "2024-01-01T10:00:00Z", "100", creditor: "P2"), tx("x", "2024-01-01T10:30:00Z", "100", debtor: "OTHER", creditor: "P3"),
            tx("d", "2024-01-01T11:00:00Z", "100", creditor: "P3"),
        ])
        #expect(m.map { $0.contributions.map(\.eventID) } == [["a", "b", "c", "d"]])
        #expect(m.first?.finding.explanation.contains("3 distinct creditor.account") == true)
    }

    @Test("a composite key keeps one window per pair; spread and percentiles of the amounts")
    func pairsAndAggregates() throws {
        let r = Self.pairRepeat(within: .seconds(86_400), having: "count >= 3 and stddev < 1 and median == 50.5 and p90 == 51 and max == 51")
        let m = try run([r], [
            tx("a", "2024-01-01T08:00:00Z", "50", creditor: "P1"), tx("b", "2024-01-01T09:00:00Z", "50", creditor: "P2"),
            tx("c", "2024-01-01T10:00:00Z", "50.5", creditor: "P1"), tx("d", "2024-01-01T11:00:00Z", "51", creditor: "P1"),
        ])
        #expect(m.map { $0.contributions.map(\.eventID) } == [["a", "c", "d"]])
        #expect(m.first?.finding.explanation.contains("for debtor.account, creditor.account ACC-1, P1") == true)
        // Far apart amounts: the spread is too wide.
        let wide = try run([r], [
            tx("a", "2024-01-01T08:00:00Z", "10", creditor: "P1"), tx("c", "2024-01-01T10:00:00Z", "50", creditor: "P1"),
            tx("d", "2024-01-01T11:00:00Z", "51", creditor: "P1"),
        ])
        #expect(wide.isEmpty)
    }

    /// Cash paid into an account, then a wire out of that same account (the account is the
    /// creditor of the first event and the debtor of the second).
    static func cashThenWire() -> RuleDefinition {
        var r = RuleDefinition(id: "cash-then-wire", version: 1, kind: .sequence, condition: "true")
        r.steps = [.init(condition: #"channel == "cash" and amount >= 5000"#, key: "creditor.account"),
                   .init(condition: #"channel == "wire""#, key: "debtor.account")]
        r.within = .seconds(48 * 3600)
        return r
    }

    @Test("a sequence follows one entity across roles, in order, within its span; the oldest start is used once")
    func sequence() throws {
        let m = try run([Self.cashThenWire()], [
            tx("w0", "2024-01-01T07:00:00Z", "9000", channel: "wire", debtor: "X"),                 // before any deposit
            tx("c1", "2024-01-01T08:00:00Z", "6000", debtor: "BRANCH", creditor: "X"),
            tx("c2", "2024-01-01T09:00:00Z", "7000", debtor: "BRANCH", creditor: "X"),
            tx("o1", "2024-01-01T10:00:00Z", "100", channel: "card", debtor: "X"),                  // ignored in between
            tx("w1", "2024-01-02T09:00:00Z", "12000", channel: "wire", debtor: "X", creditor: "F"),
            tx("w2", "2024-01-03T10:00:00Z", "12000", channel: "wire", debtor: "X", creditor: "F"), // c2 is 49 h old
        ])
        #expect(m.map { $0.contributions.map(\.eventID) } == [["c1", "w1"]])
        #expect(m.first?.subject == Alert.Subject(field: "creditor.account", value: "X"))
        #expect(m.first?.ts == EventTime(rfc3339: "2024-01-02T09:00:00Z"))
        #expect(m.first?.finding.explanation.contains("then (channel == \"wire\") at 2024-01-02T09:00:00Z") == true)
    }

    @Test("not followed by: fires when the span passes without the step, at the deadline; the step cancels it")
    func notFollowedBy() throws {
        var r = RuleDefinition(id: "in-not-out", version: 1, kind: .sequence, condition: "true")
        r.steps = [.init(condition: "amount >= 10000", key: "creditor.account"), .init(condition: "amount > 0", key: "debtor.account"),
                   .init(condition: #"channel == "cash""#, key: "debtor.account", negated: true)]
        r.within = .seconds(24 * 3600)
        let m = try run([r], [
            tx("in-a", "2024-01-01T08:00:00Z", "20000", channel: "wire", debtor: "S", creditor: "A"),
            tx("out-a", "2024-01-01T09:00:00Z", "19000", channel: "wire", debtor: "A", creditor: "T"),
            tx("in-b", "2024-01-01T08:00:00Z", "20000", channel: "wire", debtor: "S", creditor: "B"),
            tx("out-b", "2024-01-01T09:00:00Z", "19000", channel: "wire", debtor: "B", creditor: "T"),
            tx("cash-b", "2024-01-01T12:00:00Z", "500", debtor: "B", creditor: "ATM"),             // B withdrew cash: no alert
            tx("later", "2024-01-02T09:00:00Z", "1", channel: "wire", debtor: "Z", creditor: "Y"), // time passes
        ])
        #expect(m.map { $0.contributions.map(\.eventID) } == [["in-a", "out-a"]])
        #expect(m.first?.ts == EventTime(rfc3339: "2024-01-02T08:00:00Z"))
        #expect(m.first?.finding.explanation.contains("not followed by") == true)
    }

    static func cycle() -> RuleDefinition {
        var r = RuleDefinition(id: "cycle", version: 1, kind: .cycle, condition: #"channel == "wire""#)
        r.within = .seconds(7 * 86_400)
        r.maxLength = 4
        r.tolerance = Decimal(string: "0.2")
        return r
    }

    @Test("a cycle of funds forward in time within the span fires once, with every leg; a loose end does not")
    func cycleOfFunds() throws {
        let m = try run([Self.cycle()], [
            tx("ab", "2024-01-01T08:00:00Z", "10000", channel: "wire", debtor: "A", creditor: "B"),
            tx("bx", "2024-01-01T09:00:00Z", "9800", channel: "wire", debtor: "B", creditor: "X"),   // a dead end
            tx("bc", "2024-01-02T08:00:00Z", "9500", channel: "wire", debtor: "B", creditor: "C"),
            tx("ca", "2024-01-03T08:00:00Z", "9000", channel: "wire", debtor: "C", creditor: "A"),   // closes A → B → C → A
            tx("ca2", "2024-01-03T09:00:00Z", "9000", channel: "wire", debtor: "C", creditor: "A"),  // the legs are used up
        ])
        #expect(m.map { $0.contributions.map(\.eventID) } == [["ab", "bc", "ca"]])
        #expect(m.first?.subject == Alert.Subject(field: "creditor.account", value: "A"))
        #expect(m.first?.finding.explanation.hasPrefix("cycle of 3 transfers A → B → C → A within 168h (amounts 10000, 9500, 9000, each within 20% of the last)") == true)
    }

    @Test("sweeps drop cycle legs and sequence starts by their own partition's event time: a partition far behind keeps its own")
    func sweepsByPartition() throws {
        let detector = Detector(rules: try CompiledRules([Self.cycle(), Self.cashThenWire()]))
        var offsets: [Int32: Int64] = [:]
        func feed(_ t: Transaction, partition: Int32) -> [RuleMatch] {
            defer { offsets[partition, default: 0] += 1 }
            return detector.process(t, origin: EventOrigin(topic: "t", partition: partition, offset: offsets[partition, default: 0]))
        }
        // Partition 0 starts a cycle and a sequence on 1 January; partition 1 does the same.
        _ = feed(tx("ab", "2024-01-01T08:00:00Z", "10000", channel: "wire", debtor: "A", creditor: "B"), partition: 0)
        _ = feed(tx("c0", "2024-01-01T08:00:00Z", "6000", debtor: "BRANCH", creditor: "A"), partition: 0)
        _ = feed(tx("pq", "2024-01-01T08:00:00Z", "10000", channel: "wire", debtor: "P", creditor: "Q"), partition: 1)
        _ = feed(tx("c1", "2024-01-01T08:00:00Z", "6000", debtor: "BRANCH", creditor: "P"), partition: 1)
        #expect(detector.stats.cycleEdges == 2 && detector.stats.sequencePartials == 2)
        // Partition 1 runs on a month, long past both spans, and enough events for both rules'
        // sweeps to come round; partition 0 stays on 1 January.
        for k in 0..<10_000 { _ = feed(tx("n\(k)", "2024-02-01T00:00:00Z", "0", channel: "card", debtor: "N"), partition: 1) }
        #expect(detector.stats.cycleEdges == 1 && detector.stats.sequencePartials == 1)
        // Partition 0's legs and start are still there to complete.
        #expect(feed(tx("ba", "2024-01-01T10:00:00Z", "9800", channel: "wire", debtor: "B", creditor: "A"), partition: 0).map(\.finding.id) == ["cycle"])
        #expect(feed(tx("w0", "2024-01-01T11:00:00Z", "12000", channel: "wire", debtor: "A", creditor: "F"), partition: 0).map(\.finding.id)
            == ["cash-then-wire"])
        // Partition 1's are gone: the same moves there, late, complete nothing.
        #expect(feed(tx("qp", "2024-01-01T10:00:00Z", "9800", channel: "wire", debtor: "Q", creditor: "P"), partition: 1).isEmpty)
    }

    @Test("an account keeps at most the per-key cap of outgoing transfers for cycles, the oldest dropped first")
    func cycleEdgeCap() throws {
        let legs = [
            tx("ab", "2024-01-01T08:00:00Z", "10000", channel: "wire", debtor: "A", creditor: "B"),
            tx("ac", "2024-01-01T09:00:00Z", "10000", channel: "wire", debtor: "A", creditor: "C"),
            tx("ad", "2024-01-01T10:00:00Z", "10000", channel: "wire", debtor: "A", creditor: "D"),
            tx("ba", "2024-01-02T08:00:00Z", "9500", channel: "wire", debtor: "B", creditor: "A"),   // back to A through A → B
            tx("ca", "2024-01-02T09:00:00Z", "9500", channel: "wire", debtor: "C", creditor: "A"),   // back to A through A → C
        ]
        // Uncapped, both close a cycle; with two transfers kept per account, A → B went when A → D came.
        #expect(try run([Self.cycle()], legs).map { $0.contributions.map(\.eventID) } == [["ab", "ba"], ["ac", "ca"]])
        #expect(try run([Self.cycle()], legs, limits: WindowLimits(maxEventsPerKey: 2)).map { $0.contributions.map(\.eventID) } == [["ac", "ca"]])
        let detector = Detector(rules: try CompiledRules([Self.cycle()]), limits: WindowLimits(maxEventsPerKey: 2))
        for (i, t) in legs.prefix(3).enumerated() { _ = detector.process(t, origin: EventOrigin(topic: "t", partition: 0, offset: Int64(i))) }
        #expect(detector.stats.cycleEdges == 2)
    }

    @Test("cycle near misses: legs out of time order, beyond the span, amounts off, too long", arguments: [
        [("ab", "2024-01-02T08:00:00Z", "10000", "A", "B"), ("bc", "2024-01-01T08:00:00Z", "10000", "B", "C"), ("ca", "2024-01-03T08:00:00Z", "10000", "C", "A")],
        [("ab", "2024-01-01T08:00:00Z", "10000", "A", "B"), ("bc", "2024-01-02T08:00:00Z", "10000", "B", "C"), ("ca", "2024-01-08T08:00:01Z", "10000", "C", "A")],
        [("ab", "2024-01-01T08:00:00Z", "10000", "A", "B"), ("bc", "2024-01-02T08:00:00Z", "5000", "B", "C"), ("ca", "2024-01-03T08:00:00Z", "10000", "C", "A")],
        [("ab", "2024-01-01T08:00:00Z", "10000", "A", "B"), ("bc", "2024-01-01T09:00:00Z", "10000", "B", "C"), ("cd", "2024-01-01T10:00:00Z", "10000", "C", "D"),
         ("de", "2024-01-01T11:00:00Z", "10000", "D", "E"), ("ea", "2024-01-01T12:00:00Z", "10000", "E", "A")],
    ])
    func cycleNearMisses(legs: [(String, String, String, String, String)]) throws {
        let m = try run([Self.cycle()], legs.map { tx($0.0, $0.1, $0.2, channel: "wire", debtor: $0.3, creditor: $0.4) })
        #expect(m.isEmpty)
    }

    @Test("rule definitions are checked when compiled")
    func ruleErrors() {
        var noWithin = Self.structuring()
        noWithin.within = nil
        #expect(throws: RuleError(ruleID: "structuring", key: "within", message: "a window rule needs a positive 'within', e.g. 24h")) {
            try CompiledRules([noWithin])
        }
        var badHaving = Self.structuring()
        badHaving.having = "total > 5"
        let e = #expect(throws: RuleError.self) { try CompiledRules([badHaving]) }
        #expect(e?.key == "having" && e?.column == 1)
        #expect(e?.hint?.contains("count") == true)
        #expect(throws: RuleError.self) { try CompiledRules([Self.largeCash(), Self.largeCash()]) }
        var oneStep = Self.cashThenWire()
        oneStep.steps = Array(oneStep.steps!.prefix(1))
        #expect((try? CompiledRules([oneStep])) == nil)
        var notFirst = Self.cashThenWire()
        notFirst.steps![0].negated = true
        let nf = #expect(throws: RuleError.self) { try CompiledRules([notFirst]) }
        #expect(nf?.message.contains("only the last step") == true)
        var tooLong = Self.cashThenWire()
        tooLong.steps = Array(repeating: tooLong.steps![0], count: 65)
        let tl = #expect(throws: RuleError.self) { try CompiledRules([tooLong]) }
        #expect(tl?.message == "a sequence has at most 64 steps")
        var longCycle = Self.cycle()
        longCycle.maxLength = 11
        #expect((try? CompiledRules([longCycle])) == nil)
        var cycleWithKey = Self.cycle()
        cycleWithKey.key = ["debtor.account"]
        #expect((try? CompiledRules([cycleWithKey])) == nil)
        var noDistinct = Self.structuring()
        noDistinct.having = "distinct >= 3"
        #expect((try? CompiledRules([noDistinct])) == nil)
        var badKey = Self.structuring()
        badKey.key = ["debtor.account", "amount"]
        let k = #expect(throws: RuleError.self) { try CompiledRules([badKey]) }
        #expect(k?.key == "key" && k?.message.contains("'amount' is not a text field") == true)
    }
}

@Suite("Typologies: weighted findings per subject")
struct TypologyTests {
    static func rules() throws -> CompiledRules {
        var fanOut = RuleDefinition(id: "fan-out", version: 1, kind: .window, condition: "amount > 0")
        fanOut.within = .seconds(86_400)
        fanOut.distinct = "creditor.account"
        fanOut.having = "distinct >= 3"
        fanOut.score = 0.8
        let risky = RuleDefinition(id: "high-risk-country", version: 2, kind: .predicate, condition: #"creditor.country == "KP""#)
        return try CompiledRules([fanOut, risky])
    }

    func run(_ typology: TypologyDefinition, _ txs: [Transaction]) throws -> [TypologyMatch] {
        let rules = try Self.rules()
        let detector = Detector(rules: rules)
        let combiner = TypologyCombiner(typologies: try CompiledTypologies([typology], rules: rules))
        return txs.enumerated().flatMap { i, t in
            combiner.process(detector.process(t, origin: EventOrigin(topic: "t", partition: 0, offset: Int64(i))))
        }
    }

    static func muleTypology() -> TypologyDefinition {
        var t = TypologyDefinition(id: "mule-out", version: 1, weights: ["fan-out": 0.5, "high-risk-country": 0.5], threshold: 0.9)
        t.within = .seconds(7 * 86_400)
        t.reviewOnly = true
        return t
    }

    static func withCountry(_ t: Transaction, _ country: String) -> Transaction {
        var t = t
        t.creditor.country = country
        return t
    }

    @Test("both findings within the span reach the threshold: one alert with both, its arithmetic and every event")
    func combines() throws {
        let m = try run(Self.muleTypology(), [
            tx("a", "2024-01-01T08:00:00Z", "100", creditor: "P1"), tx("b", "2024-01-01T09:00:00Z", "100", creditor: "P2"),
            tx("c", "2024-01-01T10:00:00Z", "100", creditor: "P3"),            // fan-out 0.5 × 0.8 = 0.4: not enough
            Self.withCountry(tx("k", "2024-01-03T10:00:00Z", "100", creditor: "P4"), "KP"),  // + 0.5 × 1 = 0.9
            Self.withCountry(tx("k2", "2024-01-04T10:00:00Z", "100", creditor: "P5"), "KP"), // used up: no second alert
        ])
        #expect(m.count == 1)
        #expect(m.first?.rules.map(\.id) == ["fan-out", "high-risk-country"])
        #expect(m.first?.contributions.map(\.eventID) == ["a", "b", "c", "k"])
        #expect(m.first?.typology.explanation == "typology mule-out: fan-out 0.5 × 0.8 + high-risk-country 0.5 × 1 = 0.9 ≥ threshold 0.9 within 168h")
        #expect(m.first?.reviewOnly == true && m.first?.typology.kind == .typology)
    }

    @Test("near misses: one finding alone, or the two too far apart")
    func nearMisses() throws {
        #expect(try run(Self.muleTypology(), [Self.withCountry(tx("k", "2024-01-01T10:00:00Z", "100"), "KP")]).isEmpty)
        #expect(try run(Self.muleTypology(), [
            tx("a", "2024-01-01T08:00:00Z", "100", creditor: "P1"), tx("b", "2024-01-01T09:00:00Z", "100", creditor: "P2"),
            tx("c", "2024-01-01T10:00:00Z", "100", creditor: "P3"),
            Self.withCountry(tx("k", "2024-01-09T10:00:00Z", "100", creditor: "P4"), "KP"),  // 8 days later
        ]).isEmpty)
    }

    @Test("typologies are checked against the rules")
    func checked() throws {
        let rules = try Self.rules()
        var unknown = Self.muleTypology()
        unknown.weights["fan-in"] = 0.5
        #expect(throws: RuleError.self) { try CompiledTypologies([unknown], rules: rules) }
        var unreachable = Self.muleTypology()
        unreachable.threshold = 1.5
        let e = #expect(throws: RuleError.self) { try CompiledTypologies([unreachable], rules: rules) }
        #expect(e?.key == "threshold")
    }
}

