import Foundation
import Logging
import VigilKafka

/// Which Kafka to use: explicit `--brokers`, else the configuration (`kafka.brokers` /
/// `VIGIL_BROKERS`), else the address a running `vigil broker` wrote to its bootstrap file,
/// else none — meaning the caller starts the embedded broker in-process.
public enum BrokerAddress {
    public enum Choice: Sendable, Equatable {
        case configured(String)
        /// From the bootstrap file of a running `vigil broker`.
        case running(String)
        case embedded

        public var bootstrap: String? {
            switch self {
            case .configured(let b), .running(let b): return b
            case .embedded: return nil
            }
        }
    }

    public static func resolve(explicit: String?, config: VigilConfig, logger: Logger) -> Choice {
        if let explicit, !explicit.isEmpty { return .configured(explicit) }
        if !config.kafka.brokers.isEmpty { return .configured(config.kafka.brokers) }
        let file = config.embedded.bootstrapFile
        guard let text = try? String(contentsOfFile: file, encoding: .utf8) else { return .embedded }
        let address = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !address.isEmpty else { return .embedded }
        // A file left by a broker that died is not a broker: check that something answers.
        let admin = KafkaAdmin(config: config.clientConfig(bootstrap: address), logger: quiet(logger))
        if (try? admin.metadata(timeout: .seconds(2))) != nil {
            logger.info("using the running vigil broker", metadata: ["bootstrap": "\(address)", "file": "\(file)"])
            return .running(address)
        }
        logger.warning("ignoring a stale bootstrap file: nothing answers there", metadata: ["file": "\(file)", "bootstrap": "\(address)"])
        return .embedded
    }

    /// Writes the address for other commands, atomically (they may read it at any moment).
    public static func write(_ bootstrap: String, to file: String) throws {
        let dir = (file as NSString).deletingLastPathComponent
        if !dir.isEmpty { try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) }
        try Data((bootstrap + "\n").utf8).write(to: URL(fileURLWithPath: file), options: .atomic)
    }

    /// librdkafka's connection errors while probing a dead address are expected; keep them out.
    static func quiet(_ logger: Logger) -> Logger {
        var l = logger
        l.logLevel = .critical
        return l
    }
}
