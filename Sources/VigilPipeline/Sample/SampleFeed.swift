import Foundation
import VigilCore

/// The bundled sample feed: a week of canonical transactions of a few hundred accounts with
/// habitual behaviour (salaries, card spending, small cash deposits, rent wires), plus planted
/// cases for the default pipeline — structuring, large cash — their near misses, and two
/// malformed records that must end on the dead-letter topic. Generated from a seed, so every run
/// (and every test) sees the same feed.
public struct SampleFeed: Sendable {
    /// A planted case and the events that make it up.
    public struct Planted: Sendable, Hashable {
        public enum Kind: String, Sendable, Hashable {
            /// Three or four cash deposits of 8,000–9,999.99 USD by one account within 24 h.
            case structuring
            /// One cash transaction of 10,000 USD or more.
            case largeCash = "large-cash"
            /// Looks close to a case but is not one; no alert expected.
            case nearMiss = "near-miss"
            /// Not a valid canonical transaction; expected on the dead-letter topic.
            case malformed
            /// Twelve accounts each send money to one collecting account within 36 h (mules).
            case fanIn = "fan-in"
            /// One account sends money to twelve different accounts within 36 h (dispersal).
            case fanOut = "fan-out"
            /// Funds go round a loop of 3–5 accounts back to the first within 72 h, each hop
            /// keeping 1–3 % (round-tripping).
            case cycle
            /// Cash deposits into one account at eight branches in different states within three
            /// days, then most of it wired abroad within a day (funnel account, FinCEN FIN-2014-A005).
            case funnel
            /// An account pays three times, then nothing for 200 days, then wires 25,000–45,000 USD
            /// to an account it never paid (a dormant account taken over: `pipelines/anomaly.yaml`'s
            /// `dormant:`). Its early payments come before the week; its near miss wakes after 120.
            case dormant

            /// The kinds `vigil generate --plant` accepts.
            public static let plantable: [Kind] = [.structuring, .largeCash, .fanIn, .fanOut, .cycle, .funnel, .dormant]
        }
        public var kind: Kind
        public var account: String
        public var eventIDs: [String]
    }

    /// One JSON object per line, in event-time order.
    public var lines: [String]
    public var planted: [Planted]

    public static let defaultSeed: UInt64 = 20_240_304

    /// A feed of exactly `count` lines (at least the planted cases): the number of accounts is
    /// scaled to the count and surplus habitual transactions are dropped.
    public static func generate(seed: UInt64 = defaultSeed, count: Int, plants: Set<Planted.Kind> = defaultPlants) -> SampleFeed {
        let accounts = max(60, count / 8 + 1)
        return generate(seed: seed, accounts: accounts, days: 7, limit: count, plants: plants)
    }

    /// What the bundled sample feed plants: the cases the default pipeline detects.
    public static let defaultPlants: Set<Planted.Kind> = [.structuring, .largeCash]

