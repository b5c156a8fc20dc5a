import Foundation
import Testing
import VigilCore
import VigilKafka
@testable import VigilPipeline

@Suite("Pipeline end to end on the embedded broker", .serialized, .timeLimit(.minutes(3)))
struct PipelineEndToEndTests {
    @Test("exactly the expected alerts, with deterministic ids and evidence offsets, and nothing else")
    func expectedAlerts() async throws {
        let h = try Harness()
        let lines = [
            txLine("s1", "2024-05-01T08:00:00Z", "9000", debtor: "ACC-S"),
            txLine("n1", "2024-05-01T08:30:00Z", "120.00", channel: "card", debtor: "ACC-N"),
            txLine("s2", "2024-05-01T12:00:00Z", "9500.50", debtor: "ACC-S"),
            txLine("big", "2024-05-01T13:00:00Z", "25000", debtor: "ACC-B"),
            txLine("w1", "2024-05-01T13:30:00Z", "25000", channel: "wire", debtor: "ACC-W"),
            txLine("s3", "2024-05-01T20:00:00Z", "8000", debtor: "ACC-S"),
            txLine("m1", "2024-05-02T09:00:00Z", "9100", debtor: "ACC-M"),
            txLine("m2", "2024-05-02T10:00:00Z", "9100", debtor: "ACC-M"),
        ]
        let reports = try await h.feed(lines)
        let stats = try await h.runPipeline(through: reports)
        #expect(stats.completed == lines.count)
        #expect(stats.alerts == 2)
        #expect(stats.deadLettered == 0)
        // Left in the windows: ACC-M's two deposits (ACC-S's three were consumed by its alert).
        #expect(stats.window.windowEntries == 2 && stats.window.windowKeys == 1)
        #expect(stats.window.droppedByEventCap == 0 && stats.window.droppedByKeyCap == 0)

        let alerts = try await h.alerts()
        #expect(alerts.count == 2)
        let ref = h.pipeline.ref
        let byRule = Dictionary(uniqueKeysWithValues: alerts.map { ($0.findings[0].id, $0) })
        let structuring = try #require(byRule["structuring-cash"])
        let large = try #require(byRule["large-cash"])

        #expect(structuring.id == Alert.deterministicID(pipeline: ref, findings: structuring.findings, eventIDs: ["s1", "s2", "s3"]))
        #expect(large.id == Alert.deterministicID(pipeline: ref, findings: large.findings, eventIDs: ["big"]))
        #expect(structuring.subject == Alert.Subject(field: "debtor.account", value: "ACC-S"))
        #expect(structuring.ts == EventTime(rfc3339: "2024-05-01T20:00:00Z"))
        // Evidence names the exact records the broker stored.
        for (alert, indices) in [(structuring, [0, 2, 5]), (large, [3])] {
            #expect(alert.evidence.map(\.eventId) == indices.map { ["s1", "n1", "s2", "big", "w1", "s3", "m1", "m2"][$0] })
            #expect(alert.evidence.map(\.offset) == indices.map { reports[$0].offset })
            #expect(alert.evidence.map(\.partition) == indices.map { reports[$0].partition })
            #expect(alert.evidence.allSatisfy { $0.topic == "fin.transactions" })
            #expect(alert.tlp == "TLP:AMBER" && alert.partner == "local" && alert.purpose == "aml-investigation")
        }
        // Every input offset was committed.
        let committed = try h.committed()
        for (tp, end) in try h.endOffsets() { #expect(committed[tp] == .some(end), "\(tp)") }
        #expect(try await h.readAll("fin.transactions.dlq").isEmpty)
    }

    @Test("messages ahead of an alert in their run are handled before the alert is acknowledged, the alert's only after it")
    func quietMessagesDoNotWaitForAnAlert() async throws {
        let h = try Harness(partitions: 1)
        let quiet = (0..<200).map { txLine("q\($0)", "2024-05-01T08:00:00Z", "120.00", channel: "card", debtor: "ACC-Q\($0)") }
        let lines = quiet + [txLine("big", "2024-05-01T13:00:00Z", "25000", debtor: "ACC-B")]
        // Published before the pipeline starts, so that its first fetch has them in one run.
        let reports = try await h.feed(lines)
        enum Event: Equatable { case handled(Int), alert }
        let log = Locked([Event]())
        let service = try PipelineService(pipeline: h.pipeline, config: h.config, bootstrap: h.broker.bootstrapServers, logger: testLogger,
                                          stopAt: Harness.ends(reports), onAlert: { _ in log.withLock { $0.append(.alert) } },
                                          onHandled: { stamps in log.withLock { $0.append(.handled(stamps.count)) } })
        try await service.run()
        let events = log.value
        let alertAt = try #require(events.firstIndex(of: .alert))
        func handled(_ part: ArraySlice<Event>) -> Int { part.reduce(0) { if case .handled(let n) = $1 { $0 + n } else { $0 } } }
        #expect(handled(events[..<alertAt]) == quiet.count)
        #expect(handled(events[alertAt...]) == 1)
        #expect(service.runner.stats.completed == lines.count)
        #expect(try h.committed()[TopicPartition(h.topics.transactions, 0)] == .some(Int64(lines.count)))
    }

    @Test("a malformed message goes to the dead-letter topic with its reason; the pipeline goes on and commits past it")
    func deadLetter() async throws {
        let h = try Harness(partitions: 1)
        let bad = #"{"id":"bad-1","ts":"2024-05-01T09:00:00Z","amount":"12,5OO","currency":"USD","channel":"cash","debtor":{"account":"ACC-X"},"creditor":{"account":"ACC-Y"}}"#
        let lines = [txLine("a", "2024-05-01T08:00:00Z", "11000", debtor: "ACC-A"), bad, "not json at all",
                     txLine("b", "2024-05-01T10:00:00Z", "12000", debtor: "ACC-A")]
        let reports = try await h.feed(lines)

        let service = try h.service()
        let running = Task { try await service.run() }
        // While it runs: the offset after the last message gets committed.
        let deadline = ContinuousClock.now + .seconds(60)
        let tp = TopicPartition("fin.transactions", 0)
        while ContinuousClock.now < deadline {
            if let c = try h.committed()[tp], c == reports.last!.offset + 1 { break }
            try await Task.sleep(for: .milliseconds(200))
        }
        #expect(try h.committed()[tp] == .some(reports.last!.offset + 1))
        service.runner.stop()
        try await running.value

        #expect(service.runner.stats.alerts == 2)
        let dlq = try await h.readAll("fin.transactions.dlq")
        #expect(dlq.count == 2)
        #expect(dlq[0].value == Array(bad.utf8))
        #expect(dlq[0].key == Array("ACC-X".utf8))
        #expect(dlq[0].headers.first(named: VigilHeaders.error) == "field 'amount': '12,5OO' is not a decimal amount")
        #expect(dlq[0].headers.first(named: VigilHeaders.errorField) == "amount")
        #expect(dlq[0].headers.first(named: VigilHeaders.sourceTopic) == "fin.transactions")
        #expect(dlq[0].headers.first(named: VigilHeaders.sourcePartition) == "0")
        #expect(dlq[0].headers.first(named: VigilHeaders.sourceOffset) == String(reports[1].offset))
        #expect(dlq[1].headers.first(named: VigilHeaders.error) == "not valid JSON")
        #expect(dlq[1].headers.first(named: VigilHeaders.sourceOffset) == String(reports[2].offset))
        #expect(dlq[1].key == nil)
    }

    @Test("stop and restart in the same group: no event skipped, none handled twice, no alert under a new id")
    func restart() async throws {
        let h = try Harness()
        let first = (0..<40).map { i in txLine("a\(i)", "2024-05-01T0\(i % 10):00:00Z", i % 4 == 0 ? "15000" : "50", debtor: "ACC-\(i % 6)") }
        let second = (0..<40).map { i in txLine("b\(i)", "2024-05-02T0\(i % 10):00:00Z", i % 4 == 0 ? "15000" : "50", debtor: "ACC-\(i % 6)") }
        let firstReports = try await h.feed(first)
        let run1 = try await h.runPipeline(through: firstReports)
        #expect(run1.completed == first.count)
        let secondReports = try await h.feed(second)
        let run2 = try await h.runPipeline(through: secondReports)
        // The second run handled exactly the new events: nothing skipped, nothing read again.
        #expect(run2.completed == second.count)
        #expect(run1.alerts == 10 && run2.alerts == 10)

        let alerts = try await h.alerts()
        #expect(alerts.count == 20)
        #expect(Set(alerts.map(\.id)).count == 20)
        let evidence = alerts.flatMap { $0.evidence.map(\.eventId) }
        #expect(Set(evidence) == Set((0..<10).flatMap { ["a\($0 * 4)", "b\($0 * 4)"] }))
        let committed = try h.committed()
        for (tp, end) in try h.endOffsets() { #expect(committed[tp] == .some(end), "\(tp)") }
    }

    @Test("a window that spans a restart still fires: state is rebuilt from the recent past without republishing it")
    func windowAcrossRestart() async throws {
        let h = try Harness(partitions: 2)
        let first = [txLine("w1", "2024-05-01T08:00:00Z", "9000", debtor: "ACC-W"), txLine("w2", "2024-05-01T09:00:00Z", "9100", debtor: "ACC-W"),
                     txLine("L1", "2024-05-01T09:30:00Z", "30000", debtor: "ACC-L")]
        let run1 = try await h.runPipeline(through: try await h.feed(first))
        #expect(run1.alerts == 1)  // the large cash deposit; the window holds two deposits
        let second = [txLine("w3", "2024-05-01T10:00:00Z", "9200", debtor: "ACC-W")]
        let run2 = try await h.runPipeline(through: try await h.feed(second))
        #expect(run2.completed == 1)
        // Every partition was re-read up to its committed offset (all records are recent), and
        // nothing from that re-read was published again.
        #expect(run2.stateReplayed == first.count)
        #expect(run2.alerts == 1)
        let alerts = try await h.alerts()
        #expect(alerts.count == 2)
        let structuring = try #require(alerts.first { $0.findings[0].id == "structuring-cash" })
        #expect(structuring.evidence.map(\.eventId) == ["w1", "w2", "w3"])
        #expect(structuring.id == Alert.deterministicID(pipeline: h.pipeline.ref, findings: structuring.findings, eventIDs: ["w1", "w2", "w3"]))
    }

    @Test("the broker down for a few seconds mid-run: the pipeline resumes by itself and loses nothing")
    func brokerOutage() async throws {
        let h = try Harness(partitions: 2)
        let before = (0..<30).map { i in txLine("p\(i)", "2024-05-01T10:00:00Z", i % 3 == 0 ? "20000" : "10", debtor: "ACC-\(i % 5)") }
        let after = (0..<30).map { i in txLine("q\(i)", "2024-05-01T11:00:00Z", i % 3 == 0 ? "20000" : "10", debtor: "ACC-\(i % 5)") }
        _ = try await h.feed(before)
        let service = try h.service()
        let running = Task { try await service.run() }
        let deadline = ContinuousClock.now + .seconds(60)
        while service.runner.stats.completed < before.count, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(100))
        }
        try h.broker.setBrokerDown(1)
        let feeding = Task { try await h.feed(after) }
        try await Task.sleep(for: .seconds(3))
        try h.broker.setBrokerUp(1)
        let reports = try await feeding.value
        #expect(reports.count == after.count)
        // Everything gets committed once the broker is back, without any restart.
        #expect(try await h.waitUntilCommittedToEnd())
        service.runner.stop()
        try await running.value
        // At-least-once: an outage may make the group redeliver what was not yet committed.
        #expect(service.runner.stats.completed >= 60)
        try await expectEveryEventAlertedOnce(h, Set((0..<10).flatMap { ["p\($0 * 3)", "q\($0 * 3)"] }))
    }

