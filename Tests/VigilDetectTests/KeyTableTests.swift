import Foundation
import Testing
import VigilCore
@testable import VigilDetect

@Suite("Window keys: interned ids and the per-rule tables of windows")
struct KeyTableTests {
    @Test("a text or a pair keeps its id while referenced; unkept new ids go after the event, released ones at collection")
    func references() {
        let keys = KeyTable()
        let a = keys.id("ACC-1"), b = keys.id("ACC-2")
        #expect(keys.id("ACC-1") == a && a != b)
        let ab = keys.id(a, b)
        #expect(keys.id(a, b) == ab && keys.id(b, a) != ab)
        #expect(keys.texts(ab) == ["ACC-1", "ACC-2"])
        #expect(keys.texts(keys.id(ab, a)) == ["ACC-1", "ACC-2", "ACC-1"])
        keys.retain(ab)
        // Only the pair is held; its parts stay through it. The (ab, a) triple and (b, a) go.
        keys.dropUnkept()
        #expect(keys.count == 3)
        #expect(keys.texts(ab) == ["ACC-1", "ACC-2"])
        keys.release(ab)
        keys.dropUnkept()
        #expect(keys.count == 3, "a released id waits for collection")
        keys.collect()
        #expect(keys.count == 0)
        // Freed slots are reused.
        let bound = keys.bound
        _ = keys.id("ACC-3")
        #expect(keys.bound == bound && keys.count == 1)
    }

    @Test("a window entry fills one cache line, and the pool's chunks start on one")
    func entryIsOneCacheLine() {
        #expect(MemoryLayout<WindowPool.Node>.stride == 64)
        let pool = WindowPool()
        let i = pool.allocate(WindowPool.Node(amount: 1, partition: 0, next: -1, distinct: -1, ts: EventTime(microseconds: 0), offset: 0, eventID: "e"))
        #expect(UInt(bitPattern: pool.address(i)) % 64 == 0)
    }

    @Test("compaction renumbers the ids in use and keeps what each stands for")
    func compaction() throws {
        let keys = KeyTable()
        var held: [Int32] = []
        for i in 0..<10_000 {
            let id = keys.id("K-\(i)")
            if i % 9 == 0 { held.append(keys.id(id, keys.id("P-\(i / 9 % 3)"))) }
        }
        for id in held { keys.retain(id) }
        keys.dropUnkept()
        #expect(keys.count == held.count + 3 + held.count)
        let before = held.map(keys.texts)
        let map = try #require(keys.compact())
        #expect(keys.bound == keys.count)
        #expect(held.map { keys.texts(map[Int($0)]) } == before)
        // Looked up by text again, the pairs are found under their new ids.
        #expect(keys.id(keys.id("K-9"), keys.id("P-1")) == map[Int(held[1])])
        #expect(keys.compact() == nil, "nothing left to gain")
    }

    @Test("the open-addressing table of windows agrees with a dictionary through growth, deletion and shrinking")
    func heads() {
        var table = WindowHeads()
        var model: [Int32: Int32] = [:]
        var random = SplitMix64(seed: 42)
        for step in 0..<60_000 {
            // Grows to thousands of keys, then mostly deletes (so the table shrinks), then mixes.
            let key = Int32.random(in: 0..<5_000, using: &random)
            let insert = step < 20_000 ? Int.random(in: 0..<4, using: &random) > 0 : step < 40_000 ? Int.random(in: 0..<10, using: &random) == 0 : Bool.random(using: &random)
            if insert {
                table.set(key, WindowHead(key: key, first: 0, last: 0, count: Int32(step % 100 + 1)))
                model[key] = Int32(step % 100 + 1)
            } else {
                table.set(key, nil)
                model[key] = nil
            }
        }
        #expect(table.count == model.count)
        #expect((0..<5_000).allSatisfy { k in table[Int32(k)]?.count == model[Int32(k)] })
        #expect(Set(table.all.map(\.key)) == Set(model.keys))
    }

