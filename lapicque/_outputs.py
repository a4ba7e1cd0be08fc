"""Synaptic outputs: COBA, CUBA, MgBlock (current from a synaptic variable and the membrane potential)."""

__all__ = []
