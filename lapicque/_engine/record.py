"""What a run keeps: spikes per population (bits or counts) and named state traces.

:class:`Recorder` has two halves.  Inside the compiled loop it turns each
step's spikes into what is stored (bits packed 8 to a byte, or running
counts with first/last spike steps; nothing else per step) and takes trace
snapshots.  On the host it assembles what came back into one
:class:`~lapicque.SimulationResult` per population.

Populations
-----------
A *population* is a neuron group in the simulated module tree: a
:class:`lapicque.Neuron`, or any module with ``get_spike()`` and a state
``V`` (e.g. a ``brainpy.state`` neuron).  When the simulated module is
itself a population, its spikes are what ``update`` returns; in a network
they are ``population.get_spike()`` after the step.  Populations are named
by their attribute path in the network (``'E'``, ``'layers.0'``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Tuple

import brainstate
import jax.numpy as jnp
import numpy as np
import saiunit as u

from .._results.result import SimulationResult

__all__ = ["Population", "find_populations", "Recorder"]


@dataclass
class Population:
    """One neuron group of a run: its name (path), module and state shape."""

    name: str
    node: Any
    shape: Tuple[int, ...]

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))


def _is_population(node) -> bool:
    return callable(getattr(node, "get_spike", None)) and isinstance(getattr(node, "V", None), brainstate.State)


def find_populations(tree) -> List[Population]:
    """The neuron groups of a module tree, each named by its shortest public attribute path (the root alone
    when it is one)."""
    if _is_population(tree.root):
        found = [("", tree.root)]
    else:
        paths = shortest_public_paths(tree.root)
        found = [(".".join(paths[id(n)]), n) for _, n in tree.node_items if _is_population(n) and id(n) in paths]
        found.sort(key=lambda item: (item[0].count("."), item[0]))
    return [Population(name, n, tuple(np.shape(u.get_mantissa(n.V.value)))) for name, n in found]


def _public_children(obj):
    if isinstance(obj, brainstate.graph.Node):
        return [(k, v) for k, v in vars(obj).items() if not k.startswith("_")]
    if isinstance(obj, dict):
        return [(str(k), v) for k, v in obj.items()]
    if isinstance(obj, (list, tuple)):
        return [(str(i), v) for i, v in enumerate(obj)]
    return []


def shortest_public_paths(root) -> Dict[int, Tuple[str, ...]]:
    """``id(module) -> shortest path of public attribute names`` from ``root`` (breadth first)."""
    paths: Dict[int, Tuple[str, ...]] = {id(root): ()}
    frontier = [(root, ())]
    while frontier:
        nxt = []
        for obj, path in frontier:
            for k, v in _public_children(obj):
                if isinstance(v, brainstate.State) or id(v) in paths:
                    continue
                if isinstance(v, (brainstate.graph.Node, dict, list, tuple)):
                    if isinstance(v, brainstate.graph.Node):
                        paths[id(v)] = path + (k,)
                    nxt.append((v, path + (k,)))
        frontier = nxt
    return paths


def _mantissa_and_unit(value):
    if isinstance(value, u.Quantity):
        return value.mantissa, value.unit
    return value, None


def wrap(arr, unit):
    """A host array, as a Quantity when it has a unit."""
    arr = np.asarray(arr)
    if unit is None or unit.is_unitless:
        return arr
    return u.Quantity(arr, unit=unit)


class Recorder:
    """Per-step recording inside the loop, and the results on the host.

    Parameters
    ----------
    pops : list of Population
    traces : dict
        ``name -> State`` of every recorded trace.
    mode : {'dense', 'count'}
    layout : SingleDevice or Sharded
    packed : bool
        Store dense spikes as bits (otherwise as bools; tiny runs).
    count_from_step : int
        With ``mode='count'``: ignore spikes of earlier steps.
    """

    def __init__(self, pops, traces, mode, layout, packed, count_from_step=0):
        self.pops, self.traces, self.mode = pops, traces, mode
        self.layout, self.packed, self.count_from_step = layout, packed, count_from_step
        self.units: Dict[str, Any] = {}
        self._counts = None

    # ---------------------------------------------------------------- in the loop
    def start(self):
        """Create the running counts (count mode), as states the loop carries."""
        if self.mode == "count":
            self._counts = [tuple(brainstate.ShortTermState(self.layout.keep(jnp.full(self.layout.loop_shape(p.shape)
                                                                                      if self.layout.is_sharded
                                                                                      else (p.size,), v, jnp.int32)))
                                  for v in (0, -1, -1)) for p in self.pops]

    def step(self, i, spikes: List[Any]):
        """What one step stores: per population its spike bits (dense) or nothing (count)."""
        out = []
        for k, (p, spk) in enumerate(zip(self.pops, spikes)):
            s = jnp.asarray(u.get_mantissa(spk)) > 0.5
            if self.mode == "count":
                cnt, first, last = self._counts[k]
                s = jnp.reshape(s, cnt.value.shape)
                s = jnp.logical_and(s, i >= self.count_from_step)
                cnt.value = self.layout.keep(cnt.value + s.astype(jnp.int32))
                first.value = self.layout.keep(jnp.where(jnp.logical_and(s, first.value < 0), i, first.value))
                last.value = self.layout.keep(jnp.where(s, i, last.value))
            else:
                out.append(self.layout.spike_bits(s, p.size, self.packed))
        return tuple(out) if out else None

    def snapshot(self):
        """Trace values after this step (mantissas; units remembered for the host)."""
        out = {}
        for name, st in self.traces.items():
            m, unit = _mantissa_and_unit(st.value)
            self.units[name] = unit
            out[name] = self.layout.keep(m)
        return out

    def counts(self):
        return None if self._counts is None else [tuple(c.value for c in cs) for cs in self._counts]

    # ---------------------------------------------------------------- on the host
    def results(self, outs, common: Dict[str, Any], n_steps: int, n_blocks: int) -> List[SimulationResult]:
        """One SimulationResult per population from what the compiled run returned."""
        traces = self._host_traces(outs, n_blocks)
        results = []
        for k, p in enumerate(self.pops):
            prefix = "" if p.name == "" else p.name + "."
            own = {name[len(prefix):]: v for name, v in traces.items() if name.startswith(prefix)
                   and "." not in name[len(prefix):]}
            kw = dict(common, model=p.node, shape=p.shape, traces=own)
            if self.mode == "count":
                cnt, first, last = (self._host(c) for c in outs["counts"][k])
                results.append(SimulationResult(counts=cnt, first_step=first, last_step=last, **kw))
                continue
            raster = self._raster(outs, k, n_steps)
            if raster.dtype == np.uint8:  # bits, packed along the last axis
                results.append(SimulationResult(packed=self.layout.packed_rows(raster, p.shape, n_steps), **kw))
            else:
                results.append(SimulationResult(dense=raster.reshape((n_steps,) + p.shape), **kw))
        self.all_traces = traces
        return results

    def _host(self, x, lead: int = 0, packed: bool = False):
        return self.layout.unpad(self.layout.gather(x), lead=lead, packed=packed)

    def _raster(self, outs, k, n_steps):
        parts = []
        if "spk" in outs:
            a = self.layout.gather(outs["spk"][k])
            parts.append(a.reshape((-1,) + a.shape[2:]))
        if "spk_rem" in outs:
            parts.append(self.layout.gather(outs["spk_rem"][k]))
        raster = parts[0] if len(parts) == 1 else np.concatenate(parts, axis=0)
        return self.layout.unpad(raster, lead=1, packed=True)

    def _host_traces(self, outs, n_blocks) -> Dict[str, Any]:
        traces = {}
        for name, st in self.traces.items():
            if n_blocks > 0:
                traces[name] = wrap(self._host(outs["rec"][name], lead=1), self.units.get(name))
            else:  # a run shorter than one recording block
                m, unit = _mantissa_and_unit(st.value)
                traces[name] = wrap(np.zeros((0,) + tuple(np.shape(m)), dtype=np.asarray(m).dtype), unit)
        return traces


def public_states(root) -> Dict[str, Any]:
    """Every State reachable through public attributes, by dotted path (a state reachable twice has two names)."""
    out: Dict[str, Any] = {}

    def walk(obj, path, ancestors):
        if isinstance(obj, brainstate.State):
            out.setdefault(".".join(path), obj)
            return
        if isinstance(obj, brainstate.graph.Node):
            if id(obj) in ancestors:
                return
            ancestors = ancestors | {id(obj)}
        for k, v in _public_children(obj):
            walk(v, path + (k,), ancestors)

    walk(root, (), frozenset())
    return out


def trace_states(tree, names) -> Dict[str, Any]:
    """``name -> State`` for each recorded trace name; a clear error for names the module lacks."""
    by_name = public_states(tree.root)
    missing = [r for r in names if r not in by_name]
    if missing:
        what = type(tree.root).__name__
        raise ValueError(
            f"simulate: {what} has no state variable {', '.join(map(repr, missing))} to record; "
            f"it has: {', '.join(sorted(by_name))} (and 'spike').")
    return {r: by_name[r] for r in names}
