import Foundation
import Testing
import VigilCore
@testable import VigilAnomaly

/// River's Shuttle set, decompressed with gzip(1) (the tests do not link zlib).
func shuttle() throws -> AnomalyEvaluation.Table {
    let path = try #require(Bundle.module.resourceURL?.appendingPathComponent("Fixtures/shuttle.csv.gz")).path
    let gunzip = Process()
    gunzip.executableURL = URL(fileURLWithPath: "/bin/gzip")
    gunzip.arguments = ["-dc", path]
    let pipe = Pipe()
    gunzip.standardOutput = pipe
    try gunzip.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    gunzip.waitUntilExit()
    return try AnomalyEvaluation.table(csv: Array(data), file: "shuttle.csv", label: "anomaly", features: (1...9).map { "f\($0)" })
}

@Suite struct MetricsTests {
    @Test func rocAUC() {
        #expect(RankingMetrics.rocAUC(scores: [0.1, 0.2, 0.8, 0.9], labels: [false, false, true, true]) == 1)
        #expect(RankingMetrics.rocAUC(scores: [0.9, 0.8, 0.2, 0.1], labels: [false, false, true, true]) == 0)
        #expect(RankingMetrics.rocAUC(scores: [0.5, 0.5, 0.5, 0.5], labels: [false, true, false, true]) == 0.5)
        // One of the four (positive, negative) pairs is ordered wrongly.
        #expect(RankingMetrics.rocAUC(scores: [0.1, 0.6, 0.5, 0.9], labels: [false, false, true, true]) == 0.75)
        #expect(RankingMetrics.rocAUC(scores: [0.1], labels: [true]).isNaN)
    }

    @Test func averagePrecision() {
        #expect(RankingMetrics.prAUC(scores: [0.9, 0.8, 0.1], labels: [true, true, false]) == 1)
        // Anomalies ranked 1st and 3rd: precision 1 and 2/3.
        #expect(abs(RankingMetrics.prAUC(scores: [0.9, 0.8, 0.7], labels: [true, false, true]) - (1 + 2.0 / 3) / 2) < 1e-12)
    }
}

@Suite struct HalfSpaceTreesTests {
    @Test func windowsAndOutliers() {
        var options = HalfSpaceTrees.Options()
        options.window = 50
        var hst = HalfSpaceTrees(features: 2, options: options)
        var rng = SplitMix64(seed: 7)
        // Until a first window is complete there is no reference: every score is 0.
        for _ in 0..<49 {
            let x = [0.4 + 0.1 * rng.nextDouble(), 0.4 + 0.1 * rng.nextDouble()]
            #expect(hst.score(x) == 0)
            hst.learn(x)
        }
        for _ in 0..<200 { hst.learn([0.4 + 0.1 * rng.nextDouble(), 0.4 + 0.1 * rng.nextDouble()]) }
        let inlier = hst.score([0.45, 0.45]), outlier = hst.score([0.95, 0.05])
        #expect(outlier > inlier)
        #expect((0...1).contains(inlier) && (0...1).contains(outlier))
    }

    @Test func sameSeedSameScores() {
        var a = HalfSpaceTrees(features: 3), b = HalfSpaceTrees(features: 3)
        var other = HalfSpaceTrees(features: 3, options: { var o = HalfSpaceTrees.Options(); o.seed = 43; return o }())
        var rng = SplitMix64(seed: 1)
        var same = true, different = false
        for _ in 0..<2_000 {
            let x = [rng.nextDouble(), rng.nextDouble(), rng.nextDouble()]
            same = same && a.score(x) == b.score(x)
            different = different || a.score(x) != other.score(x)
            a.learn(x); b.learn(x); other.learn(x)
        }
        #expect(same && different)
    }

    @Test func minMaxScaler() {
        var s = MinMaxScaler(features: 2)
        #expect(s.transform([5, 5]) == [0, 0])
        s.learn([0, 10])
        #expect(s.transform([0, 10]) == [0, 0])   // no range yet: distance from the minimum
        s.learn([10, 10])
        #expect(s.transform([5, 12]) == [0.5, 2])
    }

