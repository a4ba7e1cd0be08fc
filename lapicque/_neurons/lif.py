"""Linear integrate-and-fire models: IF, LIF, LIFRef, ALIF."""

from typing import Callable

import braintools
import saiunit as u

from .._core.declare import Param, StateSpec
from .._core.units import DIMENSIONLESS, mV, ms, ohm
from .base import Neuron
from .integrate import exp_euler
from .refractory import Refractory

__all__ = ["IF", "LIF", "LIFRef", "ALIF"]

_V_STATE = {"V": StateSpec(mV, "V_initializer")}


def _leaky_V(V, I, dI, dt, R, tau, V_rest):
    """Exact step of ``tau dV/dt = -(V - V_rest) + R I`` (input held over dt)."""
    f = (-(V - V_rest) + R * I) / tau
    J = -1. / tau if dI is None else (-1. + R * dI) / tau
    return exp_euler(V, f, J, dt)


class IF(Neuron):
    r"""Integrate-and-fire neuron (Lapicque 1907), leaking towards 0 mV.

    .. math::

        \tau \frac{dV}{dt} = -V + R\, I(t)

    A spike is emitted when :math:`V \ge V_{th}`.  At the start of the next
    step the reset :math:`V \leftarrow V - V_{th}` (``'soft'``) or
    :math:`V \leftarrow 0` (``'hard'``) is applied.  The step is the exact
    propagator for input held constant over ``dt``.

    Parameters
    ----------
    in_size : int or tuple of int
        Shape of the neuron group.
    R : Quantity[resistance], default 1 ohm
        Membrane resistance (> 0).
    tau : Quantity[time], default 5 ms
        Membrane time constant (> 0).
    V_th : Quantity[voltage], default 1 mV
        Firing threshold (> 0; the spike argument is ``(V - V_th) / V_th``).
    V_initializer : Callable or Quantity, default ``Constant(0 mV)``
        Initial membrane potential.
    spk_fun : Callable, default ``braintools.surrogate.ReluGrad()``
        Surrogate spike function.
    spk_reset : {'soft', 'hard'}, default 'soft'
        Reset rule.
    name : str, optional
        Module name.

    Attributes
    ----------
    V : brainstate.HiddenState
        Membrane potential (mV).

    Examples
    --------
    >>> import brainstate, saiunit as u, lapicque
    >>> brainstate.environ.set(dt=0.1 * u.ms)
    >>> neuron = lapicque.IF(10, tau=8 * u.ms, V_th=1.2 * u.mV)
    >>> neuron.init_state(batch_size=1)
    >>> spikes = neuron.update(x=2.0 * u.mA)
    >>> spikes.shape
    (1, 10)
    """

    __module__ = "lapicque"
    _PARAMS = {"R": Param(ohm, "positive"), "tau": Param(ms, "positive"), "V_th": Param(mV, "positive")}
    _STATES = _V_STATE

    def __init__(
        self,
        in_size,
        R=1. * u.ohm,
        tau=5. * u.ms,
        V_th=1. * u.mV,
        V_initializer: Callable = braintools.init.Constant(0. * u.mV),
        spk_fun: Callable = braintools.surrogate.ReluGrad(),
        spk_reset: str = 'soft',
        name: str = None,
    ):
        super().__init__(in_size, spk_fun=spk_fun, spk_reset=spk_reset, name=name)
        self._set_params(R=R, tau=tau, V_th=V_th)
        self._set_initializers(V_initializer=V_initializer)
        self._check_params()

    def get_spike(self, V=None):
        """Surrogate spikes ``spk_fun((V - V_th) / V_th)`` of ``V`` (default: current state)."""
        return self._spike_of(V=V)

    def _spike_arg(self, s, p):
        return (s["V"] - p["V_th"]) / p["V_th"]

    def _reset(self, s, spk, p):
        return {"V": self._reset_V(s["V"], spk, p["V_th"], 0.)}

    def _step(self, s, I, dI, dt, p):
        return {"V": _leaky_V(s["V"], I, dI, dt, p["R"], p["tau"], 0.)}


