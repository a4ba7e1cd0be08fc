"""Poisson inputs: PoissonSpike, PoissonEncoder, PoissonInput."""

__all__ = []
