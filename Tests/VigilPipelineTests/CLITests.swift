import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing
import VigilCore
import VigilDetect
import VigilKafka
@testable import VigilPipeline
import VigilShare

/// The built `vigil` executable (SwiftPM puts it next to the test bundle).
let vigilBinary: String = {
    let dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    for candidate in [dir, dir.deletingLastPathComponent()] {
        let path = candidate.appendingPathComponent("vigil").path
        if FileManager.default.isExecutableFile(atPath: path) { return path }
    }
    return repoRoot.appendingPathComponent(".build/debug/vigil").path
}()

/// A child process whose output is collected as it arrives.
final class Child: @unchecked Sendable {
    let process = Process()
    private let lock = NSLock()
    /// Standard output and standard error as read so far, and whether each pipe has ended
    /// (then all of that stream is here).
    private var output = [Data(), Data()]
    private var ended = [false, false]

    init(_ executable: String, _ arguments: [String], environment: [String: String] = [:], directory: URL = repoRoot) throws {
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.currentDirectoryURL = directory
        var env = ProcessInfo.processInfo.environment
        // Children run in the working copy and read its config/default.yaml, whose audit log is
        // audit/disclosures.jsonl: no test's disclosures may join a developer's hash chain there
        // (or leave the file behind). A test about the log names its own.
        env["VIGIL_AUDIT_LOG"] = ""
        for (k, v) in environment { env[k] = v }
        process.environment = env
        let o = Pipe(), e = Pipe()
        process.standardOutput = o
        process.standardError = e
        process.standardInput = FileHandle.nullDevice
        try process.run()
        // A blocking read loop per pipe, on its own thread: readability handlers missed the last
        // of the output of a child that exited at once on a busy machine. An empty read is the
        // end of the pipe (the child exited and closed it).
        for (n, pipe) in [o, e].enumerated() {
            Thread.detachNewThread { [self] in
                while case let d = pipe.fileHandleForReading.availableData, !d.isEmpty { lock.withLock { output[n].append(d) } }
                lock.withLock { ended[n] = true }
            }
        }
    }

    var stdout: String { lock.withLock { String(decoding: output[0], as: UTF8.self) } }
    var stderr: String { lock.withLock { String(decoding: output[1], as: UTF8.self) } }
    var stdoutLines: [String] { stdout.split(separator: "\n").map(String.init) }

    /// Waits until standard output has a line satisfying `predicate`.
    func waitForLine(timeout: Duration = .seconds(60), _ predicate: (String) -> Bool) async throws -> String? {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let line = stdoutLines.first(where: predicate) { return line }
            if !process.isRunning { return stdoutLines.first(where: predicate) }
            try await Task.sleep(for: .milliseconds(50))
        }
        return nil
    }

    /// Waits for exit (SIGKILL after the timeout) and returns the status.
    func wait(timeout: Duration = .seconds(60)) async throws -> Int32 {
        let deadline = ContinuousClock.now + timeout
        while process.isRunning, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(50)) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        // Exit comes before the readers have read the last of the output: wait for both pipes'
        // ends (a fixed pause here lost output on a busy machine).
        let drained = ContinuousClock.now + .seconds(10)
        while !lock.withLock({ ended.allSatisfy { $0 } }), ContinuousClock.now < drained { try await Task.sleep(for: .milliseconds(10)) }
        return process.terminationStatus
    }

    func signal(_ s: Int32) { kill(process.processIdentifier, s) }
}

func vigil(_ args: [String], environment: [String: String] = [:]) async throws -> (status: Int32, stdout: String, stderr: String) {
    let c = try Child(vigilBinary, args, environment: environment)
    let status = try await c.wait()
    return (status, c.stdout, c.stderr)
}

func temporaryDirectory() throws -> URL {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-test-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    return dir
}

@Suite("The vigil command line", .serialized, .timeLimit(.minutes(3)))
struct CLITests {
    @Test("scripts/every-detector.sh assembles one pipeline with every shipped detector, which loads")
    func everyDetector() async throws {
        let script = try Child("/bin/bash", ["scripts/every-detector.sh", "--print"])
        #expect(try await script.wait() == 0)
        let file = try temporaryDirectory().appendingPathComponent("every-detector.yaml")
        try script.stdout.write(to: file, atomically: true, encoding: .utf8)
        let shipped = try PipelineDefinition.load(file: repoRoot.appendingPathComponent("pipelines/typologies.yaml").path)
        let p = try PipelineDefinition.load(file: file.path)
        #expect(p.rules.definitions.map(\.id) == shipped.rules.definitions.map(\.id))
        #expect(p.typologies.definitions.count == shipped.typologies.definitions.count + 3)
        #expect(p.anomaly == (try PipelineDefinition.load(file: repoRoot.appendingPathComponent("pipelines/anomaly.yaml").path).anomaly))
        #expect(p.screening?.lists.map(\.name) == ["sample"])
        let validated = try await vigil(["validate", file.path])
        #expect(validated.status == 0)
        let missing = try Child("/bin/bash", ["scripts/every-detector.sh", "--list", "UN=/no/such.xml", "--print"])
        #expect(try await missing.wait() != 0)
        #expect(missing.stderr.contains("--list UN=/no/such.xml: no such file"))
    }