class LIF(Neuron):
    r"""Leaky integrate-and-fire neuron.

    .. math::

        \tau \frac{dV}{dt} = -(V - V_{rest}) + R\, I(t)

    A spike is emitted when :math:`V \ge V_{th}`; at the start of the next
    step :math:`V \leftarrow V - (V_{th} - V_{reset})` (``'soft'``) or
    :math:`V \leftarrow V_{reset}` exactly (``'hard'``).  The step is the exact
    propagator for input held constant over ``dt`` (exponential Euler is exact
    for this linear equation).

    Parameters
    ----------
    in_size : int or tuple of int
        Shape of the neuron group.
    R : Quantity[resistance], default 1 ohm
        Membrane resistance (> 0).
    tau : Quantity[time], default 5 ms
        Membrane time constant (> 0).
    V_th : Quantity[voltage], default 1 mV
        Firing threshold (must exceed ``V_reset``).
    V_reset : Quantity[voltage], default 0 mV
        Reset potential.
    V_rest : Quantity[voltage], default 0 mV
        Resting potential.
    V_initializer : Callable or Quantity, default ``Constant(0 mV)``
        Initial membrane potential.
    spk_fun : Callable, default ``braintools.surrogate.ReluGrad()``
        Surrogate spike function; the argument is ``(V - V_th) / (V_th - V_reset)``.
    spk_reset : {'soft', 'hard'}, default 'soft'
        Reset rule.
    name : str, optional
        Module name.

    Attributes
    ----------
    V : brainstate.HiddenState
        Membrane potential (mV).

    See Also
    --------
    LIFRef : with an absolute refractory period.
    ALIF : with an adaptive threshold.

    Examples
    --------
    >>> import brainstate, saiunit as u, lapicque
    >>> brainstate.environ.set(dt=0.1 * u.ms)
    >>> lif = lapicque.LIF(10, tau=10 * u.ms, V_th=0.8 * u.mV)
    >>> lif.init_state(batch_size=1)
    >>> spikes = lif.update(x=1.5 * u.mA)
    >>> print(lif.V.value[0, 0])   # exact: 1.5 mV * (1 - exp(-0.1 / 10))
    0.01492525 mV
    """

    __module__ = "lapicque"
    _PARAMS = {"R": Param(ohm, "positive"), "tau": Param(ms, "positive"),
               "V_th": Param(mV), "V_reset": Param(mV), "V_rest": Param(mV)}
    _STATES = _V_STATE

    def __init__(
        self,
        in_size,
        R=1. * u.ohm,
        tau=5. * u.ms,
        V_th=1. * u.mV,
        V_reset=0. * u.mV,
        V_rest=0. * u.mV,
        V_initializer: Callable = braintools.init.Constant(0. * u.mV),
        spk_fun: Callable = braintools.surrogate.ReluGrad(),
        spk_reset: str = 'soft',
        name: str = None,
    ):
        super().__init__(in_size, spk_fun=spk_fun, spk_reset=spk_reset, name=name)
        self._set_params(R=R, tau=tau, V_th=V_th, V_reset=V_reset, V_rest=V_rest)
        self._set_initializers(V_initializer=V_initializer)
        self._check_params()

    def get_spike(self, V=None):
        """Surrogate spikes ``spk_fun((V - V_th) / (V_th - V_reset))`` (default: current ``V``)."""
        return self._spike_of(V=V)

    def _step(self, s, I, dI, dt, p):
        return {"V": _leaky_V(s["V"], I, dI, dt, p["R"], p["tau"], p["V_rest"])}


