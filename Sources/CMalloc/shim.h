// glibc's allocator statistics (mallinfo2), which Swift's Glibc module leaves out: the rules
// benchmark reports the heap its detection state holds.
#include <malloc.h>
