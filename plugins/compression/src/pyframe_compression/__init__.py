"""Response compression for pyframe: gzip, brotli and zstd."""
