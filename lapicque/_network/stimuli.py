r"""Stimuli on the step grid: SpikeTime and the analog inputs (constant, step, ramp, section, sine, OU, Wiener).

Every generator is a module whose :meth:`update` returns this step's value, to be passed to a
neuron's ``update`` (or registered with ``add_current_input``), with ``brainpy.state``'s names,
signatures and state names.

The step grid
-------------
A run advances in steps of ``dt``; step ``i`` is the time :math:`t_i = i\,\Delta t`.  A
generator learns which step it is in from :mod:`brainstate.environ`: the step index ``i`` when
it is set (``lapicque.simulate`` and ``for_loop(net.update, times, indices)`` scripts set it),
otherwise ``round(t / dt)``.

A time given to a generator (a window's end, a step time, a spike time) becomes a step index
*once*, in float64, with a tolerance of two units of float rounding of the inputs (relative), so
a time that is a whole number of steps in decimal notation (0.3 ms at dt = 0.1 ms) is that step,
whatever its binary representation:

* a window :math:`[T_0, T_1)` holds the steps with :math:`T_0 \le t_i < T_1`, i.e.
  :math:`\lceil T_0/\Delta t\rceil \le i < \lceil T_1/\Delta t\rceil`;
* a spike time :math:`T` is delivered at step :math:`\lfloor T/\Delta t + 1/2\rfloor`
  (``time_as_step='round'``, the default: the nearest step, and an exact half step goes to the
  *later* step, so a spike is never delivered before its time at a tie), :math:`\lfloor
  T/\Delta t\rfloor` (``'floor'``) or :math:`\lceil T/\Delta t\rceil` (``'ceil'``).

The reference compares float times directly (a boundary that is a whole number of steps can
land one step off, depending on float rounding) and rounds half steps to even (0.05 ms -> step
0 but 0.15 ms -> step 2 at dt = 0.1 ms).

Noise
-----
:class:`WienerProcessInput` and :class:`OUProcessInput` draw from ``brainstate.random`` (one
``randn`` of the group's shape per step, also outside their window, as the reference does, so
the same seed gives the same draws); ``lapicque.simulate`` threads that key through its
compiled loop.  ``sigma`` is a noise amplitude per square root of a millisecond (the reference
multiplies by the square root of ``dt``'s mantissa in the unit it was given in, the same thing
when ``dt`` is given in ms).  The OU process is advanced with its exact transition
(:class:`OUProcessInput`), so its mean, variance and autocorrelation are exact at every ``dt``.
"""

from __future__ import annotations

from typing import Optional

import brainstate
import jax
import jax.numpy as jnp
import numpy as np
import saiunit as u

from .._core.declare import Declared, Param, StateSpec, check_in_size, check_param
from .._core.dynamics import Dynamics
from .._core.environ import dt_ms, t_ms
from .._core.errors import ParameterError
from .._core.units import ANY_UNIT, concrete, format_value, to_mantissa

__all__ = ["SpikeTime", "ConstantInput", "StepInput", "RampInput", "SectionInput", "SinusoidalInput",
           "OUProcessInput", "WienerProcessInput"]

_TIME = Param(u.ms)
_DURATION = Param(u.ms, "nonnegative")
_TAU = Param(u.ms, "positive")
_ANY = Param(ANY_UNIT)
_SCALE = Param(ANY_UNIT, "nonnegative")
_RULES = ("floor", "round", "ceil")
_INT32_MAX = np.iinfo(np.int32).max


# ----------------------------------------------------------------------------------------------
# times -> steps
# ----------------------------------------------------------------------------------------------
def _eps(*values) -> float:
    """Float resolution of the given values: the eps of the coarsest float dtype among them."""
    eps = np.finfo(np.float64).eps
    for v in values:
        dtype = np.asarray(v).dtype if not isinstance(v, jax.core.Tracer) else v.dtype
        if np.issubdtype(dtype, np.floating):
            eps = max(eps, float(np.finfo(dtype).eps))
    return eps


