"""Benchmarks that print ratios against peers; never part of the test run."""
