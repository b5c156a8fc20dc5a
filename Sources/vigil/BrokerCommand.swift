import ArgumentParser
import Foundation
import VigilCore
import Logging
import ServiceLifecycle
import VigilKafka
import VigilPipeline

struct BrokerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "broker",
        abstract: "Run the embedded Kafka broker (librdkafka's mock cluster) in the foreground.",
        discussion: """
            The first line on standard output is `bootstrap=127.0.0.1:PORT`. The address is also written to the \
            bootstrap file (embedded.bootstrap-file, VIGIL_BOOTSTRAP_FILE), where `vigil run` and `vigil feed` \
            find it when no brokers are given. Topics named by the configuration and pipeline are created. \
            Memory only; each partition keeps at most 5 MiB or 100,000 batches. Stops on SIGINT/SIGTERM.
            """
    )

    @Option(name: .long, help: ArgumentHelp("Broker nodes (1-16).", valueName: "n"))
    var nodes: Int?

    @Option(name: .long, help: ArgumentHelp("Pipeline whose topics to create.", valueName: "file"))
    var pipeline: String?

    @OptionGroup var common: CommonOptions

    func validate() throws {
        if let nodes, !(1...16).contains(nodes) { throw ValidationError("--nodes must be between 1 and 16, got \(nodes)") }
    }

    func run() async throws {
        try await Self.reporting {
            let logger = try common.makeLogger("vigil.broker")
            let cfg = try common.loadConfig()
            var topics = cfg.topics
            if let pipeline { topics = try fail(PipelineDefinition.load(file: pipeline)).topics(from: cfg) }
            let broker = try fail(EmbeddedBroker(nodes: nodes ?? cfg.embedded.nodes, logger: logger))
            defer { broker.close() }
            try fail(TopicSetup.create(TopicSetup.specs(topics, config: cfg), on: broker))
            LineWriter().write("bootstrap=\(broker.bootstrapServers)")
            do { try BrokerAddress.write(broker.bootstrapServers, to: cfg.embedded.bootstrapFile) } catch {
                throw CLIError("cannot write the bootstrap file '\(cfg.embedded.bootstrapFile)': \(FileProblem.writeReason(cfg.embedded.bootstrapFile, otherwise: error.localizedDescription))")
            }
            defer { try? FileManager.default.removeItem(atPath: cfg.embedded.bootstrapFile) }
            logger.notice("embedded broker ready", metadata: ["topics": "\(topics.all.joined(separator: ","))", "partitions": "\(cfg.kafka.partitions)"])
            let group = ServiceGroup(configuration: .init(services: [.init(service: WaitForShutdown())],
                                                          gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
            try await group.run()
        }
    }
}

/// A service that does nothing until shutdown is requested: keeps the broker process alive.
struct WaitForShutdown: Service {
    func run() async throws {
        try? await gracefulShutdown()
    }
}
