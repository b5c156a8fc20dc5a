import VigilCore

/// The texts window rules group and count by (accounts, mostly), each interned once as a small
/// integer id shared by every rule of a detector.
///
/// Before, each window rule hashed the key's text into a dictionary of its own, and a composite
/// key (`[debtor.account, creditor.account]`) was first joined into a new string: four to six
/// string hashes per event with the typology library. Now a text is hashed once per event,
/// however many rules use it; a rule's windows sit in a small table keyed by the id
/// (``WindowHeads``), and `distinct` compares ids instead of strings. A reload shares the table
/// with the pool of windows it carries over.
///
/// A composite key is an id for a pair of ids (three fields: a pair whose left part is itself a
/// pair), found by hashing two integers.
///
/// Ids are counted: a window holding a key, a window entry holding a `distinct` value and a pair
/// holding its parts each keep one reference. An id interned for an event that kept none is
/// given back after the event (``dropUnkept()``); one whose last reference went (a window
/// fired or expired) waits for ``collect()``, which the detector runs on its sweeps.
final class KeyTable {
    private struct Entry {
        /// Empty for a pair.
        var text: String
        var left: Int32
        var right: Int32
        /// -1 while the slot is free.
        var references: Int32
    }

    // Only the detector that owns the table touches it, one event at a time.
    @exclusivity(unchecked) private var entries: [Entry] = []
    @exclusivity(unchecked) private var byText = ProbeTable<HashedID>()
    @exclusivity(unchecked) private var byPair = ProbeTable<HashedID>()
    @exclusivity(unchecked) private var free: [Int32] = []
    /// Ids added since the last ``dropUnkept()``.
    @exclusivity(unchecked) private var fresh: [Int32] = []
    /// Texts are hashed with a seed of this table's own, so that nobody can choose account
    /// numbers that all land in one probe run. Ids do not depend on it: they are handed out in
    /// the order texts first appear, so detection stays deterministic.
    private let seed = UInt64.random(in: .min ... .max)

    /// The id of a text, interned if new.
    func id(_ text: String) -> Int32 {
        let hash = hash(text)
        let i = byText.find(home: Int(hash)) { $0.hash == hash && entries[Int($0.id)].text == text }
        if !byText.slots[i].isVacant { return byText.slots[i].id }
        let id = add(Entry(text: text, left: -1, right: -1, references: 0))
        byText.store(HashedID(hash: hash, id: id), at: i)
        return id
    }

    /// The id of a pair of ids, interned if new (then it references both parts).
    func id(_ left: Int32, _ right: Int32) -> Int32 {
        let hash = Self.hash(left, right)
        let i = byPair.find(home: Int(hash)) { $0.hash == hash && entries[Int($0.id)].left == left && entries[Int($0.id)].right == right }
        if !byPair.slots[i].isVacant { return byPair.slots[i].id }
        let id = add(Entry(text: "", left: left, right: right, references: 0))
        byPair.store(HashedID(hash: hash, id: id), at: i)
        retain(left)
        retain(right)
        return id
    }

    private static func hash(_ left: Int32, _ right: Int32) -> UInt32 {
        UInt32(truncatingIfNeeded: ProbeHash.spread(UInt64(UInt32(bitPattern: left)) << 32 | UInt64(UInt32(bitPattern: right))))
    }

    private func hash(_ text: String) -> UInt32 { ProbeHash.text(text, seed: seed) }

    /// Takes an id out of an index: the slot holding it, in the probe run of its hash.
    private static func unindex(_ id: Int32, hash: UInt32, from index: inout ProbeTable<HashedID>) {
        index.remove(at: index.find(home: Int(hash)) { $0.id == id })
    }

    private func add(_ entry: Entry) -> Int32 {
        let id: Int32
        if let reused = free.popLast() {
            id = reused
            entries[Int(id)] = entry
        } else {
            entries.append(entry)
            id = Int32(entries.count - 1)
        }
        fresh.append(id)
        return id
    }

    func retain(_ id: Int32) { entries[Int(id)].references += 1 }
    func release(_ id: Int32) { entries[Int(id)].references -= 1 }

    /// Gives back the ids added since the last call that nothing kept. Without it, every new
    /// account seen between two sweeps would hold an id (and a slot in each rule's table).
    func dropUnkept() {
        guard !fresh.isEmpty else { return }
        // Newest first: a pair goes before the parts it references.
        give(fresh.reversed().filter { entries[Int($0)].references == 0 })
        fresh.removeAll(keepingCapacity: true)
    }

    /// Gives back every id nothing references.
    func collect() {
        give(entries.indices.filter { entries[$0].references == 0 }.map(Int32.init))
        fresh.removeAll(keepingCapacity: true)
    }

    /// Frees unreferenced ids (a pair's parts may then follow it).
    private func give(_ ids: [Int32]) {
        guard !ids.isEmpty else { return }
        var unused = ids
        while let id = unused.popLast() {
            guard entries[Int(id)].references == 0 else { continue }
            let e = entries[Int(id)]
            if e.left >= 0 {
                Self.unindex(id, hash: Self.hash(e.left, e.right), from: &byPair)
                for part in [e.left, e.right] {
                    release(part)
                    if entries[Int(part)].references == 0 { unused.append(part) }
                }
            } else {
                Self.unindex(id, hash: hash(e.text), from: &byText)
            }
            entries[Int(id)] = Entry(text: "", left: -1, right: -1, references: -1)
            free.append(id)
        }
    }

    /// Renumbers the ids in use to `0..<count`, in their present order, once most of the table
    /// is free slots: after a peak of keys the table (and the dictionaries into it) shrink back.
    /// Returns each old id's new one (-1 for a free slot) for the holders of ids to rewrite, or
    /// `nil` when the table was left as it was. Run right after ``collect()``.
    func compact() -> [Int32]? {
        guard entries.count > 4096, count < entries.count / 4 else { return nil }
        var map = [Int32](repeating: -1, count: entries.count)
        var next: Int32 = 0
        for i in entries.indices where entries[i].references >= 0 {
            map[i] = next
            next += 1
        }
        var moved: [Entry] = []
        moved.reserveCapacity(Int(next))
        byText = ProbeTable()
        byPair = ProbeTable()
        for i in entries.indices where map[i] >= 0 {
            var e = entries[i]
            let id = map[i]
            if e.left >= 0 {
                e.left = map[Int(e.left)]
                e.right = map[Int(e.right)]
                byPair.insert(HashedID(hash: Self.hash(e.left, e.right), id: id))
            } else {
                byText.insert(HashedID(hash: hash(e.text), id: id))
            }
            moved.append(e)
        }
        entries = moved
        free = []
        fresh = []
        return map
    }

    /// The texts an id stands for: one, or a composite key's parts in order.
    func texts(_ id: Int32) -> [String] {
        let e = entries[Int(id)]
        return e.left >= 0 ? texts(e.left) + texts(e.right) : [e.text]
    }

    /// One more than the highest id handed out (the size a table indexed by id needs).
    var bound: Int { entries.count }
    /// Ids in use, free slots not counted.
    var count: Int { entries.count - free.count }
}
