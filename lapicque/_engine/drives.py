"""What drives the simulated module at each step: nothing, a constant, an array over time, a function of time.

The kinds are data, one class each, so the loop and the run ask the drive instead of
switching on a name: :meth:`Drive.argument` is what enters the compiled program,
:meth:`Drive.apply` calls the module for one step, :attr:`Drive.over_time` says whether
the argument is scanned along its first axis, :meth:`Drive.key` is its part of the
cache key and :meth:`Drive.describe` its words in a result's metadata.
"""

from __future__ import annotations

import weakref

import brainstate
import jax.numpy as jnp
import numpy as np
import saiunit as u

__all__ = ["Drive", "NoDrive", "FunctionDrive", "ConstantDrive", "SeriesDrive"]


class Drive:
    """The input of a run: ``name`` (the kind), ``value`` (what the user passed)."""

    name = "drive"
    #: the argument has a leading time axis: row ``i`` drives step ``i``
    over_time = False

    def __init__(self, value=None):
        self.value = value

    def argument(self, layout):
        """What enters the compiled program (None: nothing)."""
        return None

    def key(self):
        """The structure of :meth:`argument` (unit, dtype, shape), or what else makes programs differ."""
        return None

    def identities(self):
        """``(id, weakref)`` of what :meth:`key` names by identity (checked on a cache hit)."""
        return []

    def apply(self, root, x, t, layout):
        """Advance ``root`` by one step, given this step's part ``x`` of the argument and the time ``t``."""
        raise NotImplementedError

    def describe(self) -> str:
        return self.name


class NoDrive(Drive):
    """``current=None``: the module drives itself (a bias, Poisson inputs)."""

    name = "none"

    def apply(self, root, x, t, layout):
        return root()

    def describe(self):
        return "none"


class FunctionDrive(Drive):
    """A function of time ``f(t) -> current``, called inside the compiled loop."""

    name = "fn"

    def key(self):
        return id(self.value)

    def identities(self):
        try:
            return [(id(self.value), weakref.ref(self.value))]
        except TypeError:
            return [(id(self.value), self.value)]

    def apply(self, root, x, t, layout):
        return root(layout.pad_input(self.value(t)))

    def describe(self):
        return f"function {getattr(self.value, '__qualname__', type(self.value).__name__)}"


class ConstantDrive(Drive):
    """A current held over the run (one value, one per neuron, or the argument of a network's ``update``)."""

    name = "const"
    _lead = 0

    def argument(self, layout):
        """The input as the program takes it: in its own unit (``mA`` for a current), plain if unitless."""
        if self.value.is_unitless:
            return layout.place_input(u.get_mantissa(self.value), self._lead)
        unit = u.mA if u.have_same_dim(self.value, u.mA) else self.value.unit
        return u.Quantity(layout.place_input(self.value.to_decimal(unit), self._lead), unit=unit)

    def key(self):
        m = np.asarray(self.value.mantissa)
        return (str(self.value.unit), str(jnp.result_type(brainstate.environ.dftype())), tuple(m.shape))

    def apply(self, root, x, t, layout):
        return root(x)

    def describe(self):
        shape = tuple(np.shape(self.value.mantissa))
        return f"constant {self.value}" if np.size(self.value.mantissa) <= 4 else \
            f"constant of shape {shape} in {self.value.unit}"


class SeriesDrive(ConstantDrive):
    """An array over time: row ``i`` drives step ``i``."""

    name = "series"
    over_time = True
    _lead = 1

    def describe(self):
        return f"array over time of shape {tuple(np.shape(self.value.mantissa))} in {self.value.unit}"
