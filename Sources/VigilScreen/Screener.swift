import Foundation
import VigilCore
import Synchronization

public struct ScreeningOptions: Sendable, Hashable {
    /// The score from which a name pair counts as a match (chosen on the tuning rows of the name
    /// benchmark; see the README).
    public static let defaultThreshold = 0.75

    public var threshold = ScreeningOptions.defaultThreshold
    /// At most this many matches per query.
    public var limit = 10
    /// Names scored in full per query, best candidates from the index first.
    public var candidates = 16
    public var matcher = NameMatcher.Options()
    public init() {}
}

/// Who is screened: a name, and whatever else is known.
public struct ScreeningQuery: Sendable, Hashable, Codable {
    public var name: String
    public var kind: NameKind
    /// `YYYY-MM-DD`, `YYYY-MM` or `YYYY`.
    public var birthDate: String?
    /// ISO 3166 alpha-2 or alpha-3 code (or a passport's ICAO code) or English name.
    public var country: String?
    /// An identity or travel document's number.
    public var document: String?
    /// The numbers of the person's other documents (a traveller may hold a passport and a visa,
    /// or two passports): each is evidence and may be a hit, like ``document``.
    public var otherDocuments: [String]?

    public init(name: String, kind: NameKind = .unknown, birthDate: String? = nil, country: String? = nil, document: String? = nil,
                otherDocuments: [String]? = nil) {
        self.name = name
        self.kind = kind
        self.birthDate = birthDate
        self.country = country
        self.document = document
        self.otherDocuments = otherDocuments
    }

    /// Every document number the query gives, the first first.
    var documents: [String] { (document.map { [$0] } ?? []) + (otherDocuments ?? []) }
}

extension ScreeningQuery {
    /// Whether `text` is a birth date as a query gives one: `YYYY-MM-DD`, `YYYY-MM` or `YYYY`, a
    /// day that exists. The evidence compares dates as text, by their prefixes, so a date written
    /// otherwise (`05.04.1970`) would not count for or against a match without a word.
    public static func isBirthDate(_ text: String) -> Bool {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard (1...3).contains(parts.count), zip(parts, [4, 2, 2]).allSatisfy({ $0.utf8.count == $1 && $0.allSatisfy(\.isASCII) }),
              let year = Int(parts[0]), year >= 1 else { return false }
        guard parts.count > 1 else { return true }
        guard let month = Int(parts[1]), (1...12).contains(month) else { return false }
        guard parts.count > 2 else { return true }
        let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
        let days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]
        guard let day = Int(parts[2]) else { return false }
        return (1...days).contains(day)
    }

    /// Whether `text` is an ISO 3166 alpha-2 or alpha-3 code or a country's English name, as the
    /// evidence compares countries (``Countries``).
    public static func isCountry(_ text: String) -> Bool { Countries.isKnown(text) }

    /// What is wrong with a birth date, a country or a kind as a person gives it (on the command
    /// line, in a batch file), quoting it; nil when nothing is.
    public static func problem(birthDate text: String) -> String? {
        isBirthDate(text) ? nil : "'\(text)' is not a date: expected YYYY-MM-DD, YYYY-MM or YYYY"
    }

    public static func problem(country text: String) -> String? {
        isCountry(text) ? nil : "'\(text)' is not an ISO 3166 code (RU, RUS) or a country's English name (Russia)"
    }

    public static func problem(kind text: String) -> String? {
        NameKind(given: text) != nil ? nil : "'\(text)' is not person, organization, vessel or unknown"
    }

    /// What is wrong with a phone number, an e-mail address or a BIC to look up; nil when nothing.
    public static func problem(phone text: String) -> String? {
        IdentityKey.phone(text) != nil ? nil : "'\(text)' has fewer than \(IdentityKey.phoneMinimumDigits) digits"
    }

    public static func problem(email text: String) -> String? {
        IdentityKey.email(text) != nil ? nil : "'\(text)' is not an e-mail address"
    }

    public static func problem(bic text: String) -> String? {
        Screener.bic(text) != nil ? nil : "'\(text)' is not a BIC: 8 or 11 letters and digits, the 5th and 6th a country code"
    }
}

/// One thing that moved a match's score, and by how much.
public struct ScreeningFeature: Sendable, Hashable, Codable {
    public var feature: String
    public var contribution: Double
    public var detail: String
}

public struct ScreeningMatch: Sendable, Hashable, Codable {
    public var list: String
    /// The list version the hit came from (`UN@2026-02-27/1a2b3c4d5e6f`).
    public var listVersion: String
    public var entryID: String
    public var kind: NameKind
    public var matchedName: String
    public var nameQuality: String
    public var score: Double
    public var nameScore: Double
    public var features: [ScreeningFeature]
    public var name: NameMatcher.Score
    public var programs: [String]
}

public struct ScreeningResult: Sendable, Codable {
    public var query: ScreeningQuery
    public var threshold: Double
    public var lists: [ListVersion]
    public var matches: [ScreeningMatch]
}

/// Screens names against loaded lists: finds candidates through a token index, scores them with
/// the ``NameMatcher``, and adjusts the score with date of birth, country and document number.
///
/// Immutable once built, so one screener serves any number of concurrent queries; a list reload
/// builds a new one.
public final class Screener: Sendable {
    public let lists: [Watchlist]
    /// The lists' versions, as every result names them, and their labels, as every match cites them.
    private let versions: [ListVersion]
    private let labels: [String]
    public let options: ScreeningOptions
    private let matcher: NameMatcher
    /// Every name of every entry, normalised once (internal: the tests read candidates' names).
    let names: [IndexedName]
    /// Index key → the names holding it.
    private let index: KeyIndex
    /// A listed document number (as ``IdentityKey/document(_:)`` writes it, of
    /// ``Evidence/documentHitLength`` characters or more) → the names of the entries listing it.
    private let byDocument: [String: [Int32]]
    /// A listed digital currency address (as ``IdentityKey/document(_:)`` writes it) → the
    /// first name of each entry listing it.
    private let byAddress: [String: [Int32]]
    /// A listed e-mail address and a listed phone number (as ``IdentityKey`` writes them) → the
    /// first name of each entry listing it.
    private let byEmail: [String: [Int32]]
    private let byPhone: [String: [Int32]]
    /// A listed bank's BIC, by its first eight characters (the institution: bank, country and
    /// location codes) → the first name of each entry listing it, with the branch code listed
    /// (`XXX` or none for the whole institution).
    private let byBIC: [String: [(entry: Int32, branch: String)]]
    /// Whether some listed BIC has this country code (its 5th and 6th letters, `A`…`Z` twice):
    /// most payments' banks are turned away by it, without building a key.
    private let bicCountries: [Bool]
    /// Whether some listed address is this many characters long (up to 127): most accounts are
    /// turned away by their length, without hashing them.
    private let addressLengths: [Bool]
    /// Skeleton key → the listed tokens that have it, one of each (``Carrier``).
    private let carriers: [Int32: [Carrier]]
    /// Accumulators that no query holds (as many as have run at once).
    private let accumulators = Mutex<[Accumulator]>([])