def grid_steps(ratio, rule: str = "round", eps: float = np.finfo(np.float32).eps):
    r"""Step indices of times given as ``ratio = T / dt``, with the rounding ``rule`` of the step grid.

    ``ratio`` within :math:`2\,\epsilon \max(1, |r|)` of a whole number (or, for ``'round'``, of
    a half) counts as that number: ``'round'`` is :math:`\lfloor r + 1/2 \rfloor` with ties to the
    later step, ``'floor'`` :math:`\lfloor r \rfloor`, ``'ceil'`` :math:`\lceil r \rceil`.
    NumPy in, NumPy int64 out; a JAX array (traced) gives int32.

    Examples
    --------
    >>> import numpy as np
    >>> grid_steps(np.array([0.3, 0.05, 0.15, 0.25, 100.4]) / 0.1).tolist()
    [3, 1, 2, 3, 1004]
    >>> grid_steps(np.array([0.3]) / 0.1, "floor").tolist()   # 2.9999999999999996 is step 3
    [3]
    """
    xp = jnp if isinstance(ratio, jax.Array) else np
    tol = 2. * eps * xp.maximum(1., xp.abs(ratio))
    if rule == "round":
        steps = xp.floor(ratio + 0.5 + tol)
    elif rule == "floor":
        steps = xp.floor(ratio + tol)
    elif rule == "ceil":
        steps = xp.ceil(ratio - tol)
    else:
        raise ValueError(f"grid_steps: rule must be one of {_RULES}; got {rule!r}.")
    return steps.astype(jnp.int32 if xp is jnp else np.int64)


def _to_ms64(value) -> np.ndarray:
    """A concrete time quantity as a float64 NumPy array in ms (no float32 round trip)."""
    mant = np.asarray(u.get_mantissa(value), dtype=np.float64)
    return mant * float(u.Quantity(1., unit=u.get_unit(value)).to_decimal(u.ms))


def _grid_times(value):
    """``(ms, eps)``: a concrete time quantity in ms (float64 NumPy) and the float resolution it was given in.

    Kept at construction: :meth:`update` may run traced (``lapicque.simulate`` passes array
    attributes as arguments), where a time can no longer be placed on the grid in float64.
    """
    return _to_ms64(value), _eps(u.get_mantissa(value))


def _boundary_steps(times_ms, dt, eps, rule="ceil"):
    """Times (ms) -> step indices at ``dt`` (ms): NumPy when ``dt`` is concrete, JAX when traced."""
    eps = max(eps, _eps(dt))
    dt_c = concrete(dt)
    if dt_c is not None:
        steps = grid_steps(np.asarray(times_ms, np.float64) / np.float64(dt_c), rule, eps)
        return np.clip(steps, -_INT32_MAX, _INT32_MAX).astype(np.int32)  # a window longer than any run
    return grid_steps(jnp.asarray(times_ms) / dt, rule, eps)


def current_step(owner: str):
    """``(i, dt)``: this step's index (``environ['i']``, else ``round(t / dt)``) and ``dt`` in ms."""
    dt = dt_ms(owner)
    i = brainstate.environ.get("i", default=None)
    if i is None:
        t = t_ms(owner)
        return grid_steps(jnp.asarray(t / dt), "round", _eps(t, dt)), dt
    return jnp.asarray(u.get_mantissa(i)).astype(jnp.int32), dt


def _window(i, steps_on, steps_off):
    """True where ``steps_on <= i < steps_off``."""
    return (i >= steps_on) & (i < steps_off)


# ----------------------------------------------------------------------------------------------
# values and their units
# ----------------------------------------------------------------------------------------------
def _split(value):
    """``(mantissa, unit or None)`` of a value (None: a plain number)."""
    if isinstance(value, u.Quantity) and not value.is_unitless:
        return jnp.asarray(value.mantissa), value.unit
    return jnp.asarray(u.get_mantissa(value)), None


def _in_unit_of(owner: str, name: str, value, ref_name: str, unit):
    """``value``'s mantissa in ``unit`` (the unit of ``ref_name``); an error on a dimension mismatch."""
    if value is None:
        return jnp.asarray(0.)
    plain = not isinstance(value, u.Quantity) or value.is_unitless
    if unit is None:
        if not plain:
            raise TypeError(f"{owner}: parameter '{name}' must be a plain number like '{ref_name}'; got "
                            f"{format_value(value)}.")
        return jnp.asarray(u.get_mantissa(value))
    if plain or not u.have_same_dim(value, unit):
        raise TypeError(f"{owner}: parameter '{name}' must have the dimension of '{ref_name}' ({unit}); got "
                        f"{format_value(value)}.")
    return jnp.asarray(value.to_decimal(unit))


def _out(mag, shape, unit):
    """``mag`` broadcast to ``shape`` with ``unit`` (a plain array when ``unit`` is None)."""
    mag = jnp.broadcast_to(mag, shape).astype(brainstate.environ.dftype())
    return mag if unit is None else u.Quantity(mag, unit=unit)


def _sequence(owner: str, name: str, values, spec: Param):
    """A non-empty sequence of quantities (or a quantity array) as one checked array."""
    try:
        arr = u.math.asarray(values)
    except Exception as e:  # mixed units in a list
        raise TypeError(f"{owner}: '{name}' must be a sequence of values of one dimension; got {values!r} "
                        f"({e}).") from None
    if u.math.ndim(arr) == 0 or u.math.shape(arr)[0] == 0:
        raise ParameterError(f"{owner}: '{name}' must be a non-empty sequence; got {format_value(arr)}.")
    return check_param(owner, name, arr, spec)