    @Test("a window's distinct count is the number of different values, for short windows and long ones, and stops at a limit")
    func distinctCount() {
        let pool = WindowPool()
        var rng = SplitMix64(seed: 7)
        for length in 1...80 {
            var values: [Int32] = []
            var first: Int32 = -1, previous: Int32 = -1
            // Few values, so that repeats are common (-1 is an entry without one); past 40
            // entries many, so that more than the stack buffer's 32 may be kept.
            let range: UInt64 = length <= 40 ? 7 : 60
            for _ in 0..<length {
                let v = Int32(rng.next() % range) - 1
                values.append(v)
                let i = pool.allocate(WindowPool.Node(amount: 1, partition: 0, next: -1, distinct: v >= 0 ? pool.keys.id("V\(v)") : -1,
                                                      ts: EventTime(microseconds: 0), offset: 0, eventID: "e"))
                if previous >= 0 { pool[previous].next = i } else { first = i }
                previous = i
            }
            let expected = Set(values.filter { $0 >= 0 }).count
            let view = WindowView(pool: pool, first: first, count: length)
            #expect(view.distinctCount == expected, "\(length): \(values)")
            // Counted up to a limit (what `distinct >= k` asks for), it stops there.
            for limit in [1, 2, 3, 5, 8, 10, 32, 33, 40] {
                #expect(view.distinctCount(upTo: limit) == min(expected, limit), "\(length) up to \(limit): \(values)")
            }
        }
    }

    @Test("after a peak of keys expires, the key table shrinks and pair and fan-out windows still fire with their texts")
    func detectorShrinks() throws {
        let pairs = DetectorTests.pairRepeat(within: .seconds(3600), having: "count >= 2")
        var fanOut = RuleDefinition(id: "fan-out", version: 1, kind: .window, condition: "amount > 0")
        fanOut.distinct = "creditor.account"
        fanOut.within = .seconds(3600)
        fanOut.having = "distinct >= 3"
        let detector = Detector(rules: try CompiledRules([pairs, fanOut]))
        var offset: Int64 = 0
        func feed(_ t: Transaction) -> [RuleMatch] {
            defer { offset += 1 }
            return detector.process(t, origin: EventOrigin(topic: "t", partition: 0, offset: offset))
        }
        for k in 0..<6_000 { _ = feed(tx("k\(k)", "2024-01-01T00:00:00Z", "10", debtor: "D-\(k)", creditor: "C-\(k)")) }
        #expect(detector.keyCount == 3 * 6_000)
        // A day later: one debtor pays three creditors, the first twice.
        for (n, c) in ["X1", "X2", "X1"].enumerated() { _ = feed(tx("z\(n)", "2024-01-02T00:00:0\(n)Z", "10", debtor: "Z", creditor: c)) }
        // Enough events for each rule's sweep to come round after the day passed (the two rules
        // take turns, each once per as many events as there are keys, at least 4,096).
        for k in 0..<8_200 { _ = feed(tx("n\(k)", "2024-01-02T00:01:00Z", "0", debtor: "N")) }
        // Z, X1, X2 and the pair Z→X2 (Z→X1 fired and was consumed): the 18,000 old ids are gone.
        #expect(detector.keyCount == 4)
        let m = feed(tx("z3", "2024-01-02T00:02:00Z", "10", debtor: "Z", creditor: "X3"))
        #expect(m.map(\.finding.id) == ["fan-out"])
        #expect(m.first?.contributions.map(\.eventID) == ["z0", "z1", "z2", "z3"])
        #expect(m.first?.finding.explanation.contains("3 distinct creditor.account") == true)
        let again = feed(tx("z4", "2024-01-02T00:03:00Z", "10", debtor: "Z", creditor: "X2"))
        #expect(again.first?.finding.explanation.contains("for debtor.account, creditor.account Z, X2") == true)
    }

