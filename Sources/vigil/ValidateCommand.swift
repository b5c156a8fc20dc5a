import ArgumentParser
import Foundation
import VigilPipeline
import VigilShare

struct ValidateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Check pipeline files (and a configuration) without running anything.",
        discussion: """
            Prints one `file:line:column: error: ...` line per invalid file; exits non-zero if any is invalid. \
            With --config, also checks that the signing key and the partners' pseudonym keys the pipeline needs \
            are where the configuration says (sharing.keys or the environment).
            """
    )

    @Argument(help: ArgumentHelp("Pipeline files.", valueName: "pipeline"))
    var pipelines: [String]

    @Option(name: .long, help: ArgumentHelp("Runtime configuration file to check too.", valueName: "file"))
    var config: String?

    func run() async throws {
        var failed = false
        var loaded: VigilConfig?
        if let config {
            do { loaded = try VigilConfig.load(file: config) } catch {
                print("\(error)")
                failed = true
            }
        }
        for file in pipelines {
            do {
                let p = try PipelineDefinition.load(file: file)
                let typologies = p.typologies.definitions.isEmpty ? "" : ", \(p.typologies.definitions.count) typologies"
                let lists = p.lists.sorted { $0.key < $1.key }.map { "\($0.key)\($0.value.date.map { " of " + $0 } ?? "")" }
                let watchlists = p.screening?.screener.lists.map { "\($0.version.label) (\($0.summary))" } ?? []
                let partners = p.partners.map { "\($0.name) → \($0.topic)" }
                let anomaly = p.anomaly.map { a in
                    a.weights.sorted { $0.key < $1.key }.map { "\($0.key.rawValue) \($0.value)" }.joined(separator: ", ")
                        + " from \(a.threshold)" + (a.dormant.map { "; \($0.summary)" } ?? "")
                }
                if let loaded, !p.partners.isEmpty {
                    let keys = SharingKeys.load(directory: loaded.sharing.keysDirectory, partners: p.partners)
                    if !keys.problems.isEmpty {
                        for problem in keys.problems { print("\(file): error: \(problem)") }
                        failed = true
                        continue
                    }
                }
                print("\(file): ok (pipeline \(p.name)@\(p.version), \(p.rules.definitions.count) rules\(typologies)"
                      + (lists.isEmpty ? "" : "; lists: " + lists.joined(separator: ", "))
                      + (watchlists.isEmpty ? "" : "; screening: " + watchlists.joined(separator: ", "))
                      + (anomaly.map { "; anomaly: " + $0 } ?? "")
                      + (partners.isEmpty ? "" : "; partners: " + partners.joined(separator: ", ")) + ")")
            } catch {
                print("\(error)")
                failed = true
            }
        }
        if failed { throw ExitCode(1) }
    }
}
