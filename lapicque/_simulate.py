r"""Run a neuron model over time in one compiled loop and record what was asked for.

:func:`simulate` is the one entry point: it initializes the model's state,
sets ``dt``, ``t`` and ``i`` in :mod:`brainstate.environ` itself and runs the
whole duration inside a single ``jax.jit``-compiled scan
(:func:`brainstate.transform.for_loop`).  It returns a
:class:`SimulationResult` with the spikes, the requested state traces (with
units), the time axes and the model (holding its final state).

Time convention
---------------
Step ``i`` (``i = 0 .. n_steps - 1``) runs with ``t = t0 + i * dt`` in the
environment, and the state *after* it represents time ``t0 + (i + 1) * dt``.
A spike returned by step ``i`` therefore has the time ``t0 + (i + 1) * dt``,
and a trace sample taken after step ``i`` belongs to the same time.  (The
``last_spike_time`` state of the ``*Ref`` models stores the ``t`` of the step
in which the spike was detected, i.e. ``t0 + i * dt``, as the reference
implementation does: one ``dt`` earlier than the spike times reported here.)

Memory
------
What a run *stores* per step dominates both its speed and its memory:

* spikes are stored as bits (``jnp.packbits`` inside the loop: one bit per
  neuron and step, 125 MB for 10^5 neurons over 10^4 steps) and unpacked only
  when :meth:`SimulationResult.spike_raster` is called; spike times are extracted in
  chunks without ever forming the full boolean array;
* ``spikes='count'`` keeps no per-step spike data at all, only the per-neuron
  count and first/last spike steps (what rates and f-I curves need);
* traces are recorded only for the variables named in ``record``, and with
  ``record_every=k`` the loop is a nested scan (outer over blocks of ``k``
  steps, inner over the ``k`` steps) so only every ``k``-th sample is ever
  stored.

Several devices
---------------
``simulate(..., devices=4)`` (or a device list, or a
:class:`jax.sharding.Mesh`) cuts the population along its neuron axis across
the devices and runs the same loop on each block, with no communication
during the run; see :mod:`lapicque.sharding`.
"""

from __future__ import annotations

import hashlib
import math
import numbers
import sys
import time as _time
import weakref
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import brainstate
import jax
import jax.numpy as jnp
import numpy as np
import saiunit as u

from . import sharding as _sharding
from ._result import SimulationResult

__all__ = ["simulate", "SimulationResult"]

#: runs estimated to take longer than this (seconds) show a progress bar by default
_PROGRESS_AFTER_S = 3.0


# --------------------------------------------------------------------------
# small helpers
# --------------------------------------------------------------------------
def _empty_traces(model, record) -> Dict[str, Any]:
    """Zero-length traces (a run shorter than one recording block) with the states' units."""
    traces = {}
    for name in record:
        m, unit = _mantissa_and_unit(getattr(model, name).value)
        traces[name] = _wrap(np.zeros((0,) + tuple(np.shape(m)), dtype=np.asarray(m).dtype), unit)
    return traces


def _require_dim(value, unit, no_unit_msg: str, wrong_dim_msg: str):
    """TypeError (prefixed 'simulate: ') unless ``value`` is a quantity with ``unit``'s dimension."""
    if not isinstance(value, u.Quantity) or value.is_unitless:
        raise TypeError("simulate: " + no_unit_msg)
    if not u.have_same_dim(value, unit):
        raise TypeError("simulate: " + wrong_dim_msg)


def _check_time(value, what: str, positive: bool = True, allow_zero: bool = False) -> float:
    """Return ``value`` in ms as a python float; clear errors for bad input."""
    _require_dim(value, u.ms,
                 f"{what} must be a time quantity such as 100 * u.ms; got {value!r}. "
                 f"lapicque does not guess units (import saiunit as u).",
                 f"{what} must be a time quantity such as 100 * u.ms; got {value} (wrong physical dimension).")
    arr = np.asarray(value.to_decimal(u.ms), dtype=np.float64)
    if arr.size != 1:
        raise ValueError(f"simulate: {what} must be a scalar; got shape {arr.shape}.")
    ms = float(arr.reshape(()))
    if not math.isfinite(ms):
        raise ValueError(f"simulate: {what} must be finite; got {value}.")
    if positive and (ms < 0 or (ms == 0 and not allow_zero)):
        raise ValueError(f"simulate: {what} must be {'>= 0' if allow_zero else '> 0'}; got {value}.")
    return ms


