import Synchronization
import VigilKafka

/// At-least-once bookkeeping: an input offset is released for commit only when the effects of
/// that message *and of every earlier message of its partition* are acknowledged.
///
/// Workers register contiguous runs of messages (``begin(_:lastOffset:count:generation:)``) in
/// offset order per partition; acknowledgements may arrive in any order. Registrations from an
/// older assignment generation are refused and their late completions ignored: after a rebalance
/// those messages are re-read from the last commit by whoever owns the partition.
final class OffsetTracker: Sendable {
    struct Ticket: Sendable, Hashable {
        let partition: TopicPartition
        let id: UInt64
        let generation: Int
    }

    private struct Pending {
        var id: UInt64
        var lastOffset: Int64
        var count: Int
        var done = false
    }

    private struct State {
        var generation = 0
        var assigned = false
        var partitions: [TopicPartition: [Pending]] = [:]
        var nextID: UInt64 = 0
        var inFlight = 0
        var completedMessages = 0
        var failure: (any Error)?
        var idleWaiters: [UInt64: CheckedContinuation<Void, Never>] = [:]
        var nextWaiter: UInt64 = 0
    }

    private let state = Mutex(State())
    private let store: @Sendable ([TopicPartition: Int64]) -> Void

    /// - Parameter store: called with the next offset to read per partition, whenever it advances.
    init(store: @escaping @Sendable ([TopicPartition: Int64]) -> Void) {
        self.store = store
    }

    /// A new assignment, or its loss (`nil`): everything registered before is forgotten, and
    /// until the next assignment nothing can be registered. Generations only move forward: a
    /// report older than the one in force is ignored, so start-up can announce the source's
    /// current generation without racing its first rebalance.
    func reset(generation: Int?) {
        let waiters = state.withLock { s -> [CheckedContinuation<Void, Never>] in
            if let g = generation {
                guard g > s.generation || (g == s.generation && !s.assigned) else { return [] }
                s.generation = g
                s.assigned = true
            } else {
                s.assigned = false
            }
            s.partitions = [:]
            s.inFlight = 0
            let w = Array(s.idleWaiters.values)
            s.idleWaiters = [:]
            return w
        }
        waiters.forEach { $0.resume() }
    }

    /// Registers a run of messages of one partition ending at `lastOffset`; `nil` if the run
    /// belongs to an older generation (skip it).
    func begin(_ partition: TopicPartition, lastOffset: Int64, count: Int, generation: Int) -> Ticket? {
        state.withLock { s -> Ticket? in
            guard s.assigned, generation == s.generation, s.failure == nil else { return nil }
            s.nextID += 1
            s.partitions[partition, default: []].append(Pending(id: s.nextID, lastOffset: lastOffset, count: count))
            s.inFlight += 1
            return Ticket(partition: partition, id: s.nextID, generation: generation)
        }
    }

    /// The run's effects are acknowledged.
    func complete(_ ticket: Ticket) {
        let (release, waiters) = state.withLock { s -> (Int64?, [CheckedContinuation<Void, Never>]) in
            guard s.assigned, ticket.generation == s.generation, var queue = s.partitions[ticket.partition],
                  let i = queue.firstIndex(where: { $0.id == ticket.id }) else { return (nil, []) }
            queue[i].done = true
            s.inFlight -= 1
            let released = Self.release(&queue, &s)
            s.partitions[ticket.partition] = queue
            var waiters: [CheckedContinuation<Void, Never>] = []
            if s.inFlight == 0 {
                waiters = Array(s.idleWaiters.values)
                s.idleWaiters = [:]
            }
            return (released, waiters)
        }
        if let release { store([ticket.partition: release]) }
        waiters.forEach { $0.resume() }
    }

    /// The run's first `count` messages, through `lastOffset`, caused nothing to wait for: they
    /// are released as soon as every run before them is, without waiting for the rest of the run
    /// (whose ticket stays in force for its other messages). A run whose first output comes late
    /// in it then holds back only the messages from that output on — on a restart fewer are
    /// read again, and the offsets of quiet messages do not wait for an alert's acknowledgement.
    func completeLeading(_ ticket: Ticket, count: Int, lastOffset: Int64) {
        guard count > 0 else { return }
        let release = state.withLock { s -> Int64? in
            guard s.assigned, ticket.generation == s.generation, var queue = s.partitions[ticket.partition],
                  let i = queue.firstIndex(where: { $0.id == ticket.id }), !queue[i].done, queue[i].count > count else { return nil }
            s.nextID += 1
            queue[i].count -= count
            queue.insert(Pending(id: s.nextID, lastOffset: lastOffset, count: count, done: true), at: i)
            let released = Self.release(&queue, &s)
            s.partitions[ticket.partition] = queue
            return released
        }
        if let release { store([ticket.partition: release]) }
    }

    /// Takes the done runs off the front of a partition's queue; the next offset to read after
    /// them, if any were.
    private static func release(_ queue: inout [Pending], _ s: inout State) -> Int64? {
        var released: Int64?
        while let first = queue.first, first.done {
            released = first.lastOffset + 1
            s.completedMessages += first.count
            queue.removeFirst()
        }
        return released
    }

    /// The run's effects could not be acknowledged: its partition's offsets never move past it,
    /// so the messages are read again after a restart. The first failure is kept.
    func fail(_ ticket: Ticket, _ error: any Error) {
        let waiters = state.withLock { s -> [CheckedContinuation<Void, Never>] in
            if s.failure == nil { s.failure = error }
            guard s.assigned, ticket.generation == s.generation else { return [] }
            s.inFlight -= 1
            guard s.inFlight == 0 else { return [] }
            let w = Array(s.idleWaiters.values)
            s.idleWaiters = [:]
            return w
        }
        waiters.forEach { $0.resume() }
    }

    var failure: (any Error)? { state.withLock { $0.failure } }
    var inFlight: Int { state.withLock { $0.inFlight } }
    var completedMessages: Int { state.withLock { $0.completedMessages } }

    /// Waits until nothing registered is waiting for an acknowledgement, or the timeout passes.
    /// - Returns: whether everything was acknowledged.
    @discardableResult
    func waitUntilIdle(timeout: Duration) async -> Bool {
        await withTaskGroup(of: Bool.self) { group in
            group.addTask { await self.waitUntilIdle(); return true }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return false
            }
            let first = await group.next()!
            group.cancelAll()
            return first || inFlight == 0
        }
    }

    /// Waits until nothing registered is waiting for an acknowledgement (or the task is cancelled).
    func waitUntilIdle() async {
        let id = state.withLock { s -> UInt64 in
            s.nextWaiter += 1
            return s.nextWaiter
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                let now = state.withLock { s -> Bool in
                    if s.inFlight == 0 || Task.isCancelled { return true }
                    s.idleWaiters[id] = c
                    return false
                }
                if now { c.resume() }
            }
        } onCancel: {
            state.withLock { $0.idleWaiters.removeValue(forKey: id) }?.resume()
        }
    }
}
