import ArgumentParser
import Foundation
import Logging
import VigilKafka
import VigilPipeline

struct FeedCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "feed",
        abstract: "Publish canonical JSON lines (one transaction per line) to a topic, keyed by debtor.account.",
        discussion: "Reports how many were sent and acknowledged. Use - to read standard input."
    )

    @Option(name: .long, help: ArgumentHelp("Topic to publish to. Default: the configuration's transactions topic.", valueName: "topic"))
    var topic: String?

    @Argument(help: ArgumentHelp("Files of JSON lines, or - for standard input.", valueName: "file"))
    var files: [String]

    @OptionGroup var kafka: BrokerOptions
    @OptionGroup var common: CommonOptions

    func run() async throws {
        try await Self.reporting {
            let logger = try common.makeLogger("vigil.feed")
            let config = try common.loadConfig()
            let topic = self.topic ?? config.topics.transactions
            var lines: [String] = []
            for file in files {
                let data: Data
                if file == "-" {
                    data = FileHandle.standardInput.readDataToEndOfFile()
                } else {
                    guard let d = FileManager.default.contents(atPath: file) else {
                        throw CLIError("cannot read '\(file)': " + (FileManager.default.fileExists(atPath: file) ? "permission denied" : "no such file"))
                    }
                    data = d
                }
                lines += String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            }
            guard let bootstrap = BrokerAddress.resolve(explicit: kafka.brokers, config: config, logger: logger).bootstrap else {
                throw CLIError("no Kafka to publish to: give --brokers, set VIGIL_BROKERS, or start `vigil broker`")
            }
            let producer = try fail(KafkaProducer(config: KafkaProducerConfig(client: config.clientConfig(bootstrap: bootstrap)), logger: logger))
            let report = await Feeder.publish(lines, topic: topic, producer: producer)
            producer.close()
            LineWriter().write("sent=\(report.sent) acknowledged=\(report.acknowledged) unkeyed=\(report.unkeyed) topic=\(topic)")
            if let first = report.failures.first {
                throw CLIError("\(report.failures.count) not acknowledged; first: \(first)")
            }
        }
    }
}
