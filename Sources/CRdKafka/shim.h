// The only C surface Vigil uses: librdkafka's client API and its mock cluster
// (the embedded broker). Debian's librdkafka-dev 2.0.2 provides both headers.
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
