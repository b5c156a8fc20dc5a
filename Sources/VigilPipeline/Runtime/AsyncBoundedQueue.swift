import Synchronization

/// A bounded FIFO between async tasks (one receiver): `send` suspends while the queue is full,
/// which is how a slow worker slows the dispatcher down instead of letting memory grow.
final class AsyncBoundedQueue<Element: Sendable>: Sendable {
    private struct State {
        var buffer: [Element] = []
        var head = 0
        var receiver: CheckedContinuation<Element?, Never>?
        var senders: [(Element, CheckedContinuation<Void, Never>)] = []
        var finished = false
        var count: Int { buffer.count - head }
    }
    private let state = Mutex(State())
    private let capacity: Int
    private enum SendAction { case resumeReceiver(CheckedContinuation<Element?, Never>), done, wait }

    init(capacity: Int) {
        precondition(capacity > 0)
        self.capacity = capacity
    }

    /// Enqueues, waiting for room. Elements sent after ``finish()`` are dropped.
    func send(_ element: Element) async {
        let action = state.withLock { s -> SendAction in
            if s.finished { return .done }
            if let r = s.receiver {
                s.receiver = nil
                return .resumeReceiver(r)
            }
            if s.count < capacity {
                s.buffer.append(element)
                return .done
            }
            return .wait
        }
        switch action {
        case .resumeReceiver(let r): r.resume(returning: element)
        case .done: return
        case .wait:
            await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLock { s -> Bool in
                    if s.finished { return true }
                    if s.count < capacity {
                        s.buffer.append(element)
                        return true
                    }
                    s.senders.append((element, c))
                    return false
                }
                if resumeNow { c.resume() }
            }
        }
    }

    /// The next element; `nil` once finished and empty.
    func receive() async -> Element? {
        await withCheckedContinuation { (c: CheckedContinuation<Element?, Never>) in
            let (element, wakeSender): (Element??, CheckedContinuation<Void, Never>?) = state.withLock { s in
                if s.count > 0 {
                    let e = s.buffer[s.head]
                    s.head += 1
                    if s.head > 32 && s.head * 2 > s.buffer.count {
                        s.buffer.removeFirst(s.head)
                        s.head = 0
                    }
                    var wake: CheckedContinuation<Void, Never>?
                    if !s.senders.isEmpty {
                        let (pending, cont) = s.senders.removeFirst()
                        s.buffer.append(pending)
                        wake = cont
                    }
                    return (.some(e), wake)
                }
                if s.finished { return (.some(nil), nil) }
                s.receiver = c
                return (nil, nil)
            }
            wakeSender?.resume()
            if let element { c.resume(returning: element) }
        }
    }

    /// No more elements: buffered ones are still received, then `nil`.
    func finish() {
        let (receiver, senders) = state.withLock { s -> (CheckedContinuation<Element?, Never>?, [CheckedContinuation<Void, Never>]) in
            s.finished = true
            let r = s.count == 0 ? s.receiver : nil
            if r != nil { s.receiver = nil }
            // Elements of blocked senders are kept: they were accepted before the finish.
            for (e, _) in s.senders { s.buffer.append(e) }
            let waiting = s.senders.map(\.1)
            s.senders = []
            return (r, waiting)
        }
        receiver?.resume(returning: nil)
        senders.forEach { $0.resume() }
    }
}
