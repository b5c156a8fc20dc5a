/// A hash table from integer keys to plain values, by open addressing with linear probing, in
/// memory of its own. A query builds one (its pair cache, ``PairCache``) and drops it: a
/// `Dictionary` hashes more than integers need, and arrays checked their uniqueness on every
/// write.
///
/// Keys are `UInt64` below `UInt64.max` (that value marks an empty slot). Nothing is removed.
struct IntegerTable<Value: BitwiseCopyable>: ~Copyable {
    private var keys: UnsafeMutablePointer<UInt64>
    private var values: UnsafeMutablePointer<Value>
    private var mask: Int
    /// The occupied slots, in the order their keys were inserted.
    private(set) var slots: [Int32] = []

    private static var empty: UInt64 { .max }

    init(capacity: Int = 64) {
        var size = 16
        while size < 2 * capacity { size <<= 1 }
        (keys, values, mask) = Self.allocate(size)
        // Room for every key the table holds before it grows: appending one by one reallocated.
        slots.reserveCapacity(size / 2)
    }

    deinit { keys.deallocate() }

    /// Keys and values in one block (one allocation per table, a few tables per query): the
    /// values follow the keys, at their alignment.
    private static func allocate(_ size: Int) -> (UnsafeMutablePointer<UInt64>, UnsafeMutablePointer<Value>, Int) {
        let offset = valuesOffset(size)
        let block = UnsafeMutableRawPointer.allocate(byteCount: offset + size * MemoryLayout<Value>.stride,
                                                     alignment: max(MemoryLayout<UInt64>.alignment, MemoryLayout<Value>.alignment))
        let keys = block.bindMemory(to: UInt64.self, capacity: size)
        keys.initialize(repeating: empty, count: size)
        // Values are written before they are read (only occupied slots are read).
        return (keys, (block + offset).bindMemory(to: Value.self, capacity: size), size - 1)
    }

    private static func valuesOffset(_ size: Int) -> Int {
        let a = MemoryLayout<Value>.alignment
        return (size * MemoryLayout<UInt64>.stride + a - 1) / a * a
    }

    var count: Int { slots.count }

    /// The slot holding `key`, or the empty slot where it would go.
    private func probe(_ key: UInt64) -> Int {
        var slot = Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> 32) & mask
        while keys[slot] != Self.empty && keys[slot] != key { slot = (slot + 1) & mask }
        return slot
    }

    /// The slot holding `key`, inserted with `value` when it was absent.
    mutating func slot(for key: UInt64, inserting value: Value) -> Int {
        var slot = probe(key)
        if keys[slot] == Self.empty {
            if 2 * (slots.count + 1) > mask + 1 {
                grow()
                slot = probe(key)
            }
            keys[slot] = key
            values[slot] = value
            slots.append(Int32(slot))
        }
        return slot
    }

    func key(at slot: Int) -> UInt64 { keys[slot] }

    subscript(slot: Int) -> Value {
        get { values[slot] }
        nonmutating set { values[slot] = newValue }
    }

    private mutating func grow() {
        let (oldKeys, oldValues, oldSlots) = (keys, values, slots)
        (keys, values, mask) = Self.allocate(2 * (mask + 1))
        slots.removeAll(keepingCapacity: true)
        slots.reserveCapacity((mask + 1) / 2)
        for s in oldSlots {
            let slot = probe(oldKeys[Int(s)])
            keys[slot] = oldKeys[Int(s)]
            values[slot] = oldValues[Int(s)]
            slots.append(Int32(slot))
        }
        oldKeys.deallocate()  // the values' block too
    }
}
