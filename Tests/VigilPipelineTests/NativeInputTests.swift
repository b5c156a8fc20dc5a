import Foundation
import Testing
import VigilCore
import VigilDetect
import VigilKafka
@testable import VigilPipeline
import VigilFormats

/// Pipelines that read native formats: the declared format decodes each topic, a bad message
/// is dead-lettered with the decoder's located reason, a message of many transactions is
/// detected transaction by transaction.
@Suite struct NativeInputTests {
    static let pipelineText = """
        pipeline: { name: wires, version: 1.0.0 }
        inputs:
          - { topic: fin.iso20022, format: pacs008 }
          - { topic: fin.json, format: json }
        rules:
          - id: large-wire
            version: 1
            kind: predicate
            where: amount >= 100000 and currency == "EUR" and channel == "wire"
            subject: debtor.account
        """

    static func pacs008(_ txs: [(id: String, amount: String)]) -> [UInt8] {
        let body = txs.map { t in
            """
            <CdtTrfTxInf><PmtId><EndToEndId>\(t.id)</EndToEndId></PmtId>
            <IntrBkSttlmAmt Ccy="EUR">\(t.amount)</IntrBkSttlmAmt>
            <Dbtr><Nm>A</Nm></Dbtr><DbtrAcct><Id><IBAN>DE89370400440532013000</IBAN></Id></DbtrAcct>
            <Cdtr><Nm>B</Nm></Cdtr><CdtrAcct><Id><Othr><Id>123</Id></Othr></Id></CdtrAcct></CdtTrfTxInf>
            """
        }.joined()
        return Array("""
            <Document xmlns="urn:iso:std:iso:20022:tech:xsd:pacs.008.001.02"><FIToFICstmrCdtTrf>
            <GrpHdr><MsgId>M1</MsgId><CreDtTm>2024-03-01T09:30:00</CreDtTm></GrpHdr>\(body)
            </FIToFICstmrCdtTrf></Document>
            """.utf8)
    }

