"""Short-term plasticity: STP (Tsodyks-Markram facilitation and depression) and STD."""

__all__ = []
