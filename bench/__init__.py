"""Benchmarks: each prints ratios against a baseline measured in the same process and run.

See bench/README.md for how to run them and what the numbers mean.
"""
