r"""Spike-train statistics: rates, spike times, inter-spike intervals, f-I curves.

Every function takes either a :class:`~lapicque.SimulationResult` or a raw
boolean spike raster of shape ``(n_steps, ...)`` together with its ``dt``.
Rates come back as quantities in Hz, times and intervals in ms.  Spike
times follow the convention of :func:`lapicque.simulate`: the spike of step
``i`` occurs at ``t0 + (i + 1) * dt``.

Examples
--------
>>> import saiunit as u, lapicque
>>> from lapicque import analysis
>>> res = lapicque.simulate(lapicque.LIF(2), [2., 3.] * u.mA, 50 * u.ms)
>>> print(analysis.firing_rate(res))
[280. 480.] Hz
>>> print(analysis.isi(res)[0][:3])
[3.5 3.5 3.5] ms
>>> print(analysis.isi_cv(res).round(3))
[0.    0.024]
"""

from __future__ import annotations

import re
from typing import List, Optional

import numpy as np
import saiunit as u

from ._engine.simulate import SimulationResult, simulate
from ._results.events import as_events
from ._results.events import time_ms as _ms

__all__ = ["spike_times", "firing_rate", "population_rate", "isi", "isi_cv", "fi_curve"]


# --------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------
def _times_list(spikes, dt=None, t0=0. * u.ms) -> List[np.ndarray]:
    """Spike times (ms, float64) per neuron from a result, a raster, a list or one array."""
    if isinstance(spikes, SimulationResult) or (dt is not None):
        return [np.asarray(x.to_decimal(u.ms), dtype=np.float64) for x in spike_times(spikes, dt, t0)]
    if isinstance(spikes, u.Quantity):
        return [np.asarray(spikes.to_decimal(u.ms), dtype=np.float64).reshape(-1)]
    if isinstance(spikes, (list, tuple)):
        out = []
        for x in spikes:
            if not isinstance(x, u.Quantity):
                raise TypeError("spike times must be time quantities (e.g. from analysis.spike_times).")
            out.append(np.asarray(x.to_decimal(u.ms), dtype=np.float64).reshape(-1))
        return out
    raise TypeError(
        "expected a SimulationResult, a spike raster with dt=..., a list of spike-time quantities or one "
        f"spike-time quantity; got {type(spikes).__name__}."
    )


# --------------------------------------------------------------------------
# spike times and rates
# --------------------------------------------------------------------------
def spike_times(spikes, dt=None, t0=0. * u.ms) -> List:
    """Spike times of each neuron.

    Parameters
    ----------
    spikes : SimulationResult or array_like of bool
        A result, or a raster of shape ``(n_steps, ...)``.
    dt : Quantity[time], optional
        Time step of a raw raster (ignored for a result).
    t0 : Quantity[time], default 0 ms
        Start time of a raw raster (ignored for a result).

    Returns
    -------
    list of Quantity
        One array of spike times (ms) per neuron, neurons in flattened
        (C) order; step ``i`` maps to ``t0 + (i + 1) * dt``.

    Examples
    --------
    >>> import numpy as np, saiunit as u
    >>> from lapicque.analysis import spike_times
    >>> raster = np.zeros((10, 2), bool); raster[[2, 7], 0] = True
    >>> for x in spike_times(raster, dt=0.5 * u.ms):
    ...     print(x)
    [1.5 4. ] ms
    [] ms
    """
    if isinstance(spikes, SimulationResult):
        return spikes.spike_times
    steps, neurons, n_steps, shape, dt_ms, t0_ms = as_events(spikes, dt, t0)
    M = int(np.prod(shape, dtype=np.int64))
    order = np.argsort(neurons, kind="stable")
    t = t0_ms + (steps[order] + 1.0) * dt_ms
    splits = np.cumsum(np.bincount(neurons, minlength=M))[:-1]
    return [u.Quantity(x, unit=u.ms) for x in np.split(t, splits)]