    @Test func declaredFormatsDecodeDetectAndDeadLetter() throws {
        let p = try PipelineDefinition.parse(Self.pipelineText, file: "wires.yaml")
        let topics = p.topics(from: VigilConfig())
        #expect(topics.effectiveInputs.map(\.topic) == ["fin.iso20022", "fin.json"])
        #expect(topics.all.contains("fin.iso20022"))
        let engine = PipelineEngine(pipeline: p, topics: topics, limits: WindowLimits())

        let message = ConsumedMessage(topic: "fin.iso20022", partition: 0, offset: 7,
                                      value: Self.pacs008([("E2E-1", "250000.00"), ("E2E-2", "90.00"), ("E2E-3", "100000")]))
        let alerts = engine.process(message).compactMap(\.alert)
        #expect(alerts.map { $0.evidence.map(\.eventId) } == [["E2E-1"], ["E2E-3"]])
        #expect(alerts.first?.subject.value == "DE89370400440532013000")
        #expect(alerts.first?.evidence.first?.offset == 7)
        #expect(alerts.first?.ts == EventTime(rfc3339: "2024-03-01T09:30:00Z"))

        // Truncated XML: one dead letter, the original bytes, the decoder's reason in headers.
        let broken = ConsumedMessage(topic: "fin.iso20022", partition: 0, offset: 8, value: Array(Self.pacs008([("X", "1")]).dropLast(40)))
        let out = engine.process(broken)
        #expect(out.count == 1)
        let dlq = try #require(out.first?.record)
        #expect(dlq.topic == topics.deadLetter)
        #expect(dlq.value == broken.value)
        let reason = dlq.headers.first(where: { $0.name == VigilHeaders.error }).map { String(decoding: $0.value ?? [], as: UTF8.self) }
        #expect(reason?.hasPrefix("field 'line ") == true)
        #expect(reason?.contains("pacs008: malformed XML: ") == true)

        // The JSON input keeps the canonical decoder (and its field-level errors).
        let json = ConsumedMessage(topic: "fin.json", partition: 0, offset: 0, value: Array(#"{"id":"j"}"#.utf8))
        let jsonOut = engine.process(json)
        let jsonReason = jsonOut.first?.record.headers.first(where: { $0.name == VigilHeaders.errorField })
        #expect(jsonReason.map { String(decoding: $0.value ?? [], as: UTF8.self) } == "ts")
    }

    @Test func csvMappingAndCardKeyFromConfiguration() throws {
        let text = """
            formats:
              csv:
                columns: { id: TXN_ID, debtor.account: ACCOUNT_ID, creditor.account: CP, amount: AMT, ts: start }
                time: steps 2017-01-01T00:00:00Z 1d
                currency: USD
            """
        let config = try VigilConfig.parse(text, file: "c.yaml", environment: ["VIGIL_CARD_HASH_KEY": "s3cret"])
        #expect(config.formats.cardHashKey == "s3cret")
        #expect(config.renderedYAML.contains("card-hash-key: \"***\""))
        #expect(!config.renderedYAML.contains("s3cret"))
        let csv = "TXN_ID,ACCOUNT_ID,CP,AMT,start\n7,a,b,12.5,3\n"
        let events = try FeedDecoder.decode(Array(csv.utf8), as: .csv, options: config.formats.decodeOptions)
        guard case .transaction(let t) = events.first else { Issue.record("no transaction"); return }
        #expect(t.ts == EventTime(rfc3339: "2017-01-04T00:00:00Z"))
        #expect(t.amount == Decimal(string: "12.5"))
        let bad = text.replacingOccurrences(of: "steps 2017-01-01T00:00:00Z 1d", with: "fortnightly")
        let e = #expect(throws: ConfigError.self) { try VigilConfig.parse(bad, file: "c.yaml") }
        #expect(e?.description.contains("c.yaml:4") == true)
        #expect(e?.description.contains("'fortnightly' is not a time format") == true)
    }

    /// A CSV row fed from a file is named by its line in that file (headers set by the feeder),
    /// exactly as `vigil parse` names it; a row from elsewhere by its topic, partition and offset.
    @Test func csvRowsAreNamedByFileLineOrOrigin() throws {
        let p = try PipelineDefinition.parse("""
            pipeline: { name: csv, version: 1.0.0 }
            inputs: [{ topic: fin.csv, format: csv }]
            rules: [{ id: any, version: 1, kind: predicate, where: amount >= 10 }]
            """, file: "csv.yaml")
        let config = try VigilConfig.parse("""
            formats: { csv: { columns: { ts: T, amount: A, debtor.account: D, creditor.account: C }, currency: EUR } }
            """, file: "c.yaml")
        let engine = PipelineEngine(pipeline: p, topics: p.topics(from: config), limits: WindowLimits(), decodeOptions: config.formats.decodeOptions)
        let row = Array("T,A,D,C\n2024-03-01T09:00:00Z,25,x,y\n".utf8)
        let fed = ConsumedMessage(topic: "fin.csv", partition: 0, offset: 3, value: row,
                                  headers: [KafkaHeader(VigilHeaders.sourceFile, "export.csv"), KafkaHeader(VigilHeaders.sourceLineOffset, "5")])
        #expect(engine.process(fed).compactMap(\.alert).map { $0.evidence.map(\.eventId) } == [["export.csv:7"]])
        let other = ConsumedMessage(topic: "fin.csv", partition: 0, offset: 4, value: row)
        #expect(engine.process(other).compactMap(\.alert).map { $0.evidence.map(\.eventId) } == [["fin.csv/0/4:2"]])
    }

    @Test("a statement export is split into statements; a bad line is dead-lettered with its line in the file")
    func statementsThroughThePipeline() throws {
        let p = try PipelineDefinition.parse("""
            pipeline: { name: statements, version: 1.0.0 }
            inputs: [{ topic: fin.statements, format: mt940 }]
            rules: [{ id: large-debit, version: 1, kind: predicate, where: amount >= 1000, subject: debtor.account }]
            """, file: "s.yaml")
        let engine = PipelineEngine(pipeline: p, topics: p.topics(from: VigilConfig()), limits: WindowLimits())
        let export = Array("""
            BANKDEFFXXX
            :20:S1
            :25:50070010/9876543210
            :28C:1/1
            :60F:C240311EUR5000,00
            :61:240312D1500,NTRFNONREF//REF-1
            :86:166?00GUTSCHRIFT?20Miete?31DE89370400440532013000?32Vermieter AG
            :62F:C240312EUR3500,00
            -
            :20:S2
            :25:50070010/9876543210
            :28C:2/1
            :60F:C240312EUR3500,00
            :61:240313X99,NTRFNONREF
            :62F:C240313EUR3401,00
            -
            """.utf8)
        let messages = FeedDecoder.split(export, as: .mt940)
        #expect(messages.map(\.lineOffset) == [1, 9])
        func consumed(_ m: FeedMessage, _ offset: Int64) -> ConsumedMessage {
            ConsumedMessage(topic: "fin.statements", partition: 0, offset: offset, value: m.bytes,
                            headers: [KafkaHeader(VigilHeaders.sourceFile, "march.sta"), KafkaHeader(VigilHeaders.sourceLineOffset, String(m.lineOffset))])
        }
        let alerts = engine.process(consumed(messages[0], 0)).compactMap(\.alert)
        #expect(alerts.map { $0.evidence.map(\.eventId) } == [["REF-1"]])
        #expect(alerts.first?.subject.value == "9876543210")
        let dead = try #require(engine.process(consumed(messages[1], 1)).first?.record)
        #expect(dead.topic == p.topics(from: VigilConfig()).deadLetter)
        let reason = dead.headers.first(where: { $0.name == VigilHeaders.error }).map { String(decoding: $0.value ?? [], as: UTF8.self) }
        // Line 14 of the file: the second statement's :61:.
        #expect(reason?.contains("line 14, field :61:") == true)
        #expect(reason?.contains("no debit/credit mark") == true)
    }

    @Test func inputErrorsPointAtTheFile() {
        let bad = Self.pipelineText.replacingOccurrences(of: "format: pacs008", with: "format: pacs.008")
        let e = #expect(throws: ConfigError.self) { try PipelineDefinition.parse(bad, file: "wires.yaml") }
        #expect(e?.description.contains("wires.yaml:3") == true)
        #expect(e?.description.contains("unknown format 'pacs.008'") == true)
    }

    @Test func cliParseReportsPerFileAndExitsNonZero() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-parse-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let good = dir.appendingPathComponent("good.xml"), bad = dir.appendingPathComponent("bad.xml")
        try Data(Self.pacs008([("E2E-1", "250000.00")])).write(to: good)
        try Data("<Document>".utf8).write(to: bad)
        let r = try await vigil(["parse", bad.path, good.path])
        #expect(r.status == 1)
        #expect(r.stderr.contains("bad.xml: iso20022: line 1: malformed XML"))
        let tx = try CanonicalDecoder.transaction(from: Array(r.stdout.split(separator: "\n").first.map { Array($0.utf8) } ?? []))
        #expect(tx.id == "E2E-1")
        #expect(tx.amount == Decimal(250_000))
    }
}

/// Cross-feed correlation on native messages end to end: a pacs.008 whose debtor's passport the
/// bank states, flagged by a rule; then GTAS's PNRGOV sample, whose traveller holds that passport.
@Suite struct NativeCorrelationTests {
    static let pipelineText = """
        pipeline: { name: cross, version: 1.0.0 }
        inputs:
          - { topic: fin.iso20022, format: pacs008 }
          - { topic: pax.pnr, format: pnrgov }
        rules:
          - { id: large-wire, version: 1, kind: predicate, where: amount >= 100000 }
          - { id: flagged-travel, version: 1, kind: correlation, flagged-by: [large-wire], within: 30d }
        """

