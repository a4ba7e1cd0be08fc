"""Benchmarks of lapicque against brainpy.state and other simulators: ``python -m benchmarks``."""
