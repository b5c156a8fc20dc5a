import ArgumentParser
import Foundation
import VigilPipeline

struct GenerateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Generate canonical transactions with planted cases, deterministically from a seed.",
        discussion: """
            Accounts with habitual behaviour (salaries, card spending, small cash deposits, rent wires) over a \
            week, with planted structuring and large-cash cases, near misses and two malformed records. The \
            labels file lists each planted case (kind, account, event ids) as JSON lines.
            """
    )

    enum Kind: String, ExpressibleByArgument, CaseIterable { case transactions }

    @Argument(help: ArgumentHelp("What to generate: transactions.", valueName: "kind"))
    var kind: Kind

    @Option(name: .long, help: ArgumentHelp("Number of transactions (at least the planted cases). Default: the bundled sample feed's 300 accounts (2,657 transactions).", valueName: "n"))
    var count: Int?

    @Option(name: .long, help: ArgumentHelp("Seed; the same seed gives the same file.", valueName: "s"))
    var seed: UInt64 = SampleFeed.defaultSeed

    @Option(name: .long, help: ArgumentHelp("Output file (JSON lines), or - for standard output.", valueName: "file"))
    var out: String

    @Option(name: .long, help: ArgumentHelp("Where to write the planted cases (JSON lines).", valueName: "file"))
    var labels: String?

    func validate() throws {
        if let count, count <= 0 { throw ValidationError("--count must be positive, got \(count)") }
    }

    func run() async throws {
        try await Self.reporting {
            let feed = count.map { SampleFeed.generate(seed: seed, count: $0) } ?? SampleFeed.generate(seed: seed)
            let text = feed.lines.joined(separator: "\n") + "\n"
            if out == "-" {
                FileHandle.standardOutput.write(Data(text.utf8))
            } else {
                do { try text.write(toFile: out, atomically: true, encoding: .utf8) } catch {
                    throw CLIError("cannot write '\(out)': \(error.localizedDescription)")
                }
            }
            if let labels {
                let lines = try feed.planted.map { p in
                    String(decoding: try JSONSerialization.data(withJSONObject: ["kind": p.kind.rawValue, "account": p.account, "events": p.eventIDs],
                                                                options: [.sortedKeys]), as: UTF8.self)
                }
                do { try (lines.joined(separator: "\n") + "\n").write(toFile: labels, atomically: true, encoding: .utf8) } catch {
                    throw CLIError("cannot write '\(labels)': \(error.localizedDescription)")
                }
            }
            FileHandle.standardError.write(Data("vigil generate: \(feed.lines.count) transactions, \(feed.planted.count) planted cases\n".utf8))
        }
    }
}
