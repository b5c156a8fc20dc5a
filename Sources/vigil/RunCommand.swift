import ArgumentParser
import Foundation
import Logging
import ServiceLifecycle
import VigilCore
import VigilKafka
import VigilPipeline

struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run a pipeline: read transactions from Kafka, publish alerts (the main job).",
        discussion: """
            With brokers (--brokers, VIGIL_BROKERS, the configuration, or a running `vigil broker`) it runs \
            until SIGINT/SIGTERM, then finishes in-flight work, commits and exits 0. With none, it starts \
            the embedded broker in-process, publishes the bundled sample feed, prints each alert as one \
            JSON line as it is acknowledged, and stops when the feed is processed (or keeps going with --follow).
            """
    )

    @Option(name: .long, help: ArgumentHelp("Pipeline file (YAML).", valueName: "file"))
    var pipeline: String = "pipelines/default.yaml"

    @Flag(name: .long, help: "On the embedded broker, keep running after the sample feed (feed more with `vigil feed`).")
    var follow = false

    @OptionGroup var kafka: BrokerOptions
    @OptionGroup var common: CommonOptions

    func run() async throws {
        try await Self.reporting {
            let logger = try common.makeLogger("vigil.run")
            let config = try common.loadConfig()
            let definition = try fail(PipelineDefinition.load(file: pipeline))
            let topics = definition.topics(from: config)
            let out = LineWriter()
            let printAlert: @Sendable (Alert) -> Void = { alert in
                out.write(alert.canonicalJSON)
            }

            let choice = BrokerAddress.resolve(explicit: kafka.brokers, config: config, logger: logger)
            var embedded: EmbeddedBroker?
            var stopAt: [TopicPartition: Int64]?
            let bootstrap: String
            if let address = choice.bootstrap {
                bootstrap = address
                TopicSetup.ensure(topics, config: config, bootstrap: bootstrap, logger: logger)
            } else {
                let broker = try fail(EmbeddedBroker(nodes: config.embedded.nodes, logger: logger))
                embedded = broker
                bootstrap = broker.bootstrapServers
                try fail(TopicSetup.create(TopicSetup.specs(topics, config: config), on: broker))
                try? BrokerAddress.write(bootstrap, to: config.embedded.bootstrapFile)
                let feed = SampleFeed.generate()
                logger.info("embedded broker started; publishing the bundled sample feed", metadata: [
                    "bootstrap": "\(bootstrap)", "transactions": "\(feed.lines.count)", "topic": "\(topics.transactions)",
                ])
                let producer = try fail(KafkaProducer(config: KafkaProducerConfig(client: config.clientConfig(bootstrap: bootstrap)), logger: logger))
                let report = await Feeder.publish(feed.lines, topic: topics.transactions, producer: producer)
                producer.close()
                guard report.failures.isEmpty else { throw CLIError("publishing the sample feed: \(report.failures[0])") }
                stopAt = follow ? nil : report.endOffsets
            }
            defer {
                if let embedded {
                    try? FileManager.default.removeItem(atPath: config.embedded.bootstrapFile)
                    embedded.close()
                }
            }

            let service = try fail(PipelineService(pipeline: definition, config: config, bootstrap: bootstrap, logger: logger,
                                                   stopAt: stopAt, onAlert: printAlert))
            var services: [ServiceGroupConfiguration.ServiceConfiguration] = [
                .init(service: service, successTerminationBehavior: .gracefullyShutdownGroup),
            ]
            if config.http.port > 0 {
                services.append(.init(service: OperationsServer(host: config.http.address, port: config.http.port,
                                                                readiness: { service.readiness() },
                                                                metrics: { service.renderMetrics() }, logger: logger)))
            }
            let group = ServiceGroup(configuration: .init(
                services: services,
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger))
            do { try await group.run() } catch { throw CLIError("pipeline stopped: \(error)") }
            let s = service.runner.stats
            FileHandle.standardError.write(Data(
                "vigil run: \(s.completed) transactions processed: \(s.alerts) alerts on \(topics.alerts), \(s.deadLettered) dead-lettered on \(topics.deadLetter)\n".utf8))
            if !definition.partners.isEmpty {
                let audit = config.sharing.auditLog.map { "; disclosures logged in \($0)" } ?? ""
                FileHandle.standardError.write(Data(
                    "vigil run: \(s.shared) partner copies on \(definition.partners.map(\.topic).joined(separator: ", ")), \(s.held) held on \(topics.held)\(audit)\n".utf8))
            }
            let w = s.window
            let late = w.droppedLate > 0 ? "; \(w.droppedLate) too late for a rule's grace period" : ""
            FileHandle.standardError.write(Data(
                "vigil run: window state: \(w.windowEntries) events under \(w.windowKeys) keys; dropped by the caps: \(w.droppedByEventCap) events, \(w.droppedByKeyCap) keys\(late)\n".utf8))
        }
    }
}
