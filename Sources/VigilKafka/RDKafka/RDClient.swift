import CRdKafka
import Foundation
import Logging

/// Per-client state reachable from librdkafka's C callbacks through the handle's opaque pointer.
/// It must outlive the `rd_kafka_t`: the owner keeps a strong reference until after destroy.
final class RDClientContext: @unchecked Sendable {
    let logger: Logger
    /// Set by the consumer; called on the poll thread from the rebalance callback.
    var rebalance: ((OpaquePointer, rd_kafka_resp_err_t, UnsafeMutablePointer<rd_kafka_topic_partition_list_t>) -> Void)?
    /// For the producer's delivery reports, which librdkafka serves one at a time (on the poll
    /// thread, then inside the flush at close, after that thread stopped).
    var deliveryTopics = TopicNames()

    init(logger: Logger) { self.logger = logger }
}

/// librdkafka's log lines go to swift-log, at the matching level.
private let logCallback: @convention(c) (OpaquePointer?, Int32, UnsafePointer<CChar>?, UnsafePointer<CChar>?) -> Void =
    { rk, level, facility, buffer in
        guard let rk, let opaque = rd_kafka_opaque(rk) else { return }
        let context = Unmanaged<RDClientContext>.fromOpaque(opaque).takeUnretainedValue()
        let text = buffer.map { String(cString: $0) } ?? ""
        let fac = facility.map { String(cString: $0) } ?? ""
        // syslog levels: 0-3 error, 4 warning, 5-6 info/notice, 7 debug.
        let swiftLevel: Logger.Level = level <= 3 ? .error : level == 4 ? .warning : level <= 6 ? .info : .debug
        context.logger.log(level: swiftLevel, "\(text)", metadata: ["rdkafka.facility": "\(fac)"])
    }

/// Builds `rd_kafka_conf_t` objects and `rd_kafka_t` handles; the single place that sets properties.
enum RDClient {
    /// A configuration object with the given properties. The caller owns it until it is passed to
    /// `rd_kafka_new` (which takes ownership on success).
    static func makeConf(_ properties: [(String, String)], context: RDClientContext) throws(KafkaError) -> OpaquePointer {
        guard let conf = rd_kafka_conf_new() else {
            throw KafkaError.invalidArgument("rd_kafka_conf_new failed")
        }
        var errstr = [CChar](repeating: 0, count: 512)
        for (key, value) in properties {
            let result = rd_kafka_conf_set(conf, key, value, &errstr, errstr.count)
            if result != RD_KAFKA_CONF_OK {
                rd_kafka_conf_destroy(conf)
                let reason = text(errstr)
                throw KafkaError.invalidArgument("Kafka property '\(key)'='\(value)': \(reason)")
            }
        }
        rd_kafka_conf_set_opaque(conf, Unmanaged.passUnretained(context).toOpaque())
        rd_kafka_conf_set_log_cb(conf, logCallback)
        return conf
    }

    /// Creates a handle; takes ownership of `conf` whatever the outcome.
    static func makeHandle(_ type: rd_kafka_type_t, conf: OpaquePointer) throws(KafkaError) -> OpaquePointer {
        var errstr = [CChar](repeating: 0, count: 512)
        guard let rk = rd_kafka_new(type, conf, &errstr, errstr.count) else {
            rd_kafka_conf_destroy(conf)
            let reason = text(errstr)
            throw KafkaError.invalidArgument("creating a Kafka client: \(reason)")
        }
        return rk
    }

