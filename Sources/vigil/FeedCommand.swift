import ArgumentParser
import Foundation
import Logging
import VigilCore
import VigilFormats
import VigilKafka
import VigilPipeline

struct FeedCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "feed",
        abstract: "Publish canonical JSON lines, or native messages (--format), to a topic.",
        discussion: """
        Without --format (or with --format json): one transaction per line, keyed by debtor.account; - reads         standard input. With another format: every file (or every file in a folder) is cut into business \
        messages — an RJE batch into its SWIFT messages, a CSV export into rows — and each becomes one Kafka         message, keyed by its first transaction's debtor account. Reports how many were sent and acknowledged.
        """
    )

    @Option(name: .long, help: ArgumentHelp("Format of the files: json (lines), auto, or a native format.", valueName: "format"))
    var format: FormatChoice = .fixed(.json)

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
            if format.format != .json {
                let producer = try fail(KafkaProducer(config: KafkaProducerConfig(client: config.clientConfig(bootstrap: bootstrap)), logger: logger))
                defer { producer.close() }
                var report = Feeder.Report()
                for path in try Self.expand(files) {
                    let file = try MessageFile(path: path, format: format, config: config)
                    let messages = file.messages.enumerated().map { (message: $1, label: file.messages.count > 1 ? "\(path) message \($0 + 1)" : path) }
                    report.add(await Feeder.publish(messages: messages, format: try file.requireFormat(), topic: topic, producer: producer,
                                                    options: file.options))
                }
                LineWriter().write("sent=\(report.sent) acknowledged=\(report.acknowledged) unkeyed=\(report.unkeyed) topic=\(topic)")
                if let first = report.failures.first { throw CLIError("\(report.failures.count) not acknowledged; first: \(first)") }
                return
            }
            var readers: [(String, LineReader)] = []
            for file in files {
                if file == "-" {
                    readers.append((file, LineReader(FileHandle.standardInput)))
                } else {
                    guard let handle = FileHandle(forReadingAtPath: file) else {
                        throw CLIError.unreadable(file)
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

    /// Files as given, folders as the regular files in them (sorted, hidden ones skipped).
    static func expand(_ paths: [String]) throws -> [String] {
        var out: [String] = []
        for path in paths {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { throw CLIError("no such file or folder: '\(path)'") }
            if isDirectory.boolValue {
                let names = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
                out += names.filter { !$0.hasPrefix(".") }.sorted().map { (path as NSString).appendingPathComponent($0) }
                    .filter { var d: ObjCBool = false; return FileManager.default.fileExists(atPath: $0, isDirectory: &d) && !d.boolValue }
            } else {
                out.append(path)
            }
        }
        return out
    }
}
