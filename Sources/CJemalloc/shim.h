// jemalloc (Debian: libjemalloc-dev), built without a symbol prefix: linking it makes its
// malloc and free the whole process's, Swift's runtime and librdkafka included. `mallctl` gives
// the benchmarks its statistics (the heap in use) and its version.
#include <jemalloc/jemalloc.h>
