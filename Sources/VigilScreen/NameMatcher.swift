/// Scores how likely two names name the same person or organisation, in [0, 1], and says why:
/// which token of one name was paired with which of the other, how, and what was left over.
///
/// Tokens are paired greedily, best pair first, each token used once; two adjacent tokens may
/// pair with one (`Ramimakhlouf` and `Rami Makhlouf`). The score is the pairs' similarity,
/// weighted by what the tokens are (a legal form or a particle weighs less than a name), over
/// all the weight, where tokens left over count fully on the name with fewer tokens and half on
/// the other (a middle name or patronymic the other name leaves out is common; a name the other
/// lacks entirely is not), less between paired tokens (a middle name), and more where each
/// person's name has a given name the other lacks (``conflicts(_:_:_:_:)``).
public struct NameMatcher: Sendable {
    public struct Options: Sendable, Hashable {
        /// A token pair below this similarity is not a pair.
        public var minTokenSimilarity = 0.8
        /// How much a token left over on the longer name counts, against 1 on the shorter.
        public var extraTokenWeight = 0.5
        /// A name with one identifying token is weak evidence on its own: its score is scaled by this.
        public var singleTokenFactor = 0.9
        /// How much a token left over on the longer of two persons' names counts when it stands
        /// between tokens that paired: a middle name the other name leaves out.
        public var middleTokenWeight = 0.3
        /// How much a person's identifying token left over on each name counts, one facing the
        /// other (``NameMatcher/conflicts(_:_:_:_:)``), against 1 (or ``extraTokenWeight``) for a token
        /// only one name has.
        public var conflictWeight = 1.5
        public init() {}
    }

    public enum Method: String, Sendable, Codable, BitwiseCopyable {
        case exact, similar, initial, skeleton, joined, acronym, nickname
    }

    public struct Pair: Sendable, Hashable, Codable {
        public var query: String
        public var candidate: String
        public var similarity: Double
        public var method: Method
    }

    public struct Score: Sendable, Hashable, Codable {
        public var score: Double
        public var pairs: [Pair]
        /// Tokens of the query and of the candidate that found no pair.
        public var unmatchedQuery: [String]
        public var unmatchedCandidate: [String]
        /// Of those, the ones that face each other as different names (given names, an
        /// organisation's distinctive words), the query's first
        /// (``NameMatcher/conflicts(_:_:_:_:)``): they count more than a name left out.
        public var conflicting: [String] = []
    }

    public var options: Options {
        didSet { letterBound = .init(threshold: options.minTokenSimilarity) }
    }
    /// The letter bound for ``Options/minTokenSimilarity``.
    private var letterBound: NormalizedName.Unit.LetterBound

    public init(options: Options = Options()) {
        self.options = options
        letterBound = .init(threshold: options.minTokenSimilarity)
    }

    /// A raw string similarity stretched so that only near-identical tokens count nearly fully:
    /// Jaro-Winkler gives 0.8 to quite different short tokens.
    private static func effective(_ raw: Double) -> Double { max(0, (raw - 0.6) / 0.4) }

    /// `PLA` for `People's Liberation Army`: an organisation written as its initials.
    ///
    /// Asked of every candidate organisation, so the common answer (no) is found without making
    /// arrays: made each time, they were 5–6 % of screening a generated wire's name in a profile.
    private static func acronym(_ short: NormalizedName, _ long: NormalizedName) -> Pair? {
        guard short.nameTokenCount == 1, long.nameTokenCount >= 2,
              let s = short.tokens.first(where: { $0.role == .name || $0.role == .number })?.text else { return nil }
        let names = long.tokens.count { $0.role == .name }
        guard (2...6).contains(names), s.count == names else { return nil }
        let l = long.tokens.filter { $0.role == .name }
        guard s == String(l.compactMap(\.text.first)) else { return nil }
        return Pair(query: s, candidate: l.map(\.text).joined(separator: " "), similarity: 0.9, method: .acronym)
    }

