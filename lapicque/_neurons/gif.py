"""Generalized integrate-and-fire models (Mihalaş & Niebur 2009): Gif, GifRef."""

from typing import Callable

import braintools
import jax.numpy as jnp
import saiunit as u

from .._core.declare import Param, StateSpec
from .._core.units import DIMENSIONLESS, mA, mV, ms, ohm, per_ms
from .base import Neuron
from .integrate import exp_euler
from .refractory import Refractory

__all__ = ["Gif", "GifRef"]

#: smallest ``V_th - V_reset`` (mV) used to scale the surrogate argument, so a
#: dynamic threshold that sinks to or below ``V_reset`` cannot flip the sign
#: of the spike condition or divide by zero.
_MIN_SCALE_MV = 1e-6

_GIF_PARAMS = {
    "R": Param(ohm, "positive"), "tau": Param(ms, "positive"),
    "V_rest": Param(mV), "V_reset": Param(mV), "V_th_inf": Param(mV), "V_th_reset": Param(mV),
    "a": Param(per_ms), "b": Param(per_ms, "nonnegative"),
    "k1": Param(per_ms, "nonnegative"), "k2": Param(per_ms, "nonnegative"),
    "R1": Param(DIMENSIONLESS), "R2": Param(DIMENSIONLESS), "A1": Param(mA), "A2": Param(mA),
}
_GIF_STATES = {
    "V": StateSpec(mV, "V_initializer"), "I1": StateSpec(mA, "I1_initializer"),
    "I2": StateSpec(mA, "I2_initializer"), "V_th": StateSpec(mV, "V_th_initializer"),
}