    @Test("vigil bench --mode decode: a rate per file; a batch's malformed message left out and named, a lone one an error")
    func decodeBench() async throws {
        let fixtures = "Tests/VigilFormatsTests/Fixtures/payments/"
        let batch = shipped(fixtures + "swift_mt/MT103-out-ack.rje"), transfer = shipped(fixtures + "fedwire_faim/fedWireMessage-CustomerTransfer.txt")
        var r = try await vigil(["bench", "--mode", "decode", "--seconds", "0.3", batch, transfer])
        #expect(r.status == 0, "\(r.stderr)")
        let lines = try r.stdout.split(separator: "\n").map { try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]) }
        try #require(lines.count == 2)
        // 13 messages, the 11th cut short: the other 12 are timed.
        #expect(lines[0]["file"] as? String == "MT103-out-ack.rje" && lines[0]["format"] as? String == "mt103")
        #expect(lines[0]["messages"] as? Int == 12 && lines[0]["leftOut"] as? Int == 1)
        #expect((lines[0]["messagesPerSecond"] as? Int ?? 0) > 0 && lines[0]["eventsPerSecond"] as? Int == lines[0]["messagesPerSecond"] as? Int)
        #expect(r.stderr.contains("MT103-out-ack.rje (message 11 of 13) left out: mt103: line 20: expected a block '{n:'"), "\(r.stderr)")
        #expect(lines[1]["format"] as? String == "fedwire" && lines[1]["messages"] as? Int == 1 && lines[1]["leftOut"] as? Int == 0)
        #expect((lines[1]["megabytesPerSecond"] as? Double ?? 0) > 0)

        r = try await vigil(["bench", "--mode", "decode", "--seconds", "0.1", shipped(fixtures + "fedwire_faim/fedWireMessage-InvalidTag.txt")])
        #expect(r.status == 1 && r.stderr.contains("fedWireMessage-InvalidTag.txt: fedwire: line"), "\(r.stderr)")
        #expect(r.stderr.contains("unknown tag"), "\(r.stderr)")
    }

    @Test("vigil backtest prints the table, writes the JSON report, and says when the data set cannot be read")
    func backtest() async throws {
        let dir = try temporaryDirectory()
        let json = dir.appendingPathComponent("report.json").path
        let fixtures = "Tests/VigilReplayTests/Fixtures/amlsim/"
        let r = try await vigil(["backtest", "--config", shipped("config/amlsim.yaml"), "--pipeline", shipped("pipelines/amlsim.yaml"),
                                 "--format", "csv", "--transactions", shipped(fixtures + "transactions.csv"),
                                 "--labels", shipped(fixtures + "nodes.csv"), "--json", json])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("pair-repeat@1") && r.stdout.contains("(all rules)") && r.stdout.contains("0 dead letters"))
        let report = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: json))) as? [String: Any]
        #expect((report?["events"] as? Int) == 19_035)
        let missing = try await vigil(["backtest", "--transactions", dir.appendingPathComponent("nope.csv").path])
        #expect(missing.status == 1 && missing.stderr.contains("cannot read") && missing.stderr.contains("no such file"))
    }

    @Test("vigil bench --mode screen screens names drawn from the lists, or a file's names in turn; a bad names file is one clear line")
    func screeningBench() async throws {
        let list = shipped("pipelines/lists/watchlist-sample.csv")
        var r = try await vigil(["bench", "--mode", "screen", "--list", "SAMPLE=\(list)", "--events", "300"])
        #expect(r.status == 0, "\(r.stderr)")
        var report = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        #expect(report["queriesFrom"] as? String == "lists" && report["queries"] as? Int == 300)
        #expect((report["matched"] as? Int ?? 0) > 0)
        // Every name screened as listed finds its own entry; a names file has no such count.
        let own = report["ownEntryFound"] as? [String: [String: Int]]
        #expect(own?["asListed"] == ["queries": 100, "found": 100] && own?["misspelt"]?["queries"] == 100)

        let dir = try temporaryDirectory()
        let names = dir.appendingPathComponent("parties.txt").path
        try "Holder of ACC-000123\n\nSidorenko Ivan Petrovich\nSomeone Else Entirely\n".write(toFile: names, atomically: true, encoding: .utf8)
        r = try await vigil(["bench", "--mode", "screen", "--list", "SAMPLE=\(list)", "--names", names, "--events", "300"])
        #expect(r.status == 0, "\(r.stderr)")
        report = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        // Three names in turn, the listed one a third of the time.
        #expect(report["queriesFrom"] as? String == names && report["queries"] as? Int == 300 && report["matched"] as? Int == 100)
        #expect(report["ownEntryFound"] == nil)

        let empty = dir.appendingPathComponent("empty.txt").path
        try "\n  \n".write(toFile: empty, atomically: true, encoding: .utf8)
        r = try await vigil(["bench", "--mode", "screen", "--list", "SAMPLE=\(list)", "--names", empty])
        #expect(r.status == 1 && r.stderr.contains("\(empty): no names (one a line)"))
        r = try await vigil(["bench", "--mode", "screen", "--list", "SAMPLE=\(list)", "--names", dir.appendingPathComponent("none.txt").path])
        #expect(r.status == 1 && r.stderr.contains("none.txt': no such file"))
        r = try await vigil(["bench", "--mode", "rules", "--names", names])
        #expect(r.status != 0 && r.stderr.contains("--names applies to --mode screen"))
        // The --list options read as vigil screen reads them.
        r = try await vigil(["bench", "--mode", "screen", "--list", "SAMPLE=\(list)", "--list", "SAMPLE=\(list)"])
        #expect(r.status != 0 && r.stderr.contains("the name 'SAMPLE' is given twice"))
    }

    @Test("vigil screen --batch screens a CSV of names, one JSON line per row in file order; a bad row is an error naming its place, and nothing is screened")
    func screenBatch() async throws {
        let list = shipped("pipelines/lists/watchlist-sample.csv")
        let dir = try temporaryDirectory()
        let batch = dir.appendingPathComponent("customers.csv").path
        try "id,name,birth_date,country,kind\nc-1,Ivan Petrovich Sidorenko,1970-04-05,RUS,person\nc-2,Anna Berg,,,\n\n,Blue Lantern Trading LLC,,AE,Company\n"
            .write(toFile: batch, atomically: true, encoding: .utf8)
        var r = try await vigil(["screen", "--list", "SAMPLE=\(list)", "--batch", batch])
        #expect(r.status == 0, "\(r.stderr)")
        let lines = try r.stdout.split(separator: "\n").map { try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]) }
        #expect(lines.map { $0["id"] as? String } == ["c-1", "c-2", "line-5"])
        #expect(lines.map { $0["line"] as? Int } == [2, 3, 5])
        let hits = lines.map { ($0["matches"] as? [[String: Any]])?.compactMap { $0["entryID"] as? String } }
        #expect(hits == [["SAMPLE-1"], [], ["SAMPLE-3"]])
        // Each row's own particulars are its evidence.
        let first = try #require((lines[0]["matches"] as? [[String: Any]])?.first)
        #expect((first["features"] as? [[String: Any]])?.compactMap { $0["feature"] as? String } == ["name", "birth-date", "country"])
        #expect((lines[2]["query"] as? [String: Any])?["kind"] as? String == "organization")

        let bad = dir.appendingPathComponent("bad.csv").path
        try "name,dob\nAnna Berg,1970\nIvan Sidorenko,05.04.1970\n".write(toFile: bad, atomically: true, encoding: .utf8)
        r = try await vigil(["screen", "--list", "SAMPLE=\(list)", "--batch", bad])
        #expect(r.status == 1 && r.stdout.isEmpty)
        #expect(r.stderr.contains("vigil screen: \(bad): line 3, column 'dob': '05.04.1970' is not a date"), "\(r.stderr)")
        r = try await vigil(["screen", "--list", "SAMPLE=\(list)", "--batch", batch, "--country", "RU"])
        #expect(r.status != 0 && r.stderr.contains("a batch gives them in its birth_date, country and document columns"))
        r = try await vigil(["screen", "--list", "SAMPLE=\(list)", "--batch", batch, "Anyone"])
        #expect(r.status != 0 && r.stderr.contains("give a name or --batch FILE, not both"))
    }

    @Test("vigil screen prints matches with their list version and explanation; a bad list or pairs file is one clear line")
    func screen() async throws {
        let list = shipped("pipelines/lists/watchlist-sample.csv")
        var r = try await vigil(["screen", "--list", "SAMPLE=\(list)", "--dob", "1970-04-05", "--country", "RU", "Sidorenko Ivan Petrovich"])
        #expect(r.status == 0, "\(r.stderr)")
        let result = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        let matches = try #require(result["matches"] as? [[String: Any]])
        #expect(matches.first?["entryID"] as? String == "SAMPLE-1")
        #expect((matches.first?["listVersion"] as? String)?.hasPrefix("SAMPLE@") == true)
        let features = (matches.first?["features"] as? [[String: Any]])?.compactMap { $0["feature"] as? String }
        #expect(features == ["name", "birth-date", "country"])
        #expect(((result["lists"] as? [[String: Any]])?.first?["entries"] as? Int) == 4)

        r = try await vigil(["screen", "--list", "SAMPLE=\(list)", "Someone Else Entirely"])
        #expect(r.status == 0 && r.stdout.contains("\"matches\" : [\n\n  ]"))

        let dir = try temporaryDirectory()
        let bad = dir.appendingPathComponent("bad.csv").path
        try "id,full\n1,x\n".write(toFile: bad, atomically: true, encoding: .utf8)
        r = try await vigil(["screen", "--list", "BAD=\(bad)", "Anyone"])
        #expect(r.status == 1)
        #expect(r.stderr.contains("vigil screen: \(bad): line 1: no 'name' column"))
        r = try await vigil(["screen", "--list", "nolist", "Anyone"])
        #expect(r.status != 0 && r.stderr.contains("--list 'nolist': expected NAME=FILE"))
        // What a query states beside the name must be what the evidence can read, or the run
        // would screen without it and not say so.
        for (args, message) in [(["--threshold", "1.5"], "--threshold must be between 0 and 1"),
                                 (["--limit", "0"], "--limit must be between 1 and 1000"),
                                 (["--kind", "ship"], "--kind 'ship' is not person, organization, vessel or unknown"),
                                 (["--dob", "1970-02-30"], "--dob '1970-02-30' is not a date: expected YYYY-MM-DD, YYYY-MM or YYYY"),
                                 (["--dob", "05.04.1970"], "--dob '05.04.1970' is not a date"),
                                 (["--country", "XQ"], "--country 'XQ' is not an ISO 3166 code"),
                                 (["--list", "SAMPLE=\(list)"], "the name 'SAMPLE' is given twice")] {
            r = try await vigil(["screen", "--list", "SAMPLE=\(list)"] + args + ["Anyone"])
            #expect(r.status != 0 && r.stderr.contains(message), "\(args): \(r.stderr)")
        }
        r = try await vigil(["screen", "--list", "SAMPLE=\(list)", "--kind", "Company", "--country", "Russian Federation", "--dob", "1970-04", "Anyone"])
        #expect(r.status == 0, "\(r.stderr)")
        // A passport's alpha-3 nationality agrees with the list's alpha-2 code.
        r = try await vigil(["screen", "--list", "SAMPLE=\(list)", "--country", "RUS", "Sidorenko Ivan Petrovich"])
        #expect(r.status == 0 && r.stdout.contains("RUS is listed"), "\(r.stderr)")

        // What lists give besides names, looked up without a name: each listed one is a match.
        let ofac = dir.appendingPathComponent("sdn.csv").path
        try #"9577,"BANK MELLAT","-0- ","IRAN",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,"SWIFT/BIC BKMTIRTH; Telephone: (98)(21)(82961)(111); Email Address info@bankmellat.example.""#
            .write(toFile: ofac, atomically: true, encoding: .utf8)
        r = try await vigil(["screen", "--list", "OFAC=\(ofac)", "--bic", "BKMTIRTH720", "--phone", "0098 21 8296 1111", "--email", "Info@BankMellat.example"])
        #expect(r.status == 0, "\(r.stderr)")
        let found = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        let hits = try #require(found["matches"] as? [[String: Any]])
        #expect(hits.map { $0["entryID"] as? String } == ["9577", "9577", "9577"])
        #expect(hits.compactMap { ($0["features"] as? [[String: Any]])?.first?["feature"] as? String } == ["bic-hit", "phone-hit", "email-hit"])
        r = try await vigil(["screen", "--list", "OFAC=\(ofac)", "--bic", "DEUTDEFF"])
        #expect(r.status == 0 && r.stdout.contains("\"matches\" : [\n\n  ]"), "\(r.stderr)")
        for (args, message) in [(["--bic", "BKMT1RTH"], "--bic 'BKMT1RTH' is not a BIC"), (["--phone", "12-34"], "--phone '12-34' has fewer than 7 digits"),
                                 (["--email", "info"], "--email 'info' is not an e-mail address")] {
            r = try await vigil(["screen", "--list", "OFAC=\(ofac)"] + args)
            #expect(r.status != 0 && r.stderr.contains(message), "\(args): \(r.stderr)")
        }
        r = try await vigil(["screen", "--list", "OFAC=\(ofac)"])
        #expect(r.status != 0 && r.stderr.contains("give a name to screen, or --account, --bic, --phone, --email or --document to look up"))

        let cases = dir.appendingPathComponent("cases.csv").path
        try "case_group,schema,name1,name2,is_match\ng,Person,Olaf Scholz,Olaf Scholze,true\ng,Person,Olaf Scholz,Octavian Scholz,false\n"
            .write(toFile: cases, atomically: true, encoding: .utf8)
        r = try await vigil(["screen", "--eval", cases])
        #expect(r.status == 0, "\(r.stderr)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        #expect((report["overall"] as? [String: Any])?["f1"] as? Double == 1)
        // nomenklatura's entity checks, as YAML.
        r = try await vigil(["screen", "--eval", repoRoot.appendingPathComponent("Tests/VigilScreenTests/Fixtures/checks.yml").path])
        #expect(r.status == 0, "\(r.stderr)")
        let checks = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        let checksOverall = try #require(checks["overall"] as? [String: Any])
        #expect(checksOverall["pairs"] as? Int == 228 && (checksOverall["f1"] as? Double ?? 0) >= 0.897)
        #expect((checks["groups"] as? [String: Any])?.keys.sorted() == ["Company", "LegalEntity", "Organization", "Person", "Vessel"])
        let badChecks = dir.appendingPathComponent("checks.yml").path
        try "checks:\n  - match: true\n    query: {name: Olaf Scholz}\n    candidate: {name: Olaf Scholze}\n  - query: {name: A}\n    candidate: {name: B}\n"
            .write(toFile: badChecks, atomically: true, encoding: .utf8)
        r = try await vigil(["screen", "--eval", badChecks])
        #expect(r.status == 1 && r.stderr.contains("checks.yml: line 5: check has no 'match'"), "\(r.stderr)")
        r = try await vigil(["screen", "--list", "SAMPLE=\(list)", "--eval-list"])
        #expect(r.status == 0, "\(r.stderr)")
        let own = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        #expect((own["list"] as? String)?.hasPrefix("SAMPLE@") == true && (own["people"] as? [String: Any])?["lookalikes"] != nil
                && (own["organizations"] as? [String: Any])?["aliases"] != nil)
        r = try await vigil(["screen", "--list", "SAMPLE=\(list)"])
        #expect(r.status == 1 && r.stderr.contains("give a name to screen"))
        r = try await vigil(["screen", "--eval", dir.appendingPathComponent("none.csv").path])
        #expect(r.status == 1 && r.stderr.contains("no such file"))
    }

    @Test("vigil eval anomaly reads a gzip CSV and prints ROC AUC; a missing column is one clear line")
    func evalAnomaly() async throws {
        let dir = try temporaryDirectory()
        let plain = dir.appendingPathComponent("points.csv").path
        var csv = "x,y,label\n"
        for i in 0..<600 { csv += "\(Double(i % 10) / 10),\(Double(i % 7) / 7),0\n" }
        for _ in 0..<5 { csv += "9,9,1\n" }
        try csv.write(toFile: plain, atomically: true, encoding: .utf8)
        let gzip = Process()
        gzip.executableURL = URL(fileURLWithPath: "/bin/gzip")
        gzip.arguments = ["-k", plain]
        try gzip.run()
        gzip.waitUntilExit()
        var r = try await vigil(["eval", "anomaly", "--csv", plain + ".gz", "--label", "label", "--features", "x,y", "--detector", "zscore"])
        #expect(r.status == 0, "\(r.stderr)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        #expect(report["rows"] as? Int == 605 && report["anomalies"] as? Int == 5)
        #expect((report["rocAUC"] as? Double ?? 0) > 0.99)
        r = try await vigil(["eval", "anomaly", "--csv", plain, "--label", "label", "--features", "x,z"])
        #expect(r.status == 1 && r.stderr.contains("\(plain): line 1: no column 'z'"))
        r = try await vigil(["eval", "anomaly", "--csv", plain, "--label", "label", "--detector", "baseline"])
        #expect(r.status != 0 && r.stderr.contains("needs --entity and --amount"))
    }

    @Test("vigil bench --mode rules reports the heap detection state holds, measured in a process of its own")
    func benchRulesState() async throws {
        let r = try await vigil(["bench", "--mode", "rules", "--events", "20000", "--pipeline", shipped("pipelines/typologies.yaml")])
        #expect(r.status == 0, "\(r.stderr)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        let entries = try #require(report["windowEntries"] as? Int), perEntry = try #require(report["bytesPerEntry"] as? Int)
        // Measured from the allocator, so it must at least cover the window entries themselves.
        #expect((report["stateBytes"] as? Int ?? 0) >= entries * perEntry)
        #expect((report["stateBytesPerKey"] as? Int ?? 0) > 0)
    }

    @Test("every command has --help")
    func help() async throws {
        for command in [[], ["run"], ["broker"], ["feed"], ["validate"], ["record"], ["replay"], ["generate"], ["screen"], ["bench"], ["eval", "anomaly"], ["config", "print"]] {
            let r = try await vigil(command + ["--help"])
            #expect(r.status == 0, "\(command)")
            #expect(r.stdout.contains("USAGE"), "\(command)")
        }
    }

    @Test("bad arguments and files give one clear line and a non-zero exit")
    func errors() async throws {
        let dir = try temporaryDirectory()
        let badPipeline = dir.appendingPathComponent("bad.yaml").path
        try "pipeline:\n  name: p\n  version: 1\nrules:\n  - id: r\n    version: 1\n    kind: predicate\n    where: amount > 'x'\n"
            .write(toFile: badPipeline, atomically: true, encoding: .utf8)
        let badConfig = dir.appendingPathComponent("bad-config.yaml").path
        try "topics:\n  alert: x\n".write(toFile: badConfig, atomically: true, encoding: .utf8)

        var r = try await vigil(["run", "--pipeline", "/nonexistent/p.yaml"])
        #expect(r.status == 1)
        #expect(r.stderr.contains("vigil run: /nonexistent/p.yaml: error: cannot read the pipeline file: no such file"))
        let binary = dir.appendingPathComponent("binary.yaml").path
        try Data([0xFF, 0xFE, 0x00, 0x80]).write(to: URL(fileURLWithPath: binary))
        r = try await vigil(["run", "--pipeline", binary])
        #expect(r.status == 1 && r.stderr.contains("\(binary): error: cannot read the pipeline file: not UTF-8 text"), "\(r.stderr)")

        r = try await vigil(["run", "--pipeline", badPipeline])
        #expect(r.status == 1)
        #expect(r.stderr.contains("vigil run: \(badPipeline):8:19: error: rule 'r', where: cannot compare a number with a string"))

        r = try await vigil(["run", "--config", badConfig])
        #expect(r.status == 1)
        #expect(r.stderr.contains("\(badConfig):2:3: error: unknown key 'alert' in 'topics' (hint: did you mean alerts?)"))

        r = try await vigil(["validate", badPipeline, shipped("pipelines/default.yaml")])
        #expect(r.status == 1)
        #expect(r.stdout.contains("\(badPipeline):8:19: error:"))
        #expect(r.stdout.contains("pipelines/default.yaml: ok (pipeline default@1.0.0, 2 rules; partners: fiu-partner → alerts.fiu-partner, police → alerts.police)"))
        r = try await vigil(["validate", shipped("pipelines/anomaly.yaml")])
        #expect(r.stdout.contains("pipelines/anomaly.yaml: ok (pipeline anomaly@1.0.0, 1 rules; anomaly: baseline 0.7, edge 0.3 from 0.85; "
            + "dormant-account after 180 days, amount >= 5000)"), "\(r.stdout)")
        // With a configuration, the keys the partners need are checked too.
        r = try await vigil(["validate", shipped("pipelines/default.yaml"), "--config", shipped("config/default.yaml")],
                            environment: ["VIGIL_KEYS_DIR": "/nonexistent-keys"])
        #expect(r.status == 1)
        #expect(r.stdout.contains("pipelines/default.yaml: error: no signing key (VIGIL_SIGNING_KEY or /nonexistent-keys/signing.key): create it with `vigil keys generate --out /nonexistent-keys`"))

        r = try await vigil(["feed", "--brokers", "127.0.0.1:1", "/nonexistent.jsonl"])
        #expect(r.status == 1)
        #expect(r.stderr.contains("vigil feed: cannot read '/nonexistent.jsonl': no such file"))

        // A folder where a file belongs, a file to write in a folder that does not exist.
        r = try await vigil(["parse", dir.path])
        #expect(r.status == 1 && r.stderr.contains("vigil parse: cannot read '\(dir.path)': is a folder, not a file"), "\(r.stderr)")
        r = try await vigil(["generate", "transactions", "--count", "1", "--out", "/nonexistent-dir/x.jsonl"])
        #expect(r.status == 1 && r.stderr.contains("vigil generate: cannot write '/nonexistent-dir/x.jsonl': no such folder '/nonexistent-dir'"), "\(r.stderr)")

        r = try await vigil(["feed"])
        #expect(r.status != 0)
        #expect(r.stderr.contains("Missing expected argument '<file> ...'"))

        r = try await vigil(["broker", "--nodes", "0"])
        #expect(r.status != 0)
        #expect(r.stderr.contains("--nodes must be between 1 and 16, got 0"))

        r = try await vigil(["bench", "--duration", "600"])
        #expect(r.status != 0 && r.stderr.contains("--duration needs --rate"))
        r = try await vigil(["bench", "--duration", "60", "--rate", "1000", "--mode", "replay"])
        #expect(r.status != 0 && r.stderr.contains("--duration applies to --mode broker, passthrough or share"))
        r = try await vigil(["bench", "--mode", "broker", "--rounds", "3"])
        #expect(r.status != 0 && r.stderr.contains("--rounds applies to --mode rules or share"))

        r = try await vigil(["run", "--log-level", "loud"])
        #expect(r.status == 1)
        #expect(r.stderr.contains("--log-level 'loud' is not one of"))

        r = try await vigil(["run", "--log-format", "yaml"])
        #expect(r.status == 1)
        #expect(r.stderr.contains("--log-format 'yaml' is not text or json"))

        r = try await vigil(["run", "--frobnicate"])
        #expect(r.status != 0)
        #expect(r.stderr.contains("Unknown option '--frobnicate'"))
    }

    @Test("`vigil run` with no brokers: embedded broker, sample feed, alerts printed, clean exit")
    func embeddedRun() async throws {
        let dir = try temporaryDirectory()
        let c = try Child(vigilBinary, ["run"], environment: ["VIGIL_BOOTSTRAP_FILE": dir.appendingPathComponent("bootstrap").path])
        let status = try await c.wait(timeout: .seconds(120))
        #expect(status == 0, "\(c.stderr)")
        let alerts = try c.stdoutLines.map { try JSONDecoder().decode(Alert.self, from: Data($0.utf8)) }
        #expect(alerts.count == 11)
        #expect(Set(alerts.map { $0.findings[0].id }) == ["large-cash", "structuring-cash"])
        #expect(c.stderr.contains("alerts on alerts.local, 2 dead-lettered on fin.transactions.dlq"))
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("bootstrap").path))
    }

    @Test("`vigil broker` serves kcat; kcat-produced events are processed by `vigil run --brokers`; feed finds the broker")
    func brokerWithKcat() async throws {
        let kcat = ["/usr/bin/kcat", "/usr/local/bin/kcat"].first { FileManager.default.isExecutableFile(atPath: $0) }
        let kcatPath = try #require(kcat, "kcat is needed for this test: apt-get install -y kcat (the Makefile's setup does it)")
        let dir = try temporaryDirectory()
        let bootstrapFile = dir.appendingPathComponent("bootstrap").path
        let env = ["VIGIL_BOOTSTRAP_FILE": bootstrapFile]
        let broker = try Child(vigilBinary, ["broker", "--nodes", "2"], environment: env)
        defer { if broker.process.isRunning { broker.signal(SIGKILL) } }
        let first = try #require(try await broker.waitForLine { $0.hasPrefix("bootstrap=") })
        #expect(broker.stdoutLines.first == first)
        let address = String(first.dropFirst("bootstrap=".count))
        #expect(address.hasPrefix("127.0.0.1:"))
        // The address file appears right after the line is printed.
        var fileText: String?
        for _ in 0..<50 where fileText == nil {
            fileText = try? String(contentsOfFile: bootstrapFile, encoding: .utf8)
            if fileText == nil { try await Task.sleep(for: .milliseconds(50)) }
        }
        #expect(fileText?.trimmingCharacters(in: .whitespacesAndNewlines) == address)

        let list = try Child(kcatPath, ["-b", address, "-L"])
        #expect(try await list.wait() == 0)
        for topic in ["fin.transactions", "fin.transactions.dlq", "alerts.local"] {
            #expect(list.stdout.contains("topic \"\(topic)\" with 8 partitions"), "\(list.stdout)")
        }
        #expect(list.stdout.contains("2 brokers"))

        // Produce with kcat (key|value), then run the pipeline against the broker.
        let input = dir.appendingPathComponent("in.txt").path
        try [txLine("k1", "2024-06-01T10:00:00Z", "18000", debtor: "ACC-K"), txLine("k2", "2024-06-01T10:05:00Z", "20", debtor: "ACC-K")]
            .map { "ACC-K|\($0)" }.joined(separator: "\n").write(toFile: input, atomically: true, encoding: .utf8)
        let produce = try Child(kcatPath, ["-b", address, "-P", "-t", "fin.transactions", "-K", "|", "-l", input])
        #expect(try await produce.wait() == 0, "\(produce.stderr)")

        let run = try Child(vigilBinary, ["run", "--brokers", address], environment: env.merging(["VIGIL_GROUP": "kcat-test"]) { $1 })
        defer { if run.process.isRunning { run.signal(SIGKILL) } }
        let alertLine = try #require(try await run.waitForLine { $0.contains("\"eventId\":\"k1\"") }, "\(run.stderr)")
        let alert = try JSONDecoder().decode(Alert.self, from: Data(alertLine.utf8))
        #expect(alert.findings[0].id == "large-cash")

        // `vigil feed` with no --brokers finds the running broker through the bootstrap file.
        let feedFile = dir.appendingPathComponent("feed.jsonl").path
        try [txLine("f1", "2024-06-02T10:00:00Z", "30000", debtor: "ACC-F"), "", "{broken"].joined(separator: "\n")
            .write(toFile: feedFile, atomically: true, encoding: .utf8)
        let feed = try await vigil(["feed", feedFile], environment: env)
        #expect(feed.status == 0, "\(feed.stderr)")
        #expect(feed.stdout.contains("sent=2 acknowledged=2 unkeyed=1 topic=fin.transactions"))
        #expect(try await run.waitForLine { $0.contains("\"eventId\":\"f1\"") } != nil)
        // The malformed line went unkeyed to any partition, so it may be handled after f1: wait
        // for its dead letter before stopping (under load it came after the SIGTERM, once).
        var deadLettered = false
        for _ in 0..<60 where !deadLettered {
            let dlq = try Child(kcatPath, ["-b", address, "-C", "-t", "fin.transactions.dlq", "-o", "beginning", "-e", "-q"])
            _ = try await dlq.wait()
            deadLettered = dlq.stdout.contains("{broken")
            if !deadLettered { try await Task.sleep(for: .milliseconds(250)) }
        }
        #expect(deadLettered)

        run.signal(SIGTERM)
        #expect(try await run.wait() == 0, "\(run.stderr)")
        #expect(run.stderr.contains("4 transactions processed: 2 alerts on alerts.local, 1 dead-lettered"))
        broker.signal(SIGINT)
        #expect(try await broker.wait() == 0, "\(broker.stderr)")
        #expect(!FileManager.default.fileExists(atPath: bootstrapFile))
    }

    @Test("generate → replay twice gives byte-identical alerts; --expect passes on them and fails, readably, on a changed golden")
    func generateAndReplay() async throws {
        let dir = try temporaryDirectory()
        let feed = dir.appendingPathComponent("feed.jsonl").path, labels = dir.appendingPathComponent("labels.jsonl").path
        var r = try await vigil(["generate", "transactions", "--out", feed, "--labels", labels])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(try String(contentsOfFile: feed, encoding: .utf8).split(separator: "\n").count == 2_657)
        #expect(try String(contentsOfFile: labels, encoding: .utf8).split(separator: "\n").count == 19)
        r = try await vigil(["generate", "transactions", "--count", "500", "--seed", "7", "--out", "-"])
        #expect(r.stdout.split(separator: "\n").count == 500)

        let first = try await vigil(["replay", feed])
        let second = try await vigil(["replay", feed])
        #expect(first.status == 0 && second.status == 0)
        #expect(first.stdout == second.stdout)
        #expect(first.stdout.split(separator: "\n").count == 11)
        #expect(first.stderr.contains("2657 messages replayed: 11 alerts, 2 dead-lettered"))
        #expect(first.stderr.contains("dead letter: fin.transactions[0]@"))

        let golden = dir.appendingPathComponent("golden.jsonl").path
        try first.stdout.write(toFile: golden, atomically: true, encoding: .utf8)
        r = try await vigil(["replay", feed, "--expect", golden])
        #expect(r.status == 0)
        #expect(r.stderr.contains("alerts match"))
        let fewer = first.stdout.split(separator: "\n").dropFirst().joined(separator: "\n")
        try fewer.write(toFile: golden, atomically: true, encoding: .utf8)
        r = try await vigil(["replay", feed, "--expect", golden])
        #expect(r.status == 1)
        #expect(r.stderr.contains("unexpected: al-"))
        #expect(r.stderr.contains("vigil replay: 1 differences from \(golden)"))

        r = try await vigil(["replay", feed, "--speed", "fast"])
        #expect(r.status != 0)
        #expect(r.stderr.contains("--speed 'fast' is not max, realtime or xN"))
    }

    @Test("a truncated recording is replayed up to its last good record, then the exit status is 1 with where it stopped")
    func truncatedRecording() async throws {
        let dir = try temporaryDirectory()
        let cut = dir.appendingPathComponent("cut.vgr").path
        let full = try Data(contentsOf: repoRoot.appendingPathComponent("Tests/VigilReplayTests/Fixtures/sample-feed.vgr"))
        try full.prefix(full.count / 2).write(to: URL(fileURLWithPath: cut))
        let r = try await vigil(["replay", cut])
        #expect(r.status == 1)
        #expect(r.stderr.contains("vigil replay: stopped early: \(cut): byte "))
        #expect(r.stderr.contains("truncated block"))
        #expect(!r.stdout.isEmpty)
    }

    @Test("SIGKILL mid-run, then restart in the same group: every expected alert is published, under its one id, and offsets reach the end")
    func killAndRestart() async throws {
        try await interruptAndRestart(SIGKILL, group: "kill-test")
    }

    @Test("SIGTERM mid-batch: a clean exit that commits no offset ahead of its alerts; a restart finishes the rest")
    func termAndRestart() async throws {
        try await interruptAndRestart(SIGTERM, group: "term-test")
    }

    @Test("VIGIL_STATE_DIR: SIGKILL after a checkpoint, restart: the anomaly alerts are those of a run that never stopped; a damaged file is refused")
    func stateAcrossRestarts() async throws {
        let dir = try temporaryDirectory()
        let state = dir.appendingPathComponent("state").path
        let config = dir.appendingPathComponent("vigil.yaml").path
        try "runtime:\n  checkpoint-interval: 1s\n  workers: 1\n".write(toFile: config, atomically: true, encoding: .utf8)
        let env = ["VIGIL_BOOTSTRAP_FILE": dir.appendingPathComponent("bootstrap").path, "VIGIL_HTTP_PORT": "0"]
        let broker = try Child(vigilBinary, ["broker"], environment: env)
        defer { if broker.process.isRunning { broker.signal(SIGKILL) } }
        let address = String(try #require(try await broker.waitForLine { $0.hasPrefix("bootstrap=") }).dropFirst("bootstrap=".count))
        let lines = SampleFeed.generate(seed: 9, count: 24_000).lines
        func feed(_ part: ArraySlice<String>) async throws {
            let file = dir.appendingPathComponent("feed-\(part.startIndex).jsonl").path
            try part.joined(separator: "\n").write(toFile: file, atomically: true, encoding: .utf8)
            #expect(try await vigil(["feed", file], environment: env).status == 0)
        }
        let client = KafkaClientConfig(bootstrapServers: address)
        let admin = KafkaAdmin(config: client, logger: testLogger)
        /// Waits until `group` has committed every input record.
        func caughtUp(_ group: String) async throws -> Bool {
            let ends = try admin.endOffsets(topic: "fin.transactions")
            let partitions = ends.keys.map { TopicPartition("fin.transactions", $0) }
            for _ in 0..<180 {
                let committed = try admin.committedOffsets(group: group, partitions: partitions)
                if ends.allSatisfy({ $0.value == 0 || committed[TopicPartition("fin.transactions", $0.key)] == .some($0.value) }) { return true }
                try await Task.sleep(for: .milliseconds(500))
            }
            return false
        }
        func run(_ group: String, stateDirectory: String?, alerts: String = "alerts.local") throws -> Child {
            try Child(vigilBinary, ["run", "--brokers", address, "--config", config, "--pipeline", shipped("pipelines/anomaly.yaml")],
                      environment: env.merging(["VIGIL_GROUP": group, "VIGIL_STATE_DIR": stateDirectory ?? "", "VIGIL_TOPIC_ALERTS": alerts]) { $1 })
        }
        func alerts(_ child: Child) -> Set<String> { Set(child.stdoutLines.filter { $0.hasPrefix("{") }) }

        // A first third; the run checkpoints at its first batch a second later, in the second
        // third, goes on to commit the rest of it, and is killed. The restart loads the
        // checkpoint, re-reads what was committed after it, and alerts on the last third as a
        // run that never stopped.
        try await feed(lines[..<8_000])
        let first = try run("crash", stateDirectory: state)
        defer { if first.process.isRunning { first.signal(SIGKILL) } }
        for _ in 0..<300 where !first.stderr.contains("pipeline started") { try await Task.sleep(for: .milliseconds(100)) }
        try await Task.sleep(for: .seconds(2))
        try await feed(lines[8_000..<16_000])
        for _ in 0..<300 where !first.stderr.contains("scoring state checkpoint") { try await Task.sleep(for: .milliseconds(20)) }
        #expect(try await caughtUp("crash"))
        first.signal(SIGKILL)
        _ = try await first.wait()
        #expect(first.stderr.contains("scoring state checkpoint"), "\(first.stderr.suffix(2000))")
        let second = try run("crash", stateDirectory: state)
        defer { if second.process.isRunning { second.signal(SIGKILL) } }
        for _ in 0..<300 where !second.stderr.contains("assigned") { try await Task.sleep(for: .milliseconds(100)) }
        try await feed(lines[16_000...])
        #expect(try await caughtUp("crash"))
        second.signal(SIGTERM)
        #expect(try await second.wait() == 0)
        #expect(second.stderr.contains("scoring state loaded") && second.stderr.contains("re-reading recent records to rebuild state")
                    && second.stderr.contains("scoring state kept"), "\(second.stderr.suffix(3000))")

        // The same records, read by a run that never stopped (its own group and alert topic, so
        // that it does not take the alerts already published for repeats, and no state).
        let reference = try run("reference", stateDirectory: nil, alerts: "alerts.reference")
        defer { if reference.process.isRunning { reference.signal(SIGKILL) } }
        #expect(try await caughtUp("reference"))
        reference.signal(SIGTERM)
        #expect(try await reference.wait() == 0)
        let expected = alerts(reference)
        #expect(expected.filter { $0.contains(#""kind":"anomaly""#) }.count > 3)
        // The restart published what the first run had not (a repeat of one it had is suppressed).
        let published = alerts(first).union(alerts(second))
        func events(_ set: Set<String>) -> [String] {
            set.compactMap { try? JSONDecoder().decode(Alert.self, from: Data($0.utf8)) }.flatMap { $0.evidence.map(\.eventId) }.sorted()
        }
        #expect(published == expected, "missing \(events(expected.subtracting(published))), unexpected \(events(published.subtracting(expected)))")

        // A damaged file is refused with the reason, and the run goes on.
        let snapshot = try #require(ScoringSnapshots(directory: state).files().first)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: snapshot))
        try bytes.dropLast(5).write(to: URL(fileURLWithPath: snapshot))
        let third = try run("crash", stateDirectory: state)
        defer { if third.process.isRunning { third.signal(SIGKILL) } }
        for _ in 0..<300 where !third.stderr.contains("pipeline started") { try await Task.sleep(for: .milliseconds(100)) }
        third.signal(SIGTERM)
        #expect(try await third.wait() == 0)
        #expect(third.stderr.contains("scoring state not restored") && third.stderr.contains("checksum does not match"), "\(third.stderr.suffix(2000))")
    }

    @Test("re-keying across a SIGKILL (two workers, the typology library keyed by debtor): after the restart every typology of a run that never stopped is published for its subject, the planted mule's included")
    func rekeyedAcrossKill() async throws {
        let dir = try temporaryDirectory()
        // The shipped library with its input's key declared (its lists beside it), on two workers.
        let pipeline = dir.appendingPathComponent("typologies.yaml").path
        try String(contentsOfFile: shipped("pipelines/typologies.yaml"), encoding: .utf8)
            .replacingOccurrences(of: "  - { topic: fin.transactions, format: json }", with: "  - { topic: fin.transactions, format: json, key: debtor.account }")
            .write(toFile: pipeline, atomically: true, encoding: .utf8)
        try FileManager.default.copyItem(atPath: shipped("pipelines/lists"), toPath: dir.appendingPathComponent("lists").path)
        let config = dir.appendingPathComponent("vigil.yaml").path
        try "runtime:\n  workers: 2\n".write(toFile: config, atomically: true, encoding: .utf8)
        let env = ["VIGIL_BOOTSTRAP_FILE": dir.appendingPathComponent("bootstrap").path, "VIGIL_HTTP_PORT": "0"]
        let broker = try Child(vigilBinary, ["broker"], environment: env)
        defer { if broker.process.isRunning { broker.signal(SIGKILL) } }
        let address = String(try #require(try await broker.waitForLine { $0.hasPrefix("bootstrap=") }).dropFirst("bootstrap=".count))
        let sample = SampleFeed.generate(seed: 11, count: 6_000, plants: [.structuring, .largeCash, .fanIn])
        let mule = try #require(sample.planted.first { $0.kind == .fanIn }?.account)
        func feed(_ part: ArraySlice<String>) async throws {
            let file = dir.appendingPathComponent("feed-\(part.startIndex).jsonl").path
            try part.joined(separator: "\n").write(toFile: file, atomically: true, encoding: .utf8)
            #expect(try await vigil(["feed", file], environment: env).status == 0)
        }

        let admin = KafkaAdmin(config: KafkaClientConfig(bootstrapServers: address), logger: testLogger)
        /// Waits until `group` has committed every input record and every copy.
        func caughtUp(_ group: String) async throws -> Bool {
            for _ in 0..<180 {
                var done = true
                for topic in ["fin.transactions", "fin.transactions-by-creditor.account"] {
                    let ends = try admin.endOffsets(topic: topic)
                    let committed = try admin.committedOffsets(group: group, partitions: ends.keys.map { TopicPartition(topic, $0) })
                    done = done && ends.allSatisfy { $0.value == 0 || committed[TopicPartition(topic, $0.key)] == .some($0.value) }
                }
                if done { return true }
                try await Task.sleep(for: .milliseconds(500))
            }
            return false
        }
        func run(_ group: String, alerts: String) throws -> Child {
            try Child(vigilBinary, ["run", "--brokers", address, "--config", config, "--pipeline", pipeline],
                      environment: env.merging(["VIGIL_GROUP": group, "VIGIL_TOPIC_ALERTS": alerts]) { $1 })
        }
        /// The alerts on a topic, each as its typology and subject: a copy's alert may name other
        /// events after a restart (copies from several partitions arrive in any order), never
        /// another subject. (Read from the topic: what a killed run printed may not have reached
        /// its output.)
        func typologies(on topic: String) async throws -> Set<String> {
            let ends = try admin.endOffsets(topic: topic)
            var reader = KafkaConsumerConfig(client: KafkaClientConfig(bootstrapServers: address), groupID: "reader-\(UUID().uuidString)", topics: [topic])
            reader.assignment = Dictionary(uniqueKeysWithValues: ends.keys.map { (TopicPartition(topic, $0), KafkaOffset.beginning) })
            let consumer = try KafkaConsumer(config: reader, logger: testLogger)
            defer { consumer.close() }
            var out: [String] = []
            let total = Int(ends.values.reduce(0, +))
            while out.count < total, let batch = await consumer.nextBatch() {
                out += batch.messages.map { m in
                    (try? JSONDecoder().decode(Alert.self, from: Data(m.value))).map { "\($0.findings[0].id) \($0.subject.value ?? "")" } ?? "?"
                }
            }
            return Set(out)
        }

        // The first half; the first run is killed once it has published an alert, and the
        // second half comes while it is down.
        try await feed(sample.lines[..<3_000])
        let first = try run("crash", alerts: "alerts.local")
        defer { if first.process.isRunning { first.signal(SIGKILL) } }
        for _ in 0..<600 where try admin.endOffsets(topic: "alerts.local").values.reduce(0, +) == 0 {
            try await Task.sleep(for: .milliseconds(100))
        }
        first.signal(SIGKILL)
        _ = try await first.wait()
        let beforeRestart = try await typologies(on: "alerts.local")
        try await feed(sample.lines[3_000...])
        let second = try run("crash", alerts: "alerts.local")
        defer { if second.process.isRunning { second.signal(SIGKILL) } }
        #expect(try await caughtUp("crash"))
        second.signal(SIGTERM)
        #expect(try await second.wait() == 0)

        let reference = try run("reference", alerts: "alerts.reference")
        defer { if reference.process.isRunning { reference.signal(SIGKILL) } }
        #expect(try await caughtUp("reference"))
        reference.signal(SIGTERM)
        #expect(try await reference.wait() == 0)
        let expected = try await typologies(on: "alerts.reference")
        #expect(expected.contains("mule-collection \(mule)"), "\(expected.sorted())")
        #expect(beforeRestart.count < expected.count, "the first run was killed before it had published everything")
        let published = try await typologies(on: "alerts.local")
        #expect(published == expected, "missing \(expected.subtracting(published).sorted()), unexpected \(published.subtracting(expected).sorted())")
    }

    /// Feeds 20,000 generated transactions, stops the first `vigil run` with `sig` at its first
    /// alert, then lets a second run in the same group catch up. Afterwards every expected alert
    /// is published (at least once, under its one id) and nothing else; after a SIGTERM the
    /// first run also exits 0 and every alert whose events lie below its committed offsets was
    /// already published.
    func interruptAndRestart(_ sig: Int32, group: String) async throws {
        let dir = try temporaryDirectory()
        let env = ["VIGIL_BOOTSTRAP_FILE": dir.appendingPathComponent("bootstrap").path, "VIGIL_GROUP": group, "VIGIL_HTTP_PORT": "0"]
        let broker = try Child(vigilBinary, ["broker"], environment: env)
        defer { if broker.process.isRunning { broker.signal(SIGKILL) } }
        let address = String(try #require(try await broker.waitForLine { $0.hasPrefix("bootstrap=") }).dropFirst("bootstrap=".count))

        // The expected alerts: the same feed through the same engine, without Kafka.
        let feed = SampleFeed.generate(seed: 5, count: 20_000)
        let pipeline = try PipelineDefinition.load(file: shipped("pipelines/default.yaml"))
        let engine = PipelineEngine(pipeline: pipeline, topics: VigilConfig.Topics(), limits: WindowLimits())
        let expectedAlerts = feed.lines.enumerated().flatMap { i, line in
            engine.process(ConsumedMessage(topic: "fin.transactions", partition: 0, offset: Int64(i), value: Array(line.utf8))).compactMap(\.alert)
        }
        let expected = Set(expectedAlerts.map(\.id))
        #expect(expected.count == 11)
        let file = dir.appendingPathComponent("feed.jsonl").path
        try feed.lines.joined(separator: "\n").write(toFile: file, atomically: true, encoding: .utf8)
        #expect(try await vigil(["feed", file], environment: env).status == 0)

        let first = try Child(vigilBinary, ["run", "--brokers", address], environment: env)
        _ = try await first.waitForLine { $0.hasPrefix("{") }
        first.signal(sig)
        let status = try await first.wait()

        let client = KafkaClientConfig(bootstrapServers: address)
        let admin = KafkaAdmin(config: client, logger: testLogger)
        let ends = try admin.endOffsets(topic: "fin.transactions")
        let partitions = ends.keys.map { TopicPartition("fin.transactions", $0) }
        func published() async throws -> [String] {
            let alertEnds = try admin.endOffsets(topic: "alerts.local")
            var reader = KafkaConsumerConfig(client: client, groupID: "reader-\(UUID().uuidString)", topics: ["alerts.local"])
            reader.assignment = Dictionary(uniqueKeysWithValues: alertEnds.keys.map { (TopicPartition("alerts.local", $0), KafkaOffset.beginning) })
            let consumer = try KafkaConsumer(config: reader, logger: testLogger)
            defer { consumer.close() }
            var ids: [String] = []
            let total = Int(alertEnds.values.reduce(0, +))
            while ids.count < total, let batch = await consumer.nextBatch() {
                ids += batch.messages.compactMap { $0.headers.first(named: VigilHeaders.alertID) }
            }
            return ids
        }
        if sig == SIGTERM {
            #expect(status == 0, "\(first.stderr)")
            // Where each event landed, to compare alerts with the committed offsets.
            var reader = KafkaConsumerConfig(client: client, groupID: "positions-\(UUID().uuidString)", topics: ["fin.transactions"])
            reader.assignment = Dictionary(uniqueKeysWithValues: partitions.map { ($0, KafkaOffset.beginning) })
            let consumer = try KafkaConsumer(config: reader, logger: testLogger)
            var position: [String: (Int32, Int64)] = [:]
            while position.count < feed.lines.count, let batch = await consumer.nextBatch() {
                for m in batch.messages {
                    let id = (try? JSONSerialization.jsonObject(with: Data(m.value)) as? [String: Any])?["id"] as? String ?? "offset-\(m.offset)"
                    position[id] = (m.partition, m.offset)
                }
            }
            consumer.close()
            let committed = try admin.committedOffsets(group: group, partitions: partitions)
            #expect(committed.values.contains { ($0 ?? 0) > 0 }, "the first run committed nothing")
            let out = Set(try await published())
            for alert in expectedAlerts {
                let covered = alert.evidence.allSatisfy { e in
                    guard let (p, o) = position[e.eventId], let c = committed[TopicPartition("fin.transactions", p)] ?? nil else { return false }
                    return o < c
                }
                if covered { #expect(out.contains(alert.id), "offsets were committed past the events of \(alert.id), which was not published") }
            }
        }

        let second = try Child(vigilBinary, ["run", "--brokers", address], environment: env)
        defer { if second.process.isRunning { second.signal(SIGKILL) } }
        let deadline = ContinuousClock.now + .seconds(90)
        var caughtUp = false
        while !caughtUp, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(500))
            let committed = try admin.committedOffsets(group: group, partitions: partitions)
            caughtUp = ends.allSatisfy { $0.value == 0 || committed[TopicPartition("fin.transactions", $0.key)] == .some($0.value) }
        }
        #expect(caughtUp)
        // Signal handlers are in place once the pipeline has started (the first run may have
        // left nothing to do, so catching up proves nothing about the second's start).
        for _ in 0..<300 where !second.stderr.contains("pipeline started") { try await Task.sleep(for: .milliseconds(100)) }
        second.signal(SIGTERM)
        let secondStatus = try await second.wait()
        #expect(secondStatus == 0, "\(second.stderr.suffix(3000))")

        // Alerts from both runs, as published: all expected ones, nothing else — and none twice:
        // the second run read back what the first had published and did not publish it again.
        let all = try await published()
        #expect(Set(all) == expected)
        #expect(all.count == expected.count, "published more than once: \(all.count - Set(all).count)")
        broker.signal(SIGINT)
        _ = try await broker.wait()
    }

    @Test("keys generate → replay --partner → verify passes, and fails naming the line after a change; keys rotate → alerts of both keys verify; goaml drafts from the own alerts")
    func sharingCommands() async throws {
        let dir = try temporaryDirectory()
        let keys = dir.appendingPathComponent("keys").path
        var r = try await vigil(["keys", "generate", "--out", keys, "--pipeline", "pipelines/default.yaml"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.split(separator: "\n").map { ($0 as NSString).lastPathComponent } == ["signing.key", "signing.pub", "pseudonym-fiu-partner.key"])
        let mode = try FileManager.default.attributesOfItem(atPath: keys + "/signing.key")[.posixPermissions] as? Int
        #expect(mode == 0o600)
        // A second run keeps the keys (replacing one would orphan its signatures).
        let before = try String(contentsOfFile: keys + "/signing.key", encoding: .utf8)
        r = try await vigil(["keys", "generate", "--out", keys, "--partner", "fiu-partner"])
        #expect(r.status == 0 && r.stdout.isEmpty && r.stderr.contains("every key is already in"))
        #expect(try String(contentsOfFile: keys + "/signing.key", encoding: .utf8) == before)

        let recording = repoRoot.appendingPathComponent("Tests/VigilReplayTests/Fixtures/sample-feed.vgr").path
        let copies = try await vigil(["replay", recording, "--partner", "fiu-partner"], environment: ["VIGIL_KEYS_DIR": keys])
        #expect(copies.status == 0, "\(copies.stderr)")
        let lines = copies.stdout.split(separator: "\n").map(String.init)
        #expect(lines.count == 11)
        let file = dir.appendingPathComponent("fiu.jsonl").path
        try copies.stdout.write(toFile: file, atomically: true, encoding: .utf8)
        r = try await vigil(["verify", "--key", keys + "/signing.pub", file])
        let keyID = try SharingKeys.publicKey(file: keys + "/signing.pub").keyID
        #expect(r.status == 0 && r.stdout == "11 alerts, all signed with key \(keyID)\n", "\(r.stderr)")
        var changed = lines
        changed[4] = changed[4].replacingOccurrences(of: "\"score\":0.9", with: "\"score\":0.3")
        try changed.joined(separator: "\n").write(toFile: file, atomically: true, encoding: .utf8)
        r = try await vigil(["verify", "--key", keys + "/signing.pub", file])
        let id = try JSONDecoder().decode(Alert.self, from: Data(lines[4].utf8)).id
        #expect(r.status == 1 && r.stderr == "vigil verify: \(file):5: alert \(id): the signature does not match the alert: it was changed after signing\n")

        // A rotated key: alerts signed before and after verify against the folder of public keys.
        r = try await vigil(["keys", "rotate", "--dir", keys])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.hasPrefix("retired key \(keyID): public key kept as \(keys)/signing-\(keyID).pub\n"))
        let newKeyID = try SharingKeys.publicKey(file: keys + "/signing.pub").keyID
        #expect(newKeyID != keyID && r.stdout.hasSuffix("signing key \(newKeyID): \(keys)/signing.key, \(keys)/signing.pub\n"))
        let rotated = try await vigil(["replay", recording, "--partner", "fiu-partner"], environment: ["VIGIL_KEYS_DIR": keys])
        try (copies.stdout + rotated.stdout).write(toFile: file, atomically: true, encoding: .utf8)
        r = try await vigil(["verify", "--key", keys, file])
        #expect(r.status == 0 && r.stdout == "22 alerts, all validly signed: 11 with key \(keyID), 11 with key \(newKeyID)\n", "\(r.stderr)")
        r = try await vigil(["verify", "--key", keys + "/signing.pub", file])
        #expect(r.status == 1 && r.stderr.hasSuffix("signed with key \(keyID), not with this key (\(newKeyID))\n"), "\(r.stderr)")
        r = try await vigil(["keys", "rotate", "--dir", dir.appendingPathComponent("none").path])
        #expect(r.status == 1 && r.stderr.hasPrefix("vigil keys rotate: no signing key to rotate in "), "\(r.stderr)")
        // A rotated pseudonym key: the same alerts name their subjects by other pseudonyms.
        r = try await vigil(["keys", "rotate", "--dir", keys, "--pseudonym", "fiu-partner"])
        #expect(r.status == 0 && r.stdout.hasPrefix("partner fiu-partner: pseudonym key ") && r.stdout.contains(".retired (delete it"), "\(r.stderr)")
        let renamed = try await vigil(["replay", recording, "--partner", "fiu-partner"], environment: ["VIGIL_KEYS_DIR": keys])
        func subjects(_ out: String) throws -> [String?] {
            try out.split(separator: "\n").map { try JSONDecoder().decode(Alert.self, from: Data($0.utf8)).subject.value }
        }
        let (earlier, later) = (try subjects(rotated.stdout), try subjects(renamed.stdout))
        #expect(earlier.count == 11 && later.count == 11 && earlier.contains { $0?.hasPrefix("ps:") == true })
        #expect(zip(earlier, later).allSatisfy { $0 != $1 || $0?.hasPrefix("ps:") != true })
        #expect(zip(earlier, later).contains { $0 != $1 })
        r = try await vigil(["keys", "rotate", "--dir", keys, "--pseudonym", "police"])
        #expect(r.status == 1 && r.stderr.hasPrefix("vigil keys rotate: no pseudonym key of partner police to rotate"), "\(r.stderr)")

        // A copy held for a partner is said on standard error.
        let noKeys = try await vigil(["replay", recording, "--partner", "police"], environment: ["VIGIL_KEYS_DIR": ""])
        #expect(noKeys.status == 0 && noKeys.stdout.isEmpty)
        #expect(noKeys.stderr.contains("held for police: alert al-"))
        #expect(noKeys.stderr.contains(": no signing key: partners receive signed alerts only"))

        let own = dir.appendingPathComponent("own.jsonl").path
        try (try await vigil(["replay", recording], environment: ["VIGIL_KEYS_DIR": ""])).stdout.write(toFile: own, atomically: true, encoding: .utf8)
        let report = dir.appendingPathComponent("report.xml").path
        r = try await vigil(["goaml", "--alerts", own, "--entity-id", "101", "--report-code", "SAR", "--indicator", "structuring-cash=STRUC",
                             "--indicator", "large-cash=LRGCS", "--date", "2024-03-10T00:00:00Z", "--out", report])
        #expect(r.status == 0, "\(r.stderr)")
        let xml = try String(contentsOfFile: report, encoding: .utf8)
        #expect(xml.contains("<report_code>SAR</report_code>") && xml.components(separatedBy: "<report_party>").count == 12)
        r = try await vigil(["goaml", "--alerts", file, "--entity-id", "101", "--default-indicator", "STRUC", "--out", report])
        #expect(r.status == 1 && r.stderr.contains("is a partner's copy (fields redacted or pseudonymised)"))
    }

    @Test("audit verify says the chain is whole, or which line broke it")
    func auditVerify() async throws {
        let dir = try temporaryDirectory()
        let path = dir.appendingPathComponent("log.jsonl").path
        let log = try AuditLog(path: path)
        let alert = try JSONDecoder().decode(Alert.self, from: Data(try String(contentsOfFile: repoRoot.appendingPathComponent(
            "Tests/VigilReplayTests/Fixtures/sample-feed.default.golden.jsonl").path, encoding: .utf8).split(separator: "\n")[0].utf8))
        try log.append([DisclosureRecord(alert: alert, topic: "alerts.x", fields: [.subjectValue: .pass]),
                        DisclosureRecord(alert: alert, topic: "alerts.y", fields: [.subjectValue: .redact])])
        var r = try await vigil(["audit", "verify", path])
        #expect(r.status == 0 && r.stdout == "\(path): 2 entries, chain intact\n")
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
        try (lines[0].replacingOccurrences(of: "alerts.x", with: "alerts.z") + "\n" + lines[1] + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        r = try await vigil(["audit", "verify", path])
        #expect(r.status == 1 && r.stderr == "vigil audit verify: \(path):1: entry 1 was altered (its hash does not match its content)\n")
    }

    @Test("retention masks passenger alerts past the period and writes the others back byte for byte")
    func retention() async throws {
        let dir = try temporaryDirectory()
        let golden = try String(contentsOfFile: repoRoot.appendingPathComponent("Tests/VigilReplayTests/Fixtures/sample-feed.default.golden.jsonl").path,
                                encoding: .utf8).split(separator: "\n").map(String.init)
        var traveller = try JSONDecoder().decode(Alert.self, from: Data(golden[0].utf8))
        traveller.subject = Alert.Subject(field: "traveller.document", value: "P7654321", name: "IVAN SIDORENKO")
        traveller.evidence = [.init(topic: "pax.api", partition: 0, offset: 1, eventId: "api-1", ts: traveller.ts, passenger: true)]
        let file = dir.appendingPathComponent("alerts.jsonl").path
        let lines = [golden[1], String(decoding: traveller.canonicalJSON, as: UTF8.self), golden[2]]
        try (lines.joined(separator: "\n") + "\n").write(toFile: file, atomically: true, encoding: .utf8)
        let out = dir.appendingPathComponent("kept.jsonl").path
        var r = try await vigil(["retention", "--alerts", file, "--as-of", "2024-06-01T00:00:00Z", "--out", out])
        #expect(r.status == 0 && r.stderr.contains("3 alerts, 0 depersonalised (passenger data older than 4320h"), "\(r.stderr)")
        #expect(try String(contentsOfFile: out, encoding: .utf8) == lines.joined(separator: "\n") + "\n")
        r = try await vigil(["retention", "--alerts", file, "--as-of", "2024-12-01T00:00:00Z", "--out", "-"])
        let after = r.stdout.split(separator: "\n").map(String.init)
        #expect(r.status == 0 && after.count == 3 && after[0] == lines[0] && after[2] == lines[2])
        #expect(!after[1].contains("SIDORENKO") && !after[1].contains("P7654321") && after[1].contains("\"subject.name\":\"depersonalise\""))
        r = try await vigil(["retention", "--alerts", file, "--period", "soon", "--out", "-"])
        #expect(r.status == 1 && r.stderr == "vigil retention: --period 'soon' is not a duration (e.g. 180d)\n")
    }

    @Test("two vigil processes in one group share the partitions: every event is handled once across them, every alert published once")
    func twoProcesses() async throws {
        let dir = try temporaryDirectory()
        let env = ["VIGIL_BOOTSTRAP_FILE": dir.appendingPathComponent("bootstrap").path]
        let broker = try Child(vigilBinary, ["broker"], environment: env)
        defer { if broker.process.isRunning { broker.signal(SIGKILL) } }
        let address = String(try #require(try await broker.waitForLine { $0.hasPrefix("bootstrap=") }).dropFirst("bootstrap=".count))

        // Ports of their own for the operations endpoints (readiness tells when both are assigned),
        // below the range the kernel picks clients' ports from: one picked from 20,000–40,000 was
        // once already the source port of a Kafka connection, and the second run could not listen.
        let ephemeral = (try? String(contentsOfFile: "/proc/sys/net/ipv4/ip_local_port_range", encoding: .utf8))?
            .split(whereSeparator: \.isWhitespace).first.flatMap { Int($0) } ?? 32_768
        let base = 10_000 + Int.random(in: 0..<max(1, ephemeral - 10_002))
        let ports = [base, base + 1]
        let runs = try ports.map { port in
            try Child(vigilBinary, ["run", "--brokers", address], environment: env.merging(
                ["VIGIL_GROUP": "scale-out", "VIGIL_HTTP_PORT": String(port), "VIGIL_KEYS_DIR": "", "VIGIL_AUDIT_LOG": ""]) { $1 })
        }
        defer { for r in runs where r.process.isRunning { r.signal(SIGKILL) } }
        func get(_ port: Int, _ path: String) async -> (Int, String)? {
            guard let (data, response) = try? await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(port)\(path)")!),
                  let http = response as? HTTPURLResponse else { return nil }
            return (http.statusCode, String(decoding: data, as: UTF8.self))
        }
        // Both ready and the 8 partitions split between them, before anything is fed.
        var assigned: [Int] = []
        for _ in 0..<300 {
            var counts: [Int] = []
            for port in ports {
                if let (status, body) = await get(port, "/readyz"), status == 200,
                   let n = body.split(separator: " ").dropFirst().first.flatMap({ Int($0) }) { counts.append(n) }
            }
            if counts.count == 2, counts.reduce(0, +) == 8 { assigned = counts; break }
            try await Task.sleep(for: .milliseconds(200))
        }
        #expect(assigned.count == 2 && assigned.allSatisfy { $0 > 0 }, "\(runs.map(\.stderr))")

        let feed = dir.appendingPathComponent("feed.jsonl").path
        #expect(try await vigil(["generate", "transactions", "--out", feed]).status == 0)
        let fed = try await vigil(["feed", "--brokers", address, feed])
        #expect(fed.status == 0 && fed.stdout.contains("acknowledged=2657"), "\(fed.stderr)")

        // Wait until the two have handled 2,657 messages between them.
        func handled() async -> [Int] {
            var out: [Int] = []
            for port in ports {
                let text = await get(port, "/metrics")?.1 ?? ""
                out.append(text.split(separator: "\n").filter { $0.hasPrefix("vigil_events_in_total{") }
                    .reduce(0) { $0 + Int(Double($1.split(separator: " ").last!) ?? 0) })
            }
            return out
        }
        var counts = await handled()
        for _ in 0..<300 where counts.reduce(0, +) < 2_657 {
            try await Task.sleep(for: .milliseconds(200))
            counts = await handled()
        }
        #expect(counts.reduce(0, +) == 2_657 && counts.allSatisfy { $0 > 0 }, "\(counts)")

        for r in runs { r.signal(SIGTERM) }
        for r in runs { #expect(try await r.wait() == 0, "\(r.stderr)") }
        let processed = runs.map { r in
            r.stderr.split(separator: "\n").first { $0.contains("transactions processed") }
                .flatMap { Int($0.split(separator: " ")[2]) } ?? -1
        }
        // With the processes' logs, which say whether a run was skipped as stale, left
        // unacknowledged at shutdown, or failed (-1: a process that never printed its count; on
        // 2026-12-06 a sum of 2,656 here was 2,657 and -1 from a process that could not listen).
        #expect(processed.reduce(0, +) == 2_657, "\(processed)\n\(runs.map(\.stderr).joined(separator: "\n---\n"))")
        let ids = runs.flatMap { $0.stdoutLines }.compactMap { try? JSONDecoder().decode(Alert.self, from: Data($0.utf8)).id }
        #expect(ids.count == 11 && Set(ids).count == 11)
        broker.signal(SIGINT)
        _ = try await broker.wait()
    }
}