    /// - Parameters:
    ///   - accounts: accounts with habitual behaviour (at least 60, so planted cases have their own).
    ///   - days: how many days of activity, from 2024-03-04T00:00:00Z (at least 3).
    ///   - limit: most lines; habitual transactions beyond it are dropped, planted ones never.
    ///   - plants: which cases to plant (near misses and malformed records always are).
    public static func generate(seed: UInt64 = defaultSeed, accounts: Int = 300, days: Int = 7, limit: Int? = nil,
                                plants: Set<Planted.Kind> = defaultPlants) -> SampleFeed {
        let accounts = max(60, accounts), days = max(3, days)
        var rng = SplitMix64(seed: seed)
        let start = EventTime(rfc3339: "2024-03-04T00:00:00Z")!
        let day: Int64 = 86_400_000_000
        let countries = ["US", "US", "US", "US", "CA", "GB", "DE", "MX", "FR"]
        // Counterparties grow with large populations (one employer per 100 accounts, one
        // landlord per 50, one shop per 20), so a big feed does not have a dozen employers pay
        // everyone; feeds of up to 1,200 accounts keep their fixed 40, 12 and 25.
        let merchants = (1...max(40, accounts / 20)).map { "MER-" + padded($0, 3) }
        let employers = (1...max(12, accounts / 100)).map { "EMP-" + padded($0, 3) }
        let landlords = (1...max(25, accounts / 50)).map { "LND-" + padded($0, 3) }

        struct Draft { var ts: EventTime; var amount: String; var currency = "USD"; var channel: String
                       var debtor: String; var creditor: String; var reference: String?; var tag: Int?
                       var institution: String? = nil }
        var drafts: [Draft] = []
        func cents(_ lo: Int, _ hi: Int, _ rng: inout SplitMix64) -> String {
            let c = lo * 100 + Int(rng.next() % UInt64((hi - lo) * 100))
            return "\(c / 100).\(padded(c % 100, 2))"
        }
        func at(_ dayIndex: Int, _ rng: inout SplitMix64) -> EventTime {
            EventTime(microseconds: start.microseconds + Int64(dayIndex) * day + Int64(rng.next() % UInt64(day / 1_000_000)) * 1_000_000)
        }
        let accountIDs = (1...accounts).map { "ACC-" + padded($0, 4) }
        var countryOf: [String: String] = [:]
        for a in accountIDs { countryOf[a] = countries[Int(rng.next() % UInt64(countries.count))] }

        // Habitual behaviour.
        for (i, a) in accountIDs.enumerated() {
            let employer = employers[i % employers.count]
            drafts.append(Draft(ts: at(i % 2, &rng), amount: cents(1_800, 6_500, &rng), channel: "ach",
                                debtor: employer, creditor: a, reference: "SALARY MAR 2024", tag: nil))
            for d in 0..<days {
                let purchases = Int(rng.next() % 3)
                for _ in 0..<purchases {
                    drafts.append(Draft(ts: at(d, &rng), amount: cents(3, 180, &rng), channel: "card", debtor: a,
                                        creditor: merchants[Int(rng.next() % UInt64(merchants.count))], reference: nil, tag: nil))
                }
            }
            if rng.next() % 3 == 0 {
                drafts.append(Draft(ts: at(Int(rng.next() % UInt64(days)), &rng), amount: cents(100, 4_500, &rng), channel: "cash",
                                    debtor: a, creditor: a, reference: "CASH DEPOSIT", tag: nil))
            }
            if rng.next() % 2 == 0 {
                drafts.append(Draft(ts: at(1, &rng), amount: cents(700, 2_900, &rng), channel: "wire", debtor: a,
                                    creditor: landlords[i % landlords.count], reference: "RENT", tag: nil))
            }
        }

        var plantedDrafts: [(Planted.Kind, String, [Int])] = []
        func plant(_ kind: Planted.Kind, _ account: String, _ items: [Draft]) {
            let first = drafts.count
            drafts += items
            plantedDrafts.append((kind, account, Array(first..<drafts.count)))
        }
        // Structuring: 3–4 cash deposits just below 10,000 within 24 h.
        for k in 0..<6 where plants.contains(.structuring) {
            let a = accountIDs[(k * 37 + 11) % accounts]
            let d = 1 + k % (days - 2)
            let base = start.microseconds + Int64(d) * day + Int64(k) * 3_600_000_000
            let n = k % 2 == 0 ? 3 : 4
            plant(.structuring, a, (0..<n).map { j in
                Draft(ts: EventTime(microseconds: base + Int64(j) * 5 * 3_600_000_000), amount: cents(8_000, 9_999, &rng),
                      channel: "cash", debtor: a, creditor: a, reference: "CASH DEPOSIT", tag: nil)
            })
        }
        // Large cash: 10,000 USD or more in one go.
        for k in 0..<5 where plants.contains(.largeCash) {
            let a = accountIDs[(k * 53 + 7) % accounts]
            plant(.largeCash, a, [Draft(ts: at(k % days, &rng), amount: k == 0 ? "10000.00" : cents(10_000, 48_000, &rng),
                                        channel: "cash", debtor: a, creditor: a, reference: "CASH DEPOSIT", tag: nil)])
        }
        // Near misses.
        for k in 0..<3 {  // two deposits within 24 h, the third 30 h after the first
            let a = accountIDs[(k * 41 + 23) % accounts]
            let base = start.microseconds + Int64(k + 1) * day
            plant(.nearMiss, a, [0, 6, 30].map { h in
                Draft(ts: EventTime(microseconds: base + Int64(h) * 3_600_000_000), amount: cents(8_200, 9_900, &rng), channel: "cash",
                      debtor: a, creditor: a, reference: "CASH DEPOSIT", tag: nil)
            })
        }
        let wireAccount = accountIDs[(61 * 3) % accounts]
        plant(.nearMiss, wireAccount, [Draft(ts: at(2, &rng), amount: "25000.00", channel: "wire", debtor: wireAccount,
                                             creditor: "ACC-EXT-9", reference: "INVOICE 7781", tag: nil)])
        let eurAccount = accountIDs[(67 * 3) % accounts]
        plant(.nearMiss, eurAccount, [Draft(ts: at(3, &rng), amount: "15000.00", currency: "EUR", channel: "cash", debtor: eurAccount,
                                            creditor: eurAccount, reference: "CASH DEPOSIT", tag: nil)])
        let bigCardAccount = accountIDs[(71 * 3) % accounts]
        plant(.nearMiss, bigCardAccount, (0..<3).map { j in
            Draft(ts: EventTime(microseconds: start.microseconds + 4 * day + Int64(j) * 3_600_000_000), amount: cents(8_100, 9_800, &rng),
                  channel: "card", debtor: bigCardAccount, creditor: merchants[j], reference: nil, tag: nil)
        })
        // Malformed: kept in the feed as text that no decoder accepts.
        plant(.malformed, accountIDs[5], [Draft(ts: at(2, &rng), amount: "12,5OO", channel: "cash", debtor: accountIDs[5],
                                                creditor: accountIDs[5], reference: nil, tag: 1)])
        plant(.malformed, accountIDs[9], [Draft(ts: at(4, &rng), amount: "250.00", channel: "cash", debtor: accountIDs[9],
                                                creditor: accountIDs[9], reference: nil, tag: 2)])

        // Network typologies (AMLSim's patterns), on accounts of their own.
        let hour: Int64 = 3_600_000_000
        func moment(_ d: Int, _ h: Int64) -> EventTime { EventTime(microseconds: start.microseconds + Int64(d) * day + h * hour) }
        for k in 0..<3 where plants.contains(.fanIn) {
            let hub = "ACC-H\(k + 1)"
            let d = k % (days - 2)
            plant(.fanIn, hub, (0..<12).map { j in
                Draft(ts: moment(d, Int64(j * 3) % 36), amount: cents(900, 2_500, &rng), channel: j % 3 == 0 ? "mobile" : "wire",
                      debtor: "ACC-F\(k + 1)-\(j + 1)", creditor: hub, reference: "LOAN REPAYMENT", tag: nil)
            })
        }
        for k in 0..<3 where plants.contains(.fanOut) {
            let source = "ACC-O\(k + 1)"
            let d = (k + 1) % (days - 2)
            plant(.fanOut, source, (0..<12).map { j in
                Draft(ts: moment(d, Int64(j * 3) % 36), amount: cents(1_000, 3_000, &rng), channel: "wire",
                      debtor: source, creditor: "ACC-R\(k + 1)-\(j + 1)", reference: "SERVICES", tag: nil)
            })
        }
        for k in 0..<3 where plants.contains(.cycle) {
            let length = 3 + k  // 3, 4 and 5 accounts
            let members = (0..<length).map { "ACC-C\(k + 1)-\($0 + 1)" }
            var amount = Double(20_000 + Int(rng.next() % 40_000))
            let d = (k + 2) % (days - 2)
            plant(.cycle, members[0], (0..<length).map { j in
                defer { amount *= 0.97 + Double(rng.next() % 200) / 10_000 }
                return Draft(ts: moment(d, Int64(j * 6 + 1)), amount: String(format: "%.2f", amount), channel: "wire",
                             debtor: members[j], creditor: members[(j + 1) % length], reference: "INVOICE \(4_000 + k * 10 + j)", tag: nil)
            })
        }
        let branches = ["BR-TX", "BR-NM", "BR-AZ", "BR-CA", "BR-NV", "BR-FL", "BR-GA", "BR-IL"]
        for k in 0..<2 where plants.contains(.funnel) {
            let account = "ACC-U\(k + 1)"
            let d = k * 2
            var total = 0
            var items: [Draft] = (0..<8).map { j in
                let c = 200_000 + Int(rng.next() % 200_000)
                total += c
                return Draft(ts: moment(d, Int64(j * 8)), amount: "\(c / 100).\(padded(c % 100, 2))", channel: "cash",
                             debtor: account, creditor: account, reference: "CASH DEPOSIT", tag: nil, institution: branches[j])
            }
            let out = total * 9 / 10
            items.append(Draft(ts: moment(d, 8 * 7 + 10), amount: "\(out / 100).\(padded(out % 100, 2))", channel: "wire",
                               debtor: account, creditor: "ACC-EXT-MX-\(k + 1)", reference: "PAYMENT", tag: nil))
            countryOf["ACC-EXT-MX-\(k + 1)"] = "MX"
            plant(.funnel, account, items)
        }

        // Dormant accounts: three card payments long before the week, then a large wire in it.
        for (k, idle) in [(1, 200), (2, 200), (3, 120)] where plants.contains(.dormant) {
            let account = "ACC-D\(k)"
            let d = k % days
            var items: [Draft] = (0..<3).map { j in
                Draft(ts: moment(d - idle - 2 + j, 12), amount: cents(20, 150, &rng), channel: "card", debtor: account,
                      creditor: merchants[j], reference: nil, tag: nil)
            }
            items.append(Draft(ts: moment(d, 14), amount: cents(25_000, 45_000, &rng), channel: "wire", debtor: account,
                               creditor: "ACC-EXT-D\(k)", reference: "TRANSFER", tag: nil))
            plant(idle >= 180 ? .dormant : .nearMiss, account, items)
        }

        if let limit {
            // Drop habitual transactions (they come first in `drafts`) down to the limit.
            let planted = Set(plantedDrafts.flatMap(\.2))
            var surplus = drafts.count - max(limit, planted.count)
            var keep = [Bool](repeating: true, count: drafts.count)
            var i = 0
            while surplus > 0, i < drafts.count {
                if !planted.contains(i) { keep[i] = false; surplus -= 1 }
                i += 1
            }
            var remap = [Int](repeating: -1, count: drafts.count)
            var kept: [Draft] = []
            for (j, d) in drafts.enumerated() where keep[j] { remap[j] = kept.count; kept.append(d) }
            drafts = kept
            plantedDrafts = plantedDrafts.map { ($0.0, $0.1, $0.2.map { remap[$0] }) }
        }

        // Event-time order, then ids in that order.
        let order = drafts.indices.sorted { (drafts[$0].ts, $0) < (drafts[$1].ts, $1) }
        var idOf = [Int: String]()
        var lines: [String] = []
        lines.reserveCapacity(order.count)
        for (n, i) in order.enumerated() {
            let d = drafts[i]
            let id = "tx-" + padded(n + 1, 6)
            idOf[i] = id
            switch d.tag {
            case 1:  // an amount that is not a number
                lines.append(#"{"id":"\#(id)","ts":"\#(d.ts.rfc3339)","amount":"\#(d.amount)","currency":"USD","channel":"cash","debtor":{"account":"\#(d.debtor)"},"creditor":{"account":"\#(d.creditor)"}}"#)
            case 2:  // a record cut short in transmission
                lines.append(#"{"id":"\#(id)","ts":"\#(d.ts.rfc3339)","amount":"\#(d.amount)","currency":"USD","chan"#)
            default:
                let tx = Transaction(
                    id: id, ts: d.ts, amount: DecimalText.parse(d.amount)!, currency: d.currency, channel: d.channel,
                    // Wires carry the originator's name (FATF Recommendation 16); other payments need not.
                    debtor: Party(account: d.debtor, name: d.channel == "wire" ? "Holder of \(d.debtor)" : nil, country: countryOf[d.debtor]),
                    creditor: Party(account: d.creditor, country: countryOf[d.creditor]),
                    reference: d.reference, source: EventSource(format: "sample", institution: d.institution ?? "VIGIL-SAMPLE-BANK"))
                lines.append(String(decoding: tx.canonicalJSON, as: UTF8.self))
            }
        }
        let planted = plantedDrafts.map { Planted(kind: $0.0, account: $0.1, eventIDs: $0.2.map { idOf[$0]! }.sorted()) }
        return SampleFeed(lines: lines, planted: planted)
    }
}

/// `n` in decimal, zero-padded to `width` digits (`String(format: "%0*d")` without Foundation's
/// formatter, which was a sixth of generating a feed).
func padded(_ n: Int, _ width: Int) -> String {
    let digits = String(n)
    return digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
}