class Gif(Neuron):
    r"""Generalized integrate-and-fire neuron (Mihalaş & Niebur 2009).

    .. math::

        \frac{dI_1}{dt} &= -k_1 I_1, \qquad \frac{dI_2}{dt} = -k_2 I_2 \\
        \tau \frac{dV}{dt} &= -(V - V_{rest}) + R (I_1 + I_2 + I(t)) \\
        \frac{dV_{th}}{dt} &= a (V - V_{rest}) - b (V_{th} - V_{th,\infty})

    A spike is emitted when :math:`V \ge V_{th}` (the dynamic threshold).  At
    the start of the next step: :math:`I_1 \leftarrow R_1 I_1 + A_1`,
    :math:`I_2 \leftarrow R_2 I_2 + A_2`,
    :math:`V_{th} \leftarrow \max(V_{th,reset}, V_{th})` and ``V`` is reset
    (soft: :math:`V - (V_{th} - V_{reset})`, hard: :math:`V_{reset}`).  All
    four equations are linear and stepped exactly (exponential Euler), the
    threshold and ``V`` with the post-reset values of the other variables.

    Update order: every right-hand side is evaluated at the post-reset state
    at the start of the step (explicit exponential Euler for the system).
    ``brainpy.state.GifRef`` does the same, but ``brainpy.state.Gif`` steps
    ``V`` with the already-decayed ``I1``, ``I2``; lapicque uses one order for
    both so that ``GifRef(tau_ref=0)`` equals ``Gif`` (the two orders differ by
    ~1e-4 mV per step after a reset with ``A1 != 0``, both first order).

    With the defaults (the paper's common parameters) and ``R = 20 ohm``,
    ``tau = 20 ms``, an input of 1 mA corresponds to the paper's 1 V/s.

    Parameters
    ----------
    in_size : int or tuple of int
        Shape of the neuron group.
    R : Quantity[resistance], default 20 ohm
        Membrane resistance (> 0).
    tau : Quantity[time], default 20 ms
        Membrane time constant (> 0).
    V_rest, V_reset : Quantity[voltage], default -70, -70 mV
        Resting and reset potentials.
    V_th_inf : Quantity[voltage], default -50 mV
        Equilibrium threshold (> ``V_reset``).
    V_th_reset : Quantity[voltage], default -60 mV
        Lower bound of the threshold after a spike (> ``V_reset``).
    V_th_initializer : Callable or Quantity, default ``Constant(-50 mV)``
        Initial threshold.
    a : Quantity[1/time], default 0 / ms
        Dependence of the threshold on ``V``.
    b : Quantity[1/time], default 0.01 / ms
        Threshold relaxation rate (>= 0).
    k1, k2 : Quantity[1/time], default 0.2, 0.02 / ms
        Decay rates of the spike-induced currents (>= 0).
    R1, R2 : float, default 0, 1
        Fraction of ``I1``, ``I2`` kept at a spike.
    A1, A2 : Quantity[current], default 0, 0 mA
        Spike-induced current increments.
    V_initializer, I1_initializer, I2_initializer : Callable or Quantity
        Initial ``V`` (-70 mV), ``I1`` and ``I2`` (0 mA).
    spk_fun : Callable, default ``braintools.surrogate.ReluGrad()``
        Surrogate spike function; argument ``(V - V_th) / (V_th - V_reset)``
        (the denominator is kept >= 1e-6 mV).
    spk_reset : {'soft', 'hard'}, default 'soft'
        Reset rule.
    name : str, optional
        Module name.

    Attributes
    ----------
    V, V_th : brainstate.HiddenState
        Membrane potential and threshold (mV).
    I1, I2 : brainstate.HiddenState
        Spike-induced currents (mA).

    Examples
    --------
    >>> import brainstate, saiunit as u, lapicque
    >>> brainstate.environ.set(dt=0.1 * u.ms)
    >>> gif = lapicque.Gif(10, tau=20 * u.ms, k1=0.2 / u.ms, k2=0.02 / u.ms)
    >>> gif.init_state(batch_size=1)
    >>> gif.update(x=1.5 * u.mA).shape
    (1, 10)
    """

    __module__ = "lapicque"
    _PARAMS = _GIF_PARAMS
    _STATES = _GIF_STATES

    def __init__(
        self,
        in_size,
        R=20. * u.ohm,
        tau=20. * u.ms,
        V_rest=-70. * u.mV,
        V_reset=-70. * u.mV,
        V_th_inf=-50. * u.mV,
        V_th_reset=-60. * u.mV,
        V_th_initializer: Callable = braintools.init.Constant(-50. * u.mV),
        a=0. / u.ms,
        b=0.01 / u.ms,
        k1=0.2 / u.ms,
        k2=0.02 / u.ms,
        R1=0.,
        R2=1.,
        A1=0. * u.mA,
        A2=0. * u.mA,
        V_initializer: Callable = braintools.init.Constant(-70. * u.mV),
        I1_initializer: Callable = braintools.init.Constant(0. * u.mA),
        I2_initializer: Callable = braintools.init.Constant(0. * u.mA),
        spk_fun: Callable = braintools.surrogate.ReluGrad(),
        spk_reset: str = 'soft',
        name: str = None,
    ):
        super().__init__(in_size, spk_fun=spk_fun, spk_reset=spk_reset, name=name)
        self._set_params(R=R, tau=tau, V_rest=V_rest, V_reset=V_reset, V_th_inf=V_th_inf, V_th_reset=V_th_reset,
                         a=a, b=b, k1=k1, k2=k2, R1=R1, R2=R2, A1=A1, A2=A2)
        self._set_initializers(V_th_initializer=V_th_initializer, V_initializer=V_initializer,
                               I1_initializer=I1_initializer, I2_initializer=I2_initializer)
        self._check_params()

    def _check_params(self):
        super()._check_params()
        self._require(lambda a, b: a > b, "V_th_inf must be larger than V_reset", "V_th_inf", "V_reset")
        self._require(lambda a, b: a > b, "V_th_reset must be larger than V_reset", "V_th_reset", "V_reset")

    def get_spike(self, V=None, V_th=None):
        """Surrogate spikes ``spk_fun((V - V_th) / (V_th - V_reset))`` with the dynamic threshold."""
        return self._spike_of(V=V, V_th=V_th)

    def _threshold(self, s, p):
        return s["V_th"]

    def _spike_arg(self, s, p):
        return (s["V"] - s["V_th"]) / jnp.maximum(s["V_th"] - p["V_reset"], _MIN_SCALE_MV)

    def _reset(self, s, spk, p):
        V_th = s["V_th"]
        return {
            # a threshold below V_reset must not make the soft reset *raise* V
            "V": self._reset_V(s["V"], spk, jnp.maximum(V_th, p["V_reset"]), p["V_reset"]),
            "I1": s["I1"] + spk * (p["R1"] * s["I1"] + p["A1"] - s["I1"]),
            "I2": s["I2"] + spk * (p["R2"] * s["I2"] + p["A2"] - s["I2"]),
            "V_th": V_th + spk * (jnp.maximum(p["V_th_reset"], V_th) - V_th),
        }

    def _step(self, s, I, dI, dt, p):
        V, I1, I2, V_th = s["V"], s["I1"], s["I2"], s["V_th"]
        I1_new = exp_euler(I1, -p["k1"] * I1, -p["k1"], dt)
        I2_new = exp_euler(I2, -p["k2"] * I2, -p["k2"], dt)
        V_th_new = exp_euler(V_th, p["a"] * (V - p["V_rest"]) - p["b"] * (V_th - p["V_th_inf"]), -p["b"], dt)
        f = (-(V - p["V_rest"]) + p["R"] * (I1 + I2 + I)) / p["tau"]
        J = -1. / p["tau"] if dI is None else (-1. + p["R"] * dI) / p["tau"]
        V_new = exp_euler(V, f, J, dt)
        return {"V": V_new, "I1": I1_new, "I2": I2_new, "V_th": V_th_new}


