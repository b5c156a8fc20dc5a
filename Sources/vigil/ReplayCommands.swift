import ArgumentParser
import Foundation
import Logging
import VigilCore
import VigilKafka
import VigilPipeline
import VigilReplay

struct ReplayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Run a recording (or canonical JSON lines) through a pipeline, exactly as live.",
        discussion: """
            The same decoding, detection and alert envelopes as `vigil run`, with no broker needed: alerts are \
            printed one JSON line each (--stdout, the default) or published (--brokers). Two replays of the same \
            file and pipeline print byte-identical alerts. With --expect, the alerts are compared with a golden \
            file; differences are listed and the exit status is 1. A truncated or corrupted recording is \
            replayed up to its last good record, then the command says where it stopped and exits 1.
            """
    )

    @Argument(help: ArgumentHelp("A recording (vigil record) or a file of canonical JSON lines.", valueName: "file"))
    var file: String

    @Option(name: .long, help: ArgumentHelp("Pipeline file (YAML).", valueName: "file"))
    var pipeline: String = "pipelines/default.yaml"

    @Option(name: .long, help: ArgumentHelp("max, realtime, or xN (N times the recorded pace).", valueName: "speed"))
    var speed: String = "max"

    @Option(name: .long, help: ArgumentHelp("For JSON lines: the input topic they stand for. Default: the configured transactions topic.", valueName: "topic"))
    var topic: String?

    @Flag(name: .long, help: "Print alerts to standard output (the default without --brokers).")
    var stdout = false

    @Option(name: .long, help: ArgumentHelp("Golden alerts (JSON lines) to compare with.", valueName: "file"))
    var expect: String?

    @Option(name: .long, help: ArgumentHelp("Print (or compare) this partner's copies instead of the unit's own alerts; copies held for it are reported on standard error.", valueName: "name"))
    var partner: String?

    @OptionGroup var kafka: BrokerOptions
    @OptionGroup var common: CommonOptions

    func validate() throws {
        if ReplaySpeed(speed) == nil { throw ValidationError("--speed '\(speed)' is not max, realtime or xN (e.g. x10)") }
        if stdout, kafka.brokers != nil { throw ValidationError("--stdout and --brokers exclude each other") }
    }

    func run() async throws {
        try await Self.reporting { try await execute() }
    }

    private func execute() async throws {
        do {
            var common = common
            if common.logLevel == "info" { common.logLevel = "warning" }  // keep replays quiet unless asked
            let logger = try common.makeLogger("vigil.replay")
            let config = try common.loadConfig()
            let definition = try fail(PipelineDefinition.load(file: pipeline))
            let topics = definition.topics(from: config)
            let input = try fail(ReplayInput.detect(path: file, topic: topic ?? topics.transactions))
            var printed = topics.alerts
            if let partner {
                guard let p = definition.partners.first(where: { $0.name == partner }) else {
                    throw CLIError("--partner: \(pipeline) declares no partner '\(partner)' (partners: \(definition.partners.map(\.name).joined(separator: ", ")))")
                }
                printed = p.topic
            }
            let golden: [String]?
            if let expect {
                guard let data = FileManager.default.contents(atPath: expect) else { throw CLIError("cannot read the golden file '\(expect)': \(FileProblem.reason(expect))") }
                golden = String(decoding: data, as: UTF8.self).split(separator: "\n").map(String.init)
            } else {
                golden = nil
            }

            let out = LineWriter()
            let comparing = golden != nil
            let collected = Locked([String]())
            let deadLetters = Locked(0)
            let sink: any RecordSink
            var kafkaSink: KafkaSink?
            if let brokers = kafka.brokers {
                TopicSetup.ensure(topics, config: config, bootstrap: brokers, logger: logger)
                let s = try fail(KafkaSink(config: KafkaProducerConfig(client: config.clientConfig(bootstrap: brokers)), logger: logger))
                kafkaSink = s
                sink = s
            } else {
                sink = CallbackSink { [partner, printed] record in
                    let header = { (name: String) in record.headers.first(named: name) ?? "?" }
                    if record.topic == topics.deadLetter {
                        deadLetters.withLock { $0 += 1 }
                        let at = "\(header(VigilHeaders.sourceTopic))[\(header(VigilHeaders.sourcePartition))]@\(header(VigilHeaders.sourceOffset))"
                        FileHandle.standardError.write(Data("dead letter: \(at): \(header(VigilHeaders.error))\n".utf8))
                        return
                    }
                    if record.topic == topics.held, partner == nil || partner == header(VigilHeaders.heldPartner) {
                        FileHandle.standardError.write(Data("held for \(header(VigilHeaders.heldPartner)): alert \(header(VigilHeaders.alertID)): \(header(VigilHeaders.heldReason))\n".utf8))
                        return
                    }
                    guard record.topic == printed else { return }
                    let line = String(decoding: record.value, as: UTF8.self)
                    if comparing {
                        collected.withLock { $0.append(line) }
                    } else {
                        out.write(line)
                    }
                }
            }
            defer { kafkaSink?.close() }
            // Published to Kafka: collect acknowledged alerts for the golden comparison.
            var onAlert: (@Sendable (Alert) -> Void)?
            if kafkaSink != nil, golden != nil, partner == nil {
                onAlert = { alert in
                    let bytes = alert.canonicalJSON
                    let line = String(decoding: bytes, as: UTF8.self)
                    collected.withLock { $0.append(line) }
                }
            }
            let result = try await Replay.run(input: input, pipeline: definition, config: config, speed: ReplaySpeed(speed)!,
                                              sink: sink, logger: logger, onAlert: onAlert)
            FileHandle.standardError.write(Data(
                "vigil replay: \(result.messagesRead) messages replayed: \(result.stats.alerts) alerts, \(result.stats.deadLettered) dead-lettered, \(result.stats.shared) partner copies, \(result.stats.held) held\n".utf8))
            if let golden {
                let differences = GoldenAlerts.differences(expected: golden, actual: collected.value)
                if !differences.isEmpty {
                    for d in differences { FileHandle.standardError.write(Data("\(d)\n".utf8)) }
                    throw CLIError("\(differences.count) differences from \(expect!)")
                }
                FileHandle.standardError.write(Data("vigil replay: alerts match \(expect!)\n".utf8))
            }
            if let stopped = result.stoppedEarly {
                throw CLIError("stopped early: \(stopped)")
            }
        }
    }
}

