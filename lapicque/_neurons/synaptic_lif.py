"""LIF neurons with a built-in exponential synapse: CubaLIF (current), CobaLIF (conductance).

Each is one neuron group equal to a :class:`~lapicque.LIF` fed by an
:class:`~lapicque.Expon` synapse through a ``CUBA`` / ``COBA`` output, with the
synaptic variable ``g`` a state of the neuron.  As in brainpy.state, the
neuron's *delta* inputs (presynaptic spikes times weights) are added to ``g``,
not to ``V``; ``x`` and the current inputs are the external current on the
membrane.
"""

from typing import Callable

import braintools
import saiunit as u

from .._core.declare import Param, StateSpec
from .._core.units import describe_plain, describe_unit, mA, mV, ms, ohm, siemens
from .base import Neuron
from .integrate import exp_euler

__all__ = ["CubaLIF", "CobaLIF"]

_COMMON_DOC = r"""
    Update order (as brainpy.state): the spike of the previous state resets
    ``V`` (``'soft'``: :math:`V - (V_{th} - V_{reset})`, ``'hard'``:
    :math:`V_{reset}`); ``g`` decays over the step and the delta inputs are
    added to it; ``V`` is stepped with the new ``g`` held over the step; a
    spike is :math:`V \ge V_{th}`, with the surrogate argument
    :math:`(V - V_{th}) / (V_{th} - V_{reset})`.

    Integrator: exponential Euler, which for these equations (linear in
    ``V`` and in ``g``) is the exact solution with ``g`` and the input held
    over the step: ``g`` decays by :math:`e^{-\Delta t/\tau_{syn}}` and
    ``V`` relaxes exponentially towards its steady state with rate
    :math:`J` below, at any ``dt``.
"""

_PARAMS_DOC = """    in_size : int or tuple of int
        Shape of the neuron group.
    R : Quantity[resistance], default 1 ohm
        Membrane resistance (> 0).
    tau : Quantity[time], default 5 ms
        Membrane time constant (> 0).
    tau_syn : Quantity[time], default 5 ms
        Decay time constant of ``g`` (> 0).
"""

_V_DOC = """    V_th, V_reset, V_rest : Quantity[voltage], default 1, 0, 0 mV
        Threshold (> ``V_reset``), reset and resting potentials.
    V_initializer : Callable or Quantity, default ``Constant(0 mV)``
        Initial membrane potential.
"""

_TAIL_DOC = """    spk_fun : Callable, default ``braintools.surrogate.ReluGrad()``
        Surrogate spike function.
    spk_reset : {'soft', 'hard'}, default 'soft'
        Reset rule.
    name : str, optional
        Module name.
"""


class _SynapticLIF(Neuron):
    """LIF with a synaptic variable ``g`` that decays with ``tau_syn`` and receives the delta inputs."""

    _PARAMS = {"R": Param(ohm, "positive"), "tau": Param(ms, "positive"), "tau_syn": Param(ms, "positive"),
               "V_th": Param(mV), "V_reset": Param(mV), "V_rest": Param(mV)}
    #: unit of g (and of the delta inputs)
    _G_UNIT = mA

    def get_spike(self, V=None):
        """Surrogate spikes ``spk_fun((V - V_th) / (V_th - V_reset))`` (default: current ``V``)."""
        return self._spike_of(V=V)

    def _apply_delta(self, V):
        # the delta inputs feed the synapse (see _synapse), not V
        return V

    def _synapse(self, g, dt, p):
        """``g`` decayed over the step plus the delta inputs (mantissa in ``_G_UNIT``)."""
        g = exp_euler(g, -g / p["tau_syn"], -1. / p["tau_syn"], dt)
        if not self._delta_inputs:
            return g
        self._refuse_nonfinite_registry(self._delta_inputs, "delta")
        try:
            total = self.sum_delta_inputs(self._with_unit(g, self._G_UNIT))
        except u.UnitMismatchError as e:
            words = describe_plain(self._G_UNIT) if self.unitless else describe_unit(self._G_UNIT)
            raise TypeError(f"{type(self).__name__}: the delta inputs feed the synaptic variable g and must be "
                            f"{words} ({e}).") from None
        return self._mantissa(total, self._G_UNIT, "the summed delta input (into g)").astype(g.dtype)

    def _drive(self, V, g, p):
        """The synaptic current (mA) at ``V`` and its derivative in ``V``."""
        raise NotImplementedError

    def _step(self, s, I, dI, dt, p):
        g = self._synapse(s["g"], dt, p)
        V = s["V"]
        I_syn, dI_syn = self._drive(V, g, p)
        f = (-(V - p["V_rest"]) + p["R"] * (I_syn + I)) / p["tau"]
        J = (-1. + p["R"] * (dI_syn if dI is None else dI_syn + dI)) / p["tau"]
        return {"V": exp_euler(V, f, J, dt), "g": g}


