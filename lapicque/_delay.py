"""Delays in whole steps: the one delay rule of every projection."""

__all__ = []
