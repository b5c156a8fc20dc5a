import Foundation
import VigilFormats

/// Scores a labelled file of name pairs and reports how well the matcher separates them.
///
/// Two layouts are read:
/// - nomenklatura's name benchmark (`case_group,schema,name1,name2,is_match,…`): precision,
///   recall and F1 at the threshold, overall, per `case_group`, and for the `synth_` groups and the
///   others apart (the others are what the matcher may be tuned on; the `synth_` ones are held out);
/// - a cross-script list (`Query,Expected Match,Min Score,Description`, `#` comments): each
///   pair's score against the minimum it is expected to reach.
///
/// And a list against itself (``withinList(_:threshold:matcher:listMistakes:)``).
public enum NameEvaluation {
    public struct Counts: Sendable, Codable, Hashable {
        public var pairs = 0
        public var truePositives = 0
        public var falsePositives = 0
        public var falseNegatives = 0
        public var trueNegatives = 0
        public var precision: Double { truePositives + falsePositives == 0 ? 0 : Double(truePositives) / Double(truePositives + falsePositives) }
        public var recall: Double { truePositives + falseNegatives == 0 ? 0 : Double(truePositives) / Double(truePositives + falseNegatives) }
        public var f1: Double { precision + recall == 0 ? 0 : 2 * precision * recall / (precision + recall) }

        mutating func merge(_ o: Counts) {
            pairs += o.pairs
            truePositives += o.truePositives
            falsePositives += o.falsePositives
            falseNegatives += o.falseNegatives
            trueNegatives += o.trueNegatives
        }

        mutating func add(predicted: Bool, actual: Bool) {
            pairs += 1
            switch (predicted, actual) {
            case (true, true): truePositives += 1
            case (true, false): falsePositives += 1
            case (false, true): falseNegatives += 1
            case (false, false): trueNegatives += 1
            }
        }
    }

    public struct Figures: Sendable, Codable, Hashable {
        public var pairs: Int
        public var precision: Double
        public var recall: Double
        public var f1: Double
        public var truePositives: Int, falsePositives: Int, falseNegatives: Int, trueNegatives: Int

        init(_ c: Counts) {
            func r(_ x: Double) -> Double { (x * 1000).rounded() / 1000 }
            pairs = c.pairs
            precision = r(c.precision)
            recall = r(c.recall)
            f1 = r(c.f1)
            truePositives = c.truePositives
            falsePositives = c.falsePositives
            falseNegatives = c.falseNegatives
            trueNegatives = c.trueNegatives
        }
    }

    public struct Mistake: Sendable, Codable, Hashable {
        public var group: String
        public var name1: String
        public var name2: String
        public var expected: Bool
        public var score: Double
    }

    public struct Report: Sendable, Codable {
        public var file: String
        public var threshold: Double
        public var overall: Figures
        /// The `synth_` groups together (held out from tuning) and all the others.
        public var synthetic: Figures
        public var other: Figures
        public var groups: [String: Figures]
        public var mistakes: [Mistake]?
    }

    public struct CrossScriptPair: Sendable, Codable, Hashable {
        public var query: String
        public var expected: String
        public var minScore: Double
        public var score: Double
        public var reached: Bool
    }

    public struct CrossScriptReport: Sendable, Codable {
        public var file: String
        public var pairs: Int
        public var reachedMinScore: Int
        public var aboveThreshold: Int
        public var threshold: Double
        public var results: [CrossScriptPair]
    }

    public enum Outcome: Sendable {
        case cases(Report)
        case crossScript(CrossScriptReport)
    }

    /// Reads and scores `bytes` (named `file` in messages and the report).
    public static func evaluate(_ bytes: [UInt8], file: String, threshold: Double, matcher: NameMatcher = NameMatcher(),
                                listMistakes: Bool = false) throws(WatchlistError) -> Outcome {
        let text = String(decoding: bytes, as: UTF8.self)
        if text.hasPrefix("#") || text.lowercased().hasPrefix("query,") {
            return .crossScript(try crossScript(bytes, file: file, threshold: threshold, matcher: matcher))
        }
        let rows = try WatchlistLoader.csv(bytes, file: file)
        guard let header = rows.first else { throw WatchlistError(file: file, "empty file: a header row is required") }
        func column(_ name: String) throws(WatchlistError) -> Int {
            guard let i = header.fields.firstIndex(of: name) else {
                throw WatchlistError(file: file, location: "line 1", "no '\(name)' column (expected case_group,schema,name1,name2,is_match; found \(header.fields.joined(separator: ",")))")
            }
            return i
        }
        let g = try column("case_group"), s = try column("schema"), n1 = try column("name1"), n2 = try column("name2"), m = try column("is_match")
        var pairs: [LabelledPair] = []
        for row in rows.dropFirst() where !(row.fields.count == 1 && row.fields[0].isEmpty) {
            guard row.fields.count > max(g, s, n1, n2, m) else {
                throw WatchlistError(file: file, location: "line \(row.line)", "row has \(row.fields.count) fields; expected at least \(max(g, s, n1, n2, m) + 1)")
            }
            let actual: Bool
            switch row.fields[m].lowercased() {
            case "true", "1", "yes": actual = true
            case "false", "0", "no": actual = false
            default: throw WatchlistError(file: file, location: "line \(row.line), column is_match", "'\(row.fields[m])' is not true or false")
            }
            pairs.append(LabelledPair(group: row.fields[g], kind: NameKind(schema: row.fields[s]), name1: row.fields[n1], name2: row.fields[n2],
                                      match: actual))
        }
        return .cases(evaluate(pairs, file: file, threshold: threshold, matcher: matcher, listMistakes: listMistakes))
    }