class _Analog(Declared, Dynamics):
    """Shared construction of the analog generators: ``in_size`` checked, parameters declared."""

    def __init__(self, in_size, name: Optional[str] = None):
        super().__init__(in_size=check_in_size(in_size, type(self).__name__), name=name)

    def _keep_times(self, *names):
        """Keep the time parameters ``names`` in float64 ms for :meth:`_window_steps`."""
        self._grid = {n: _grid_times(getattr(self, n)) for n in names}

    def _window_steps(self, dt, *names):
        """The step indices of the time parameters ``names`` (windows' ends) at ``dt``."""
        return [_boundary_steps(self._grid[n][0], dt, self._grid[n][1]) for n in names]


# ----------------------------------------------------------------------------------------------
# spikes at given times
# ----------------------------------------------------------------------------------------------
class SpikeTime(Dynamics):
    r"""Spikes at given times: neuron ``indices[k]`` fires at ``times[k]`` (weight ``weights[k]``).

    Each spike time :math:`T` is delivered at one step of the grid (see the module notes):

    .. math::  k = \lfloor T/\Delta t + 1/2 \rfloor \quad (\texttt{'round'}),\qquad
               \lfloor T/\Delta t \rfloor \ (\texttt{'floor'}),\qquad
               \lceil T/\Delta t \rceil \ (\texttt{'ceil'}),

    with times within float rounding of a whole (or, for ``'round'``, a half) step taken as
    exactly that, and an exact half step going to the later step.  :meth:`update` returns, at
    step ``i``, the sum of the weights of the spikes delivered at ``i`` per neuron (floats; two
    spikes of one neuron at one step give 2).

    Parameters
    ----------
    in_size : int or tuple of int
        Shape of the group; ``indices`` are flat (C-order) indices into it.
    indices : sequence of int
        The neuron of each spike, ``0 <= index < prod(in_size)``.
    times : Quantity (time)
        The time of each spike (>= 0, same length as ``indices``), in any order.
    weights : float, sequence or Quantity, default 1.0
        One weight for every spike, or one per spike.
    time_as_step : {'round', 'floor', 'ceil'} or callable, default 'round'
        The rule above; a callable gets the float64 array ``times / dt`` and returns step
        indices.
    name : str, optional
        Name of the module.
    need_sort : bool, default True
        Accepted for scripts written for brainstate's older ``SpikeTime``; the events are
        always sorted here.

    Notes
    -----
    The table of events per step is built at the first :meth:`update` for each ``dt`` (a
    concrete ``dt``; the reference needs ``dt`` at construction).  A step's cost is
    :math:`O(m + n)`, ``m`` the largest number of spikes in one step and ``n`` the group size.
    The reference raises an error for plain-number times, so does this class; it rounds half
    steps to even on float32 ratios (0.05 ms -> step 0, 0.15 ms -> step 2, 0.25 ms -> step 2 at
    dt = 0.1 ms, where this class gives steps 1, 2, 3).

    Examples
    --------
    >>> import brainstate, saiunit as u, lapicque
    >>> brainstate.environ.set(dt=0.1 * u.ms)
    >>> st = lapicque.SpikeTime(2, indices=[0, 1, 0], times=[0.3, 0.3, 0.55] * u.ms)
    >>> [st.update(index=i).tolist() for i in range(3, 7)]
    [[1.0, 1.0], [0.0, 0.0], [0.0, 0.0], [1.0, 0.0]]
    """

    __module__ = "lapicque"

    def __init__(self, in_size, indices, times, weights=1.0, time_as_step="round", name: Optional[str] = None,
                 need_sort: bool = True):
        owner = type(self).__name__
        super().__init__(in_size=check_in_size(in_size, owner), name=name)
        if not callable(time_as_step) and time_as_step not in _RULES:
            raise ParameterError(f"{owner}: time_as_step must be one of {_RULES} or a callable; got "
                                 f"{time_as_step!r}.")
        self.time_as_step = time_as_step
        self.need_sort = need_sort
        times, indices, weights = self._checked_events(owner, indices, times, weights)
        self.num_times = int(indices.size)
        self._times_ms, self._times_eps = _grid_times(times) if self.num_times else (np.zeros(0), 0.)
        order = np.argsort(self._times_ms, kind="stable")
        self._times_ms = self._times_ms[order]
        self.times = times[order] if self.num_times else times
        self.indices = indices[order]
        self.weights = weights if u.math.ndim(weights) == 0 else weights[order]
        self._tables = {}

    def _checked_events(self, owner, indices, times, weights):
        n = int(np.prod(self.varshape))
        idx = np.asarray(indices)
        if idx.ndim != 1 or (idx.size and not np.issubdtype(idx.dtype, np.integer)):
            raise TypeError(f"{owner}: indices must be a 1-D sequence of ints; got {format_value(indices)}.")
        if idx.size and (idx.min() < 0 or idx.max() >= n):
            raise ParameterError(f"{owner}: indices must be in [0, {n}) for a group of shape {tuple(self.varshape)}; "
                                 f"got values from {idx.min()} to {idx.max()}.")
        times = u.math.asarray(times) if isinstance(times, (list, tuple)) else times
        if np.ndim(u.get_mantissa(times)) != 1 or np.size(u.get_mantissa(times)) != idx.size:
            raise ParameterError(f"{owner}: times and indices must be 1-D and of the same length; got "
                                 f"{np.size(u.get_mantissa(times))} times and {idx.size} indices.")
        if idx.size:
            times = check_param(owner, "times", times, Param(u.ms, "nonnegative"))
        weights = float(weights) if isinstance(weights, bool) else weights
        weights = check_param(owner, "weights", u.math.asarray(weights, dtype=brainstate.environ.dftype()), _ANY)
        if u.math.shape(weights) not in ((), (idx.size,)):
            raise ParameterError(f"{owner}: weights must be a scalar or one per spike ({idx.size}); got shape "
                                 f"{u.math.shape(weights)}.")
        return times, idx.astype(np.int32), weights

    def _steps(self, dt: float) -> np.ndarray:
        """The step of every (sorted) spike at ``dt`` (ms)."""
        ratio = self._times_ms / np.float64(dt)
        if callable(self.time_as_step):
            return np.asarray(self.time_as_step(ratio)).astype(np.int64)
        return grid_steps(ratio, self.time_as_step, max(self._times_eps, _eps(dt)))

    def _table(self, dt):
        """The events grouped by step at ``dt``, as NumPy arrays built once per ``dt``.

        ``(rows, starts, order, neurons, m)``: the distinct steps with spikes (sorted), where each
        one's events start in ``order`` (positions into :attr:`weights`) and ``neurons``, and the
        most events of one step.
        """
        dt_c = concrete(dt)
        if dt_c is None:
            raise ValueError(f"{type(self).__name__}: dt must be a concrete value (not traced) to place the spike "
                             f"times on the step grid.")
        key = float(dt_c)
        if key not in self._tables:
            steps = self._steps(key) if self.num_times else np.zeros(0, np.int64)
            sel = np.flatnonzero(steps >= 0)                   # a step before 0 is never delivered
            sel = sel[np.argsort(steps[sel], kind="stable")]
            rows, starts, counts = np.unique(steps[sel], return_index=True, return_counts=True)
            self._tables[key] = (np.clip(rows, 0, _INT32_MAX).astype(np.int32), starts.astype(np.int32),
                                 sel.astype(np.int32), self.indices[sel], int(counts.max()) if counts.size else 0)
        return self._tables[key]

    def _step_index(self, index, time, dt):
        """The step to deliver: ``index``, or the step of ``time`` (by ``time_as_step``), or the current step."""
        owner = type(self).__name__
        if index is not None:
            return jnp.asarray(u.get_mantissa(index)).astype(jnp.int32)
        if time is None:
            return current_step(owner)[0]
        ratio = jnp.asarray(to_mantissa(time, u.ms, "the argument 'time'", owner)) / dt
        if callable(self.time_as_step):
            return jnp.asarray(self.time_as_step(ratio)).astype(jnp.int32)
        return grid_steps(ratio, self.time_as_step, _eps(ratio))

    def update(self, index=None, time=None):
        """The spikes of step ``index`` (or of the step of ``time``, or of the current step)."""
        dt = dt_ms(type(self).__name__)
        n = int(np.prod(self.varshape))
        rows, starts, order, neurons, m = self._table(dt)
        w_m, unit = _split(self.weights)
        if m == 0:
            return _out(jnp.zeros(()), self.varshape, unit)
        idx, w = jnp.asarray(neurons), jnp.broadcast_to(w_m, (self.num_times,))[order]
        rows, starts = jnp.asarray(rows), jnp.asarray(starts)
        i = self._step_index(index, time, dt)
        r = jnp.clip(jnp.searchsorted(rows, i), 0, rows.shape[0] - 1)
        start = starts[r]
        stop = jnp.where(r + 1 < rows.shape[0], starts[jnp.clip(r + 1, 0, rows.shape[0] - 1)], idx.shape[0])
        count = jnp.where(rows[r] == i, stop - start, 0)
        k = jnp.arange(m)
        pos = jnp.clip(start + k, 0, idx.shape[0] - 1)
        live = k < count
        target = jnp.where(live, idx[pos], n)                  # n: a slot past the group, dropped
        out = jnp.zeros(n + 1, dtype=brainstate.environ.dftype()).at[target].add(jnp.where(live, w[pos], 0.))
        return _out(out[:n].reshape(self.varshape), self.varshape, unit)