    /// In line in the screener's array: a query reads a few fields of up to 16 of these (read in
    /// place, not copied out, which would retain each string), and as objects they were one more
    /// read from memory per candidate.
    struct IndexedName: Sendable {
        let list: Int32
        let entry: Int32
        let kind: NameKind
        let quality: String
        let text: String
        let normalized: NormalizedName

        init(list: Int32, entry: Int32, kind: NameKind, quality: String, text: String, normalized: NormalizedName) {
            self.list = list
            self.entry = entry
            self.kind = kind
            self.quality = quality
            self.text = text
            self.normalized = normalized
        }
    }

    public init(lists: [Watchlist], options: ScreeningOptions = ScreeningOptions()) {
        self.lists = lists
        self.versions = lists.map(\.version)
        self.labels = versions.map(\.label)
        self.options = options
        matcher = NameMatcher(options: options.matcher)
        var names: [IndexedName] = []
        var builder = KeyIndex.Builder()
        let vocabulary = NormalizedName.UnitVocabulary()
        var skeletons: [String: [Carrier]] = [:]
        var carried = Set<Carrier.Key>()
        var byDocument: [String: [Int32]] = [:], byAddress: [String: [Int32]] = [:], byEmail: [String: [Int32]] = [:]
        var byPhone: [String: [Int32]] = [:]
        var byBIC: [String: [(entry: Int32, branch: String)]] = [:]
        for (l, list) in lists.enumerated() {
            for (e, entry) in list.entries.enumerated() {
                let entryStart = Int32(names.count)
                var seen = Set<String>()
                for name in entry.names where seen.insert(name.text).inserted {
                    let n = NormalizedName(name.text, kind: entry.kind, vocabulary: vocabulary)
                    let id = Int32(names.count)
                    names.append(IndexedName(list: Int32(l), entry: Int32(e), kind: entry.kind, quality: name.quality, text: name.text, normalized: n))
                    Self.forEachKey(n) { kind, first, second, token in
                        builder.add(kind, first, second, to: id)
                        guard kind == .skeleton else { return }
                        let carrier = Carrier(n, token: token)
                        if carried.insert(carrier.key(first)).inserted { skeletons[first, default: []].append(carrier) }
                    }
                }
                // The entry's names, by each document number long enough to be a hit.
                for d in Set(entry.documents.map { IdentityKey.document($0.number) }) where d.utf8.count >= Evidence.documentHitLength {
                    byDocument[d, default: []] += Array(entryStart..<Int32(names.count))
                }
                for d in Set(entry.documents.filter(\.isDigitalCurrencyAddress).map { IdentityKey.document($0.number) })
                where d.utf8.count >= Evidence.documentHitLength && entryStart < Int32(names.count) {
                    byAddress[d, default: []].append(entryStart)
                }
                guard entryStart < Int32(names.count) else { continue }
                for address in Set(entry.emails.compactMap(IdentityKey.email)) { byEmail[address, default: []].append(entryStart) }
                for number in Set(entry.phones.compactMap(IdentityKey.phone)) { byPhone[number, default: []].append(entryStart) }
                for bic in entry.documents.filter(\.isBIC).compactMap({ Self.bic($0.number) })
                where !(byBIC[bic.institution] ?? []).contains(where: { $0.entry == entryStart && $0.branch == bic.branch }) {
                    byBIC[bic.institution, default: []].append((entryStart, bic.branch))
                }
            }
        }
        self.names = names
        self.byDocument = byDocument
        self.byAddress = byAddress
        self.byEmail = byEmail
        self.byPhone = byPhone
        self.byBIC = byBIC
        var countries = [Bool](repeating: false, count: 26 * 26)
        for key in byBIC.keys { if let c = Self.countryIndex(key.utf8) { countries[c] = true } }
        bicCountries = countries
        var lengths = [Bool](repeating: false, count: 128)
        for a in byAddress.keys where a.utf8.count < lengths.count { lengths[a.utf8.count] = true }
        addressLengths = lengths
        let index = builder.build(names: names.count)
        self.index = index
        carriers = Dictionary(uniqueKeysWithValues: skeletons.map { (index.find(.skeleton, $0.key, "")!, $0.value) })
    }

    /// A listed token that has a skeleton key, with what the matcher reads of the name it is in.
    /// Many words share a skeleton that the matcher would never pair (`holder`, `leader`,
    /// `walter`: `ltr`); a query's skeleton key counts only if its token pairs with one of them.
    struct Carrier: @unchecked Sendable {
        /// The token's unit, unretained: the screener's names own it.
        let head: NormalizedName.Head
        /// What the matcher reads of the token's name besides the token.
        let name: NameTraits

        struct NameTraits: Hashable {
            var vowelsGuessed: Bool
            var hebrew: Bool
            var korean: Bool

            init(_ n: NormalizedName) {
                (vowelsGuessed, hebrew, korean) = (n.vowelsGuessed, n.script == .hebrew, n.korean)
            }
        }

