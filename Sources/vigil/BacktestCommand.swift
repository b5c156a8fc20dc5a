import ArgumentParser
import Foundation
import VigilCore
import VigilFormats
import VigilPipeline
import VigilReplay

struct BacktestCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backtest",
        abstract: "Run a pipeline over a data set and report alerts per rule, with precision and recall when labels are given.",
        discussion: """
            The data set goes through the same decoding and detection as a live pipeline, as one input topic of \
            its format (CSV needs formats.csv in --config; canonical JSON is read line by line). With --labels \
            (a CSV of accounts: first column the account, a label column such as isFraud), each rule and the \
            pipeline as a whole get account-level precision, recall and F1 — for the accounts alerts are about \
            (subjects) and for every party of their evidence (parties). Prints a table; --json writes the same \
            figures as JSON.
            """
    )

    @Option(name: .long, help: ArgumentHelp("Pipeline file (YAML).", valueName: "file"))
    var pipeline: String = "pipelines/default.yaml"

    @Option(name: .long, help: ArgumentHelp("The data set: native messages, a CSV export or canonical JSON lines.", valueName: "file"))
    var transactions: String

    @Option(name: .long, help: ArgumentHelp("Its format, or auto to tell it from the content.", valueName: "format"))
    var format: FormatChoice = .auto

    @Option(name: .long, help: ArgumentHelp("Account labels (CSV).", valueName: "file"))
    var labels: String?

    @Option(name: .long, help: ArgumentHelp("The label column in --labels. Default: isFraud, is_sar, sar, label or fraud.", valueName: "name"))
    var labelColumn: String?

    @Option(name: .long, help: ArgumentHelp("Also write the report as JSON to this file.", valueName: "file"))
    var json: String?

    @OptionGroup var common: CommonOptions

    func run() async throws {
        try await Self.reporting {
            let config = try common.loadConfig()
            let definition = try fail(PipelineDefinition.load(file: pipeline))
            let data = try MessageFile(path: transactions, format: format, config: config)
            let f = try data.requireFormat()
            var positives: Set<String>?
            if let labels {
                guard let text = try? String(contentsOfFile: labels, encoding: .utf8) else { throw CLIError.unreadable(labels) }
                do { positives = try Backtest.labels(csv: text, column: labelColumn) } catch { throw CLIError("\(labels): \(error)") }
            }
            let report = Backtest.run(pipeline: definition, config: config, messages: data.messages,
                                      file: (transactions as NSString).lastPathComponent, format: f, positives: positives)
            LineWriter().write(Array(Backtest.table(report).utf8.dropLast()))
            if let json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
                do { try encoder.encode(report).write(to: URL(fileURLWithPath: json)) } catch {
                    throw CLIError("cannot write '\(json)': \(FileProblem.writeReason(json, otherwise: error.localizedDescription))")
                }
            }
        }
    }
}