    /// River's `MinMaxScaler | HalfSpaceTrees` with defaults reaches ROC AUC 0.964 on average
    /// over seeds 1–15 here (0.928–0.978; measured with River 0.26.1 and the exact AUC of
    /// ``RankingMetrics``). The issue asks for Vigil's HST within 0.01 of River's.
    @Test(.timeLimit(.minutes(5))) func shuttleParityWithRiver() throws {
        let table = try shuttle()
        #expect(table.rows.count == 49_097)
        #expect(table.labels.count { $0 } == 3_511)
        var aucs: [Double] = []
        for seed in UInt64(1)...15 {
            var o = HalfSpaceTrees.Options()
            o.seed = seed
            aucs.append(AnomalyEvaluation.run(table, file: "shuttle", detector: .hst, options: o).rocAUC)
        }
        let mean = aucs.reduce(0, +) / Double(aucs.count)
        #expect(abs(mean - 0.964) <= 0.01, "mean ROC AUC \(mean) over seeds 1–15: \(aucs)")
        let z = AnomalyEvaluation.run(table, file: "shuttle", detector: .zscore, options: .init())
        #expect(z.rocAUC > 0.98)
    }

    @Test func tableErrorsSayWhere() {
        #expect(throws: AnomalyError.self) {
            try AnomalyEvaluation.table(csv: Array("a,b,label\n1,2,0\n".utf8), file: "t.csv", label: "label", features: ["a", "c"])
        }
        do {
            _ = try AnomalyEvaluation.table(csv: Array("a,label\n1,0\nx,1\n".utf8), file: "t.csv", label: "label", features: ["a"])
            Issue.record("a non-number was accepted")
        } catch {
            #expect(error.description == "t.csv: line 3, column 'a': 'x' is not a number")
        }
    }
}

@Suite struct EntityBaselineTests {
    @Test func unusualForTheAccountItsPeersAndItsBalance() {
        var b = EntityBaseline()
        for i in 0..<10 {
            let e = EntityBaseline.Event(entity: "A", amount: 100 + Double(i), balanceBefore: 5_000, peer: "card", counterparty: "shop-\(i % 2)")
            b.learn(e)
            b.learn(EntityBaseline.Event(entity: "B\(i)", amount: 90 + Double(i), peer: "card"))
        }
        let usual = b.score(EntityBaseline.Event(entity: "A", amount: 104, balanceBefore: 5_000, peer: "card", counterparty: "shop-1"))
        let unusual = b.score(EntityBaseline.Event(entity: "A", amount: 4_900, balanceBefore: 5_000, peer: "card", counterparty: "stranger"))
        #expect(unusual.score > usual.score)
        let named = Dictionary(uniqueKeysWithValues: unusual.features.map { ($0.name, $0.value) })
        #expect(named["share-of-balance"] == 0.98)
        #expect(named["new-counterparty"] == 1)
        #expect((named["amount-vs-history"] ?? 0) > 0.8 && (named["amount-vs-peers"] ?? 0) > 0.5)
        #expect(unusual.features.first?.value == unusual.features.map(\.value).max())
        #expect(Dictionary(uniqueKeysWithValues: usual.features.map { ($0.name, $0.value) })["new-counterparty"] == 0)
        // An account seen for the first time is measured against everyone.
        let newcomer = b.score(EntityBaseline.Event(entity: "C", amount: 10_000))
        #expect(newcomer.features.map(\.name) == ["amount-vs-history"])
        #expect(newcomer.score > 0.8)
    }

    /// Scoring and learning in one step (what a pipeline does) gives what scoring, then
    /// learning, gives: the same score, and the same features when asked for them, over a
    /// stream that exercises every feature, accounts with and without history and more
    /// counterparties than an account remembers.
    @Test func scoreAndLearnIsScoreThenLearn() {
        var stepwise = EntityBaseline(), fused = EntityBaseline()
        var rng = SplitMix64(seed: 11)
        var full = 0
        for i in 0..<3_000 {
            let e = EntityBaseline.Event(entity: "A\(rng.next() % 40)", amount: Double(rng.next() % 5_000) + rng.nextDouble(),
                                         balanceBefore: i % 3 == 0 ? nil : Double(rng.next() % 20_000),
                                         peer: i % 5 == 0 ? nil : ["card", "wire", "cash"][Int(rng.next() % 3)],
                                         counterparty: i % 7 == 0 ? nil : "P\(rng.next() % 30)", time: i % 11 == 0 ? nil : Double(i) * 600)
            let expected = stepwise.score(e)
            stepwise.learn(e)
            var asked: Double?
            let got = fused.scoreAndLearn(e) { score in
                asked = score
                return i % 2 == 0
            }
            #expect(got.score == expected.score)
            #expect(asked == (expected.features.isEmpty ? nil : expected.score))
            #expect(got.features == (i % 2 == 0 ? expected.features : []))
            if expected.features.count >= 4 { full += 1 }
        }
        #expect(full > 1_000)
        #expect(fused.accountCount == 40)
    }