    public func score(_ q: NormalizedName, _ c: NormalizedName) -> Score {
        var cache = PairCache()
        return score(q, c, explainFrom: -.infinity, cache: &cache)
    }

    /// The score of `q` against `c`, with the comparisons of `q`'s units with numbered units
    /// (``NormalizedName/UnitVocabulary``) kept in `cache`, which must serve this `q` only.
    ///
    /// Explained (the token pairs' texts, the tokens left over) only when the score reaches
    /// `explainFrom`: the screener scores many candidates and reports few.
    func score(_ q: NormalizedName, _ c: NormalizedName, explainFrom: Double, rejectBelow: Double = -.infinity, cache: inout PairCache) -> Score {
        withUnsafeTemporaryAllocation(of: Candidate.self, capacity: max(1, q.heads.count * c.heads.count)) { buffer in
            score(q, c, explainFrom: explainFrom, rejectBelow: rejectBelow, cache: &cache, buffer: buffer)
        }
    }

    /// The same, with the token pairs kept in `buffer`, which holds at least as many as `q` and
    /// `c` have units multiplied (the screener sizes one for all of a query's candidates).
    ///
    /// A pair of names that cannot reach `rejectBelow` (``bound(_:_:possibleQ:possibleC:)``) is
    /// not scored: its score is 0, with nothing explained. Most candidates a screener scores
    /// fall short, and the bound needs only the letter tests that start the scoring anyway.
    func score(_ q: NormalizedName, _ c: NormalizedName, explainFrom: Double, rejectBelow: Double = -.infinity, cache: inout PairCache,
               buffer: UnsafeMutableBufferPointer<Candidate>) -> Score {
        if q.isOrganization || c.isOrganization, let pair = Self.acronym(q, c) ?? Self.acronym(c, q).map({
            Pair(query: $0.candidate, candidate: $0.query, similarity: $0.similarity, method: $0.method)
        }) {
            return Score(score: pair.similarity, pairs: [pair], unmatchedQuery: [], unmatchedCandidate: [])
        }
        let qh = q.heads, ch = c.heads
        let guessed = q.vowelsGuessed != c.vowelsGuessed
        let hebrew = guessed && (q.script == .hebrew || c.script == .hebrew)
        let korean = q.korean && c.korean
        precondition(buffer.count >= qh.count * ch.count, "the buffer holds fewer pairs than the names have")
        // The unit pairs the letter tests leave open, and the tokens they cover: no other token
        // can pair.
        var open = 0
        var possibleQ: UInt64 = 0, possibleC: UInt64 = 0
        for i in qh.indices {
            for j in ch.indices {
                let a = qh[i], b = ch[j]
                // Joined tokens pair with a single token (`Ramimakhlouf`, `Rami Makhlouf`); two
                // joined runs would only repeat what their tokens say one by one.
                if a.tokens > 1, b.tokens > 1 { continue }
                if ruledOut(a, b, guessed: guessed, korean: korean) { continue }
                buffer[open] = Candidate(qi: UInt16(i), ci: UInt16(j), sim: 0, method: .exact, covered: 0)
                possibleQ |= a.mask
                possibleC |= b.mask
                open += 1
            }
        }
        // With a margin for the score's rounding to four places.
        if rejectBelow > -.infinity, bound(q, c, possibleQ: possibleQ, possibleC: possibleC) < rejectBelow - 1e-4 {
            return Score(score: 0, pairs: [], unmatchedQuery: [], unmatchedCandidate: [])
        }
        var n = 0
        for k in 0..<open {
            let i = Int(buffer[k].qi), j = Int(buffer[k].ci)
            let a = qh[i], b = ch[j]
            let found: (Double, Method)?
            if b.id >= 0 {
                let key = UInt64(i) << 34 | (korean ? 1 << 33 : 0) | (guessed ? 1 << 32 : 0) | (hebrew ? 1 << 31 : 0) | UInt64(b.id)
                let slot = cache.table.slot(for: key, inserting: .unknown)
                if cache.table[slot].isUnknown { cache.table[slot] = PairCache.Entry(similarity(a, b, guessed: guessed, hebrew: hebrew, korean: korean)) }
                found = cache.table[slot].result
            } else {
                found = similarity(a, b, guessed: guessed, hebrew: hebrew, korean: korean)
            }
            guard let (sim, method) = found else { continue }
            let covered = Int(a.tokens) + Int(b.tokens)
            // (n ≤ k: each pair is written at or before where it was read.)
            buffer[n] = Candidate(qi: UInt16(i), ci: UInt16(j), sim: sim, method: covered > 2 ? .joined : method, covered: UInt8(covered))
            n += 1
        }
        var candidates = UnsafeMutableBufferPointer(rebasing: buffer[0..<n])
        // Best first; on a tie single tokens before joined ones (the explanation is plainer).
        candidates.sort { a, b in a.sim != b.sim ? a.sim > b.sim : (a.covered, a.qi, a.ci) < (b.covered, b.qi, b.ci) }
        let pairs = UnsafeBufferPointer(candidates)
        if explainFrom == -.infinity { return align(q, c, pairs, explain: true) }
        // The alignment again, with its texts, for a score worth explaining: cheaper than
        // scoring the pair a second time.
        let unexplained = align(q, c, pairs, explain: false)
        return unexplained.score >= explainFrom ? align(q, c, pairs, explain: true) : unexplained
    }

