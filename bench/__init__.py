"""Benchmarks run by `make bench`: ingestion over real HTTP, rollup rebuilds and
the showback pages over 10 million events."""
