import CPrefetch
import Foundation
import VigilCore

/// The screener's index: each key (a name's token as written, its consonant skeleton, or two
/// adjacent tokens joined) and the ids of the names that hold it, laid out flat once when the
/// lists load.
///
/// A query looks up about eight keys. Kept as strings in a `Dictionary`, each lookup built a new
/// string (`"t:" + text`), hashed it with SipHash, compared the key and followed a posting array
/// of its own. Here a key is known by a 64-bit hash of its bytes, taken where they lie; a slot
/// holds the hash, where the key's names are and how rare it is, so a lookup reads one slot
/// and then the names.
///
/// The build makes sure no two listed keys share a hash (it changes the hash's seed if they
/// do). A query key that is not listed may still share one with a listed key, by a chance of
/// about one in 10^14 per lookup: that key's names then become candidates, which the matcher
/// scores on their names like any other. Candidates are a preselection; no match comes from
/// the index alone.
struct KeyIndex: Sendable {
    /// What a key is made of. Part of the key: a token and an equal skeleton are different keys.
    enum Kind: UInt8, Sendable {
        case token = 0x74, skeleton = 0x73
        /// A common word of a name that has no other (``Screener/forEachKey(_:query:_:)``).
        case common = 0x63
        /// A token's skeleton less one consonant class: found for a query token no list writes, whose
        /// skeleton a misspelling changed (``Screener/candidates(_:exhaustive:)``).
        case near = 0x6E
        /// A token, and the token less one of its letters (as SymSpell indexes words): found for
        /// a query token no list writes, whose letters a slip changed
        /// (``Screener/candidates(_:exhaustive:)``).
        case typo = 0x64
    }

    /// One key: the ids of the names holding it are `ids[start..<end]`, ascending; `idf` is how
    /// rare it is (the log of all names over the names holding it).
    struct Slot: Sendable {
        var hash: UInt64
        var start: Int32
        var end: Int32
        var idf: Double

        static let empty = Slot(hash: 0, start: -1, end: -1, idf: 0)
        var isEmpty: Bool { start < 0 }
    }

    /// Open addressing, a power of two in size, at most half full. A key is known by its slot's
    /// index in here.
    private let slots: [Slot]
    private let ids: [Int32]
    private let seed: UInt64
    /// Per name id, the rarity of the keys a query of the name as written holds (all but its
    /// ``Kind/near`` and ``Kind/typo`` keys) summed: of candidates a query weighs alike, the screener takes those
    /// with the least mass first, the ones the query holds more of.
    let masses: [Double]

    /// Collects the keys of names numbered from 0, in that order.
    struct Builder {
        private var numbers: [[UInt8]: Int32] = [:]
        private var keys: [[UInt8]] = []
        private var postings: [[Int32]] = []

        init() {}

        /// Adds the key `first` + `second` (either may be empty) of the name `id`.
        mutating func add(_ kind: Kind, _ first: String, _ second: String, to id: Int32) {
            var key: [UInt8] = []
            key.reserveCapacity(1 + first.utf8.count + second.utf8.count)
            key.append(kind.rawValue)
            key += first.utf8
            key += second.utf8
            if let p = numbers[key] {
                // A name may give one key twice (a token written twice): it holds it once.
                if postings[Int(p)].last != id { postings[Int(p)].append(id) }
                return
            }
            numbers[key] = Int32(keys.count)
            keys.append(key)
            postings.append([id])
        }

        func build(names: Int) -> KeyIndex { KeyIndex(keys: keys, postings: postings, names: names) }
    }

    private init(keys: [[UInt8]], postings: [[Int32]], names: Int) {
        var size = 16
        while size < 2 * keys.count { size <<= 1 }
        let total = Double(max(1, names))
        var seed = FNV1a.offsetBasis
        var slots: [Slot]
        var ids: [Int32] = []
        var masses = [Double](repeating: 0, count: names)
        // In key order, so the sums (floating point) are the same from run to run.
        for (key, posting) in zip(keys, postings) where key.first != Kind.near.rawValue && key.first != Kind.typo.rawValue {
            let idf = log(total / Double(posting.count))
            for id in posting { masses[Int(id)] += idf }
        }
        self.masses = masses
        build: while true {
            slots = Array(repeating: .empty, count: size)
            ids.removeAll(keepingCapacity: true)
            for (key, posting) in zip(keys, postings) {
                let h = key.reduce(seed) { FNV1a.step($0, UInt64($1)) }
                var s = Self.home(h, mask: size - 1)
                while !slots[s].isEmpty {
                    // Two listed keys with one hash: start again with another seed.
                    guard slots[s].hash != h else {
                        seed &+= 1
                        continue build
                    }
                    s = (s + 1) & (size - 1)
                }
                slots[s] = Slot(hash: h, start: Int32(ids.count), end: Int32(ids.count + posting.count), idf: log(total / Double(posting.count)))
                ids += posting
            }
            break
        }
        self.slots = slots
        self.ids = ids
        self.seed = seed
    }

    private static func home(_ hash: UInt64, mask: Int) -> Int { Int(truncatingIfNeeded: (hash &* 0x9E37_79B9_7F4A_7C15) >> 32) & mask }

    /// The key `first` + `second`, if a listed name holds it (or, rarely, a listed key of the
    /// same hash: see above).
    func find(_ kind: Kind, _ first: String, _ second: String) -> Int32? {
        var h = FNV1a.step(seed, UInt64(kind.rawValue))
        for b in first.utf8 { h = FNV1a.step(h, UInt64(b)) }
        for b in second.utf8 { h = FNV1a.step(h, UInt64(b)) }
        return find(hash: h)
    }

    /// The hash of the key made of `text` less its byte at `skipped` (all of it when `skipped`
    /// is outside it), without building that text, for ``prefetch(_:)`` and ``find(hash:)``: a
    /// query's misspelt token looks up a key per letter, mostly keys no list holds, each in a
    /// slot anywhere in a table of megabytes. Asked for all at once, their fetches from memory
    /// overlap.
    func hash(_ kind: Kind, _ text: UnsafeBufferPointer<UInt8>, without skipped: Int) -> UInt64 {
        var h = FNV1a.step(seed, UInt64(kind.rawValue))
        for i in text.indices where i != skipped { h = FNV1a.step(h, UInt64(text[i])) }
        return h
    }

    /// Asks for the slot where the key of hash `h` would be.
    func prefetch(_ h: UInt64) {
        slots.withUnsafeBufferPointer { vigil_prefetch($0.baseAddress! + Self.home(h, mask: $0.count - 1)) }
    }

    /// The key of hash `h` (``hash(_:_:without:)``).
    func find(hash h: UInt64) -> Int32? {
        let mask = slots.count - 1
        var s = Self.home(h, mask: mask)
        while !slots[s].isEmpty {
            if slots[s].hash == h { return Int32(s) }
            s = (s + 1) & mask
        }
        return nil
    }

    /// How rare a key is.
    func idf(_ key: Int32) -> Double { slots[Int(key)].idf }

    /// The ids of the names holding a key, ascending.
    func ids(_ key: Int32) -> ArraySlice<Int32> { ids[Int(slots[Int(key)].start)..<Int(slots[Int(key)].end)] }
}
