import Foundation
import Logging
import Testing
import VigilCore
@testable import VigilPipeline

@Suite("Structured logs")
struct LoggingTests {
    @Test("one JSON object per line with level, label, message, source and metadata")
    func json() throws {
        let lines = Locked([String]())
        var logger = Logger(label: "vigil.test") { JSONLogHandler(label: $0) { line in lines.withLock { $0.append(line) } } }
        logger[metadataKey: "pipeline"] = "default@1.0.0"
        logger.info("pipeline started", metadata: ["workers": "2", "partitions": .array(["a", "b"])])
        logger.debug("not shown at info")
        #expect(lines.value.count == 1)
        let line = try #require(lines.value.first)
        #expect(!line.contains("\n"))
        let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        #expect(object["level"] as? String == "info")
        #expect(object["label"] as? String == "vigil.test")
        #expect(object["message"] as? String == "pipeline started")
        #expect(object["source"] as? String == "VigilPipelineTests")
        let metadata = try #require(object["metadata"] as? [String: Any])
        #expect(metadata["pipeline"] as? String == "default@1.0.0")
        #expect(metadata["workers"] as? String == "2")
        #expect(metadata["partitions"] as? [String] == ["a", "b"])
        #expect((object["ts"] as? String)?.hasSuffix("Z") == true)
    }
}