    /// How much a token left over counts on each name, times its weight, unless it is a middle
    /// name, a married surname or in conflict (``align(_:_:_:explain:)``). A person's name may
    /// leave out middle names, so a token the longer name has over counts less; a company's name
    /// has none; a Korean one has none either: a syllable only one has makes another given name.
    private func leftoverFactors(_ q: NormalizedName, _ c: NormalizedName) -> (q: Double, c: Double) {
        let extra = q.korean && c.korean ? options.conflictWeight : q.isOrganization || c.isOrganization ? 1 : options.extraTokenWeight
        return (q.nameTokenCount > c.nameTokenCount ? extra : 1, c.nameTokenCount > q.nameTokenCount ? extra : 1)
    }

    /// The most `q` and `c` can score when only the tokens in `possibleQ` and `possibleC` (as
    /// bits of their positions) can pair: every such token paired with a similarity of 1, every
    /// other left over at the least ``align(_:_:_:explain:)`` could count it — its weight times
    /// the name's factor (``leftoverFactors(_:_:)``), or a middle name's where that is below 1,
    /// or a married surname's; a conflict or a stated legal form counts more. A test holds the
    /// bound to the score of every candidate of the bench's queries.
    func bound(_ q: NormalizedName, _ c: NormalizedName, possibleQ: UInt64, possibleC: UInt64) -> Double {
        let (factorQ, factorC) = leftoverFactors(q, c)
        var paired = 0.0, left = 0.0
        func add(_ n: NormalizedName, _ possible: UInt64, _ factor: Double) {
            let least = min(factor < 1 ? min(factor, options.middleTokenWeight) : 1, options.conflictWeight)
            for (i, t) in n.tokens.enumerated() {
                let bit: UInt64 = 1 << UInt64(i)
                if possible & bit != 0 {
                    paired += t.role.weight
                } else {
                    left += t.role.weight * (n.marriedSurname & bit != 0 ? min(least, options.extraTokenWeight) : least)
                }
            }
        }
        add(q, possibleQ, factorQ)
        add(c, possibleC, factorC)
        guard paired > 0 else { return 0 }
        let most = paired / (paired + left)
        let (qNames, cNames) = (q.nameTokenCount, c.nameTokenCount)
        return min(qNames, cNames) <= 1 && max(qNames, cNames) > 1 ? most * options.singleTokenFactor : most
    }