        init(_ n: NormalizedName, token: Int) {
            // A name's first units are its single tokens, in order.
            assert(n.units[token].tokens == token..<(token + 1))
            head = n.heads[token]
            name = NameTraits(n)
        }

        /// Tokens alike in all the matcher reads count once per skeleton.
        struct Key: Hashable {
            var skeleton: String
            var unit: Int32
            var name: NameTraits
        }

        func key(_ skeleton: String) -> Key { Key(skeleton: skeleton, unit: head.id, name: name) }
    }

    /// Whether the query's token pairs with a listed token of the skeleton key `key`, as the
    /// matcher would pair them in two whole names.
    private func pairsWithCarrier(_ q: NormalizedName, token: Int, key: Int32) -> Bool {
        guard let carriers = carriers[key] else { return true }
        assert(q.units[token].tokens == token..<(token + 1))
        let head = q.heads[token], query = Carrier.NameTraits(q)
        return carriers.contains { c in
            let guessed = query.vowelsGuessed != c.name.vowelsGuessed
            return matcher.pairs(head, c.head, guessed: guessed, hebrew: guessed && (query.hebrew || c.name.hebrew), korean: query.korean && c.name.korean)
        }
    }

    /// The index keys of a name, each given as one or two texts to join: each identifying token
    /// as written and as its consonant skeleton (so `Qaddafi` finds `Gaddafi`), and two adjacent
    /// ones joined (so `Ramimakhlouf` finds `Rami Makhlouf`).
    ///
    /// A query's token also looks for its skeleton without a last `s` (``balticStem(_:)``) and
    /// as the Russian form of a Belarusian word (``russianSkeleton(_:)``).
    /// `body` is also given the position of the token the key is of (of a joined key, the second's).
    ///
    /// A name made only of words many names have (`Global Trading Ltd`, `National Bank`) has no
    /// such token: it is indexed by those words, as keys of their own kind (``KeyIndex/Kind/common``),
    /// so they do not change how rare the token keys are; and a query made only of such words
    /// (as an organisation's, or as words of a name of unknown kind) looks them up, and its
    /// words as tokens. Without, such a name could not be found even screened exactly as listed.
    static func forEachKey(_ n: NormalizedName, query: Bool = false, _ body: (KeyIndex.Kind, String, String, Int) -> Void) {
        var previous: NormalizedName.Token?
        var identifying = false
        for (i, t) in n.tokens.enumerated() where t.role == .name || t.role == .number {
            if t.text.utf8.count >= 2 {
                identifying = true
                body(.token, t.text, "", i)
                if t.skeleton.utf8.count >= 2 { body(.skeleton, t.skeleton, "", i) }
                if query {
                    if let stem = balticStem(t) { body(.skeleton, stem, "", i) }
                    if let russian = russianSkeleton(t) { body(.skeleton, russian, "", i) }
                }
            }
            if let previous { body(.token, previous.text, t.text, i) }
            previous = t
            if !query, t.role == .name, (nearSkeletonLength...deletionKeysLength).contains(t.skeleton.utf8.count) {
                forEachDeletion(of: t.skeleton) { body(.near, $0, "", i) }
            }
            if !query, t.role == .name, (typoLength...deletionKeysLength).contains(t.text.utf8.count) {
                body(.typo, t.text, "", i)
                forEachDeletion(of: t.text) { body(.typo, $0, "", i) }
            }
        }
        guard let common = commonWords(n, query: query, identifying: identifying) else { return }
        previous = nil
        for i in common {
            let t = n.tokens[i]
            body(.common, t.text, "", i)
            if let previous { body(.common, previous.text, t.text, i) }
            // An organisation's query meets a name of unknown kind, whose words are names.
            if query, t.role == .common {
                body(.token, t.text, "", i)
                if let previous { body(.token, previous.text, t.text, i) }
            }
            previous = t
        }
    }

    /// Skeletons this long or longer (three consonants or more once one is taken away) have
    /// ``KeyIndex/Kind/near`` keys: shorter ones, less one, are shared by too many names.
    static let nearSkeletonLength = 4

    /// Tokens this long or longer have ``KeyIndex/Kind/typo`` keys, and a query's token this
    /// long that no list writes looks them up: a shorter one, less a letter, is two letters,
    /// which half the names hold.
    static let typoLength = 4

    /// Tokens and skeletons longer than this have no ``KeyIndex/Kind/near`` or
    /// ``KeyIndex/Kind/typo`` keys, and a query's do not look them up: a text less each of its
    /// bytes makes as many keys as it has bytes, each nearly as long, so a list or a query with a
    /// word of 20,000 letters took seconds and hundreds of megabytes. No name's word is this long.
    static let deletionKeysLength = 40

    /// Each text `text` makes with one of its bytes taken away, once each.
    static func forEachDeletion(of text: String, _ body: (String) -> Void) {
        var text = text
        text.withUTF8 { b in
            for i in b.indices where i == 0 || b[i] != b[i - 1] {
                body(NameText.string(capacity: b.count - 1) { out in
                    _ = out.initialize(from: b[..<i])
                    _ = UnsafeMutableBufferPointer(rebasing: out[i...]).initialize(from: b[(i + 1)...])
                    return b.count - 1
                })
            }
        }
    }

    /// The positions of a name's words when it is made of common words alone; nil otherwise. A
    /// listed name's are its common words when it has no identifying token of two letters or
    /// more (`B-Finance Ltd`); a query's are its words of two letters or more when each is a
    /// common word, whatever role its kind gave them.
    private static func commonWords(_ n: NormalizedName, query: Bool, identifying: Bool) -> [Int]? {
        if query {
            // Most queries have a name's word that is no common word: decided without an array.
            func isWord(_ t: NormalizedName.Token) -> Bool { (t.role == .common || t.role == .name) && t.text.utf8.count >= 2 }
            guard n.tokens.contains(where: isWord),
                  n.tokens.allSatisfy({ !isWord($0) || NameText.commonBusinessWords.contains($0.text) }) else { return nil }
            return n.tokens.indices.filter { isWord(n.tokens[$0]) }
        }
        let words = n.tokens.indices.filter { n.tokens[$0].role == .common }
        return identifying || words.isEmpty ? nil : words
    }

