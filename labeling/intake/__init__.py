"""Getting images in: import, uploads, the demo project and the synthetic studies benchmarks share."""