def _n_steps(duration_ms: float, dt_ms: float) -> int:
    n = duration_ms / dt_ms
    steps = int(round(n))
    if steps < 1:
        raise ValueError(
            f"simulate: duration ({duration_ms} ms) is shorter than one time step (dt = {dt_ms} ms)."
        )
    if abs(n - steps) > 1e-6 * max(1.0, n):
        raise ValueError(
            f"simulate: duration ({duration_ms} ms) is not a whole number of time steps (dt = {dt_ms} ms): "
            f"{n:.6g} steps."
        )
    return steps


def _broadcasts(shape, target) -> bool:
    try:
        return tuple(np.broadcast_shapes(tuple(shape), tuple(target))) == tuple(target)
    except ValueError:
        return False


def _state_shape(model) -> Tuple[int, ...]:
    V = getattr(model, "V", None)
    if isinstance(V, brainstate.State):
        return tuple(np.shape(V.value))
    for name in getattr(model, "_STATES", {}):
        st = getattr(model, name, None)
        if isinstance(st, brainstate.State):
            return tuple(np.shape(st.value))
    raise ValueError(f"simulate: cannot tell the state shape of {type(model).__name__}; "
                     f"it has no state 'V' after init_state().")


def _recordable(model) -> List[str]:
    names = []
    for name, value in vars(model).items():
        if isinstance(value, brainstate.State) and not name.startswith("_"):
            names.append(name)
    return sorted(names)


def _mantissa_and_unit(value):
    if isinstance(value, u.Quantity):
        return value.mantissa, value.unit
    return value, None


def _wrap(arr, unit):
    arr = np.asarray(arr)
    if unit is None or unit.is_unitless:
        return arr
    return u.Quantity(arr, unit=unit)