    /// The skeleton of a token without the nominative ending Lithuanian and Latvian give a
    /// man's name (`-as`, `-is`, `-us`, `-ys`, `-s`: `Vladimiras Putinas`, `Vladimirs Putins`),
    /// for a token ending so whose stem keeps three consonant classes. The matcher pairs
    /// `Putinas` with `Putin` (0.9 and more), but the two share no index key, so a Baltic
    /// spelling of a listed name never made it a candidate. Looked up for queries only: lists
    /// rarely spell names so, and keys added there would be in every query's reach. A stem found
    /// of another word (`Roberts`: `Robert`) only adds a candidate, which the matcher scores as
    /// it scores any pair.
    static func balticStem(_ t: NormalizedName.Token) -> String? {
        let text = t.text.utf8, skeleton = t.skeleton.utf8
        guard text.count >= 5, text.last == UInt8(ascii: "s"), text.dropLast().last != UInt8(ascii: "s"),
              skeleton.count >= 4, skeleton.last == UInt8(ascii: "s") else { return nil }
        return String(t.skeleton.dropLast())
    }

    /// The skeleton of a token read as the Russian form of a Belarusian word: Belarusian
    /// writes `ц` and `дз` where Russian has `т` and `д` before a front vowel (`Пуцін` Putsin
    /// for `Путин` Putin, `Уладзімір` for `Владимир`), so a Belarusian spelling of a listed
    /// Russian name shares no index key with it, though the matcher pairs them (`Putsin` and
    /// `Putin` 0.9 and more). `ts`, `dz` before `i`, `e` or `y` lose their `s`, `z`; nil when no
    /// such pair is in the token. For queries only, as ``balticStem(_:)``: lists write
    /// Belarusians in Latin letters, mostly their Russian form beside the Belarusian one.
    static func russianSkeleton(_ t: NormalizedName.Token) -> String? {
        // Both pairs are `ts` in a skeleton: most tokens are passed over without reading their text.
        guard t.skeleton.utf8.count >= 3, NameText.hasPair(t.skeleton.utf8, UInt8(ascii: "t"), UInt8(ascii: "s")) else { return nil }
        var out: [UInt8] = []
        var changed = false
        let b = Array(t.text.utf8)
        for (i, c) in b.enumerated() {
            if (c == UInt8(ascii: "s") || c == UInt8(ascii: "z")), i > 0, i + 1 < b.count,
               b[i - 1] == (c == UInt8(ascii: "s") ? UInt8(ascii: "t") : UInt8(ascii: "d")),
               b[i + 1] == UInt8(ascii: "i") || b[i + 1] == UInt8(ascii: "e") || b[i + 1] == UInt8(ascii: "y") {
                changed = true
                continue
            }
            out.append(c)
        }
        return changed ? NameText.skeleton(String(decoding: out, as: UTF8.self)) : nil
    }

    /// Names indexed over all entries (primary names and aliases).
    public var nameCount: Int { names.count }

    public func screen(_ query: ScreeningQuery) -> ScreeningResult {
        let q = NormalizedName(query.name, kind: query.kind)
        var ranked = candidates(q).ids
        // The names of entries listing the query's document are scored whatever the index says
        // of their names: a listed document is a hit on its own (``Evidence/documentHit``).
        var documented: [Int32] = []
        for d in query.documents { documented += byDocument[IdentityKey.document(d)] ?? [] }
        ranked += documented.filter { !ranked.contains($0) }
        // The best name of each entry.
        var best: [Int64: ScreeningMatch] = [:]
        let bonus = Evidence.maximumBonus(for: query)
        // Candidates share tokens.
        var pairs = PairCache()
        // Evidence beside the name adds at most `bonus`: below this, no need to explain the name
        // (for a bare name, that is below the threshold). With a margin, since scores are sums of
        // decimals in floating point, rounded to four places at the end.
        let floor = options.threshold - 1e-6 - bonus
        // One buffer of token pairs for all candidates, sized for the one with the most units.
        // Sizing it reads every candidate's units first, which lets the processor fetch them all
        // at once (they are scattered over the index) rather than wait for each in turn: about
        // 3 % more screenings/s than a buffer per candidate.
        let most = ranked.reduce(1) { max($0, names[Int($1)].normalized.heads.count) }
        withUnsafeTemporaryAllocation(of: NameMatcher.Candidate.self, capacity: q.heads.count * most) { buffer in
            for id in ranked {
                let kind = names[Int(id)].kind
                if query.kind != .unknown, kind != .unknown, query.kind != kind { continue }
                // A listed document makes the name a match whatever it scores: scored in full.
                let score = matcher.score(q, names[Int(id)].normalized, explainFrom: floor,
                                          rejectBelow: documented.contains(id) ? -.infinity : floor, cache: &pairs, buffer: buffer)
                if score.score < floor, !documented.contains(id) { continue }
                let key = Int64(names[Int(id)].list) << 32 | Int64(names[Int(id)].entry)
                if let current = best[key], current.nameScore >= score.score { continue }
                best[key] = match(query, names[Int(id)], score)
            }
        }
        let matches = best.values.filter { $0.score >= options.threshold }
            .sorted { ($0.score, $1.list, $1.entryID) > ($1.score, $0.list, $0.entryID) }
        return ScreeningResult(query: query, threshold: options.threshold, lists: versions, matches: Array(matches.prefix(options.limit)))
    }