    @Test("injected request errors on produce, fetch and offset commit: served, retried, nothing lost, everything committed")
    func requestErrors() async throws {
        let h = try Harness(partitions: 2)
        let lines = (0..<40).map { i in txLine("e\(i)", "2024-05-05T10:00:00Z", i % 4 == 0 ? "20000" : "10", debtor: "ACC-\(i % 6)") }
        _ = try await h.feed(lines)
        // Retriable errors, as a broker under leader elections and coordinator moves gives them.
        try h.broker.pushRequestErrors(broker: 1, .produce, [6, 7, 5, 19])       // not leader, timed out, leader n/a, not enough replicas
        try h.broker.pushRequestErrors(broker: 1, .fetch, [6, 7])                // not leader, timed out
        try h.broker.pushRequestErrors(broker: 1, .offsetCommit, [14, 7, 16])    // coordinator loading, timed out, not coordinator
        let service = try h.service()
        let running = Task { try await service.run() }
        #expect(try await h.waitUntilCommittedToEnd())
        // Every injected error was served: the pipeline really went through them.
        for api in [EmbeddedBroker.APIKey.produce, .fetch, .offsetCommit] {
            #expect(try h.broker.pendingRequestErrors(broker: 1, api) == 0, "\(api)")
        }
        service.runner.stop()
        try await running.value
        try await expectEveryEventAlertedOnce(h, Set((0..<10).map { "e\($0 * 4)" }))
    }