    /// Two names, whether they name one person or body, and the group they are reported in.
    public struct LabelledPair: Sendable, Hashable {
        public var group: String
        public var kind: NameKind
        public var name1: String
        public var name2: String
        public var match: Bool

        public init(group: String, kind: NameKind, name1: String, name2: String, match: Bool) {
            self.group = group
            self.kind = kind
            self.name1 = name1
            self.name2 = name2
            self.match = match
        }
    }

    /// Scores labelled pairs however they were read (the benchmark's CSV, or nomenklatura's
    /// entity checks, which the command line reads from YAML).
    public static func evaluate(_ pairs: [LabelledPair], file: String, threshold: Double, matcher: NameMatcher = NameMatcher(),
                                listMistakes: Bool = false) -> Report {
        var overall = Counts(), synthetic = Counts(), other = Counts()
        var groups: [String: Counts] = [:]
        var mistakes: [Mistake] = []
        for p in pairs {
            let score = matcher.score(NormalizedName(p.name1, kind: p.kind), NormalizedName(p.name2, kind: p.kind)).score
            let predicted = score >= threshold
            overall.add(predicted: predicted, actual: p.match)
            groups[p.group, default: Counts()].add(predicted: predicted, actual: p.match)
            if p.group.hasPrefix("synth_") { synthetic.add(predicted: predicted, actual: p.match) } else { other.add(predicted: predicted, actual: p.match) }
            if predicted != p.match { mistakes.append(Mistake(group: p.group, name1: p.name1, name2: p.name2, expected: p.match, score: score)) }
        }
        return Report(file: file, threshold: threshold, overall: Figures(overall), synthetic: Figures(synthetic), other: Figures(other),
                      groups: groups.mapValues(Figures.init), mistakes: listMistakes ? mistakes : nil)
    }

