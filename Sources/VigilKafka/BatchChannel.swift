import Foundation

/// A bounded hand-off from a blocking producer thread (the librdkafka poll thread) to one async
/// consumer. When full, ``send(_:)`` blocks the thread: that is the back-pressure that keeps
/// memory bounded, since a thread that does not poll makes librdkafka stop fetching once its own
/// prefetch queue (`queued.max.messages.kbytes`) is full.
final class BatchChannel<Element: Sendable>: @unchecked Sendable {
    // Everything below is guarded by `condition`.
    private let condition = NSCondition()
    private var buffer: [Element] = []
    private var head = 0
    private var waiter: CheckedContinuation<Element?, Never>?
    private var finished = false
    private let capacity: Int

    init(capacity: Int) {
        precondition(capacity > 0)
        self.capacity = capacity
    }

    private var count: Int { buffer.count - head }

    /// Hands over an element, blocking while the buffer is full. Returns false once finished.
    @discardableResult
    func send(_ element: Element) -> Bool {
        condition.lock()
        while count >= capacity && !finished {
            condition.wait()
        }
        if finished {
            condition.unlock()
            return false
        }
        if let waiter {
            self.waiter = nil
            condition.unlock()
            waiter.resume(returning: element)
            return true
        }
        buffer.append(element)
        condition.unlock()
        return true
    }

    /// The next element, waiting if none is buffered; `nil` once finished and drained, or when the
    /// waiting task is cancelled (the element stays buffered for the next call).
    func receive() async -> Element? {
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                condition.lock()
                if count > 0 {
                    let element = buffer[head]
                    head += 1
                    if head > 64 && head * 2 > buffer.count {
                        buffer.removeFirst(head)
                        head = 0
                    }
                    condition.signal()
                    condition.unlock()
                    continuation.resume(returning: element)
                } else if finished || Task.isCancelled {
                    condition.unlock()
                    continuation.resume(returning: nil)
                } else {
                    precondition(waiter == nil, "BatchChannel has a single consumer")
                    waiter = continuation
                    condition.unlock()
                }
            }
        } onCancel: {
            condition.lock()
            let waiter = self.waiter
            self.waiter = nil
            condition.unlock()
            waiter?.resume(returning: nil)
        }
    }

    /// No more elements will be sent; buffered ones are still delivered. Wakes a blocked sender.
    func finish() {
        condition.lock()
        finished = true
        let waiter = count == 0 ? self.waiter : nil
        if waiter != nil { self.waiter = nil }
        condition.broadcast()
        condition.unlock()
        waiter?.resume(returning: nil)
    }
}