class CubaLIF(_SynapticLIF):
    r"""Leaky integrate-and-fire neuron with a built-in exponential synaptic current.

    .. math::

        \tau_{syn} \frac{dg}{dt} &= -g \\
        \tau \frac{dV}{dt} &= -(V - V_{rest}) + R\,(g + I(t))

    ``g`` (mA) is a synaptic *current*: the delta inputs (e.g. a projection's
    spikes times weights, in mA) are added to it, and it enters the membrane
    equation directly (current-based).  ``x`` and the current inputs are the
    external current.  The rate of the ``V`` step is :math:`J = -1/\tau`.
    {common}
    Parameters
    ----------
{params}{V}    g_initializer : Callable or Quantity, default ``Constant(0 mA)``
        Initial synaptic current.
{tail}
    Attributes
    ----------
    V : brainstate.HiddenState
        Membrane potential (mV).
    g : brainstate.HiddenState
        Synaptic current (mA).

    See Also
    --------
    CobaLIF : the conductance-based counterpart.
    LIF : without the synapse.

    Examples
    --------
    A kick of 1 mA into ``g`` (a delta input) with tau = tau_syn = 5 ms
    raises ``V`` as :math:`R g_0 (t/\tau) e^{-t/\tau}`, peaking after 5 ms
    at :math:`R g_0 / e` = 0.368 mV (0.372 mV here: ``g`` is held over each
    0.1 ms step at its value after the step's decay):

    >>> import brainstate, saiunit as u, lapicque
    >>> brainstate.environ.set(dt=0.1 * u.ms)
    >>> cuba = lapicque.CubaLIF(1)
    >>> cuba.init_state()
    >>> cuba.add_delta_input("spike", 1. * u.mA)
    >>> V = []
    >>> for _ in range(100):
    ...     _ = cuba.update(0. * u.mA)
    ...     V.append(float(cuba.V.value.to_decimal(u.mV)[0]))
    >>> print(round(max(V), 3), V.index(max(V)) + 1)
    0.372 50
    """

    __module__ = "lapicque"
    _STATES = {"V": StateSpec(mV, "V_initializer"), "g": StateSpec(mA, "g_initializer")}
    _G_UNIT = mA

    def __init__(
        self,
        in_size,
        R=1. * u.ohm,
        tau=5. * u.ms,
        tau_syn=5. * u.ms,
        V_th=1. * u.mV,
        V_reset=0. * u.mV,
        V_rest=0. * u.mV,
        V_initializer: Callable = braintools.init.Constant(0. * u.mV),
        g_initializer: Callable = braintools.init.Constant(0. * u.mA),
        spk_fun: Callable = braintools.surrogate.ReluGrad(),
        spk_reset: str = 'soft',
        name: str = None,
    ):
        super().__init__(in_size, spk_fun=spk_fun, spk_reset=spk_reset, name=name)
        self._set_params(R=R, tau=tau, tau_syn=tau_syn, V_th=V_th, V_reset=V_reset, V_rest=V_rest)
        self._set_initializers(V_initializer=V_initializer, g_initializer=g_initializer)
        self._check_params()

    def _drive(self, V, g, p):
        return g, 0.


