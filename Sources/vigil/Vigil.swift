import ArgumentParser
import Foundation
import Logging
import VigilCore
import VigilPipeline

/// The `vigil` command line. It only parses arguments and wires the libraries' services.
@main
struct Vigil: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vigil",
        abstract: "Streaming financial-intelligence pipeline: transactions in from Kafka, alerts out.",
        discussion: """
            Environment overrides: \(VigilConfig.environmentVariables.map { "\($0.0) (\($0.1))" }.joined(separator: ", ")).
            """,
        subcommands: [RunCommand.self, BrokerCommand.self, FeedCommand.self, RecordCommand.self, ReplayCommand.self, BacktestCommand.self, GenerateCommand.self, ScreenCommand.self, EvalCommand.self, ParseCommand.self, ValidateCommand.self, ConfigCommand.self, BenchCommand.self, KeysCommand.self, VerifyCommand.self, AuditCommand.self, GoAMLCommand.self, RetentionCommand.self]
    )
}

/// Options every command that reads the configuration shares.
struct CommonOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Runtime configuration file (YAML).", valueName: "file"))
    var config: String?

    @Option(name: .long, help: ArgumentHelp("Log level: trace, debug, info, notice, warning, error, critical.", valueName: "level"))
    var logLevel: String = "info"

    @Option(name: .long, help: ArgumentHelp("Log format: text, or json (one object per line). Default: VIGIL_LOG_FORMAT, else text.", valueName: "format"))
    var logFormat: String?

    /// The configuration; `config/default.yaml` is used when it exists and no file is named.
    func loadConfig() throws -> VigilConfig {
        var file = config
        if file == nil, FileManager.default.fileExists(atPath: "config/default.yaml") { file = "config/default.yaml" }
        return try fail(VigilConfig.load(file: file))
    }

    /// Logs go to standard error, keeping standard output for results (alerts, addresses).
    func makeLogger(_ label: String) throws -> Logger {
        guard let level = Logger.Level(rawValue: logLevel) else {
            throw CLIError("--log-level '\(logLevel)' is not one of trace, debug, info, notice, warning, error, critical")
        }
        let format = logFormat ?? ProcessInfo.processInfo.environment["VIGIL_LOG_FORMAT"] ?? "text"
        switch format {
        case "text": LoggingSystem.bootstrap { StreamLogHandler.standardError(label: $0) }
        case "json": LoggingSystem.bootstrap { JSONLogHandler(label: $0) }
        default: throw CLIError("--log-format '\(format)' is not text or json")
        }
        var logger = Logger(label: label)
        logger.logLevel = level
        return logger
    }
}

/// `--brokers`, for the commands that connect to Kafka.
struct BrokerOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Kafka bootstrap servers, host:port[,host:port...]. Overrides the configuration.", valueName: "list"))
    var brokers: String?
}

/// A one-line error for the user; the command exits non-zero after printing it.
struct CLIError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }

    /// A file that could not be opened, saying whether it is missing or not readable.
    static func unreadable(_ path: String) -> CLIError {
        CLIError("cannot read '\(path)': " + FileProblem.reason(path))
    }
}

/// Runs `body`, turning configuration and Kafka errors into a ``CLIError`` line.
func fail<T>(_ body: @autoclosure () throws -> T) throws -> T {
    do { return try body() } catch let e as ConfigError { throw CLIError(e.description) } catch let e as CLIError { throw e } catch {
        throw CLIError("\(error)")
    }
}

/// A command run under another (`vigil keys rotate`): its errors name both words.
protocol Subcommand {
    static var parentName: String { get }
}

extension AsyncParsableCommand {
    /// Prints a ``CLIError`` as `vigil <command>: <message>` on standard error and exits 1.
    static func reporting(_ body: () async throws -> Void) async throws {
        do { try await body() } catch let e as CLIError {
            let parent = (Self.self as? any Subcommand.Type).map { "\($0.parentName) " } ?? ""
            FileHandle.standardError.write(Data("vigil \(parent)\(configuration.commandName ?? ""): \(e.description)\n".utf8))
            throw ExitCode(1)
        }
    }
}

/// Serialises whole lines to standard output from any thread (alerts arrive on Kafka threads).
final class LineWriter: Sendable {
    private let lock = NSLock()
    func write(_ bytes: [UInt8]) {
        lock.lock()
        defer { lock.unlock() }
        FileHandle.standardOutput.write(Data(bytes + [0x0A]))
    }
    func write(_ line: String) { write(Array(line.utf8)) }
}
