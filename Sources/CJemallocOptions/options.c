// jemalloc's options for every program that links Vigil's allocator (`vigil` and the tests).
// jemalloc reads this variable when it starts; MALLOC_CONF in the environment still overrides it.
//
// tcache_max:65536 — blocks of up to 64 KiB are cached per thread (jemalloc's default stops at
// 32 KiB). librdkafka's LZ4 compression callocs a fresh 64 KiB context for every message set it
// compresses. Beyond the thread cache, jemalloc zeroes such a block by giving its pages back to
// the kernel (madvise DONTNEED) and faulting them in again: every detector at 80,000 events/s made
// 23,000 of those calls in 20 s, each a TLB shootdown interrupting the other core: 2.9 % of the
// profile's samples, and 1.8 % more in the page faults after them (docs/benchmarks.md). From the
// cache, the block is cleared with memset.
#include <jemalloc/jemalloc.h>

const char *malloc_conf = "tcache_max:65536";
