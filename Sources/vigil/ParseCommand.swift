import ArgumentParser
import Foundation
import VigilFormats
import VigilPipeline

/// `--format auto|pacs008|…`: a format, or detection by content.
enum FormatChoice: ExpressibleByArgument, Sendable {
    case auto
    case fixed(FeedFormat)

    init?(argument: String) {
        if argument == "auto" { self = .auto } else if let f = FeedFormat(rawValue: argument) { self = .fixed(f) } else { return nil }
    }

    var format: FeedFormat? {
        if case .fixed(let f) = self { return f }
        return nil
    }

    static var allValueStrings: [String] { ["auto"] + FeedFormat.allCases.map(\.rawValue) }
    var defaultValueDescription: String { format?.rawValue ?? "auto" }
}

/// A file of native messages, read and cut into business messages: what `parse`, `feed --format`
/// and `bench --mode decode` all start from.
struct MessageFile {
    let path: String
    /// `nil` when `auto` could not tell the format from the content.
    let format: FeedFormat?
    /// The business messages: an RJE batch's SWIFT messages, a CSV export's rows, the lines of
    /// a JSON Lines file, else the whole file.
    let messages: [FeedMessage]
    /// The configuration's decode options, with this file recorded as `source.file`.
    let options: DecodeOptions

    init(path: String, format choice: FormatChoice, config: VigilConfig) throws(CLIError) {
        guard let data = FileManager.default.contents(atPath: path) else { throw CLIError.unreadable(path) }
        let bytes = [UInt8](data)
        self.path = path
        format = choice.format ?? FeedFormat.detect(bytes)
        // Split only when the format is known; an unknown one is decoded whole, to report why.
        messages = format.map { FeedDecoder.split(bytes, as: $0) } ?? [FeedMessage(bytes: bytes)]
        var options = config.formats.decodeOptions
        options.file = (path as NSString).lastPathComponent
        self.options = options
    }

    /// The decode options for one of the messages: positions and made-up ids refer to the file.
    func options(for message: FeedMessage) -> DecodeOptions {
        var o = options
        o.lineOffset = message.lineOffset
        return o
    }

    /// The format, or an error asking for `--format`.
    func requireFormat() throws(CLIError) -> FeedFormat {
        guard let format else { throw CLIError("\(path): cannot tell the format from the content; give --format") }
        return format
    }
}

struct ParseCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "parse",
        abstract: "Decode native messages (ISO 20022, SWIFT MT, Fedwire, CSV, PAXLST, PNRGOV) into canonical events.",
        discussion: """
        Prints one canonical event per line (JSON) on standard output. A file that cannot be \
        decoded gets one error line on standard error — file, message, position, reason — and \
        the other files are still read; the exit status is 1 if any failed. RJE batches of SWIFT \
        messages and CSV exports are decoded message by message (row by row). PNR card numbers \
        need formats.card-hash-key (or VIGIL_CARD_HASH_KEY); CSV needs formats.csv in --config.
        """
    )

    @OptionGroup var common: CommonOptions

    @Option(name: .long, help: ArgumentHelp("Message format, or auto to tell it from the content.", valueName: "format"))
    var format: FormatChoice = .auto

    @Argument(help: ArgumentHelp("Files to decode.", valueName: "file"))
    var files: [String]

    func run() async throws {
        try await Self.reporting {
            let config = try common.loadConfig()
            var failures = 0
            let out = FileHandle.standardOutput
            for path in files {
                let file: MessageFile
                do { file = try MessageFile(path: path, format: format, config: config) } catch {
                    FileHandle.standardError.write(Data("vigil parse: \(error)\n".utf8))
                    failures += 1
                    continue
                }
                let messages = file.messages
                for (n, message) in messages.enumerated() {
                    do {
                        let events = try FeedDecoder.decode(message.bytes, as: file.format, options: file.options(for: message))
                        if events.isEmpty {
                            // Valid, but not a movement of money (status report, drawdown request, …).
                            FileHandle.standardError.write(Data("vigil parse: \(path): no events: the message is valid but carries no transaction\n".utf8))
                        }
                        var buffer: [UInt8] = []
                        for e in events { buffer += e.json(); buffer.append(0x0A) }
                        out.write(Data(buffer))
                    } catch {
                        let which = messages.count > 1 ? " (message \(n + 1) of \(messages.count))" : ""
                        FileHandle.standardError.write(Data("vigil parse: \(path)\(which): \(error)\n".utf8))
                        failures += 1
                    }
                }
            }
            if failures > 0 { throw ExitCode(1) }
        }
    }
}