    private static func crossScript(_ bytes: [UInt8], file: String, threshold: Double, matcher: NameMatcher) throws(WatchlistError) -> CrossScriptReport {
        var results: [CrossScriptPair] = []
        for (n, raw) in String(decoding: bytes, as: UTF8.self).split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") || line.lowercased().hasPrefix("query,") { continue }
            let f = line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            guard f.count >= 3, let min = Double(f[2]) else {
                throw WatchlistError(file: file, location: "line \(n + 1)", "expected Query,Expected Match,Min Score[,Description]")
            }
            let score = matcher.score(NormalizedName(f[0]), NormalizedName(f[1])).score
            results.append(CrossScriptPair(query: f[0], expected: f[1], minScore: min, score: score, reached: score >= min))
        }
        return CrossScriptReport(file: file, pairs: results.count, reachedMinScore: results.count { $0.reached },
                                 aboveThreshold: results.count { $0.score >= threshold }, threshold: threshold, results: results)
    }

    /// How a list's own names separate, as pairs labelled by the list itself, for its persons
    /// and, apart, for its organisations (and vessels):
    /// - `aliases`: each entry's primary name against each of its good-quality aliases (the
    ///   same person or body, so matches; many aliases are other names altogether, a nom de
    ///   guerre, a maiden name, an organisation's acronym or translation, which no name matcher
    ///   can pair: recall here is low by nature);
    /// - `namesakes`: the primary names of two different entries that share at least two words
    ///   of three letters or more (not matches: brothers, fathers and sons, people sharing a
    ///   common given name and surname, sister companies). The hard negatives a screener meets;
    /// - `lookalikes`: the primary names of two different entries that are two such words each,
    ///   one the same in the same place and the other not (`Ahmad VAHIDI` and `Ahmad FATHI`,
    ///   `Miroslav RADIC` and `Miroslav TADIC`): not matches, and the other word is all that tells
    ///   them apart, so these measure how far the matcher forgives a word that differs.
    ///
    /// A list's labels are not clean (an entry listed twice, an alias shared by relatives or by
    /// a group's branches), so the figures are for comparing matchers, not absolute. What it
    /// adds to the labelled benchmark: hundreds of real pairs of different people or bodies with
    /// alike names, where the benchmark's tuning rows have few.
    public static func withinList(_ list: Watchlist, threshold: Double, matcher: NameMatcher = NameMatcher(),
                                  listMistakes: Bool = false) -> ListReport {
        var mistakes: [Mistake] = []
        let people = pairsWithin(list.entries.filter { $0.kind == .person }, label: "person", threshold: threshold, matcher: matcher,
                                 mistakes: &mistakes)
        let bodies = pairsWithin(list.entries.filter { $0.kind == .organization || $0.kind == .vessel }, label: "organization",
                                 threshold: threshold, matcher: matcher, mistakes: &mistakes)
        var overall = Counts()
        for c in [people.aliases, people.namesakes, people.lookalikes, bodies.aliases, bodies.namesakes, bodies.lookalikes] { overall.merge(c) }
        return ListReport(list: list.version.label, threshold: threshold, overall: Figures(overall), people: KindReport(people),
                          organizations: KindReport(bodies), mistakes: listMistakes ? mistakes : nil)
    }

    /// The three groups of pairs of `entries`, each name read as its entry's kind; mistakes are
    /// named `label` and the group (`person namesakes`).
    private static func pairsWithin(_ entries: [WatchlistEntry], label: String, threshold: Double, matcher: NameMatcher,
                                    mistakes: inout [Mistake]) -> (aliases: Counts, namesakes: Counts, lookalikes: Counts) {
        var aliases = Counts(), namesakes = Counts(), lookalikes = Counts()
        let entries = entries.filter { $0.names.first?.quality == "primary" }
        func score(_ group: String, _ x: Int, _ a: String, _ y: Int, _ b: String, actual: Bool, into counts: inout Counts) {
            let score = matcher.score(NormalizedName(a, kind: entries[x].kind), NormalizedName(b, kind: entries[y].kind)).score
            counts.add(predicted: score >= threshold, actual: actual)
            if (score >= threshold) != actual { mistakes.append(Mistake(group: "\(label) \(group)", name1: a, name2: b, expected: actual, score: score)) }
        }
        for (i, e) in entries.enumerated() {
            for alias in e.names.dropFirst() where alias.quality == "strong" { score("aliases", i, e.names[0].text, i, alias.text, actual: true, into: &aliases) }
        }
        // Pairs sharing two words, found through the entries holding each word (in list order,
        // so the report is the same on every run). Words as written (three letters or more), not
        // the matcher's tokens: the pairs stay the same when the matcher changes.
        let words = entries.map { $0.names[0].text.lowercased().split { !$0.isLetter }.filter { $0.count >= 3 }.map(String.init) }
        let tokens = words.map(Set.init)
        var holders: [String: [Int]] = [:]
        for (i, t) in tokens.enumerated() { for token in t { holders[token, default: []].append(i) } }
        var paired = Set<Int64>()
        for (i, t) in tokens.enumerated() {
            for token in t.sorted() {
                for j in holders[token]! where j > i && tokens[i].intersection(tokens[j]).count >= 2 && paired.insert(Int64(i) << 32 | Int64(j)).inserted {
                    score("namesakes", i, entries[i].names[0].text, j, entries[j].names[0].text, actual: false, into: &namesakes)
                }
            }
        }
        // Two-word names by each word in its place.
        var placed: [String: [Int]] = [:]
        for (i, w) in words.enumerated() where w.count == 2 && w[0] != w[1] {
            placed["0 " + w[0], default: []].append(i)
            placed["1 " + w[1], default: []].append(i)
        }
        for (i, w) in words.enumerated() where w.count == 2 && w[0] != w[1] {
            for key in ["0 " + w[0], "1 " + w[1]] {
                for j in placed[key]! where j > i && words[j] != w {
                    score("lookalikes", i, entries[i].names[0].text, j, entries[j].names[0].text, actual: false, into: &lookalikes)
                }
            }
        }
        return (aliases, namesakes, lookalikes)
    }

    public struct ListReport: Sendable, Codable {
        public var list: String
        public var threshold: Double
        public var overall: Figures
        public var people: KindReport
        /// Organisations and vessels.
        public var organizations: KindReport
        public var mistakes: [Mistake]?
    }

    public struct KindReport: Sendable, Codable {
        /// Primary names against their own aliases (all should match).
        public var aliases: Figures
        /// Different entries with alike names (none should match).
        public var namesakes: Figures
        /// Different entries whose two-word names differ in one word (none should match).
        public var lookalikes: Figures

        init(_ c: (aliases: Counts, namesakes: Counts, lookalikes: Counts)) {
            aliases = Figures(c.aliases)
            namesakes = Figures(c.namesakes)
            lookalikes = Figures(c.lookalikes)
        }
    }
}