    /// A token pair that pairs. Small (16 bytes), so that the buffer of pairs mostly stays on the
    /// stack (a temporary allocation of more than about a kilobyte goes to the heap).
    struct Candidate {
        /// Units of a name (at most 64 tokens, singly and in runs of two and three): below 200.
        var qi: UInt16
        var ci: UInt16
        var sim: Double
        var method: Method
        /// How many tokens the two units cover.
        var covered: UInt8
    }

    /// Pairs units in the order given, each token used once, and scores the result.
    private func align(_ q: NormalizedName, _ c: NormalizedName, _ candidates: UnsafeBufferPointer<Candidate>, explain: Bool) -> Score {
        let qh = q.heads, ch = c.heads
        var usedQ: UInt64 = 0, usedC: UInt64 = 0
        var pairs: [Pair] = []
        if explain { pairs.reserveCapacity(min(qh.count, ch.count)) }
        var matched = 0.0
        var matchedWeight = 0.0
        for cand in candidates {
            let a = qh[Int(cand.qi)].mask, b = ch[Int(cand.ci)].mask
            guard a & usedQ == 0, b & usedC == 0 else { continue }
            usedQ |= a
            usedC |= b
            let w = qh[Int(cand.qi)].weight + ch[Int(cand.ci)].weight
            matched += cand.sim * w
            matchedWeight += w
            if explain {
                pairs.append(Pair(query: q.units[Int(cand.qi)].text, candidate: c.units[Int(cand.ci)].text, similarity: (cand.sim * 1000).rounded() / 1000, method: cand.method))
            }
        }
        func left(_ n: NormalizedName, _ used: UInt64) -> [Int] { n.tokens.indices.filter { used & (1 << UInt64($0)) == 0 } }
        let qNames = q.nameTokenCount, cNames = c.nameTokenCount
        let (extraQ, extraC) = leftoverFactors(q, c)
        // A legal form or patronymic only one name states says little; two different ones say
        // different companies or people (`AG` is not `GmbH`, `Ivanovich` not `Viktorovich`). A bare
        // `company` conflicts with nothing.
        func stated(_ role: NormalizedName.Role, _ n: NormalizedName, _ used: UInt64) -> Bool {
            n.tokens.indices.contains { used & (1 << UInt64($0)) == 0 && n.tokens[$0].role == role && n.tokens[$0].text != "co" }
        }
        let conflicts = (legal: stated(.legalForm, q, usedQ) && stated(.legalForm, c, usedC),
                         patronymic: stated(.patronymic, q, usedQ) && stated(.patronymic, c, usedC))
        let organization = q.isOrganization || c.isOrganization
        // A married surname (``NormalizedName/marriedSurname``) left over takes the place of the
        // mother's surname the other name has: one name left out, not two conflicting. Not when
        // both names have one: two married women are told apart by them. On the lists: 8 more
        // aliases, no pair of different people more (counting both names' too matched one).
        let marriedQ = q.marriedSurname, marriedC = c.marriedSurname
        let married = marriedQ != 0 && marriedC != 0 ? (q: UInt64(0), c: UInt64(0)) : (q: marriedQ & ~usedQ, c: marriedC & ~usedC)
        let facing = Self.conflicts(q, usedQ | married.q, c, usedC | married.c)
        func leftover(_ n: NormalizedName, _ used: UInt64, _ factor: Double, facing: UInt64, married: UInt64) -> Double {
            var sum = 0.0
            for i in n.tokens.indices where used & (1 << UInt64(i)) == 0 {
                let t = n.tokens[i], bit: UInt64 = 1 << UInt64(i)
                if bit & married != 0 {
                    sum += t.role.weight * options.extraTokenWeight
                    continue
                }
                switch t.role {
                case .legalForm where conflicts.legal && t.text != "co", .patronymic where conflicts.patronymic: sum += 1
                // `Company 23` is not `Company`; a common word counts fully when one name lacks it.
                case .number where organization, .common: sum += 1
                case _ where facing & bit != 0: sum += options.conflictWeight
                // Between paired tokens (paired ones both before and after it): a middle name.
                case _ where factor < 1 && used & (bit - 1) != 0 && used & ~(bit | (bit - 1)) != 0:
                    sum += t.role.weight * options.middleTokenWeight
                default: sum += t.role.weight * factor
                }
            }
            return sum
        }
        let unmatched = leftover(q, usedQ, extraQ, facing: facing.q, married: married.q) + leftover(c, usedC, extraC, facing: facing.c, married: married.c)
        var score = matchedWeight + unmatched > 0 ? matched / (matchedWeight + unmatched) : 0
        if min(qNames, cNames) <= 1, max(qNames, cNames) > 1 { score *= options.singleTokenFactor }
        func texts(_ n: NormalizedName, _ mask: UInt64) -> [String] { n.tokens.indices.filter { mask & (1 << UInt64($0)) != 0 }.map { n.tokens[$0].text } }
        return Score(score: (score * 10_000).rounded() / 10_000, pairs: pairs,
                     unmatchedQuery: explain ? left(q, usedQ).map { q.tokens[$0].text } : [],
                     unmatchedCandidate: explain ? left(c, usedC).map { c.tokens[$0].text } : [],
                     conflicting: explain ? texts(q, facing.q) + texts(c, facing.c) : [])
    }

