/// A slot of a ``ProbeTable``: a value that is either vacant or hashed to a home slot.
protocol ProbeSlot {
    static var vacant: Self { get }
    var isVacant: Bool { get }
    /// Where the slot's probe run starts, before masking to the table's size.
    var home: Int { get }
}

/// An open-addressing hash table with linear probing and backward-shift deletion (lookups never
/// meet tombstones), sized to a power of two and kept at most three quarters full.
///
/// Detection looks keys up several times per event, and Swift's `Dictionary` hashes every key
/// with SipHash (strings byte by byte through `Hasher`): for the small dense integer ids and
/// short account numbers it serves here, a multiplicative hash does as well at a fraction of
/// the cost. The slots carry what lookups compare, so a probe rarely leaves the table.
struct ProbeTable<Slot: ProbeSlot> {
    private(set) var slots: [Slot]
    private(set) var count = 0
    private var mask: Int

    init(capacity: Int = 16) {
        slots = Array(repeating: .vacant, count: capacity)
        mask = capacity - 1
    }

    /// The first slot of the probe run from `home` for which `matches` holds, or the vacant slot
    /// that ends the run (where such a slot would be inserted).
    func find(home: Int, _ matches: (Slot) -> Bool) -> Int {
        var i = home & mask
        while !slots[i].isVacant, !matches(slots[i]) { i = (i + 1) & mask }
        return i
    }

    /// Replaces an occupied slot, or fills a vacant one that ``find(home:_:)`` returned.
    /// Filling may grow the table: the slot's index is then no longer valid.
    mutating func store(_ slot: Slot, at index: Int) {
        guard slots[index].isVacant else {
            slots[index] = slot
            return
        }
        guard 4 * (count + 1) <= 3 * slots.count else {
            resize(to: slots.count * 2)
            count += 1
            slots[find(home: slot.home) { _ in false }] = slot
            return
        }
        count += 1
        slots[index] = slot
    }

    /// Adds a slot whose key the table does not hold.
    mutating func insert(_ slot: Slot) { store(slot, at: find(home: slot.home) { _ in false }) }

    /// Empties an occupied slot, moving later slots of its probe run into the gap.
    mutating func remove(at index: Int) {
        var gap = index, i = index
        while true {
            i = (i + 1) & mask
            guard !slots[i].isVacant else { break }
            let h = slots[i].home & mask
            // Moved into the gap only if its home is not between the gap and it (cyclically).
            if (i > gap && (h <= gap || h > i)) || (i < gap && h <= gap && h > i) {
                slots[gap] = slots[i]
                gap = i
            }
        }
        slots[gap] = .vacant
        count -= 1
        // A table far emptier than growing ever leaves it (after a sweep) is rebuilt smaller.
        if slots.count > 1024, count < slots.count / 8 { resize(to: slots.count / 4) }
    }

    private mutating func resize(to capacity: Int) {
        let old = slots
        slots = Array(repeating: .vacant, count: capacity)
        mask = capacity - 1
        for s in old where !s.isVacant { slots[find(home: s.home) { _ in false }] = s }
    }

    /// The occupied slots, in slot order.
    var occupied: [Slot] { slots.filter { !$0.isVacant } }

    /// Lets the caller rewrite every occupied slot in place, without changing its home.
    mutating func forEach(_ body: (inout Slot) -> Void) {
        for i in slots.indices where !slots[i].isVacant { body(&slots[i]) }
    }
}

/// Multiplicative (Fibonacci) hashing: spreads small dense integers over the table.
@inline(__always) func spread(_ x: UInt64) -> Int {
    let h = x &* 0x9E37_79B9_7F4A_7C15
    return Int(truncatingIfNeeded: h ^ (h >> 29))
}
