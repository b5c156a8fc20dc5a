import CRdKafka
import Testing
@testable import VigilKafka

@Suite("librdkafka errors as Swift errors")
struct KafkaErrorTests {
    @Test("codes keep librdkafka's names and are classified for callers")
    func classification() {
        let transport = KafkaError.from(RD_KAFKA_RESP_ERR__TRANSPORT, "fetch")
        #expect(transport.name == "_TRANSPORT")
        #expect(transport.isRetriable && !transport.isFatal)
        #expect(transport.message.hasPrefix("fetch: "))

        let full = KafkaError.from(RD_KAFKA_RESP_ERR__QUEUE_FULL, "produce")
        #expect(full.isQueueFull && full.isRetriable)

        let timeout = KafkaError.from(RD_KAFKA_RESP_ERR__MSG_TIMED_OUT, "delivery")
        #expect(timeout.isTimeout)

        let auth = KafkaError.from(RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED, "produce")
        #expect(auth.name == "TOPIC_AUTHORIZATION_FAILED")
        #expect(!auth.isRetriable)

        let fatal = KafkaError.from(RD_KAFKA_RESP_ERR__FATAL, "produce")
        #expect(fatal.isFatal)
        #expect("\(fatal)".contains("_FATAL"))
    }
}
