"""Benchmarks run by `make bench`: ingestion over real HTTP (issue 6), rollup rebuilds (issue 3) and
the showback pages over 10 million events (issue 4)."""
