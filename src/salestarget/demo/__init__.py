"""A realistic demo company (华辰科技) for first runs, screenshots, tests and benchmarks."""
