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
            for file in files {
                guard let data = FileManager.default.contents(atPath: file) else {
                    FileHandle.standardError.write(Data("vigil parse: \(file): cannot read the file\n".utf8))
                    failures += 1
                    continue
                }
                let bytes = [UInt8](data)
                let detected = format.format ?? FeedFormat.detect(bytes)
                // Split only when the format is known: an RJE batch or a CSV export holds many messages.
                let messages = detected.map { FeedDecoder.split(bytes, as: $0) } ?? [bytes[...]]
                var options = config.formats.decodeOptions
                options.file = (file as NSString).lastPathComponent
                for (n, message) in messages.enumerated() {
                    do {
                        let events = try FeedDecoder.decode(Array(message), as: detected, options: options)
                        if events.isEmpty {
                            // Valid, but not a movement of money (status report, drawdown request, …).
                            FileHandle.standardError.write(Data("vigil parse: \(file): no events: the message is valid but carries no transaction\n".utf8))
                        }
                        var buffer: [UInt8] = []
                        for e in events { buffer += e.json(); buffer.append(0x0A) }
                        out.write(Data(buffer))
                    } catch {
                        let which = messages.count > 1 ? " (message \(n + 1) of \(messages.count))" : ""
                        FileHandle.standardError.write(Data("vigil parse: \(file)\(which): \(error)\n".utf8))
                        failures += 1
                    }
                }
            }
            if failures > 0 { throw ExitCode(1) }
        }
    }
}