    /// The identifying tokens left over on each name that face one left over on the other that
    /// is not alike (another consonant skeleton, so not a misspelling the pairing missed, such as
    /// `Ssad` for `Asad`; nor one letter apart, as `Eega` and `Vega`, short tokens one consonant
    /// apart that do not pair), as masks of token positions: as many on each side, the first ones. A
    /// name only one side has is missing information (a middle name left out); two different
    /// names in its place are conflicting information — as in record linkage, disagreement
    /// weighs more than absence. On the UN and OFAC lists the pairs this keeps apart are mostly
    /// relatives: brothers `Yasir Sabawi Ibrahim Hasan` and `Ayman Sabawi Ibrahim Hasan`, or
    /// namesakes who share a surname and a second given name; and sister organisations:
    /// `Bandar Imam Kimiya Petrochemical Company` and `Bandar Imam Besparan Petrochemical
    /// Company`, `Ansar al-Shari'a in Benghazi` and `in Darnah`. In an organisation's name a word
    /// naming its kind of body (`committee`, `bureau`) does not conflict: lists call one body by
    /// several such words.
    static func conflicts(_ q: NormalizedName, _ usedQ: UInt64, _ c: NormalizedName, _ usedC: UInt64) -> (q: UInt64, c: UInt64) {
        let organization = q.isOrganization || c.isOrganization
        // Masks, not arrays: this runs for every candidate a query scores.
        func left(_ n: NormalizedName, _ used: UInt64) -> UInt64 {
            var m: UInt64 = 0
            for i in n.tokens.indices where used & (1 << UInt64(i)) == 0 && n.tokens[i].role == .name
                && !(organization && n.tokens[i].namesKindOfBody) { m |= 1 << UInt64(i) }
            return m
        }
        let leftQ = left(q, usedQ)
        guard leftQ != 0 else { return (0, 0) }
        var leftC = left(c, usedC), differentQ: UInt64 = 0
        guard leftC != 0 else { return (0, 0) }
        for i in leftQ.setBits {
            // One letter apart: on the lists' misspelt names (the bench's), 567 more found their
            // entry, and no pair of different people or bodies more matched (`--eval-list`).
            if let j = leftC.setBits.first(where: { c.tokens[$0].skeleton == q.tokens[i].skeleton
                || (q.tokens[i].text.utf8.count >= 3 && Similarity.oneEditApart(c.tokens[$0].text, q.tokens[i].text)) }) {
                leftC &= ~(1 << UInt64(j))
            } else {
                differentQ |= 1 << UInt64(i)
            }
        }
        let k = min(differentQ.nonzeroBitCount, leftC.nonzeroBitCount)
        return (differentQ.lowest(k), leftC.lowest(k))
    }

