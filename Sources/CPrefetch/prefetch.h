// The compiler's prefetch hint, which Swift cannot spell. A loop over many keys whose entries
// lie anywhere in memory (a sweep of every window) asks for the entries a few keys ahead, so
// their fetches from memory overlap instead of following one another.
static inline void vigil_prefetch(const void *address) { __builtin_prefetch(address, 0, 3); }
