import ArgumentParser
import Foundation
import VigilCore
import VigilPipeline
import VigilShare

struct KeysCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys",
        abstract: "Manage the keys of partner sharing.",
        subcommands: [Generate.self, Rotate.self]
    )

    struct Generate: AsyncParsableCommand, Subcommand {
        static let parentName = "keys"
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

extension KeysCommand {
    struct Rotate: AsyncParsableCommand, Subcommand {
        static let parentName = "keys"
        static let configuration = CommandConfiguration(
            commandName: "rotate",
            abstract: "Replace the signing key, keeping the old public key for verifying what it signed; or partners' pseudonym keys.",
            discussion: """
                Writes a new signing.key and signing.pub into the directory and keeps the old public key \
                beside them as signing-<key id>.pub; the old private key is removed. Give partners the new \
                signing.pub and keep the old ones: `vigil verify --key DIR` checks alerts signed by any of them. \
                A running pipeline signs with the new key from its next reload (SIGHUP) or restart. A key given \
                in VIGIL_SIGNING_KEY is rotated by whoever sets that variable.

                With --pseudonym PARTNER (repeatable), rotates those partners' pseudonym keys instead: every \
                subject gets a new pseudonym in their copies from then on, so they can no longer link new \
                alerts to old ones. The old key is kept as pseudonym-<partner>.<key id>.retired, readable by \
                its owner only, so the unit can still resolve an old pseudonym; delete it to make that \
                impossible. A running pipeline takes the new key up by itself.
                """
        )

        @Option(name: .long, help: ArgumentHelp("The keys directory (sharing.keys).", valueName: "dir"))
        var dir: String

        @Option(name: .long, help: ArgumentHelp("Rotate this partner's pseudonym key rather than the signing key (repeatable).", valueName: "partner"))
        var pseudonym: [String] = []

        func run() async throws {
            try await Self.reporting {
                let folder = dir as NSString
                if !pseudonym.isEmpty {
                    for partner in pseudonym {
                        let (retired, current) = try fail(SharingKeys.rotatePseudonym(of: partner, in: dir))
                        print("partner \(partner): pseudonym key \(current) in \(folder.appendingPathComponent(SharingKeys.pseudonymFile(partner))); "
                              + "retired key kept as \(folder.appendingPathComponent(SharingKeys.retiredPseudonymFile(partner, keyID: retired))) "
                              + "(delete it to make the old pseudonyms unresolvable)")
                    }
                    return
                }
                let (retired, current) = try fail(SharingKeys.rotate(in: dir))
                print("retired key \(retired): public key kept as \(folder.appendingPathComponent(SharingKeys.retiredPublicFile(retired)))")
                print("signing key \(current): \(folder.appendingPathComponent(SharingKeys.signingFile)), \(folder.appendingPathComponent(SharingKeys.publicFile))")
            }
        }
    }
}

struct VerifyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check the signatures of alerts, one JSON alert per line.",
        discussion: """
            Exits 0 when every alert is validly signed with one of the keys; otherwise names the first \
            invalid one (line, alert id) and why. After a key rotation, give the folder of public keys \
            (signing.pub and the retired signing-<key id>.pub) or each key file.
            """
    )

    @Option(name: .long, help: ArgumentHelp("The signer's public key (signing.pub), or a folder of them (*.pub); repeatable.", valueName: "file"))
    var key: [String]

    @Argument(help: ArgumentHelp("Alerts file, or - for standard input.", valueName: "file"))
    var file: String

    func run() async throws {
        try await Self.reporting {
            let verifier = try fail(SharingKeys.publicKeys(key))
            let input = try AlertLines(file)
            var byKey: [String: Int] = [:]
            for (number, bytes) in input.lines {
                switch verifier.verify(bytes) {
                case .signed(let keyID): byKey[keyID, default: 0] += 1
                case .invalid(let problem):
                    let id = (try? JSONDecoder().decode(AlertID.self, from: Data(bytes)))?.id ?? "(no id)"
                    throw CLIError("\(input.name):\(number): alert \(id): \(problem)")
                }
            }
            let checked = byKey.values.reduce(0, +)
            if byKey.count <= 1 {
                print("\(checked) alerts, all signed with key \(byKey.keys.first ?? verifier.keyID)")
            } else {
                // In the order the keys were given, which for a folder is by file name.
                let counts = verifier.keyIDs.compactMap { id in byKey[id].map { "\($0) with key \(id)" } }
                print("\(checked) alerts, all validly signed: \(counts.joined(separator: ", "))")
            }
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

    struct Verify: AsyncParsableCommand, Subcommand {
        static let parentName = "audit"
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

struct GoAMLCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "goaml",
        abstract: "Turn alerts into a goAML 5.0.2 report draft (XML).",
        discussion: """
            Reads the unit's own alerts (one JSON alert per line, e.g. from alerts.local or `vigil replay`) and \
            writes one report with one report party per alert subject. Values the goAML schema requires and \
            alerts do not carry (an account's balance and status) are written as 0 and '-' and named in the \
            party's comments, to be completed before submission. Indicator codes are the FIU's own list: map \
            findings to them with --indicator.
            """
    )

    @Option(name: .long, help: ArgumentHelp("Alerts file (JSON lines), or - for standard input.", valueName: "file"))
    var alerts: String

    @Option(name: .long, help: ArgumentHelp("The reporting entity's id at the FIU (rentity_id).", valueName: "id"))
    var entityID: String

    @Option(name: .long, help: ArgumentHelp("STR or SAR.", valueName: "code"))
    var reportCode: String = "STR"

    @Option(name: .long, help: ArgumentHelp("goAML indicator code for a finding id (repeatable).", valueName: "finding=CODE"))
    var indicator: [String] = []

    @Option(name: .long, help: ArgumentHelp("Indicator for alerts whose findings have none.", valueName: "code"))
    var defaultIndicator: String?

    @Option(name: .long, help: ArgumentHelp("The reporting entity's local currency (currency_code_local).", valueName: "ISO 4217"))
    var currency: String = "USD"

    @Option(name: .long, help: ArgumentHelp("Submission date-time (RFC 3339). Default: now.", valueName: "time"))
    var date: String?

    @Option(name: .long, help: ArgumentHelp("Where to write the report, or - for standard output.", valueName: "file"))
    var out: String

    func run() async throws {
        try await Self.reporting {
            guard let code = GoAMLReport.ReportCode(rawValue: reportCode.uppercased()) else {
                throw CLIError("--report-code '\(reportCode)' is not STR or SAR")
            }
            var indicators: [String: String] = [:]
            for pair in indicator {
                let parts = pair.split(separator: "=", maxSplits: 1).map(String.init)
                guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else { throw CLIError("--indicator '\(pair)' is not FINDING=CODE") }
                indicators[parts[0]] = parts[1]
            }
            let submitted = try time("--date", date) ?? .now
            let list = try AlertLines(alerts).alerts().map(\.alert)
            let report = GoAMLReport(entityID: entityID, reportCode: code, currency: currency, indicators: indicators,
                                     defaultIndicator: defaultIndicator, submissionDate: submitted)
            let xml = try fail(report.xml(for: list))
            if out == "-" { FileHandle.standardOutput.write(Data(xml.utf8)) } else {
                do { try xml.write(toFile: out, atomically: true, encoding: .utf8) } catch { throw CLIError("cannot write \(out): \(FileProblem.writeReason(out, otherwise: error.localizedDescription))") }
                FileHandle.standardError.write(Data("vigil goaml: \(list.count) alerts → \(out)\n".utf8))
            }
        }
    }
}

struct RetentionCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "retention",
        abstract: "Depersonalise passenger data in stored alerts past its retention period.",
        discussion: """
            Reads alerts (one JSON alert per line) and writes them back with the passenger data of every alert \
            older than the period (sharing.passenger-retention, six months by default, as the EU PNR Directive \
            requires) masked: a traveller's particulars, explanations, passenger event ids. Other alerts are \
            written unchanged, byte for byte. A depersonalised alert loses its signature.
            """
    )

    @Option(name: .long, help: ArgumentHelp("Stored alerts (JSON lines), or - for standard input.", valueName: "file"))
    var alerts: String

    @Option(name: .long, help: ArgumentHelp("The time to apply the period at (RFC 3339). Default: now.", valueName: "time"))
    var asOf: String?

    @Option(name: .long, help: ArgumentHelp("Retention period, e.g. 180d. Default: sharing.passenger-retention.", valueName: "duration"))
    var period: String?

    @Option(name: .long, help: ArgumentHelp("Where to write the alerts, or - for standard output.", valueName: "file"))
    var out: String

    @OptionGroup var common: CommonOptions

    func run() async throws {
        try await Self.reporting {
            let config = try common.loadConfig()
            var retention = config.sharing.passengerRetention
            if let period {
                guard let d = DurationText.parse(period) else { throw CLIError("--period '\(period)' is not a duration (e.g. 180d)") }
                retention = d
            }
            let now = try time("--as-of", asOf) ?? .now
            var output = Data()
            var total = 0, changed = 0
            for (alert, line) in try AlertLines(alerts).alerts() {
                total += 1
                if let masked = Retention.depersonalise(alert, asOf: now, period: retention) {
                    changed += 1
                    output.append(contentsOf: masked.canonicalJSON)
                } else {
                    output.append(contentsOf: line)
                }
                output.append(UInt8(ascii: "\n"))
            }
            if out == "-" { FileHandle.standardOutput.write(output) } else {
                do { try output.write(to: URL(fileURLWithPath: out), options: .atomic) } catch {
                    throw CLIError("cannot write \(out): \(FileProblem.writeReason(out, otherwise: error.localizedDescription))")
                }
            }
            FileHandle.standardError.write(Data("vigil retention: \(total) alerts, \(changed) depersonalised (passenger data older than \(DurationText.format(retention)) at \(now.rfc3339))\n".utf8))
        }
    }
}