    /// Whether an initial pairs with a patronymic, when the pair is one of those: Russian writes
    /// a person as the initials of the given name and the patronymic (`В. В. Путин`, `Putin
    /// V. V.`). `nil` for any other pair. Each side: role, length in bytes, tokens, first byte.
    private static func patronymicInitial(_ a: (NormalizedName.Role, Int, Int, UInt8), _ b: (NormalizedName.Role, Int, Int, UInt8)) -> Bool? {
        guard (a.0 == .patronymic) != (b.0 == .patronymic) else { return nil }
        let initial = a.0 == .patronymic ? b : a
        guard initial.0 == .name, initial.1 == 1, initial.2 == 1 else { return nil }
        return a.3 == b.3
    }

    /// Whether tokens of these roles may pair unless their texts are the same.
    private static func rolesMayPair(_ a: NormalizedName.Role, _ b: NormalizedName.Role) -> Bool {
        // Numbers (and Roman numerals) match only exactly: `Trust IV` is not `Trust V`.
        if a == .number || b == .number { return false }
        // A legal form pairs only with a legal form, a particle or patronymic only with its like.
        if (a == .legalForm) != (b == .legalForm) || (a == .particle) != (b == .particle) || (a == .patronymic) != (b == .patronymic) {
            return false
        }
        return a != .legalForm  // two legal forms of different families
    }

    /// Whether two units pair (a similarity of at least ``Options/minTokenSimilarity``), as
    /// ``score(_:_:explainFrom:cache:buffer:)`` decides it for a pair of names with these traits:
    /// `guessed`, one name's vowels are guesses and the other's are not; `hebrew`, and one is
    /// Hebrew; `korean`, both are Korean.
    func pairs(_ a: NormalizedName.Head, _ b: NormalizedName.Head, guessed: Bool, hebrew: Bool, korean: Bool) -> Bool {
        !ruledOut(a, b, guessed: guessed, korean: korean) && similarity(a, b, guessed: guessed, hebrew: hebrew, korean: korean) != nil
    }

    @inline(__always)
    private func ruledOut(_ a: NormalizedName.Head, _ b: NormalizedName.Head, guessed: Bool, korean: Bool) -> Bool {
        // Its letter bound does not know the Korean spellings.
        cannotPair(a, b, guessed: guessed) && (!korean || a.spellingHash != b.spellingHash)
    }

    /// Whether ``similarity(_:_:guessed:hebrew:)`` is sure to find no pair, from the units' heads alone: the
    /// same tests in the same order, up to the first that needs a unit's text. Most pairs of two
    /// different names end here.
    @inline(__always)
    private func cannotPair(_ a: NormalizedName.Head, _ b: NormalizedName.Head, guessed: Bool) -> Bool {
        if a.hash == b.hash, a.count == b.count { return false }  // may be the same text
        if let initial = Self.patronymicInitial((a.role, Int(a.count), Int(a.tokens), a.first), (b.role, Int(b.count), Int(b.tokens), b.first)) {
            return !initial
        }
        if !Self.rolesMayPair(a.role, b.role) { return true }
        if a.hasGivenNames, b.hasGivenNames { return false }
        // Initials against joined tokens: as many letters as tokens, and the first the same (a
        // joined unit starts with its first token). Without the first letter, every word of three
        // letters went to the full comparison against every run of three tokens (`acc` against
        // `walterochoaguisao`): about 11 of the 19 a generated wire's name had.
        if a.tokens == 1, b.tokens > 1, a.count == Int32(b.tokens), a.first == b.first { return false }
        if b.tokens == 1, a.tokens > 1, b.count == Int32(a.tokens), a.first == b.first { return false }
        if a.count == 1 || b.count == 1 { return !(a.first == b.first && a.tokens == 1 && b.tokens == 1) }
        let shorter = min(a.count, b.count), longer = max(a.count, b.count)
        guard 2 * shorter >= longer else { return true }
        guard !guessed else { return false }
        if a.vowelsHash != 0, a.vowelsHash == b.vowelsHash { return false }  // see ``NormalizedName/Unit/vowelsKey``
        // The same folded text pairs whatever the letters say (hashes of different texts may
        // be equal: then the pair is compared in full).
        if a.foldedHash == b.foldedHash || (a.spellingHash != 0 && a.spellingHash == b.spellingHash) { return false }
        return !letterBound.mayReach(a.letters, Int(a.count), b.letters, Int(b.count), prefix: NormalizedName.Unit.commonPrefix(a.prefix, b.prefix))
    }

