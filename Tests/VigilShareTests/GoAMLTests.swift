import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Testing
import VigilCore
@testable import VigilShare

/// goAML report drafts: their structure (always checked) and their validity against the goAML
/// 5.0.2 schema (checked when the schema and xmllint are on this machine; the schema may not be
/// copied into the project).
@Suite("goAML report drafts")
struct GoAMLTests {
    static let schema = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("../shared/data/payments/goaml/schema/goAMLSchema-5.0.2-patched-xsd10.xsd").standardized.path
    static let xmllint = ["/usr/bin/xmllint", "/usr/local/bin/xmllint"].first { FileManager.default.isExecutableFile(atPath: $0) }

    static func alerts() -> [Alert] {
        var account = SharingTests.alert()
        account.findings[0].explanation = "3 deposits < 10,000 & \"structured\" by ACC"
        var traveller = SharingTests.alert()
        traveller.id = "al-traveller"
        traveller.findings = [.init(kind: .screening, id: "watchlist", version: 3, score: 0.93, explanation: "name ~ entry W-1")]
        traveller.subject = .init(field: "traveller.document", value: "P7654321", name: "IVAN SIDORENKO", dob: "1970-04-05",
                                  document: "P7654321", nationality: "RUS")  // alpha-3, as PAXLST gives it
        traveller.reviewOnly = true
        var again = account
        again.id = "al-again"
        return [account, traveller, again]
    }

    static func report(_ code: GoAMLReport.ReportCode = .str) -> GoAMLReport {
        GoAMLReport(entityID: "101", reportCode: code, currency: "EUR", indicators: ["structuring-cash": "STRUC", "watchlist": "TFSUN"],
                    defaultIndicator: nil, submissionDate: EventTime(seconds: 1_717_000_000))
    }

    @Test("one report party per subject, findings as reasons, unknown required values named")
    func structure() throws {
        let xml = try Self.report().xml(for: Self.alerts())
        let doc = try XMLDocument(data: Data(xml.utf8))
        func texts(_ path: String) throws -> [String] { try doc.nodes(forXPath: path).map { $0.stringValue ?? "" } }
        #expect(try texts("/report/rentity_id") == ["101"])
        #expect(try texts("/report/report_code") == ["STR"])
        #expect(try texts("/report/submission_date") == ["2024-05-29T16:26:40"])
        #expect(try texts("/report/currency_code_local") == ["EUR"])
        #expect(try texts("/report/report_indicators/indicator") == ["STRUC", "TFSUN"])
        #expect(try doc.nodes(forXPath: "/report/activity/report_parties/report_party").count == 2)
        #expect(try texts("//report_party/account/account") == ["DE89370400440532013000"])
        #expect(try texts("//report_party/account/swift") == ["COBADEFFXXX"])
        #expect(try texts("//report_party/account/account_name") == ["Jane Q Doe"])
        #expect(try texts("//report_party/account/comments").first?.contains("balance, status") == true)
        #expect(try texts("//report_party/person/first_name") == ["IVAN"] && texts("//report_party/person/last_name") == ["SIDORENKO"])
        #expect(try texts("//report_party/person/passport_number") == ["P7654321"])
        // goAML's country codes are alpha-2: the traveller's alpha-3 nationality is written as one.
        #expect(try texts("//report_party/person/passport_country") == ["RU"] && texts("//report_party/person/nationality1") == ["RU"])
        #expect(try texts("//report_party/person/birthdate") == ["1970-04-05T00:00:00"])
        // Escaped text comes back as written; both alerts on the account are its reasons.
        let reasons = try texts("//report_party/reason")
        #expect(reasons[0].components(separatedBy: "\n") == Array(repeating: "structuring-cash@1 (0.9): 3 deposits < 10,000 & \"structured\" by ACC", count: 2))
        #expect(try texts("//report_party/comments")[1].contains("review only"))
        // The same alerts, the same reference.
        #expect(try Self.report(.sar).xml(for: Self.alerts().reversed()).contains(try texts("/report/entity_reference")[0]))
    }

    @Test("partner copies and alerts without an indicator are refused, saying which")
    func refusals() {
        var copy = SharingTests.alert()
        copy.subject.value = "ps:5d3d08aaaf9e7f8caff91a430586a4f7"
        copy.redactions = ["subject.value": "pseudonymise"]
        #expect(throws: GoAMLReport.Failure(description: "alert al-0123456789abcdef is a partner's copy (fields redacted or pseudonymised): goAML drafts are made from the unit's own alerts")) {
            try Self.report().xml(for: [copy])
        }
        var other = SharingTests.alert()
        other.findings[0].id = "large-cash"
        #expect(throws: GoAMLReport.Failure.self) { try Self.report().xml(for: [other]) }
        var withDefault = Self.report()
        withDefault.defaultIndicator = "LRGCS"
        #expect((try? withDefault.xml(for: [other]))?.contains("<indicator>LRGCS</indicator>") == true)
    }

    @Test("the draft validates against the goAML 5.0.2 schema",
          .enabled(if: FileManager.default.fileExists(atPath: GoAMLTests.schema) && GoAMLTests.xmllint != nil,
                   "skipped: needs the goAML schema at ../shared/data/payments/goaml/schema/ (not redistributable) and xmllint (libxml2-utils)"))
    func validates() throws {
        for code in GoAMLReport.ReportCode.allCases {
            let path = FileManager.default.temporaryDirectory.appendingPathComponent("goaml-\(UUID().uuidString).xml").path
            try Self.report(code).xml(for: Self.alerts()).write(toFile: path, atomically: true, encoding: .utf8)
            let p = Process()
            p.executableURL = URL(fileURLWithPath: Self.xmllint!)
            p.arguments = ["--noout", "--schema", Self.schema, path]
            let err = Pipe()
            p.standardError = err
            try p.run()
            p.waitUntilExit()
            let message = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            #expect(p.terminationStatus == 0, "\(code.rawValue): \(message)")
            #expect(message.contains("validates"))
        }
    }
}