class LIFRef(Refractory, LIF):
    r"""Leaky integrate-and-fire neuron with an absolute refractory period.

    The dynamics, spike rule and reset are those of :class:`LIF`.  After a
    spike the neuron is held at its post-reset value for a whole number of
    steps: while ``k * dt < tau_ref`` for the ``k``-th step after the spike,
    counted exactly in integer steps (see :mod:`lapicque._neurons.refractory`), so
    every refractory period lasts the same number of steps.  Needs ``t`` in
    ``brainstate.environ`` (recorded in ``last_spike_time``).

    Parameters
    ----------
    in_size : int or tuple of int
        Shape of the neuron group.
    R : Quantity[resistance], default 1 ohm
        Membrane resistance (> 0).
    tau : Quantity[time], default 5 ms
        Membrane time constant (> 0).
    tau_ref : Quantity[time], default 5 ms
        Absolute refractory period (>= 0).
    V_th, V_reset, V_rest : Quantity[voltage], default 1, 0, 0 mV
        Threshold (> ``V_reset``), reset and resting potentials.
    V_initializer : Callable or Quantity, default ``Constant(0 mV)``
        Initial membrane potential.
    spk_fun : Callable, default ``braintools.surrogate.ReluGrad()``
        Surrogate spike function.
    spk_reset : {'soft', 'hard'}, default 'soft'
        Reset rule.
    name : str, optional
        Module name.
    ref_var : bool, default False, keyword-only
        Also keep a boolean ``refractory`` state (an addition over the
        reference, where only the other ``*Ref`` models have it; keyword-only
        so that the reference's positional order is kept exactly).

    Attributes
    ----------
    V : brainstate.HiddenState
        Membrane potential (mV).
    last_spike_time : brainstate.ShortTermState
        Time of the last spike (ms; -1e7 ms before the first).
    ref_steps_left : brainstate.ShortTermState
        Remaining refractory steps (int32).
    refractory : brainstate.HiddenState
        ``True`` while refractory or spiking (only with ``ref_var=True``).

    Examples
    --------
    >>> import brainstate, saiunit as u, lapicque
    >>> brainstate.environ.set(dt=0.1 * u.ms, t=0. * u.ms)
    >>> lifref = lapicque.LIFRef(10, tau=10 * u.ms, tau_ref=5 * u.ms, V_th=0.8 * u.mV)
    >>> lifref.init_state(batch_size=1)
    >>> spikes = lifref.update(x=1.5 * u.mA)
    >>> spikes.shape
    (1, 10)
    """

    __module__ = "lapicque"

    def __init__(
        self,
        in_size,
        R=1. * u.ohm,
        tau=5. * u.ms,
        tau_ref=5. * u.ms,
        V_th=1. * u.mV,
        V_reset=0. * u.mV,
        V_rest=0. * u.mV,
        V_initializer: Callable = braintools.init.Constant(0. * u.mV),
        spk_fun: Callable = braintools.surrogate.ReluGrad(),
        spk_reset: str = 'soft',
        name: str = None,
        *,
        ref_var: bool = False,
    ):
        LIF.__init__(self, in_size, R=R, tau=tau, V_th=V_th, V_reset=V_reset, V_rest=V_rest,
                     V_initializer=V_initializer, spk_fun=spk_fun, spk_reset=spk_reset, name=name)
        self._init_refractory(tau_ref, ref_var)


