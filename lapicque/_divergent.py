"""Shared pieces of the divergent (exponential and quadratic) model families.

``_DivergentIF`` is a one-variable model whose ``V`` reaches infinity in
finite time, so ``V_th`` is a numerical cut-off and the guard of
:mod:`lapicque._integrate` applies.  ``Adaptation`` adds the adaptation
current ``w`` of the AdEx / AdQuaIF models:

.. math::

    \\tau_w \\frac{dw}{dt} = a (V - V_{rest}) - w, \\qquad w \\leftarrow w + b
    \\text{ after a spike},

with ``- R w`` entering the voltage equation.
"""

import saiunit as u

from ._base import Neuron, Param, StateSpec, mA, mV, ms, siemens
from ._integrate import exp_euler

__all__ = ["DivergentIF", "Adaptation"]


class DivergentIF(Neuron):
    """Base of ExpIF and QuaIF: one voltage equation with a cut-off at V_th."""

    _DIVERGENT = True
    _STATES = {"V": StateSpec(mV, "V_initializer")}

    def get_spike(self, V=None):
        """Surrogate spikes ``spk_fun((V - V_th) / (V_th - V_reset))`` (default: current ``V``)."""
        return self.spk_fun(self._spike_arg(self._states_from_args(V=V), self._params()))

    def _V_step(self, V, I, dI, dt, p):  # pragma: no cover - abstract
        """One guarded exponential-Euler step of V with total current I (mA)."""
        raise NotImplementedError

    def _step(self, s, I, dI, dt, p, finish_V):
        return {"V": finish_V(self._V_step(s["V"], I, dI, dt, p))}


class Adaptation:
    """Mixin: the adaptation current ``w`` (mA) of AdExIF / AdQuaIF."""

    _ADAPT_PARAMS = {"tau_w": Param(ms, "positive"), "a": Param(siemens), "b": Param(mA)}
    _ADAPT_STATES = {"w": StateSpec(mA, "w_initializer")}

    def _reset(self, s, spk, p):
        out = super()._reset(s, spk, p)
        out["w"] = s["w"] + p["b"] * spk
        return out

    def _step(self, s, I, dI, dt, p, finish_V):
        # V sees the adaptation current of the post-reset state; w sees the new V
        V = finish_V(self._V_step(s["V"], I - s["w"], dI, dt, p))
        w = s["w"]
        w = exp_euler(w, (p["a"] * (V - p["V_rest"]) - w) / p["tau_w"], -1. / p["tau_w"], dt)
        return {"V": V, "w": w}
