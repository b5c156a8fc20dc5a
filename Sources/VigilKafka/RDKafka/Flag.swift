import Synchronization

/// A boolean shared between a librdkafka poll thread and Swift code (e.g. "keep polling").
final class Flag: Sendable {
    private let storage: Atomic<Bool>
    init(_ initial: Bool) { storage = Atomic(initial) }
    var value: Bool {
        get { storage.load(ordering: .acquiring) }
    }
    func set(_ newValue: Bool) { storage.store(newValue, ordering: .releasing) }
}

/// An `rd_kafka_t` (or `rd_kafka_topic_t`) pointer. librdkafka documents its handles as
/// thread-safe, so the pointer may cross threads; its lifetime is managed by the owning client
/// class.
struct RDHandle: @unchecked Sendable {
    let pointer: OpaquePointer
}
