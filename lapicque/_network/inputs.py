r"""Poisson inputs: PoissonSpike, PoissonEncoder, PoissonInput and the function poisson_input.

Every generator draws from ``brainstate.random`` (seed it with
``brainstate.random.seed(s)`` for reproducible runs) and uses the exact
per-step spike probability of a Poisson process of rate :math:`f`,

.. math::  p = P(\text{at least one event in } \Delta t) = 1 - e^{-f \Delta t},

as the reference does (bounded in [0, 1) for any rate; a binary spike per
step cannot carry more than one event).

Rates known when they are used (concrete values) must be finite and >= 0,
or a :class:`~lapicque.ParameterError` names the class and the parameter.
A rate traced inside a compiled loop cannot be checked without a host round
trip per step; there a NaN or negative rate makes the source fire at *every*
step (as an infinite rate does), so a broken rate shows up as saturated
firing, never as silence.

A drive into a neuron's membrane potential (:class:`PoissonInput` or
:func:`poisson_input` with ``neuron.prefetch('V')`` or ``neuron.V`` as the
target) is handed to the neuron as a delta input
(``neuron.add_delta_input``): the neuron adds it to ``V`` after its
integration step, so a kick that crosses the threshold is a spike of that
step (written into ``V`` before the update, it would be reset as a spike of
the previous step and never reported).  Call the input before the neuron's
``update`` in each step, as projections are.  Other targets (e.g. a synapse's
conductance) are written directly.
"""

from __future__ import annotations

import functools
import math
import numbers
from typing import Optional

import brainstate
import jax
import jax.numpy as jnp
import numpy as np
import saiunit as u

from .._core.dynamics import Dynamics
from .._core.errors import ParameterError
from .._core.declare import Param, check_in_size, check_param, param_mantissa
from .._core.environ import dt_ms
from .._core.units import ANY_UNIT, format_value
from .._neurons.states import neuron_of

__all__ = ["PoissonSpike", "PoissonEncoder", "PoissonInput", "poisson_input"]

_RATE = Param(u.Hz, "nonnegative")


def spike_probability(freq, owner: str, what: str = "freq"):
    r"""Per-step probability :math:`1 - e^{-f\,dt}` for a rate ``freq`` (a frequency quantity).

    A concrete rate must be finite and >= 0 (:class:`~lapicque.ParameterError`
    naming ``owner`` and ``what`` otherwise); a traced one is not looked at.
    """
    f_hz = param_mantissa(owner, what, freq, _RATE, dtype=brainstate.environ.dftype())
    _refuse_bad_rates(f_hz, owner, what)
    return -jnp.expm1(-f_hz * dt_ms() * 1e-3)


def _refuse_bad_rates(f_hz, owner: str, what: str):
    """Raise :class:`ParameterError` if a concrete rate (Hz mantissa) is NaN, infinite or negative."""
    try:
        conc = np.asarray(f_hz)
    except jax.errors.TracerArrayConversionError:
        return
    bad = ~(np.isfinite(conc) & (conc >= 0))
    if np.any(bad):
        first = np.argwhere(bad)[0]
        where = f" at index {tuple(int(i) for i in first)}" if conc.ndim else ""
        raise ParameterError(
            f"{owner}: parameter '{what}' must be a finite rate >= 0 Hz; {int(bad.sum())} of {conc.size} values are "
            f"not (the first{where} is {conc[tuple(first)]} Hz).")


def _spikes(shape, p, spk_type):
    """Bernoulli(p) spikes; an invalid (NaN or negative, traced) probability fires at every step."""
    r = brainstate.random.rand(*shape)
    return jnp.asarray(~((r >= p) & (p >= 0)), dtype=spk_type)