# ----------------------------------------------------------------------------------------------
# deterministic currents
# ----------------------------------------------------------------------------------------------
class ConstantInput(_Analog):
    r"""A constant ``value`` during :math:`[0, \text{duration})`, zero afterwards.

    .. math::  I(t_i) = \begin{cases} \text{value} & 0 \le t_i < \text{duration} \\
               0 & \text{otherwise} \end{cases}

    Parameters
    ----------
    in_size : int or tuple of int
        Shape of the output.
    value : Quantity
        The value (any dimension; a current to drive a neuron), scalar or of shape ``in_size``.
    duration : Quantity (time)
        Length of the window (>= 0).
    name : str, optional
        Name of the module.

    Examples
    --------
    >>> import brainstate, saiunit as u, lapicque
    >>> brainstate.environ.set(dt=0.1 * u.ms)
    >>> inp = lapicque.ConstantInput(2, 2. * u.nA, duration=0.3 * u.ms)
    >>> for i in (2, 3):
    ...     with brainstate.environ.context(i=i):
    ...         print(inp.update())
    [2. 2.] nA
    [0. 0.] nA
    """

    __module__ = "lapicque"
    _PARAMS = {"value": _ANY, "duration": _DURATION}

    def __init__(self, in_size, value, duration, name: Optional[str] = None):
        super().__init__(in_size, name)
        self._set_params(value=value, duration=duration)
        self._keep_times("duration")

    def update(self):
        """This step's value."""
        i, dt = current_step(type(self).__name__)
        (k_end,) = self._window_steps(dt, "duration")
        mag, unit = _split(self.value)
        return _out(jnp.where(_window(i, 0, k_end), mag, 0.), self.varshape, unit)


