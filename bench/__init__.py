"""Benchmarks: small timing scripts the benchmark command can call."""