def firing_rate(spikes, dt=None, *, start=None, stop=None, method: str = "count", t0=0. * u.ms):
    """Mean firing rate of each neuron.

    Parameters
    ----------
    spikes : SimulationResult or array_like of bool
        A result, or a raster of shape ``(n_steps, ...)``.
    dt : Quantity[time], optional
        Time step of a raw raster.
    start, stop : Quantity[time], optional
        Use only spikes with ``start < t <= stop`` (defaults: the whole run).
    method : {'count', 'isi'}, default 'count'
        ``'count'``: spikes in the window divided by its length.  ``'isi'``:
        the inverse mean inter-spike interval ``(n - 1) / (t_last -
        t_first)`` of the spikes in the window (exact for periodic firing,
        free of edge effects); neurons with fewer than two spikes fall back to
        ``'count'``.
    t0 : Quantity[time], default 0 ms
        Start time of a raw raster.

    Returns
    -------
    Quantity
        Rates in Hz, one per neuron (the state shape).

    Examples
    --------
    >>> import numpy as np, saiunit as u
    >>> from lapicque.analysis import firing_rate
    >>> raster = np.zeros((1000, 2), bool); raster[::100, 0] = True
    >>> print(firing_rate(raster, dt=1 * u.ms))
    [10.  0.] Hz
    >>> raster[:5] = False
    >>> print(firing_rate(raster, dt=1 * u.ms, method="isi"))
    [10.  0.] Hz
    """
    if method not in ("count", "isi"):
        raise ValueError(f"firing_rate: method must be 'count' or 'isi'; got {method!r}.")
    if isinstance(spikes, SimulationResult) and spikes.spike_mode == "count":
        if start is not None or stop is not None or method != "count":
            raise ValueError("firing_rate: start/stop and method='isi' need dense spikes; this result only has "
                             "counts (use analysis.fi_curve or simulate(..., spikes='dense')).")
        return spikes.rate
    steps, neurons, n_steps, shape, dt_ms, t0_ms = as_events(spikes, dt, t0)
    M = int(np.prod(shape, dtype=np.int64))
    lo = t0_ms if start is None else _ms(start, "start")
    hi = t0_ms + n_steps * dt_ms if stop is None else _ms(stop, "stop")
    if not hi > lo:
        raise ValueError(f"firing_rate: the window must have stop > start; got start={lo} ms, stop={hi} ms.")
    t = t0_ms + (steps + 1.0) * dt_ms
    keep = (t > lo + 1e-6 * dt_ms) & (t <= hi + 1e-6 * dt_ms)
    t, neurons = t[keep], neurons[keep]
    counts = np.bincount(neurons, minlength=M).astype(np.float64)
    rates = counts / ((hi - lo) * 1e-3)
    if method == "isi" and t.size:
        first = np.full(M, np.inf)
        last = np.full(M, -np.inf)
        np.minimum.at(first, neurons, t)
        np.maximum.at(last, neurons, t)
        ok = (counts >= 2) & (last > first)
        rates = np.where(ok, (counts - 1) / np.where(ok, last - first, 1.0) * 1e3, rates)
    return u.Quantity(rates.reshape(shape).astype(np.float32), unit=u.Hz)