    /// An account remembers its most recent counterparties, as many as the options say (at
    /// most 16): paying the oldest again after that many others is paying someone new.
    @Test func remembersItsMostRecentCounterparties() {
        func isNew(_ b: EntityBaseline, _ payee: String) -> Bool {
            let f = b.score(EntityBaseline.Event(entity: "A", amount: 100, counterparty: payee)).features
            return f.first { $0.name == "new-counterparty" }!.value == 1
        }
        for (limit, remembered) in [(1, 1), (3, 3), (16, 16), (40, 16)] {
            var options = EntityBaseline.Options()
            options.rememberedCounterparties = limit
            var b = EntityBaseline(options: options)
            // History first (the feature needs some), paying nobody in particular.
            for _ in 0..<options.minimumHistory { b.learn(EntityBaseline.Event(entity: "A", amount: 100)) }
            for i in 0..<(remembered + 1) { b.learn(EntityBaseline.Event(entity: "A", amount: 100, counterparty: "P\(i)")) }
            // P0 paid first, then as many others as are remembered: forgotten. The rest are known.
            #expect(isNew(b, "P0"), "limit \(limit)")
            #expect((1...remembered).allSatisfy { !isNew(b, "P\($0)") }, "limit \(limit)")
            // Paying a known one again does not push another out.
            b.learn(EntityBaseline.Event(entity: "A", amount: 100, counterparty: "P1"))
            #expect(!isNew(b, "P\(remembered)"), "limit \(limit)")
            #expect(isNew(b, "someone else"))
        }
    }

    /// Past the bound, the accounts that paid least recently are forgotten and start again
    /// as new ones; the recently active keep their history.
    @Test func remembersAtMostTheBound() {
        var options = EntityBaseline.Options()
        options.maximumAccounts = 100
        var b = EntityBaseline(options: options)
        func pay(_ account: String, _ amount: Double = 100) -> EntityBaseline.Event {
            EntityBaseline.Event(entity: account, amount: amount, counterparty: "shop")
        }
        // Two accounts with history, then one-off payers up to the bound.
        for _ in 0..<5 { b.learn(pay("old")) }
        for _ in 0..<5 { b.learn(pay("regular")) }
        for i in 0..<98 { b.learn(pay("once-\(i)")) }
        #expect(b.accountCount == 100 && b.forgottenAccounts == 0)
        b.learn(pay("regular"))  // now the most recent
        b.learn(pay("extra"))  // one too many: back to 90, the least recent going (old, once-0 … once-9)
        #expect(b.accountCount == 90 && b.forgottenAccounts == 11)
        #expect(b.score(pay("regular", 5_000)).features.contains { $0.name == "new-counterparty" })
        // A forgotten account has no history of its own: it is measured against everyone.
        #expect(!b.score(pay("old", 5_000)).features.contains { $0.name == "new-counterparty" })
        #expect(b.score(pay("once-20", 5_000)).features.map(\.name) == b.score(pay("old", 5_000)).features.map(\.name))
        for i in 0..<1_000 { b.learn(pay("more-\(i)")) }
        #expect(b.accountCount <= 100 && b.forgottenAccounts == 1_101 - b.accountCount)
    }

