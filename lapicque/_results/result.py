"""What a run recorded: :class:`SimulationResult`.

Spike times follow the time convention of :func:`lapicque.simulate`: the
spike returned by step ``i`` occurs at ``t0 + (i + 1) * dt``.
"""

from __future__ import annotations

from typing import Any, Dict, List, NamedTuple, Optional

import numpy as np
import saiunit as u

__all__ = ["SimulationResult", "SpikeEvents", "RunTimes"]


class SpikeEvents(NamedTuple):
    """Every spike of a run, sorted by time then neuron (the compact form).

    Attributes
    ----------
    times : Quantity
        Spike times (ms), shape ``(n_spikes,)``.
    neurons : numpy.ndarray of int32
        Flat (C-order) index of the spiking neuron, shape ``(n_spikes,)``.
    """

    times: Any
    neurons: np.ndarray

#: number of neuron-steps per chunk when unpacking packed spikes on the host
_CHUNK_ELEMENTS = 1 << 26


class RunTimes:
    """The time axis of a run, shared by single-population and network results.

    Needs ``_dt_ms``, ``_t0_ms``, ``n_steps`` and ``record_every``; step
    ``i`` reports at ``t0 + (i + 1) * dt``.
    """

    @property
    def dt(self):
        """Time step of the run."""
        return self._dt_ms * u.ms

    @property
    def dt_ms(self) -> float:
        """Time step of the run in ms (a float)."""
        return self._dt_ms

    @property
    def t0_ms(self) -> float:
        """Time at the start of the run in ms (a float)."""
        return self._t0_ms

    @property
    def t0(self):
        """Time at the start of the run."""
        return self._t0_ms * u.ms

    @property
    def duration(self):
        """Length of the run, ``n_steps * dt``."""
        return self.n_steps * self._dt_ms * u.ms

    @property
    def t_end(self):
        """Time at the end of the run (the ``t0`` to continue it with)."""
        return (self._t0_ms + self.n_steps * self._dt_ms) * u.ms

    @property
    def times(self):
        """Time of each step's result, ``t0 + (i + 1) * dt`` (Quantity, ``(n_steps,)``)."""
        return u.Quantity(self._step_times_ms(np.arange(self.n_steps)), unit=u.ms)

    @property
    def trace_times(self):
        """Time of each trace sample ``j``: ``t0 + (j + 1) * k * dt``."""
        k = self.record_every
        n = self.n_steps // k
        return u.Quantity(self._step_times_ms(np.arange(n) * k + k - 1), unit=u.ms)

    def _step_times_ms(self, steps):
        return (self._t0_ms + (np.asarray(steps, dtype=np.float64) + 1.0) * self._dt_ms).astype(np.float32)


