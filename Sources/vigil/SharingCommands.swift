import ArgumentParser
import Foundation
import VigilCore
import VigilPipeline
import VigilShare

struct KeysCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys",
        abstract: "Manage the keys of partner sharing.",
        subcommands: [Generate.self]
    )

    struct Generate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "generate",
            abstract: "Create the Ed25519 signing key pair and partners' pseudonym keys.",
            discussion: """
                Writes signing.key (private, mode 0600), signing.pub (give this to partners) and \
                pseudonym-<partner>.key for each partner named or declared by --pipeline that pseudonymises. \
                Keys already in the directory are kept: replacing one would orphan every signature or pseudonym \
                made with it.
                """
        )

        @Option(name: .long, help: ArgumentHelp("Directory for the keys.", valueName: "dir"))
        var out: String

        @Option(name: .long, help: ArgumentHelp("A partner to create a pseudonym key for (repeatable).", valueName: "name"))
        var partner: [String] = []

        @Option(name: .long, help: ArgumentHelp("Create pseudonym keys for this pipeline's partners too.", valueName: "file"))
        var pipeline: String?

        func run() async throws {
            try await Self.reporting {
                var partners = partner
                if let pipeline { partners += try fail(PipelineDefinition.load(file: pipeline)).partners.filter(\.pseudonymises).map(\.name) }
                let written = try fail(SharingKeys.generate(in: out, partners: partners))
                for file in written { print(file) }
                if written.isEmpty { FileHandle.standardError.write(Data("vigil keys generate: every key is already in \(out)\n".utf8)) }
            }
        }
    }
}

struct VerifyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check the signatures of alerts, one JSON alert per line.",
        discussion: "Exits 0 when every alert is validly signed with the key; otherwise names the first invalid one (line, alert id) and why."
    )

    @Option(name: .long, help: ArgumentHelp("The signer's public key (signing.pub).", valueName: "file"))
    var key: String

    @Argument(help: ArgumentHelp("Alerts file, or - for standard input.", valueName: "file"))
    var file: String

    func run() async throws {
        try await Self.reporting {
            let verifier = try fail(SharingKeys.publicKey(file: key))
            let data: Data
            if file == "-" { data = FileHandle.standardInput.readDataToEndOfFile() } else {
                guard let d = FileManager.default.contents(atPath: file) else { throw CLIError.unreadable(file) }
                data = d
            }
            var checked = 0
            for (index, line) in data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).enumerated() {
                var bytes = Array(line)
                if bytes.last == UInt8(ascii: "\r") { bytes.removeLast() }
                if bytes.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { continue }
                if let problem = verifier.problem(with: bytes) {
                    let id = (try? JSONDecoder().decode(AlertID.self, from: Data(bytes)))?.id ?? "(no id)"
                    throw CLIError("\(file == "-" ? "<stdin>" : file):\(index + 1): alert \(id): \(problem)")
                }
                checked += 1
            }
            print("\(checked) alerts, all signed with key \(verifier.keyID)")
        }
    }

    private struct AlertID: Decodable { var id: String }
}

struct AuditCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit",
        abstract: "Check the hash-chained log of disclosures.",
        subcommands: [Verify.self]
    )

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "verify",
            abstract: "Check that no entry of a disclosure log was altered, inserted or removed.",
            discussion: "Exits 0 with the number of entries when the chain is whole; otherwise names the line and what broke."
        )

        @Argument(help: ArgumentHelp("The audit log (sharing.audit-log).", valueName: "log"))
        var log: String

        func run() async throws {
            try await Self.reporting {
                let count = try fail(AuditLog.verify(path: log))
                print("\(log): \(count) entries, chain intact")
            }
        }
    }
}
