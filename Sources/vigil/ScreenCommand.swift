import ArgumentParser
import Foundation
import VigilScreen
import Yams

struct ScreenCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "screen",
        abstract: "Screen a name against watchlists, or score a labelled file of name pairs.",
        discussion: """
            With --list NAME=FILE (repeatable) and a name: prints the best matches as JSON, each with its score, \
            the list version it came from and how the score was reached. --account, --bic, --phone and --email \
            (with or without a name) look up what lists give besides names: a digital currency address, a bank's \
            BIC, a phone number, an e-mail address; each listed one is a match of its own. FILE is a UN Security Council \
            Consolidated List, the EU's financial sanctions file or OFAC's SDN XML (.xml), an OFAC SDN CSV set (sdn.csv, or the folder holding sdn.csv, alt.csv and \
            add.csv), OpenSanctions FollowTheMoney entities or Senzing records (.json/.jsonl: one per line, or a JSON array), or a CSV told \
            by its header: a FinCEN 314(a) subject list, a GTAS watch-list import, the US Consolidated Screening \
            List, or a simple list (id,name,kind,aliases,birth_date,country,document; only name is required).

            With --list NAME=FILE and --batch FILE: screens every row of a CSV of names (columns as in the simple \
            list: name required; id, kind, birth_date, country and document used when present, and a phone or \
            email looked up as --phone and --email are) and prints one \
            JSON line per row: its line, id and query, and its matches. Every row is checked first; a bad one is \
            an error naming its line and column, and nothing is screened.

            With --eval FILE: scores every pair of a labelled file (nomenklatura's cases.csv layout, its entity \
            checks as YAML — checks.yml, each check's query and candidate names, grouped by schema — or a \
            cross-script pairs file) and prints precision, recall and F1 as JSON.

            With --list NAME=FILE and --eval-list: scores each list against itself, its persons and its organisations \
            apart (primary names against their own aliases, against other entries sharing two words of their names, \
            and against other entries whose two-word names differ in one word) and prints the same figures per \
            list, one JSON object each.
            """
    )

    @Option(name: .long, help: ArgumentHelp("A watchlist to screen against, as NAME=FILE. Repeatable.", valueName: "name=file"))
    var list: [String] = []

    @Option(name: .long, help: ArgumentHelp("The score at which a match is reported (0–1).", valueName: "t"))
    var threshold: Double = ScreeningOptions.defaultThreshold

    @Option(name: .long, help: ArgumentHelp("Date of birth of the person screened (YYYY-MM-DD, YYYY-MM or YYYY).", valueName: "date"))
    var dob: String?

    @Option(name: .long, help: ArgumentHelp("Nationality or country (ISO 3166 alpha-2 or alpha-3 code, or name).", valueName: "cc"))
    var country: String?

    @Option(name: .long, help: ArgumentHelp("An identity document number.", valueName: "number"))
    var document: String?

    @Option(name: .long, help: ArgumentHelp("An account to look up among listed digital currency addresses.", valueName: "account"))
    var account: String?

    @Option(name: .long, help: ArgumentHelp("A bank's BIC to look up among listed banks' (8 or 11 characters).", valueName: "bic"))
    var bic: String?

    @Option(name: .long, help: ArgumentHelp("A phone number to look up among listed ones (compared by its last nine digits).", valueName: "number"))
    var phone: String?

    @Option(name: .long, help: ArgumentHelp("An e-mail address to look up among listed ones.", valueName: "address"))
    var email: String?

    @Option(name: .long, help: ArgumentHelp("What the name is of: person, organization, vessel or unknown.", valueName: "kind"))
    var kind: String = "unknown"

    @Option(name: .long, help: ArgumentHelp("At most this many matches.", valueName: "n"))
    var limit: Int = 10

    @Option(name: .long, help: ArgumentHelp("A CSV of names to screen, one JSON line out per row (name; id, kind, birth_date, country, document, phone, email).", valueName: "file"))
    var batch: String?

    @Option(name: .long, help: ArgumentHelp("A labelled pairs file to score instead of screening a name.", valueName: "file"))
    var eval: String?

    @Flag(name: .long, help: ArgumentHelp("Score each --list against itself, persons and organisations apart: names against their own aliases (should match), against other entries sharing two words of their names and against other entries whose two-word names differ in one (should not)."))
    var evalList = false

    @Flag(name: .long, help: "With --eval or --eval-list: also list the pairs the matcher got wrong.")
    var mistakes = false

    @Argument(help: ArgumentHelp("The name to screen.", valueName: "name"))
    var name: String?

    /// Whether an identifier other than a name is to be looked up.
    var identifiers: Bool { account != nil || bic != nil || phone != nil || email != nil }

    func validate() throws {
        if !(0...1).contains(threshold) { throw ValidationError("--threshold must be between 0 and 1") }
        if !(1...1_000).contains(limit) { throw ValidationError("--limit must be between 1 and 1000") }
        if let p = ScreeningQuery.problem(kind: kind) { throw ValidationError("--kind \(p)") }
        if let dob, let p = ScreeningQuery.problem(birthDate: dob) { throw ValidationError("--dob \(p)") }
        if let country, let p = ScreeningQuery.problem(country: country) { throw ValidationError("--country \(p)") }
        if let bic, let p = ScreeningQuery.problem(bic: bic) { throw ValidationError("--bic \(p)") }
        if let phone, let p = ScreeningQuery.problem(phone: phone) { throw ValidationError("--phone \(p)") }
        if let email, let p = ScreeningQuery.problem(email: email) { throw ValidationError("--email \(p)") }
        if batch != nil {
            if name != nil { throw ValidationError("give a name or --batch FILE, not both") }
            if identifiers { throw ValidationError("--account, --bic, --phone and --email are for one query, not a batch") }
            if dob != nil || country != nil || document != nil {
                throw ValidationError("--dob, --country and --document are for one name; a batch gives them in its birth_date, country and document columns")
            }
        }
        _ = try Self.lists(list)
    }

    /// The `--list NAME=FILE` options (here and in `vigil bench --mode screen`), each split at its
    /// first `=`. A hit names the list it came from, so two lists of one name are refused.
    static func lists(_ specs: [String]) throws -> [(name: String, path: String)] {
        var names = Set<String>()
        return try specs.map { spec in
            guard let eq = spec.firstIndex(of: "="), eq != spec.startIndex else { throw ValidationError("--list '\(spec)': expected NAME=FILE") }
            let name = String(spec[..<eq])
            guard names.insert(name).inserted else { throw ValidationError("--list: the name '\(name)' is given twice; each list needs its own") }
            return (name, String(spec[spec.index(after: eq)...]))
        }
    }

    func run() async throws {
        try await Self.reporting {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
            if let eval {
                guard let data = FileManager.default.contents(atPath: eval) else { throw CLIError.unreadable(eval) }
                let outcome: NameEvaluation.Outcome
                if eval.hasSuffix(".yml") || eval.hasSuffix(".yaml") {
                    let pairs = try Self.entityChecks(String(decoding: data, as: UTF8.self), file: eval)
                    outcome = .cases(NameEvaluation.evaluate(pairs, file: eval, threshold: threshold, listMistakes: mistakes))
                } else {
                    do { outcome = try NameEvaluation.evaluate(Array(data), file: eval, threshold: threshold, listMistakes: mistakes) } catch {
                        throw CLIError("\(error)")
                    }
                }
                switch outcome {
                case .cases(let r): LineWriter().write(Array(try encoder.encode(r)))
                case .crossScript(let r): LineWriter().write(Array(try encoder.encode(r)))
                }
                return
            }
            guard evalList || batch != nil || identifiers || document != nil || name?.trimmingCharacters(in: .whitespaces).isEmpty == false else {
                throw CLIError("give a name to screen, or --account, --bic, --phone, --email or --document to look up (or --batch FILE, --eval FILE, or --eval-list)")
            }
            guard !list.isEmpty else { throw CLIError("give at least one --list NAME=FILE") }
            var lists: [Watchlist] = []
            for spec in try Self.lists(list) {
                do { lists.append(try WatchlistLoader.load(name: spec.name, path: spec.path)) } catch { throw CLIError("\(error)") }
            }
            if evalList {
                for l in lists { LineWriter().write(Array(try encoder.encode(NameEvaluation.withinList(l, threshold: threshold, listMistakes: mistakes)))) }
                return
            }
            var options = ScreeningOptions()
            options.threshold = threshold
            options.limit = limit
            let screener = Screener(lists: lists, options: options)
            if let batch {
                let rows: [ScreeningBatch.Row]
                do { rows = try ScreeningBatch.read(batch, kind: NameKind(given: kind)!) } catch { throw CLIError("\(error)") }
                let lines = JSONEncoder()
                lines.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
                let out = LineWriter()
                try await ScreeningBatch.screen(rows, with: screener) { results in
                    for r in results { out.write(Array(try lines.encode(r))) }
                }
                return
            }
            let query = ScreeningQuery(name: name ?? "", kind: NameKind(given: kind)!, birthDate: dob,
                                       country: country, document: document)
            var result = screener.screen(query)
            // What lists give besides names: each listed one is a match resting on it alone.
            result.matches += account.map(screener.screen(address:)) ?? []
            result.matches += bic.map(screener.screen(bic:)) ?? []
            result.matches += phone.map(screener.screen(phone:)) ?? []
            result.matches += email.map(screener.screen(email:)) ?? []
            LineWriter().write(Array(try encoder.encode(result)))
        }
    }

    /// nomenklatura's entity checks (`checks:`, each with `match`, `schema`, and a `query` and a
    /// `candidate` holding a `name` — a text or a list, whose first is taken — or the parts
    /// `firstName`, `middleName`, `fatherName`, `lastName`) as name pairs grouped by schema. What
    /// else a check says of an entity (birth dates, countries) is left out: these score names.
    static func entityChecks(_ text: String, file: String) throws -> [NameEvaluation.LabelledPair] {
        let root: Node?
        do { root = try Yams.compose(yaml: text) } catch { throw CLIError("\(file): not YAML: \(error)") }
        guard let checks = root?["checks"]?.sequence else { throw CLIError("\(file): no 'checks' list (nomenklatura's checks.yml layout)") }
        func at(_ n: Node) -> String { n.mark.map { "\(file): line \($0.line)" } ?? file }
        func name(_ entity: Node?, _ side: String, in check: Node) throws -> String {
            guard let entity else { throw CLIError("\(at(check)): check has no '\(side)'") }
            if let names = entity["name"] {
                if let text = names.string ?? names.sequence?.first?.string, !text.isEmpty { return text }
                throw CLIError("\(at(names)): '\(side).name' is not a name or a list of names")
            }
            let parts = ["firstName", "middleName", "fatherName", "lastName"].compactMap { entity[$0]?.string }
            guard !parts.isEmpty else { throw CLIError("\(at(entity)): '\(side)' has no name (name, or firstName/lastName)") }
            return parts.joined(separator: " ")
        }
        return try checks.map { check in
            guard let match = check["match"]?.bool else { throw CLIError("\(at(check)): check has no 'match' (true or false)") }
            let schema = check["schema"]?.string ?? "Thing"
            return NameEvaluation.LabelledPair(group: schema, kind: NameKind(schema: schema), name1: try name(check["query"], "query", in: check),
                                               name2: try name(check["candidate"], "candidate", in: check), match: match)
        }
    }
}
