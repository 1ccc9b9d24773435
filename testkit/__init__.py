"""What the tests, benchmarks and scripts share: real databases, live servers, clusters.

Not shipped with gymgate; importable from the repository root (pytest, `python -m
benchmarks`, `python -m scripts.…`).
"""
