import CRdKafka

/// An error from the Kafka transport.
///
/// librdkafka's numeric error codes are kept (``code``) so operators can look them up, but callers
/// never need the C module: the classification properties say what to do about an error.
public struct KafkaError: Error, Sendable, CustomStringConvertible {
    /// The librdkafka error code (`rd_kafka_resp_err_t`), e.g. `-185` for `_TIMED_OUT`.
    /// Negative values are client-side errors, positive ones come from a broker.
    public let code: Int32
    /// librdkafka's symbolic name of ``code``, e.g. `"_TIMED_OUT"` or `"UNKNOWN_TOPIC_OR_PART"`.
    public let name: String
    /// What happened, in words, including the operation that failed.
    public let message: String
    /// The error is transient: the same operation may succeed if tried again later.
    public let isRetriable: Bool
    /// The client handle is unusable after this error and must be recreated.
    public let isFatal: Bool

    public let file: String
    public let line: UInt

    init(
        code: Int32,
        message: String,
        isRetriable: Bool? = nil,
        isFatal: Bool = false,
        file: String = #fileID,
        line: UInt = #line
    ) {
        self.code = code
        let err = rd_kafka_resp_err_t(rawValue: code)
        self.name = String(cString: rd_kafka_err2name(err))
        self.message = message
        self.isRetriable = isRetriable ?? KafkaError.retriableCodes.contains(code)
        self.isFatal = isFatal || code == RD_KAFKA_RESP_ERR__FATAL.rawValue
        self.file = file
        self.line = line
    }

    /// An error from a `rd_kafka_resp_err_t`, with librdkafka's own description appended.
    static func from(
        _ err: rd_kafka_resp_err_t,
        _ operation: String,
        file: String = #fileID,
        line: UInt = #line
    ) -> KafkaError {
        let text = String(cString: rd_kafka_err2str(err))
        return KafkaError(code: err.rawValue, message: "\(operation): \(text)", file: file, line: line)
    }

    /// An error from a `rd_kafka_error_t`; takes ownership and destroys it.
    static func consuming(
        _ error: OpaquePointer,
        _ operation: String,
        file: String = #fileID,
        line: UInt = #line
    ) -> KafkaError {
        defer { rd_kafka_error_destroy(error) }
        let code = rd_kafka_error_code(error)
        let text = String(cString: rd_kafka_error_string(error))
        return KafkaError(
            code: code.rawValue,
            message: "\(operation): \(text)",
            isRetriable: rd_kafka_error_is_retriable(error) != 0,
            isFatal: rd_kafka_error_is_fatal(error) != 0,
            file: file,
            line: line
        )
    }

    /// A client-side misuse or configuration problem (librdkafka's `_INVALID_ARG`).
    static func invalidArgument(_ message: String, file: String = #fileID, line: UInt = #line) -> KafkaError {
        KafkaError(code: RD_KAFKA_RESP_ERR__INVALID_ARG.rawValue, message: message, isRetriable: false,
                   file: file, line: line)
    }

    /// The operation was abandoned because the client is shutting down.
    static func shuttingDown(_ operation: String, file: String = #fileID, line: UInt = #line) -> KafkaError {
        KafkaError(code: RD_KAFKA_RESP_ERR__DESTROY.rawValue, message: "\(operation): client is shutting down",
                   isRetriable: false, file: file, line: line)
    }

    /// The operation did not complete in time.
    public var isTimeout: Bool {
        code == RD_KAFKA_RESP_ERR__TIMED_OUT.rawValue || code == RD_KAFKA_RESP_ERR__MSG_TIMED_OUT.rawValue
            || code == RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT.rawValue
    }

    /// The producer's local queue is full: back off and try again (back-pressure, not a failure).
    public var isQueueFull: Bool { code == RD_KAFKA_RESP_ERR__QUEUE_FULL.rawValue }

    public var description: String { "Kafka error \(name) (\(code)): \(message)" }

    /// Errors that clear by themselves: broker or network trouble, leadership changes, timeouts.
    /// Used where librdkafka gives only a bare code (no `rd_kafka_error_t` with its own flag).
    private static let retriableCodes: Set<Int32> = [
        RD_KAFKA_RESP_ERR__TRANSPORT, RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN, RD_KAFKA_RESP_ERR__TIMED_OUT,
        RD_KAFKA_RESP_ERR__MSG_TIMED_OUT, RD_KAFKA_RESP_ERR__QUEUE_FULL, RD_KAFKA_RESP_ERR__WAIT_COORD,
        RD_KAFKA_RESP_ERR__RESOLVE, RD_KAFKA_RESP_ERR__TIMED_OUT_QUEUE, RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT,
        RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION, RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE,
        RD_KAFKA_RESP_ERR_NOT_COORDINATOR, RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE,
        RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS, RD_KAFKA_RESP_ERR_NETWORK_EXCEPTION,
        RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS, RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND,
        RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART, RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS,
    ].reduce(into: Set<Int32>()) { $0.insert($1.rawValue) }
}
