r"""Run a neuron group or a whole network over time in one compiled loop and record what was asked for.

:func:`simulate` is the one entry point: it initializes the module's states,
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

How the pieces fit
------------------
:mod:`lapicque._engine.args` checks the arguments; :mod:`lapicque._engine.tree` sees the
module as states, array parameters and structure; :mod:`lapicque._engine.loop`
writes the run as a pure function of arrays; :mod:`lapicque._engine.record` keeps
spikes and traces and builds the results; :mod:`lapicque._engine.layout` places
arrays on one device or across a mesh; :mod:`lapicque._engine.cache` keeps compiled
runs by structure.  This module puts them together.
"""

from __future__ import annotations

import numbers
import weakref
from typing import Optional, Sequence, Union

import brainstate
import jax
import jax.numpy as jnp
import numpy as np
import saiunit as u

from . import args as _args
from .._neurons.base import Neuron
from .cache import COMPILED
from .compile import compile_lowered
from .._core.errors import NonFiniteStateError
from .layout import Sharded, ShardedNetwork, SingleDevice, init_on_host, init_or_reset
from .loop import RunConfig, build, first_non_finite
from .._results.network import NetworkResult
from .progress import Heartbeat, Progress, heartbeat_steps, run_interruptibly, want_progress
from .record import Recorder, find_populations, trace_states
from .._results.result import SimulationResult
from .shardplan import make_mesh
from .._neurons.timestep import check_time_step
from .tree import ModuleTree

__all__ = ["simulate", "prepare", "SimulationResult", "NetworkResult"]