class StepInput(_Analog):
    r"""A staircase: ``amplitudes[k]`` from ``step_times[k]`` on, zero before the first step time.

    .. math::  I(t_i) = a_{k(i)},\quad k(i) = \max\{k : T_k \le t_i\}

    (zero when no :math:`T_k \le t_i`); the last amplitude is held for ever.  Step times are
    sorted (stably: of equal times, the one listed last wins).

    Parameters
    ----------
    in_size : int or tuple of int
        Shape of the output.
    amplitudes : sequence of Quantity
        The amplitude of each step (one dimension for all).
    step_times : sequence of Quantity (time)
        When each amplitude begins.
    name : str, optional
        Name of the module.

    Examples
    --------
    >>> import brainstate, saiunit as u, lapicque
    >>> brainstate.environ.set(dt=0.1 * u.ms)
    >>> inp = lapicque.StepInput(1, [5., 10.] * u.pA, [0.2, 0.5] * u.ms)
    >>> vals = []
    >>> for i in range(7):
    ...     with brainstate.environ.context(i=i):
    ...         vals.append(float(inp.update()[0].to_decimal(u.pA)))
    >>> vals
    [0.0, 0.0, 5.0, 5.0, 5.0, 10.0, 10.0]
    """

    __module__ = "lapicque"

    def __init__(self, in_size, amplitudes, step_times, name: Optional[str] = None):
        super().__init__(in_size, name)
        owner = type(self).__name__
        amplitudes = _sequence(owner, "amplitudes", amplitudes, _ANY)
        step_times = _sequence(owner, "step_times", step_times, _TIME)
        if u.math.shape(amplitudes)[0] != u.math.shape(step_times)[0]:
            raise ParameterError(f"{owner}: amplitudes and step_times must have the same length; got "
                                 f"{u.math.shape(amplitudes)[0]} and {u.math.shape(step_times)[0]}.")
        ms, eps = _grid_times(step_times)
        order = np.argsort(ms, kind="stable")
        self.amplitudes, self.step_times = amplitudes[order], step_times[order]
        self._grid = {"step_times": (ms[order], eps)}

    def update(self):
        """This step's value."""
        i, dt = current_step(type(self).__name__)
        (k,) = self._window_steps(dt, "step_times")
        which = jnp.sum(i >= jnp.asarray(k)) - 1
        mag, unit = _split(self.amplitudes)
        value = jnp.where(which >= 0, mag[jnp.clip(which, 0, mag.shape[0] - 1)], 0.)
        return _out(value, self.varshape, unit)