    /// The names worth scoring in full, best first: those sharing index keys with the query,
    /// weighted by how rare each key is, that have at least half the best name's weight (a name
    /// below that shares only common tokens), at most `options.candidates` of them.
    ///
    /// Keys are taken rarest first. Once the keys left could not lift a name not yet seen to half
    /// the best weight so far, their postings only add to the names already seen: a common token
    /// (`mohammad`, `ltd`) holds thousands of names, and summing them all was a third of a query.
    /// `exhaustive` sums every posting (the tests check both give the same candidates). `summed`
    /// is how many names got a sum.
    func candidates(_ q: NormalizedName, exhaustive: Bool = false) -> (ids: [Int32], summed: Int) {
        var found: [Int32] = []
        found.reserveCapacity(4 * q.tokens.count)
        // A token that is itself listed keeps its skeleton keys unchecked (it pairs with itself,
        // a carrier of its skeleton): the check is for tokens no list writes so (a misspelling,
        // a word no name has), and costs nothing on the others.
        var listed = -1
        // As bits of their positions: the tokens some list writes as they are (`spelt`), and
        // those with the tokens it writes so but for their vowels (`listedTokens`).
        var spelt: UInt64 = 0
        var listedTokens: UInt64 = 0
        Self.forEachKey(q, query: true) { kind, first, second, token in
            guard let posting = index.find(kind, first, second) else { return }
            if kind == .token, second.isEmpty {
                listed = token
                spelt |= 1 << UInt64(token)
                listedTokens |= 1 << UInt64(token)
            }
            if kind == .skeleton, token != listed, !pairsWithCarrier(q, token: token, key: posting) { return }
            // A listed skeleton: the token is the listed one's spelling but for its vowels.
            if kind == .skeleton, first == q.tokens[token].skeleton { listedTokens |= 1 << UInt64(token) }
            found.append(posting)
        }
        // A token no list writes as it is may be misspelt. Not a word many names have
        // (`industrial`, in a name of unknown kind): it is no misspelling, and its keys would
        // bring in names by the thousand.
        for (i, t) in q.tokens.enumerated() where i < 64 && spelt & (1 << UInt64(i)) == 0 && t.role == .name
            && !NameText.commonBusinessWords.contains(t.text) {
            // A misspelling that changed a consonant changes the skeleton too (`Interconsuet`:
            // `ntrknst` for the listed `Interconsult`, `ntrknslt`), unless the token has a listed
            // skeleton: its skeleton one consonant class apart from a listed one's is looked up
            // (``KeyIndex/Kind/near``). A listed skeleton less one class is the query's (one
            // lost), or both less one are alike (one changed). (The query's less one as a listed
            // skeleton, one added, found no more names on the lists' own misspellings and cost
            // carrier checks.)
            if listedTokens & (1 << UInt64(i)) == 0, (Self.nearSkeletonLength...Self.deletionKeysLength).contains(t.skeleton.utf8.count) {
                if let p = index.find(.near, t.skeleton, "") { found.append(p) }
                Self.forEachDeletion(of: t.skeleton) { shorter in
                    if let p = index.find(.near, shorter, "") { found.append(p) }
                }
            }
            // A slip of one letter, left out, added, changed, or two swapped (`Qasie` for
            // `Qasim`, `Bieal` for `Bilal`): the skeleton keys miss it when the slip changed the
            // skeleton to one another token has, or to one too short for near keys. Each listed
            // token is indexed as it is and less each of its letters; the query's is looked up
            // whole (a letter left out) and less each letter (one changed, two swapped, one
            // added): symmetric deletion, as SymSpell finds words.
            guard (Self.typoLength...Self.deletionKeysLength).contains(t.text.utf8.count) else { continue }
            var text = t.text
            text.withUTF8 { b in
                withUnsafeTemporaryAllocation(of: UInt64.self, capacity: b.count + 1) { hashes in
                    var n = 0
                    for j in -1..<b.count where j <= 0 || b[j] != b[j - 1] {
                        hashes[n] = index.hash(.typo, b, without: j)
                        index.prefetch(hashes[n])
                        n += 1
                    }
                    for h in hashes[0..<n] { if let p = index.find(hash: h) { found.append(p) } }
                }
            }
        }
        // In a fixed order (rarest first, then by slot), each key once: the sums are floating
        // point, and their order must not change from run to run.
        found.sort { index.idf($0) != index.idf($1) ? index.idf($0) > index.idf($1) : $0 < $1 }
        var unique = 0
        for p in found where unique == 0 || found[unique - 1] != p {
            found[unique] = p
            unique += 1
        }
        found.removeLast(found.count - unique)
        var left = found.reduce(0) { $0 + index.idf($1) }
        let weights = accumulators.withLock { $0.popLast() } ?? Accumulator(names: names.count)
        defer { accumulators.withLock { $0.append(weights) } }
        weights.reset()
        var top = 0.0
        // The names held when adding stopped, by id (it does not start again: `left` only falls
        // and `top` only rises).
        var held: [Int32]?
        for posting in found {
            let idf = index.idf(posting)
            // A name first seen now gets at most `left`; with a margin for rounding.
            let mayAdd = held == nil && (exhaustive || left * (1 + 1e-9) >= top / 2)
            left -= idf
            if mayAdd {
                for id in index.ids(posting) { top = max(top, weights.add(id, idf)) }
            } else {
                if held == nil { held = weights.touched.sorted() }
                top = max(top, weights.add(idf, toThoseOf: held!, in: index.ids(posting)))
            }
        }
        return (weights.ranked(from: top / 2, limit: options.candidates, masses: index.masses), weights.count)
    }

    /// The match of the name `n` with its evidence. The entry's fields are read where they are:
    /// copying the entry (or its list) out retained every string and array it holds.
    private func match(_ query: ScreeningQuery, _ n: borrowing IndexedName, _ nameScore: NameMatcher.Score) -> ScreeningMatch {
        let l = Int(n.list), e = Int(n.entry)
        var features = [ScreeningFeature(feature: "name", contribution: nameScore.score, detail: Self.describe(nameScore))]
        if n.quality == "weak" {
            features.append(.init(feature: "weak-alias", contribution: -0.05, detail: "'\(n.text)' is a low-quality alias on the list"))
        }
        features += Evidence.birthDate(query.birthDate, lists[l].entries[e].birthDates)
        features += Evidence.country(query.country, lists[l].entries[e].countries)
        features += Evidence.document(query.documents, lists[l].entries[e].documents)
        var score = min(1, max(0, features.reduce(0) { $0 + $1.contribution }))
        if score < Evidence.documentHitScore, let hit = Evidence.documentHit(query, lists[l].entries[e].documents) {
            features.append(.init(feature: "document-hit", contribution: Evidence.documentHitScore - score, detail: hit))
            score = Evidence.documentHitScore
        }
        return ScreeningMatch(list: lists[l].version.name, listVersion: labels[l], entryID: lists[l].entries[e].id, kind: lists[l].entries[e].kind,
                              matchedName: n.text, nameQuality: n.quality, score: (score * 10_000).rounded() / 10_000,
                              nameScore: nameScore.score, features: features, name: nameScore, programs: lists[l].entries[e].programs)
    }