class PoissonSpike(Dynamics):
    r"""A group of independent Poisson spike sources with fixed rates.

    Each step, each source spikes with probability :math:`1 - e^{-f\,\Delta t}`.

    Parameters
    ----------
    in_size : int or tuple of int
        Shape of the group.
    freqs : Quantity or initializer
        Rate of each source (a frequency >= 0, scalar or of shape ``in_size``).
    spk_type : dtype, default bool
        Dtype of the returned spikes.
    name : str, optional
        Name of the module.

    Examples
    --------
    >>> import brainstate, saiunit as u, lapicque
    >>> brainstate.environ.set(dt=0.1 * u.ms)
    >>> brainstate.random.seed(0)
    >>> src = lapicque.PoissonSpike(1000, freqs=500. * u.Hz)
    >>> n = sum(int(src.update().sum()) for _ in range(100))   # mean 1000 x 100 x (1 - exp(-0.05)) = 4877
    >>> 4660 < n < 5090                                         # +- 3 standard deviations
    True
    """

    __module__ = "lapicque"

    def __init__(self, in_size, freqs, spk_type=bool, name: Optional[str] = None):
        super().__init__(in_size=check_in_size(in_size, type(self).__name__), name=name)
        self.spk_type = spk_type
        self.freqs = check_param(type(self).__name__, "freqs", freqs, _RATE, self.varshape)

    def update(self):
        """Draw this step's spikes."""
        return _spikes(self.varshape, spike_probability(self.freqs, type(self).__name__, "freqs"), self.spk_type)


class PoissonEncoder(Dynamics):
    r"""Poisson encoding of rates given at each step: spike with probability :math:`1 - e^{-f\,\Delta t}`.

    Rates known when :meth:`update` is called must be finite and >= 0 Hz: a
    NaN, infinite or negative one raises :class:`~lapicque.ParameterError`.
    Rates traced inside a compiled loop are not checked (that would cost a
    host round trip per step); there a NaN or negative rate fires at every
    step, as an infinite rate would, so it cannot pass for silence (a ``bool``
    spike cannot be NaN).

    Parameters
    ----------
    in_size : int or tuple of int
        Shape of the group.
    spk_type : dtype, default bool
        Dtype of the returned spikes.
    name : str, optional
        Name of the module.

    Examples
    --------
    >>> import brainstate, saiunit as u, lapicque
    >>> brainstate.environ.set(dt=1. * u.ms)
    >>> enc = lapicque.PoissonEncoder(3)
    >>> enc.update(u.math.asarray([0., 0., 1e9]) * u.Hz).tolist()
    [False, False, True]
    >>> try:
    ...     enc.update(u.math.asarray([0., float('nan'), 1.]) * u.Hz)
    ... except lapicque.ParameterError as e:
    ...     print(e)
    PoissonEncoder: parameter 'freqs' must be a finite rate >= 0 Hz; 1 of 3 values are not (the first at
    index (1,) is nan Hz).
    """

    __module__ = "lapicque"

    def __init__(self, in_size, spk_type=bool, name: Optional[str] = None):
        super().__init__(in_size=check_in_size(in_size, type(self).__name__), name=name)
        self.spk_type = spk_type

    def update(self, freqs):
        """Draw spikes for the rates ``freqs`` (frequencies, broadcastable to ``in_size``)."""
        return _spikes(self.varshape, spike_probability(freqs, type(self).__name__, "freqs"), self.spk_type)


@functools.lru_cache(maxsize=64)
def _binomial_cdf(n: int, p: float):
    """``(lo, cdf)``: the float64 CDF of Binomial(n, p) on the window ``lo..hi`` that holds all but ~1e-20 of it."""
    if p <= 0. or p >= 1.:
        return (0 if p <= 0. else n), np.zeros(0, np.float32)
    mean, sd = n * p, math.sqrt(n * p * (1. - p))
    lo, hi = max(0, int(mean - 12 * sd - 10)), min(n, int(math.ceil(mean + 12 * sd + 10)))
    k = np.arange(lo, hi + 1)
    log_pmf = (math.lgamma(n + 1) - np.array([math.lgamma(i + 1) + math.lgamma(n - i + 1) for i in k])
               + k * math.log(p) + (n - k) * math.log1p(-p))
    cdf = np.cumsum(np.exp(log_pmf))
    return lo, (cdf[:-1] / cdf[-1]).astype(np.float32)


