import Testing
import VigilCore
import VigilDetect
import VigilKafka
@testable import VigilPipeline

@Suite("Offset tracking")
struct OffsetTrackerTests {
    /// A tracker whose releases are recorded, assigned in generation 1.
    private func tracker() -> (OffsetTracker, Locked<[Int64]>) {
        let stored = Locked([Int64]())
        let tracker = OffsetTracker { released in stored.withLock { $0.append(contentsOf: released.values) } }
        tracker.reset(generation: 1)
        return (tracker, stored)
    }

    private let p0 = TopicPartition("fin.transactions", 0)

    @Test("a run's quiet first messages are released before its output is acknowledged, the rest after it")
    func quietPrefixReleasedAtOnce() throws {
        let (tracker, stored) = tracker()
        // Offsets 0…9; the first output comes from offset 4.
        let run = try #require(tracker.begin(p0, lastOffset: 9, count: 10, generation: 1))
        tracker.completeLeading(run, count: 4, lastOffset: 3)
        #expect(stored.value == [4])
        #expect(tracker.completedMessages == 4)
        #expect(tracker.inFlight == 1)
        tracker.complete(run)
        #expect(stored.value == [4, 10])
        #expect(tracker.completedMessages == 10)
        #expect(tracker.inFlight == 0)
    }

    @Test("a later run's quiet messages wait for every earlier run: offsets never pass unacknowledged output")
    func quietPrefixWaitsForEarlierRuns() throws {
        let (tracker, stored) = tracker()
        let first = try #require(tracker.begin(p0, lastOffset: 9, count: 10, generation: 1))
        let second = try #require(tracker.begin(p0, lastOffset: 19, count: 10, generation: 1))
        tracker.completeLeading(second, count: 5, lastOffset: 14)
        #expect(stored.value.isEmpty)
        tracker.complete(first)
        #expect(stored.value == [15])
        tracker.complete(second)
        #expect(stored.value == [15, 20])
        #expect(tracker.completedMessages == 20)
    }

    @Test("after a reassignment, a run of the old assignment releases nothing")
    func staleRunReleasesNothing() throws {
        let (tracker, stored) = tracker()
        let run = try #require(tracker.begin(p0, lastOffset: 9, count: 10, generation: 1))
        tracker.reset(generation: 2)
        tracker.completeLeading(run, count: 4, lastOffset: 3)
        tracker.complete(run)
        #expect(stored.value.isEmpty)
        #expect(tracker.completedMessages == 0)
    }

    @Test("detection says how many of a run's first messages caused nothing")
    func engineCountsTheQuietPrefix() throws {
        let pipeline = try PipelineDefinition.parse("""
            pipeline: { name: quiet, version: "1" }
            rules:
              - { id: big, version: 1, kind: predicate, where: amount >= 10000 }
            """, file: "quiet.yaml")
        let engine = PipelineEngine(pipeline: pipeline, topics: pipeline.topics(from: VigilConfig()), limits: WindowLimits())
        func detect(_ lines: [String]) -> (quiet: Int, outputs: Int) {
            let messages = lines.enumerated().map { n, line in
                ConsumedMessage(topic: "fin.transactions", partition: 0, offset: Int64(100 + n), value: Array(line.utf8))
            }
            let decoded = messages.map { engine.decoding.decode($0) }
            var quiet = -1
            let outputs = engine.detect(messages[...], decoded: decoded[...], scored: nil, quietPrefix: &quiet)
            return (quiet, outputs.count)
        }
        let small = { (n: Int) in txLine("tx-q\(n)", "2024-03-01T10:00:0\(n)Z", "50.00", debtor: "ACC-Q\(n)") }
        let big = txLine("tx-big", "2024-03-01T10:00:05Z", "25000.00", debtor: "ACC-B")
        #expect(detect([small(1), small(2), big, small(3)]) == (quiet: 2, outputs: 1))
        // A message that cannot be decoded causes output too: its dead letter.
        #expect(detect([small(4), "{not json", small(5)]) == (quiet: 1, outputs: 1))
        #expect(detect([big, small(6)]) == (quiet: 0, outputs: 1))
        #expect(detect([small(7), small(8)]) == (quiet: 2, outputs: 0))
    }
}
