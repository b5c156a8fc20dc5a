import CPrefetch
import Foundation
import VigilCore

/// The entries of every window of a detector, in one pool: each key's entries form a linked
/// list through it, and freed slots are reused.
///
/// A window per key used to be an array of its own. Most keys hold one or two events, so that
/// meant an allocation per key (and a free when it expired) on nearly every event, a 32-byte
/// array header beside each entry, and a sweep that had to read every array to find its last
/// event. Here an entry is one slot, and a key is a 16-byte head in its rule's table.
///
/// The slots live in fixed chunks of 4,096 rather than one array: an array grows by copying
/// everything it holds into new memory, and at a few hundred thousand entries those copies (and
/// the kernel zeroing the fresh pages) were a twelfth of detection. A chunk, once allocated,
/// stays where it is until ``compact(_:)``.
final class WindowPool {
    /// 64 bytes, one cache line (the chunks are aligned to lines): in this order the fields
    /// need no padding. (With `distinct` last a node took 72 bytes and straddled two lines.)
    struct Node {
        var amount: Decimal
        /// The input partition, as an index into the detector's partition table: a topic name
        /// (a heap string, retained on every copy) is kept once there rather than in each entry.
        var partition: Int32
        var next: Int32
        /// The id of the value of the rule's `distinct` field in ``keys``; -1 when it has none.
        var distinct: Int32
        var ts: EventTime
        var offset: Int64
        var eventID: String
    }

    /// The ids of the keys and `distinct` values the windows in this pool refer to.
    let keys = KeyTable()

    private static let chunkShift = 12
    private static let chunkSize = 1 << chunkShift

    // Only the detector that owns the pool touches it, one event at a time.
    /// Slots `0..<used` are initialised (free ones hold an empty node); chunks cover them.
    @exclusivity(unchecked) private var chunks: [UnsafeMutablePointer<Node>] = []
    @exclusivity(unchecked) private var used = 0
    @exclusivity(unchecked) private var freeHead: Int32 = -1

    deinit { Self.release(chunks, used: used) }

    private static func release(_ chunks: [UnsafeMutablePointer<Node>], used: Int) {
        for (n, chunk) in chunks.enumerated() {
            chunk.deinitialize(count: max(0, min(chunkSize, used - n * chunkSize)))
            chunk.deallocate()
        }
    }

    /// A chunk aligned to a cache line, so that no node straddles two.
    private static func allocateChunk() -> UnsafeMutablePointer<Node> {
        UnsafeMutableRawPointer.allocate(byteCount: chunkSize * MemoryLayout<Node>.stride, alignment: 64)
            .bindMemory(to: Node.self, capacity: chunkSize)
    }

    /// Where a node is (internal for a test of the chunks' alignment).
    func address(_ i: Int32) -> UnsafeMutablePointer<Node> {
        chunks[Int(i) >> Self.chunkShift] + (Int(i) & (Self.chunkSize - 1))
    }

    func allocate(_ node: Node) -> Int32 {
        if node.distinct >= 0 { keys.retain(node.distinct) }
        guard freeHead >= 0 else {
            if used == chunks.count << Self.chunkShift { chunks.append(Self.allocateChunk()) }
            let i = Int32(used)
            address(i).initialize(to: node)
            used += 1
            return i
        }
        let i = freeHead
        freeHead = self[i].next
        self[i] = node
        return i
    }

    func free(_ i: Int32) {
        let node = address(i)
        node.pointee.eventID = ""
        if node.pointee.distinct >= 0 { keys.release(node.pointee.distinct) }
        node.pointee.distinct = -1
        node.pointee.next = freeHead
        freeHead = i
    }

    /// Asks for a node's cache line ahead of reading it.
    func prefetch(_ i: Int32) { vigil_prefetch(address(i)) }

    /// Yields the node in place, so reading one field (`pool[i].ts`) neither copies the node
    /// nor retains its strings.
    subscript(_ i: Int32) -> Node {
        unsafeAddress { UnsafePointer(address(i)) }
        unsafeMutableAddress { address(i) }
    }

    /// Slots in use, free ones included.
    var slots: Int { used }

    /// Renumbers the keys the windows of `stores` and their entries refer to, after
    /// ``KeyTable/compact()`` returned `map`.
    func rekey(_ map: [Int32], _ stores: inout [WindowStore]) {
        for i in 0..<Int32(used) where self[i].distinct >= 0 { self[i].distinct = map[Int(self[i].distinct)] }
        for s in stores.indices { stores[s].rekey(map) }
    }