def simulate(
    model,
    current=None,
    duration=None,
    dt=None,
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
):
    r"""Run ``model`` for ``duration`` in one compiled loop and record spikes and traces.

    Parameters
    ----------
    model : brainstate module
        A neuron group (any lapicque or ``brainpy.state``-style neuron), or a
        network: any brainstate module holding groups, synapses and
        projections, whose ``update()`` (or ``update(current)``) advances it
        by one step.  Its populations are found by type (see
        :mod:`lapicque._engine.record`) and recorded by their attribute names.
    current : Quantity, callable or None
        The external input passed to ``model.update`` at every step, one of

        * a constant: a current quantity broadcastable to the state shape
          (e.g. ``5 * u.mA`` or one value per neuron);
        * an array over time: shape ``(n_steps, ...)`` with the rest
          broadcastable to the state shape; row ``i`` drives step ``i``;
        * a function of time ``f(t) -> current``, called inside the compiled
          loop with ``t = t0 + i * dt`` (a traced Quantity; ``i`` is also
          available as ``brainstate.environ.get('i')``), e.g.
          ``lambda t: 2 * u.mA * (t > 10 * u.ms)``;
        * ``None``: ``model.update()`` is called without input (networks
          that drive themselves, e.g. with a bias or Poisson inputs).

        A concrete current with NaN or infinity is refused.
    duration : Quantity[time]
        Length of the run (> 0, a whole number of steps).
    dt : Quantity[time], optional
        Time step, set in ``brainstate.environ`` for the run.  An explicit
        ``dt`` wins; otherwise the ``dt`` already set in
        ``brainstate.environ`` is used; otherwise 0.1 ms.
    record : str or sequence of str, default ``('spike',)``
        State variables to record besides the spikes (which are always
        recorded), e.g. ``('V', 'w')``; in a network, dotted paths such as
        ``('E.V', 'I.V')``.  ``'spike'`` may be listed and is ignored.
        Naming a variable the model lacks is a ``ValueError``.
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
    SimulationResult or NetworkResult
        For a neuron group: ``times``, ``spike_events`` / ``spike_times`` /
        ``spike_count`` / ``spike_raster()``, ``traces`` (Quantities),
        ``trace_times`` and the ``model``.  For a network: a
        :class:`NetworkResult`, one SimulationResult per population by name
        (``res['E']``), with every recorded trace in ``res.traces``.

    Raises
    ------
    NonFiniteStateError
        When a state became NaN or infinite during the run (e.g. a current
        function returned NaN): the message names the state, the neuron and
        the first step.  Checked once at the end of the run, so it costs no
        speed; only a failed run is run again to find the first step.

    Notes
    -----
    Every state value and every array parameter (e.g. a per-neuron ``tau``)
    enters the compiled program as an argument; the program is cached by the
    module's structure and the run's settings, so modules of the same
    structure share one program and a module is freed once you drop it.
    Scalar parameters (``tau = 10 * u.ms``) and plain Python settings
    (``spk_reset``, a float attribute) are part of the structure, by value:
    XLA folds them into the step, and changing one compiles anew, so a
    result is never stale.

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
    return prepare(model, current, duration, dt, record, record_every=record_every, spikes=spikes,
                   count_from=count_from, batch_size=batch_size, init=init, t0=t0, time_varying=time_varying,
                   progress=progress, devices=devices).execute()


def _check_options(record, record_every, spikes, count_from, n_steps, dt_ms, duration):
    """The recording options, checked: (record names, record_every, first counted step)."""
    if (not isinstance(record_every, (numbers.Integral, np.integer)) or isinstance(record_every, bool)
            or record_every < 1):
        raise ValueError(f"simulate: record_every must be a positive int; got {record_every!r}.")
    if spikes not in ("dense", "count"):
        raise ValueError(f"simulate: spikes must be 'dense' or 'count'; got {spikes!r}.")
    if isinstance(record, str):
        record = (record,)
    record = tuple(dict.fromkeys(r for r in record if r not in ("spike", "spikes")))
    count_from_step = 0
    if count_from is not None:
        if spikes != "count":
            raise ValueError("simulate: count_from only applies with spikes='count'.")
        count_from_step = int(round(_args.check_time(count_from, "count_from", allow_zero=True) / dt_ms))
        if count_from_step >= n_steps:
            raise ValueError(f"simulate: count_from ({count_from}) must be shorter than the duration ({duration}).")
    return record, int(record_every), count_from_step


def prepare(model, current, duration, dt=None, record=("spike",), *, record_every=1, spikes="dense",
            count_from=None, batch_size=None, init=True, t0=0. * u.ms, time_varying=None, progress=None,
            devices=None) -> "_Run":
    """Check the arguments, initialize the states and lay out the run; :meth:`_Run.execute` runs it."""
    if not isinstance(model, brainstate.graph.Node):
        raise TypeError(f"simulate: model must be a neuron group such as lapicque.LIF(10) or a brainstate module "
                        f"holding a network; got {model!r}.")
    if duration is None:
        raise TypeError("simulate: duration is required, e.g. simulate(model, 2 * u.mA, 100 * u.ms).")
    dt_ms = _args.resolve_dt(dt)
    duration_ms = _args.check_time(duration, "duration")
    t0_ms = _args.check_time(t0, "t0", positive=False)
    n_steps = _args.n_steps_of(duration_ms, dt_ms)
    record, record_every, count_from_step = _check_options(record, record_every, spikes, count_from, n_steps,
                                                           dt_ms, duration)
    if not init and batch_size is not None:
        raise ValueError("simulate: batch_size only applies with init=True.")
    _check_update_signature(model, current is not None)  # before any state is touched
    with brainstate.environ.context(dt=dt_ms * u.ms):
        if devices is not None:
            make_mesh(devices)  # argument errors before any work
        before = Snapshot(model)  # what an interrupted call puts back
        if init:
            (init_or_reset if devices is None else init_on_host)(model, batch_size)
        layout = SingleDevice()
        tree = ModuleTree(model)
        pops = find_populations(tree)
        single = len(pops) == 1 and pops[0].node is model
        if devices is not None and single:
            layout = Sharded(devices, pops[0].shape, _is_batched(model, pops[0].shape))
        elif devices is not None:  # a network: synapses partitioned by postsynaptic block
            layout = ShardedNetwork(devices, pops)
            layout.attach(model)
            tree = ModuleTree(model)
        traces = trace_states(tree, record)
        for p in pops:  # on concrete parameters, before they become arguments of the compiled run
            if isinstance(p.node, Neuron):
                check_time_step(p.node, dt_ms)
        if single and isinstance(model, Neuron):  # a silent or spurious run's cause, once (lapicque.presets.check)
            from ..presets import warn_drive
            warn_drive(model, current, stacklevel=4)
        unit = model.input_unit if single and isinstance(model, Neuron) else u.mA
        drive = _args.prepare_current(current, n_steps, pops[0].shape if single else None, time_varying, unit)
        n_neurons = max(sum(p.size for p in pops), 1)
        bar = want_progress(progress, n_steps, n_neurons)
        cfg = RunConfig(n_steps=n_steps, dt_ms=dt_ms, kind=drive.name, record=record, record_every=record_every,
                        spikes=spikes, count_from_step=count_from_step, progress=bar,
                        heartbeat=heartbeat_steps(n_steps, n_neurons, bar) if bar or not layout.is_sharded else 0,
                        packed=layout.is_sharded or (spikes == "dense" and n_neurons >= 64), single=single)
    return _Run(tree, cfg, layout, pops, traces, drive, t0_ms, before)


def _check_update_signature(model, with_input: bool) -> None:
    """A module whose ``update`` cannot take what simulate passes: say what it passes and how to write it.

    Each step calls ``model.update()`` when ``current`` is None, and
    ``model.update(x)`` (``x`` the step's input) otherwise; the time is
    ``brainstate.environ.get('t')``, not an argument.
    """
    import inspect
    update = getattr(model, "update", None)
    if update is None or not callable(update):
        return
    try:
        sig = inspect.signature(update)
    except (TypeError, ValueError):  # a builtin or a wrapper without a signature: not checked
        return
    try:
        sig.bind(None) if with_input else sig.bind()
    except TypeError:
        pass
    else:
        return
    name = type(model).__name__
    params = ", ".join(["self", *sig.parameters])
    if with_input:
        passed = "model.update(x) with one argument, the step's input (the current you gave)"
        fix = f"write it as `def update(self, x):` (x: the input of the step)"
    else:
        passed = "model.update() with no argument (current=None: the network drives itself)"
        fix = (f"write it as `def update(self):`, or give the argument a default (`def update(self, x=None):`), "
               f"or pass a current for it: simulate(net, current, duration)")
    raise TypeError(f"simulate: {name}.update({params}) cannot be called as simulate calls it. Each step, simulate "
                    f"calls {passed}; the time is not passed: read it inside with t = brainstate.environ.get('t') "
                    f"(and the step with brainstate.environ.get_dt()). So {fix}.")


def _is_batched(model, shape) -> bool:
    varshape = getattr(model, "varshape", None)
    return varshape is not None and len(shape) > len(tuple(varshape))


def _plain_inputs(tree) -> bool:
    """Whether any module holds a registered plain (non-callable) input: it is consumed while tracing."""
    for _, node in tree.node_items:
        for reg in (getattr(node, "_current_inputs", None), getattr(node, "_delta_inputs", None)):
            if reg and any(not callable(v) for v in reg.values()):
                return True
    return False


class _Run:
    """One prepared run: the module tree, its configuration and layout; compiled on demand, cached by structure.

    The compiled program takes every State the step touches: the tree's own,
    the hidden ones and the *external* ones found while tracing (the global
    ``brainstate.random`` key above all), so each call reads their current
    values and writes their new values back, exactly as the same steps in
    ``brainstate.transform.for_loop`` would.
    """

    def __init__(self, tree, cfg: RunConfig, layout, pops, traces, drive, t0_ms: float, before=None):
        self.tree, self.cfg, self.layout, self.pops, self.traces = tree, cfg, layout, pops, traces
        self.drive, self.t0_ms, self.before = drive, t0_ms, before
        self.recorder = Recorder(pops, traces, cfg.spikes, layout, cfg.packed, cfg.count_from_step)
        self.bar = Progress(cfg.n_steps, self._label()) if cfg.progress else None
        self.externals = _EXTERNALS.get(tree.key)
        self._fixed = None

    def _label(self):
        n = sum(p.size for p in self.pops)
        return f"{type(self.tree.root).__name__} ({n} neurons)"

    @property
    def extras(self):
        return self.tree.hidden_states + self.externals

    def _arguments(self):
        """(state values, extra values, parameter values, t0, current), placed by the layout."""
        if self._fixed is None:
            states, params = self.layout.place(self.tree)
            cur = self.drive.argument(self.layout)
            t0 = jnp.asarray(self.t0_ms, dtype=brainstate.environ.dftype())
            self._fixed = (states, params, t0, cur)
        states, params, t0, cur = self._fixed
        extras = self.layout.place_extras([s.value for s in self.extras])
        return states, extras, params, t0, cur

    def _key(self, cfg):
        if _plain_inputs(self.tree):
            return None  # a plain registered input is consumed while tracing: trace anew
        return (self.tree.key, cfg, self.layout.key, self.drive.key(), str(brainstate.environ.dftype()))

    def compile(self, cfg: Optional[RunConfig] = None, beat=None):
        """The compiled program (``jax.stages.Compiled``) of this run.

        Traced again, once, with the States the first trace found outside
        the tree and the known extras (see :mod:`lapicque._engine.loop`).
        """
        cfg = cfg or self.cfg
        recorder = self.recorder if cfg is self.cfg else Recorder(self.pops, {}, "count", self.layout, False)
        for _ in range(3):
            fn = build(self.tree, cfg, recorder, self.layout, self.drive, self.extras, beat)
            with brainstate.environ.context(dt=cfg.dt_ms * u.ms), self.layout.tracing():
                lowered = jax.jit(fn).lower(*self._arguments())
            if not fn.untracked:
                _EXTERNALS.put(self.tree.key, self.externals)
                return compile_lowered(lowered)
            self.externals += [s for s in fn.untracked if all(s is not e for e in self.externals)]
        raise RuntimeError("simulate: the States touched by the step kept changing between traces.")

    def _compiled(self):
        if self.tree.key in _CONSERVATIVE:
            self._conservative()
        try:
            return self._entry()
        except _CONCRETE as e:  # the step needs a lifted value as a concrete number: compile it in instead
            if self.tree.conservative:
                raise
            _CONSERVATIVE.add(self.tree.key)
            self._conservative()
            try:
                return self._entry()
            except _CONCRETE:
                raise e from None

    def _conservative(self):
        """Keep every scalar and NumPy array of the tree as a constant of the program (see lapicque._engine.tree)."""
        self.tree = ModuleTree(self.tree.root, conservative=True)
        self._fixed = None

    def _entry(self):
        key = self._key(self.cfg)
        entry = COMPILED.get(key) if key is not None else None
        if entry is not None and not _same_specs(entry["extra_specs"], self._entry_extras(entry)):
            entry = None  # an extra State now holds a value of another shape or dtype: compile anew
        if entry is None:
            beat = Heartbeat()
            compiled = self.compile(beat=beat)
            entry = {"compiled": compiled, "beat": beat, "units": dict(self.recorder.units),
                     "externals": list(self.externals), "extra_specs": _specs(self.extras),
                     "identities": list(self.tree.identities) + self.drive.identities()
                     + [i for s in self.externals for i in _weak(s)]}
            if key is not None:
                COMPILED.put(key, entry)
        self.externals = list(entry["externals"])
        self.recorder.units.update(entry["units"])
        return entry

    def _entry_extras(self, entry):
        return self.tree.hidden_states + list(entry["externals"])

    def compile_now(self):
        """Compile (or find in the cache) the program of this run now, before :meth:`execute`."""
        self._compiled()

    def execute(self):
        """Run, check the final state for NaN / infinity, and return the results."""
        try:
            return self._execute()
        finally:
            self.layout.detach(self.tree.root)

    def _execute(self):
        entry = self._compiled()
        beat = entry["beat"]
        args = self._arguments()
        self._refuse_non_finite_start(args[0])
        beat.bar, beat.interrupted = self.bar, False
        try:
            states, extras, outs = run_interruptibly(
                beat, lambda: jax.block_until_ready(entry["compiled"](*args)))
        except BaseException as e:
            if self.bar is not None:
                self.bar.close(completed=False)
            if beat.interrupted or isinstance(e, KeyboardInterrupt):
                if self.before is not None:
                    self.before.restore()
                raise KeyboardInterrupt("simulate: interrupted; the model holds the state it had before the call.") \
                    from None
            raise
        finally:
            beat.bar = None
        if beat.interrupted:  # Ctrl-C as the run ended: honour it all the same
            if self.before is not None:
                self.before.restore()
            raise KeyboardInterrupt("simulate: interrupted; the model holds the state it had before the call.")
        if self.bar is not None:
            self.bar.close()
        for st, v in zip(self.extras, self.layout.extras_back(extras)):
            st.value = v
        self._check_finite(args, states)
        self.tree.write_states(states)
        self.layout.finish(self.tree)
        return self._results(outs)

    def _results(self, outs):
        cfg = self.cfg
        k, n_blocks, _ = cfg.blocks
        common = dict(dt_ms=cfg.dt_ms, t0_ms=self.t0_ms, n_steps=cfg.n_steps, record_every=cfg.record_every,
                      spike_mode=cfg.spikes, count_from_step=cfg.count_from_step)
        results = self.recorder.results(outs, dict(common, meta={"input": self.drive.describe()}), cfg.n_steps,
                                        n_blocks)
        if cfg.single:
            return results[0]
        return NetworkResult(self.tree.root, {p.name: r for p, r in zip(self.pops, results)},
                             self.recorder.all_traces, **common)

    def _refuse_non_finite_start(self, initial):
        """A starting state with NaN or infinity would run silently to nonsense: refuse it, naming the neuron."""
        bad = first_non_finite(initial)
        flags = [jnp.any(x) for x in bad if x is not None]
        if not flags or not bool(jnp.any(jnp.stack(flags))):
            return
        for path, mask in zip(self.tree.state_paths, bad):
            mask = None if mask is None else self.layout.gather(mask)
            if mask is not None and mask.any():
                index = tuple(int(i) for i in np.argwhere(mask)[0])
                name = ".".join(map(str, path))
                raise NonFiniteStateError(
                    f"simulate: state '{name}' is NaN or infinite at the start of the run ({int(mask.sum())} of "
                    f"{mask.size} values), first for the neuron at index {index if len(index) != 1 else index[0]}. "
                    f"Check its initializer or the loaded checkpoint; nothing was run.",
                    state=name, index=index, step=None, time_ms=self.t0_ms)

    def _check_finite(self, args, final):
        """Raise NonFiniteStateError if a state that was finite became NaN or infinite; find the first step.

        The first step is found by running again from the same arguments (same random draws)."""
        initial = args[0]
        became = [None if b is None else jnp.logical_and(b, jnp.logical_not(a))
                  for a, b in zip(first_non_finite(initial), first_non_finite(final))]
        flags = [jnp.any(x) for x in became if x is not None]
        if not flags or not bool(jnp.any(jnp.stack(flags))):  # one reduction per state, on the devices
            return
        self.tree.write_states(initial)  # run again from the same start, tracking the first bad step
        diag = RunConfig(**{**self.cfg.__dict__, "diagnose": True, "spikes": "count", "record": (),
                            "progress": False, "heartbeat": 0, "count_from_step": 0})
        _, _, outs = self.compile(diag)(*args)
        self.tree.write_states(final)
        self.layout.finish(self.tree)
        masks = [None if x is None else self.layout.gather(x) for x in became]
        steps = [self.layout.gather(x) for x in outs["first_bad"]]
        raise _non_finite_error(self.tree, steps, masks, self.cfg, self.t0_ms)


#: errors of code that needs a traced value as a concrete number
_CONCRETE = (jax.errors.ConcretizationTypeError, jax.errors.TracerArrayConversionError,
             jax.errors.TracerBoolConversionError, jax.errors.TracerIntegerConversionError)
#: structures whose step needs its scalars and NumPy arrays compiled in (bounded by the cache's turnover)
_CONSERVATIVE: set = set()


class _Externals:
    """tree structure -> the States outside the tree its step touched last time (held weakly, bounded)."""

    def __init__(self, size: int = 64):
        self.size, self._map = size, {}

    def get(self, key):
        refs = self._map.get(key, ())
        states = [r() if isinstance(r, weakref.ref) else r for r in refs]
        return [] if any(s is None for s in states) else states

    def put(self, key, states):
        self._map.pop(key, None)
        self._map[key] = [_ref(s) for s in states]
        while len(self._map) > self.size:
            self._map.pop(next(iter(self._map)))


_EXTERNALS = _Externals()


def _ref(obj):
    try:
        return weakref.ref(obj)
    except TypeError:
        return obj


def _specs(states):
    return [tuple((str(getattr(x, "dtype", type(x).__name__)), tuple(np.shape(x)))
                  for x in jax.tree.leaves(s.value)) for s in states]


def _same_specs(specs, states) -> bool:
    return specs == _specs(states)


class Snapshot:
    """Every module's attributes and every State's value of a module tree, to put back after an interrupt."""

    def __init__(self, model):
        nodes = [n for _, n in model.nodes().items()]
        self.attrs = [(n, dict(vars(n))) for n in nodes]
        self.values = [(s, s.value) for _, s in model.states().items()]

    def restore(self):
        for node, saved in self.attrs:
            d = vars(node)
            for k in [k for k in d if k not in saved]:
                del d[k]
            d.update(saved)
        for st, value in self.values:
            st.value = value


def _weak(obj):
    if obj is None:
        return []
    try:
        return [(id(obj), weakref.ref(obj))]
    except TypeError:
        return [(id(obj), obj)]


def _non_finite_error(tree, first_bad, newly, cfg, t0_ms):
    best = None
    for path, steps, mask in zip(tree.state_paths, first_bad, newly):
        if mask is None or not mask.any():
            continue
        steps = np.where(mask & (np.asarray(steps) >= 0), np.asarray(steps), np.iinfo(np.int32).max)
        flat = int(np.argmin(steps))
        step = int(steps.reshape(-1)[flat])
        if best is None or step < best[2]:
            best = (".".join(map(str, path)), np.unravel_index(flat, steps.shape), step)
    name, index, step = best
    index = tuple(int(i) for i in index)
    t = t0_ms + step * cfg.dt_ms
    return NonFiniteStateError(
        f"simulate: state '{name}' became NaN or infinite at step {step} (t = {t:g} ms), first for the neuron at "
        f"index {index if len(index) != 1 else index[0]}. Check the input (a current function returning NaN or "
        f"infinity?) and the parameters; the model now holds the non-finite state.",
        state=name, index=index, step=step, time_ms=t)
