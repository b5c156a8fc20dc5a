import ArgumentParser
import Foundation
import VigilCore
import VigilPipeline

struct GenerateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Generate canonical transactions or passenger events with planted cases, deterministically from a seed.",
        discussion: """
            transactions: accounts with habitual behaviour (salaries, card spending, small cash deposits, rent \
            wires) over a week, with planted cases (--plant: \(SampleFeed.Planted.Kind.plantable.map(\.rawValue).joined(separator: ", ")); \
            default structuring,large-cash), near misses and two malformed records. passengers: PNR and API \
            events of travellers on round trips, with planted \(PassengerFeed.Planted.Kind.allCases.map(\.rawValue).joined(separator: ", ")) \
            cases (the default). The labels file lists each planted case and its event ids as JSON lines.
            """
    )

    enum Kind: String, ExpressibleByArgument, CaseIterable { case transactions, passengers }

    @Argument(help: ArgumentHelp("What to generate: transactions or passengers.", valueName: "kind"))
    var kind: Kind

    @Option(name: .long, help: ArgumentHelp("Number of events (at least the planted cases). Default: transactions, the bundled sample feed (2,657); passengers, 1,000.", valueName: "n"))
    var count: Int?

    @Option(name: .long, help: ArgumentHelp("Seed; the same seed gives the same file.", valueName: "s"))
    var seed: UInt64 = SampleFeed.defaultSeed

    @Option(name: .long, help: ArgumentHelp("Cases to plant, comma-separated (see below).", valueName: "list"))
    var plant: String?

    @Option(name: .long, help: ArgumentHelp("Output file (JSON lines), or - for standard output.", valueName: "file"))
    var out: String

    @Option(name: .long, help: ArgumentHelp("Where to write the planted cases (JSON lines).", valueName: "file"))
    var labels: String?

    func validate() throws {
        if let count, count <= 0 { throw ValidationError("--count must be positive, got \(count)") }
        switch kind {
        case .transactions: _ = try transactionPlants()
        case .passengers: _ = try passengerPlants()
        }
    }

    private func names() -> [String]? {
        plant.map { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty } }
    }

    private func transactionPlants() throws -> Set<SampleFeed.Planted.Kind> {
        guard let names = names() else { return SampleFeed.defaultPlants }
        return Set(try names.map { name in
            guard let kind = SampleFeed.Planted.Kind(rawValue: name), SampleFeed.Planted.Kind.plantable.contains(kind) else {
                throw ValidationError("--plant: '\(name)' is not a transaction case (\(SampleFeed.Planted.Kind.plantable.map(\.rawValue).joined(separator: ", ")))")
            }
            return kind
        })
    }

    private func passengerPlants() throws -> Set<PassengerFeed.Planted.Kind> {
        guard let names = names() else { return Set(PassengerFeed.Planted.Kind.allCases) }
        return Set(try names.map { name in
            guard let kind = PassengerFeed.Planted.Kind(rawValue: name) else {
                throw ValidationError("--plant: '\(name)' is not a passenger case (\(PassengerFeed.Planted.Kind.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            return kind
        })
    }

    func run() async throws {
        try await Self.reporting {
            let lines: [String], labelLines: [String], summary: String
            switch kind {
            case .transactions:
                let plants = try transactionPlants()
                let feed = count.map { SampleFeed.generate(seed: seed, count: $0, plants: plants) } ?? SampleFeed.generate(seed: seed, plants: plants)
                lines = feed.lines
                labelLines = try feed.planted.map { try Self.json(["kind": $0.kind.rawValue, "account": $0.account, "events": $0.eventIDs]) }
                summary = "\(feed.lines.count) transactions, \(feed.planted.count) planted cases"
            case .passengers:
                let feed = PassengerFeed.generate(seed: seed, count: count ?? 1_000, plants: try passengerPlants())
                lines = feed.lines
                labelLines = try feed.planted.map { try Self.json(["kind": $0.kind.rawValue, "traveller": $0.traveller, "events": $0.eventIDs]) }
                summary = "\(feed.lines.count) passenger events, \(feed.planted.count) planted cases"
            }
            let text = lines.joined(separator: "\n") + "\n"
            if out == "-" {
                FileHandle.standardOutput.write(Data(text.utf8))
            } else {
                do { try text.write(toFile: out, atomically: true, encoding: .utf8) } catch {
                    throw CLIError("cannot write '\(out)': \(FileProblem.writeReason(out, otherwise: error.localizedDescription))")
                }
            }
            if let labels {
                do { try (labelLines.joined(separator: "\n") + "\n").write(toFile: labels, atomically: true, encoding: .utf8) } catch {
                    throw CLIError("cannot write '\(labels)': \(FileProblem.writeReason(labels, otherwise: error.localizedDescription))")
                }
            }
            FileHandle.standardError.write(Data("vigil generate: \(summary)\n".utf8))
        }
    }

    private static func json(_ object: [String: Any]) throws -> String {
        String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self)
    }
}