    /// Whether any list names digital currency addresses (OFAC's `Digital Currency Address - XBT …`).
    public var listsAddresses: Bool { !byAddress.isEmpty }

    /// The entries that list `account` as one of their digital currency addresses: each a match
    /// whatever the names, since paying to or from a listed wallet is itself the hit. Compared
    /// as documents are (upper case, letters and digits), so an Ethereum address matches in any
    /// case; Bitcoin's are case-sensitive, but two listed ones differing only in case would be a
    /// collision of their checksums.
    public func screen(address account: String) -> [ScreeningMatch] {
        let length = account.utf8.count
        guard length < addressLengths.count, addressLengths[length] else { return [] }
        let q = IdentityKey.document(account)
        guard let ids = byAddress[q] else { return [] }
        return hits(ids, feature: "address-hit", score: 1) { entry in
            let listed = entry.documents.first { $0.isDigitalCurrencyAddress && IdentityKey.document($0.number) == q }
            return "\(listed?.type ?? "digital currency address") \(listed?.number ?? account) is listed: paying to or from it is a hit whatever the name"
        }
    }

    /// Whether any list gives a bank's BIC.
    public var listsBICs: Bool { !byBIC.isEmpty }

    /// The entries that list `bic`'s institution as theirs: a payment through a listed bank is
    /// a hit whatever the parties' names, score 1 like a listed wallet. A BIC of eight characters
    /// (or ending `XXX`) is the whole institution; a listed branch matches only itself, and an
    /// institution's BIC matches a listed branch of it (the payment may go through that branch).
    public func screen(bic: String) -> [ScreeningMatch] {
        guard let c = Self.countryIndex(bic.utf8), bicCountries[c] else { return [] }
        guard let (institution, branch) = Self.bic(bic), let listed = byBIC[institution] else { return [] }
        // An entry listing the institution and one of its branches is one match.
        var ids: [Int32] = []
        for l in listed where (l.branch == "XXX" || branch == "XXX" || l.branch == branch) && !ids.contains(l.entry) { ids.append(l.entry) }
        return hits(ids, feature: "bic-hit", score: 1) { entry in
            let number = entry.documents.first { $0.isBIC && Self.bic($0.number)?.institution == institution }?.number ?? bic
            return "SWIFT/BIC \(number) is listed: a payment through it is a hit whatever the names"
        }
    }

    /// The country code of a BIC, as an index of ``bicCountries``.
    private static func countryIndex(_ u: String.UTF8View) -> Int? {
        guard u.count >= 8 else { return nil }
        let i = u.index(u.startIndex, offsetBy: 4)
        func letter(_ b: UInt8) -> Int? { b >= 0x41 && b <= 0x5A ? Int(b - 0x41) : b >= 0x61 && b <= 0x7A ? Int(b - 0x61) : nil }
        guard let a = letter(u[i]), let b = letter(u[u.index(after: i)]) else { return nil }
        return a * 26 + b
    }

    /// A BIC's institution (its first eight characters) and branch (`XXX` when not given), in
    /// upper case; nil for anything that is no BIC (8 or 11 letters and digits, the country code
    /// in letters).
    public static func bic(_ text: String) -> (institution: String, branch: String)? {
        let u = text.utf8.map { $0 >= 0x61 && $0 <= 0x7A ? $0 - 0x20 : $0 }
        guard u.count == 8 || u.count == 11, u.allSatisfy({ ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x30 && $0 <= 0x39) }),
              u[4..<6].allSatisfy({ $0 >= 0x41 && $0 <= 0x5A }) else { return nil }
        return (String(decoding: u[0..<8], as: UTF8.self), u.count == 11 ? String(decoding: u[8...], as: UTF8.self) : "XXX")
    }

    /// Whether any list gives e-mail addresses, or phone numbers.
    public var listsEmails: Bool { !byEmail.isEmpty }
    public var listsPhones: Bool { !byPhone.isEmpty }
    /// Whether any list gives either: what the pipeline asks before looking at contacts.
    public var listsContacts: Bool { listsEmails || listsPhones }

    /// The entries that list `email` (in any case) as their e-mail address. A contact address that
    /// a list gives for a sanctioned person or body is a hit whatever the name it comes with,
    /// scored as a listed document is (``Evidence/documentHitScore``): a booking's contact may be
    /// the booker rather than the traveller, so it is for a person to look at.
    public func screen(email: String) -> [ScreeningMatch] {
        contactHits(IdentityKey.email(email), in: byEmail, feature: "email-hit") { key, _ in "e-mail address \(key) is listed: a hit whatever the name" }
    }

    /// The entries that list `phone` as their phone number, compared by its last digits
    /// (``IdentityKey/phone(_:)``), so `+98 21 8852 6300` finds OFAC's `982188526300`. Scored as
    /// an e-mail hit is.
    public func screen(phone: String) -> [ScreeningMatch] {
        contactHits(IdentityKey.phone(phone), in: byPhone, feature: "phone-hit") { key, entry in
            let listed = entry.phones.first { IdentityKey.phone($0) == key } ?? key
            return "phone number \(phone) is listed as \(listed): a hit whatever the name"
        }
    }

    private func contactHits(_ key: String?, in index: [String: [Int32]], feature: String,
                             detail: (String, WatchlistEntry) -> String) -> [ScreeningMatch] {
        guard let key, let ids = index[key] else { return [] }
        return hits(ids, feature: feature, score: Evidence.documentHitScore) { detail(key, $0) }
    }

    /// Matches on the entries of `ids` (each entry's first name) resting on one listed value alone.
    private func hits(_ ids: [Int32], feature: String, score: Double, detail: (WatchlistEntry) -> String) -> [ScreeningMatch] {
        let none = NameMatcher.Score(score: 0, pairs: [], unmatchedQuery: [], unmatchedCandidate: [])
        return ids.map { id in
            let n = names[Int(id)], l = Int(n.list), entry = lists[l].entries[Int(n.entry)]
            return ScreeningMatch(list: lists[l].version.name, listVersion: labels[l], entryID: entry.id, kind: entry.kind, matchedName: n.text,
                                  nameQuality: n.quality, score: score, nameScore: 0,
                                  features: [.init(feature: feature, contribution: score, detail: detail(entry))], name: none, programs: entry.programs)
        }.sorted { ($0.list, $0.entryID) < ($1.list, $1.entryID) }
    }

    static func describe(_ s: NameMatcher.Score) -> String {
        var parts = s.pairs.map { p in p.query == p.candidate ? p.query : "\(p.query)~\(p.candidate) (\(p.method.rawValue) \(p.similarity))" }
        if !s.unmatchedQuery.isEmpty { parts.append("unmatched in query: \(s.unmatchedQuery.joined(separator: " "))") }
        if !s.unmatchedCandidate.isEmpty { parts.append("unmatched on list: \(s.unmatchedCandidate.joined(separator: " "))") }
        if !s.conflicting.isEmpty { parts.append("different names facing each other: \(s.conflicting.joined(separator: " "))") }
        return parts.joined(separator: "; ")
    }
}

