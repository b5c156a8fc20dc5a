/// A slot of a ``ProbeTable``: a value that is either vacant or hashed to a home slot.
public protocol ProbeSlot {
    static var vacant: Self { get }
    var isVacant: Bool { get }
    /// Where the slot's probe run starts, before masking to the table's size.
    var home: Int { get }
}

/// An open-addressing hash table with linear probing and backward-shift deletion (lookups never
/// meet tombstones), sized to a power of two and kept at most three quarters full.
///
/// Detection and the anomaly baselines look keys up several times per event, and Swift's
/// `Dictionary` hashes every key with SipHash (strings byte by byte through `Hasher`): for the
/// small dense integer ids and short account numbers it serves, a multiplicative hash
/// (``ProbeHash``) does as well at a fraction of the cost. The slots carry what lookups compare,
/// so a probe rarely leaves the table; and where a value lies is known before it is read, so it
/// can be fetched ahead (a `Dictionary` says that only by reading it).
///
/// Inlinable: its users are in other modules and call it per event, where an unspecialised
/// generic call would cost more than the probe.
public struct ProbeTable<Slot: ProbeSlot> {
    @usableFromInline var storage: [Slot]
    @usableFromInline var occupiedCount = 0
    @usableFromInline var mask: Int

    /// `capacity`: a power of two.
    @inlinable public init(capacity: Int = 16) {
        precondition(capacity > 0 && capacity & (capacity - 1) == 0, "a probe table's capacity is a power of two")
        storage = Array(repeating: .vacant, count: capacity)
        mask = capacity - 1
    }

    /// A table with room for `count` slots before it grows (the load bound is the table's own).
    @inlinable public init(holding count: Int) {
        var capacity = 16
        while 3 * capacity < 4 * (count + 1) { capacity *= 2 }
        self.init(capacity: capacity)
    }

    /// Every slot, vacant or not, in slot order.
    @inlinable public var slots: [Slot] { _read { yield storage } }

    /// The occupied slots.
    @inlinable public var count: Int { occupiedCount }

    /// The first slot of the probe run from `home` for which `matches` holds, or the vacant slot
    /// that ends the run (where such a slot would be inserted).
    @inlinable public func find(home: Int, _ matches: (Slot) -> Bool) -> Int {
        var i = home & mask
        while !storage[i].isVacant, !matches(storage[i]) { i = (i + 1) & mask }
        return i
    }

    /// Replaces an occupied slot, or fills a vacant one that ``find(home:_:)`` returned.
    /// Filling may grow the table: the slot's index is then no longer valid.
    @inlinable public mutating func store(_ slot: Slot, at index: Int) {
        guard storage[index].isVacant else {
            storage[index] = slot
            return
        }
        guard 4 * (occupiedCount + 1) <= 3 * storage.count else {
            resize(to: storage.count * 2)
            occupiedCount += 1
            storage[find(home: slot.home) { _ in false }] = slot
            return
        }
        occupiedCount += 1
        storage[index] = slot
    }

    /// Adds a slot whose key the table does not hold.
    @inlinable public mutating func insert(_ slot: Slot) { store(slot, at: find(home: slot.home) { _ in false }) }

    /// Empties an occupied slot, moving later slots of its probe run into the gap.
    @inlinable public mutating func remove(at index: Int) {
        var gap = index, i = index
        while true {
            i = (i + 1) & mask
            guard !storage[i].isVacant else { break }
            let h = storage[i].home & mask
            // Moved into the gap only if its home is not between the gap and it (cyclically).
            if (i > gap && (h <= gap || h > i)) || (i < gap && h <= gap && h > i) {
                storage[gap] = storage[i]
                gap = i
            }
        }
        storage[gap] = .vacant
        occupiedCount -= 1
        // A table far emptier than growing ever leaves it (after a sweep) is rebuilt smaller.
        if storage.count > 1024, occupiedCount < storage.count / 8 { resize(to: storage.count / 4) }
    }

    @inlinable mutating func resize(to capacity: Int) {
        let old = storage
        storage = Array(repeating: .vacant, count: capacity)
        mask = capacity - 1
        for s in old where !s.isVacant { storage[find(home: s.home) { _ in false }] = s }
    }

    /// The occupied slots, in slot order.
    @inlinable public var occupied: [Slot] { storage.filter { !$0.isVacant } }

    /// Lets the caller rewrite every occupied slot in place, without changing its home.
    @inlinable public mutating func forEach(_ body: (inout Slot) -> Void) {
        for i in storage.indices where !storage[i].isVacant { body(&storage[i]) }
    }
}

extension ProbeTable: Sendable where Slot: Sendable {}

/// The slot of a table that indexes its user's own array: an entry's id (its place there) with
/// the hash of what the entry stands for. A probe compares the hashes, and reads the entry only
/// when they are equal.
public struct HashedID: ProbeSlot, Sendable {
    public var hash: UInt32
    public var id: Int32
    @inlinable public init(hash: UInt32, id: Int32) {
        self.hash = hash
        self.id = id
    }
    public static let vacant = HashedID(hash: 0, id: -1)
    @inlinable public var isVacant: Bool { id == -1 }
    @inlinable public var home: Int { Int(hash) }
}

/// The hashes ``ProbeTable``'s users put their keys' homes at.
public enum ProbeHash {
    /// Multiplicative (Fibonacci) hashing: spreads small dense integers over the table.
    @inlinable @inline(__always) public static func spread(_ x: UInt64) -> Int {
        let h = x &* 0x9E37_79B9_7F4A_7C15
        return Int(truncatingIfNeeded: h ^ (h >> 29))
    }

    /// A multiply-and-fold hash of a text's UTF-8 bytes, eight at a time (an account number is
    /// one or two words). A table hashes with a random seed of its own, so that nobody can
    /// choose account numbers that all land in one probe run; nothing its user computes may
    /// depend on the seed.
    @inlinable public static func text(_ text: String, seed: UInt64) -> UInt32 {
        var text = text
        return text.withUTF8 { bytes in
            var h = seed ^ UInt64(bytes.count)
            var i = 0
            while i + 8 <= bytes.count {
                h = UInt64(bitPattern: Int64(spread(h ^ UnsafeRawBufferPointer(bytes).loadUnaligned(fromByteOffset: i, as: UInt64.self))))
                i += 8
            }
            var tail: UInt64 = 0
            for k in i..<bytes.count { tail |= UInt64(bytes[k]) << (8 * (k - i)) }
            return UInt32(truncatingIfNeeded: spread(h ^ tail))
        }
    }
}