class ALIF(Neuron):
    r"""Adaptive leaky integrate-and-fire neuron (adaptive threshold).

    .. math::

        \tau \frac{dV}{dt} = -(V - V_{rest}) + R\, I(t), \qquad
        \tau_a \frac{da}{dt} = -a

    A spike is emitted when :math:`V \ge V_{th} + \beta a`, the threshold
    that :meth:`threshold` returns and every consumer (refractory detection,
    plots) uses.  At the start of
    the next step :math:`V \leftarrow V - (V_{th} - V_{reset})` (``'soft'``)
    or :math:`V \leftarrow V_{reset}` (``'hard'``), and :math:`a \leftarrow a + 1`.
    Both equations are integrated exactly for input held over ``dt``.

    Parameters
    ----------
    in_size : int or tuple of int
        Shape of the neuron group.
    R : Quantity[resistance], default 1 ohm
        Membrane resistance (> 0).
    tau : Quantity[time], default 5 ms
        Membrane time constant (> 0).
    tau_a : Quantity[time], default 100 ms
        Adaptation time constant (> 0).
    V_th, V_reset, V_rest : Quantity[voltage], default 1, 0, 0 mV
        Baseline threshold (> ``V_reset``), reset and resting potentials.
    beta : Quantity[voltage], default 0.1 mV
        Threshold increase per unit of adaptation ``a`` (>= 0; a negative
        value would lower the threshold with every spike).
    spk_fun : Callable, default ``braintools.surrogate.ReluGrad()``
        Surrogate spike function; argument ``(V - V_th - beta a) / (V_th - V_reset)``.
    spk_reset : {'soft', 'hard'}, default 'soft'
        Reset rule.
    V_initializer : Callable or Quantity, default ``Constant(0 mV)``
        Initial membrane potential.
    a_initializer : Callable or number, default ``Constant(0.)``
        Initial adaptation variable (dimensionless).
    name : str, optional
        Module name.

    Attributes
    ----------
    V : brainstate.HiddenState
        Membrane potential (mV).
    a : brainstate.HiddenState
        Adaptation variable (dimensionless).

    Examples
    --------
    >>> import brainstate, saiunit as u, lapicque
    >>> brainstate.environ.set(dt=0.1 * u.ms)
    >>> alif = lapicque.ALIF(10, tau=10 * u.ms, tau_a=200 * u.ms, beta=0.1 * u.mV)
    >>> alif.init_state(batch_size=1)
    >>> spikes = alif.update(x=1.5 * u.mA)
    >>> spikes.shape
    (1, 10)
    """

    __module__ = "lapicque"
    _PARAMS = {"R": Param(ohm, "positive"), "tau": Param(ms, "positive"), "tau_a": Param(ms, "positive"),
               "V_th": Param(mV), "V_reset": Param(mV), "V_rest": Param(mV),
               "beta": Param(mV, "nonnegative")}
    _STATES = {"V": StateSpec(mV, "V_initializer"), "a": StateSpec(DIMENSIONLESS, "a_initializer")}

    def __init__(
        self,
        in_size,
        R=1. * u.ohm,
        tau=5. * u.ms,
        tau_a=100. * u.ms,
        V_th=1. * u.mV,
        V_reset=0. * u.mV,
        V_rest=0. * u.mV,
        beta=0.1 * u.mV,
        spk_fun: Callable = braintools.surrogate.ReluGrad(),
        spk_reset: str = 'soft',
        V_initializer: Callable = braintools.init.Constant(0. * u.mV),
        a_initializer: Callable = braintools.init.Constant(0.),
        name: str = None,
    ):
        super().__init__(in_size, spk_fun=spk_fun, spk_reset=spk_reset, name=name)
        self._set_params(R=R, tau=tau, tau_a=tau_a, V_th=V_th, V_reset=V_reset, V_rest=V_rest, beta=beta)
        self._set_initializers(V_initializer=V_initializer, a_initializer=a_initializer)
        self._check_params()

    def get_spike(self, V=None, a=None):
        """Surrogate spikes ``spk_fun((V - V_th - beta a) / (V_th - V_reset))``."""
        return self._spike_of(V=V, a=a)

    def _threshold(self, s, p):
        """The adaptive threshold ``V_th + beta a`` (refractory detection and plots see it too)."""
        return p["V_th"] + p["beta"] * s["a"]

    def _spike_arg(self, s, p):
        return (s["V"] - self._threshold(s, p)) / (p["V_th"] - p["V_reset"])

    def _reset(self, s, spk, p):
        return {"V": self._reset_V(s["V"], spk, p["V_th"], p["V_reset"]), "a": s["a"] + spk}

    def _step(self, s, I, dI, dt, p):
        V = _leaky_V(s["V"], I, dI, dt, p["R"], p["tau"], p["V_rest"])
        a = exp_euler(s["a"], -s["a"] / p["tau_a"], -1. / p["tau_a"], dt)
        return {"V": V, "a": a}