    /// Asking for an account ahead (as the scoring stage does for the next payment) changes
    /// nothing: scores bit for bit, the accounts kept and forgotten, and the written state are
    /// those of a baseline never asked — whether the next payer, one further on, one forgotten
    /// or one never seen was asked for. What is written reads back into a baseline that scores
    /// the rest of the stream as the one that never stopped and writes the same bytes; a state
    /// that names an account twice is refused.
    @Test func prefetchingAndStateChangeNoScore() throws {
        var options = EntityBaseline.Options()
        options.maximumAccounts = 150  // 230 payers: accounts are forgotten, and the index rebuilt
        var plain = EntityBaseline(options: options), ahead = EntityBaseline(options: options)
        var rng = SplitMix64(seed: 5)
        let events = (0..<4_000).map { i in
            EntityBaseline.Event(entity: "ACC-\(rng.next() % 230)", amount: Double(rng.next() % 9_000) + 1, balanceBefore: i % 4 == 0 ? nil : 20_000,
                                 peer: ["card", "wire"][i % 2], counterparty: "P\(rng.next() % 25)", time: Double(i) * 300)
        }
        var restored: EntityBaseline?
        for (i, e) in events.enumerated() {
            if i + 1 < events.count { ahead.prefetch(events[i + 1].entity) }
            if i % 3 == 0, i + 5 < events.count { ahead.prefetch(events[i + 5].entity) }
            if i % 7 == 0 { ahead.prefetch("never-paid") }
            let expected = plain.scoreAndLearn(e) { _ in true }
            #expect(ahead.scoreAndLearn(e) { _ in true } == expected)
            if let r = restored {
                var copy = r
                #expect(copy.scoreAndLearn(e) { _ in true } == expected)
                restored = copy
            }
            if i == 2_500 {
                var w = StateWriter()
                plain.write(to: &w)
                var back = EntityBaseline(options: options)
                var r = StateReader(w.bytes)
                try back.read(from: &r)
                var again = StateWriter()
                back.write(to: &again)
                #expect(again.bytes == w.bytes)
                restored = back
            }
        }
        #expect(plain.forgottenAccounts > 0)
        #expect(ahead.accountCount == plain.accountCount && ahead.forgottenAccounts == plain.forgottenAccounts)
        var a = StateWriter(), b = StateWriter(), c = StateWriter()
        plain.write(to: &a)
        ahead.write(to: &b)
        restored?.write(to: &c)
        #expect(a.bytes == b.bytes && a.bytes == c.bytes)

        var twice = StateWriter()
        twice.write(2)
        twice.write(0)
        EntityBaseline.Robust().write(to: &twice)
        twice.write(0)  // no peer groups
        twice.write(2)
        for _ in 0..<2 {
            twice.write("ACC-1")
            EntityBaseline.Account().write(to: &twice)
        }
        var reader = StateReader(twice.bytes)
        var refused = EntityBaseline()
        let error = #expect(throws: StateError.self) { try refused.read(from: &reader) }
        #expect(error?.description == "account ACC-1 is written twice")
    }
}

@Suite struct AccountLevelTests {
    @Test func accountsScoreTheirHighestRow() throws {
        var csv = "from,to,amount\n"
        for i in 0..<60 { csv += "A\(i % 6),B\(i % 5),\(100 + i % 7)\n" }
        csv += "X,Y,250000\n"
        let table = try AnomalyEvaluation.table(csv: Array(csv.utf8), file: "t.csv", label: nil, features: [],
                                                baseline: .init(entity: "from", amount: "amount", counterparty: "to"))
        let labels = try AnomalyEvaluation.accountLabels(csv: Array("id,sar\nX,1\nY,1\nA1,0\nB2,0\nZ,0\n".utf8), file: "n.csv", account: nil, label: "sar")
        #expect(labels.count == 5)
        let r = AnomalyEvaluation.run(table, file: "t.csv", detector: .baseline, options: .init(), accounts: labels)
        #expect(r.accounts == 5 && r.anomalies == 2)
        // X and Y (the one huge payment) above A1, B2 and Z (Z has no rows: 0).
        #expect(r.rocAUC == 1)
    }
}

@Suite struct EdgeBurstTests {
    @Test func aBurstBetweenTwoAccountsStandsOut() {
        var midas = EdgeBurst()
        var steady = 0.0
        // Ten accounts paying their usual payee once per tick for 50 ticks.
        for t in Int64(0)..<50 {
            for a in 0..<10 { steady = midas.process(source: "A\(a)", target: "P\(a)", time: t) }
        }
        // Then one pair exchanges 30 payments within one tick.
        var burst = 0.0
        for _ in 0..<30 { burst = midas.process(source: "X", target: "Y", time: 50) }
        let usual = midas.process(source: "A3", target: "P3", time: 50)
        #expect(burst > 0.9)
        #expect(burst > usual && burst > steady)
        // Deterministic: the same stream scores the same.
        var again = EdgeBurst()
        var replayed = 0.0
        for t in Int64(0)..<50 { for a in 0..<10 { replayed = again.process(source: "A\(a)", target: "P\(a)", time: t) } }
        #expect(replayed == steady)
    }

    /// An edge's key keeps its two accounts apart: a burst from `AB` to `C` is not one from `A`
    /// to `BC`, nor does it make `AB` a burst target.
    @Test func edgeKeysKeepTheirAccountsApart() {
        var midas = EdgeBurst()
        for t in Int64(0)..<50 {
            _ = midas.process(source: "AB", target: "C", time: t)
            _ = midas.process(source: "A", target: "BC", time: t)
            _ = midas.process(source: "Q", target: "AB", time: t)
            _ = midas.process(source: "M", target: "N", time: t)
        }
        var burst = 0.0
        for _ in 0..<30 { burst = midas.process(source: "AB", target: "C", time: 50) }
        #expect(burst > 0.9)
        // As usual as an unrelated edge with the same history.
        let unrelated = midas.process(source: "M", target: "N", time: 50)
        #expect(unrelated < 0.6)
        #expect(midas.process(source: "A", target: "BC", time: 50) == unrelated)
        #expect(midas.process(source: "Q", target: "AB", time: 50) == unrelated)
    }