def population_rate(spikes, dt=None, *, window=None, t0=0. * u.ms):
    """Population firing rate over time (spikes per neuron per second).

    Parameters
    ----------
    spikes : SimulationResult or array_like of bool
        A result, or a raster of shape ``(n_steps, ...)``.
    dt : Quantity[time], optional
        Time step of a raw raster.
    window : Quantity[time], optional
        Width of a centred box filter for smoothing (at the ends of the run
        only the samples inside it are averaged); ``None`` gives the raw
        per-step rate.
    t0 : Quantity[time], default 0 ms
        Start time of a raw raster.

    Returns
    -------
    Quantity
        Rate in Hz, shape ``(n_steps,)``, aligned with ``result.times``.

    Examples
    --------
    >>> import numpy as np, saiunit as u
    >>> from lapicque.analysis import population_rate
    >>> raster = np.zeros((6, 4), bool); raster[2, :2] = True
    >>> print(population_rate(raster, dt=1 * u.ms))
    [  0.   0. 500.   0.   0.   0.] Hz
    >>> print(population_rate(raster, dt=1 * u.ms, window=3 * u.ms))
    [  0.      166.66667 166.66667 166.66667   0.        0.     ] Hz
    """
    steps, neurons, n_steps, shape, dt_ms, t0_ms = as_events(spikes, dt, t0)
    M = max(int(np.prod(shape, dtype=np.int64)), 1)
    per_step = np.bincount(steps, minlength=n_steps).astype(np.float64) / M / (dt_ms * 1e-3)
    if window is not None:
        width = max(1, int(round(_ms(window, "window") / dt_ms)))
        kernel = np.ones(width)
        # centred box average; near the ends only the samples inside the run are averaged
        per_step = np.convolve(per_step, kernel, mode="same") / np.convolve(np.ones(n_steps), kernel, mode="same")
    return u.Quantity(per_step.astype(np.float32), unit=u.Hz)


# --------------------------------------------------------------------------
# inter-spike intervals
# --------------------------------------------------------------------------
def isi(spikes, dt=None, t0=0. * u.ms):
    """Inter-spike intervals.

    Parameters
    ----------
    spikes : SimulationResult, raster, list of Quantity or Quantity
        A result or raster (then ``dt`` for a raster), the list returned by
        :func:`spike_times`, or the spike times of one neuron.

    Returns
    -------
    list of Quantity or Quantity
        The intervals (ms) of each neuron; a single Quantity when one
        neuron's spike times were given.

    Examples
    --------
    >>> import saiunit as u
    >>> from lapicque.analysis import isi
    >>> print(isi([1., 3., 7.] * u.ms))
    [2. 4.] ms
    """
    single = isinstance(spikes, u.Quantity)
    out = [u.Quantity(np.diff(np.sort(t)), unit=u.ms) for t in _times_list(spikes, dt, t0)]
    return out[0] if single else out


def isi_cv(spikes, dt=None, t0=0. * u.ms, min_intervals: int = 2):
    """Coefficient of variation (std / mean) of each neuron's inter-spike intervals.

    Parameters
    ----------
    spikes : SimulationResult, raster, list of Quantity or Quantity
        As for :func:`isi`.
    min_intervals : int, default 2
        Neurons with fewer intervals get ``nan``.

    Returns
    -------
    numpy.ndarray or float
        One CV per neuron (the state shape for a result, flat otherwise); a
        float for a single neuron's spike times.  0 for a perfectly regular
        train, about 1 for a Poisson train.

    Examples
    --------
    >>> import saiunit as u
    >>> from lapicque.analysis import isi_cv
    >>> print(round(isi_cv([1., 3., 5., 7.] * u.ms), 6), round(isi_cv([0., 1., 4.] * u.ms), 6))
    0.0 0.5
    """
    single = isinstance(spikes, u.Quantity)
    cvs = []
    for t in _times_list(spikes, dt, t0):
        d = np.diff(np.sort(t))
        if d.size < max(int(min_intervals), 1) or not d.mean() > 0:
            cvs.append(np.nan)
        else:
            cvs.append(float(d.std() / d.mean()))
    cvs = np.asarray(cvs, dtype=np.float64)
    if single:
        return float(cvs[0])
    if isinstance(spikes, SimulationResult):
        return cvs.reshape(spikes.shape)
    return cvs


# --------------------------------------------------------------------------
# f-I curve
# --------------------------------------------------------------------------
def _unit_code(unit) -> str:
    """``unit`` as Python writes it with saiunit: ``u.mA``, ``(u.mV / u.ms)``."""
    code = re.sub(r"[A-Za-z_]\w*", lambda m: "u." + m.group(0), str(unit))
    return code if " " not in code else f"({code})"