    /// The text in a C error buffer, up to its terminating NUL.
    static func text(_ buffer: [CChar]) -> String {
        String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Copies a partition list into Swift values (the list stays owned by the caller).
    static func partitions(_ list: UnsafePointer<rd_kafka_topic_partition_list_t>) -> [(TopicPartition, Int64, rd_kafka_resp_err_t)] {
        let count = Int(list.pointee.cnt)
        guard count > 0, let elems = list.pointee.elems else { return [] }
        return (0..<count).map { i in
            let e = elems[i]
            return (TopicPartition(String(cString: e.topic), e.partition), e.offset, e.err)
        }
    }

    /// Runs `body` with a temporary partition list holding these entries, destroyed afterwards
    /// (a leaked list makes librdkafka's shutdown hang).
    static func withPartitionList<R>(
        _ entries: [(TopicPartition, Int64)],
        _ body: (UnsafeMutablePointer<rd_kafka_topic_partition_list_t>) throws -> R
    ) rethrows -> R {
        let list = rd_kafka_topic_partition_list_new(Int32(max(entries.count, 1)))!
        defer { rd_kafka_topic_partition_list_destroy(list) }
        for (tp, offset) in entries {
            let element = rd_kafka_topic_partition_list_add(list, tp.topic, tp.partition)!
            element.pointee.offset = offset
        }
        return try body(list)
    }

    /// The group's committed offsets (next offset to read); partitions with none are left out.
    static func committed(_ rk: OpaquePointer, _ wanted: [TopicPartition], timeout: Duration) throws(KafkaError) -> [TopicPartition: Int64] {
        let entries: [(TopicPartition, Int64)] = wanted.map { ($0, Int64(RD_KAFKA_OFFSET_INVALID)) }
        let ms = Int32(timeout.milliseconds)
        let result: (rd_kafka_resp_err_t, [(TopicPartition, Int64, rd_kafka_resp_err_t)]) = withPartitionList(entries) { list in
            (rd_kafka_committed(rk, list, ms), partitions(list))
        }
        let (err, found) = result
        if err != RD_KAFKA_RESP_ERR_NO_ERROR { throw KafkaError.from(err, "read committed offsets") }
        var out: [TopicPartition: Int64] = [:]
        for (tp, offset, _) in found where offset >= 0 && out[tp] == nil { out[tp] = offset }
        return out
    }

    /// Per partition, the offset of the first record with a timestamp at or after `milliseconds`
    /// (partitions with none are left out). `nil` when no partition answers even for time 0 —
    /// every record is at or after 0 — which means the broker cannot look offsets up by time
    /// (librdkafka 2.0.2's mock) or every partition is empty.
    static func offsets(_ rk: OpaquePointer, _ wanted: [TopicPartition], atOrAfter milliseconds: Int64,
                        timeout: Duration) throws(KafkaError) -> [TopicPartition: Int64]? {
        let timeoutMs = Int32(timeout.milliseconds)
        func lookup(_ ms: Int64) throws(KafkaError) -> [TopicPartition: Int64] {
            let entries: [(TopicPartition, Int64)] = wanted.map { ($0, ms) }
            let result: (rd_kafka_resp_err_t, [(TopicPartition, Int64, rd_kafka_resp_err_t)]) = withPartitionList(entries) { list in
                (rd_kafka_offsets_for_times(rk, list, timeoutMs), partitions(list))
            }
            let (err, found) = result
            if err != RD_KAFKA_RESP_ERR_NO_ERROR { throw KafkaError.from(err, "look up offsets by time") }
            var out: [TopicPartition: Int64] = [:]
            for (tp, offset, _) in found where offset >= 0 && out[tp] == nil { out[tp] = offset }
            return out
        }
        let found = try lookup(milliseconds)
        if found.isEmpty, try lookup(0).isEmpty { return nil }
        return found
    }

    /// Copies a message's key, value and headers into a ``ConsumedMessage``.
    static func copy(_ m: UnsafeMutablePointer<rd_kafka_message_t>, topics: inout TopicNames) -> ConsumedMessage {
        let msg = m.pointee
        let topic = topics.name(msg.rkt)
        let value: [UInt8] = msg.payload.map { Array(UnsafeRawBufferPointer(start: $0, count: msg.len)) } ?? []
        let key: [UInt8]? = msg.key.map { Array(UnsafeRawBufferPointer(start: $0, count: msg.key_len)) }
        var tsType = RD_KAFKA_TIMESTAMP_NOT_AVAILABLE
        let ts = rd_kafka_message_timestamp(m, &tsType)
        var headers: [KafkaHeader] = []
        var hdrs: OpaquePointer?
        if rd_kafka_message_headers(m, &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR, let hdrs {
            var index = 0
            var name: UnsafePointer<CChar>?
            var valuePtr: UnsafeRawPointer?
            var size = 0
            while rd_kafka_header_get_all(hdrs, index, &name, &valuePtr, &size) == RD_KAFKA_RESP_ERR_NO_ERROR {
                let bytes = valuePtr.map { Array(UnsafeRawBufferPointer(start: $0, count: size)) }
                headers.append(KafkaHeader(name: name.map { String(cString: $0) } ?? "", value: bytes))
                index += 1
            }
        }
        return ConsumedMessage(
            topic: topic,
            partition: msg.partition,
            offset: msg.offset,
            timestampMilliseconds: tsType == RD_KAFKA_TIMESTAMP_NOT_AVAILABLE ? nil : ts,
            key: key,
            value: value,
            headers: headers
        )
    }
}

/// Topic names by librdkafka topic handle (stable for a client's life), so that each message
/// shares its topic's `String` instead of building one (names of 16 bytes or more, such as
/// `fin.transactions`, are heap strings: an allocation per message). For one thread at a time.
struct TopicNames {
    private var last: (handle: OpaquePointer, name: String)?
    private var names: [OpaquePointer: String] = [:]

    mutating func name(_ handle: OpaquePointer) -> String {
        if let last, last.handle == handle { return last.name }
        let name = names[handle] ?? String(cString: rd_kafka_topic_name(handle))
        names[handle] = name
        last = (handle, name)
        return name
    }
}
