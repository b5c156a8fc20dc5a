// Nothing to import: this target only defines jemalloc's `malloc_conf` (options.c), which
// jemalloc reads at start-up. Code that needs the options in force asks jemalloc (`mallctl`).