class SectionInput(_Analog):
    r"""Sections one after the other: ``values[k]`` for ``durations[k]``, zero after the last.

    .. math::  I(t_i) = v_k \quad\text{for}\quad D_{k-1} \le t_i < D_k,\qquad D_k = \sum_{j \le k} d_j

    and zero for :math:`t_i \ge D_K` (the total duration).

    Parameters
    ----------
    in_size : int or tuple of int
        Shape of the output.
    values : sequence of Quantity
        The value of each section (one dimension for all).
    durations : sequence of Quantity (time)
        The length of each section (>= 0).
    name : str, optional
        Name of the module.

    Examples
    --------
    >>> import brainstate, saiunit as u, lapicque
    >>> brainstate.environ.set(dt=0.1 * u.ms)
    >>> inp = lapicque.SectionInput(1, [1., 2.] * u.nA, [0.2, 0.3] * u.ms)
    >>> vals = []
    >>> for i in range(6):
    ...     with brainstate.environ.context(i=i):
    ...         vals.append(float(inp.update()[0].to_decimal(u.nA)))
    >>> vals
    [1.0, 1.0, 2.0, 2.0, 2.0, 0.0]
    """

    __module__ = "lapicque"

    def __init__(self, in_size, values, durations, name: Optional[str] = None):
        super().__init__(in_size, name)
        owner = type(self).__name__
        self.values = _sequence(owner, "values", values, _ANY)
        self.durations = _sequence(owner, "durations", durations, _DURATION)
        if u.math.shape(self.values)[0] != u.math.shape(self.durations)[0]:
            raise ParameterError(f"{owner}: values and durations must have the same length; got "
                                 f"{u.math.shape(self.values)[0]} and {u.math.shape(self.durations)[0]}.")
        ms, eps = _grid_times(self.durations)
        self._grid = {"ends": (np.cumsum(ms, axis=0), eps)}

    def update(self):
        """This step's value."""
        i, dt = current_step(type(self).__name__)
        (k,) = self._window_steps(dt, "ends")
        which = jnp.sum(i >= jnp.asarray(k))
        mag, unit = _split(self.values)
        value = jnp.where(which < mag.shape[0], mag[jnp.clip(which, 0, mag.shape[0] - 1)], 0.)
        return _out(value, self.varshape, unit)


class RampInput(_Analog):
    r"""A linear ramp from ``c_start`` to ``c_end`` during :math:`[t_0, t_0 + \text{duration})`.

    .. math::  I(t_i) = c_\text{start} + (c_\text{end} - c_\text{start})\,\frac{t_i - t_0}{\text{duration}}
               \quad\text{for}\quad t_0 \le t_i < t_0 + \text{duration}

    and zero outside (``c_end`` itself is never reached: the window is open on the right).

    Parameters
    ----------
    in_size : int or tuple of int
        Shape of the output.
    c_start, c_end : Quantity
        Values at the start and (just after) the end of the ramp (one dimension).
    duration : Quantity (time)
        Length of the ramp (> 0).
    t_start : Quantity (time), optional
        When the ramp starts (default 0 ms).
    name : str, optional
        Name of the module.

    Examples
    --------
    >>> import brainstate, saiunit as u, lapicque
    >>> brainstate.environ.set(dt=0.1 * u.ms)
    >>> inp = lapicque.RampInput(1, 0. * u.nA, 10. * u.nA, duration=0.4 * u.ms, t_start=0.1 * u.ms)
    >>> vals = []
    >>> for i in range(7):
    ...     with brainstate.environ.context(i=i):
    ...         vals.append(round(float(inp.update()[0].to_decimal(u.nA)), 4))
    >>> vals
    [0.0, 0.0, 2.5, 5.0, 7.5, 0.0, 0.0]
    """

    __module__ = "lapicque"
    _PARAMS = {"c_start": _ANY, "c_end": _ANY, "duration": _TAU, "t_start": _TIME}

    def __init__(self, in_size, c_start, c_end, duration, t_start=None, name: Optional[str] = None):
        super().__init__(in_size, name)
        self._set_params(c_start=c_start, c_end=c_end, duration=duration,
                         t_start=0. * u.ms if t_start is None else t_start)
        _in_unit_of(type(self).__name__, "c_end", self.c_end, "c_start", _split(self.c_start)[1])
        self._keep_times("t_start", "duration")
        (t0, e0), (length, e1) = self._grid["t_start"], self._grid["duration"]
        self._grid["t_end"] = (t0 + length, max(e0, e1))

    def update(self):
        """This step's value."""
        owner = type(self).__name__
        i, dt = current_step(owner)
        k0, k1 = self._window_steps(dt, "t_start", "t_end")
        c0, unit = _split(self.c_start)
        c1 = _in_unit_of(owner, "c_end", self.c_end, "c_start", unit)
        t0, length = self.t_start.to_decimal(u.ms), self.duration.to_decimal(u.ms)
        value = c0 + (c1 - c0) * (i * dt - t0) / length
        return _out(jnp.where(_window(i, k0, k1), value, 0.), self.varshape, unit)