struct RecordCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "record",
        abstract: "Record Kafka topics into a file for replay (topic, partition, offset, timestamp, key, headers, value).",
        discussion: """
            Reads partitions directly, without joining a consumer group or committing anything. Without --until \
            or --count it records until SIGINT/SIGTERM. The file is written in checksummed, compressed blocks: a \
            crash leaves every complete block readable, and --append continues after the last good one.
            """
    )

    @Option(name: .long, help: ArgumentHelp("Comma-separated topics.", valueName: "t1,t2"))
    var topics: String

    @Flag(name: .long, help: "Start with the oldest retained records (default: only new ones).")
    var fromBeginning = false

    @Option(name: .long, help: ArgumentHelp("Start with records timestamped at or after this RFC 3339 time.", valueName: "time"))
    var since: String?

    @Option(name: .long, help: ArgumentHelp("Leave out records at or after this RFC 3339 time and stop there.", valueName: "time"))
    var until: String?

    @Option(name: .long, help: ArgumentHelp("Stop after this many records.", valueName: "n"))
    var count: Int?

    @Option(name: .long, help: ArgumentHelp("The recording file.", valueName: "file"))
    var out: String

    @Flag(name: .long, help: "Continue an existing recording instead of replacing it.")
    var append = false

    @OptionGroup var kafka: BrokerOptions
    @OptionGroup var common: CommonOptions

    func validate() throws {
        if fromBeginning, since != nil { throw ValidationError("--from-beginning and --since exclude each other") }
        if let since, EventTime(rfc3339: since) == nil { throw ValidationError("--since '\(since)' is not an RFC 3339 time, e.g. 2024-03-01T00:00:00Z") }
        if let until, EventTime(rfc3339: until) == nil { throw ValidationError("--until '\(until)' is not an RFC 3339 time, e.g. 2024-03-01T00:00:00Z") }
        if let count, count <= 0 { throw ValidationError("--count must be positive, got \(count)") }
    }

    func run() async throws {
        try await Self.reporting {
            let logger = try common.makeLogger("vigil.record")
            let config = try common.loadConfig()
            guard let bootstrap = BrokerAddress.resolve(explicit: kafka.brokers, config: config, logger: logger).bootstrap else {
                throw CLIError("no Kafka to record from: give --brokers, set VIGIL_BROKERS, or start `vigil broker`")
            }
            var options = Recorder.Options(topics: topics.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) }, out: out)
            options.start = fromBeginning ? .earliest : since.flatMap { EventTime(rfc3339: $0) }.map(Recorder.Start.since) ?? .latest
            options.until = until.flatMap { EventTime(rfc3339: $0) }
            options.count = count
            options.append = append
            let stopRequested = Locked(false)
            let signals = [SIGINT, SIGTERM].map { sig -> any DispatchSourceSignal in
                signal(sig, SIG_IGN)
                let source = DispatchSource.makeSignalSource(signal: sig)
                source.setEventHandler { stopRequested.withLock { $0 = true } }
                source.resume()
                return source
            }
            defer { signals.forEach { $0.cancel() } }
            let summary: Recorder.Summary
            do {
                summary = try await Recorder(options: options, client: config.clientConfig(bootstrap: bootstrap), logger: logger)
                    .run(stop: { stopRequested.value })
            } catch {
                throw CLIError("\(error)")
            }
            LineWriter().write("recorded=\(summary.records) partitions=\(summary.partitions) file=\(out)")
        }
    }
}
