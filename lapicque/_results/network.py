"""What a network run recorded: :class:`NetworkResult`, one SimulationResult per population."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Dict

import numpy as np
import saiunit as u

from . import formats as _result_io
from .result import RunTimes, SimulationResult

__all__ = ["NetworkResult"]


class NetworkResult(RunTimes, Mapping):
    """The results of :func:`lapicque.simulate` on a network.

    A read-only mapping ``population name -> SimulationResult`` (names are
    the attribute paths of the neuron groups in the network, e.g. ``'E'``),
    plus every recorded trace by its dotted path.

    Attributes
    ----------
    network : brainstate module
        The simulated network, holding its final state.
    traces : dict
        ``'E.V' -> Quantity`` of shape ``(n_samples,) + shape`` for every
        recorded state (each population's own traces are also in its
        result's ``traces`` under the short name).
    n_steps, dt, t0, duration, t_end, times, trace_times
        As for :class:`SimulationResult`.

    Notes
    -----
    ``save(path)`` / ``NetworkResult.load(path)`` keep every population's
    spikes and traces in one NPZ file; ``to_neo()`` exports them for Elephant.

    Examples
    --------
    >>> import brainstate, saiunit as u, lapicque
    >>> class Two(brainstate.nn.Module):
    ...     def __init__(self):
    ...         super().__init__()
    ...         self.a = lapicque.LIF(2)
    ...         self.b = lapicque.LIF(3, tau=2. * u.ms)
    ...     def update(self, x):
    ...         self.a(x)
    ...         self.b(x)
    >>> res = lapicque.simulate(Two(), 2. * u.mA, 20. * u.ms, record="b.V")
    >>> sorted(res), res["a"].spike_count, res["b"].spike_count
    (['a', 'b'], array([5, 5]), array([14, 14, 14]))
    >>> res.traces["b.V"].shape
    (200, 3)
    >>> {k: round(float(v.to_decimal(u.Hz)), 1) for k, v in res.mean_rate.items()}
    {'a': 250.0, 'b': 700.0}
    """

    def __init__(self, network, populations: Dict[str, SimulationResult], traces: Dict[str, Any], *, dt_ms: float,
                 t0_ms: float, n_steps: int, record_every: int, spike_mode: str, count_from_step: int = 0):
        self.network = network
        self._pops = dict(populations)
        self.traces = dict(traces)
        self.n_steps = int(n_steps)
        self.record_every = int(record_every)
        self.spike_mode = spike_mode
        self._dt_ms, self._t0_ms = float(dt_ms), float(t0_ms)
        self._count_from_step = int(count_from_step)

    # ------------------------------------------------------------------ mapping
    def __getitem__(self, name) -> SimulationResult:
        try:
            return self._pops[name]
        except KeyError:
            raise KeyError(f"no population {name!r} in this network; it has: {sorted(self._pops)}") from None

    def __iter__(self):
        return iter(self._pops)

    def __len__(self):
        return len(self._pops)

    # ------------------------------------------------------------------ summaries
    @property
    def mean_rate(self) -> Dict[str, Any]:
        """Mean firing rate of each population over the (counted) run, in Hz."""
        window_s = (self.n_steps - self._count_from_step) * self._dt_ms * 1e-3
        return {name: u.Quantity(float(r.spike_count.sum()) / (r.n_neurons * window_s), unit=u.Hz)
                for name, r in self._pops.items()}

    # ------------------------------------------------------------------ files
    def save(self, path) -> str:
        """Write the whole run to one ``.npz``; returns the path.

        Stored: every population's result (spikes, its traces, its model's
        parameters, under the prefix ``'<name>/'``), every other recorded
        trace with its unit (e.g. a synapse's conductance ``'EE.syn.g'``),
        and the run's time axis (``dt``, ``t0``, ``n_steps``,
        ``record_every``, the spike mode and counting window), so that a
        network without populations round-trips too.  The network itself is
        not stored.  The file is written to a temporary file and renamed into
        place, so a failed save leaves an existing file as it was.

        Examples
        --------
        >>> import os, tempfile, brainstate, saiunit as u, lapicque
        >>> class Net(brainstate.nn.Module):
        ...     def __init__(self):
        ...         super().__init__()
        ...         self.E = lapicque.LIF(2)
        ...         self.syn = lapicque.Expon(2, tau=5. * u.ms)
        ...     def update(self, x):
        ...         self.syn(self.E(x) * u.mS)
        >>> res = lapicque.simulate(Net(), 2. * u.mA, 5. * u.ms, record=("E.V", "syn.g"))
        >>> back = lapicque.NetworkResult.load(res.save(os.path.join(tempfile.mkdtemp(), "net.npz")))
        >>> list(back.traces), back["E"].spike_count
        (['E.V', 'syn.g'], array([1, 1]))
        """
        owned = {f"{name}.{k}" for name, r in self._pops.items() for k in r.traces}
        traces = {k: v for k, v in self.traces.items() if k not in owned}
        run = {"dt_ms": self._dt_ms, "t0_ms": self._t0_ms, "n_steps": self.n_steps,
               "record_every": self.record_every, "spike_mode": self.spike_mode,
               "count_from_step": self._count_from_step, "trace_order": list(self.traces)}
        return _result_io.save_network(path, self._pops, traces, run)

    @staticmethod
    def load(path) -> "NetworkResult":
        """Read a file written by :meth:`save` (the network itself is not stored: ``network`` is None).

        Every entry is checked as :meth:`SimulationResult.load` checks it; a
        damaged or truncated file, or spikes outside the run, raise a
        ``ValueError`` naming the file and what is wrong.
        """
        pops, traces, run = _result_io.load_network(path, SimulationResult)
        if run is None:  # a file written before network headers: the populations carry the time axis
            if not pops:
                raise ValueError(f"NetworkResult.load: {path!r} holds no population and no network header (it was "
                                 f"written by an older lapicque from a network without populations), so its time "
                                 f"axis is unknown; run and save it again.")
            first = next(iter(pops.values()))
            run = {"dt_ms": first.dt_ms, "t0_ms": first.t0_ms, "n_steps": first.n_steps,
                   "record_every": first.record_every, "spike_mode": first.spike_mode,
                   "count_from_step": first.count_from_step}
        return NetworkResult(None, pops, traces, **{k: run[k] for k in _result_io.RUN_KEYS})

    def to_neo(self, name=None):
        """A ``neo.Block`` with one ``neo.Group`` per population (needs the optional extra ``neo``)."""
        return _result_io.results_to_neo(self._pops, name)

    def __repr__(self):
        pops = ", ".join(f"{k}: {r.n_neurons}" for k, r in self._pops.items())
        tr = ", ".join(self.traces) or "none"
        return (f"NetworkResult({type(self.network).__name__}, populations {{{pops}}}, n_steps={self.n_steps}, "
                f"dt={self._dt_ms} ms, traces: {tr})")
