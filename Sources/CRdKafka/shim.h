// The only C surface Vigil uses: librdkafka's client API and its mock cluster
// (the embedded broker). Debian's librdkafka-dev 2.0.2 provides both headers.
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

// rd_kafka_mock_broker_push_request_error_rtts takes C varargs, which Swift cannot pass: one
// (error, delay) pair per call through this fixed-arity wrapper.
static inline rd_kafka_resp_err_t vigil_mock_broker_push_error_rtt(rd_kafka_mock_cluster_t *mcluster, int32_t broker_id,
                                                                   int16_t api_key, rd_kafka_resp_err_t err, int rtt_ms) {
    return rd_kafka_mock_broker_push_request_error_rtts(mcluster, broker_id, api_key, 1, err, rtt_ms);
}
