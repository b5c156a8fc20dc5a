import ArgumentParser
import Foundation
import Logging
import VigilCore
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
            guard let bootstrap = BrokerAddress.resolve(explicit: kafka.brokers, config: config, logger: logger).bootstrap else {
                throw CLIError("no Kafka to publish to: give --brokers, set VIGIL_BROKERS, or start `vigil broker`")
            }
            var readers: [(String, LineReader)] = []
            for file in files {
                if file == "-" {
                    readers.append((file, LineReader(FileHandle.standardInput)))
                } else {
                    guard let handle = FileHandle(forReadingAtPath: file) else {
                        throw CLIError("cannot read '\(file)': " + (FileManager.default.fileExists(atPath: file) ? "permission denied" : "no such file"))
                    }
                    readers.append((file, LineReader(handle)))
                }
            }
            let producer = try fail(KafkaProducer(config: KafkaProducerConfig(client: config.clientConfig(bootstrap: bootstrap)), logger: logger))
            defer { producer.close() }
            // Files are streamed in chunks, so a large feed does not have to fit in memory.
            var report = Feeder.Report()
            for (file, reader) in readers {
                var lineNumber = 1
                while true {
                    var chunk: [String] = []
                    do {
                        while chunk.count < 10_000, let line = try reader.next() { chunk.append(String(decoding: line, as: UTF8.self)) }
                    } catch {
                        throw CLIError("reading '\(file)': \(error.localizedDescription)")
                    }
                    if chunk.isEmpty { break }
                    var part = await Feeder.publish(chunk, topic: topic, producer: producer, firstLineNumber: lineNumber)
                    part.failures = part.failures.map { "\(file) \($0)" }
                    report.add(part)
                    lineNumber += chunk.count
                }
            }
            LineWriter().write("sent=\(report.sent) acknowledged=\(report.acknowledged) unkeyed=\(report.unkeyed) topic=\(topic)")
            if let first = report.failures.first {
                throw CLIError("\(report.failures.count) not acknowledged; first: \(first)")
            }
        }
    }
}
