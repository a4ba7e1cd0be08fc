r"""The absolute refractory period shared by every ``*Ref`` model.

Rule (exact to the step)
------------------------
Let a spike be registered at step ``s`` (the stored ``V`` reached the
threshold).  The step after it applies the reset as usual; then the neuron is
*refractory* for the steps ``s + k`` with

.. math::

    k < n_\mathrm{ref} = \left\lceil \tau_\mathrm{ref} / \Delta t - 10^{-3} \right\rceil ,

during which every state variable is held at its post-reset value (input and
delta inputs are ignored).  This is the reference rule ``t - t_spike <
tau_ref`` evaluated in whole steps: the ``10^{-3}`` step tolerance makes a
``tau_ref`` that is a multiple of ``dt`` (e.g. 5 ms at 0.1 ms) always give
``n_ref - 1`` held steps, where the reference's float comparison gives 49 or
50 depending on rounding.  The count is kept in an integer state
(``ref_steps_left``), so it stays exact however long the run: no float time
stamps are compared.  ``last_spike_time`` (ms) is still recorded for users,
and ``refractory`` (with ``ref_var=True``) is ``True`` while held or spiking.
``tau_ref = 0`` gives exactly the model without refractoriness.
"""

import brainstate
import jax
import jax.numpy as jnp

from .._core.declare import Param, StateSpec
from .._core.environ import t_ms
from .._core.units import DIMENSIONLESS, ms

__all__ = ["Refractory", "refractory_steps", "BOOKKEEPING"]

#: tolerance (in steps) when converting tau_ref / dt to a whole number of steps
STEP_TOLERANCE = 1e-3
#: value of ``last_spike_time`` before the first spike (as in the reference)
NEVER_SPIKED_MS = -1e7


def refractory_steps(tau_ref_ms, dt_ms):
    """``n_ref = ceil(tau_ref/dt - 1e-3)``: held steps after a spike are ``n_ref - 1``."""
    n = jnp.ceil(jnp.asarray(tau_ref_ms) / dt_ms - STEP_TOLERANCE)
    return jnp.maximum(n, 0).astype(jnp.int32)


class Refractory:
    """Mixin adding the shared refractory mechanism to a model class.

    A ``XRef`` model is ``class XRef(Refractory, X)``: the math of ``X`` plus
    this mechanism, nothing copied.  Its parameter and states are declared
    like every other (merged into the model's tables by
    ``Neuron.__init_subclass__``); the mechanism itself is the ``_after_V``
    step below.
    """

    _REFRACTORY = True
    _PARAMS = {"tau_ref": Param(ms, "nonnegative")}
    _STATES = {
        "last_spike_time": StateSpec(ms, NEVER_SPIKED_MS, kind=brainstate.ShortTermState),
        "ref_steps_left": StateSpec(DIMENSIONLESS, 0, kind=brainstate.ShortTermState, dtype=jnp.int32),
        "refractory": StateSpec(DIMENSIONLESS, False, dtype=jnp.bool_, when="ref_var"),
    }

    def _init_refractory(self, tau_ref, ref_var):
        self._set_params(tau_ref=tau_ref)
        self.ref_var = bool(ref_var)

    def _after_V(self, s_reset, s_new, dt, p):
        """Hold the model's states while refractory; count the held steps; stamp spike times."""
        left = s_reset["ref_steps_left"]
        held = left > 0
        # V is held first, and states that follow V (adaptation) are stepped with the held V: their
        # value is discarded where held, and elsewhere the held V is V itself.  Same result as holding
        # afterwards, but XLA then computes V's step (exp, exprel) once, in V's own kernel.
        s_new = {**s_new, "V": jnp.where(held, s_reset["V"], s_new["V"])}
        s = super()._after_V(s_reset, s_new, dt, p)
        s = {k: (v if k in Refractory._STATES or k == "V" else jnp.where(held, s_reset[k], v))
             for k, v in s.items()}
        spiking = jax.lax.stop_gradient(s["V"] >= self._threshold(s, p))
        n_ref = refractory_steps(p["tau_ref"], dt)
        s["ref_steps_left"] = jnp.where(spiking, jnp.maximum(n_ref - 1, 0), jnp.maximum(left - 1, 0))
        last = s_reset["last_spike_time"]
        s["last_spike_time"] = jnp.where(spiking, jnp.asarray(t_ms(type(self).__name__, plain=self.unitless), dtype=last.dtype), last)
        if "refractory" in s:
            s["refractory"] = jnp.logical_or(held, spiking)
        return s


#: the refractory bookkeeping states (not dynamics: plots and default records leave them out)
BOOKKEEPING = tuple(Refractory._STATES)