/// Alerts as JSON lines from a file or standard input (`-`), for the commands that read them.
struct AlertLines {
    /// For messages: the file, or `<stdin>`.
    let name: String
    /// Non-blank lines with their 1-based numbers, without line ends.
    let lines: [(number: Int, bytes: [UInt8])]

    init(_ path: String) throws {
        let data: Data
        if path == "-" { data = FileHandle.standardInput.readDataToEndOfFile() } else {
            guard let d = FileManager.default.contents(atPath: path) else { throw CLIError.unreadable(path) }
            data = d
        }
        name = path == "-" ? "<stdin>" : path
        lines = data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).enumerated().compactMap { index, line in
            var bytes = Array(line)
            if bytes.last == UInt8(ascii: "\r") { bytes.removeLast() }
            return bytes.allSatisfy { $0 == 0x20 || $0 == 0x09 } ? nil : (index + 1, bytes)
        }
    }

    /// Each line decoded, with its bytes; the first line that is not an alert is an error naming it.
    func alerts() throws -> [(alert: Alert, line: [UInt8])] {
        try lines.map { number, bytes in
            do { return (try JSONDecoder().decode(Alert.self, from: Data(bytes)), bytes) } catch {
                throw CLIError("\(name):\(number): not an alert: \(error.localizedDescription)")
            }
        }
    }
}

/// An RFC 3339 option value, or an error naming the option.
func time(_ option: String, _ text: String?) throws -> EventTime? {
    guard let text else { return nil }
    guard let t = EventTime(rfc3339: text) else { throw CLIError("\(option) '\(text)' is not an RFC 3339 time, e.g. 2024-03-01T00:00:00Z") }
    return t
}

extension EventTime {
    /// The wall clock, for commands that stamp their output (never for detection).
    static var now: EventTime { EventTime(microseconds: Int64(Date().timeIntervalSince1970 * 1_000_000)) }
}
