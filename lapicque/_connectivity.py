"""Seeded connectivity: pairwise Bernoulli, fixed in/out-degree and edge lists, event-driven on brainevent."""

__all__ = []