    static func wire(day: Int, passport: String) -> [UInt8] {
        Array("""
            <Document xmlns="urn:iso:std:iso:20022:tech:xsd:pacs.008.001.02"><FIToFICstmrCdtTrf>
            <GrpHdr><MsgId>M1</MsgId><CreDtTm>2010-12-\(String(format: "%02d", day))T09:30:00</CreDtTm></GrpHdr>
            <CdtTrfTxInf><PmtId><EndToEndId>E2E-1</EndToEndId></PmtId><IntrBkSttlmAmt Ccy="EUR">150000</IntrBkSttlmAmt>
            <Dbtr><Nm>Jonathon Smith</Nm><Id><PrvtId><Othr><Id>\(passport)</Id><SchmeNm><Cd>CCPT</Cd></SchmeNm></Othr></PrvtId></Id></Dbtr>
            <DbtrAcct><Id><IBAN>GB29NWBK60161331926819</IBAN></Id></DbtrAcct>
            <Cdtr><Nm>B</Nm></Cdtr><CdtrAcct><Id><Othr><Id>123</Id></Othr></Id></CdtrAcct></CdtTrfTxInf>
            </FIToFICstmrCdtTrf></Document>
            """.utf8)
    }

    func findings(_ wire: [UInt8], pipeline: String = pipelineText, finding: String = "flagged-travel") throws -> [Alert] {
        let p = try PipelineDefinition.parse(pipeline, file: "cross.yaml")
        let engine = PipelineEngine(pipeline: p, topics: p.topics(from: VigilConfig()), limits: WindowLimits(),
                                    decodeOptions: DecodeOptions(cardHashKey: Array("test-key".utf8)))
        let pnr = try Data(contentsOf: repoRoot.appendingPathComponent("Tests/VigilFormatsTests/Fixtures/passenger/gtas/2_pnrs_basic.edi"))
        let outputs = engine.process(ConsumedMessage(topic: "fin.iso20022", partition: 0, offset: 0, value: wire))
            + engine.process(ConsumedMessage(topic: "pax.pnr", partition: 0, offset: 0, value: Array(pnr)))
        for o in outputs where o.alert == nil { Issue.record("dead letter: \(o.record.headers.first(named: VigilHeaders.error) ?? "")") }
        return outputs.compactMap(\.alert).filter { $0.findings[0].id == finding }
    }

