"""What a network run recorded: :class:`NetworkResult`, one SimulationResult per population."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Dict

import numpy as np
import saiunit as u

from ._result import SimulationResult

__all__ = ["NetworkResult"]


class NetworkResult(Mapping):
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
    (['a', 'b'], array([5, 5]), array([19, 19, 19]))
    >>> res.traces["b.V"].shape
    (200, 3)
    >>> {k: round(float(v.to_decimal(u.Hz)), 1) for k, v in res.mean_rate.items()}
    {'a': 250.0, 'b': 950.0}
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

    # ------------------------------------------------------------------ times
    @property
    def dt(self):
        return self._dt_ms * u.ms

    @property
    def t0(self):
        return self._t0_ms * u.ms

    @property
    def duration(self):
        return self.n_steps * self._dt_ms * u.ms

    @property
    def t_end(self):
        return (self._t0_ms + self.n_steps * self._dt_ms) * u.ms

    @property
    def times(self):
        return u.Quantity((self._t0_ms + (np.arange(self.n_steps) + 1.0) * self._dt_ms).astype(np.float32), unit=u.ms)

    @property
    def trace_times(self):
        k = self.record_every
        steps = np.arange(self.n_steps // k) * k + k - 1
        return u.Quantity((self._t0_ms + (steps + 1.0) * self._dt_ms).astype(np.float32), unit=u.ms)

    # ------------------------------------------------------------------ summaries
    @property
    def mean_rate(self) -> Dict[str, Any]:
        """Mean firing rate of each population over the (counted) run, in Hz."""
        window_s = (self.n_steps - self._count_from_step) * self._dt_ms * 1e-3
        return {name: u.Quantity(float(r.spike_count.sum()) / (r.n_neurons * window_s), unit=u.Hz)
                for name, r in self._pops.items()}

    def __repr__(self):
        pops = ", ".join(f"{k}: {r.n_neurons}" for k, r in self._pops.items())
        tr = ", ".join(self.traces) or "none"
        return (f"NetworkResult({type(self.network).__name__}, populations {{{pops}}}, n_steps={self.n_steps}, "
                f"dt={self._dt_ms} ms, traces: {tr})")