class SimulationResult(RunTimes):
    """What :func:`simulate` recorded.

    Spike times follow the convention of :func:`lapicque.simulate`: the spike
    returned by step ``i`` occurs at ``t0 + (i + 1) * dt``.

    Attributes
    ----------
    model : Neuron
        The simulated model, holding its final state.
    dt : Quantity
        Time step.
    t0 : Quantity
        Time at the start of the run.
    n_steps : int
        Number of steps run.
    shape : tuple of int
        State shape (``(batch,) + varshape`` or ``varshape``); spikes and
        traces have this shape after their leading time axis.
    record_every : int
        Trace decimation factor ``k``.
    traces : dict
        ``name -> Quantity`` (or plain array for unitless / boolean states)
        of shape ``(n_samples,) + shape``; sample ``j`` is the state after step
        ``(j + 1) * k - 1``, at time ``trace_times[j]``.
    trace_times : Quantity
        ``t0 + (j + 1) * k * dt`` for each trace sample ``j``.
    spike_mode : {'dense', 'count'}
        How spikes were recorded.

    Examples
    --------
    >>> import saiunit as u, lapicque
    >>> res = lapicque.simulate(lapicque.LIF(2), 2 * u.mA, 20 * u.ms, record=("V",))
    >>> res.spike_count
    array([5, 5])
    >>> print(res.spike_times[0])
    [ 3.5  7.  10.5 14.  17.5] ms
    >>> print(res.rate)
    [250. 250.] Hz
    >>> times, neurons = res.spike_events
    >>> neurons[:4]
    array([0, 1, 0, 1], dtype=int32)
    >>> res.spike_raster().shape, res.traces["V"].shape    # the dense raster only on request
    ((200, 2), (200, 2))
    """

    def __init__(self, *, model, dt_ms: float, t0_ms: float, n_steps: int, shape, record_every: int,
                 traces: Dict[str, Any], spike_mode: str, packed=None, dense=None,
                 counts=None, first_step=None, last_step=None, count_from_step: int = 0,
                 meta: Optional[Dict[str, Any]] = None, events=None):
        self.model = model
        #: run metadata (seed, input description, versions, ... as given by the caller or read from a file)
        self.meta = dict(meta or {})
        self._dt_ms = float(dt_ms)
        self._t0_ms = float(t0_ms)
        self.n_steps = int(n_steps)
        self.shape = tuple(shape)
        self.record_every = int(record_every)
        self.traces = traces
        self.spike_mode = spike_mode
        self._packed = packed
        self._dense = dense
        self._counts = None if counts is None else np.asarray(counts).reshape(self.shape)
        self._first = None if first_step is None else np.asarray(first_step).reshape(self.shape)
        self._last = None if last_step is None else np.asarray(last_step).reshape(self.shape)
        self._count_from_step = int(count_from_step)
        self._event_cache = None if events is None else (
            np.asarray(events[0], np.int32), np.asarray(events[1], np.int32))
        self._by_neuron = None

    @property
    def n_neurons(self) -> int:
        """Number of neurons (product of :attr:`shape`)."""
        return int(np.prod(self.shape, dtype=np.int64))

    # ---------------------------------------------------------------- spikes
    def _require_dense(self, what):
        if self.spike_mode != "dense":
            raise ValueError(
                f"SimulationResult.{what} needs the spikes of every step, but this run used spikes='count' "
                f"(only counts and first/last spike times were kept); run simulate(..., spikes='dense')."
            )

    def _events(self):
        """(steps, neurons) of every spike as int32 arrays, sorted by step then neuron (cached)."""
        if self._event_cache is None:
            self._require_dense("spike data")
            M = self.n_neurons
            if self._dense is not None:
                steps, neurons = np.nonzero(self._dense.reshape(self.n_steps, M))
            else:
                # sparse in the packed bytes first: only bytes holding a spike are expanded
                P, row_len = self._packed_rows()
                rows = max(1, _CHUNK_ELEMENTS // 8 // max(P.shape[1] * P.shape[2], 1))
                steps, neurons = [], []
                for s0 in range(0, self.n_steps, rows):
                    r, q, c = np.nonzero(P[s0:s0 + rows])
                    bits = np.unpackbits(P[s0:s0 + rows][r, q, c][:, None], axis=1)
                    k, b = np.nonzero(bits)
                    steps.append((r[k] + s0).astype(np.int32))
                    neurons.append((q[k].astype(np.int64) * row_len + c[k] * 8 + b).astype(np.int32))
                steps = np.concatenate(steps) if steps else np.zeros(0, np.int32)
                neurons = np.concatenate(neurons) if neurons else np.zeros(0, np.int32)
            self._event_cache = (steps.astype(np.int32, copy=False), neurons.astype(np.int32, copy=False))
        return self._event_cache

    def _steps_by_neuron(self):
        """(spike steps grouped by neuron, in time order within each; start offset of each neuron)."""
        if self._by_neuron is None:
            steps, neurons = self._events()
            order = np.argsort(neurons, kind="stable")
            offsets = np.concatenate([[0], np.cumsum(self.spike_count.reshape(-1))])
            self._by_neuron = (steps[order], offsets)
        return self._by_neuron

    def _packed_rows(self):
        """The packed bits as ``(n_steps, rows, bytes)`` and the number of neurons per row.

        A run on one device packs all neurons into one row (``_packed`` of
        shape ``(n_steps, bytes)``); a sharded run packs each row of the
        state's last axis separately (``(n_steps, rows, bytes)``, rows = the
        product of the other axes), so that each device packs its own neurons.
        """
        P = self._packed
        if P.ndim == 2:
            return P[:, None, :], self.n_neurons
        return P, (self.shape[-1] if self.shape else 1)

    def spike_raster(self) -> np.ndarray:
        """The dense boolean spike raster, shape ``(n_steps,) + shape`` (built on request).

        This is the one place a result expands its spikes into one byte per
        neuron and step (``n_steps * n_neurons`` bytes: 1 GB for 10^5 neurons
        over 10^4 steps); :attr:`spike_events`, :attr:`spike_times` and
        :attr:`spike_count` never form it.
        """
        self._require_dense("spike_raster()")
        if self._dense is not None:
            return self._dense.reshape((self.n_steps,) + self.shape)
        if self._packed is not None:
            P, row_len = self._packed_rows()
            dense = np.unpackbits(P, axis=2, count=row_len).view(bool)
            return dense.reshape((self.n_steps,) + self.shape)
        steps, neurons = self._events()
        dense = np.zeros((self.n_steps, self.n_neurons), bool)
        dense[steps, neurons] = True
        return dense.reshape((self.n_steps,) + self.shape)

    @property
    def spikes(self):
        raise AttributeError(
            "SimulationResult.spikes was removed: the dense raster is explicit now. Use res.spike_raster() "
            "for the (n_steps, ...) bool array, or the compact res.spike_events (times, neurons), "
            "res.spike_times (per neuron) and res.spike_count.")

    @property
    def spike_count(self) -> np.ndarray:
        """Number of spikes of each neuron (integer array of :attr:`shape`)."""
        if self._counts is None:
            _, neurons = self._events()
            self._counts = np.bincount(neurons, minlength=self.n_neurons).reshape(self.shape)
        return self._counts

    @property
    def spike_events(self) -> SpikeEvents:
        """All spikes as :class:`SpikeEvents` ``(times, neurons)``, sorted by time, then neuron.

        ``neurons`` index the flattened :attr:`shape` (C order); ``times`` is a
        Quantity in ms.  This is the compact form of the spikes (two numbers
        per spike).
        """
        steps, neurons = self._events()
        return SpikeEvents(u.Quantity(self._step_times_ms(steps), unit=u.ms), neurons)

    @property
    def spike_steps(self):
        """Step index ``i`` (time ``t0 + (i + 1) dt``) and neuron of every spike, as two int32 arrays."""
        return self._events()

    @property
    def spike_times(self) -> List:
        """Spike times of each neuron: a list (over the flattened :attr:`shape`) of Quantity arrays (ms)."""
        steps, offsets = self._steps_by_neuron()
        t = self._step_times_ms(steps)
        return [u.Quantity(x, unit=u.ms) for x in np.split(t, offsets[1:-1])]

    @property
    def count_from_step(self) -> int:
        """With ``spikes='count'`` and ``count_from``: the first step whose spikes are counted (else 0)."""
        return self._count_from_step

    @property
    def first_spike_step(self) -> np.ndarray:
        """Step of each neuron's first (counted) spike; -1 where it never spiked (int, array of :attr:`shape`)."""
        return self._first_last_steps("first")

    @property
    def last_spike_step(self) -> np.ndarray:
        """Step of each neuron's last (counted) spike; -1 where it never spiked."""
        return self._first_last_steps("last")

    @property
    def first_spike_time(self):
        """Time of each neuron's first (counted) spike; NaN where it never spiked."""
        return self._first_last("first")

    @property
    def last_spike_time(self):
        """Time of each neuron's last (counted) spike; NaN where it never spiked."""
        return self._first_last("last")

    def _first_last_steps(self, which):
        if self.spike_mode == "count":
            return self._first if which == "first" else self._last
        st, offsets = self._steps_by_neuron()
        has = offsets[1:] > offsets[:-1]
        pick = offsets[:-1] if which == "first" else offsets[1:] - 1
        steps = np.where(has, st[np.minimum(pick, max(len(st) - 1, 0))] if len(st) else -1, -1)
        return steps.reshape(self.shape)

    def _first_last(self, which):
        steps = self._first_last_steps(which)
        out = np.where(steps >= 0, self._step_times_ms(np.maximum(steps, 0)), np.nan).astype(np.float32)
        return u.Quantity(out, unit=u.ms)

    @property
    def rate(self):
        """Mean firing rate of each neuron over the run (Quantity in Hz, array of :attr:`shape`).

        With ``spikes='count'`` and ``count_from``, only the counted window is used.
        """
        window_ms = (self.n_steps - self._count_from_step) * self._dt_ms
        return u.Quantity(self.spike_count / (window_ms * 1e-3), unit=u.Hz)

    # ---------------------------------------------------------------- files
    def save(self, path) -> str:
        """Write this result to an ``.npz`` file (compressed, no pickle); return the path.

        Stored: the spikes (``(step, neuron)`` events, or counts and first/last
        spike steps of a ``spikes='count'`` run), every trace with its unit,
        the model's class, size and every parameter with its unit, ``dt``,
        ``t0``, the duration, :attr:`meta` (seed, input, ...) and the versions
        of Python, lapicque, JAX, brainstate, braintools and saiunit.  Read it
        back with :meth:`load`.

        A ``.csv`` path writes the traces there and the spikes beside it
        (``*.spikes.csv``), for small runs.  Every file is written to a
        temporary file in the same folder and renamed over ``path`` only once
        complete, so a failed save (full disk, an exception, Ctrl-C) leaves
        an existing file as it was.

        Examples
        --------
        >>> import os, tempfile, saiunit as u, lapicque
        >>> res = lapicque.simulate(lapicque.LIF(2), 2 * u.mA, 20 * u.ms, record=("V",))
        >>> path = res.save(os.path.join(tempfile.mkdtemp(), "run.npz"))
        >>> back = lapicque.SimulationResult.load(path)
        >>> print(back.spike_times[0])
        [ 3.5  7.  10.5 14.  17.5] ms
        >>> back.traces["V"].unit, back.meta["model_saved"]["class"], type(back.model).__name__
        (Unit("mV"), 'LIF', 'LIF')
        """
        from .formats import save_result
        return save_result(self, path)

    @classmethod
    def load(cls, path) -> "SimulationResult":
        """Read a result written by :meth:`save`.

        The model is rebuilt from the stored class and parameters (a fresh
        model, states not initialized) when it is a lapicque model, else
        :attr:`model` is ``None``; the saved description is in
        ``meta['model_saved']``.

        Everything is checked before a result is built: a damaged or
        truncated file, a missing entry, a trace whose shape is not the
        run's, or a spike outside the run (a step ``>= n_steps``, a neuron
        index outside :attr:`shape`, a neuron twice in one step) raises a
        ``ValueError`` naming the file and what is wrong.
        """
        from .formats import load_result
        return load_result(path, cls)

    def to_neo(self, name: Optional[str] = None):
        """This run as a ``neo.Block`` (optional extra: ``pip install 'lapicque[neo]'``).

        One ``Segment`` with a ``SpikeTrain`` per neuron (ms, ``t_start = t0``,
        ``t_stop = t0 + duration``) and an ``AnalogSignal`` per recorded
        trace (shape ``(n_samples, n_neurons)``, with its unit; sample ``j``
        at ``t0 + (j + 1) k dt``), so Elephant's analyses apply directly.
        """
        from .formats import to_neo
        return to_neo(self, name)

    # ---------------------------------------------------------------- misc
    def __getitem__(self, name):
        if name in ("spike", "spikes"):
            raise KeyError("spikes are not a trace: use res.spike_raster() for the dense (n_steps, ...) array, "
                           "or res.spike_events / res.spike_times / res.spike_count")
        try:
            return self.traces[name]
        except KeyError:
            raise KeyError(f"no trace {name!r} was recorded; recorded: {sorted(self.traces)} "
                           f"(spikes: res.spike_events, res.spike_raster())") from None

    def __repr__(self):
        tr = ", ".join(f"{k}{tuple(np.shape(v))}" for k, v in self.traces.items()) or "none"
        cls = type(self.model).__name__ if self.model is not None else \
            (self.meta.get("model_saved") or {}).get("class")
        return (f"SimulationResult({cls}, shape={self.shape}, n_steps={self.n_steps}, "
                f"dt={self._dt_ms} ms, spikes={self.spike_mode!r}, traces: {tr})")
