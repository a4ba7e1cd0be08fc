"""Unitless mode: a neuron whose parameters were given as plain numbers runs on plain arrays.

SNN training code written for ``brainpy.state`` builds neurons with plain numbers and a
plain step, e.g. ``LIF(100, tau=5., V_th=1., R=1.)`` under
``brainstate.environ.set(dt=1.)``.  The mode of a neuron is decided at construction
from the parameters its user gave (the constructor's defaults do not vote):

* a dimensional parameter given as a plain number makes the neuron *unitless*: every
  parameter, state, input, delta input and the environment's ``dt`` / ``t`` is then a
  plain number read in the canonical units (ms, mV, mA, ohm, siemens, and the model's
  own input unit: mV/ms for Izhikevich), and the defaults are taken in those units
  (``V_reset = 0 mV`` becomes ``0.``);
* a quantity keeps the neuron *united* (as is every neuron built from its defaults);
* both in one neuron, or a quantity where the neuron is unitless (and a plain number
  where it is united), is a ``TypeError`` naming the parameter and what was expected.

The math is the same in both modes (it runs on mantissas in the canonical units), so a
unitless run equals the united run's mantissas.
"""

from __future__ import annotations

import functools
import inspect
from typing import Dict

import brainstate

from .._core.declare import Declared, param_mantissa
from .._core.units import ANY_UNIT, DIMENSIONLESS, format_value, is_plain

__all__ = ["UnitMode", "constructor_defaults"]


@functools.lru_cache(maxsize=None)
def constructor_defaults(cls) -> Dict[str, object]:
    """``{parameter: default object}`` of ``cls.__init__`` (the objects themselves: compared by identity)."""
    try:
        params = inspect.signature(cls.__init__).parameters
    except (TypeError, ValueError):  # pragma: no cover - a builtin signature
        return {}
    return {n: p.default for n, p in params.items() if p.default is not inspect.Parameter.empty}


def _value_of(value):
    return value.value if isinstance(value, brainstate.State) else value


class UnitMode(Declared):
    """Mixin: decide, once per neuron, whether it runs with units or on plain numbers (module docstring)."""

    def _is_default(self, name: str, value) -> bool:
        """Whether ``value`` is the constructor's own default object for ``name`` (not the user's choice)."""
        defaults = constructor_defaults(type(self))
        return name in defaults and value is defaults[name]

    def _is_default_init(self, attr: str) -> bool:
        return self._is_default(attr, getattr(self, attr, None))

    def _unit_votes(self) -> Dict[str, tuple]:
        """``{parameter: (given as a plain number, as shown)}`` of the dimensional parameters given so far."""
        if "_votes" not in self.__dict__:
            self._votes = {}
        return self._votes

    def _settle_mode(self, given, drawn):
        votes = self._unit_votes()
        for name, value in given.items():
            if self._PARAMS[name].unit in (DIMENSIONLESS, ANY_UNIT) or self._is_default(name, value):
                continue
            votes[name] = (is_plain(_value_of(drawn[name])), format_value(_value_of(value)))
        plain = [n for n, (p, _) in votes.items() if p]
        united = [n for n, (p, _) in votes.items() if not p]
        if plain and united:
            raise TypeError(self._mixing_message(votes, plain, united))
        if plain and not self._plain:
            self._plain = True
            self._strip_stored_defaults(set(given))
        if self._plain:  # the defaults given in this call are read in the canonical units
            drawn = {n: self._strip(n, v) if self._is_default(n, given[n]) else v for n, v in drawn.items()}
        return drawn

    def _mixing_message(self, votes, plain, united) -> str:
        owner = type(self).__name__

        def shown(names):
            return ", ".join(f"{n}={votes[n][1]}" for n in names)

        units = ", ".join(f"{n} in {self._PARAMS[n].unit}" for n in [*plain, *united][:4])
        return (f"{owner}: parameter{'s' if len(plain) > 1 else ''} {shown(plain)} "
                f"{'are plain numbers' if len(plain) > 1 else 'is a plain number'} but {shown(united)} "
                f"{'are quantities' if len(united) > 1 else 'is a quantity'}. Give every parameter with units "
                f"(e.g. tau=10. * u.ms), or every one as a plain number to run {owner} without units (read in "
                f"its canonical units: {units}, ...).")

    def _strip(self, name, value):
        """A default parameter as its mantissa in the canonical unit (unitless mode)."""
        spec = self._PARAMS[name]
        if spec.unit in (DIMENSIONLESS, ANY_UNIT) or is_plain(_value_of(value)):
            return value
        return param_mantissa(type(self).__name__, name, value, spec)

    def _strip_stored_defaults(self, skip):
        """Turning unitless: the parameters stored so far (all defaults) become plain mantissas."""
        for name, spec in self._PARAMS.items():
            attr = spec.attr or name
            if name in skip or attr not in self.__dict__:
                continue
            setattr(self, attr, self._strip(name, getattr(self, attr)))