    /// What it has counted survives a write and a read: the restored detector scores the rest of
    /// the stream as the one that never stopped, bit for bit; sketches of another size are refused.
    @Test func stateRoundTrip() throws {
        var running = EdgeBurst()
        for t in Int64(0)..<40 { for a in 0..<20 { _ = running.process(source: "A\(a)", target: "P\(a % 7)", time: t) } }
        var w = StateWriter()
        running.write(to: &w)
        var restored = EdgeBurst()
        var r = StateReader(w.bytes)
        try restored.read(from: &r)
        for t in Int64(40)..<45 {
            for a in 0..<20 { #expect(restored.process(source: "A\(a)", target: "P\(a % 7)", time: t) == running.process(source: "A\(a)", target: "P\(a % 7)", time: t)) }
        }
        var options = EdgeBurst.Options()
        options.buckets = 1_024
        var smaller = EdgeBurst(options: options)
        var again = StateReader(w.bytes)
        #expect(throws: StateError.self) { try smaller.read(from: &again) }
    }
}

extension EdgeBurstTests {
    /// Asking for an edge's counters ahead (as the scoring stage does for the next payment)
    /// counts nothing: scores are the same bit for bit whether the next edge, the one after it,
    /// an edge never counted or none was asked for; and with buckets not a power of two.
    @Test func prefetchingChangesNoScore() {
        for buckets in [4_096, 1_000] {
            var options = EdgeBurst.Options()
            options.buckets = buckets
            var plain = EdgeBurst(options: options), ahead = EdgeBurst(options: options)
            let edges = (0..<2_000).map { i in (source: "A\(i % 37)", target: "P\(i % 11)", time: Int64(i / 50)) }
            for (i, e) in edges.enumerated() {
                if i + 1 < edges.count { ahead.prefetch(source: edges[i + 1].source, target: edges[i + 1].target) }
                if i % 3 == 0, i + 2 < edges.count { ahead.prefetch(source: edges[i + 2].source, target: edges[i + 2].target) }
                if i % 7 == 0 { ahead.prefetch(source: "never", target: "counted") }
                #expect(ahead.process(source: e.source, target: e.target, time: e.time) == plain.process(source: e.source, target: e.target, time: e.time))
            }
            var a = StateWriter(), b = StateWriter()
            plain.write(to: &a)
            ahead.write(to: &b)
            #expect(a.bytes == b.bytes)
        }
    }
}

@Suite struct FrequencyTests {
    @Test func soonerThanUsual() {
        var b = EntityBaseline()
        // A pays once a day for ten days.
        for day in 0..<10 { b.learn(.init(entity: "A", amount: 50, counterparty: "S", time: Double(day) * 86_400)) }
        let onTime = b.score(.init(entity: "A", amount: 50, counterparty: "S", time: 10 * 86_400))
        let rushed = b.score(.init(entity: "A", amount: 50, counterparty: "S", time: 9 * 86_400 + 60))
        func frequency(_ s: EntityBaseline.Score) -> Double? { s.features.first { $0.name == "frequency-vs-history" }?.value }
        #expect(frequency(onTime) == 0)
        #expect((frequency(rushed) ?? 0) > 0.8)
        #expect(rushed.score > onTime.score)
    }
}

@Suite struct RobustScaleTests {
    @Test func outliersBarelyMoveMedianAndSpread() {
        var r = EntityBaseline.Robust()
        var rng = SplitMix64(seed: 3)
        for _ in 0..<2_000 { r.add(10 + rng.nextDouble()) }   // uniform on [10, 11): median 10.5, MAD 0.25
        #expect(abs(r.median - 10.5) < 0.05 && abs(r.mad - 0.25) < 0.05)
        let before = (r.median, r.mad)
        for _ in 0..<20 { r.add(1_000_000) }
        #expect(abs(r.median - before.0) < 0.2 && abs(r.mad - before.1) < 0.2)
        #expect((r.z(10.5) ?? 99) < 0.5 && (r.z(20) ?? 0) > 10)
    }
}
