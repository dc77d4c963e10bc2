"""Benchmarks: request counts, latency, start-up, scale (python -m bench)."""
