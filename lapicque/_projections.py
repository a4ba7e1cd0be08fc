"""Projections: AlignPostProj, DeltaProj, CurrentProj (comm -> synapse -> output -> post, with delays)."""

__all__ = []