    /// The units' comparison, through their heads' unretained references (`q` and `c` keep them).
    private func similarity(_ a: NormalizedName.Head, _ b: NormalizedName.Head, guessed: Bool, hebrew: Bool, korean: Bool) -> (Double, Method)? {
        a.unit._withUnsafeGuaranteedRef { x in b.unit._withUnsafeGuaranteedRef { y in similarity(x, y, guessed: guessed, hebrew: hebrew, korean: korean) } }
    }

    /// `guessed`: one name's vowels are guesses (``NormalizedName/vowelsGuessed``); `hebrew`: and
    /// that name is in Hebrew.
    private func similarity(_ a: NormalizedName.Unit, _ b: NormalizedName.Unit, guessed: Bool, hebrew: Bool, korean: Bool) -> (Double, Method)? {
        if a.text == b.text { return (1, .exact) }
        if let initial = Self.patronymicInitial((a.role, a.text.utf8.count, a.tokens.count, a.text.utf8.first ?? 0),
                                                (b.role, b.text.utf8.count, b.tokens.count, b.text.utf8.first ?? 0)) {
            return initial ? (0.75, .initial) : nil
        }
        if !Self.rolesMayPair(a.role, b.role) { return nil }
        if let x = a.givenNames, let y = b.givenNames, !x.isDisjoint(with: y) { return (0.9, .nickname) }
        // Initials: `J` for `John`, `JC` for `Jean Claude`.
        if a.tokens.count == 1, b.tokens.count > 1, a.text == b.initials { return (0.75, .initial) }
        if b.tokens.count == 1, a.tokens.count > 1, b.text == a.initials { return (0.75, .initial) }
        if a.text.utf8.count == 1 || b.text.utf8.count == 1 {
            return a.text.utf8.first == b.text.utf8.first && a.tokens.count == 1 && b.tokens.count == 1 ? (0.75, .initial) : nil
        }
        let shorter = min(a.text.utf8.count, b.text.utf8.count), longer = max(a.text.utf8.count, b.text.utf8.count)
        // Tokens of very different lengths are not spellings of one another (a joined pair
        // covers a name written as one word).
        guard 2 * shorter >= longer else { return nil }
        // (Pairs whose letter sets alone keep them below the threshold were ruled out by
        // ``cannotPair(_:_:guessed:)``. Counting the letters one lacks, byte by byte, ruled out a
        // quarter of the rest, at about the cost of comparing them.)
        var jw = Similarity.jaroWinkler(a.text, b.text)
        if shorter <= 4 {
            // Jaro-Winkler is generous to short tokens (`nabc` and `abc` 0.92, `lind` and
            // `lindemann` 0.88): there, one edit is a large part of the token.
            let edits = Similarity.levenshtein(a.text, b.text)
            jw = min(jw, 1 - Double(edits) / Double(longer))
            // Unless the consonants agree: one vowel or `h` apart is how short names are
            // transliterated (`Tun`/`Htun`, `Shih`/`Shi`, `Paek`/`Pak`, `Omar`/`Umar`, `Nur`/`Nura`),
            // a pair at the threshold, the weakest there is. On the UN and OFAC lists: 51 more
            // aliases, no pair of different people or bodies more. Only for pairs whose letters
            // could reach the threshold by Jaro-Winkler (``cannotPair(_:_:guessed:)`` rules out the
            // rest first): `Dan`/`Tan` and `Isa`/`Esa` (0.78) do not pair, `Haq`/`Heq` (0.8) does.
            if edits == 1, jw < options.minTokenSimilarity, !guessed, case let x = NameText.skeleton(a.text, []), !x.isEmpty,
               x == NameText.skeleton(b.text, []) {
                jw = options.minTokenSimilarity
            }
        }
        if a.folded == b.folded || (a.jFolded != nil && a.jFolded == b.jFolded) {
            // Spellings of one name in different transliterations: nearly, not quite, the same.
            jw = max(jw, 0.97)
        } else if korean, let x = a.koreanFolded, x == b.koreanFolded {
            jw = max(jw, 0.95)  // the North's and the South's spellings (``Hangul``)
        } else if !guessed, !a.vowelsKey.isEmpty, a.vowelsKey == b.vowelsKey {
            // Inner vowels apart (``NormalizedName/Unit/vowelsKey``): as close as the consonants
            // of a name written in an abjad below.
            jw = max(jw, 0.95)
        }
        // Written on one side only in a script whose vowels are guesses (an abjad, Thai,
        // Khmer): the consonants are compared too, and the closer reading counts (`ahmd` is
        // nearer `ahmed` as consonants). Its `w` may be a vowel or `v` (דוד `dwd` is David),
        // and in Hebrew `b` may be `v` and `p` may be `f` (יוסף `ywsp` is Yosef).
        let merged: NameText.Reading = hebrew ? .labials : []
        if guessed, case let (x, y) = (NameText.skeleton(a.text, merged), NameText.skeleton(b.text, merged)), !x.isEmpty, !y.isEmpty {
            let v = merged.union(.wAsV)
            let sk = 0.95 * max(Similarity.jaroWinkler(x, y), Similarity.jaroWinkler(NameText.skeleton(a.text, v), NameText.skeleton(b.text, v)))
            if sk >= options.minTokenSimilarity, sk > jw { return (Self.effective(sk), .skeleton) }
        }
        guard jw >= options.minTokenSimilarity else { return nil }
        return (Self.effective(jw), .similar)
    }
}

