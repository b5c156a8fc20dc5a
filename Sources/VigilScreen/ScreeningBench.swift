import VigilCore

/// `vigil bench --mode screen`: list loading and name screening, timed on one core.
public enum ScreeningBench {
    public struct Report: Sendable, Codable {
        public var lists: [ListVersion]
        public var names: Int
        /// Where the queries came from: `lists` (``queries(from:count:)``) or the names file given.
        public var queriesFrom: String
        public var loadSeconds: Double
        public var indexSeconds: Double
        public var queries: Int
        /// Queries that returned at least one match.
        public var matched: Int
        public var seconds: Double
        public var queriesPerSecond: Int
        /// Microseconds per query.
        public var latencyMicroseconds: [String: Double]
        /// For queries drawn from the lists: how many of those screened as listed, and of those
        /// with a letter changed, had their own entry among the matches (the screener's recall on
        /// the lists' names; nil for a names file, whose names have no entry of their own).
        public var ownEntryFound: OwnEntryFound?
    }

    public struct OwnEntryFound: Sendable, Codable, Equatable {
        public struct Count: Sendable, Codable, Equatable {
            public var queries = 0
            public var found = 0
        }
        public var asListed = Count()
        public var misspelt = Count()
    }

    /// A query drawn from the lists, with the entry it was drawn from when it names one.
    struct Drawn {
        enum Variant { case asListed, misspelt, recombined }
        var query: ScreeningQuery
        var variant: Variant
        var list: String
        var entryID: String
    }

    /// Queries drawn from the lists themselves, deterministically: each entry's primary name as
    /// listed, with one letter changed, and a name made of the first token of one entry and the
    /// last of another (mostly not listed).
    public static func queries(from lists: [Watchlist], count: Int) -> [ScreeningQuery] { drawn(from: lists, count: count).map(\.query) }

    static func drawn(from lists: [Watchlist], count: Int) -> [Drawn] {
        let entries = lists.flatMap { l in l.entries.map { (list: l.version.name, entry: $0) } }
        guard !entries.isEmpty else { return [] }
        var out: [Drawn] = []
        out.reserveCapacity(count)
        var n = 0
        while out.count < count {
            let (list, e) = entries[n % entries.count]
            let name = e.names[0].text
            switch n % 3 {
            case 0: out.append(Drawn(query: ScreeningQuery(name: name), variant: .asListed, list: list, entryID: e.id))
            case 1:
                var letters = Array(name)
                let i = (n / 3) % max(1, letters.count)
                if letters[i].isLetter { letters[i] = letters[i] == "e" ? "a" : "e" }
                out.append(Drawn(query: ScreeningQuery(name: String(letters)), variant: .misspelt, list: list, entryID: e.id))
            default:
                let other = entries[(n * 7919) % entries.count].entry.names[0].text
                let first = name.split(separator: " ").first.map(String.init) ?? name
                let last = other.split(separator: " ").last.map(String.init) ?? other
                out.append(Drawn(query: ScreeningQuery(name: "\(first) \(last)"), variant: .recombined, list: list, entryID: e.id))
            }
            n += 1
        }
        return out
    }

    /// - Parameter names: names to screen in turn (a file of one's own traffic's parties, say),
    ///   instead of names drawn from the lists; `source` says where they came from.
    public static func run(lists specs: [(name: String, path: String)], queries count: Int, names: (source: String, names: [String])? = nil,
                           options: ScreeningOptions = ScreeningOptions()) throws(WatchlistError) -> Report {
        let clock = ContinuousClock()
        var lists: [Watchlist] = []
        let loadStart = clock.now
        for s in specs { lists.append(try WatchlistLoader.load(name: s.name, path: s.path)) }
        let load = clock.now - loadStart
        var screener: Screener?
        let index = clock.measure { screener = Screener(lists: lists, options: options) }
        let drawn = names == nil ? Self.drawn(from: lists, count: count) : []
        let queries = names.map { given in (0..<count).map { ScreeningQuery(name: given.names[$0 % given.names.count]) } } ?? drawn.map(\.query)
        var latencies: [Duration] = []
        latencies.reserveCapacity(queries.count)
        var matched = 0
        var own = OwnEntryFound()
        let start = clock.now
        for (i, q) in queries.enumerated() {
            let t = clock.now
            let matches = screener!.screen(q).matches
            latencies.append(clock.now - t)
            if !matches.isEmpty { matched += 1 }
            if i < drawn.count, drawn[i].variant != .recombined {
                let found = matches.contains { $0.entryID == drawn[i].entryID && $0.list == drawn[i].list } ? 1 : 0
                if drawn[i].variant == .asListed { own.asListed.queries += 1; own.asListed.found += found } else { own.misspelt.queries += 1; own.misspelt.found += found }
            }
        }
        let total = (clock.now - start).inSeconds
        latencies.sort()
        func micros(_ p: Double) -> Double {
            guard !latencies.isEmpty else { return 0 }
            return (latencies[min(latencies.count - 1, Int(Double(latencies.count) * p))].inSeconds * 1e7).rounded() / 10
        }
        return Report(lists: lists.map(\.version), names: screener!.nameCount, queriesFrom: names?.source ?? "lists", loadSeconds: (load.inSeconds * 1000).rounded() / 1000,
                      indexSeconds: (index.inSeconds * 1000).rounded() / 1000, queries: queries.count, matched: matched,
                      seconds: (total * 1000).rounded() / 1000, queriesPerSecond: Int(Double(queries.count) / max(total, 1e-9)),
                      latencyMicroseconds: ["p50": micros(0.5), "p95": micros(0.95), "p99": micros(0.99), "max": micros(1)],
                      ownEntryFound: names == nil ? own : nil)
    }
}
