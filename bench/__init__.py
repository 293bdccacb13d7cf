"""Benchmarks run by `make bench`: ingestion over real HTTP (issue 6) and rollup rebuilds (issue 3)."""