class SinusoidalInput(_Analog):
    r"""A sine wave during :math:`[0, \text{duration})`, zero afterwards.

    .. math::  I(t_i) = A \sin(2\pi f t_i) + b \quad\text{for}\quad 0 \le t_i < \text{duration}

    Parameters
    ----------
    in_size : int or tuple of int
        Shape of the output.
    amplitude : Quantity
        :math:`A` (any dimension; a current to drive a neuron).
    frequency : Quantity (frequency)
        :math:`f`.
    duration : Quantity (time)
        Length of the window (>= 0).
    bias : Quantity, optional
        :math:`b`, with the dimension of ``amplitude`` (default 0).
    name : str, optional
        Name of the module.

    Examples
    --------
    >>> import brainstate, saiunit as u, lapicque
    >>> brainstate.environ.set(dt=0.25 * u.ms)
    >>> inp = lapicque.SinusoidalInput(1, 2. * u.nA, 1. * u.kHz, duration=1. * u.ms, bias=1. * u.nA)
    >>> vals = []
    >>> for i in range(5):
    ...     with brainstate.environ.context(i=i):
    ...         vals.append(round(float(inp.update()[0].to_decimal(u.nA)), 4))
    >>> vals
    [1.0, 3.0, 1.0, -1.0, 0.0]
    """

    __module__ = "lapicque"
    _PARAMS = {"amplitude": _ANY, "frequency": Param(u.Hz), "duration": _DURATION, "bias": _ANY}

    def __init__(self, in_size, amplitude, frequency, duration, bias=None, name: Optional[str] = None):
        super().__init__(in_size, name)
        amp_unit = _split(amplitude)[1]
        self._set_params(amplitude=amplitude, frequency=frequency, duration=duration,
                         bias=(0. if amp_unit is None else 0. * amp_unit) if bias is None else bias)
        _in_unit_of(type(self).__name__, "bias", self.bias, "amplitude", amp_unit)
        self._keep_times("duration")

    def update(self):
        """This step's value."""
        owner = type(self).__name__
        i, dt = current_step(owner)
        (k_end,) = self._window_steps(dt, "duration")
        amp, unit = _split(self.amplitude)
        bias = _in_unit_of(owner, "bias", self.bias, "amplitude", unit)
        f_per_ms = self._p("frequency") * 1e-3
        value = amp * jnp.sin(2. * jnp.pi * f_per_ms * (i * dt)) + bias
        return _out(jnp.where(_window(i, 0, k_end), value, 0.), self.varshape, unit)


# ----------------------------------------------------------------------------------------------
# noise
# ----------------------------------------------------------------------------------------------
class WienerProcessInput(_Analog):
    r"""White noise: the increments of a Wiener process, :math:`\sigma\sqrt{\Delta t}\,\xi_i` per step.

    .. math::  I(t_i) = \sigma \sqrt{\Delta t / \mathrm{ms}}\;\xi_i,\qquad \xi_i \sim \mathcal N(0, 1)
               \text{ i.i.d.}

    during :math:`[0, \text{duration})`, zero afterwards: mean 0, variance
    :math:`\sigma^2 \Delta t/\mathrm{ms}`, no correlation between steps, and the running sum
    :math:`\sum_{j \le i} I(t_j)` is a Wiener process of variance :math:`\sigma^2 t/\mathrm{ms}`.
    One ``brainstate.random.randn`` of the group's shape is drawn every step (also outside the
    window, as the reference does).

    Parameters
    ----------
    in_size : int or tuple of int
        Number (shape) of independent channels.
    sigma : Quantity
        Noise amplitude per square root of a millisecond (>= 0; a current to drive a neuron).
    duration : Quantity (time)
        Length of the window (>= 0).
    name : str, optional
        Name of the module.

    Examples
    --------
    >>> import brainstate, saiunit as u, lapicque
    >>> brainstate.environ.set(dt=0.1 * u.ms)
    >>> brainstate.random.seed(0)
    >>> noise = lapicque.WienerProcessInput(100000, 2. * u.nA, duration=1. * u.ms)
    >>> with brainstate.environ.context(i=0):
    ...     x = noise.update().to_decimal(u.nA)
    >>> round(float(x.std()), 2)             # 2 * sqrt(0.1)
    0.63
    """

    __module__ = "lapicque"
    _PARAMS = {"sigma": _SCALE, "duration": _DURATION}

    def __init__(self, in_size, sigma, duration, name: Optional[str] = None):
        super().__init__(in_size, name)
        self._set_params(sigma=sigma, duration=duration)
        self._keep_times("duration")

    def update(self):
        """This step's noise."""
        i, dt = current_step(type(self).__name__)
        (k_end,) = self._window_steps(dt, "duration")
        sigma, unit = _split(self.sigma)
        xi = brainstate.random.randn(*self.varshape)
        return _out(jnp.where(_window(i, 0, k_end), sigma * jnp.sqrt(dt) * xi, 0.), self.varshape, unit)