def binomial_counts(n: int, p, shape, dtype):
    r"""Draw :math:`\mathrm{Binomial}(n, p)` counts of the given shape.

    With a concrete scalar ``p`` (the usual case: a fixed rate and ``dt``) the
    draw inverts the binomial CDF, tabulated once in float64 over the window
    that holds all but ~1e-20 of the mass (exact up to the 2^-24 resolution
    of the float32 uniform draw), at the cost of one uniform and a
    ``searchsorted`` per element; otherwise it uses ``jax.random.binomial``.
    """
    try:
        conc = np.asarray(p, dtype=np.float64)
    except jax.errors.TracerArrayConversionError:
        conc = None
    if conc is None or np.ptp(conc) > 0:
        return brainstate.random.binomial(n, p, size=shape, check_valid=False, dtype=dtype)
    lo, cdf = _binomial_cdf(n, float(conc.flat[0]))
    draws = jnp.searchsorted(jnp.asarray(cdf), brainstate.random.rand(*shape), side="right")
    return (lo + draws).astype(dtype)


def _target_state(target, owner):
    """The ``brainstate.State`` behind ``target`` (a State, or a Prefetch such as ``neuron.prefetch('V')``)."""
    if isinstance(target, brainstate.State):
        return target
    if isinstance(target, brainstate.nn.Prefetch):
        state = getattr(target.module, target.item, None)
        if isinstance(state, brainstate.State):
            return state
        raise ValueError(f"{owner}: the target {target.item!r} of {type(target.module).__name__} is not a state "
                         f"yet; call init_state() (or brainstate.nn.init_all_states) before update().")
    raise TypeError(f"{owner}: target must be a brainstate.State (e.g. neuron.V) or a prefetch "
                    f"(neuron.prefetch('V')); got {target!r}.")


def membrane_owner(target):
    """The neuron whose membrane potential ``target`` is, if it takes delta inputs; else None.

    ``target`` is a prefetch (``neuron.prefetch('V')``) of any neuron with an
    ``add_delta_input`` method (lapicque's, brainpy.state's), or the State
    ``neuron.V`` of a lapicque neuron (another module's State is written
    directly: give a prefetch).
    """
    if isinstance(target, brainstate.nn.Prefetch):
        module, item = target.module, target.item
    elif isinstance(target, brainstate.State):
        module, item = neuron_of(target), "V"
    else:
        return None
    return module if item == "V" and callable(getattr(module, "add_delta_input", None)) else None


def check_indices(indices, shape, owner: str):
    """Refuse indices that do not select elements of an array of ``shape`` (numpy rules; traced ones pass).

    Integer indices follow numpy: along an axis of size ``n``, ``-n <= i < n``
    (``-1`` is the last element); a boolean mask has the shape of the axes it
    covers; a tuple indexes several axes.
    """
    if indices is None:
        return
    parts = indices if isinstance(indices, tuple) else (indices,)
    try:
        arrays = tuple(p if p is None or p is Ellipsis or isinstance(p, slice) else np.asarray(p) for p in parts)
    except jax.errors.TracerArrayConversionError:
        return
    for a in arrays:
        if isinstance(a, np.ndarray) and not (a.dtype == bool or np.issubdtype(a.dtype, np.integer)):
            first = f" such as {a.flat[0]}" if a.size else ""
            raise TypeError(f"{owner}: indices must be integers or a boolean mask; got {a.dtype} values{first}.")
    try:
        np.broadcast_to(np.False_, tuple(shape))[arrays if isinstance(indices, tuple) else arrays[0]]
    except IndexError as e:
        raise ValueError(f"{owner}: indices do not select elements of the target of shape {tuple(shape)}: {e}. "
                         f"Integer indices follow numpy: -n <= i < n along an axis of size n (-1 is the last "
                         f"element); a boolean mask has the target's shape.") from None


def _increment(freq, num_input: int, weight, value, indices, refractory, owner: str):
    """This step's input to a target holding ``value``: ``k w`` at ``indices`` (0 elsewhere and where refractory)."""
    check_indices(indices, u.math.shape(value), owner)
    shape = u.math.shape(value) if indices is None else u.math.shape(value[indices])
    counts = binomial_counts(int(num_input), spike_probability(freq, owner), shape, u.get_mantissa(value).dtype)
    zero = u.math.zeros_like(value)
    try:
        delta = zero + counts * weight if indices is None else zero.at[indices].add(counts * weight)
    except u.UnitMismatchError:
        raise TypeError(f"{owner}: weight {format_value(weight)} does not have the dimension of the target "
                        f"state ({format_value(value)}).") from None
    return delta if refractory is None else u.math.where(refractory, zero, delta)