def _fi_size(currents) -> int:
    """How many inputs ``currents`` holds (before its unit is checked against the model's)."""
    values = currents.mantissa if isinstance(currents, u.Quantity) else currents
    try:
        arr = np.asarray(values)
    except Exception:  # e.g. a list of quantities
        arr = None
    if arr is None or arr.dtype.kind not in "biuf":
        raise TypeError(f"fi_curve: currents must be one array in the model's input unit: a current quantity "
                        f"such as [1., 2.] * u.mA for a current input, a quantity in the model's input_unit for "
                        f"another, plain numbers for a dimensionless model; got {currents!r}.")
    return int(arr.size)


def _fi_inputs(currents, neurons):
    """``currents`` checked against ``neurons.input_unit`` and flattened: float32 in that unit (plain for None).

    Current inputs are passed in mA, exactly as before inputs of other units were accepted.
    """
    name = type(neurons).__name__
    unit = getattr(neurons, "input_unit", u.mA)
    if unit is None:  # a dimensionless model: plain numbers (or a unitless quantity)
        if isinstance(currents, u.Quantity) and not currents.is_unitless:
            raise TypeError(f"fi_curve: {name} takes its input as a plain number (its input_unit is None, "
                            f"dimensionless), e.g. [0.3, 0.5, 1.]; got {currents!r}, which has units.")
        return np.asarray(u.get_mantissa(currents), dtype=np.float32).reshape(-1)
    if u.have_same_dim(unit, u.mA):
        if not isinstance(currents, u.Quantity) or not u.have_same_dim(currents, u.mA) or currents.is_unitless:
            raise TypeError(f"fi_curve: currents must be a current quantity such as [1., 2.] * {_unit_code(unit)} "
                            f"({name} takes its input in {unit}, a current); got {currents!r}.")
        return u.Quantity(np.asarray(currents.to_decimal(u.mA), dtype=np.float32).reshape(-1), unit=u.mA)
    if not isinstance(currents, u.Quantity) or currents.is_unitless or not u.have_same_dim(currents, unit):
        raise TypeError(f"fi_curve: {name} takes its input in {unit} (its input_unit): the inputs must be "
                        f"a quantity of that dimension such as [5., 10.] * {_unit_code(unit)}; "
                        f"got {currents!r}.")
    return u.Quantity(np.asarray(currents.to_decimal(unit), dtype=np.float32).reshape(-1), unit=unit)


