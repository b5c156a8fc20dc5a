import ArgumentParser
import Foundation
import VigilPipeline

struct ConfigCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config",
        abstract: "Inspect the runtime configuration.",
        subcommands: [Print.self]
    )

    struct Print: AsyncParsableCommand, Subcommand {
        static let parentName = "config"
        static let configuration = CommandConfiguration(
            commandName: "print",
            abstract: "Print the effective configuration (file, then VIGIL_* environment overrides) as YAML, secrets masked."
        )

        @OptionGroup var common: CommonOptions

        func run() async throws {
            try await Self.reporting {
                let config = try common.loadConfig()
                FileHandle.standardOutput.write(Data(config.renderedYAML.utf8))
            }
        }
    }
}
