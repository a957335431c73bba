"""Benchmarks and the bounded load driver (loopback only)."""
