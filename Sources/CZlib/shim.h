// zlib (Debian: zlib1g-dev), for the recording format's compressed blocks and checksums.
#include <zlib.h>