/// The comparisons of one query's units with numbered list units (key: the query unit's index,
/// whether both names are Korean, whether one side's vowels are guesses and whether it is Hebrew,
/// the list unit's number).
/// Candidates of one query share many tokens: about 58 token pairs per benchmark query are
/// compared in full, 24 of them distinct.
struct PairCache: ~Copyable {
    struct Entry: BitwiseCopyable {
        var similarity: Double
        /// Nil when the units do not pair; `similarity` is -1 until compared.
        var method: NameMatcher.Method?

        static let unknown = Entry(similarity: -1, method: nil)
        var isUnknown: Bool { similarity < 0 }
        var result: (Double, NameMatcher.Method)? { method.map { (similarity, $0) } }

        init(similarity: Double, method: NameMatcher.Method?) {
            self.similarity = similarity
            self.method = method
        }

        init(_ result: (Double, NameMatcher.Method)?) {
            self.init(similarity: result?.0 ?? 0, method: result?.1)
        }
    }

    var table = IntegerTable<Entry>(capacity: 64)
}

extension UInt64 {
    /// The positions of the set bits, lowest first.
    fileprivate var setBits: some Sequence<Int> {
        sequence(state: self) { m -> Int? in
            guard m != 0 else { return nil }
            defer { m &= m - 1 }
            return m.trailingZeroBitCount
        }
    }

    /// The lowest `k` set bits.
    fileprivate func lowest(_ k: Int) -> UInt64 {
        var m = self, out: UInt64 = 0
        for _ in 0..<k where m != 0 {
            out |= m & (~m &+ 1)
            m &= m - 1
        }
        return out
    }
}