    /// Moves the live entries of `stores` to new chunks of just their size, rewriting the heads
    /// and links, so memory freed by expired windows goes back to the allocator.
    func compact(_ stores: inout [WindowStore]) {
        let live = stores.reduce(0) { $0 + $1.entries }
        let moved = (0..<(live + Self.chunkSize - 1) >> Self.chunkShift).map { _ in Self.allocateChunk() }
        var count = 0
        for s in stores.indices {
            stores[s].relink { head in
                var i = head.first
                let first = Int32(count)
                for n in 0..<head.count {
                    var node = self[i]
                    i = node.next
                    node.next = n + 1 < head.count ? Int32(count + 1) : -1
                    (moved[count >> Self.chunkShift] + (count & (Self.chunkSize - 1))).initialize(to: node)
                    count += 1
                }
                head.first = first
                head.last = Int32(count - 1)
            }
        }
        Self.release(chunks, used: used)
        chunks = moved
        used = count
        freeHead = -1
    }
}

/// One key's window: its key's id, and where its list starts and ends in the pool (the newest
/// entry is `last`).
struct WindowHead: ProbeSlot {
    var key: Int32
    var first: Int32
    var last: Int32
    var count: Int32

    static let vacant = WindowHead(key: -1, first: -1, last: -1, count: 0)
    var isVacant: Bool { key == -1 }
    var home: Int { Self.home(key) }
    static func home(_ key: Int32) -> Int { ProbeHash.spread(UInt64(UInt32(bitPattern: key))) }
}

/// A rule's windows by key id, in a ``ProbeTable`` sized to the keys the rule holds (an array
/// indexed by id would be as long as the ids of every rule).
struct WindowHeads {
    private var table = ProbeTable<WindowHead>()

    var count: Int { table.count }

    private func find(_ key: Int32) -> Int {
        table.find(home: WindowHead.home(key)) { $0.key == key }
    }

    subscript(_ key: Int32) -> WindowHead? {
        let i = find(key)
        return table.slots[i].isVacant ? nil : table.slots[i]
    }

    /// Stores a key's window, or removes it (`nil`).
    mutating func set(_ key: Int32, _ head: WindowHead?) { update(key) { $0 = head } }

    /// Reads and changes a key's window with one probe: `body` gets the window (`nil` when the
    /// key has none) and may replace it or set it to `nil` to remove it.
    mutating func update<R>(_ key: Int32, _ body: (inout WindowHead?) -> R) -> R {
        let i = find(key)
        let held = !table.slots[i].isVacant
        var head: WindowHead? = held ? table.slots[i] : nil
        let result = body(&head)
        if var head {
            head.key = key
            table.store(head, at: i)
        } else if held {
            table.remove(at: i)
        }
        return result
    }

    /// The windows held, in slot order.
    var all: [WindowHead] { table.occupied }

    /// The windows whose newest entry meets `test`, in slot order.
    ///
    /// A sweep runs this over every key of a rule, and each key's newest entry may be anywhere
    /// in the pool: read one after the other, those entries were a memory stall per key, most
    /// of a sweep's time. The entries of the keys a few slots ahead are asked for first.
    func newest(in pool: WindowPool, meeting test: (borrowing WindowPool.Node) -> Bool) -> [WindowHead] {
        let ahead = 16
        var found: [WindowHead] = []
        table.slots.withUnsafeBufferPointer { slots in
            for i in slots.indices {
                if i + ahead < slots.count, !slots[i + ahead].isVacant { pool.prefetch(slots[i + ahead].last) }
                if !slots[i].isVacant, test(pool[slots[i].last]) { found.append(slots[i]) }
            }
        }
        return found
    }

    /// Lets the pool rewrite every head when it compacts.
    mutating func forEach(_ body: (inout WindowHead) -> Void) { table.forEach(body) }
}

/// The aggregates a window rule's `having` can use: over the amounts in the window, and the
/// number of distinct values of the rule's `distinct` field. Each is computed only when the
/// expression reads it.
public struct WindowView {
    let pool: WindowPool
    let first: Int32
    let count: Int

    /// Calls `body` on each entry, oldest first.
    func forEach(_ body: (borrowing WindowPool.Node) -> Void) {
        var i = first
        for _ in 0..<count {
            body(pool[i])
            i = pool[i].next
        }
    }

    var amounts: [Decimal] {
        var out: [Decimal] = []
        out.reserveCapacity(count)
        forEach { out.append($0.amount) }
        return out
    }

    /// Computed when read: most `having` conditions never look at the amounts.
    var sum: Decimal {
        var total = DecimalSum()
        forEach { total.add($0.amount) }
        return total.value
    }