# --------------------------------------------------------------------------
# the progress bar
# --------------------------------------------------------------------------
class _Progress:
    """A tqdm bar (or a plain-text fallback) advanced from inside the jitted loop.

    The loop calls :meth:`hook` with the global step index every step; a
    ``lax.cond`` fires a host callback only every ``freq`` steps, so the cost
    is one integer comparison per step.
    """

    def __init__(self, n_steps: int, desc: str, file=None):
        self.n = n_steps
        self.freq = max(1, n_steps // 100)
        self.desc = desc
        self.file = file if file is not None else sys.stderr
        self.bar = None
        self._done = 0
        self._t_start = None
        self._last_print = -1.0

    def _open(self):
        try:
            from tqdm.auto import tqdm
            self.bar = tqdm(total=self.n, desc=self.desc, unit="step", file=self.file, leave=True,
                            dynamic_ncols=True, mininterval=0.5)
        except ImportError:  # pragma: no cover - tqdm is optional
            self.bar = None
        self._t_start = _time.monotonic()

    def _advance(self, i):
        done = min(int(i) + 1, self.n)
        if done <= self._done:
            return
        if self._t_start is None:
            self._open()
        if self.bar is not None:
            self.bar.update(done - self._done)
        else:  # pragma: no cover - only without tqdm
            now = _time.monotonic() - self._t_start
            if now - self._last_print >= 1.0 or done == self.n:
                self._last_print = now
                print(f"{self.desc}: {100 * done // self.n:3d}% ({done}/{self.n} steps, {now:.1f} s)",
                      file=self.file, flush=True)
        self._done = done

    def hook(self, i, target=None):
        """Fire ``(target or self)._advance`` every ``freq`` steps from inside the loop."""
        freq, n = self.freq, self.n
        sink = self if target is None else target
        fire = jnp.logical_or(i % freq == freq - 1, i == n - 1)
        jax.lax.cond(fire, lambda j: jax.debug.callback(sink._advance, j), lambda j: None, i)


    def close(self, completed: bool = True):
        if self._t_start is None:
            if not completed:
                return
            self._open()
        if completed and self._done < self.n:
            self._advance(self.n - 1)
        if self.bar is not None:
            self.bar.close()


class _ProgressSink:
    """Forwards the loop's progress callbacks to the bar of the call in flight.

    A compiled loop is cached across ``simulate`` calls (see :func:`_cache_key`),
    so its host callback must not be bound to one call's bar.
    """

    def __init__(self):
        self.bar = None

    def _advance(self, i):
        if self.bar is not None:
            self.bar._advance(i)

#: compiled loops by model (weakly) and run configuration; see :func:`_cache_key`
_COMPILED: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()
#: most configurations kept per model
_CACHE_PER_MODEL = 8


def _fingerprint(value):
    """A hashable summary of a parameter or input value (exact for arrays)."""
    if isinstance(value, brainstate.State):
        return ("state", id(value))  # trainable parameter: read at trace time -> identity
    if callable(value):
        return ("fn", id(value))
    try:
        arr = np.asarray(u.get_mantissa(value))
        unit = str(u.get_unit(value))
    except Exception:
        return ("obj", id(value))
    return (unit, arr.dtype.str, arr.shape, hashlib.sha1(np.ascontiguousarray(arr).tobytes()).hexdigest())


def _cache_key(model, config):
    """Everything the compiled loop bakes in: run config, parameters, state layout, inputs.

    Returns None when the run must not be cached (a registered plain input
    is consumed while tracing, so it must be traced again).
    """
    regs = []
    for reg in (getattr(model, "_current_inputs", None), getattr(model, "_delta_inputs", None)):
        reg = reg or {}
        if any(not callable(v) for v in reg.values()):
            return None
        regs.append(tuple((k, id(v)) for k, v in reg.items()))
    params = tuple((name, _fingerprint(getattr(model, name)))
                   for name in getattr(model, "_PARAMS", {}) if hasattr(model, name))
    try:
        states = tuple((path, id(st), tuple(jnp.shape(u.get_mantissa(st.value))),
                        str(jnp.result_type(u.get_mantissa(st.value))))
                       for path, st in model.states().items())
    except Exception:
        return None
    flags = (getattr(model, "spk_reset", None), id(getattr(model, "spk_fun", None)))
    env = (brainstate.environ.get("precision", 32),)
    return (type(model), config, params, states, tuple(regs), flags, env)


def _init_or_reset(model, batch_size):
    """Initial state values, keeping the existing State objects when the layout is unchanged.

    Keeping the objects lets a cached compiled loop (which reads and writes
    those objects) be reused; a new layout creates new states via ``init_state``.
    """
    want = (tuple(model.varshape) if batch_size is None else (batch_size,) + tuple(model.varshape)) \
        if hasattr(model, "varshape") else None
    V = getattr(model, "V", None)
    if (want is not None and isinstance(V, brainstate.State) and hasattr(model, "reset_state")
            and tuple(jnp.shape(u.get_mantissa(V.value))) == want):
        model.reset_state(batch_size)
    else:
        model.init_state(batch_size)


def _want_progress(progress, n_steps: int, n_neurons: int) -> bool:
    if progress is None:
        # rough CPU estimate: ~3e8 neuron-updates/s plus ~0.2 us per step
        estimate = n_steps * n_neurons / 3e8 + n_steps * 2e-7
        return estimate > _PROGRESS_AFTER_S
    return bool(progress)


# --------------------------------------------------------------------------
# the input current
# --------------------------------------------------------------------------
def _prepare_current(current, n_steps: int, shape, time_varying: Optional[bool]):
    """Classify ``current``: ('fn', f) | ('const', Quantity) | ('series', Quantity)."""
    if callable(current) and not isinstance(current, (u.Quantity, np.ndarray, jax.Array)):
        return "fn", current
    _require_dim(current, u.mA,
                 f"current must be a current quantity (e.g. 5 * u.mA), an array of currents over time "
                 f"with units, or a function of time returning one; got {current!r}.",
                 f"current must have units of current (e.g. 5 * u.mA); got unit "
                 f"{getattr(current, 'unit', None)}.")
    cshape = tuple(np.shape(current.mantissa))
    as_const = _broadcasts(cshape, shape)
    as_series = len(cshape) >= 1 and cshape[0] == n_steps and _broadcasts(cshape[1:], shape)
    if time_varying is None:
        if as_const and as_series and len(cshape) >= 1 and cshape[0] != 1:
            raise ValueError(
                f"simulate: the current of shape {cshape} could be one value per neuron (state shape {shape}) "
                f"or one value per time step ({n_steps} steps); pass time_varying=True or False."
            )
        time_varying = as_series and not as_const
    if time_varying:
        if not as_series:
            raise ValueError(
                f"simulate: a current over time needs shape ({n_steps}, ...) with the rest broadcastable to the "
                f"state shape {shape}; got {cshape}."
            )
        return "series", current
    if not as_const:
        raise ValueError(
            f"simulate: the current has shape {cshape}, which neither broadcasts to the state shape {shape} "
            f"nor has one row per time step ({n_steps} steps)."
        )
    return "const", current


# --------------------------------------------------------------------------
# simulate
# --------------------------------------------------------------------------
def simulate(
    model,
    current,
    duration,
    dt=0.1 * u.ms,
    record: Union[str, Sequence[str]] = ("spike",),
    *,
    record_every: int = 1,
    spikes: str = "dense",
    count_from=None,
    batch_size: Optional[int] = None,
    init: bool = True,
    t0=0. * u.ms,
    time_varying: Optional[bool] = None,
    progress: Optional[bool] = None,
    devices=None,
    _compile_only: bool = False,
) -> SimulationResult:
    r"""Run ``model`` for ``duration`` in one compiled loop and record spikes and traces.

    Parameters
    ----------
    model : Neuron
        Any lapicque (or ``brainpy.state``-style) neuron group.
    current : Quantity or callable
        The external input current, one of

        * a constant: a current quantity broadcastable to the state shape
          (e.g. ``5 * u.mA`` or one value per neuron);
        * an array over time: shape ``(n_steps, ...)`` with the rest
          broadcastable to the state shape; row ``i`` drives step ``i``;
        * a function of time ``f(t) -> current``, called inside the compiled
          loop with ``t = t0 + i * dt`` (a traced Quantity; ``i`` is also
          available as ``brainstate.environ.get('i')``), e.g.
          ``lambda t: 2 * u.mA * (t > 10 * u.ms)``.
    duration : Quantity[time]
        Length of the run (> 0, a whole number of steps).
    dt : Quantity[time], default 0.1 ms
        Time step (set in ``brainstate.environ`` for the run).
    record : str or sequence of str, default ``('spike',)``
        State variables to record besides the spikes (which are always
        recorded), e.g. ``('V', 'w')``; ``'spike'`` may be listed and is
        ignored.  Naming a variable the model lacks is a ``ValueError``.
    record_every : int, default 1
        Keep only every ``k``-th trace sample (the states after steps
        ``k-1, 2k-1, ...``).  Spikes are always kept at every step.
    spikes : {'dense', 'count'}, default 'dense'
        ``'dense'`` keeps every spike (as bits inside the loop: 1 bit per
        neuron and step); ``'count'`` keeps only each neuron's spike count and
        first/last spike step (no per-step storage at all).
    count_from : Quantity[time], optional
        With ``spikes='count'``: count only spikes later than ``count_from``
        after the start of the run (to skip a transient).
    batch_size : int, optional
        Leading batch axis of the state (passed to ``init_state``).
    init : bool, default True
        Call ``model.init_state(batch_size)`` first; ``False`` continues from
        the model's current state (pass ``t0=previous.t_end``).
    t0 : Quantity[time], default 0 ms
        Time at the start of the run.
    time_varying : bool, optional
        Whether an array ``current`` is over time.  By default it is inferred
        from its shape; an ambiguous shape (e.g. ``(n,)`` with ``n`` steps and
        ``n`` neurons) must be told.
    progress : bool, optional
        Show a progress bar (tqdm if installed).  By default shown only for
        runs estimated to take longer than a few seconds.
    devices : int, sequence of jax.Device, or jax.sharding.Mesh, optional
        Run on several devices (see :mod:`lapicque.sharding`): ``k`` takes
        the first ``k`` of :func:`jax.devices` (every process' devices after
        :func:`jax.distributed.initialize`), a list takes those devices, and a
        ``Mesh`` with axes named ``'neuron'`` and/or ``'batch'`` cuts those
        axes of the state.  Every state variable, per-neuron parameter and
        input current is split along the neuron axis (and batch axis) across
        the devices; sizes the devices do not divide are padded and the
        padding is cut off again.  The compiled loop moves no data between
        devices; only what is recorded is gathered to the host.  Spikes equal
        those of the single-device run, traces agree to float32 rounding.

    Returns
    -------
    SimulationResult
        ``times``, ``spike_events`` / ``spike_times`` / ``spike_count`` / ``spike_raster()``,
        ``traces`` (Quantities), ``trace_times`` and the ``model``.

    Notes
    -----
    Step ``i`` runs with ``t = t0 + i * dt``; its result (spikes and states)
    represents time ``t0 + (i + 1) * dt``.  The whole run is one call of a
    jitted function: the time loop is ``brainstate.transform.for_loop``
    (``jax.lax.scan``), nested (blocks of ``record_every`` steps) when traces
    are decimated.  Spikes are stored as ``bool`` bits, so these runs do not
    carry surrogate gradients; write your own loop to train.

    Examples
    --------
    >>> import saiunit as u, lapicque
    >>> lif = lapicque.LIF(3, tau=10 * u.ms)
    >>> res = lapicque.simulate(lif, [1.0, 1.5, 2.0] * u.mA, 100 * u.ms, record=("V",), record_every=10)
    >>> res.spike_count
    array([ 0,  9, 14])
    >>> res.traces["V"].shape
    (100, 3)
    >>> print(res.trace_times[:3])
    [1. 2. 3.] ms

    A current that is a function of time, and a refractory model:

    >>> res = lapicque.simulate(lapicque.LIFRef(1), lambda t: 5 * u.mA * (t >= 50 * u.ms), 100 * u.ms)
    >>> print(res.spike_times[0][:2])
    [51.2 57.2] ms
    """
    if not isinstance(model, brainstate.nn.Module):
        raise TypeError(f"simulate: model must be a neuron group such as lapicque.LIF(10); got {model!r}.")
    dt_ms = _check_time(dt, "dt")
    duration_ms = _check_time(duration, "duration")
    t0_ms = _check_time(t0, "t0", positive=False)
    n_steps = _n_steps(duration_ms, dt_ms)
    if (not isinstance(record_every, (numbers.Integral, np.integer)) or isinstance(record_every, bool)
            or record_every < 1):
        raise ValueError(f"simulate: record_every must be a positive int; got {record_every!r}.")
    record_every = int(record_every)
    if spikes not in ("dense", "count"):
        raise ValueError(f"simulate: spikes must be 'dense' or 'count'; got {spikes!r}.")
    if isinstance(record, str):
        record = (record,)
    record = tuple(dict.fromkeys(r for r in record if r not in ("spike", "spikes")))
    count_from_step = 0
    if count_from is not None:
        if spikes != "count":
            raise ValueError("simulate: count_from only applies with spikes='count'.")
        count_from_step = int(round(_check_time(count_from, "count_from", allow_zero=True) / dt_ms))
        if count_from_step >= n_steps:
            raise ValueError(f"simulate: count_from ({count_from}) must be shorter than the duration ({duration}).")

    mesh = None if devices is None else _sharding.make_mesh(devices)

    dt_q = dt_ms * u.ms
    with brainstate.environ.context(dt=dt_q):
        if init:
            if mesh is not None:
                with _sharding.host_default_device():  # the whole initial state never sits on one accelerator
                    model.init_state(batch_size)
            else:
                _init_or_reset(model, batch_size)
        elif batch_size is not None:
            raise ValueError("simulate: batch_size only applies with init=True.")
        available = _recordable(model)
        missing = [r for r in record if r not in available]
        if missing:
            raise ValueError(
                f"simulate: {type(model).__name__} has no state variable {', '.join(map(repr, missing))} to record; "
                f"it has: {', '.join(available)} (and 'spike')."
            )
        shape = _state_shape(model)
        M = int(np.prod(shape, dtype=np.int64))
        kind, cur = _prepare_current(current, n_steps, shape, time_varying)
        plan = None
        if mesh is not None:
            plan = _sharding.ShardPlan(mesh, shape, _is_batched(model, shape, batch_size if init else None))
        pbar = _Progress(n_steps, f"{type(model).__name__} ({M} neurons)") \
            if _want_progress(progress, n_steps, M) else None
        # sharded runs pack spike bits along the last axis (each device packs its own neurons)
        packed = plan is not None or (spikes == "dense" and M >= 64)
        lshape = plan.padded if plan is not None else shape  # the state shape inside the loop

        k = record_every if record else n_steps  # without traces: one block = whole run
        n_blocks, rem = divmod(n_steps, k)
        # compiled loops are reused when nothing they bake in has changed (unsharded runs)
        key = None if (plan is not None or _compile_only) else _cache_key(model, (
            n_steps, dt_ms, t0_ms, record, record_every, spikes, count_from_step, kind,
            _fingerprint(cur) if kind == "fn" else (tuple(np.shape(cur)), kind), pbar is not None, packed))
        cached = _COMPILED.get(model, {}).get(key) if key is not None else None
        sink = cached["sink"] if cached is not None else _ProgressSink()
        sink.bar = pbar
        count_state = None
        if cached is not None:
            count_state = cached["count_state"]
            if count_state is not None:
                for st, v in zip(count_state, (0, -1, -1)):
                    st.value = jnp.full(M, v, jnp.int32)
        elif spikes == "count":
            if plan is None:
                count_state = (brainstate.ShortTermState(jnp.zeros(M, jnp.int32)),
                               brainstate.ShortTermState(jnp.full(M, -1, jnp.int32)),
                               brainstate.ShortTermState(jnp.full(M, -1, jnp.int32)))
            else:
                count_state = tuple(brainstate.ShortTermState(plan.place(np.full(lshape, v, np.int32)))
                                    for v in (0, -1, -1))
        units: Dict[str, Any] = {} if cached is None else cached["units"]

        placed_states: List[Any] = []  # states laid out across the devices (cut back after the run)
        params: Dict[str, Any] = {}  # per-neuron arrays of the model, passed in sharded

        def step(i, x):
            # x: this step's row of a current over time, or the constant current (traced, not a constant)
            t = t0_ms * u.ms + i.astype(brainstate.environ.dftype()) * dt_q
            with brainstate.environ.context(t=t, i=i):
                inp = cur(t) if kind == "fn" else x
                if plan is not None and kind == "fn" and plan.is_padded:
                    inp = _tree_map(plan.pad_traced, inp)
                spk = model.update(inp)
            if pbar is not None:
                pbar.hook(i, target=sink)
            if plan is not None:
                for st in placed_states:
                    st.value = _tree_map(plan.constrain, st.value)
                s = jnp.reshape(jnp.asarray(u.get_mantissa(spk)) > 0.5, lshape)
            else:
                s = jnp.reshape(jnp.asarray(u.get_mantissa(spk)) > 0.5, (M,))
            if spikes == "count":
                cnt, first, last = count_state
                s = jnp.logical_and(s, i >= count_from_step)
                cnt.value = cnt.value + s.astype(jnp.int32)
                first.value = jnp.where(jnp.logical_and(s, first.value < 0), i, first.value)
                last.value = jnp.where(s, i, last.value)
                if plan is not None:
                    for c in count_state:
                        c.value = plan.constrain(c.value)
                return None
            if plan is not None:
                if plan.padded[-1] != plan.shape[-1]:  # padded neurons never spike (an iota, not a constant)
                    s = jnp.logical_and(s, jnp.arange(plan.padded[-1]) < plan.shape[-1])
                return plan.packed_constrain(jnp.packbits(s, axis=-1))
            return jnp.packbits(s) if packed else s

        def run_steps(steps, xs, const):
            if kind == "series":
                return brainstate.transform.for_loop(step, steps, xs)
            return brainstate.transform.for_loop(lambda i: step(i, const), steps)

        def snapshot():
            out = {}
            for name in record:
                m, unit = _mantissa_and_unit(getattr(model, name).value)
                units[name] = unit
                out[name] = m if plan is None else plan.constrain(m)
            return out

        def block(steps, xs, const):
            spk = run_steps(steps, xs, const)
            return spk, snapshot()

        def run(cur_arg, param_args):
            saved = {name: getattr(model, name) for name in param_args}
            for name, value in param_args.items():  # the model reads its parameters from these (sharded) arguments
                setattr(model, name, value)
            try:
                series = cur_arg if kind == "series" else None
                const = cur_arg if kind == "const" else None
                idx = jnp.arange(n_steps, dtype=jnp.int32)
                outs = {}
                if n_blocks > 0:
                    steps = idx[:n_blocks * k].reshape(n_blocks, k)
                    if kind == "series":
                        xs = jax.tree.map(lambda a: a[:n_blocks * k].reshape((n_blocks, k) + a.shape[1:]), series)
                        spk, rec = brainstate.transform.for_loop(lambda s, x: block(s, x, None), steps, xs)
                    else:
                        spk, rec = brainstate.transform.for_loop(lambda s: block(s, None, const), steps)
                    outs["spk"] = spk
                    outs["rec"] = rec
                if rem > 0:
                    xs = None if kind != "series" else jax.tree.map(lambda a: a[n_blocks * k:], series)
                    outs["spk_rem"] = run_steps(idx[n_blocks * k:], xs, const)
                return outs
            finally:
                for name, value in saved.items():
                    setattr(model, name, value)

        try:
            if plan is not None:
                _place_states(model, plan, placed_states)
                params = _place_params(model, plan)
            cur_arg = None  # array currents enter the compiled loop as arguments, not as baked-in constants
            if kind != "fn":
                if plan is None:
                    cur_arg = u.Quantity(jnp.asarray(cur.to_decimal(u.mA), dtype=brainstate.environ.dftype()),
                                         unit=u.mA)
                else:
                    cur_arg = u.Quantity(plan.place(_host_or_global(cur.to_decimal(u.mA)),
                                                    lead=1 if kind == "series" else 0), unit=u.mA)
            if cached is not None:
                jitted = cached["jitted"]
            else:
                jitted = brainstate.transform.jit(run)
                if key is not None:
                    per_model = _COMPILED.setdefault(model, {})
                    if len(per_model) >= _CACHE_PER_MODEL:
                        per_model.pop(next(iter(per_model)))
                    per_model[key] = {"jitted": jitted, "count_state": count_state, "units": units, "sink": sink}
            if _compile_only:
                return jitted.compile(cur_arg, params).as_text()
            outs = jitted(cur_arg, params)
            outs = jax.block_until_ready(outs)
        except BaseException:
            if pbar is not None:
                pbar.close(completed=False)
            raise
        finally:
            for st in placed_states:  # cut the padding off again (unpadded values stay on the devices)
                st.value = _tree_map(plan.unpad_state, st.value)
        if pbar is not None:
            pbar.close()
        sink.bar = None

    if plan is not None:
        return _sharded_result(outs, plan, model=model, record=record, units=units, count_state=count_state,
                               n_blocks=n_blocks, dt_ms=dt_ms, t0_ms=t0_ms, n_steps=n_steps, shape=shape,
                               record_every=record_every, spikes=spikes, count_from_step=count_from_step)

    # ---------------------------------------------------------------- host side
    traces: Dict[str, Any] = {}
    if record and n_blocks > 0:
        for name in record:
            traces[name] = _wrap(outs["rec"][name], units.get(name))
    elif record:
        traces = _empty_traces(model, record)

    kwargs = dict(model=model, dt_ms=dt_ms, t0_ms=t0_ms, n_steps=n_steps, shape=shape, record_every=record_every,
                  traces=traces, spike_mode=spikes, count_from_step=count_from_step)
    if spikes == "count":
        cnt, first, last = count_state
        return SimulationResult(counts=np.asarray(cnt.value), first_step=np.asarray(first.value),
                                last_step=np.asarray(last.value), **kwargs)
    parts = []
    if "spk" in outs:
        a = np.asarray(outs["spk"])
        parts.append(a.reshape((-1,) + a.shape[2:]))
    if "spk_rem" in outs:
        parts.append(np.asarray(outs["spk_rem"]))
    raster = parts[0] if len(parts) == 1 else np.concatenate(parts, axis=0)
    if packed:
        return SimulationResult(packed=raster, **kwargs)
    return SimulationResult(dense=raster.reshape((n_steps,) + shape), **kwargs)


# --------------------------------------------------------------------------
# sharded runs (see lapicque.sharding)
# --------------------------------------------------------------------------
def _tree_map(fn, value):
    """Apply ``fn`` to the arrays of a state value (a Quantity keeps its unit)."""
    def leaf(x):
        if isinstance(x, u.Quantity):
            return u.Quantity(fn(x.mantissa), unit=x.unit)
        return fn(x)
    return jax.tree.map(leaf, value, is_leaf=lambda x: isinstance(x, u.Quantity))


def _host_or_global(x):
    """A numpy copy of ``x``, unless it is a global array spread over several processes."""
    if isinstance(x, jax.Array) and not x.is_fully_addressable:
        return x.astype(brainstate.environ.dftype())
    return np.asarray(x, dtype=brainstate.environ.dftype())


def _is_batched(model, shape, batch_size) -> bool:
    if batch_size is not None:
        return True
    varshape = getattr(model, "varshape", None)
    if varshape is None:
        return False
    return len(shape) > len(tuple(varshape))


def _place_states(model, plan, moved):
    """Lay every state of ``model`` out across the mesh (padded); appends the states moved to ``moved``."""
    for st in model.states().values():
        def put(x):
            if isinstance(x, (jax.Array, np.ndarray, np.generic, numbers.Number)):
                return plan.place(x)
            return x
        st.value = _tree_map(put, st.value)
        moved.append(st)


def _place_params(model, plan):
    """Per-neuron arrays the model keeps as public attributes (its parameters), laid out like the state."""
    out = {}
    for name, value in vars(model).items():
        if name.startswith("_") or isinstance(value, brainstate.State):
            continue
        if isinstance(value, u.Quantity):
            m, unit = value.mantissa, value.unit
        elif isinstance(value, jax.Array):
            m, unit = value, None
        else:
            continue
        if not isinstance(m, jax.Array) and not isinstance(m, np.ndarray):
            continue
        if np.ndim(m) == 0 or not plan.aligned(np.shape(m)):
            continue  # scalars and arrays not along the neurons stay constants (the same on every device)
        placed = plan.place(m)
        out[name] = placed if unit is None else u.Quantity(placed, unit=unit)
    return out


def _sharded_result(outs, plan, *, model, record, units, count_state, n_blocks, dt_ms, t0_ms, n_steps, shape,
                    record_every, spikes, count_from_step):
    """Gather what was recorded (only that) to the host, cut off the padding, build the result."""
    traces: Dict[str, Any] = {}
    if record and n_blocks > 0:
        for name in record:
            a = plan.gather(outs["rec"][name])
            traces[name] = _wrap(a[plan.unpad_index(a.ndim, lead=1)], units.get(name))
    elif record:
        traces = _empty_traces(model, record)
    kwargs = dict(model=model, dt_ms=dt_ms, t0_ms=t0_ms, n_steps=n_steps, shape=shape, record_every=record_every,
                  traces=traces, spike_mode=spikes, count_from_step=count_from_step)
    if spikes == "count":
        cnt, first, last = (plan.gather(c.value) for c in count_state)
        cut = plan.unpad_index(cnt.ndim)
        return SimulationResult(counts=cnt[cut], first_step=first[cut], last_step=last[cut], **kwargs)
    parts = []
    if "spk" in outs:
        a = plan.gather(outs["spk"])
        parts.append(a.reshape((-1,) + a.shape[2:]))
    if "spk_rem" in outs:
        parts.append(plan.gather(outs["spk_rem"]))
    raster = parts[0] if len(parts) == 1 else np.concatenate(parts, axis=0)
    raster = raster[plan.unpad_index(raster.ndim, lead=1, packed=True)]
    rows = int(np.prod(shape[:-1], dtype=np.int64))
    raster = np.ascontiguousarray(raster).reshape(n_steps, rows, raster.shape[-1])
    return SimulationResult(packed=raster, **kwargs)