def _free_key(neuron, base: str) -> str:
    """``base``, or ``base #k`` with the smallest k not registered in the neuron's delta inputs."""
    taken = getattr(neuron, "delta_inputs", None) or {}
    key, k = base, 1
    while key in taken:
        k += 1
        key = f"{base} #{k}"
    return key


def poisson_input(freq, num_input: int, weight, target, indices=None, refractory=None):
    r"""Add the input of ``num_input`` independent Poisson sources of rate ``freq`` to a state.

    Each step each element of ``target`` (or of ``target[indices]``) receives
    :math:`k \cdot` ``weight`` with :math:`k \sim \mathrm{Binomial}(N, p)`,
    :math:`N` = ``num_input`` and :math:`p = 1 - e^{-f\Delta t}` -- exactly the
    number of spikes that ``N`` binary :class:`PoissonSpike` sources emit in a
    step, so the mean drive is :math:`N p\,w` per step.  The reference
    replaces the binomial by a rounded normal when :math:`Np > 5`; here the
    draw is always binomial (:func:`binomial_counts`: inversion of the exact
    CDF for a fixed rate, ``jax.random.binomial`` otherwise).

    Where the input goes: a neuron's membrane potential (``neuron.V`` or
    ``neuron.prefetch('V')`` of a neuron with ``add_delta_input``) receives it
    as a delta input, added after the neuron's next integration step, so a
    kick across the threshold is a spike of that step; call this before the
    neuron's ``update`` in the step (the reference writes into ``V`` directly,
    where such a kick is reset without a spike).  Any other state (e.g. a
    synapse's conductance ``g``) is written at once.

    Parameters
    ----------
    freq : Quantity
        Rate of each source (a frequency >= 0).
    num_input : int
        Number of sources (> 0).
    weight : Quantity or float
        Increment per spike; must have the dimension of the target.
    target : brainstate.State or brainstate.nn.Prefetch
        The state to add to (e.g. ``neuron.V``, ``neuron.prefetch('V')``, ``syn.g``).
    indices : array of int or bool, optional
        Elements of the target that receive input (all when ``None``), with
        numpy's rules: ``-n <= i < n`` (``-1`` is the last element), or a
        boolean mask of the target's shape; anything else is a ``ValueError``.
    refractory : bool array, optional
        Elements where it is True receive nothing.

    Examples
    --------
    >>> import brainstate, saiunit as u, lapicque
    >>> brainstate.environ.set(dt=0.1 * u.ms)
    >>> brainstate.random.seed(1)
    >>> V = brainstate.HiddenState(u.math.zeros(2000) * u.mV)
    >>> lapicque.poisson_input(100. * u.Hz, 500, 0.1 * u.mV, V)   # mean 500 * 0.00995 * 0.1 mV
    >>> print(round(float(V.value.mean().to_decimal(u.mV)), 2))
    0.5
    """
    _check_poisson_args("poisson_input", num_input, weight)
    neuron = membrane_owner(target)
    if neuron is None:
        state = _target_state(target, "poisson_input")
        state.value = state.value + _increment(freq, num_input, weight, state.value, indices, refractory,
                                               "poisson_input")
        return
    V = _target_state(brainstate.nn.Prefetch(neuron, "V"), "poisson_input").value
    delta = _increment(freq, num_input, weight, V, indices, refractory, "poisson_input")
    neuron.add_delta_input(_free_key(neuron, "poisson_input"), delta)


def _check_poisson_args(owner, num_input, weight):
    if not isinstance(num_input, (numbers.Integral, np.integer)) or isinstance(num_input, bool) or num_input <= 0:
        raise ValueError(f"{owner}: num_input must be a positive int; got {num_input!r}.")
    check_param(owner, "weight", weight, Param(ANY_UNIT))