    @Test("a wire's debtor, flagged, travels on a PNRGOV booking under the same passport")
    func linked() throws {
        let alerts = try findings(Self.wire(day: 1, passport: "123456789"))
        try #require(alerts.count == 1)
        #expect(alerts[0].subject == Alert.Subject(field: "debtor.account", value: "GB29NWBK60161331926819"))
        #expect(alerts[0].evidence.map(\.topic) == ["fin.iso20022", "pax.pnr"])
        #expect(alerts[0].findings[0].explanation.hasPrefix("traveller SMITHJR/MRJONATHON ROBERT (booking MFN4TI, DL324 LHR→YVR"))
        #expect(alerts[0].findings[0].explanation.hasSuffix("linked by document (123456789)"))
    }

    @Test("no link for another passport, or a flag after the booking")
    func notLinked() throws {
        #expect(try findings(Self.wire(day: 1, passport: "987654321")).isEmpty)
        #expect(try findings(Self.wire(day: 10, passport: "123456789")).isEmpty)
    }

    @Test("a typology can flag the party too")
    func flaggedByTypology() throws {
        let pipeline = """
            pipeline: { name: cross, version: 1.0.0 }
            inputs:
              - { topic: fin.iso20022, format: pacs008 }
              - { topic: pax.pnr, format: pnrgov }
            rules:
              - { id: large-wire, version: 1, kind: predicate, where: amount >= 100000 }
              - { id: flagged-travel, version: 1, kind: correlation, flagged-by: [big-mover], within: 30d }
            typologies:
              - { id: big-mover, version: 1, rules: { large-wire: 1 }, threshold: 1 }
              - { id: big-mover-travels, version: 1, rules: { flagged-travel: 1 }, threshold: 1, review-only: true }
            """
        let alerts = try findings(Self.wire(day: 1, passport: "123456789"), pipeline: pipeline, finding: "big-mover-travels")
        try #require(alerts.count == 1)
        #expect(alerts[0].findings.map(\.id) == ["big-mover-travels", "flagged-travel"])
        #expect(alerts[0].findings[1].explanation.contains("flagged by big-mover@1"))
        #expect(alerts[0].reviewOnly == true)
    }
}
