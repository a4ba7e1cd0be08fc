"""Synapse kinetics: Expon, DualExpon, Alpha, AMPA, GABAa (conductance/current traces driven by spikes)."""

__all__ = []