    var distinctCount: Int { distinctCount(upTo: .max) }

    /// The number of distinct values of the entries' `distinct` field, counted until it reaches
    /// `limit` (a `having` such as `distinct >= 10` needs no more: a fan-out window of a busy
    /// account holds hundreds of entries, and each event counted them all).
    ///
    /// Evaluated on every event of a fan-in or fan-out window. Windows are mostly short, and
    /// comparing a few ids is cheaper than hashing them into a set: the ids are read once, in one
    /// pass over the entries (each may be anywhere in the pool), into a buffer on the stack, and
    /// compared there.
    func distinctCount(upTo limit: Int) -> Int {
        var distinct = 0
        var i = first
        if count > 32 {
            var seen = Set<Int32>()
            for _ in 0..<count where distinct < limit {
                let v = pool[i].distinct
                if v >= 0, seen.insert(v).inserted { distinct += 1 }
                i = pool[i].next
            }
            return distinct
        }
        return withUnsafeTemporaryAllocation(of: Int32.self, capacity: max(1, count)) { ids in
            for _ in 0..<count where distinct < limit {
                let v = pool[i].distinct
                // Each value counted where it first occurs.
                if v >= 0, !ids[0..<distinct].contains(v) {
                    ids[distinct] = v
                    distinct += 1
                }
                i = pool[i].next
            }
            return distinct
        }
    }

    static let schema = Schema<WindowView>(name: "window aggregates", fields: [
        "count": .integer { $0.count },
        "sum": .number { $0.sum },
        "min": .number { $0.amounts.min() },
        "max": .number { $0.amounts.max() },
        "avg": .number { v in v.count == 0 ? nil : v.sum / Decimal(v.count) },
        // Population standard deviation; through Double, which is exact enough for a threshold
        // and still deterministic (the same operations in the same order).
        "stddev": .number { v in
            guard v.count > 0 else { return nil }
            let xs = v.amounts.map { NSDecimalNumber(decimal: $0).doubleValue }
            let mean = xs.reduce(0, +) / Double(xs.count)
            return Decimal((xs.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(xs.count)).squareRoot())
        },
        "distinct": .integer(upTo: { v, limit in v.distinctCount(upTo: limit) }),
        "median": percentile(50), "p90": percentile(90), "p95": percentile(95), "p99": percentile(99),
    ])

    /// Nearest-rank percentile of the amounts: a value that occurred, never an interpolation.
    private static func percentile(_ p: Int) -> Schema<WindowView>.Field {
        .number { v in
            guard v.count > 0 else { return nil }
            let sorted = v.amounts.sorted()
            return sorted[max(0, (p * sorted.count + 99) / 100 - 1)]
        }
    }
}

/// One window rule's state: the window of each key, by the key's id in the pool's ``KeyTable``.
struct WindowStore {
    private(set) var heads = WindowHeads()
    /// Keys holding a window.
    var keys: Int { heads.count }

    /// What taking in one event did.
    struct Admitted {
        var before: Int
        var after: Int
        var capped: Int
        /// When `having` held: the window's entries, oldest first (they are consumed), and its
        /// sum and distinct count, for the explanation. (One optional: an admission that does
        /// not fire, nearly all of them, makes no `Decimal`.)
        var fired: Fired?

        struct Fired {
            var entries: [WindowPool.Node]
            var sum: Decimal
            var distinct: Int
        }
    }

    /// Whether the key's window already holds this event of the message at this partition and offset.
    func contains(_ key: Int32, partition: Int32, offset: Int64, eventID: String, in pool: WindowPool) -> Bool {
        guard let head = heads[key] else { return false }
        var found = false
        // The event id too: the events of one message (a statement, a CSV extract) share its offset.
        WindowView(pool: pool, first: head.first, count: Int(head.count)).forEach {
            if $0.partition == partition && $0.offset == offset && $0.eventID == eventID { found = true }
        }
        return found
    }

    /// Adds one entry to a key's window (in event-time order, even when it arrives late), drops
    /// what fell out of the span or over the cap, and tests `having`.
    mutating func admit(_ node: WindowPool.Node, key: Int32, within: Duration, cap: Int,
                        having: CompiledExpression<WindowView>, pool: WindowPool) -> Admitted {
        heads.update(key) { slot in
            let held = slot != nil
            let admitted = Self.admit(node, into: &slot, key: key, within: within, cap: cap, having: having, pool: pool)
            // A window holds its key's id while it exists.
            switch (held, slot != nil) {
            case (false, true): pool.keys.retain(key)
            case (true, false): pool.keys.release(key)
            default: break
            }
            return admitted
        }
    }

