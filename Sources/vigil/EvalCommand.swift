import ArgumentParser
import Foundation
import VigilAnomaly
import VigilReplay

struct EvalCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Evaluate detectors on labelled data.",
        subcommands: [Anomaly.self]
    )

    struct Anomaly: AsyncParsableCommand, Subcommand {
        static let parentName = "eval"
        static let configuration = CommandConfiguration(
            commandName: "anomaly",
            abstract: "Run an online anomaly detector over a labelled CSV (score, then learn, row by row); print ROC AUC, PR AUC and events/s as JSON.",
            discussion: """
                --detector hst: Half-Space Trees after online min-max scaling, as River's \
                MinMaxScaler | HalfSpaceTrees (defaults: 10 trees, height 8, window 250). --detector zscore: \
                the largest per-feature |z| against the running mean and deviation. --detector baseline: per-account \
                baselines over --entity, --amount and optionally --balance (before the payment), --peer (a type or \
                channel) and --counterparty; --features is then not needed. --detector edge: bursts between accounts \
                (MIDAS-R) over --entity → --counterparty edges per --time tick (rows in time order). The CSV may be \
                gzip-compressed. \
                events/s counts the detector alone (the file is parsed first).
                """
        )

        @Option(name: .long, help: ArgumentHelp("The data set: CSV with a header, optionally gzip-compressed.", valueName: "file"))
        var csv: String

        @Option(name: .long, help: ArgumentHelp("The label column (1/true/yes = anomaly); of --account-labels when given.", valueName: "column"))
        var label: String

        @Option(name: .long, help: ArgumentHelp("Labels per account (CSV): figures per account, each scoring the highest score of the rows it sent (--entity) or received (--counterparty).", valueName: "file"))
        var accountLabels: String?

        @Option(name: .long, help: ArgumentHelp("The account column of --account-labels (default: the first).", valueName: "column"))
        var accountColumn: String?

        @Option(name: .long, help: ArgumentHelp("Feature columns, comma-separated (hst, zscore).", valueName: "a,b,c"))
        var features: String = ""

        @Option(name: .long, help: ArgumentHelp("Baseline: the account column.", valueName: "column"))
        var entity: String?

        @Option(name: .long, help: ArgumentHelp("Baseline: the amount column.", valueName: "column"))
        var amount: String?

        @Option(name: .long, help: ArgumentHelp("Baseline: the account's balance before the payment.", valueName: "column"))
        var balance: String?

        @Option(name: .long, help: ArgumentHelp("Baseline: the peer group (payment type, channel).", valueName: "column"))
        var peer: String?

        @Option(name: .long, help: ArgumentHelp("Baseline and edge: the counterparty column.", valueName: "column"))
        var counterparty: String?

        @Option(name: .long, help: ArgumentHelp("Edge: the time tick column (whole numbers: a step, an hour).", valueName: "column"))
        var time: String?

        @Option(name: .long, help: ArgumentHelp("hst, zscore, baseline or edge.", valueName: "detector"))
        var detector: String = "hst"

        @Option(name: .long, help: ArgumentHelp("Random seed of the trees.", valueName: "s"))
        var seed: UInt64 = 42

        @Option(name: .long, help: ArgumentHelp("Number of trees.", valueName: "n"))
        var trees: Int = 10

        @Option(name: .long, help: ArgumentHelp("Height of each tree.", valueName: "h"))
        var height: Int = 8

        @Option(name: .long, help: ArgumentHelp("Points per window.", valueName: "w"))
        var window: Int = 250

        func validate() throws {
            guard AnomalyEvaluation.Detector(rawValue: detector) != nil else {
                throw ValidationError("--detector '\(detector)' is not one of \(AnomalyEvaluation.Detector.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            guard (1...1_000).contains(trees), (1...20).contains(height), (1...1_000_000).contains(window) else {
                throw ValidationError("--trees must be 1–1000, --height 1–20, --window 1–1000000")
            }
            if detector == "baseline" || accountLabels != nil {
                if entity == nil || amount == nil { throw ValidationError("--detector baseline (and --account-labels) needs --entity and --amount") }
            }
            if detector == "edge", entity == nil || counterparty == nil || time == nil || amount == nil {
                throw ValidationError("--detector edge needs --entity, --counterparty, --amount and --time")
            }
            if !["baseline", "edge"].contains(detector), features.split(separator: ",").isEmpty {
                throw ValidationError("--features needs at least one column")
            }
        }

        func run() async throws {
            try await Self.reporting {
                guard let data = FileManager.default.contents(atPath: csv) else { throw CLIError.unreadable(csv) }
                var bytes = Array(data)
                if Gzip.isGzip(bytes) {
                    guard let plain = Gzip.decompress(bytes) else { throw CLIError("\(csv): not a valid gzip file (truncated or corrupted)") }
                    bytes = plain
                }
                let names = features.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
                let table: AnomalyEvaluation.Table
                let columns = entity.flatMap { e in amount.map { AnomalyEvaluation.EventColumns(entity: e, amount: $0, balance: balance, peer: peer, counterparty: counterparty, time: time) } }
                var accounts: [String: Bool]?
                do {
                    table = try AnomalyEvaluation.table(csv: bytes, file: csv, label: accountLabels == nil ? label : nil, features: names, baseline: columns)
                    if let accountLabels {
                        guard let data = FileManager.default.contents(atPath: accountLabels) else { throw CLIError.unreadable(accountLabels) }
                        accounts = try AnomalyEvaluation.accountLabels(csv: Array(data), file: accountLabels, account: accountColumn, label: label)
                    }
                } catch let e as AnomalyError { throw CLIError("\(e)") }
                var options = HalfSpaceTrees.Options()
                options.seed = seed
                options.trees = trees
                options.height = height
                options.window = window
                let report = AnomalyEvaluation.run(table, file: csv, detector: AnomalyEvaluation.Detector(rawValue: detector)!, options: options,
                                                   accounts: accounts)
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
                LineWriter().write(Array(try encoder.encode(report)))
            }
        }
    }
}
