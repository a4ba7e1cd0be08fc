"""Shared pieces of the divergent (exponential and quadratic) model families.

``_DivergentIF`` is a one-variable model whose ``V`` reaches infinity in
finite time, so ``V_th`` is a numerical cut-off and the guard of
:mod:`lapicque._neurons.integrate` applies.  ``Adaptation`` adds the adaptation
current ``w`` of the AdEx / AdQuaIF models:

.. math::

    \\tau_w \\frac{dw}{dt} = a (V - V_{rest}) - w, \\qquad w \\leftarrow w + b
    \\text{ after a spike},

with ``- R w`` entering the voltage equation.
"""

import jax.numpy as jnp

from .._core.declare import Param, StateSpec
from .._core.units import mA, mV, ms, siemens
from .base import Neuron
from .integrate import exp_euler

__all__ = ["DivergentIF", "Adaptation"]


class DivergentIF(Neuron):
    """Base of ExpIF and QuaIF: one voltage equation with a cut-off at V_th.

    The cut-off guard belongs here: :meth:`_bound_V` stores a ``V`` that
    reached ``V_th`` as exactly ``V_th`` (after delta inputs), and each
    model's ``_V_step`` evaluates its divergent term at ``min(V, V_th)``.
    """

    _STATES = {"V": StateSpec(mV, "V_initializer")}

    def get_spike(self, V=None):
        """Surrogate spikes ``spk_fun((V - V_th) / (V_th - V_reset))`` (default: current ``V``)."""
        return self._spike_of(V=V)

    def _V_step(self, V, I, dI, dt, p):  # pragma: no cover - abstract
        """One guarded exponential-Euler step of V with total current I (mA)."""
        raise NotImplementedError

    def _step(self, s, I, dI, dt, p):
        return {"V": self._V_step(s["V"], I, dI, dt, p)}

    def _bound_V(self, V, p):
        # same value as minimum(V, V_th), but as a select XLA keeps the V step in one
        # kernel instead of copying it into the fusion that writes the spike record
        return jnp.where(V >= p["V_th"], p["V_th"], V)


class Adaptation:
    """Mixin: the adaptation current ``w`` (mA) of AdExIF / AdQuaIF."""

    _PARAMS = {"tau_w": Param(ms, "positive"), "a": Param(siemens), "b": Param(mA)}
    _STATES = {"w": StateSpec(mA, "w_initializer")}

    def _reset(self, s, spk, p):
        out = super()._reset(s, spk, p)
        out["w"] = s["w"] + p["b"] * spk
        return out

    def _step(self, s, I, dI, dt, p):
        # V sees the adaptation current of the post-reset state; w is stepped in _after_V
        return super()._step(s, I - s["w"], dI, dt, p)

    def _after_V(self, s_reset, s_new, dt, p):
        # w sees the finished V (after delta inputs and the cut-off)
        s = super()._after_V(s_reset, s_new, dt, p)
        w, V = s_reset["w"], s["V"]
        s["w"] = exp_euler(w, (p["a"] * (V - p["V_rest"]) - w) / p["tau_w"], -1. / p["tau_w"], dt)
        return s