def fi_curve(
    model,
    currents,
    duration=1000. * u.ms,
    dt=0.1 * u.ms,
    *,
    transient=None,
    method: str = "isi",
    progress: Optional[bool] = False,
    **params,
):
    r"""Firing rate as a function of a constant input (the f-I curve).

    One population with one neuron per input is simulated in a single
    compiled run (``simulate(..., spikes='count')``), so the cost is that of
    one vectorized simulation.  Each input is given in the model's own
    input unit (its :attr:`~lapicque.Neuron.input_unit`), as
    :func:`lapicque.simulate` takes it: a current for the integrate-and-fire
    models (mA) and the conductance-based ones (uA for ``HH``), ``dV/dt`` in
    mV/ms for ``Izhikevich`` and ``IzhikevichRef``, and a plain number for
    the dimensionless ``FitzHughNagumo`` and ``HindmarshRose``.

    Parameters
    ----------
    model : str, type or Neuron
        A model name (``'LIF'``), a model class, or an instance with one
        neuron per input (shape ``(len(currents),)``).
    currents : Quantity or array_like
        The constant inputs, one per neuron (flattened), in the model's
        input unit: a quantity of that dimension (any unit of it, e.g.
        ``[1., 2.] * u.mA`` or ``[1e3, 2e3] * u.uA`` for a current), or plain
        numbers (an array, a list or a unitless quantity) for a model whose
        ``input_unit`` is None.
    duration : Quantity[time], default 1000 ms
        Simulated time per input.
    dt : Quantity[time], default 0.1 ms
        Time step.
    transient : Quantity[time], optional
        Ignore spikes in the first ``transient`` (e.g. adaptation); rates
        are measured over the rest of the run.
    method : {'isi', 'count'}, default 'isi'
        ``'isi'``: the inverse mean inter-spike interval, ``(n - 1) /
        (t_last - t_first)`` (exact for periodic firing, no edge effects);
        neurons with fewer than two spikes fall back to ``'count'``.
        ``'count'``: spikes divided by the measuring window.
    progress : bool, optional
        Progress bar (see :func:`~lapicque.simulate`); off by default.
    **params
        Constructor parameters when ``model`` is a name or a class.

    Returns
    -------
    Quantity
        Firing rates in Hz, shape ``(len(currents),)``.

    Raises
    ------
    TypeError
        If the inputs are not in the model's input unit (the message names
        the unit expected), e.g. milliamperes for ``Izhikevich`` or a
        quantity with units for ``FitzHughNagumo``.
    ValueError
        For an unknown model name or method, no inputs, or an instance whose
        shape is not one neuron per input.

    Examples
    --------
    For the LIF model the period is
    :math:`T = \tau \ln\frac{RI - (V_{reset} - V_{rest})}{RI - (V_{th} - V_{rest})}`:

    >>> import saiunit as u
    >>> from lapicque.analysis import fi_curve
    >>> rates = fi_curve("LIF", [0.5, 2., 4.] * u.mA, 200 * u.ms, tau=10 * u.ms, spk_reset="hard")
    >>> print(rates)
    [  0.      142.85715 344.82758] Hz

    Other models take their own input unit: ``dV/dt`` for Izhikevich, plain
    numbers for FitzHugh-Nagumo:

    >>> import lapicque
    >>> iz = fi_curve(lapicque.Izhikevich, [0., 10., 20.] * (u.mV / u.ms), 200 * u.ms)
    >>> bool(iz[0] == 0. * u.Hz) and bool(iz[2] > iz[1] > 0. * u.Hz)
    True
    >>> fhn = fi_curve(lapicque.FitzHughNagumo, [0., 0.5], 500 * u.ms)
    >>> fhn.shape
    (2,)
    >>> fi_curve(lapicque.Izhikevich, [10.] * u.mA)
    Traceback (most recent call last):
    ...
    TypeError: fi_curve: Izhikevich takes its input in mV / ms (its input_unit): the inputs must be ...
    """
    from ._neurons import base as _base

    if method not in ("isi", "count"):
        raise ValueError(f"fi_curve: method must be 'isi' or 'count'; got {method!r}.")
    n = _fi_size(currents)
    if n < 1:
        raise ValueError("fi_curve: currents must not be empty.")
    if isinstance(model, str):
        from . import MODELS
        if model not in MODELS:
            raise ValueError(f"fi_curve: unknown model {model!r}; choose from {', '.join(MODELS)}.")
        model = MODELS[model]
    if isinstance(model, type):
        neurons = model(n, **params)
    elif isinstance(model, _base.Neuron) or hasattr(model, "update"):
        if params:
            raise TypeError("fi_curve: parameters can only be given with a model name or class, not an instance.")
        if tuple(model.varshape) != (n,):
            raise ValueError(f"fi_curve: the model has shape {tuple(model.varshape)}; it needs one neuron per "
                             f"current, shape ({n},).")
        neurons = model
    else:
        raise TypeError(f"fi_curve: model must be a model name, class or instance; got {model!r}.")
    I = _fi_inputs(currents, neurons)

    res = simulate(neurons, I, duration, dt, spikes="count", count_from=transient, progress=progress,
                   time_varying=False)  # one current per neuron, even when there are as many neurons as steps
    counts = res.spike_count.astype(np.float64)
    window_s = (res.n_steps - res.count_from_step) * res.dt_ms * 1e-3
    rates = counts / window_s
    if method == "isi":
        span_ms = (res.last_spike_step - res.first_spike_step).astype(np.float64) * res.dt_ms
        ok = (counts >= 2) & (span_ms > 0)
        rates = np.where(ok, (counts - 1) / np.where(ok, span_ms, 1.0) * 1e3, rates)
    return u.Quantity(rates.astype(np.float32), unit=u.Hz)