/// Sums of weights per name id, in arrays over all names that queries reuse one after another
/// (``Screener`` keeps a few). A hash table of the ids a query touched cost a probe per posting,
/// and arrays made per query had to be zeroed; here an id's sum counts only when its stamp is
/// the current query's, so starting a query is one increment. Each takes 16 bytes a name
/// (400 KB for the UN and OFAC lists together), one per query running at once.
///
/// Unchecked `Sendable`: one query at a time holds an accumulator (the screener's pool hands
/// it out).
final class Accumulator: @unchecked Sendable {
    /// An id's sum and the query it belongs to, side by side: one read from memory per id.
    private struct Sum {
        var weight: Double
        var stamp: UInt32
    }

    private let sums: UnsafeMutablePointer<Sum>
    private let capacity: Int
    private var stamp: UInt32 = 0
    /// The ids with a sum in this query, in the order they were first added.
    private(set) var touched: [Int32] = []

    init(names: Int) {
        capacity = max(1, names)
        sums = .allocate(capacity: capacity)
        sums.initialize(repeating: Sum(weight: 0, stamp: 0), count: capacity)
        touched.reserveCapacity(1024)
    }

    deinit { sums.deallocate() }

    /// Forgets every sum.
    func reset() {
        touched.removeAll(keepingCapacity: true)
        stamp &+= 1
        if stamp == 0 {
            // After 2^32 queries the stamps come round again: clear them once.
            sums.update(repeating: Sum(weight: 0, stamp: 0), count: capacity)
            stamp = 1
        }
    }

    /// How many ids have a sum.
    var count: Int { touched.count }

    /// Adds `weight` to the id's sum, and returns the sum.
    func add(_ id: Int32, _ weight: Double) -> Double {
        let i = Int(id)
        if sums[i].stamp != stamp {
            sums[i] = Sum(weight: weight, stamp: stamp)
            touched.append(id)
        } else {
            sums[i].weight += weight
        }
        return sums[i].weight
    }

    /// Adds `weight` to the sums of the ids of `held` (ascending, all with a sum) that are in
    /// `posting` (ascending), and returns the largest sum it made. It gallops through the longer
    /// list, so a posting of thousands costs a few steps per name held.
    func add(_ weight: Double, toThoseOf held: [Int32], in posting: ArraySlice<Int32>) -> Double {
        var top = 0.0
        var p = posting.startIndex
        for id in held {
            // Smallest index at or after p whose id is not below `id`: double the step, then halve.
            var step = 1
            while p + step < posting.endIndex, posting[p + step] < id { step <<= 1 }
            var lo = p, hi = min(p + step, posting.endIndex)
            while lo < hi {
                let mid = (lo + hi) / 2
                if posting[mid] < id { lo = mid + 1 } else { hi = mid }
            }
            p = lo
            guard p < posting.endIndex else { break }
            if posting[p] == id {
                sums[Int(id)].weight += weight
                top = max(top, sums[Int(id)].weight)
            }
        }
        return top
    }

    /// The ids with at least `floor`, heaviest first, at most `limit`. Of names weighed alike
    /// (a query sharing one common key with hundreds: `Korea`, `Hassan`), those with the least
    /// `masses` come first: the query holds more of them. By id alone, the exact name could be
    /// left out of the limit, and a listed name screened as listed not found.
    ///
    /// The best `limit` are kept as they come, in order, rather than all sorted: a common key
    /// touches thousands of names, and sorting them with the masses to compare took a twentieth
    /// of a screening.
    func ranked(from floor: Double, limit: Int, masses: [Double]) -> [Int32] {
        typealias Ranked = (id: Int32, weight: Double, mass: Double)
        func before(_ a: Ranked, _ b: Ranked) -> Bool {
            a.weight != b.weight ? a.weight > b.weight : a.mass != b.mass ? a.mass < b.mass : a.id < b.id
        }
        var best: [Ranked] = []
        best.reserveCapacity(limit + 1)
        for id in touched {
            let weight = sums[Int(id)].weight
            guard weight >= floor, limit > 0 else { continue }
            // Most names weigh less than the last kept: turned away without reading their mass.
            if best.count == limit, weight < best[limit - 1].weight { continue }
            let c: Ranked = (id, weight, masses[Int(id)])
            if best.count == limit, !before(c, best[limit - 1]) { continue }
            var i = best.count
            while i > 0, before(c, best[i - 1]) { i -= 1 }
            best.insert(c, at: i)
            if best.count > limit { best.removeLast() }
        }
        return best.map(\.id)
    }
}