    private static func admit(_ node: WindowPool.Node, into slot: inout WindowHead?, key: Int32, within: Duration, cap: Int,
                              having: CompiledExpression<WindowView>, pool: WindowPool) -> Admitted {
        let n = pool.allocate(node)
        guard var head = slot else {
            let head = WindowHead(key: key, first: n, last: n, count: 1)
            return finish(head, into: &slot, before: 0, capped: 0, having: having, pool: pool)
        }
        let before = Int(head.count)
        if pool[head.last].ts <= node.ts {
            pool[head.last].next = n
            head.last = n
        } else if node.ts < pool[head.first].ts {
            // Late, and older than everything held.
            pool[n].next = head.first
            head.first = n
        } else {
            // Late: after the last entry not newer than it.
            var at = head.first
            while pool[at].next >= 0, at != head.last, pool[pool[at].next].ts <= node.ts { at = pool[at].next }
            pool[n].next = pool[at].next
            pool[at].next = n
        }
        head.count += 1
        let cutoff = pool[head.last].ts - within
        func dropFirst() {
            let gone = head.first
            head.first = pool[gone].next
            pool.free(gone)
            head.count -= 1
        }
        // The newest entry always stays: it is inside its own span, and a cap is at least 1.
        while head.count > 1, pool[head.first].ts < cutoff { dropFirst() }
        var capped = 0
        while head.count > 1, Int(head.count) > cap {
            dropFirst()
            capped += 1
        }
        return finish(head, into: &slot, before: before, capped: capped, having: having, pool: pool)
    }

    private static func finish(_ head: WindowHead, into slot: inout WindowHead?, before: Int, capped: Int,
                               having: CompiledExpression<WindowView>, pool: WindowPool) -> Admitted {
        let view = WindowView(pool: pool, first: head.first, count: Int(head.count))
        guard having.test(view) else {
            slot = head
            return Admitted(before: before, after: Int(head.count), capped: capped, fired: nil)
        }
        var fired: [WindowPool.Node] = []
        fired.reserveCapacity(Int(head.count))
        view.forEach { fired.append($0) }
        let figures = (sum: view.sum, distinct: view.distinctCount)
        release(head, pool)
        slot = nil
        return Admitted(before: before, after: 0, capped: capped, fired: .init(entries: fired, sum: figures.sum, distinct: figures.distinct))
    }

    private static func release(_ head: WindowHead, _ pool: WindowPool) {
        var i = head.first
        for _ in 0..<head.count {
            let next = pool[i].next
            pool.free(i)
            i = next
        }
    }

    /// Drops the keys whose newest entry `expired` says has expired; returns how many keys and
    /// entries went.
    mutating func sweep(pool: WindowPool, expired: (borrowing WindowPool.Node) -> Bool) -> (keys: Int, entries: Int) {
        remove(heads.newest(in: pool, meeting: expired), pool: pool)
    }

    /// Drops the `excess` keys with the oldest newest events (ties by key text, so the choice
    /// does not depend on the ids).
    mutating func dropStalest(_ excess: Int, pool: WindowPool) -> (keys: Int, entries: Int) {
        let stalest = heads.all.map { (head: $0, ts: pool[$0.last].ts, text: pool.keys.texts($0.key)) }
            .sorted { $0.ts != $1.ts ? $0.ts < $1.ts : $0.text.lexicographicallyPrecedes($1.text) }
            .prefix(excess).map(\.head)
        return remove(Array(stalest), pool: pool)
    }

    /// Frees every entry and key (a rule dropped on reload).
    mutating func releaseAll(pool: WindowPool) {
        _ = remove(heads.all, pool: pool)
    }

    var entries: Int { heads.all.reduce(0) { $0 + Int($1.count) } }

    /// Lets the pool rewrite every head when it compacts.
    mutating func relink(_ body: (inout WindowHead) -> Void) { heads.forEach(body) }

    /// Moves every window to its key's new id (see ``WindowPool/rekey(_:_:)``).
    mutating func rekey(_ map: [Int32]) {
        var moved = WindowHeads()
        for head in heads.all { moved.set(map[Int(head.key)], head) }
        heads = moved
    }

    private mutating func remove(_ gone: [WindowHead], pool: WindowPool) -> (keys: Int, entries: Int) {
        var entries = 0
        for head in gone {
            entries += Int(head.count)
            Self.release(head, pool)
            heads.set(head.key, nil)
            pool.keys.release(head.key)
        }
        return (gone.count, entries)
    }
}
