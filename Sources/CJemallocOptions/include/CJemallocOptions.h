// The options Vigil compiles into jemalloc (options.c says why each is set).
const char *vigil_jemalloc_options(void);