    @Test("a reload shares the key table: a kept rule's windows keep their keys, a dropped rule's are given back")
    func reload() throws {
        var byCreditor = DetectorTests.structuring()
        byCreditor.id = "by-creditor"
        byCreditor.key = ["creditor.account"]
        let before = Detector(rules: try CompiledRules([DetectorTests.structuring(), byCreditor]))
        for (n, (d, c)) in [("A", "P"), ("A", "Q"), ("B", "R")].enumerated() {
            _ = before.process(tx("e\(n)", "2024-01-01T0\(n):00:00Z", "9000", debtor: d, creditor: c), origin: EventOrigin(topic: "t", partition: 0, offset: Int64(n)))
        }
        #expect(before.keyCount == 5)
        let after = Detector(rules: try CompiledRules([DetectorTests.structuring()]), carryingOver: before)
        // Until the next collection the creditors' ids stay; the windows of A and B carry over.
        #expect(after.stats.windowKeys == 2 && after.stats.windowEntries == 3)
        let m = after.process(tx("e3", "2024-01-01T03:00:00Z", "9000", debtor: "A", creditor: "S"), origin: EventOrigin(topic: "t", partition: 0, offset: 3))
        #expect(m.map { $0.contributions.map(\.eventID) } == [["e0", "e1", "e3"]])
        // Enough events for a sweep: what no rule holds any more (P, Q, R, S, A) is collected.
        for k in 0..<4_100 {
            _ = after.process(tx("n\(k)", "2024-01-01T04:00:00Z", "5", debtor: "N"), origin: EventOrigin(topic: "t", partition: 0, offset: Int64(4 + k)))
        }
        #expect(after.keyCount == 1)
    }
}

@Suite("Probe table: open addressing with backward-shift deletion")
struct ProbeTableTests {
    /// Homes collide on purpose (61 home slots for thousands of keys), so removals must shift
    /// long probe runs, across the end of the table too, without losing a key.
    struct Slot: ProbeSlot, Equatable {
        var key: Int
        var value: Int
        static let vacant = Slot(key: -1, value: 0)
        var isVacant: Bool { key == -1 }
        var home: Int { key % 61 * 1_000_003 }
    }

    @Test("against a dictionary: every key stays findable through inserts, updates and removals that grow and shrink the table")
    func model() {
        var table = ProbeTable<Slot>()
        var model: [Int: Int] = [:]
        var rng = SplitMix64(seed: 7)
        func find(_ key: Int) -> Int { table.find(home: Slot(key: key, value: 0).home) { $0.key == key } }
        for step in 0..<60_000 {
            // Grow to about 3,000 keys, then remove nearly all of them.
            let key = Int(rng.next() % 4_000)
            let i = find(key)
            if step >= 30_000 || rng.next() % 3 == 0 {
                if !table.slots[i].isVacant { table.remove(at: i) }
                model[key] = nil
            } else {
                table.store(Slot(key: key, value: step), at: i)
                model[key] = step
            }
            if step % 1_999 == 0 || step == 59_999 {
                #expect(table.count == model.count)
                for k in 0..<4_000 {
                    let s = table.slots[find(k)]
                    #expect((s.isVacant ? nil : s.value) == model[k], "key \(k) at step \(step)")
                }
                #expect(table.occupied.count == model.count)
            }
        }
        #expect(table.slots.count <= 1_024, "shrinks back after most keys went (\(table.slots.count) slots)")
    }

    @Test("texts that differ only in their last byte, or past eight bytes, get ids of their own; freed ones are unindexed")
    func textHashes() {
        let keys = KeyTable()
        let texts = (0..<2_000).map { "ACC-\($0 % 10)\(String(repeating: "x", count: $0 % 17))\($0)" }
        let ids = texts.map(keys.id)
        #expect(Set(ids).count == texts.count)
        #expect(texts.map(keys.id) == ids)
        for id in ids { keys.retain(id) }
        for id in ids.prefix(1_000) { keys.release(id) }
        keys.collect()
        #expect(keys.count == 1_000)
        // The freed ones are interned again (as new ids, reusing slots); the kept ones keep theirs.
        #expect(texts.suffix(1_000).map(keys.id) == Array(ids.suffix(1_000)))
        let again = texts.prefix(1_000).map(keys.id)
        #expect(Set(again).count == 1_000 && Set(again).isDisjoint(with: ids.suffix(1_000)))
        #expect(zip(again, texts.prefix(1_000)).allSatisfy { keys.texts($0) == [$1] })
    }
}