class GifRef(Refractory, Gif):
    r"""Generalized integrate-and-fire neuron with an absolute refractory period.

    :class:`Gif` plus the shared refractory mechanism: after a spike ``V``,
    ``I1``, ``I2`` and ``V_th`` are held at their post-reset values while
    ``k * dt < tau_ref`` (``k`` steps since the spike, counted exactly).
    Needs ``t`` in ``brainstate.environ``.

    Parameters
    ----------
    in_size : int or tuple of int
        Shape of the neuron group.
    R : Quantity[resistance], default 20 ohm
        Membrane resistance (> 0).
    tau : Quantity[time], default 20 ms
        Membrane time constant (> 0).
    tau_ref : Quantity[time], default 1.7 ms
        Absolute refractory period (>= 0).
    V_rest, V_reset, V_th_inf, V_th_reset : Quantity[voltage]
        As in :class:`Gif` (-70, -70, -50, -60 mV).
    V_th_initializer : Callable or Quantity, default ``Constant(-50 mV)``
        Initial threshold.
    a, b, k1, k2 : Quantity[1/time]
        As in :class:`Gif` (0, 0.01, 0.2, 0.02 / ms).
    R1, R2 : float, default 0, 1
        Fraction of ``I1``, ``I2`` kept at a spike.
    A1, A2 : Quantity[current], default 0, 0 mA
        Spike-induced current increments.
    V_initializer, I1_initializer, I2_initializer : Callable or Quantity
        Initial ``V`` (-70 mV), ``I1`` and ``I2`` (0 mA).
    spk_fun : Callable, default ``braintools.surrogate.ReluGrad()``
        Surrogate spike function.
    spk_reset : {'soft', 'hard'}, default 'soft'
        Reset rule.
    ref_var : bool, default False
        Also keep a boolean ``refractory`` state.
    name : str, optional
        Module name.

    Attributes
    ----------
    V, V_th, I1, I2 : brainstate.HiddenState
        As in :class:`Gif`.
    last_spike_time, ref_steps_left : brainstate.ShortTermState
        Refractory bookkeeping.
    refractory : brainstate.HiddenState
        Refractory flag (only with ``ref_var=True``).

    Examples
    --------
    >>> import brainstate, saiunit as u, lapicque
    >>> brainstate.environ.set(dt=0.1 * u.ms, t=0. * u.ms)
    >>> gif_ref = lapicque.GifRef(10, tau=20 * u.ms, tau_ref=2.0 * u.ms, ref_var=True)
    >>> gif_ref.init_state(batch_size=1)
    >>> gif_ref.update(x=1.5 * u.mA).shape
    (1, 10)
    """

    __module__ = "lapicque"

    def __init__(
        self,
        in_size,
        R=20. * u.ohm,
        tau=20. * u.ms,
        tau_ref=1.7 * u.ms,
        V_rest=-70. * u.mV,
        V_reset=-70. * u.mV,
        V_th_inf=-50. * u.mV,
        V_th_reset=-60. * u.mV,
        V_th_initializer: Callable = braintools.init.Constant(-50. * u.mV),
        a=0. / u.ms,
        b=0.01 / u.ms,
        k1=0.2 / u.ms,
        k2=0.02 / u.ms,
        R1=0.,
        R2=1.,
        A1=0. * u.mA,
        A2=0. * u.mA,
        V_initializer: Callable = braintools.init.Constant(-70. * u.mV),
        I1_initializer: Callable = braintools.init.Constant(0. * u.mA),
        I2_initializer: Callable = braintools.init.Constant(0. * u.mA),
        spk_fun: Callable = braintools.surrogate.ReluGrad(),
        spk_reset: str = 'soft',
        ref_var: bool = False,
        name: str = None,
    ):
        Gif.__init__(self, in_size, R=R, tau=tau, V_rest=V_rest, V_reset=V_reset, V_th_inf=V_th_inf,
                     V_th_reset=V_th_reset, V_th_initializer=V_th_initializer, a=a, b=b, k1=k1, k2=k2,
                     R1=R1, R2=R2, A1=A1, A2=A2, V_initializer=V_initializer, I1_initializer=I1_initializer,
                     I2_initializer=I2_initializer, spk_fun=spk_fun, spk_reset=spk_reset, name=name)
        self._init_refractory(tau_ref, ref_var)
