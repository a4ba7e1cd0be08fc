r"""A user-defined model: the Izhikevich (2003) neuron, with units, in ~60 lines.

A lapicque model is a subclass of :class:`lapicque.Neuron` that declares its
parameters and states as data and writes its math once, on plain arrays in
lapicque's unit system (mV, ms, mA, ohm; 1 ohm * 1 mA = 1 mV):

* ``_PARAMS = {name: lapicque.Param(unit, constraint)}`` -- checked at
  construction (dimension, sign, finiteness, shape), stored as quantities,
  handed to the math as mantissas in ``unit``;
* ``_STATES = {name: lapicque.StateSpec(unit, initializer)}`` -- created by
  ``init_state``, reset by ``reset_state``, saved by ``state_dict`` /
  ``lapicque.save``;
* ``_step(s, I, dI, dt, p)`` -- one step from the post-reset state ``s``
  with the total input current ``I`` (mA); it returns ``V`` *before* delta
  inputs (the base class adds them, so no model can forget them);
* ``_reset(s, spk, p)`` -- the jumps after a spike (the base class resets
  ``V`` with the ``'soft'`` / ``'hard'`` rule; add your own jumps);
* ``_bound_V(V, p)`` -- optional bound on the stored ``V`` (here the spike
  cut-off of a diverging ``V``).

The update order, the spike rule ``V >= V_th``, the input registry, the
surrogate gradients, ``lapicque.simulate`` (also sharded over devices), the
time-step check and checkpoints come from the base class.

The model (Izhikevich 2003, IEEE Trans. Neural Netw. 14:1569):

.. math::

    \tau \frac{dV}{dt} &= k_2 V^2 + k_1 V + k_0 - U + R I, \qquad
    \frac{dU}{dt} = a (b V - U),

with :math:`k_2 = 0.04/\mathrm{mV}`, :math:`k_1 = 5`, :math:`k_0 = 140` mV and
:math:`\tau = 1` ms; after a spike (:math:`V \ge V_{th}` = 30 mV)
:math:`V \leftarrow c` (``V_reset``) and :math:`U \leftarrow U + d`.

Run ``python examples/izhikevich.py`` for the firing patterns of the paper's
regular spiking, fast spiking and chattering parameter sets.
"""

import braintools
import jax.numpy as jnp
import saiunit as u

import lapicque
from lapicque import Param, StateSpec, exp_euler


class Izhikevich(lapicque.Neuron):
    """Izhikevich (2003) neuron; ``V_reset`` is the paper's ``c``; hard reset by default.

    Examples
    --------
    >>> import brainstate, saiunit as u
    >>> brainstate.environ.set(dt=0.1 * u.ms)
    >>> n = Izhikevich(3)
    >>> n.init_state()
    >>> n.update(10. * u.mA).shape
    (3,)
    """

    _PARAMS = {
        "a": Param(u.ms ** -1, "nonnegative"), "b": Param(None), "V_reset": Param(u.mV), "d": Param(u.mV),
        "V_th": Param(u.mV), "R": Param(u.ohm, "positive"), "tau": Param(u.ms, "positive"),
    }
    _STATES = {"V": StateSpec(u.mV, "V_initializer"), "U": StateSpec(u.mV, "U_initializer")}

    def __init__(self, in_size, a=0.02 / u.ms, b=0.2, V_reset=-65. * u.mV, d=8. * u.mV, V_th=30. * u.mV,
                 R=1. * u.ohm, tau=1. * u.ms,
                 V_initializer=braintools.init.Constant(-65. * u.mV),
                 U_initializer=braintools.init.Constant(-13. * u.mV),
                 spk_fun=braintools.surrogate.ReluGrad(), spk_reset="hard", name=None):
        super().__init__(in_size, spk_fun=spk_fun, spk_reset=spk_reset, name=name)
        self._set_params(a=a, b=b, V_reset=V_reset, d=d, V_th=V_th, R=R, tau=tau)
        self._set_initializers(V_initializer=V_initializer, U_initializer=U_initializer)
        self._check_params()  # V_th > V_reset

    def get_spike(self, V=None):
        """Surrogate spikes ``spk_fun((V - V_th) / (V_th - V_reset))`` (default: current ``V``)."""
        return self.spk_fun(self._spike_arg(self._states_from_args(V=V), self._params()))

    def _reset(self, s, spk, p):
        out = super()._reset(s, spk, p)  # V: soft or hard reset rule
        out["U"] = s["U"] + p["d"] * spk
        return out

    def _step(self, s, I, dI, dt, p):
        V, U = s["V"], s["U"]
        Vc = jnp.minimum(V, p["V_th"])  # the quadratic diverges: evaluate it at most at the cut-off
        f = (0.04 * Vc * Vc + 5. * Vc + 140. - U + p["R"] * I) / p["tau"]
        J = (0.08 * Vc + 5. + (0. if dI is None else p["R"] * dI)) / p["tau"]
        V_new = exp_euler(V, f, J, dt, cap=True)
        U_new = exp_euler(U, p["a"] * (p["b"] * V - U), -p["a"], dt)
        return {"V": V_new, "U": U_new}

    def _bound_V(self, V, p):
        return jnp.where(V >= p["V_th"], p["V_th"], V)  # a step past the cut-off stores V_th: a spike


#: the paper's parameter sets (Fig. 2): a (1/ms), b, c (mV), d (mV)
PATTERNS = {
    "regular spiking": dict(a=0.02 / u.ms, b=0.2, V_reset=-65. * u.mV, d=8. * u.mV),
    "fast spiking": dict(a=0.1 / u.ms, b=0.2, V_reset=-65. * u.mV, d=2. * u.mV),
    "chattering": dict(a=0.02 / u.ms, b=0.2, V_reset=-50. * u.mV, d=2. * u.mV),
}


def main():
    for label, params in PATTERNS.items():
        res = lapicque.simulate(Izhikevich(1, **params), 10. * u.mA, 500. * u.ms, 0.1 * u.ms, progress=False)
        rate = float(lapicque.analysis.firing_rate(res)[0].to_decimal(u.Hz))
        print(f"{label:<16} {int(res.spike_count[0]):3d} spikes in 500 ms ({rate:5.1f} Hz)")


if __name__ == "__main__":
    main()
