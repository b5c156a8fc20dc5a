import Foundation
import Testing
import VigilCore
@testable import VigilShare

/// The disclosure log: appends continue the chain across reopenings, and any altered,
/// inserted or removed entry is found and named.
@Suite("Audit log")
struct AuditLogTests {
    static func log(entries: Int) throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-audit-\(UUID().uuidString)")
        let path = dir.appendingPathComponent("disclosures.jsonl").path
        let fixed = Date(timeIntervalSince1970: 1_717_000_000)
        // Two openings: the second continues the first's chain.
        for half in [entries / 2, entries - entries / 2] {
            let log = try AuditLog(path: path, now: { fixed })
            try log.append((0..<half).map { i in
                var a = SharingTests.alert()
                a.id = "al-\(i)"
                a.partner = i % 2 == 0 ? "fiu-a" : "fiu-b"
                return DisclosureRecord(alert: a, topic: "alerts.\(a.partner)", fields: [.subjectName: .redact, .subjectValue: .pseudonymise])
            })
        }
        return path
    }

    static func lines(_ path: String) throws -> [String] {
        try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map(String.init)
    }

    static func write(_ lines: [String], to path: String) throws {
        try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
    }

    static func failure(_ path: String) -> String? {
        do { _ = try AuditLog.verify(path: path); return nil } catch { return error.description }
    }

    @Test("a whole chain verifies, and entries record what was disclosed to whom")
    func whole() throws {
        let path = try Self.log(entries: 6)
        #expect(try AuditLog.verify(path: path) == 6)
        let first = try JSONDecoder().decode(AuditEntry.self, from: Data(try Self.lines(path)[0].utf8))
        #expect(first.seq == 1 && first.prev == AuditEntry.genesis && first.partner == "fiu-a")
        #expect(first.fields == ["subject.name": "redact", "subject.value": "pseudonymise"])
        #expect(first.inputs == [.init(topic: "fin.transactions", partition: 3, offset: 42)])
        #expect(first.rules == ["structuring-cash@1"] && first.time == "2024-05-29T16:26:40Z")
    }

    @Test("a modified entry is found")
    func modified() throws {
        let path = try Self.log(entries: 6)
        var lines = try Self.lines(path)
        lines[2] = lines[2].replacingOccurrences(of: "\"partner\":\"fiu-a\"", with: "\"partner\":\"fiu-x\"")
        try Self.write(lines, to: path)
        #expect(Self.failure(path) == "\(path):3: entry 3 was altered (its hash does not match its content)")
    }

    @Test("a modified entry with its hash recomputed still breaks the chain")
    func rehashed() throws {
        let path = try Self.log(entries: 6)
        var lines = try Self.lines(path)
        var entry = try JSONDecoder().decode(AuditEntry.self, from: Data(lines[2].utf8))
        entry.partner = "fiu-x"
        entry.hash = entry.expectedHash
        lines[2] = String(decoding: try CanonicalJSON.encode(entry), as: UTF8.self)
        try Self.write(lines, to: path)
        #expect(Self.failure(path) == "\(path):4: entry 4 does not follow the entry before it (an entry was inserted, removed or replaced here)")
    }

    @Test("a removed entry is found")
    func removed() throws {
        let path = try Self.log(entries: 6)
        var lines = try Self.lines(path)
        lines.remove(at: 3)
        try Self.write(lines, to: path)
        #expect(Self.failure(path) == "\(path):4: entries 4…4 are missing (removed)")
    }

    @Test("an inserted entry is found")
    func inserted() throws {
        let path = try Self.log(entries: 6)
        var lines = try Self.lines(path)
        lines.insert(lines[1], at: 2)
        try Self.write(lines, to: path)
        #expect(Self.failure(path) == "\(path):3: entry 2 comes again after entry 2 (inserted or duplicated)")
    }

    @Test("entries removed from the end are found through the head")
    func truncated() throws {
        let path = try Self.log(entries: 6)
        try Self.write(Array(try Self.lines(path).prefix(4)), to: path)
        #expect(Self.failure(path) == "\(path): the log ends at entry 4 but its head records entry 6: entries 5…6 were removed")
    }

    @Test("a write torn by a crash is reported, and the log is not appended to until a person looks")
    func torn() throws {
        let path = try Self.log(entries: 2)
        let handle = try #require(FileHandle(forWritingAtPath: path))
        handle.seekToEndOfFile()
        handle.write(Data(#"{"seq":3,"ti"#.utf8))
        try handle.close()
        #expect(Self.failure(path) == "\(path):3: not an audit entry (altered, or a write torn by a crash)")
        #expect(throws: AuditLog.Failure.self) { _ = try AuditLog(path: path) }
    }
}
