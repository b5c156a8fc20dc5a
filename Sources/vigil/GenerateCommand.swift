import ArgumentParser
import Foundation
import VigilPipeline

struct GenerateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Generate canonical transactions with planted cases, deterministically from a seed.",
        discussion: """
            Accounts with habitual behaviour (salaries, card spending, small cash deposits, rent wires) over a \
            week, with planted cases (--plant), near misses and two malformed records. The labels file lists \
            each planted case (kind, account, event ids) as JSON lines. Passenger generation is not available yet.
            """
    )

    enum Kind: String, ExpressibleByArgument, CaseIterable { case transactions }

    @Argument(help: ArgumentHelp("What to generate: transactions.", valueName: "kind"))
    var kind: Kind

    @Option(name: .long, help: ArgumentHelp("Number of transactions (at least the planted cases). Default: the bundled sample feed's 300 accounts (2,657 transactions).", valueName: "n"))
    var count: Int?

    @Option(name: .long, help: ArgumentHelp("Seed; the same seed gives the same file.", valueName: "s"))
    var seed: UInt64 = SampleFeed.defaultSeed

    @Option(name: .long, help: ArgumentHelp("Cases to plant, comma-separated: \(SampleFeed.Planted.Kind.plantable.map(\.rawValue).joined(separator: ", ")). Default: structuring,large-cash.", valueName: "list"))
    var plant: String?

    @Option(name: .long, help: ArgumentHelp("Output file (JSON lines), or - for standard output.", valueName: "file"))
    var out: String

    @Option(name: .long, help: ArgumentHelp("Where to write the planted cases (JSON lines).", valueName: "file"))
    var labels: String?

    func validate() throws {
        if let count, count <= 0 { throw ValidationError("--count must be positive, got \(count)") }
        _ = try plants()
    }

    private func plants() throws -> Set<SampleFeed.Planted.Kind> {
        guard let plant else { return SampleFeed.defaultPlants }
        var out = Set<SampleFeed.Planted.Kind>()
        for name in plant.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) where !name.isEmpty {
            guard let kind = SampleFeed.Planted.Kind(rawValue: name), SampleFeed.Planted.Kind.plantable.contains(kind) else {
                throw ValidationError("--plant: '\(name)' is not one of \(SampleFeed.Planted.Kind.plantable.map(\.rawValue).joined(separator: ", "))")
            }
            out.insert(kind)
        }
        return out
    }

    func run() async throws {
        try await Self.reporting {
            let plants = try plants()
            let feed = count.map { SampleFeed.generate(seed: seed, count: $0, plants: plants) } ?? SampleFeed.generate(seed: seed, plants: plants)
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