    @Test("a slow broker (150 ms per answer): slower, and nothing lost")
    func slowBroker() async throws {
        let h = try Harness(partitions: 2)
        let lines = (0..<30).map { i in txLine("r\(i)", "2024-05-06T10:00:00Z", i % 3 == 0 ? "20000" : "10", debtor: "ACC-\(i % 5)") }
        let reports = try await h.feed(lines)
        try h.broker.setRoundTrip(.milliseconds(150))
        let stats = try await h.runPipeline(through: reports)
        try h.broker.setRoundTrip(.zero)
        #expect(stats.completed >= lines.count)
        try await expectEveryEventAlertedOnce(h, Set((0..<10).map { "r\($0 * 3)" }))
    }

    @Test("a second instance joins, then leaves: partitions move both ways, every event handled, offsets committed, duplicates share ids")
    func scaleOut() async throws {
        let h = try Harness(partitions: 4)
        func batch(_ p: String) -> [String] {
            (0..<40).map { i in txLine("\(p)\(i)", "2024-05-03T10:00:00Z", i % 4 == 0 ? "15000" : "75", debtor: "ACC-\(i % 8)") }
        }
        _ = try await h.feed(batch("x"))
        let a = try h.service()
        let runningA = Task { try await a.run() }
        let deadline = ContinuousClock.now + .seconds(90)
        while a.runner.stats.completed < 40, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(100)) }
        #expect(a.runner.stats.completed == 40)

        let b = try h.service()
        let runningB = Task { try await b.run() }
        while (b.source.assignment.isEmpty || a.source.assignment.count == 4), ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(a.source.assignment.count + b.source.assignment.count == 4)
        #expect(Set(a.source.assignment).isDisjoint(with: b.source.assignment))
        _ = try await h.feed(batch("y"))
        #expect(try await h.waitUntilCommittedToEnd())
        // Both did part of the second batch.
        #expect(b.runner.stats.completed > 0)
        // The second instance leaves: the first takes every partition back and handles the third batch.
        b.runner.stop()
        try await runningB.value
        while a.source.assignment.count < 4, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(100)) }
        #expect(a.source.assignment.count == 4)
        let before = a.runner.stats.completed
        _ = try await h.feed(batch("z"))
        #expect(try await h.waitUntilCommittedToEnd())
        #expect(a.runner.stats.completed >= before + 40)
        a.runner.stop()
        try await runningA.value
        try await expectEveryEventAlertedOnce(h, Set((0..<10).flatMap { ["x\($0 * 4)", "y\($0 * 4)", "z\($0 * 4)"] }))
    }

    @Test("a structuring pattern whose deposits straddle a rebalance fires exactly once")
    func windowAcrossRebalance() async throws {
        let h = try Harness(partitions: 4)
        _ = try await h.feed([txLine("r1", "2024-05-04T08:00:00Z", "9000", debtor: "ACC-R"), txLine("r2", "2024-05-04T09:00:00Z", "9100", debtor: "ACC-R")])
        let a = try h.service()
        let runningA = Task { try await a.run() }
        #expect(try await h.waitUntilCommittedToEnd())
        let b = try h.service()
        let runningB = Task { try await b.run() }
        let deadline = ContinuousClock.now + .seconds(60)
        while (b.source.assignment.isEmpty || a.source.assignment.count == 4), ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(100))
        }
        _ = try await h.feed([txLine("r3", "2024-05-04T10:00:00Z", "9200", debtor: "ACC-R")])
        #expect(try await h.waitUntilCommittedToEnd())
        a.runner.stop()
        b.runner.stop()
        try await runningA.value
        try await runningB.value
        let structuring = try await h.alerts().filter { $0.findings[0].id == "structuring-cash" }
        #expect(structuring.count == 1)
        #expect(structuring.first?.evidence.map(\.eventId) == ["r1", "r2", "r3"])
    }

    /// Every expected event has an alert; an event alerted more than once (redelivery) always
    /// has the same alert id, so a consumer keeping ids drops the copies.
    func expectEveryEventAlertedOnce(_ h: Harness, _ expected: Set<String>) async throws {
        var idOfEvent: [String: String] = [:]
        for alert in try await h.alerts() {
            let event = alert.evidence[0].eventId
            if let id = idOfEvent[event] { #expect(id == alert.id) } else { idOfEvent[event] = alert.id }
        }
        #expect(Set(idOfEvent.keys) == expected)
        let committed = try h.committed()
        for (tp, end) in try h.endOffsets() { #expect(committed[tp] == .some(end), "\(tp)") }
    }
}
