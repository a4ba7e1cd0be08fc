r"""Poisson inputs: PoissonSpike, PoissonEncoder, PoissonInput and the function poisson_input.

Every generator draws from ``brainstate.random`` (seed it with
``brainstate.random.seed(s)`` for reproducible runs) and uses the exact
per-step spike probability of a Poisson process of rate :math:`f`,

.. math::  p = P(\text{at least one event in } \Delta t) = 1 - e^{-f \Delta t},

as the reference does (bounded in [0, 1) for any rate; a binary spike per
step cannot carry more than one event).
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

from ._base import _fmt_value, env_dt_ms
from ._dynamics import Dynamics
from ._synapses import ANY_UNIT, ParamSpec, check_in_size, check_param, param_mantissa

__all__ = ["PoissonSpike", "PoissonEncoder", "PoissonInput", "poisson_input"]

_RATE = ParamSpec(u.Hz, "nonnegative")


def spike_probability(freq, owner: str, what: str = "freq"):
    r"""Per-step probability :math:`1 - e^{-f\,dt}` for a rate ``freq`` (a frequency quantity)."""
    f_hz = param_mantissa(owner, what, freq, _RATE, dtype=brainstate.environ.dftype())
    return -jnp.expm1(-f_hz * env_dt_ms() * 1e-3)


def _spikes(shape, p, spk_type):
    return jnp.asarray(brainstate.random.rand(*shape) < p, dtype=spk_type)


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

    Parameters
    ----------
    freq : Quantity
        Rate of each source (a frequency >= 0).
    num_input : int
        Number of sources (> 0).
    weight : Quantity or float
        Increment per spike; must have the dimension of the target.
    target : brainstate.State
        The state to add to (e.g. a neuron's ``V``).
    indices : array of int, optional
        Elements of the target that receive input (all when ``None``).
    refractory : bool array, optional
        Elements where it is True are left unchanged.

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
    state = _target_state(target, "poisson_input")
    old = state.value
    shape = u.math.shape(old) if indices is None else u.math.shape(old[indices])
    counts = binomial_counts(int(num_input), spike_probability(freq, "poisson_input"), shape,
                             u.get_mantissa(old).dtype)
    try:
        new = old + counts * weight if indices is None else old.at[indices].add(counts * weight)
    except u.UnitMismatchError:
        raise TypeError(f"poisson_input: weight {_fmt_value(weight)} does not have the dimension of the target "
                        f"state ({_fmt_value(old)}).") from None
    if refractory is not None:
        new = u.math.where(refractory, old, new)
    state.value = new


def _check_poisson_args(owner, num_input, weight):
    if not isinstance(num_input, (numbers.Integral, np.integer)) or isinstance(num_input, bool) or num_input <= 0:
        raise ValueError(f"{owner}: num_input must be a positive int; got {num_input!r}.")
    check_param(owner, "weight", weight, ParamSpec(ANY_UNIT))


class PoissonInput(brainstate.nn.Module):
    r"""Poisson input from ``num_input`` independent sources of rate ``freq`` added to a state each step.

    :meth:`update` calls :func:`poisson_input`: every target element receives
    :math:`k\,w`, :math:`k \sim \mathrm{Binomial}(N, 1 - e^{-f\Delta t})`,
    mean :math:`N (1 - e^{-f\Delta t})\,w` per step (the spikes are not stored).

    Parameters
    ----------
    target : brainstate.State or brainstate.nn.Prefetch
        The state that receives the input, e.g. ``neuron.prefetch('V')`` (resolved at
        each update, so it may be created after this module) or ``neuron.V``.
    indices : array of int or None
        Elements that receive input (all when ``None``).
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
    >>> import brainstate, saiunit as u, lapicque
    >>> brainstate.environ.set(dt=0.1 * u.ms)
    >>> neu = lapicque.LIF(100, R=100. * u.Mohm, tau=20. * u.ms)
    >>> neu.init_state()
    >>> inp = lapicque.PoissonInput(neu.prefetch('V'), None, num_input=800, freq=10. * u.Hz,
    ...                             weight=0.5 * u.mV)
    >>> inp.update()
    >>> bool((neu.V.value > neu.V_rest).any())
    True
    """

    __module__ = "lapicque"

    def __init__(self, target, indices, num_input: int, freq, weight, name: Optional[str] = None):
        super().__init__(name=name)
        owner = type(self).__name__
        if not isinstance(target, (brainstate.State, brainstate.nn.Prefetch)):
            _target_state(target, owner)  # raises the TypeError
        _check_poisson_args(owner, num_input, weight)
        self.target = target
        self.indices = indices
        self.num_input = int(num_input)
        self.freq = check_param(owner, "freq", freq, _RATE)
        self.weight = weight

    def update(self):
        """Add this step's Poisson input to the target."""
        poisson_input(self.freq, self.num_input, self.weight, _target_state(self.target, type(self).__name__),
                      self.indices)


__test__ = {name: globals()[name] for name in __all__}