class CobaLIF(_SynapticLIF):
    r"""Leaky integrate-and-fire neuron with a built-in exponential synaptic conductance.

    .. math::

        \tau_{syn} \frac{dg}{dt} &= -g \\
        \tau \frac{dV}{dt} &= -(V - V_{rest}) + R\,(g\,(E - V) + I(t))

    ``g`` (siemens) is a synaptic *conductance*: the delta inputs (in S) are
    added to it, and the synaptic current :math:`g (E - V)` pulls ``V``
    towards the reversal potential ``E`` (above ``V_rest``: excitatory;
    below: inhibitory).  ``x`` and the current inputs are the external
    current.  The rate of the ``V`` step is :math:`J = -(1 + R g)/\tau`:
    the conductance shortens the effective membrane time constant.
    Conductances are meant to be non-negative (a negative ``g`` with
    :math:`R g < -1` makes ``V`` run away from ``E``, as in the reference).
    {common}
    Parameters
    ----------
{params}    E : Quantity[voltage], default 0 mV
        Synaptic reversal potential.
{V}    g_initializer : Callable or Quantity, default ``Constant(0 S)``
        Initial synaptic conductance.
{tail}
    Attributes
    ----------
    V : brainstate.HiddenState
        Membrane potential (mV).
    g : brainstate.HiddenState
        Synaptic conductance (S).

    See Also
    --------
    CubaLIF : the current-based counterpart.
    LIF : without the synapse.

    Examples
    --------
    An inhibitory conductance (E = -5 mV, 2 S decaying with 20 ms) delays
    the first spike of a driven neuron from 5.5 ms to 68.6 ms:

    >>> import saiunit as u, lapicque
    >>> free = lapicque.simulate(lapicque.CobaLIF(1), 1.5 * u.mA, 100. * u.ms, 0.1 * u.ms)
    >>> coba = lapicque.CobaLIF(1, tau_syn=20. * u.ms, E=-5. * u.mV, g_initializer=2. * u.siemens)
    >>> held = lapicque.simulate(coba, 1.5 * u.mA, 100. * u.ms, 0.1 * u.ms)
    >>> print(free.first_spike_time, held.first_spike_time)
    [5.5] ms [68.6] ms
    """

    __module__ = "lapicque"
    _PARAMS = {"E": Param(mV)}
    _STATES = {"V": StateSpec(mV, "V_initializer"), "g": StateSpec(siemens, "g_initializer")}
    _G_UNIT = siemens

    def __init__(
        self,
        in_size,
        R=1. * u.ohm,
        tau=5. * u.ms,
        tau_syn=5. * u.ms,
        E=0. * u.mV,
        V_th=1. * u.mV,
        V_reset=0. * u.mV,
        V_rest=0. * u.mV,
        V_initializer: Callable = braintools.init.Constant(0. * u.mV),
        g_initializer: Callable = braintools.init.Constant(0. * u.siemens),
        spk_fun: Callable = braintools.surrogate.ReluGrad(),
        spk_reset: str = 'soft',
        name: str = None,
    ):
        super().__init__(in_size, spk_fun=spk_fun, spk_reset=spk_reset, name=name)
        self._set_params(R=R, tau=tau, tau_syn=tau_syn, E=E, V_th=V_th, V_reset=V_reset, V_rest=V_rest)
        self._set_initializers(V_initializer=V_initializer, g_initializer=g_initializer)
        self._check_params()

    def _drive(self, V, g, p):
        return g * (p["E"] - V), -g


for _cls in (CubaLIF, CobaLIF):
    if _cls.__doc__:  # None under python -OO
        _cls.__doc__ = (_cls.__doc__.replace("{common}", _COMMON_DOC).replace("{params}", _PARAMS_DOC)
                        .replace("{V}", _V_DOC).replace("{tail}", _TAIL_DOC))
del _cls