class OUProcessInput(_Analog):
    r"""Ornstein-Uhlenbeck (coloured) noise, advanced with its exact transition.

    .. math::  dx = \frac{\mu - x}{\tau}\,dt + \sigma\,dW

    (:math:`\sigma` per :math:`\sqrt{\mathrm{ms}}`), starting at :math:`x = \mu`.  Each step
    within :math:`[0, \text{duration})`

    .. math::  x_{i+1} = \mu + (x_i - \mu)\,a + \sigma \sqrt{\tau (1 - a^2)/2}\;\xi_i,\qquad
               a = e^{-\Delta t/\tau},\ \xi_i \sim \mathcal N(0, 1),

    which is exact for any ``dt``: :math:`E[x_i] = \mu`, :math:`\mathrm{Var}[x_i] =
    \frac{\sigma^2 \tau}{2}(1 - a^{2i})` (stationary variance :math:`\sigma^2\tau/2`) and
    :math:`\mathrm{Corr}[x_i, x_{i+k}] \to e^{-k\Delta t/\tau}`.  :meth:`update` returns the new
    ``x`` inside the window, zero outside (where ``x`` is held).  The reference takes an
    Euler-Maruyama step (:math:`a \approx 1 - \Delta t/\tau`, noise :math:`\sigma\sqrt{\Delta t}`),
    whose stationary variance is :math:`\sigma^2\tau/(2 - \Delta t/\tau)`; the two agree to
    :math:`O(\Delta t/\tau)` (0.5 % at dt = 0.1 ms, tau = 10 ms).

    Parameters
    ----------
    in_size : int or tuple of int
        Number (shape) of independent channels.
    mean : Quantity
        :math:`\mu`, the mean and the initial value (a current to drive a neuron).
    sigma : Quantity
        :math:`\sigma`, with the dimension of ``mean`` (>= 0), per square root of a millisecond.
    tau : Quantity (time)
        :math:`\tau` (> 0).
    duration : Quantity (time)
        Length of the window (>= 0).
    name : str, optional
        Name of the module.

    Examples
    --------
    >>> import brainstate, saiunit as u, lapicque
    >>> brainstate.environ.set(dt=0.1 * u.ms)
    >>> brainstate.random.seed(0)
    >>> ou = lapicque.OUProcessInput(20000, 1. * u.nA, 0.5 * u.nA, tau=2. * u.ms, duration=100. * u.ms)
    >>> ou.init_state()
    >>> for i in range(200):                      # 10 time constants: stationary
    ...     with brainstate.environ.context(i=i):
    ...         x = ou.update()
    >>> round(float(x.mean().to_decimal(u.nA)), 2), round(float(x.std().to_decimal(u.nA)), 2)  # 1, 0.5
    (1.0, 0.5)
    """

    __module__ = "lapicque"
    _PARAMS = {"mean": _ANY, "sigma": _SCALE, "tau": _TAU, "duration": _DURATION}
    _STATES = {"x": StateSpec(ANY_UNIT, "mean")}

    def __init__(self, in_size, mean, sigma, tau, duration, name: Optional[str] = None):
        super().__init__(in_size, name)
        self._set_params(mean=mean, sigma=sigma, tau=tau, duration=duration)
        _in_unit_of(type(self).__name__, "sigma", self.sigma, "mean", _split(self.mean)[1])
        self._keep_times("duration")

    def update(self):
        """Advance ``x`` by one step (inside the window) and return this step's value."""
        owner = type(self).__name__
        i, dt = current_step(owner)
        (k_end,) = self._window_steps(dt, "duration")
        x = self.x.value
        mu, unit = _split(self.mean)
        sigma = _in_unit_of(owner, "sigma", self.sigma, "mean", unit)
        x_m = jnp.asarray(u.get_mantissa(x)) if unit is None else jnp.asarray(u.Quantity(x).to_decimal(unit))
        tau = self._p("tau")
        a = jnp.exp(-dt / tau)
        spread = sigma * jnp.sqrt(-0.5 * tau * jnp.expm1(-2. * dt / tau))
        xi = brainstate.random.randn(*x_m.shape)
        on = _window(i, 0, k_end)
        x_new = jnp.where(on, mu + (x_m - mu) * a + spread * xi, x_m).astype(brainstate.environ.dftype())
        self.x.value = x_new if unit is None else u.Quantity(x_new, unit=unit)
        return _out(jnp.where(on, x_new, 0.), x_new.shape, unit)


__test__ = {name: globals()[name] for name in __all__ if isinstance(globals()[name], type)}
__test__["grid_steps"] = grid_steps