/// Evidence beside the name: each returns the features it found (none when either side is silent).
enum Evidence {
    /// The largest contribution each kind of evidence can make; ``maximumBonus(for:)`` relies on
    /// them being the largest, so the functions below add no more.
    static let birthDateListed = 0.1, countryListed = 0.03, documentListed = 0.25
    /// A listed document number is a hit whatever the name (a person travelling under another
    /// name, or a name the matcher cannot pair): scored at least this, for a person to look at.
    /// Only numbers this long count so: short ones (`12345`) recur between issuers.
    static let documentHitScore = 0.85, documentHitLength = 6

    /// The most the birth date, country and document a query gives can add (each function
    /// below adds only when the query has its value).
    static func maximumBonus(for query: ScreeningQuery) -> Double {
        (query.birthDate != nil ? birthDateListed : 0) + (query.country != nil ? countryListed : 0)
            + (query.documents.isEmpty ? 0 : documentListed)
    }

    static func birthDate(_ query: String?, _ listed: [String]) -> [ScreeningFeature] {
        guard let query = query?.trimmingCharacters(in: .whitespaces), query.count >= 4, !listed.isEmpty,
              let qYear = Int(query.prefix(4)) else { return [] }
        if listed.contains(where: { $0 == query && query.count == 10 }) {
            return [.init(feature: "birth-date", contribution: birthDateListed, detail: "\(query) is listed")]
        }
        if listed.contains(where: { $0.hasPrefix(query) || query.hasPrefix($0) }) {
            return [.init(feature: "birth-date", contribution: 0.05, detail: "\(query) agrees with listed \(listed.joined(separator: ", "))")]
        }
        let years = listed.compactMap { Int($0.prefix(4)) }
        if years.contains(where: { abs($0 - qYear) <= 1 }) {
            return [.init(feature: "birth-date", contribution: 0, detail: "\(query) is within a year of listed \(listed.joined(separator: ", "))")]
        }
        return [.init(feature: "birth-date", contribution: -0.15, detail: "\(query) differs from listed \(listed.joined(separator: ", "))")]
    }

    static func country(_ query: String?, _ listed: [String]) -> [ScreeningFeature] {
        guard let query, !query.isEmpty, !listed.isEmpty else { return [] }
        let q = Countries.code(query)
        if listed.contains(where: { Countries.code($0) == q }) {
            return [.init(feature: "country", contribution: countryListed, detail: "\(query) is listed")]
        }
        return [.init(feature: "country", contribution: -0.05, detail: "\(query) is not among listed \(listed.joined(separator: ", "))")]
    }

    /// The first of the query's documents that the entry lists, as evidence (once, however many
    /// the query gives).
    static func document(_ query: [String], _ listed: [WatchlistEntry.Document]) -> [ScreeningFeature] {
        guard !listed.isEmpty else { return [] }
        for document in query {
            let q = IdentityKey.document(document)
            guard !q.isEmpty, let d = listed.first(where: { IdentityKey.document($0.number) == q }) else { continue }
            return [.init(feature: "document", contribution: documentListed, detail: "\(d.type ?? "document") \(d.number) is listed")]
        }
        return []
    }

    /// Why a query's document makes a hit of an entry whatever the name; nil when it does not:
    /// its number is not listed, is short, or the list gives the document another country than
    /// the query's.
    static func documentHit(_ query: ScreeningQuery, _ listed: [WatchlistEntry.Document]) -> String? {
        for document in query.documents {
            let q = IdentityKey.document(document)
            guard q.utf8.count >= documentHitLength,
                  let d = listed.first(where: { d in
                      IdentityKey.document(d.number) == q && (d.country == nil || query.country == nil || Countries.code(d.country!) == Countries.code(query.country!))
                  }) else { continue }
            return "\(d.type ?? "document") \(d.number) is listed: a hit whatever the name"
        }
        return nil
    }
}

/// Country names and ISO 3166 codes (``CountryCodes``), so `RU`, `RUS`, `Russia` and `Russian
/// Federation` compare equal.
enum Countries {
    static let byName: [String: String] = {
        var m: [String: String] = [:]
        let english = Locale(identifier: "en_US")
        for region in Locale.Region.isoRegions where region.identifier.count == 2 {
            if let name = english.localizedString(forRegionCode: region.identifier) { m[fold(name)] = region.identifier }
        }
        // Names the lists use that differ from the locale's.
        let extra = ["russian federation": "RU", "iran (islamic republic of)": "IR", "syrian arab republic": "SY",
                     "democratic people's republic of korea": "KP", "korea, north": "KP", "north korea": "KP", "republic of korea": "KR",
                     "korea, south": "KR", "united states of america": "US", "viet nam": "VN", "lao people's democratic republic": "LA",
                     "bolivia (plurinational state of)": "BO", "venezuela (bolivarian republic of)": "VE", "united republic of tanzania": "TZ",
                     "democratic republic of the congo": "CD", "congo, democratic republic of the": "CD", "burma": "MM",
                     "state of palestine": "PS", "the former yugoslav republic of macedonia": "MK", "turkey": "TR", "turkiye": "TR",
                     "united kingdom of great britain and northern ireland": "GB", "republic of moldova": "MD", "cote d'ivoire": "CI"]
        for (k, v) in extra { m[fold(k)] = v }
        return m
    }()

    static func fold(_ s: String) -> String {
        NameText.latin(s).0.filter { $0.isLetter || $0 == " " }.trimmingCharacters(in: .whitespaces)
    }

    /// Whether `s` is an ISO 3166 code (``CountryCodes``) or a name of a country.
    static func isKnown(_ s: String) -> Bool {
        let t = s.trimmingCharacters(in: .whitespaces)
        return CountryCodes.alpha2(t) != nil || byName[fold(t)] != nil
    }

    /// The alpha-2 code of a code or a name, or the folded text when it is neither.
    static func code(_ s: String) -> String {
        let t = s.trimmingCharacters(in: .whitespaces)
        if t.count == 2, t.allSatisfy(\.isLetter) { return t.uppercased() }
        if let two = CountryCodes.alpha2(t) { return two }
        let f = fold(t)
        return byName[f] ?? f
    }
}
