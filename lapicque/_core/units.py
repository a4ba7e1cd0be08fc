"""The unit vocabulary: lapicque's internal units, the words for each dimension, quantities to mantissas.

All model math runs on plain arrays (*mantissas*) in one consistent unit system --
mV, ms, mA, ohm, siemens, with 1 ohm x 1 mA = 1 mV and 1 S x 1 mV = 1 mA -- and every
value that enters it is converted here, with an error naming the owner, the parameter
and the dimension expected.  The same table of dimensions words the errors of the
Python API and of the ``lapicque`` command.

Unitless mode: a model whose parameters were given as plain numbers runs on plain
arrays, read in the same canonical units (``plain=True`` below); a quantity there is
an error, as a plain number is in the united mode.
"""

from __future__ import annotations

from typing import Any, NamedTuple, Optional

import jax
import jax.numpy as jnp
import numpy as np
import saiunit as u

__all__ = ["mV", "ms", "mA", "ohm", "siemens", "per_ms", "per_mV", "DIMENSIONLESS", "ANY_UNIT", "Dimension",
           "DIMENSIONS", "kind_of", "describe_unit", "describe_plain", "format_value", "to_mantissa", "with_unit",
           "is_plain", "concrete"]

mV, ms, mA, ohm, siemens = u.mV, u.ms, u.mA, u.ohm, u.siemens
per_ms = u.ms ** -1
per_mV = u.mV ** -1
#: the unit of a dimensionless parameter or state (a plain array)
DIMENSIONLESS = None
#: a parameter or state of any dimension (a synapse's variable takes its initializer's unit)
ANY_UNIT = "any"


class Dimension(NamedTuple):
    """One physical dimension: its canonical unit and how messages and the command line write it."""

    unit: Any
    noun: str        # 'time', 'rate (1/time)'
    code: str        # an example in Python: '10. * u.ms'
    spelling: str    # the canonical unit on the command line: 'ms'
    example: str     # an example on the command line: '10ms'

    @property
    def phrase(self) -> str:
        """The noun with its article: 'a time', 'an inverse voltage (1/voltage)'."""
        return ("an " if self.noun[0] in "aeiou" else "a ") + self.noun


#: kind -> dimension, the one table both the API's and the command line's messages use
DIMENSIONS = {
    "time": Dimension(u.ms, "time", "10. * u.ms", "ms", "10ms"),
    "voltage": Dimension(u.mV, "voltage", "-65. * u.mV", "mV", "-65mV"),
    "current": Dimension(u.mA, "current", "1.5 * u.mA", "mA", "500pA"),
    "resistance": Dimension(u.ohm, "resistance", "1. * u.ohm", "ohm", "10Mohm"),
    "conductance": Dimension(u.siemens, "conductance", "1. * u.siemens", "S", "2nS"),
    "rate": Dimension(u.ms ** -1, "rate (1/time)", "0.01 / u.ms", "/ms", "0.01/ms"),
    "inverse voltage": Dimension(u.mV ** -1, "inverse voltage (1/voltage)", "0.07 / u.mV", "/mV", "0.07/mV"),
    "capacitance": Dimension(u.pF, "capacitance", "200. * u.pF", "pF", "200pF"),
}


def kind_of(unit) -> Optional[str]:
    """The kind in :data:`DIMENSIONS` with the dimension of ``unit`` (None for any other)."""
    for kind, dim in DIMENSIONS.items():
        if u.have_same_dim(1. * dim.unit, 1. * unit):
            return kind
    return None


def describe_unit(unit) -> str:
    """Words for the physical dimension of ``unit`` (matched by dimension, not by name).

    Examples
    --------
    >>> import saiunit as u
    >>> describe_unit(u.second)
    'a quantity with units of time (e.g. 10. * u.ms)'
    """
    if unit is DIMENSIONLESS:
        return "a dimensionless number"
    kind = kind_of(unit)
    if kind is None:
        return f"a quantity with units of {unit}"
    return f"a quantity with units of {DIMENSIONS[kind].noun} (e.g. {DIMENSIONS[kind].code})"


def format_value(v) -> str:
    """A short text for a value in an error message: the number and its unit, or the array's shape."""
    try:
        arr = np.asarray(u.get_mantissa(v))
        unit = u.get_unit(v)
        body = repr(arr.item()) if arr.size == 1 else f"array of shape {arr.shape}"
        return body + ("" if unit.is_unitless else f" {unit}")
    except Exception:  # pragma: no cover - repr fallback
        return repr(v)


def describe_plain(unit) -> str:
    """Words for a plain number standing for ``unit`` in unitless mode: 'a plain number (read in mV)'."""
    return "a dimensionless number" if unit is DIMENSIONLESS else f"a plain number (read in {unit})"


def is_plain(value) -> bool:
    """Whether ``value`` carries no unit (a number, an array or a unitless quantity)."""
    return not isinstance(value, u.Quantity) or value.is_unitless


def _plain_mantissa(value, unit, what: str, owner: str):
    """Unitless mode: ``value`` must be plain (it is read in ``unit``)."""
    if not is_plain(value):
        raise TypeError(
            f"{owner}: {what} must be {describe_plain(unit)}: {owner} runs without units, since its parameters "
            f"were given as plain numbers; got {format_value(value)}. Give the parameters, inputs and "
            f"brainstate.environ's dt all as plain numbers, or all as quantities.")
    return u.get_mantissa(value)


def to_mantissa(value, unit, what: str, owner: str, dtype=None, plain: bool = False):
    """``value`` as a JAX array in ``unit`` (``DIMENSIONLESS``: a plain number); a clear error otherwise.

    Parameters
    ----------
    value : Quantity, number or array
        The value to convert.
    unit : saiunit.Unit or None
        The canonical unit (``DIMENSIONLESS``: the value must be a plain number).
    what, owner : str
        Words for the error: what the value is and whose.
    dtype : dtype, optional
        Cast to it (booleans are kept).
    plain : bool, default False
        Unitless mode: the value must be a plain number, taken in ``unit``.
    """
    if plain and unit is not DIMENSIONLESS:
        arr = _plain_mantissa(value, unit, what, owner)
    elif unit is DIMENSIONLESS:
        if isinstance(value, u.Quantity) and not value.is_unitless:
            raise TypeError(f"{owner}: {what} must be {describe_unit(unit)}; got {format_value(value)}.")
        arr = u.get_mantissa(value)
    else:
        if not isinstance(value, u.Quantity) or value.is_unitless:
            raise TypeError(
                f"{owner}: {what} must be {describe_unit(unit)}; got the plain number {format_value(value)}. "
                f"lapicque does not guess units: multiply by a saiunit unit (import saiunit as u), or give "
                f"every parameter as a plain number to run {owner} without units.")
        if not u.have_same_dim(value, unit):
            raise TypeError(f"{owner}: {what} must be {describe_unit(unit)}; got {format_value(value)} "
                            f"(wrong physical dimension).")
        arr = value.to_decimal(unit)
    arr = jnp.asarray(arr)
    if dtype is not None and not jnp.issubdtype(arr.dtype, jnp.bool_):
        arr = arr.astype(dtype)
    return arr


def with_unit(arr, unit, plain: bool = False):
    """``arr`` as a quantity in ``unit``; itself for a dimensionless value or in unitless mode."""
    return arr if plain or unit is DIMENSIONLESS else u.Quantity(arr, unit=unit)


def concrete(x):
    """A NumPy copy of ``x`` if it is concrete (not traced), else None."""
    try:
        return np.asarray(x)
    except Exception:  # traced: no concrete value
        return None