class PoissonInput(brainstate.nn.Module):
    r"""Poisson input from ``num_input`` independent sources of rate ``freq`` added to a state each step.

    :meth:`update` draws :math:`k \sim \mathrm{Binomial}(N, 1 - e^{-f\Delta t})`
    per target element (see :func:`poisson_input`) and adds :math:`k\,w`, mean
    :math:`N (1 - e^{-f\Delta t})\,w` per step (the spikes are not stored).

    A target that is a neuron's membrane potential (``neuron.prefetch('V')``,
    or ``neuron.V``) receives the input as a delta input
    (``neuron.add_delta_input``), which the neuron adds to ``V`` after its
    integration step: a kick that crosses the threshold is a spike of that
    step.  Call :meth:`update` before the neuron's ``update`` in each step, as
    for a projection; calling it twice without a neuron update in between is
    an error.  Other targets (e.g. a synapse's conductance) are written at once.

    Parameters
    ----------
    target : brainstate.State or brainstate.nn.Prefetch
        The state that receives the input, e.g. ``neuron.prefetch('V')`` (resolved at
        each update, so it may be created after this module) or ``neuron.V``.
    indices : array of int or bool, or None
        Elements that receive input (all when ``None``); numpy's rules, checked
        against the target's shape (``-n <= i < n``, ``-1`` the last element,
        or a boolean mask): an index outside the target is a ``ValueError``.
    num_input : int
        Number of sources (> 0).
    freq : Quantity
        Rate of each source (a frequency >= 0).
    weight : Quantity or float
        Increment per spike, with the dimension of the target (e.g. mV for ``V``).
    name : str, optional
        Name of the module.

    Examples
    --------
    800 sources at 10 Hz with 0.5 mV kicks: a mean drive of
    :math:`800 (1 - e^{-0.001}) \times 0.5` = 0.4 mV per step, enough to hold
    ``V`` near :math:`V_{rest} + (\tau/\Delta t)\,0.4` mV, far above threshold,
    so the neurons fire:

    >>> import brainstate, braintools, jax.numpy as jnp, saiunit as u, lapicque
    >>> brainstate.environ.set(dt=0.1 * u.ms)
    >>> brainstate.random.seed(0)
    >>> neu = lapicque.LIF(100, R=100. * u.Mohm, tau=20. * u.ms, V_rest=-60. * u.mV, V_reset=-60. * u.mV,
    ...                    V_th=-50. * u.mV, V_initializer=braintools.init.Constant(-60. * u.mV))
    >>> neu.init_state()
    >>> inp = lapicque.PoissonInput(neu.prefetch('V'), None, num_input=800, freq=10. * u.Hz,
    ...                             weight=0.5 * u.mV)
    >>> def step(i):
    ...     inp.update()          # before the neuron, as a projection
    ...     return neu.update()
    >>> spikes = brainstate.transform.for_loop(step, jnp.arange(1000))
    >>> bool(spikes.sum() > 0)
    True
    """

    __module__ = "lapicque"

    def __init__(self, target, indices, num_input: int, freq, weight, name: Optional[str] = None):
        super().__init__(name=name)
        owner = type(self).__name__
        if not isinstance(target, (brainstate.State, brainstate.nn.Prefetch)):
            _target_state(target, owner)  # raises the TypeError
        _check_poisson_args(owner, num_input, weight)
        if isinstance(target, brainstate.State):
            check_indices(indices, u.math.shape(target.value), owner)
        self.target = target
        self.indices = indices
        self.num_input = int(num_input)
        self.freq = check_param(owner, "freq", freq, _RATE)
        self.weight = weight

    def _key(self) -> str:
        return f"{type(self).__name__} {self.name}" if self.name else f"{type(self).__name__} @{id(self):x}"

    def update(self):
        """Draw this step's Poisson input and hand it to the neuron (``V``) or add it to the target."""
        owner = type(self).__name__
        neuron = membrane_owner(self.target)
        if neuron is None:
            state = _target_state(self.target, owner)
            state.value = state.value + _increment(self.freq, self.num_input, self.weight, state.value,
                                                   self.indices, None, owner)
            return
        key = self._key()
        if key in (getattr(neuron, "delta_inputs", None) or {}):
            raise RuntimeError(
                f"{owner}: the input of the previous update() is still waiting in {type(neuron).__name__}'s delta "
                f"inputs: call {type(neuron).__name__}.update() after {owner}.update() in every step (inputs and "
                f"projections first, then the neurons).")
        V = _target_state(brainstate.nn.Prefetch(neuron, "V"), owner).value
        neuron.add_delta_input(key, _increment(self.freq, self.num_input, self.weight, V, self.indices, None, owner))


__test__ = {name: globals()[name] for name in __all__}
